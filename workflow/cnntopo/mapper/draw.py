"""Static Mapper-graph figures in the look of Mapper Interactive.

The paper's Mapper figures were screenshots of Mapper Interactive (Zhou et al.,
PacificVis 2021): a D3 force-directed layout in which every node is a pie chart
of the class proportions of its points, sized by its number of points, with a
categorical legend (docs/methods.md §14). This module reproduces that look
deterministically with networkx and matplotlib:

- :func:`graph_layout`: seeded force-directed layout (networkx ``spring_layout``),
  connected components packed in rows, largest first, normalised to the unit box;
- :func:`draw_mapper`: one graph on one :class:`~matplotlib.axes.Axes` (grey edge
  lines under pie-chart nodes);
- :func:`figure_mapper_panels`: a grid of graphs (layers, point-cloud
  constructions, noise levels) with one shared class legend;
- :func:`figure_purity`: node-wise and mean class-wise purity per layer (docs/methods.md §13);
- :func:`figure_settings`: graph size and node-wise purity across Mapper settings.

Input graphs use the Mapper Interactive JSON format produced by
:func:`cnntopo.mapper.graph.mapper_graph`::

    {"nodes": {"cube0_cluster0": {"vertices": [0, 3, 7],
                                  "categorical_cols_summary": {"label": {"cat": 2, "dog": 1}},
                                  "avgs": {"lens": 0.12}}, ...},
     "edges": {"cube0_cluster0": ["cube1_cluster0"], ...},   # or [[a, b], ...]
     "categorical_cols": ["label"], "numerical_col_keys": ["lens"],
     "meta": {"n_intervals": 40, "overlap": 0.3, "eps": 1.23, ...}}   # meta optional

Figures are built on :class:`matplotlib.figure.Figure` objects directly (no
pyplot, no GUI backend), so everything runs headless with the Agg canvas and
gives the same pixels for the same input and seed. Files are written atomically
(:func:`cnntopo.figures_io.save_figure`, via :func:`cnntopo.artifacts.atomic_path`).

References
----------
.. [1] Y. Zhou, N. Chalapathi, A. Rathore, Y. Zhao, B. Wang, "Mapper Interactive: A
   Scalable, Extendable, and Interactive Toolbox for the Visual Exploration of
   High-Dimensional Data", IEEE PacificVis 2021 (arXiv 2011.03209);
   github MapperInteractive/MapperInteractive, ``app/static/js/graph.js``.
.. [2] E. Purvine et al., "Experimental Observations of the Topology of
   Convolutional Neural Network Activations", AAAI 2023 (arXiv 2212.00222).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Wedge

from cnntopo.figures_io import save_figure

__all__ = [
    "figure_knn",
    "PALETTE",
    "EXTRA_PALETTE",
    "OTHER_COLOR",
    "class_colors",
    "resolve_class_names",
    "graph_nodes",
    "graph_edges",
    "node_class_counts",
    "node_lens",
    "graph_layout",
    "node_radii",
    "draw_mapper",
    "figure_mapper_panels",
    "figure_purity",
    "figure_settings",
]

#: The 10-colour class palette (matplotlib ``tab10`` = D3 ``schemeCategory10``, the
#: categorical palette of Mapper Interactive). Class ``i`` (``i < 10``) gets
#: ``PALETTE[i]``; with the CIFAR-10 class order (airplane, automobile, bird, cat,
#: deer, dog, frog, horse, ship, truck) airplane is blue and truck is cyan.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

#: Colours for classes 10, 11, ...: the light shades of matplotlib ``tab20`` (its
#: odd entries), cycled, so classes 10-19 differ from the first ten and colours
#: repeat only from class 20 on.
EXTRA_PALETTE: tuple[str, ...] = (
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)

#: Colour of the wedge for labels that are not among the class names, and of nodes
#: without any class counts.
OTHER_COLOR = "#d9d9d9"

_EDGE_COLOR = "#9a9a9a"
_PAD_INCHES = 0.05  # around the tight bounding box of a saved figure
_OUTLINE_COLOR = "#404040"


# --------------------------------------------------------------------------- graph access
def class_colors(class_names: Sequence[str]) -> dict[str, str]:
    """Map class names to hex colours, in class order.

    Parameters
    ----------
    class_names : sequence of str
        Class names in their canonical order (the order of the label indices).

    Returns
    -------
    dict of str to str
        ``name -> "#rrggbb"``. Class ``i < 10`` gets ``PALETTE[i]``; class
        ``i >= 10`` gets ``EXTRA_PALETTE[(i - 10) % 10]`` (the light shades of
        ``tab20``), so colours repeat only beyond 20 classes.
    """
    out: dict[str, str] = {}
    for i, name in enumerate(class_names):
        out[str(name)] = PALETTE[i] if i < len(PALETTE) else EXTRA_PALETTE[(i - 10) % 10]
    return out


def graph_nodes(graph: Mapping[str, Any]) -> list[str]:
    """Node ids of a Mapper graph, in the graph's (insertion) order.

    Parameters
    ----------
    graph : mapping
        Mapper Interactive graph dict (see the module docstring).

    Returns
    -------
    list of str
    """
    return [str(k) for k in (graph.get("nodes") or {})]


def graph_edges(graph: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Undirected edges of a Mapper graph, deduplicated, in first-seen order.

    Parameters
    ----------
    graph : mapping
        Mapper graph; ``graph["edges"]`` is either an adjacency mapping
        ``{node_id: [neighbour ids]}`` (Mapper Interactive / KeplerMapper "links")
        or a sequence of ``[a, b]`` pairs. Self-loops and edges to unknown nodes are
        dropped.

    Returns
    -------
    list of (str, str)
        Each edge once, as ``(a, b)`` in the order first met.
    """
    nodes = set(graph_nodes(graph))
    raw = graph.get("edges") or []
    pairs: list[tuple[Any, Any]] = []
    if isinstance(raw, Mapping):
        for a, nbrs in raw.items():
            for b in nbrs or []:
                pairs.append((a, b))
    else:
        for pair in raw:
            if isinstance(pair, Mapping):  # {"source": a, "target": b}
                pairs.append((pair.get("source"), pair.get("target")))
            else:
                a, b = pair
                pairs.append((a, b))
    seen: set[frozenset[str]] = set()
    out: list[tuple[str, str]] = []
    for a, b in pairs:
        a, b = str(a), str(b)
        if a == b or a not in nodes or b not in nodes:
            continue
        key = frozenset((a, b))
        if key in seen:
            continue
        seen.add(key)
        out.append((a, b))
    return out


def _label_col(graph: Mapping[str, Any], node: Mapping[str, Any]) -> str | None:
    summary = node.get("categorical_cols_summary") or {}
    cols = list(graph.get("categorical_cols") or [])
    for col in [*cols, "label", "ground"]:
        if col in summary:
            return col
    return next(iter(summary), None)


def resolve_class_names(
    graph: Mapping[str, Any] | Sequence[Mapping[str, Any]], class_names: Sequence[str] | None
) -> list[str]:
    """The class names to use for one graph or several.

    Parameters
    ----------
    graph : mapping or sequence of mappings
        One Mapper graph or several.
    class_names : sequence of str or None
        Returned (as ``str``) when given. Otherwise ``meta["label_names"]`` of the
        first graph that has it, else the sorted union of the labels met in the
        nodes' class counts (numeric labels sorted numerically).

    Returns
    -------
    list of str
    """
    if class_names is not None:
        return [str(c) for c in class_names]
    graphs = [graph] if isinstance(graph, Mapping) else list(graph)
    for g in graphs:
        names = (g.get("meta") or {}).get("label_names")
        if names:
            return [str(c) for c in names]
    labels: set[str] = set()
    for g in graphs:
        for node in (g.get("nodes") or {}).values():
            col = _label_col(g, node)
            if col is not None:
                labels.update(str(k) for k in node["categorical_cols_summary"][col])

    def key(s: str) -> tuple[int, float, str]:
        try:
            return (0, float(s), s)
        except ValueError:
            return (1, 0.0, s)

    return sorted(labels, key=key)


def node_class_counts(
    graph: Mapping[str, Any], node_id: str, class_names: Sequence[str]
) -> tuple[np.ndarray, int]:
    """Class counts of one node, aligned with ``class_names``.

    Parameters
    ----------
    graph : mapping
        Mapper graph.
    node_id : str
        Node id.
    class_names : sequence of str
        Classes in order. A label key matches a class by name; a key that is an
        integer string ``"k"`` (or an int) with ``k < len(class_names)`` that matches
        no name is taken as the class index ``k``.

    Returns
    -------
    counts : numpy.ndarray of int64, shape (len(class_names),)
        Points of each class in the node (0 for absent classes).
    other : int
        Points whose label matches no class (drawn as a light grey wedge).
    """
    node = graph["nodes"][node_id]
    counts = np.zeros(len(class_names), dtype=np.int64)
    other = 0
    col = _label_col(graph, node)
    if col is None:
        return counts, other
    index = {str(c): i for i, c in enumerate(class_names)}
    for key, value in node["categorical_cols_summary"][col].items():
        k = str(key)
        i = index.get(k)
        if i is None and k.lstrip("-").isdigit() and 0 <= int(k) < len(class_names):
            i = int(k)
        if i is None:
            other += int(value)
        else:
            counts[i] += int(value)
    return counts, other


def _node_size(node: Mapping[str, Any]) -> int:
    verts = node.get("vertices")
    if verts is not None:
        return len(verts)
    return int(node.get("size", 0))


def node_lens(graph: Mapping[str, Any], node_id: str) -> float | None:
    """Mean lens value of a node (``avgs["lens"]``, else the first numerical column).

    Parameters
    ----------
    graph : mapping
        Mapper graph.
    node_id : str
        Node id.

    Returns
    -------
    float or None
        ``None`` when the node has no numeric averages.
    """
    avgs = graph["nodes"][node_id].get("avgs") or {}
    keys = ["lens", *list(graph.get("numerical_col_keys") or []), *avgs]
    for key in keys:
        if key in avgs and avgs[key] is not None:
            try:
                return float(avgs[key])
            except (TypeError, ValueError):
                continue
    return None


# --------------------------------------------------------------------------- layout
def _component_order(g: nx.Graph, order: Mapping[str, int]) -> list[list[str]]:
    comps = [sorted(c, key=order.__getitem__) for c in nx.connected_components(g)]
    comps.sort(key=lambda c: (-len(c), order[c[0]]))
    return comps


#: networkx's ``spring_layout`` switches to a slow sparse / energy method from 500 nodes
#: on; from there :func:`graph_layout` runs the same dense algorithm itself, in chunks.
_NX_DENSE_LIMIT = 500


def _fruchterman_reingold(
    adjacency: np.ndarray, seed: int, iterations: int, threshold: float = 1e-4
) -> np.ndarray:
    """networkx's dense Fruchterman-Reingold (``_fruchterman_reingold``), row-chunked.

    Same initial positions (``RandomState(seed).rand(n, 2)``), optimal distance
    ``k = sqrt(1/n)``, linear cooling and stopping rule as ``nx.spring_layout`` with
    ``method="force"`` on a dense matrix, but the (n, n, 2) difference array is built
    a block of rows at a time, so memory stays ~32 MB for any n.

    Parameters
    ----------
    adjacency : numpy.ndarray, shape (n, n)
        Symmetric edge weights.
    seed : int
        Seed of the initial positions.
    iterations : int
        Maximum number of iterations.
    threshold : float, default 1e-4
        Stop when the mean step length falls below it.

    Returns
    -------
    numpy.ndarray of float64, shape (n, 2)
    """
    a = np.asarray(adjacency, dtype=np.float64)
    n = a.shape[0]
    pos = np.random.RandomState(seed).rand(n, 2)  # noqa: NPY002 (networkx's exact RNG)
    k = math.sqrt(1.0 / n)
    t = float(max(np.ptp(pos[:, 0]), np.ptp(pos[:, 1]))) * 0.1
    dt = t / (iterations + 1)
    chunk = max(1, 2_000_000 // n)
    disp = np.empty_like(pos)
    for _ in range(iterations):
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            delta = pos[lo:hi, None, :] - pos[None, :, :]
            dist = np.linalg.norm(delta, axis=-1)
            np.clip(dist, 0.01, None, out=dist)
            disp[lo:hi] = np.einsum("ijk,ij->ik", delta, k * k / dist**2 - a[lo:hi] * dist / k)
        length = np.clip(np.linalg.norm(disp, axis=-1), 0.01, None)
        step = disp * (t / length)[:, None]
        pos += step
        t -= dt
        if np.linalg.norm(step) / n < threshold:
            break
    return pos


def graph_layout(
    graph: Mapping[str, Any], *, seed: int = 0, iterations: int | None = None
) -> dict[str, tuple[float, float]]:
    """Seeded force-directed layout of a Mapper graph, normalised to the unit box.

    Each connected component is laid out on its own with networkx
    ``spring_layout`` (Fruchterman-Reingold, like the D3 force layout of Mapper
    Interactive), seeded with ``seed``, with edge weight = number of shared points
    divided by the largest such number in the component (so heavily overlapping
    clusters pull harder). From 500 nodes on, where networkx switches to a much
    slower sparse / energy method, the same dense algorithm runs here
    (:func:`_fruchterman_reingold`, identical initial positions and updates). A
    component of ``n`` nodes is scaled to a box of side
    about ``sqrt(n)`` (aspect kept), and the boxes are packed in rows, largest
    component first (ties: order of the first node in the graph), with gaps, so
    disconnected pieces never overlap or fly apart. The result is scaled
    uniformly (aspect kept) and centred into ``[0, 1] x [0, 1]``.

    Parameters
    ----------
    graph : mapping
        Mapper graph (see the module docstring).
    seed : int, default 0
        Seed of the initial positions; the same graph and seed give identical
        positions.
    iterations : int, optional
        Spring-layout iterations per component. Default: 200 for components of up
        to 1000 nodes, ``max(50, 200 * 1000 // n)`` for larger ones (the cost is
        O(n^2) per iteration: about 9 s for one 1300-node component at 200).

    Returns
    -------
    dict of str to (float, float)
        ``node_id -> (x, y)`` with ``0 <= x, y <= 1``; empty for an empty graph; a
        single node sits at ``(0.5, 0.5)``.
    """
    nodes = graph_nodes(graph)
    if not nodes:
        return {}
    order = {n: i for i, n in enumerate(nodes)}
    members = {n: graph["nodes"][n].get("vertices") or [] for n in nodes}
    g = nx.Graph()
    g.add_nodes_from(nodes)
    sets: dict[str, set] = {}
    for a, b in graph_edges(graph):
        sa = sets.setdefault(a, set(members[a]))
        sb = sets.setdefault(b, set(members[b]))
        g.add_edge(a, b, shared=max(len(sa & sb), 1))

    boxes: list[tuple[list[str], np.ndarray, float, float]] = []  # nodes, xy, width, height
    for comp in _component_order(g, order):
        n = len(comp)
        iters = (
            iterations
            if iterations is not None
            else (200 if n <= 1000 else max(50, 200 * 1000 // n))
        )
        if n == 1:
            xy = np.zeros((1, 2))
        else:
            sub = g.subgraph(comp)
            top = max(d["shared"] for _, _, d in sub.edges(data=True))
            h = nx.Graph()
            h.add_nodes_from(comp)  # fixed node order: deterministic initial positions
            h.add_edges_from(
                (a, b, {"weight": d["shared"] / top})
                for a, b, d in sorted(
                    sub.edges(data=True), key=lambda e: (order[e[0]], order[e[1]])
                )
            )
            if n < _NX_DENSE_LIMIT:
                pos = nx.spring_layout(h, seed=seed, iterations=iters, weight="weight")
                xy = np.array([pos[v] for v in comp], dtype=np.float64)
            else:
                xy = _fruchterman_reingold(
                    nx.to_numpy_array(h, nodelist=comp, weight="weight"), seed, iters
                )
            xy -= xy.min(axis=0)
            extent = float(xy.max())
            side = math.sqrt(n)
            xy = xy * (side / extent) if extent > 0 else np.zeros_like(xy)
        boxes.append((comp, xy, float(xy[:, 0].max()), float(xy[:, 1].max())))

    # Shelf packing: rows left to right, top to bottom.
    gap = 1.0
    total_area = sum((w + gap) * (hh + gap) for _, _, w, hh in boxes)
    row_width = max(max(w for _, _, w, _ in boxes), 1.2 * math.sqrt(total_area))
    out_xy: dict[str, np.ndarray] = {}
    x0 = y_top = row_height = 0.0
    for comp, xy, w, hh in boxes:
        if x0 > 0 and x0 + w > row_width:
            y_top -= row_height + gap
            x0, row_height = 0.0, 0.0
        placed = xy + np.array([x0, y_top - hh])
        for v, p in zip(comp, placed, strict=True):
            out_xy[v] = p
        x0 += w + gap
        row_height = max(row_height, hh)

    arr = np.array([out_xy[v] for v in nodes])
    lo, hi = arr.min(axis=0), arr.max(axis=0)
    span = float((hi - lo).max())
    if span <= 0:
        arr = np.full_like(arr, 0.5)
    else:
        arr = (arr - lo) / span
        arr += (1.0 - arr.max(axis=0)) / 2.0  # centre the shorter side
    arr = np.clip(arr, 0.0, 1.0)
    return {v: (float(x), float(y)) for v, (x, y) in zip(nodes, arr, strict=True)}


def node_radii(
    sizes: Sequence[int] | np.ndarray,
    min_radius: float,
    max_radius: float,
    size_by: str = "points",
) -> np.ndarray:
    """Node radii: linear in point count between ``min_radius`` and ``max_radius``.

    As in Mapper Interactive (D3 ``scaleLinear`` from [smallest, largest node] to
    [10, 18] px).

    Parameters
    ----------
    sizes : array_like of int, shape (n_nodes,)
        Points per node.
    min_radius, max_radius : float
        Radius of the smallest and of the largest node.
    size_by : {"points", "constant"}
        ``"constant"`` gives every node ``max_radius``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_nodes,)
        Non-decreasing in size; all nodes get the mid radius when all sizes are equal.
    """
    s = np.asarray(sizes, dtype=np.float64)
    if size_by == "constant":
        return np.full(s.shape, float(max_radius))
    if size_by != "points":
        raise ValueError(f"size_by must be 'points' or 'constant', got {size_by!r}")
    if s.size == 0:
        return s
    lo, hi = float(s.min()), float(s.max())
    if hi == lo:
        return np.full(s.shape, (min_radius + max_radius) / 2.0)
    return min_radius + (s - lo) / (hi - lo) * (max_radius - min_radius)


def _auto_radii(n_nodes: int) -> tuple[float, float]:
    max_r = float(np.clip(0.35 / math.sqrt(max(n_nodes, 1)), 0.008, 0.05))
    return max_r * 10.0 / 18.0, max_r


# --------------------------------------------------------------------------- drawing
def _legend_handles(class_names: Sequence[str]) -> list[Patch]:
    colors = class_colors(class_names)
    return [
        Patch(facecolor=colors[str(c)], edgecolor=_OUTLINE_COLOR, linewidth=0.3, label=str(c))
        for c in class_names
    ]


def draw_mapper(
    ax: Axes,
    graph: Mapping[str, Any],
    class_names: Sequence[str] | None,
    *,
    layout: Mapping[str, tuple[float, float]] | None = None,
    seed: int = 0,
    size_by: str = "points",
    min_radius: float | None = None,
    max_radius: float | None = None,
    title: str | None = None,
    legend: bool = False,
) -> dict[str, tuple[float, float]]:
    """Draw a Mapper graph with pie-chart nodes on ``ax``.

    Edges are thin grey lines under the nodes. Each node is a pie chart of its
    class proportions: one :class:`matplotlib.patches.Wedge` per class present,
    in class order, starting at 12 o'clock and going clockwise (like ``d3.pie``),
    coloured by :func:`class_colors`; a pure node is a single full-disc wedge.
    Labels that match no class add a light grey wedge; a node without class counts
    is a grey disc. Each wedge's ``gid`` is ``"<node_id>|<class>"`` (``"|other"``
    / ``"|none"`` for the grey ones) and its ``label`` is the class name. Larger
    nodes are drawn first so small ones stay visible on top.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Target axes; its aspect is set to equal and its axis is hidden.
    graph : mapping
        Mapper graph (see the module docstring).
    class_names : sequence of str or None
        Class order for colours, wedges and the legend; ``None`` resolves them with
        :func:`resolve_class_names`.
    layout : mapping, optional
        ``node_id -> (x, y)``; computed with :func:`graph_layout` (``seed``) if
        omitted.
    seed : int, default 0
        Layout seed when ``layout`` is omitted.
    size_by : {"points", "constant"}, default "points"
        Radius linear in point count (between ``min_radius`` and ``max_radius``),
        or constant (``max_radius``).
    min_radius, max_radius : float, optional
        Radii in layout units (the unit box). Default: ``max_radius =
        clip(0.35 / sqrt(n_nodes), 0.008, 0.05)`` and ``min_radius = max_radius *
        10/18`` (Mapper Interactive's 10-18 px ratio).
    title : str, optional
        Axes title.
    legend : bool, default False
        Add a legend with all class names, in class order.

    Returns
    -------
    dict of str to (float, float)
        The layout used.
    """
    class_names = resolve_class_names(graph, class_names)
    nodes = graph_nodes(graph)
    if layout is None:
        layout = graph_layout(graph, seed=seed)
    colors = class_colors(class_names)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(handles=_legend_handles(class_names), loc="best", frameon=False)
    if not nodes:
        ax.text(
            0.5, 0.5, "no nodes", ha="center", va="center", transform=ax.transAxes, color="#666666"
        )
        return dict(layout)

    auto_min, auto_max = _auto_radii(len(nodes))
    min_r = auto_min if min_radius is None else float(min_radius)
    max_r = auto_max if max_radius is None else float(max_radius)
    sizes = np.array([_node_size(graph["nodes"][n]) for n in nodes])
    radii = node_radii(sizes, min_r, max_r, size_by)

    segs = [(layout[a], layout[b]) for a, b in graph_edges(graph)]
    if segs:
        ax.add_collection(
            LineCollection(segs, colors=_EDGE_COLOR, linewidths=0.6, zorder=1, capstyle="round")
        )

    lw = 0.25
    for i in sorted(range(len(nodes)), key=lambda i: (-sizes[i], i)):
        node_id = nodes[i]
        center = layout[node_id]
        counts, other = node_class_counts(graph, node_id, class_names)
        parts = [
            (str(c), colors[str(c)], int(k))
            for c, k in zip(class_names, counts, strict=True)
            if k > 0
        ]
        if other > 0:
            parts.append(("other", OTHER_COLOR, other))
        if not parts:
            parts = [("none", OTHER_COLOR, 1)]
        total = float(sum(k for _, _, k in parts))
        start = 0.0
        for name, color, k in parts:
            end = start + 360.0 * k / total
            # clockwise from 12 o'clock: matplotlib angles are counter-clockwise from 3 o'clock;
            # a pure node is one full disc
            theta1, theta2 = (0.0, 360.0) if len(parts) == 1 else (90.0 - end, 90.0 - start)
            w = Wedge(
                center,
                radii[i],
                theta1,
                theta2,
                facecolor=color,
                edgecolor=_OUTLINE_COLOR,
                linewidth=lw,
                zorder=2,
            )
            w.set_gid(f"{node_id}|{name}")
            w.set_label(name)
            ax.add_patch(w)
            start = end

    xy = np.array([layout[n] for n in nodes])
    pad = float(radii.max()) * 1.3 + 0.01
    ax.set_xlim(float(xy[:, 0].min()) - pad, float(xy[:, 0].max()) + pad)
    ax.set_ylim(float(xy[:, 1].min()) - pad, float(xy[:, 1].max()) + pad)
    return dict(layout)


def _graph_subtitle(graph: Mapping[str, Any]) -> str:
    n_nodes = len(graph_nodes(graph))
    n_edges = len(graph_edges(graph))
    text = f"{n_nodes} nodes · {n_edges} edges"
    eps = (graph.get("meta") or {}).get("eps")
    if eps is not None:
        try:
            text += f" · eps {float(eps):.4g}"
        except (TypeError, ValueError):
            text += f" · eps {eps}"
    return text


def figure_mapper_panels(
    panels: Sequence[tuple[str, Mapping[str, Any]]],
    class_names: Sequence[str] | None,
    path: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    ncols: int = 3,
    seed: int = 0,
    suptitle: str | None = None,
    panel_size: float = 4.0,
    dpi: float = 150,
    size_by: str = "points",
) -> Figure:
    """Write a grid of Mapper graphs with one shared class legend.

    Used for the per-layer figure, the comparison of point-cloud constructions at one
    layer and the noise series (docs/methods.md §14).

    Parameters
    ----------
    panels : sequence of (str, mapping)
        ``(title, graph)`` per panel, in reading order. A panel with an empty graph
        shows "no nodes". Under each panel: node and edge counts and, when
        ``graph["meta"]["eps"]`` exists, eps.
    class_names : sequence of str or None
        Class order (colours and legend); ``None``: :func:`resolve_class_names`
        over all panels.
    path : path-like or sequence of path-like
        Output file(s); any format matplotlib can write, chosen by suffix (``.png``,
        ``.pdf``, ``.svg``, ...). Written atomically
        (:func:`cnntopo.figures_io.save_figure`), all suffixes checked first.
    ncols : int, default 3
        Panels per row (fewer if there are fewer panels).
    seed : int, default 0
        Layout seed of every panel (:func:`graph_layout`).
    suptitle : str, optional
        Figure title.
    panel_size : float, default 4.0
        Width and height of one panel, inches.
    dpi : float, default 150
        Resolution of raster output.
    size_by : {"points", "constant"}, default "points"
        Passed to :func:`draw_mapper`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (already saved; no pyplot state is involved).
    """
    panels = list(panels)
    if not panels:
        raise ValueError("figure_mapper_panels needs at least one (title, graph) panel")
    class_names = resolve_class_names([g for _, g in panels], class_names)
    ncols = max(1, min(int(ncols), len(panels)))
    nrows = math.ceil(len(panels) / ncols)
    legend_cols = min(len(class_names), 10) if class_names else 1
    legend_rows = math.ceil(len(class_names) / legend_cols) if class_names else 0
    legend_h = 0.3 + 0.22 * legend_rows
    title_h = 0.4 if suptitle else 0.0
    width = ncols * panel_size
    height = nrows * (panel_size + 0.35) + legend_h + title_h
    fig = Figure(figsize=(width, height), dpi=dpi)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    fig.subplots_adjust(
        left=0.02,
        right=0.98,
        wspace=0.06,
        hspace=0.22,
        top=1.0 - (title_h + 0.3) / height,
        bottom=(legend_h + 0.2) / height,
    )
    for k, ax in enumerate(axes.flat):
        if k >= len(panels):
            ax.set_axis_off()
            continue
        title, graph = panels[k]
        draw_mapper(ax, graph, class_names, seed=seed, size_by=size_by, title=str(title))
        ax.text(
            0.5,
            -0.01,
            _graph_subtitle(graph),
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=8,
            color="#444444",
        )
    if class_names:
        fig.legend(
            handles=_legend_handles(class_names),
            loc="lower center",
            ncol=legend_cols,
            frameon=False,
            fontsize=9,
            bbox_to_anchor=(0.5, 0.0),
            handlelength=1.0,
            columnspacing=1.2,
        )
    if suptitle:
        fig.suptitle(suptitle, fontsize=12)
    save_figure(fig, path, dpi=dpi, pad_inches=_PAD_INCHES, close=False)
    return fig


def figure_purity(
    table: Any,
    path: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    title: str | None = None,
    dpi: float = 150,
) -> Figure:
    """Write node-wise and mean class-wise purity vs layer, one line per construction.

    Purity (docs/methods.md §13): node-wise = mean over nodes of 1 / (labels in the node);
    class-wise = per class, the mean over its points of the average of
    1 / (labels) over the nodes containing the point (0 for uncovered points).

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``construction``, ``layer``, ``nodewise``, ``classwise_mean``. Layers
        are plotted in order of first appearance in the rows (give them in network
        order); constructions likewise. Missing (construction, layer) pairs leave
        gaps.
    path : path-like or sequence of path-like
        Output file(s), format by suffix; written atomically
        (:func:`cnntopo.figures_io.save_figure`).
    title : str, optional
        Figure title.
    dpi : float, default 150
        Resolution of raster output.

    Returns
    -------
    matplotlib.figure.Figure
    """
    need = ["construction", "layer", "nodewise", "classwise_mean"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"purity table lacks columns {missing}; it has {list(table.columns)}")
    layers = list(dict.fromkeys(str(v) for v in table["layer"]))
    constructions = list(dict.fromkeys(str(v) for v in table["construction"]))
    x_of = {name: i for i, name in enumerate(layers)}
    fig = Figure(figsize=(max(6.0, 2.5 + 0.45 * len(layers)) * 1.6, 3.6), dpi=dpi)
    axes = fig.subplots(1, 2, sharey=True)
    markers = "osD^vP*Xh<>"
    for ax, col, label in zip(
        axes,
        ["nodewise", "classwise_mean"],
        ["node-wise purity", "mean class-wise purity"],
        strict=True,
    ):
        for j, cons in enumerate(constructions):
            rows = table[table["construction"].astype(str) == cons]
            y = np.full(len(layers), np.nan)
            for lay, val in zip(rows["layer"].astype(str), rows[col], strict=True):
                y[x_of[lay]] = float(val)
            ax.plot(
                np.arange(len(layers)),
                y,
                marker=markers[j % len(markers)],
                markersize=4,
                linewidth=1.2,
                color=PALETTE[j % 10],
                label=cons,
            )
        ax.set_xticks(np.arange(len(layers)))
        ax.set_xticklabels(layers, rotation=45, ha="right", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.set_ylim(0.0, 1.02)
        ax.grid(True, linewidth=0.4, alpha=0.5)
        ax.set_xlabel("layer")
    axes[0].set_ylabel("purity")
    axes[1].legend(
        title="construction",
        fontsize=8,
        title_fontsize=8,
        frameon=False,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
    )
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save_figure(fig, path, dpi=dpi, pad_inches=_PAD_INCHES, close=False)
    return fig


def figure_settings(
    table: Any,
    path: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    title: str | None = "Mapper graphs across settings",
    dpi: float = 150,
) -> Figure:
    """Write the number of nodes and the node-wise purity across Mapper settings.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per graph, columns ``cloud``, ``layer``, ``setting``, ``n_nodes`` and
        ``nodewise`` (``stats.csv`` of the workflow). One line per (cloud, layer);
        settings in order of first appearance on the x axis.
    path : path-like or sequence of path-like
        Output file(s), format by suffix; written atomically
        (:func:`cnntopo.figures_io.save_figure`).
    title : str or None, default "Mapper graphs across settings"
        Figure title.
    dpi : float, default 150
        Resolution of raster output.

    Returns
    -------
    matplotlib.figure.Figure
    """
    need = ["cloud", "layer", "setting", "n_nodes", "nodewise"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"settings table lacks columns {missing}; it has {list(table.columns)}")
    graph = table["cloud"].astype(str) + " " + table["layer"].astype(str)
    settings = list(dict.fromkeys(str(s) for s in table["setting"]))
    fig = Figure(figsize=(11, 4.2), dpi=dpi, layout="constrained")
    axes = fig.subplots(1, 2)
    for name, rows in table.groupby(graph, sort=False):
        x = [settings.index(str(s)) for s in rows["setting"]]
        axes[0].plot(x, rows["n_nodes"], marker="o", label=name)
        axes[1].plot(x, rows["nodewise"], marker="o", label=name)
    labels = [s.replace("_", "\n") for s in settings]
    for ax, what in zip(axes, ("nodes", "node-wise purity"), strict=True):
        ax.set_xticks(range(len(settings)), labels, fontsize=7)
        ax.set_title(what)
    axes[1].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title)
    save_figure(fig, path, dpi=dpi, pad_inches=_PAD_INCHES, close=False)
    return fig


def figure_knn(
    distances: np.ndarray,
    path: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    k: int,
    eps: Sequence[tuple[float, str]] = (),
    n_points: int | None = None,
    title: str | None = None,
    dpi: float = 150,
) -> Figure:
    """Write the sorted k-NN distance curve with the chosen DBSCAN eps marked.

    The plot of the official ``get_knn.get_knn`` (docs/methods.md §12): the distance of
    every point to its ``k``-th nearest neighbour (the point itself counted), in
    increasing order against the point's rank; cnntopo adds one horizontal line per eps
    used by the graphs of the cloud.

    Parameters
    ----------
    distances : numpy.ndarray, shape (Q,)
        :func:`cnntopo.mapper.graph.knn_distances`, ascending.
    path : path-like or sequence of path-like
        Output file(s), format by suffix; written atomically
        (:func:`cnntopo.figures_io.save_figure`).
    k : int
        The ``k`` of the distances (axis label).
    eps : sequence of (float, str)
        Each graph's eps and a short label (e.g. its source, ``"given"`` or ``"knee"``);
        equal values are drawn once, with their distinct labels and the number of
        graphs.
    n_points : int, optional
        Points in the cloud, when the distances are of a sample of ``Q < n_points``
        queries (axis label).
    title : str, optional
        Axes title.
    dpi : float, default 150
        Resolution of raster output.

    Returns
    -------
    matplotlib.figure.Figure
    """
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 1 or d.size == 0:
        raise ValueError(f"distances must be a non-empty 1-D array, got shape {d.shape}")
    fig = Figure(figsize=(5, 5), dpi=dpi, layout="constrained")
    ax = fig.subplots()
    ax.plot(np.arange(d.size), d, color="#1f77b4", lw=1.2, label=f"{k}-NN distance")
    marks: dict[float, list[str]] = {}
    for value, label in eps:
        marks.setdefault(float(value), []).append(str(label))
    colors = ["#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
    for i, (value, labels) in enumerate(sorted(marks.items())):
        ax.axhline(
            value,
            color=colors[i % len(colors)],
            ls="--",
            lw=1,
            label=f"eps = {value:g} ("
            + ", ".join(dict.fromkeys(labels))
            + (f"; {len(labels)} graphs)" if len(labels) > 1 else ")"),
        )
    sample = n_points is not None and n_points > d.size
    ax.set_xlabel(
        f"points, sorted ({d.size:,} queried of {n_points:,})" if sample else "points, sorted"
    )
    ax.set_ylabel(f"distance to the {k}-th nearest neighbour (itself counted)")
    if marks:
        ax.legend(fontsize=6, loc="upper left")
    if title:
        ax.set_title(title, fontsize=9)
    save_figure(fig, path, dpi=dpi, pad_inches=_PAD_INCHES, close=False)
    return fig
