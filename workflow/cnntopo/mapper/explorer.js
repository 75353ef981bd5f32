(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var DATA = JSON.parse(document.getElementById("cnntopo-data").textContent);
  var CLASSES = DATA.classes;
  var svg = document.getElementById("svg");
  var world = document.getElementById("world");
  var tooltip = document.getElementById("tooltip");
  var state = {graph: -1, k: 1, tx: 0, ty: 0, selected: null, byId: {}, W: 1000};
  var R_MIN = 10, R_MAX = 18;   // Mapper Interactive's node radii (px)

  function el(tag, attrs, parent) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, text, parent, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(x) {
    if (x === null || x === undefined) return "n/a";
    return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : (+x.toFixed(4)).toString();
  }
  function applyTransform() {
    world.setAttribute("transform", "translate(" + state.tx + "," + state.ty + ") scale(" + state.k + ")");
  }
  function viewSize() {
    var r = svg.getBoundingClientRect();
    return {w: r.width || 800, h: r.height || 600};
  }
  function reset() {
    var g = DATA.graphs[state.graph];
    var v = viewSize();
    var pad = R_MAX * 2;
    var box = state.box || {x0: 0, y0: 0, x1: state.W, y1: state.W};
    var bw = Math.max(box.x1 - box.x0, 1) + 2 * pad, bh = Math.max(box.y1 - box.y0, 1) + 2 * pad;
    state.k = Math.min(v.w / bw, v.h / bh);
    if (!isFinite(state.k) || state.k <= 0) state.k = 1;
    state.tx = v.w / 2 - state.k * (box.x0 + box.x1) / 2;
    state.ty = v.h / 2 - state.k * (box.y0 + box.y1) / 2;
    applyTransform();
    return g;
  }
  function zoomBy(f, cx, cy) {
    var v = viewSize();
    if (cx === undefined) { cx = v.w / 2; cy = v.h / 2; }
    var k = Math.max(0.02, Math.min(200, state.k * f));
    f = k / state.k;
    state.tx = cx - f * (cx - state.tx);
    state.ty = cy - f * (cy - state.ty);
    state.k = k;
    applyTransform();
  }

  function wedgePath(r, a0, a1) {
    // angles in radians, 0 at 12 o'clock, clockwise (like d3.pie)
    var x0 = r * Math.sin(a0), y0 = -r * Math.cos(a0);
    var x1 = r * Math.sin(a1), y1 = -r * Math.cos(a1);
    var large = (a1 - a0) > Math.PI ? 1 : 0;
    return "M0,0L" + x0.toFixed(3) + "," + y0.toFixed(3) + "A" + r + "," + r + " 0 " + large +
      " 1 " + x1.toFixed(3) + "," + y1.toFixed(3) + "Z";
  }
  function pieParts(n) {
    var parts = n.counts.map(function (c) { return {name: CLASSES[c[0]].name, color: CLASSES[c[0]].color, count: c[1], idx: c[0]}; });
    parts.sort(function (a, b) { return a.idx - b.idx; });   // wedges in class order
    if (n.other > 0) parts.push({name: "other", color: DATA.other_color, count: n.other, idx: 1e9});
    return parts;
  }

  function drawLegend() {
    var box = document.getElementById("legend");
    box.textContent = "";
    CLASSES.forEach(function (c) {
      var item = h("div", null, box, "item");
      var sw = h("span", null, item, "sw");
      sw.style.background = c.color;
      h("span", c.name, item);
    });
  }

  function showTooltip(n, ev) {
    tooltip.textContent = "";
    h("div", n.id, tooltip).style.fontWeight = "600";
    h("div", n.size + " points", tooltip);
    h("div", "mean lens: " + fmt(n.lens), tooltip);
    var t = h("table", null, tooltip, "counts");
    n.counts.forEach(function (c) {
      var tr = h("tr", null, t);
      var sw = h("td", "\u25CF", tr, "sw");
      sw.style.color = CLASSES[c[0]].color;
      h("td", CLASSES[c[0]].name, tr);
      h("td", String(c[1]), tr).style.textAlign = "right";
    });
    if (n.other > 0) {
      var tr = h("tr", null, t);
      h("td", "", tr); h("td", "other", tr); h("td", String(n.other), tr);
    }
    tooltip.style.display = "block";
    moveTooltip(ev);
  }
  function moveTooltip(ev) {
    if (!ev) return;
    var r = svg.getBoundingClientRect();
    var x = ev.clientX - r.left + 14, y = ev.clientY - r.top + 14;
    var tw = tooltip.offsetWidth, th = tooltip.offsetHeight;
    if (x + tw > r.width) x = Math.max(0, x - tw - 28);
    if (y + th > r.height) y = Math.max(0, y - th - 28);
    tooltip.style.left = x + "px";
    tooltip.style.top = y + "px";
  }
  function hideTooltip() { tooltip.style.display = "none"; }

  function showGraph(which) {
    var gi = -1;
    if (typeof which === "number") gi = which;
    else if (which !== undefined && which !== null) {
      var s = String(which);
      for (var i = 0; i < DATA.graphs.length; i++) { if (DATA.graphs[i].label === s) gi = i; }
      if (gi < 0 && /^\d+$/.test(s)) gi = parseInt(s, 10);
    }
    if (!(gi >= 0 && gi < DATA.graphs.length)) gi = 0;
    var g = DATA.graphs[gi];
    state.graph = gi;
    state.selected = null;
    state.byId = {};
    var sel = document.getElementById("graph-select");
    if (sel) sel.value = String(gi);
    var n = g.nodes.length;
    var W = state.W = 1000 * Math.max(1, Math.sqrt(n) / 10);
    world.textContent = "";
    var eg = el("g", {"class": "edges", stroke: "#9a9a9a", "stroke-width": 1.2, "stroke-opacity": 0.8}, world);
    var ng = el("g", {"class": "nodes"}, world);
    var sizes = g.nodes.map(function (d) { return d.size; });
    var smin = Math.min.apply(null, sizes.concat([Infinity])), smax = Math.max.apply(null, sizes.concat([-Infinity]));
    function radius(s) { return smax > smin ? R_MIN + (s - smin) / (smax - smin) * (R_MAX - R_MIN) : (R_MIN + R_MAX) / 2; }
    function px(d) { return d.x * W; }
    function py(d) { return (1 - d.y) * W; }
    var box = {x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity};
    g.nodes.forEach(function (d) {
      box.x0 = Math.min(box.x0, px(d)); box.x1 = Math.max(box.x1, px(d));
      box.y0 = Math.min(box.y0, py(d)); box.y1 = Math.max(box.y1, py(d));
    });
    state.box = n ? box : null;
    g.edges.forEach(function (e) {
      var a = g.nodes[e[0]], b = g.nodes[e[1]];
      el("line", {x1: px(a).toFixed(2), y1: py(a).toFixed(2), x2: px(b).toFixed(2), y2: py(b).toFixed(2)}, eg);
    });
    var order = g.nodes.map(function (d, i) { return i; });
    order.sort(function (i, j) { return (g.nodes[j].size - g.nodes[i].size) || (i - j); });  // big first, small on top
    order.forEach(function (i) {
      var d = g.nodes[i];
      var r = radius(d.size);
      var gn = el("g", {"class": "node", transform: "translate(" + px(d).toFixed(2) + "," + py(d).toFixed(2) + ")"}, ng);
      gn.setAttribute("data-id", d.id);
      gn.setAttribute("data-size", String(d.size));
      var parts = pieParts(d);
      var total = parts.reduce(function (s, p) { return s + p.count; }, 0);
      if (parts.length <= 1) {
        el("circle", {r: r, fill: parts.length ? parts[0].color : DATA.other_color, stroke: "#404040", "stroke-width": 0.6, "class": "wedge"}, gn);
      } else {
        var a = 0;
        parts.forEach(function (p) {
          var b = a + 2 * Math.PI * p.count / total;
          el("path", {d: wedgePath(r, a, b), fill: p.color, stroke: "#404040", "stroke-width": 0.4, "class": "wedge"}, gn);
          a = b;
        });
      }
      el("circle", {r: r, fill: "none", stroke: "none", "class": "ring"}, gn);
      gn.addEventListener("mouseenter", function (ev) { showTooltip(d, ev); });
      gn.addEventListener("mousemove", moveTooltip);
      gn.addEventListener("mouseleave", hideTooltip);
      gn.addEventListener("click", function (ev) { ev.stopPropagation(); select(d.id); });
      state.byId[d.id] = {data: d, el: gn};
    });
    var info = document.getElementById("graph-info");
    var txt = g.n_nodes + " nodes \u00B7 " + g.n_edges + " edges";
    if (g.meta && g.meta.eps !== undefined) txt += " \u00B7 eps " + g.meta.eps;
    if (g.meta && g.meta.n_intervals !== undefined) txt += " \u00B7 intervals " + g.meta.n_intervals;
    if (g.meta && g.meta.overlap !== undefined) txt += " \u00B7 overlap " + g.meta.overlap;
    info.textContent = txt;
    document.getElementById("empty-note").style.display = n ? "none" : "block";
    clearPanel();
    reset();
    updateHash();
    return gi;
  }

  function clearPanel() {
    var p = document.getElementById("panel-body");
    p.textContent = "";
    h("p", "Click a node to list its points.", p, "hint");
  }

  function select(nodeId) {
    var rec = state.byId[String(nodeId)];
    if (state.selected && state.byId[state.selected]) state.byId[state.selected].el.classList.remove("selected");
    if (!rec) { state.selected = null; clearPanel(); updateHash(); return false; }
    state.selected = String(nodeId);
    rec.el.classList.add("selected");
    var d = rec.data;
    var p = document.getElementById("panel-body");
    p.textContent = "";
    h("h2", d.id, p);
    h("div", d.size + " points \u00B7 mean lens " + fmt(d.lens), p);
    var t = h("table", null, p, "counts");
    d.counts.forEach(function (c) {
      var tr = h("tr", null, t);
      var sw = h("td", "\u25CF", tr, "sw");
      sw.style.color = CLASSES[c[0]].color;
      h("td", CLASSES[c[0]].name, tr);
      h("td", String(c[1]) + " (" + (100 * c[1] / Math.max(d.size, 1)).toFixed(1) + "%)", tr);
    });
    if (d.detail && !d.loaded) {   // members and thumbnails are in a side file
      var note = h("p", d.failed ? "could not load " + d.detail : "loading members\u2026", p, "hint");
      note.id = d.failed ? "load-error" : "loading";
      if (!d.failed) loadDetail(d);
      updateHash();
      return true;
    }
    h("h3", "Member points", p).style.fontSize = "13px";
    var m = h("div", d.members.join(", ") + (d.n_more > 0 ? " \u2026 and " + d.n_more + " more" : ""), p);
    m.id = "members";
    m.setAttribute("data-count", String(d.members.length));
    m.setAttribute("data-more", String(d.n_more));
    if (d.images.length) {
      h("h3", "Images of the first " + d.images.length + " members", p).style.fontSize = "13px";
      var th = h("div", null, p);
      th.id = "thumbs";
      d.images.forEach(function (pi) {
        var uri = (d.thumbs && d.thumbs[String(pi[1])]) || DATA.images[String(pi[1])];
        if (!uri) return;
        var img = h("img", null, th);
        img.src = uri;
        img.alt = "image " + pi[1];
        img.title = "point " + pi[0] + " \u00B7 image " + pi[1];
      });
    }
    updateHash();
    return true;
  }

  // Side files are loaded as script elements: that works from file://, fetch() does not.
  var pending = {};
  function reselect(d) {
    var cur = state.selected && state.byId[state.selected];
    if (cur && cur.data === d) select(d.id);
  }
  window.cnntopoDetail = function (key, obj) {
    var d = pending[key];
    if (!d) return;
    delete pending[key];
    d.members = obj.members; d.n_more = obj.n_more; d.images = obj.images; d.thumbs = obj.thumbs;
    d.loaded = true;
    reselect(d);
  };
  function loadDetail(d) {
    var key = d.detail.replace(/^.*\//, "").replace(/\.js$/, "");
    if (pending[key]) return;
    pending[key] = d;
    var s = document.createElement("script");
    s.src = d.detail;
    s.onerror = function () { delete pending[key]; d.failed = true; reselect(d); };
    document.head.appendChild(s);
  }

  function updateHash() {
    try {
      var s = "graph=" + state.graph + (state.selected ? "&node=" + encodeURIComponent(state.selected) : "");
      if (history.replaceState) history.replaceState(null, "", "#" + s);
    } catch (e) { /* file:// may forbid it; harmless */ }
  }

  // pan & zoom
  var drag = null;
  svg.addEventListener("pointerdown", function (ev) {
    if (ev.button !== 0) return;
    drag = {x: ev.clientX, y: ev.clientY, tx: state.tx, ty: state.ty, moved: false};
    svg.classList.add("dragging");
  });
  window.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
    state.tx = drag.tx + dx; state.ty = drag.ty + dy;
    applyTransform();
  });
  window.addEventListener("pointerup", function () { drag = null; svg.classList.remove("dragging"); });
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = svg.getBoundingClientRect();
    zoomBy(Math.exp(-ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.0015)), ev.clientX - r.left, ev.clientY - r.top);
  }, {passive: false});
  document.getElementById("zoom-in").addEventListener("click", function () { zoomBy(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoomBy(0.8); });
  document.getElementById("zoom-reset").addEventListener("click", function () { reset(); });
  window.addEventListener("resize", function () { reset(); });

  var sel = document.getElementById("graph-select");
  if (sel) {
    DATA.graphs.forEach(function (g, i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = g.label;
      sel.appendChild(o);
    });
    sel.addEventListener("change", function () { showGraph(parseInt(sel.value, 10)); });
  } else {
    document.getElementById("graph-label").textContent = DATA.graphs[0].label;
  }

  drawLegend();
  var params = new URLSearchParams((location.hash || "").replace(/^#/, ""));
  showGraph(params.has("graph") ? params.get("graph") : 0);
  if (params.has("node")) select(params.get("node"));

  window.cnntopoExplorer = {select: select, showGraph: showGraph, zoomBy: zoomBy, reset: reset,
    data: DATA, state: state};
  document.body.dataset.rendered = "true";
})();
