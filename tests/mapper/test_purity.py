"""Tests for cnntopo.mapper.purity (node-wise and class-wise purity, docs/methods.md §13)."""

from __future__ import annotations

import numpy as np
import pytest

from cnntopo.mapper.graph import mapper_graph
from cnntopo.mapper.purity import (
    classwise_purity,
    node_label_counts,
    nodewise_purity,
    purity_scores,
    purity_table,
)


def _node(vertices, labels, names=None):
    vals, counts = np.unique(np.asarray(labels)[vertices], return_counts=True)
    key = (lambda c: names[c]) if names else str
    return {
        "vertices": list(vertices),
        "categorical_cols_summary": {
            "label": {key(int(c)): int(n) for c, n in zip(vals, counts, strict=True)}
        },
        "avgs": {"lens": 0.0},
    }


# 8 points, classes 0..2; point 7 (class 2) is in no node
LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 2])


def _hand_graph():
    return {
        "nodes": {
            "cube0_cluster0": _node([0, 1, 2], LABELS),  # {0}: 1 label
            "cube1_cluster0": _node([2, 3], LABELS),  # {0, 1}: 2 labels
            "cube1_cluster1": _node([4, 5, 6], LABELS),  # {1, 2}: 2 labels
            "cube2_cluster0": _node([0, 3, 5], LABELS),  # {0, 1, 2}: 3 labels
        },
        "edges": {"cube0_cluster0": ["cube1_cluster0", "cube2_cluster0"]},
        "categorical_cols": ["label"],
        "numerical_col_keys": ["lens"],
    }


def test_nodewise_purity_by_hand():
    g = _hand_graph()
    expected = (1 + 1 / 2 + 1 / 2 + 1 / 3) / 4
    assert nodewise_purity(g) == pytest.approx(expected)
    assert nodewise_purity(g, LABELS) == pytest.approx(expected)
    np.testing.assert_array_equal(node_label_counts(g), [1, 2, 2, 3])


def test_classwise_purity_by_hand():
    g = _hand_graph()
    # per-point scores (mean over containing nodes of 1/L):
    p0 = (1 + 1 / 3) / 2
    p1 = 1.0
    p2 = (1 + 1 / 2) / 2
    p3 = (1 / 2 + 1 / 3) / 2
    p4 = 1 / 2
    p5 = (1 / 2 + 1 / 3) / 2
    p6 = 1 / 2
    p7 = 0.0  # in no node
    expected = [(p0 + p1 + p2) / 3, (p3 + p4) / 2, (p5 + p6 + p7) / 3]
    np.testing.assert_allclose(classwise_purity(g, LABELS), expected)
    out = classwise_purity(g, LABELS, n_classes=4)
    assert out.shape == (4,) and np.isnan(out[3])


def test_point_in_no_node_scores_zero():
    labels = np.array([0, 0, 1])
    g = {"nodes": {"a": _node([0], labels)}, "edges": {}}
    np.testing.assert_allclose(classwise_purity(g, labels), [0.5, 0.0])
    empty = {"nodes": {}, "edges": {}}
    np.testing.assert_allclose(classwise_purity(empty, labels), [0.0, 0.0])
    assert np.isnan(nodewise_purity(empty))


def test_fork_bug_whole_dataset_counts():
    # the fork wrote whole-dataset class counts into every node's summary
    g = _hand_graph()
    all_counts = {str(c): int(n) for c, n in enumerate(np.bincount(LABELS))}
    for node in g["nodes"].values():
        node["categorical_cols_summary"]["label"] = dict(all_counts)
    good = _hand_graph()
    assert nodewise_purity(g) == pytest.approx(1 / 3)  # what the bug gives from the summary
    assert nodewise_purity(g, LABELS) == pytest.approx(nodewise_purity(good))
    np.testing.assert_allclose(classwise_purity(g, LABELS), classwise_purity(good, LABELS))


def test_purity_table():
    g = _hand_graph()
    t = purity_table(g, LABELS, label_names=["cat", "dog", "frog"])
    assert list(t.columns) == ["nodewise", "cat", "dog", "frog", "classwise_mean"]
    assert len(t) == 1
    cw = classwise_purity(g, LABELS)
    assert t.loc[0, "dog"] == pytest.approx(cw[1])
    assert t.loc[0, "classwise_mean"] == pytest.approx(cw.mean())
    assert t.loc[0, "nodewise"] == pytest.approx(nodewise_purity(g))
    assert list(purity_table(g, LABELS).columns) == ["nodewise", "0", "1", "2", "classwise_mean"]


def test_purity_scores_skip_a_class_without_points():
    g = _hand_graph()
    cw = classwise_purity(g, LABELS)
    scores = purity_scores(g, LABELS, label_names=["cat", "dog", "frog", "yak"])
    assert scores["nodewise"] == nodewise_purity(g, LABELS)
    assert list(scores["classwise"]) == ["cat", "dog", "frog", "yak"]
    assert np.isnan(scores["classwise"]["yak"])
    # the mean over the classes that have points, exactly as without the empty class
    assert scores["classwise_mean"] == float(np.mean(cw))
    assert np.isnan(purity_scores({"nodes": {}, "edges": {}}, [], [])["classwise_mean"])
    table = purity_table(g, LABELS, label_names=["cat", "dog", "frog", "yak"])
    assert table.loc[0, "classwise_mean"] == scores["classwise_mean"]


def test_purity_on_mapper_graph_and_class_major_equivalence():
    # two classes at the same norm but far apart: pure nodes, purity 1
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(200, 2)) * 0.3 + [10, 0], rng.normal(size=(200, 2)) * 0.3 + [0, 10]]
    y = np.repeat([0, 1], 200)
    g = mapper_graph(X, y, n_intervals=4, overlap=0.3, eps=0.6)
    assert nodewise_purity(g) == 1.0
    cw = classwise_purity(g, y)
    # the original's rows-i*K... indexing gives the same numbers for class-major clouds
    from cnntopo.mapper.purity import _point_scores

    scores = _point_scores(g, y)
    np.testing.assert_allclose(cw, [scores[:200].mean(), scores[200:].mean()])
    assert np.all(cw > 0.9)


def test_errors():
    g = _hand_graph()
    with pytest.raises(ValueError, match="out of range"):
        classwise_purity(g, LABELS[:4])
    with pytest.raises(ValueError, match="integer"):
        classwise_purity(g, LABELS.astype(float) + 0.5)
    with pytest.raises(ValueError, match="n_classes"):
        classwise_purity(g, LABELS, n_classes=2)
