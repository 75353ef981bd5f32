"""The cycles page: one self-contained HTML file of every layer's representative cycles.

:func:`write_cycles_page` writes ONE html file that opens from disk (no server, no
network): the data (every (representation, model, layer) with its cycles and its H1
bars) and the thumbnails of the images on the loops (base64 PNG data URIs) are inline
in a ``<script type="application/json">`` block; the style sheet ``page.css`` and the
script ``page.js`` (vanilla JavaScript, no libraries) are package data files next to
this module, inlined at build time, as :mod:`cnntopo.mapper.explorer` does. Pick a
model (representation and seed), a layer and a cycle: the page draws the ring of the
loop's images (the birth edge in red), the layer's H1 diagram with that bar
highlighted, and the loop's class composition.

Page contract (used by the browser test and handy for scripting):

- ``document.body.dataset.rendered == "true"`` once a cycle is drawn, and
  ``dataset.entry`` / ``dataset.cycle`` name it;
- the ring's images are ``#ring .thumb`` with ``data-image`` (dataset index), the
  diagram's bars ``#diagram circle.bar`` (``.top`` for the cycles' bars, ``.selected``
  for the shown one), the composition rows ``#composition tr`` with ``data-cls``;
- the URL hash ``#entry=<i>&cycle=<rank>`` selects the first view;
- ``window.cnntopoCycles.show(entryIndex, rank)``;
- JavaScript errors are appended to the hidden ``<pre id="errors">``.
"""

from __future__ import annotations

import functools
import html
import json
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np

from cnntopo.artifacts import atomic_path

__all__ = ["build_page_data", "render_page", "write_cycles_page"]


@functools.cache
def _asset(name: str) -> str:
    """Text of the package data file ``cnntopo/cycles/<name>``."""
    return (resources.files("cnntopo.cycles") / name).read_text(encoding="utf-8").strip()


def _json_script(obj: Any) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` are \\u-escaped."""
    text = json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def build_page_data(
    records: Sequence[Mapping[str, Any]],
    class_names: Sequence[str],
    images: Mapping[int, np.ndarray] | None = None,
    *,
    title: str = "cnntopo representative cycles",
    links: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """The JSON-able payload of the page.

    Parameters
    ----------
    records : sequence of mapping
        The files of the ``cycles`` job, one per (representation, model, layer):
        ``representation``, ``seed``, ``layer``, ``n_points``, ``h1`` (finite H1 bars,
        ``[[birth, death], ...]``) and ``cycles`` (each with ``rank``, ``birth``,
        ``death``, ``bar`` (index into ``h1``), ``images``, ``labels``,
        ``edge_lengths``).
    class_names : sequence of str
        Class of each label index.
    images : mapping of int to numpy.ndarray, optional
        Dataset index -> image (uint8 ``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)``): the
        thumbnails; only the images on some loop are embedded.
    title : str
    links : sequence of (text, href)
        Links in the header (e.g. to the Mapper explorer), relative to the page.

    Returns
    -------
    dict
        ``{"title", "classes": [{"name", "color"}], "entries": [...], "thumbs":
        {str(dataset index): data URI}, "links": [[text, href], ...]}``.
    """
    from cnntopo.mapper.draw import class_colors
    from cnntopo.mapper.explorer import png_data_uri

    colors = class_colors(list(class_names))
    keep = ("rank", "birth", "death", "bar", "images", "labels", "edge_lengths")
    entries, used = [], {}
    for rec in records:
        cycles = [{k: c[k] for k in keep} for c in rec["cycles"]]
        for c in cycles:
            used.update(dict.fromkeys(int(i) for i in c["images"]))
        entries.append(
            {
                "representation": str(rec["representation"]),
                "seed": int(rec["seed"]),
                "layer": str(rec["layer"]),
                "n_points": int(rec["n_points"]),
                "h1": [[float(b), float(d)] for b, d in rec["h1"]],
                "cycles": cycles,
            }
        )
    thumbs = {}
    if images is not None:
        thumbs = {str(i): png_data_uri(images[i]) for i in sorted(used) if i in images}
    return {
        "title": str(title),
        "classes": [{"name": c, "color": colors[c]} for c in class_names],
        "entries": entries,
        "thumbs": thumbs,
        "links": [[str(t), str(u)] for t, u in links],
    }


def render_page(data: Mapping[str, Any]) -> str:
    """The complete, standalone HTML document of a payload of :func:`build_page_data`."""
    title = html.escape(str(data.get("title", "")))
    links = " ".join(
        f'<a href="{html.escape(u, quote=True)}">{html.escape(t)}</a>' for t, u in data["links"]
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cnntopo.cycles.page">
<title>{title}</title>
<style>
{_asset("page.css")}
</style>
<script>
{_asset("errors.js")}
</script>
</head>
<body>
<header>
<h1>{title}</h1>
<label>model <select id="model" aria-label="model"></select></label>
<label>layer <select id="layer" aria-label="layer"></select></label>
<label>cycle <select id="cycle" aria-label="cycle"></select></label>
<span id="info" class="info"></span>
<span style="flex:1"></span>
{links}
</header>
<div id="main">
<div id="stage"><div id="ring"></div></div>
<aside id="panel">
<h2>H1 diagram</h2>
<svg id="diagram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 300" role="img"
aria-label="H1 persistence diagram"></svg>
<p class="hint">blue: the layer's top bars; red: the cycle shown</p>
<h2>classes on the loop</h2>
<table id="composition"></table>
</aside>
</div>
<pre id="errors"></pre>
<script type="application/json" id="cnntopo-cycles-data">{_json_script(data)}</script>
<script>
{_asset("page.js")}
</script>
</body>
</html>
"""


def write_cycles_page(
    path: str | os.PathLike,
    records: Sequence[Mapping[str, Any]],
    class_names: Sequence[str],
    images: Mapping[int, np.ndarray] | None = None,
    *,
    title: str = "cnntopo representative cycles",
    links: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Write the cycles page atomically; parameters as :func:`build_page_data`.

    Returns
    -------
    dict
        The embedded payload.

    Raises
    ------
    ValueError
        If ``records`` is empty.
    """
    if not records:
        raise ValueError("no cycle records: the page needs at least one layer")
    data = build_page_data(records, class_names, images, title=title, links=links)
    with atomic_path(path) as tmp:
        tmp.write_text(render_page(data), encoding="utf-8")
    return data
