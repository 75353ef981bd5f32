"""Purity of Mapper graphs (docs/methods.md §13).

The authors' ``get_nodewise_purity.py`` and ``get_classwise_purity.py`` score how
well Mapper nodes separate the classes:

node-wise purity
    the mean over nodes of ``1 / L(node)``, where ``L(node)`` is the number of
    distinct class labels among the node's points (1 for a pure node);
class-wise purity of class ``c``
    the mean over all points of class ``c`` of a per-point score: the average,
    over the nodes that contain the point, of ``1 / L(node)``; a point in no
    node scores 0.

The original reads ``L(node)`` from the keys of the node's
``categorical_cols_summary["label"]`` and takes class ``c``'s points as rows
``c * 5000 ... c * 5000 + 4999`` (one point per image, class-major order, as in
the P2 / fg_1 / bg_1 clouds). Here the points of class ``c`` are taken from
``labels`` instead, which is the same for those clouds and also defined for
clouds with several points per image, where it is a per-*point* (not per-image)
score. When ``labels`` is given, ``L(node)`` is recomputed from the node's own
vertices, so a graph whose summaries were filled with whole-dataset counts (a
bug of a third-party fork) still gets correct scores.

Graphs are the dicts of :func:`cnntopo.mapper.graph.mapper_graph` or official Mapper
Interactive JSON files (same layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "node_label_counts",
    "nodewise_purity",
    "classwise_purity",
    "purity_scores",
    "purity_table",
]


def _check_labels(labels: Any) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if labels.size and labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels % 1 == 0):
            labels = labels.astype(np.int64)
        else:
            raise ValueError(f"labels must be integer class ids, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError("labels must be >= 0")
    return labels


def _vertices(node: dict, n_points: int) -> np.ndarray:
    v = np.asarray(node["vertices"], dtype=np.int64)
    if v.size and (v.min() < 0 or v.max() >= n_points):
        raise ValueError(f"node vertex index out of range for {n_points} labels")
    return v


def node_label_counts(graph: dict, labels: Any = None, col: str = "label") -> np.ndarray:
    """Number of distinct labels in each node, ``L(node)``, in node order.

    Parameters
    ----------
    graph : dict
        Mapper graph (``nodes`` -> ``vertices``, ``categorical_cols_summary``).
    labels : array-like of int, shape (N,), optional
        Class id of each point. When given, ``L`` is counted from the labels of
        the node's vertices; otherwise from the classes with a positive count in
        the node's ``categorical_cols_summary[col]`` (the original's method).
    col : str, default "label"
        Categorical column of the summary.

    Returns
    -------
    numpy.ndarray, shape (n_nodes,), int64
    """
    nodes = graph["nodes"]
    if labels is not None:
        labels = _check_labels(labels)
        return np.array(
            [np.unique(labels[_vertices(nd, labels.size)]).size for nd in nodes.values()],
            dtype=np.int64,
        )
    return np.array(
        [
            sum(1 for c in nd["categorical_cols_summary"][col].values() if c > 0)
            for nd in nodes.values()
        ],
        dtype=np.int64,
    )


def nodewise_purity(graph: dict, labels: Any = None, col: str = "label") -> float:
    """Mean over nodes of ``1 / (number of distinct labels in the node)``.

    Parameters
    ----------
    graph : dict
        Mapper graph.
    labels : array-like of int, shape (N,), optional
        If given, labels are counted from each node's vertices rather than
        read from its summary (see :func:`node_label_counts`).
    col : str, default "label"
        Categorical column of the summary.

    Returns
    -------
    float
        In (0, 1]; nan for a graph without nodes (the original divides by zero).
    """
    k = node_label_counts(graph, labels, col)
    if k.size == 0:
        return float("nan")
    if np.any(k == 0):
        raise ValueError("a node has no labelled points")
    return float(np.mean(1.0 / k))


def _point_scores(graph: dict, labels: np.ndarray) -> np.ndarray:
    n = labels.size
    k = node_label_counts(graph, labels)
    verts = [_vertices(nd, n) for nd in graph["nodes"].values()]
    if not verts:
        return np.zeros(n)
    sizes = np.array([v.size for v in verts])
    allv = np.concatenate(verts)
    score_sum = np.bincount(allv, weights=np.repeat(1.0 / np.maximum(k, 1), sizes), minlength=n)
    n_nodes_of = np.bincount(allv, minlength=n)
    return np.divide(score_sum, n_nodes_of, out=np.zeros(n), where=n_nodes_of > 0)


def classwise_purity(graph: dict, labels: Any, n_classes: int | None = None) -> np.ndarray:
    """Class-wise purity: per class, the mean per-point score over its points.

    The score of a point is the mean, over the nodes containing it, of
    ``1 / L(node)`` with ``L`` counted from the node's own vertices; a point in
    no node scores 0. Class ``c``'s purity averages the scores of *all* points
    with ``labels == c`` (for clouds with several points per image this is a
    per-point, not a per-image, average).

    Parameters
    ----------
    graph : dict
        Mapper graph whose ``vertices`` index ``labels``.
    labels : array-like of int, shape (N,)
        Class id of every point of the cloud the graph was built on.
    n_classes : int, optional
        Length of the result (default ``max(labels) + 1``).

    Returns
    -------
    numpy.ndarray, shape (n_classes,), float64
        nan for a class without points.

    Raises
    ------
    ValueError
        For non-integer or negative labels, a vertex index outside ``labels``
        or ``n_classes`` smaller than the number of classes present.
    """
    labels = _check_labels(labels)
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and n_classes <= labels.max():
        raise ValueError(f"n_classes={n_classes} but labels go up to {labels.max()}")
    scores = _point_scores(graph, labels)
    total = np.bincount(labels, weights=scores, minlength=n_classes)
    count = np.bincount(labels, minlength=n_classes)
    return np.divide(total, count, out=np.full(n_classes, np.nan), where=count > 0)


def purity_scores(graph: dict, labels: Any, label_names: Sequence[str] | None = None) -> dict:
    """Node-wise purity, class-wise purity of every class, and their mean.

    Parameters
    ----------
    graph : dict
        Mapper graph.
    labels : array-like of int, shape (N,)
        Class id of every point.
    label_names : sequence of str, optional
        Names of the classes, indexed by class id (default ``str(class_id)``).

    Returns
    -------
    dict
        ``nodewise`` (float, nan for a graph without nodes), ``classwise`` (dict: class
        name -> float, nan for a class without points) and ``classwise_mean`` (the mean
        over the classes that have points; nan if none has).
    """
    labels = _check_labels(labels)
    n_classes = len(label_names) if label_names is not None else None
    cw = classwise_purity(graph, labels, n_classes)
    names = (
        [str(s) for s in label_names]
        if label_names is not None
        else [str(c) for c in range(cw.size)]
    )
    return {
        "nodewise": nodewise_purity(graph, labels),
        "classwise": {name: float(v) for name, v in zip(names, cw, strict=True)},
        "classwise_mean": float(np.nanmean(cw)) if np.any(np.isfinite(cw)) else float("nan"),
    }


def purity_table(graph: dict, labels: Any, label_names: Sequence[str] | None = None):
    """One-row table of :func:`purity_scores`.

    Parameters
    ----------
    graph : dict
        Mapper graph.
    labels : array-like of int, shape (N,)
        Class id of every point.
    label_names : sequence of str, optional
        Column names of the classes (default ``str(class_id)``).

    Returns
    -------
    pandas.DataFrame
        Columns ``nodewise``, one column per class (class-wise purity) and
        ``classwise_mean`` (mean over the classes that have points).
    """
    import pandas as pd

    scores = purity_scores(graph, labels, label_names)
    row = {"nodewise": scores["nodewise"], **scores["classwise"]}
    row["classwise_mean"] = scores["classwise_mean"]
    return pd.DataFrame([row])
