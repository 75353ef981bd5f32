"""A self-contained interactive HTML explorer for Mapper graphs.

:func:`write_explorer` writes ONE html file that opens from disk in any modern
browser: no server, no CDN, no network access. Everything it needs is inline:

- the data (graphs, layout positions, class colours, optional thumbnails) as a
  ``<script type="application/json">`` block, parsed with ``JSON.parse``;
- a few hundred lines of vanilla JavaScript (no libraries) that draw the graph in
  SVG: grey edge lines, pie-chart nodes (SVG path wedges in
  :data:`cnntopo.mapper.draw.PALETTE` colours) sized by point count (10-18 px,
  as in Mapper Interactive), a class legend, pan (drag) and zoom (wheel and
  +/-/reset buttons) through a transform on one ``<g>``;
- a layer selector (``<select>``) when there are several graphs;
- a hover tooltip (node id, number of points, class counts sorted, mean lens);
- a side panel on click: member point indices (the first ``max_listed``, then
  "... and K more") and image thumbnails of the first ``max_thumbnails_per_node``
  members, embedded as base64 PNG data URIs, only for the images those capped lists
  reference.

Node positions are computed in Python with the seeded
:func:`cnntopo.mapper.draw.graph_layout`, so the page shows the same layout as the
static figures.

Page contract (used by the browser tests and handy for scripting):

- ``document.body.dataset.rendered == "true"`` once the first graph is drawn;
- every node is ``<g class="node" data-id="<node id>">``;
- JavaScript errors are appended to the hidden ``<pre id="errors">``;
- the URL hash selects the initial state: ``#graph=<index or label>&node=<node id>``;
- ``window.cnntopoExplorer`` exposes ``select(nodeId)``, ``showGraph(indexOrLabel)``,
  ``zoomBy(factor)`` and ``reset()``.

References
----------
.. [1] Y. Zhou, N. Chalapathi, A. Rathore, Y. Zhao, B. Wang, "Mapper Interactive: A
   Scalable, Extendable, and Interactive Toolbox for the Visual Exploration of
   High-Dimensional Data", IEEE PacificVis 2021 (arXiv 2011.03209).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cnntopo.artifacts import atomic_path
from cnntopo.mapper.draw import (
    OTHER_COLOR,
    class_colors,
    graph_edges,
    graph_layout,
    graph_nodes,
    node_class_counts,
    node_lens,
    resolve_class_names,
)

__all__ = ["write_explorer", "build_explorer_data", "render_explorer_html", "png_data_uri"]


def png_data_uri(image: np.ndarray) -> str:
    """Encode one image as a ``data:image/png;base64,...`` URI.

    Parameters
    ----------
    image : numpy.ndarray, shape (h, w, 3), (h, w, 4) or (h, w)
        ``uint8`` pixels, or floats in [0, 1] (clipped, scaled to 0-255).

    Returns
    -------
    str
    """
    from PIL import Image  # Pillow is a matplotlib dependency

    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float64), 0.0, 1.0) * 255.0).round().astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _json_script(obj: Any) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>``, ``&`` and U+2028/9 are \\u-escaped."""
    text = json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _finite_or_none(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def build_explorer_data(
    graphs: Mapping[str, Mapping[str, Any]],
    class_names: Sequence[str] | None,
    *,
    layouts: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
    seed: int = 0,
    point_images: np.ndarray | Mapping[str, np.ndarray] | None = None,
    thumbnails: np.ndarray | None = None,
    max_thumbnails_per_node: int = 24,
    max_listed: int = 500,
    title: str = "cnntopo Mapper explorer",
) -> dict[str, Any]:
    """The JSON-able payload embedded in the explorer page.

    Parameters are those of :func:`write_explorer`.

    Returns
    -------
    dict
        ``{"title", "classes": [{"name", "color"}], "other_color", "graphs": [{"label",
        "meta", "n_nodes", "n_edges", "nodes": [{"id", "x", "y", "size", "counts":
        [[class index, count], ...] (count-descending), "other", "lens", "members",
        "n_more", "images": [[point, image], ...]}], "edges": [[i, j], ...]}],
        "images": {str(image index): data URI}}``. ``x, y`` are in [0, 1] with y up.
    """
    if not isinstance(graphs, Mapping) or not graphs:
        raise ValueError("graphs must be a non-empty mapping label -> Mapper graph")
    class_names = resolve_class_names(list(graphs.values()), class_names)
    colors = class_colors(class_names)
    if thumbnails is not None:
        thumbnails = np.asarray(thumbnails)
        if thumbnails.ndim not in (3, 4):
            raise ValueError(
                f"thumbnails must have shape (M, h, w, 3) or (M, h, w), got {thumbnails.shape}"
            )
    if isinstance(point_images, Mapping):
        per_graph = {
            k: np.asarray(v).astype(np.int64, copy=False).ravel() for k, v in point_images.items()
        }
    elif point_images is not None:
        shared = np.asarray(point_images).astype(np.int64, copy=False).ravel()
        per_graph = dict.fromkeys(graphs, shared)
    else:
        per_graph = {}
    used_images: dict[int, None] = {}
    out_graphs = []
    for label, graph in graphs.items():
        point_images = per_graph.get(label)
        layout = (layouts or {}).get(label)
        if layout is None:
            layout = graph_layout(graph, seed=seed)
        nodes = graph_nodes(graph)
        index = {n: i for i, n in enumerate(nodes)}
        node_rows = []
        for n in nodes:
            node = graph["nodes"][n]
            verts = [int(v) for v in (node.get("vertices") or [])]
            counts, other = node_class_counts(graph, n, class_names)
            nz = [(int(i), int(c)) for i, c in enumerate(counts) if c > 0]
            nz.sort(key=lambda t: (-t[1], t[0]))
            images: list[list[int]] = []
            if thumbnails is not None and max_thumbnails_per_node > 0:
                for p in verts[:max_thumbnails_per_node]:
                    if point_images is not None:
                        if not 0 <= p < len(point_images):
                            continue
                        img = int(point_images[p])
                    else:
                        img = p
                    if 0 <= img < len(thumbnails):
                        images.append([p, img])
                        used_images.setdefault(img, None)
            x, y = layout[n]
            node_rows.append(
                {
                    "id": n,
                    "x": float(x),
                    "y": float(y),
                    "size": len(verts)
                    if node.get("vertices") is not None
                    else int(node.get("size", 0)),
                    "counts": [list(t) for t in nz],
                    "other": int(other),
                    "lens": _finite_or_none(node_lens(graph, n)),
                    "members": verts[:max_listed],
                    "n_more": max(0, len(verts) - max_listed),
                    "images": images,
                }
            )
        edges = [[index[a], index[b]] for a, b in graph_edges(graph)]
        meta = {
            k: v
            for k, v in (graph.get("meta") or {}).items()
            if isinstance(v, str | int | float | bool)
            and not (isinstance(v, float) and not math.isfinite(v))
        }
        out_graphs.append(
            {
                "label": str(label),
                "meta": meta,
                "n_nodes": len(nodes),
                "n_edges": len(edges),
                "nodes": node_rows,
                "edges": edges,
            }
        )
    images_uri = {}
    if thumbnails is not None:
        for img in sorted(used_images):
            images_uri[str(img)] = png_data_uri(thumbnails[img])
    return {
        "title": str(title),
        "classes": [{"name": c, "color": colors[c]} for c in class_names],
        "other_color": OTHER_COLOR,
        "graphs": out_graphs,
        "images": images_uri,
    }


_CSS = """
*{box-sizing:border-box}
html,body{margin:0;height:100%;font:13px/1.35 system-ui,-apple-system,"Segoe UI",
"DejaVu Sans",Arial,sans-serif;color:#222;background:#fff}
body{display:flex;flex-direction:column}
header{display:flex;align-items:center;gap:12px;padding:6px 10px;border-bottom:1px solid #ddd;
background:#f7f7f7;flex-wrap:wrap}
header h1{font-size:15px;margin:0 8px 0 0;font-weight:600}
header .info{color:#555}
header button{min-width:28px;padding:2px 8px;font-size:14px}
#main{flex:1;display:flex;min-height:0}
#canvas{flex:1;position:relative;min-width:0}
#svg{width:100%;height:100%;display:block;cursor:grab;background:#fff;touch-action:none}
#svg.dragging{cursor:grabbing}
#legend{display:grid;grid-template-columns:1fr 1fr;gap:1px 10px;font-size:12px;
padding-bottom:8px;border-bottom:1px solid #ddd;margin-bottom:6px}
#legend .item{display:flex;align-items:center;gap:6px;min-width:0;overflow-wrap:anywhere}
#legend .sw{width:12px;height:12px;border-radius:50%;border:1px solid #555;flex:none}
#tooltip{position:absolute;pointer-events:none;background:rgba(255,255,255,.96);
border:1px solid #999;border-radius:4px;padding:6px 8px;font-size:12px;
box-shadow:0 1px 4px rgba(0,0,0,.2);display:none;max-width:280px;z-index:5}
#tooltip table{border-collapse:collapse}
#tooltip td{padding:0 4px}
#panel{width:340px;border-left:1px solid #ddd;overflow:auto;padding:8px 10px;flex:none;
background:#fcfcfc}
#panel h2{font-size:14px;margin:4px 0;word-break:break-all}
#panel .hint{color:#777}
#members{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:11px;
word-break:break-word;max-height:240px;overflow:auto;border:1px solid #eee;padding:4px;
background:#fff}
#thumbs{display:flex;flex-wrap:wrap;gap:3px;margin-top:6px}
#thumbs img{width:48px;height:48px;image-rendering:pixelated;border:1px solid #ccc}
g.node{cursor:pointer}
g.node.selected circle.ring{stroke:#000;stroke-width:3}
#errors{display:none;color:#b00;white-space:pre-wrap}
.counts td.sw{width:10px}
""".strip()

_ERROR_JS = """
window.addEventListener("error", function (ev) {
  var pre = document.getElementById("errors");
  var msg = (ev && ev.message ? ev.message : String(ev)) +
    (ev && ev.lineno ? " (line " + ev.lineno + ")" : "");
  if (pre) { pre.textContent += msg + "\\n"; } else { (window.__cnntopoErrors = window.__cnntopoErrors || []).push(msg); }
});
window.addEventListener("unhandledrejection", function (ev) {
  var pre = document.getElementById("errors");
  if (pre) { pre.textContent += "unhandled rejection: " + String(ev.reason) + "\\n"; }
});
""".strip()

_MAIN_JS = r"""
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
        var uri = DATA.images[String(pi[1])];
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
""".strip()


def render_explorer_html(data: Mapping[str, Any]) -> str:
    """The complete HTML page for a payload from :func:`build_explorer_data`.

    Parameters
    ----------
    data : mapping
        Explorer payload.

    Returns
    -------
    str
        A standalone HTML5 document (inline CSS, data and script; no external URLs).
    """
    title = html.escape(str(data.get("title", "")))
    multi = len(data["graphs"]) > 1
    selector = (
        '<label>graph <select id="graph-select" aria-label="graph"></select></label>'
        if multi
        else '<span id="graph-label" class="info"></span>'
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cnntopo.mapper.explorer">
<title>{title}</title>
<style>
{_CSS}
</style>
<script>
{_ERROR_JS}
</script>
</head>
<body>
<header>
<h1>{title}</h1>
{selector}
<span id="graph-info" class="info"></span>
<span style="flex:1"></span>
<button id="zoom-in" type="button" title="zoom in">+</button>
<button id="zoom-out" type="button" title="zoom out">&minus;</button>
<button id="zoom-reset" type="button" title="fit graph to view">reset</button>
</header>
<div id="main">
<div id="canvas">
<svg id="svg" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Mapper graph"><g id="world"></g></svg>
<div id="tooltip"></div>
<div id="empty-note" style="display:none;position:absolute;left:45%;top:45%;color:#777">no nodes</div>
</div>
<aside id="panel"><div id="legend" aria-label="classes"></div><div id="panel-body"></div></aside>
</div>
<pre id="errors"></pre>
<script type="application/json" id="cnntopo-data">{_json_script(data)}</script>
<script>
{_MAIN_JS}
</script>
</body>
</html>
"""


def write_explorer(
    path: str | os.PathLike,
    graphs: Mapping[str, Mapping[str, Any]],
    class_names: Sequence[str] | None,
    *,
    layouts: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
    seed: int = 0,
    point_images: np.ndarray | Mapping[str, np.ndarray] | None = None,
    thumbnails: np.ndarray | None = None,
    max_thumbnails_per_node: int = 24,
    max_listed: int = 500,
    title: str = "cnntopo Mapper explorer",
) -> dict[str, Any]:
    """Write a self-contained interactive HTML explorer for one or more Mapper graphs.

    Parameters
    ----------
    path : path-like
        Output ``.html`` file, written atomically.
    graphs : mapping of str to mapping
        ``label -> Mapper graph`` (Mapper Interactive format, see
        :mod:`cnntopo.mapper.draw`), e.g. ``{"layer4.1.bn2 · full": graph}``. With
        more than one graph the page has a ``<select>`` to switch between them;
        the first is shown initially (or the one named by ``#graph=<i>``).
    class_names : sequence of str or None
        Class order (colours, legend); ``None``: ``meta["label_names"]`` or the labels
        met in the graphs (:func:`cnntopo.mapper.draw.resolve_class_names`).
    layouts : mapping of str to mapping, optional
        Precomputed ``node_id -> (x, y)`` per graph label (unit box); missing ones are
        computed with :func:`cnntopo.mapper.draw.graph_layout` (``seed``).
    seed : int, default 0
        Layout seed.
    point_images : numpy.ndarray of int, shape (N,), or mapping of str to it, optional
        Image index of each point row (several points, e.g. spatial positions, may
        come from one image); a mapping gives one array per graph label (clouds of
        different layers have different rows). Default: point row = image index.
    thumbnails : numpy.ndarray, shape (M, h, w, 3) or (M, h, w), optional
        Images (``uint8``, or floats in [0, 1]) indexed by image index. Only the
        images of the first ``max_thumbnails_per_node`` members of each node are
        embedded (base64 PNG data URIs), which keeps the file small.
    max_thumbnails_per_node : int, default 24
        Thumbnails shown per node.
    max_listed : int, default 500
        Member indices listed per node ("... and K more" for the rest).
    title : str, default "cnntopo Mapper explorer"
        Page title (HTML-escaped).

    Returns
    -------
    dict
        The embedded payload (:func:`build_explorer_data`).
    """
    data = build_explorer_data(
        graphs,
        class_names,
        layouts=layouts,
        seed=seed,
        point_images=point_images,
        thumbnails=thumbnails,
        max_thumbnails_per_node=max_thumbnails_per_node,
        max_listed=max_listed,
        title=title,
    )
    page = render_explorer_html(data)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return data
