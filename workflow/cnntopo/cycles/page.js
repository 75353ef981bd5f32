(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var DATA = JSON.parse(document.getElementById("cnntopo-cycles-data").textContent);
  var CLASSES = DATA.classes;
  var sel = {model: document.getElementById("model"), layer: document.getElementById("layer"),
             cycle: document.getElementById("cycle")};
  var state = {entry: -1, rank: 1};

  function h(tag, text, parent, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    if (parent) parent.appendChild(e);
    return e;
  }
  function s(tag, attrs, parent) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(x) { return (+x.toPrecision(4)).toString(); }
  function option(select, value, text) {
    var o = h("option", text, select); o.value = value; return o;
  }
  function models() {
    var seen = {}, out = [];
    DATA.entries.forEach(function (e) {
      var key = e.representation + "|" + e.seed;
      if (!seen[key]) { seen[key] = true; out.push({key: key, rep: e.representation, seed: e.seed}); }
    });
    return out;
  }
  function entryOf(modelKey, layer) {
    for (var i = 0; i < DATA.entries.length; i++) {
      var e = DATA.entries[i];
      if (e.representation + "|" + e.seed === modelKey && e.layer === layer) return i;
    }
    return -1;
  }
  function fillLayers(modelKey, layer) {
    sel.layer.innerHTML = "";
    DATA.entries.forEach(function (e) {
      if (e.representation + "|" + e.seed === modelKey) option(sel.layer, e.layer, e.layer);
    });
    if (layer !== undefined) sel.layer.value = layer;
  }
  function fillCycles(entry, rank) {
    sel.cycle.innerHTML = "";
    var e = DATA.entries[entry];
    e.cycles.forEach(function (c) {
      option(sel.cycle, c.rank, "cycle " + c.rank + ": [" + fmt(c.birth) + ", " + fmt(c.death) + ")");
    });
    if (!e.cycles.length) option(sel.cycle, 0, "no finite H1 bar");
    sel.cycle.value = rank;
  }
  function drawRing(e, c) {
    var ring = document.getElementById("ring");
    ring.innerHTML = "";
    var W = 560, R = 230, cx = W / 2, cy = W / 2;
    var svg = s("svg", {viewBox: "0 0 " + W + " " + W}, ring);
    if (!c) { h("div", "this layer has no finite H1 bar", ring, "centre"); return; }
    var n = c.images.length;
    var pts = [];
    for (var i = 0; i < n; i++) {
      var t = Math.PI / 2 - 2 * Math.PI * i / n;
      pts.push([cx + R * Math.cos(t), cy - R * Math.sin(t)]);
    }
    for (i = 0; i < n; i++) {
      var a = pts[i], b = pts[(i + 1) % n];
      s("line", {x1: a[0], y1: a[1], x2: b[0], y2: b[1], stroke: i === 0 ? "#c0143c" : "#999",
                 "stroke-width": i === 0 ? 3 : 1.5, "class": "edge",
                 "data-length": c.edge_lengths[i]}, svg).appendChild(s("title", {})).textContent =
        "edge length " + fmt(c.edge_lengths[i]);
    }
    for (i = 0; i < n; i++) {
      var d = h("div", null, ring, "thumb" + (i === 0 || i === 1 ? " birth" : ""));
      d.style.left = (pts[i][0] - 26) + "px";
      d.style.top = (pts[i][1] - 30) + "px";
      d.dataset.image = c.images[i];
      var uri = DATA.thumbs[String(c.images[i])];
      var cls = CLASSES[c.labels[i]];
      if (uri) {
        var img = h("img", null, d); img.src = uri;
        img.alt = cls.name; img.style.borderColor = i < 2 ? "" : cls.color;
        img.title = "image " + c.images[i] + " (" + cls.name + ")";
      }
      h("div", cls.name, d);
    }
    h("div", "cycle " + c.rank + " of " + e.layer + " (" + e.representation + ", seed " + e.seed +
      "): " + n + " images; bar [" + fmt(c.birth) + ", " + fmt(c.death) + ")", ring, "centre");
  }
  function drawDiagram(e, c) {
    var svg = document.getElementById("diagram");
    svg.innerHTML = "";
    var W = 300, pad = 28, bars = e.h1;
    var hi = 0;
    bars.forEach(function (b) { hi = Math.max(hi, b[1]); });
    if (!(hi > 0)) hi = 1;
    function X(v) { return pad + (W - 2 * pad) * v / hi; }
    function Y(v) { return W - pad - (W - 2 * pad) * v / hi; }
    s("line", {x1: X(0), y1: Y(0), x2: X(hi), y2: Y(hi), stroke: "#bbb"}, svg);
    s("line", {x1: X(0), y1: Y(0), x2: X(hi), y2: Y(0), stroke: "#444"}, svg);
    s("line", {x1: X(0), y1: Y(0), x2: X(0), y2: Y(hi), stroke: "#444"}, svg);
    s("text", {x: W / 2, y: W - 6, "text-anchor": "middle", "font-size": 11}, svg).textContent = "birth";
    s("text", {x: 10, y: W / 2, "font-size": 11, transform: "rotate(-90 10 " + W / 2 + ")",
               "text-anchor": "middle"}, svg).textContent = "death";
    s("text", {x: X(hi), y: Y(0) + 14, "text-anchor": "end", "font-size": 10}, svg).textContent = fmt(hi);
    var top = {};
    e.cycles.forEach(function (q) { top[q.bar] = q.rank; });
    bars.forEach(function (b, i) {
      var r = top[i];
      var cls = "bar" + (r ? " top" : "") + (c && r === c.rank ? " selected" : "");
      var dot = s("circle", {cx: X(b[0]), cy: Y(b[1]), r: r ? 4.5 : 2.5, "class": cls}, svg);
      if (r) dot.dataset.rank = r;
      s("title", {}, dot).textContent = "[" + fmt(b[0]) + ", " + fmt(b[1]) + ")" + (r ? " cycle " + r : "");
    });
    var sel2 = svg.querySelector("circle.selected");
    if (sel2) svg.appendChild(sel2);   // on top
  }
  function drawComposition(c) {
    var table = document.getElementById("composition");
    table.innerHTML = "";
    if (!c) return;
    var counts = {};
    c.labels.forEach(function (l) { counts[l] = (counts[l] || 0) + 1; });
    var rows = Object.keys(counts).map(function (k) { return [+k, counts[k]]; });
    rows.sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });
    rows.forEach(function (r) {
      var tr = h("tr", null, table);
      tr.dataset.cls = CLASSES[r[0]].name;
      var sw = h("td", null, tr, "sw"); sw.style.background = CLASSES[r[0]].color;
      h("td", CLASSES[r[0]].name, tr);
      h("td", r[1], tr);
      var bar = h("div", null, h("td", null, tr), "barfill");
      bar.style.width = Math.round(120 * r[1] / c.labels.length) + "px";
      bar.style.background = CLASSES[r[0]].color;
    });
  }
  function show(entry, rank) {
    if (typeof entry !== "number" || entry < 0 || entry >= DATA.entries.length) entry = 0;
    var e = DATA.entries[entry];
    var c = null;
    e.cycles.forEach(function (q) { if (q.rank === +rank) c = q; });
    if (!c && e.cycles.length) c = e.cycles[0];
    state.entry = entry; state.rank = c ? c.rank : 0;
    sel.model.value = e.representation + "|" + e.seed;
    fillLayers(sel.model.value, e.layer);
    fillCycles(entry, state.rank);
    drawRing(e, c);
    drawDiagram(e, c);
    drawComposition(c);
    document.getElementById("info").textContent = e.n_points + " images, " + e.h1.length +
      " finite H1 bars" + (c ? "; cycle " + c.rank + ": " + c.images.length + " images" : "");
    document.body.dataset.entry = entry;
    document.body.dataset.cycle = state.rank;
    document.body.dataset.rendered = "true";
  }
  models().forEach(function (m) { option(sel.model, m.key, m.rep + " \u00b7 seed " + m.seed); });
  sel.model.addEventListener("change", function () {
    fillLayers(sel.model.value);
    show(entryOf(sel.model.value, sel.layer.value), 1);
  });
  sel.layer.addEventListener("change", function () { show(entryOf(sel.model.value, sel.layer.value), 1); });
  sel.cycle.addEventListener("change", function () { show(state.entry, +sel.cycle.value); });
  var hash = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var p = kv.split("="); if (p[0]) hash[decodeURIComponent(p[0])] = decodeURIComponent(p[1] || "");
  });
  window.cnntopoCycles = {show: show, entries: function () { return DATA.entries.length; }};
  show(hash.entry !== undefined ? +hash.entry : 0, hash.cycle !== undefined ? +hash.cycle : 1);
})();
