"""Property: the Mapper graph (cnntopo.mapper.mapper_graph) does not depend on point order.

Reordering the points (with their labels) relabels the graph: node ids carry DBSCAN's
cluster numbers, which follow the smallest core point of each cluster, and vertices are
row indices. As a labelled graph up to that relabelling it must be the same: the nodes,
as (cube, set of original point ids), their class counts and mean lens, and the edges
between them.

DBSCAN itself is order dependent in one case only: a border point (not core, within
``eps`` of core points) of two clusters joins the first cluster that reaches it; and a
distance within rounding of ``eps`` may be decided either way. Draws with either are
rejected (``assume``), using a float64 reference of DBSCAN's core points and clusters.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from property_strategies import bounded_floats, cloud, permutation, property_settings
from scipy.sparse.csgraph import connected_components

from cnntopo.mapper import mapper_graph
from cnntopo.mapper.graph import l2norm_lens

#: Relative margin around eps inside which a draw is rejected.
MARGIN = 1e-7


@st.composite
def _mapper_case(draw):
    n = draw(st.integers(10, 40))
    d = draw(st.integers(2, 4))
    X = draw(cloud(n, d))
    labels = np.asarray(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    params = {
        "n_intervals": draw(st.integers(1, 6)),
        "overlap": draw(bounded_floats(0.05, 0.5)),
        "min_samples": draw(st.integers(2, 5)),
    }
    dist = _distances(X)
    positive = dist[np.triu_indices(n, 1)]
    assume(positive.max() > 1e-3)
    # eps between the 10 % and 60 % quantiles of the pairwise distances: a few clusters
    params["eps"] = float(np.quantile(positive, draw(bounded_floats(0.1, 0.6))))
    assume(params["eps"] > 0.0)
    return X, labels, params, draw(permutation(n))


def _distances(X: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix (n, n) in float64."""
    return np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=-1))


def _order_independent(X: np.ndarray, eps: float, min_samples: int, intervals) -> bool:
    """Whether DBSCAN in every cover interval has one answer for every point order.

    The members of each interval are taken as mapper_graph does (``lo <= lens <= hi``
    on the package's lens, which is computed row by row and so is the same in every
    order). Rejects distances near ``eps`` and border points within ``eps`` of the
    core points of two different clusters.
    """
    lens = l2norm_lens(X)
    dist = _distances(X)
    if np.any(np.abs(dist - eps) <= MARGIN * max(eps, 1.0)):
        return False
    for lo, hi in intervals:
        idx = np.flatnonzero((lens >= lo) & (lens <= hi))
        if idx.size < min_samples:
            continue
        near = dist[np.ix_(idx, idx)] <= eps
        core = near.sum(axis=1) >= min_samples  # the point itself counts, as in sklearn
        _, comp = connected_components(near[np.ix_(core, core)], directed=False)
        component = np.full(idx.size, -1)
        component[core] = comp
        for i in np.flatnonzero(~core):
            if np.unique(component[near[i] & core]).size > 1:
                return False
    return True


def _relabelled(graph: dict, ids: np.ndarray):
    """Nodes and edges of ``graph`` with vertex ``v`` renamed ``ids[v]``.

    Returns
    -------
    nodes : Counter
        ``(cube, frozenset of ids, class counts)`` per node.
    edges : set of frozenset
        Each edge as the pair of its nodes' ``(cube, frozenset of ids)``.
    lens : dict
        Mean lens of each node, by ``(cube, frozenset of ids)``.
    """
    key = {}
    nodes = Counter()
    lens = {}
    for node_id, node in graph["nodes"].items():
        cube = node_id.split("_")[0]
        members = frozenset(int(ids[v]) for v in node["vertices"])
        key[node_id] = (cube, members)
        counts = tuple(node["categorical_cols_summary"]["label"].items())
        nodes[(cube, members, counts)] += 1
        lens[key[node_id]] = node["avgs"]["lens"]
    edges = {frozenset((key[a], key[b])) for a, nbrs in graph["edges"].items() for b in nbrs}
    return nodes, edges, lens


@property_settings(max_examples=50)
@given(case=_mapper_case())
def test_mapper_graph_is_invariant_to_the_order_of_the_points(case):
    X, labels, params, order = case
    graph = mapper_graph(X, labels, **params)
    assume(_order_independent(X, params["eps"], params["min_samples"], graph["meta"]["intervals"]))
    np.testing.assert_array_equal(l2norm_lens(X[order]), l2norm_lens(X)[order])
    permuted = mapper_graph(X[order], labels[order], **params)
    assert permuted["meta"]["intervals"] == graph["meta"]["intervals"]
    assert permuted["meta"]["cube_intervals"] == graph["meta"]["cube_intervals"]
    nodes, edges, lens = _relabelled(graph, np.arange(X.shape[0]))
    nodes_p, edges_p, lens_p = _relabelled(permuted, order)
    assert nodes_p == nodes
    assert edges_p == edges
    assert lens_p.keys() == lens.keys()
    for k, value in lens.items():
        assert lens_p[k] == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert permuted["meta"]["n_edges"] == graph["meta"]["n_edges"] == len(edges)
    # in each cube the clusters are disjoint; vertices are sorted row indices
    for g in (graph, permuted):
        for node in g["nodes"].values():
            assert node["vertices"] == sorted(set(node["vertices"]))
