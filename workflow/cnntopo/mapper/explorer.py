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

With ``details_dir`` (the workflow's pages), members and thumbnails are not in the
page: each node's are in a small script ``<details_dir>/<graph>_<node>.js`` that calls
``cnntopoDetail(key, {...})``, loaded with a ``<script>`` element when the node is
clicked (``<script>`` loading works from ``file://``, where ``fetch`` of a local file
does not). The page then holds only the graphs' summaries, so its size grows with the
number of nodes, not of points or images (docs/performance.md §4).

The style sheet and the scripts are package data files next to this module,
inlined into every page: ``explorer.css``, ``explorer_errors.js`` (runs first and
logs JavaScript errors into the page) and ``explorer.js`` (the explorer itself).

Node positions are computed in Python with the seeded
:func:`cnntopo.mapper.draw.graph_layout`, so the page shows the same layout as the
static figures.

Page contract (used by the browser tests and handy for scripting):

- ``document.body.dataset.rendered == "true"`` once the first graph is drawn;
- every node is ``<g class="node" data-id="<node id>">``;
- JavaScript errors are appended to the hidden ``<pre id="errors">``;
- the URL hash selects the initial state: ``#graph=<index or label>&node=<node id>``;
- ``window.cnntopoExplorer`` exposes ``select(nodeId)``, ``showGraph(indexOrLabel)``,
  ``zoomBy(factor)`` and ``reset()``;
- with side files, the panel of a node whose file is loading has
  ``<p id="loading">``, and one whose file failed to load ``<p id="load-error">``.

References
----------
.. [1] Y. Zhou, N. Chalapathi, A. Rathore, Y. Zhao, B. Wang, "Mapper Interactive: A
   Scalable, Extendable, and Interactive Toolbox for the Visual Exploration of
   High-Dimensional Data", IEEE PacificVis 2021 (arXiv 2011.03209).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import json
import math
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np

from cnntopo.artifacts import atomic_folder, atomic_path
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

__all__ = [
    "write_explorer",
    "build_explorer_data",
    "split_explorer_details",
    "render_explorer_html",
    "png_data_uri",
]


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


#: Per-node keys that move to the side files with ``details_dir``.
DETAIL_KEYS = ("members", "n_more", "images")


def split_explorer_details(data: dict[str, Any], url_prefix: str) -> dict[str, str]:
    """Move each node's members and thumbnails out of an explorer payload.

    Parameters
    ----------
    data : dict
        Payload of :func:`build_explorer_data`; changed in place: every node loses
        :data:`DETAIL_KEYS` and gets ``"detail": "<url_prefix><g>_<n>.js"``, and
        ``data["images"]`` is emptied.
    url_prefix : str
        URL of the side-file folder relative to the page, ending in ``/``.

    Returns
    -------
    dict of str to str
        File name -> text of each side file: ``cnntopoDetail("<g>_<n>", {"members",
        "n_more", "images", "thumbs": {image: data URI}});`` for graph ``g``, node
        ``n`` (indices in the payload).
    """
    uris = data["images"]
    files = {}
    for gi, graph in enumerate(data["graphs"]):
        for ni, node in enumerate(graph["nodes"]):
            key = f"{gi}_{ni}"
            detail = {k: node.pop(k) for k in DETAIL_KEYS}
            detail["thumbs"] = {str(i): uris[str(i)] for _, i in detail["images"]}
            files[f"{key}.js"] = f'cnntopoDetail("{key}",{_json_script(detail)});\n'
            node["detail"] = f"{url_prefix}{key}.js"
    data["images"] = {}
    return files


def _write_folder(folder: str | os.PathLike, files: Mapping[str, str]) -> None:
    """Write ``files`` (name -> text) as the only content of ``folder``, replaced whole."""
    with atomic_folder(folder) as tmp:
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")


@functools.cache
def _asset(name: str) -> str:
    """Text of the package data file ``cnntopo/mapper/<name>`` (the page's CSS or script)."""
    return (resources.files("cnntopo.mapper") / name).read_text(encoding="utf-8").strip()


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
    links = "".join(
        f'<a class="info" href="{html.escape(href, quote=True)}">{html.escape(label)}</a>'
        for label, href in data.get("links", [])
    )
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
{_asset("explorer.css")}
</style>
<script>
{_asset("explorer_errors.js")}
</script>
</head>
<body>
<header>
<h1>{title}</h1>
{selector}
<span id="graph-info" class="info"></span>
{links}
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
{_asset("explorer.js")}
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
    details_dir: str | os.PathLike | None = None,
    links: Sequence[tuple[str, str]] = (),
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
    links : sequence of (label, href), default ()
        Links shown in the page's header, e.g. ``("representative cycles",
        "../../cycles/index.html")``: hrefs relative to the page, HTML-escaped.
    details_dir : path-like, optional
        A folder next to the page (in the page's folder or below it): members and
        thumbnails of each node go to a side file there, loaded on demand
        (:func:`split_explorer_details`); the folder is replaced whole. Default: all
        inline.

    Returns
    -------
    dict
        The embedded payload (:func:`build_explorer_data`, after
        :func:`split_explorer_details` with ``details_dir``).

    Raises
    ------
    ValueError
        If ``details_dir`` is not inside the page's folder.
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
    data["links"] = [[str(label), str(href)] for label, href in links]
    if details_dir is not None:
        rel = os.path.relpath(os.path.abspath(details_dir), os.path.dirname(os.path.abspath(path)))
        if rel.startswith(os.pardir) or rel == os.curdir:
            raise ValueError(
                f"details_dir {os.fspath(details_dir)!r} must be a folder inside the page's "
                f"folder {os.path.dirname(os.path.abspath(path))!r}"
            )
        prefix = urllib.parse.quote(rel.replace(os.sep, "/")) + "/"
        _write_folder(details_dir, split_explorer_details(data, prefix))
    page = render_explorer_html(data)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return data
