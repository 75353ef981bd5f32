"""Static Mapper figures (:mod:`cnntopo.mapper.draw`): layout, pie glyphs, figure files.

The graphs come from :func:`make_mapper_graph`, a small generator of Mapper-
Interactive-format dicts that mimics a real Mapper run (1-D lens cover with
overlap, clusters, nerve edges from shared points), so these tests do not depend on
:mod:`cnntopo.mapper.graph`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import matplotlib.image as mpimg
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Wedge

from cnntopo.mapper.draw import (
    EXTRA_PALETTE,
    PALETTE,
    _fruchterman_reingold,
    class_colors,
    draw_mapper,
    figure_mapper_panels,
    figure_purity,
    figure_settings,
    graph_edges,
    graph_layout,
    graph_nodes,
    node_class_counts,
    node_radii,
    resolve_class_names,
)
from synthetic import CIFAR10, make_mapper_graph


def _nx(graph: dict) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(graph_nodes(graph))
    g.add_edges_from(graph_edges(graph))
    return g


def _wedges_by_node(ax) -> dict[str, list[Wedge]]:
    out: dict[str, list[Wedge]] = defaultdict(list)
    for p in ax.patches:
        if isinstance(p, Wedge):
            out[p.get_gid().rsplit("|", 1)[0]].append(p)
    return out


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------------ palette and graph access
def test_class_colors_palette_and_cycling():
    cols = class_colors(CIFAR10)
    assert list(cols) == CIFAR10
    assert list(cols.values()) == list(PALETTE)
    many = class_colors([f"c{i}" for i in range(25)])
    assert many["c10"] == EXTRA_PALETTE[0] and many["c19"] == EXTRA_PALETTE[9]
    assert many["c20"] == EXTRA_PALETTE[0]  # documented cycling beyond 20 classes
    assert len(set(list(many.values())[:20])) == 20


def test_edges_accept_adjacency_and_pairs():
    adj = make_mapper_graph(seed=3)
    pairs = make_mapper_graph(seed=3, as_pairs=True)
    assert isinstance(pairs["edges"], list)
    e1 = {frozenset(e) for e in graph_edges(adj)}
    e2 = {frozenset(e) for e in graph_edges(pairs)}
    assert e1 == e2 and len(e1) > 0
    # symmetric adjacency lists and unknown/self edges are deduplicated / dropped
    g = {
        "nodes": {"a": {"vertices": [1]}, "b": {"vertices": [1]}},
        "edges": {"a": ["b", "a", "zzz"], "b": ["a"]},
    }
    assert graph_edges(g) == [("a", "b")]


def test_node_class_counts_aligns_names_and_indices():
    g = {
        "nodes": {
            "n": {
                "vertices": [0, 1, 2, 3, 4],
                "categorical_cols_summary": {"label": {"3": 2, "cat": 1, "zebra": 2}},
            }
        }
    }
    counts, other = node_class_counts(g, "n", CIFAR10)
    assert counts[3] == 3 and counts.sum() == 3 and other == 2
    assert resolve_class_names(make_mapper_graph(n_classes=4), None) == CIFAR10[:4]


# ------------------------------------------------------------------ layout
def test_layout_deterministic_and_seed_dependent():
    g = make_mapper_graph(seed=1, islands=2)
    a = graph_layout(g, seed=0)
    b = graph_layout(g, seed=0)
    c = graph_layout(g, seed=1)
    assert a == b
    assert set(a) == set(graph_nodes(g))
    diff = max(math.dist(a[n], c[n]) for n in a)
    assert diff > 1e-3


def test_own_dense_layout_equals_networkx_spring_layout():
    g = nx.random_geometric_graph(150, 0.15, seed=1)
    for a, b in g.edges:
        g.edges[a, b]["weight"] = 0.5 + (a * b) % 7 / 7
    ref = nx.spring_layout(g, seed=3, iterations=80, weight="weight", method="force")
    mine = _fruchterman_reingold(nx.to_numpy_array(g, weight="weight"), 3, 80)
    assert np.allclose(nx.rescale_layout(mine), np.array([ref[v] for v in g]), atol=1e-10)


def test_layout_of_large_component():
    """>= 500 nodes: the chunked dense layout (networkx would switch methods)."""
    path = nx.path_graph(520)
    nodes = {f"n{i}": {"vertices": [i, i + 1]} for i in path}
    g = {"nodes": nodes, "edges": [[f"n{a}", f"n{b}"] for a, b in path.edges]}
    a = graph_layout(g, seed=0, iterations=60)
    assert a == graph_layout(g, seed=0, iterations=60)
    xy = np.array(list(a.values()))
    assert np.all((xy >= 0) & (xy <= 1))
    steps = np.linalg.norm(np.diff(xy, axis=0), axis=1)  # neighbours stay close
    assert np.median(steps) < 0.05


def test_layout_in_unit_box():
    for seed in range(3):
        g = make_mapper_graph(seed=seed, islands=3)
        xy = np.array(list(graph_layout(g, seed=seed).values()))
        assert np.all(xy >= 0.0) and np.all(xy <= 1.0)
        assert xy.max() == pytest.approx(1.0)  # uses the box
    assert graph_layout({"nodes": {}, "edges": {}}) == {}
    assert graph_layout({"nodes": {"x": {"vertices": [1]}}, "edges": []}) == {"x": (0.5, 0.5)}


def test_disconnected_components_do_not_overlap():
    g = make_mapper_graph(seed=2, islands=4)
    comps = list(nx.connected_components(_nx(g)))
    assert len(comps) >= 5
    pos = graph_layout(g, seed=0)
    boxes = []
    for comp in comps:
        xy = np.array([pos[n] for n in comp])
        boxes.append((*xy.min(axis=0), *xy.max(axis=0)))
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            ax0, ay0, ax1, ay1 = boxes[i]
            bx0, by0, bx1, by1 = boxes[j]
            separated = ax1 < bx0 or bx1 < ax0 or ay1 < by0 or by1 < ay0
            assert separated, f"components {i} and {j} overlap: {boxes[i]} vs {boxes[j]}"
    # packed in rows, largest component first: it starts the top row at the left
    largest = max(comps, key=len)
    xy_all = np.array(list(pos.values()))
    xy_big = np.array([pos[n] for n in largest])
    assert xy_big[:, 1].max() == pytest.approx(xy_all[:, 1].max())
    assert xy_big[:, 0].min() == pytest.approx(xy_all[:, 0].min())


# ------------------------------------------------------------------ draw_mapper
def test_draw_mapper_wedges_match_class_proportions():
    g = make_mapper_graph(seed=4, islands=1)
    fig = Figure()
    ax = fig.add_subplot()
    draw_mapper(ax, g, CIFAR10, seed=0)
    by_node = _wedges_by_node(ax)
    assert set(by_node) == set(graph_nodes(g))
    colors = class_colors(CIFAR10)
    n_pure = 0
    for node_id, wedges in by_node.items():
        counts, other = node_class_counts(g, node_id, CIFAR10)
        assert other == 0
        present = [(CIFAR10[i], c) for i, c in enumerate(counts) if c > 0]
        assert [w.get_label() for w in wedges] == [name for name, _ in present]  # class order
        total = counts.sum()
        for w, (name, c) in zip(wedges, present, strict=True):
            frac = (w.theta2 - w.theta1) / 360.0
            assert frac == pytest.approx(c / total, abs=1e-9)
            assert np.allclose(w.get_facecolor()[:3], _rgb(colors[name]))
        assert len({w.r for w in wedges}) == 1 and len({tuple(w.center) for w in wedges}) == 1
        if len(present) == 1:
            n_pure += 1
            assert len(wedges) == 1 and wedges[0].theta2 - wedges[0].theta1 == 360.0
    assert n_pure > 0 and n_pure < len(by_node)
    assert ax.get_aspect() == 1.0 and not ax.axison


def _rgb(hexcolor: str) -> tuple[float, float, float]:
    h = hexcolor.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))


def test_draw_mapper_radius_monotone_in_size_and_constant_mode():
    g = make_mapper_graph(seed=5)
    sizes = {n: len(g["nodes"][n]["vertices"]) for n in graph_nodes(g)}
    fig = Figure()
    ax = fig.add_subplot()
    draw_mapper(ax, g, CIFAR10, min_radius=0.01, max_radius=0.03)
    radius = {n: ws[0].r for n, ws in _wedges_by_node(ax).items()}
    order = sorted(sizes, key=sizes.get)
    rs = [radius[n] for n in order]
    assert all(a <= b + 1e-12 for a, b in zip(rs, rs[1:], strict=False))
    assert min(rs) == pytest.approx(0.01) and max(rs) == pytest.approx(0.03)
    ax2 = Figure().add_subplot()
    draw_mapper(ax2, g, CIFAR10, size_by="constant", max_radius=0.02)
    assert {ws[0].r for ws in _wedges_by_node(ax2).values()} == {0.02}
    with pytest.raises(ValueError, match="size_by"):
        node_radii([1, 2], 0.1, 0.2, size_by="lens")


def test_draw_mapper_edges_and_legend():
    g = make_mapper_graph(seed=6)
    ax = Figure().add_subplot()
    layout = draw_mapper(ax, g, CIFAR10, legend=True, title="layer4.1.bn2")
    assert ax.get_title() == "layer4.1.bn2"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == CIFAR10
    (lines,) = ax.collections
    assert len(lines.get_segments()) == len(graph_edges(g))
    assert layout == graph_layout(g, seed=0)


def test_draw_mapper_empty_graph():
    ax = Figure().add_subplot()
    draw_mapper(ax, {"nodes": {}, "edges": []}, CIFAR10)
    assert not ax.patches
    assert any(t.get_text() == "no nodes" for t in ax.texts)


# ------------------------------------------------------------------ figures
def test_figure_mapper_panels_writes_png_with_shared_legend(tmp_path):
    panels = [
        (f"layer{i}", make_mapper_graph(seed=i, n_points=800, islands=i % 2)) for i in range(5)
    ]
    panels.append(("empty", {"nodes": {}, "edges": {}}))
    out = tmp_path / "figs" / "panels.png"
    fig = figure_mapper_panels(panels, CIFAR10, out, ncols=3, suptitle="CIFAR-10", dpi=60)
    assert out.is_file() and out.stat().st_size > 1000
    assert _no_temp_files(out.parent)
    img = mpimg.imread(out)
    assert img.ndim == 3 and img.std() > 0
    assert len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == CIFAR10
    axes = fig.axes
    assert [ax.get_title() for ax in axes[:6]] == [t for t, _ in panels]
    assert any(t.get_text() == "no nodes" for t in axes[5].texts)
    sub = [t.get_text() for t in axes[0].texts]
    n0 = len(graph_nodes(panels[0][1]))
    assert any(f"{n0} nodes" in s and "eps 1.23" in s for s in sub)
    # deterministic: same input and seed give the same bytes
    out2 = tmp_path / "figs" / "panels2.png"
    figure_mapper_panels(panels, CIFAR10, out2, ncols=3, suptitle="CIFAR-10", dpi=60)
    assert out.read_bytes() == out2.read_bytes()


def test_figure_mapper_panels_formats_and_bad_suffix(tmp_path):
    panels = [("a", make_mapper_graph(n_points=300, n_intervals=6))]
    for suffix in (".pdf", ".svg"):
        out = tmp_path / f"p{suffix}"
        figure_mapper_panels(panels, None, out, dpi=50)
        assert out.stat().st_size > 0
    with pytest.raises(ValueError, match="suffix"):
        figure_mapper_panels(panels, None, tmp_path / "p.notaformat")
    assert not (tmp_path / "p.notaformat").exists()
    assert _no_temp_files(tmp_path)


def test_figure_purity(tmp_path):
    layers = ["layer1.1.bn2", "layer2.1.bn2", "layer3.1.bn2",
              "layer4.0.bn2", "layer4.1.bn1", "layer4.1.bn2"]  # fmt: skip
    rng = np.random.default_rng(0)
    rows = [
        {"construction": c, "layer": lay, "nodewise": rng.random(), "classwise_mean": rng.random()}
        for c in ("random", "full", "fg_1")
        for lay in layers
    ]
    rows = rows[:-1]  # a missing (construction, layer) pair leaves a gap
    out = tmp_path / "purity.png"
    fig = figure_purity(pd.DataFrame(rows), out, title="purity")
    assert out.stat().st_size > 0 and _no_temp_files(tmp_path)
    ax0, ax1 = fig.axes[:2]
    assert len(ax0.lines) == 3 and len(ax1.lines) == 3
    assert [t.get_text() for t in ax0.get_xticklabels()] == layers
    assert [t.get_text() for t in ax1.get_legend().get_texts()] == ["random", "full", "fg_1"]
    assert np.isnan(ax1.lines[2].get_ydata()[-1])
    with pytest.raises(ValueError, match="classwise_mean"):
        figure_purity(pd.DataFrame(rows).drop(columns="classwise_mean"), tmp_path / "x.png")


def test_figure_settings(tmp_path):
    settings = [f"intervals~{n}_overlap~30_eps~knee" for n in (8, 12, 16)]
    rows = [
        {"cloud": c, "layer": "layer4.1.bn2", "setting": s, "n_nodes": 10 * k, "nodewise": 0.5}
        for c in ("random", "full")
        for k, s in enumerate(settings)
    ]
    out = tmp_path / "settings.svg"
    fig = figure_settings(pd.DataFrame(rows[1:]), out)  # random lacks the first setting
    assert isinstance(fig, Figure) and out.stat().st_size > 0 and _no_temp_files(tmp_path)
    nodes, purity = fig.axes[:2]
    order = [settings[1], settings[2], settings[0]]  # by first appearance
    assert [t.get_text() for t in nodes.get_xticklabels()] == [s.replace("_", "\n") for s in order]
    assert [list(line.get_xdata()) for line in nodes.lines] == [[0, 1], [2, 0, 1]]
    assert [t.get_text() for t in purity.get_legend().get_texts()] == [
        "random layer4.1.bn2",
        "full layer4.1.bn2",
    ]
    with pytest.raises(ValueError, match="nodewise"):
        figure_settings(pd.DataFrame(rows).drop(columns="nodewise"), tmp_path / "x.png")
