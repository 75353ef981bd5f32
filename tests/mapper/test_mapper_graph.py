"""Tests for cnntopo.mapper.graph and .dbscan: cover formulas, DBSCAN, eps, graph layout, kmapper oracle."""

from __future__ import annotations

import itertools
import json

import kmapper as km
import numpy as np
import pytest
import tadasets
from sklearn.cluster import DBSCAN
from sklearn.neighbors import NearestNeighbors

from cnntopo.mapper import dbscan
from cnntopo.mapper import graph as mapper
from cnntopo.mapper.graph import (
    cover_intervals,
    dbscan_labels,
    graph_stats,
    graph_to_networkx,
    knee_eps,
    knn_distances,
    l2norm_lens,
    mapper_graph,
    with_predictions,
)


def _blobs(rng, n, d, k=4, spread=4.0, noise=1.0):
    centres = rng.normal(size=(k, d)) * spread
    return centres[rng.integers(0, k, n)] + rng.normal(size=(n, d)) * noise


def _edge_set(graph_edges):
    return {frozenset((a, b)) for a, nbrs in graph_edges.items() for b in nbrs}


@pytest.fixture()
def small_blocks(monkeypatch):
    """Force many distance tiles on small data."""
    monkeypatch.setattr(dbscan, "_TILE", 64)


# --------------------------------------------------------------------------- lens


def test_l2norm_lens_is_minmax_scaled_norm():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 7))
    norms = np.linalg.norm(X, axis=1)
    lens = l2norm_lens(X)
    assert lens.shape == (50,)
    np.testing.assert_allclose(
        lens, (norms - norms.min()) / (norms.max() - norms.min()), atol=1e-15
    )
    assert lens.min() == 0.0 and lens.max() == pytest.approx(1.0)
    # float32 input gives the same lens as its float64 cast
    np.testing.assert_array_equal(
        l2norm_lens(X.astype(np.float32)), l2norm_lens(X.astype(np.float32).astype(float))
    )
    # constant lens -> zeros
    np.testing.assert_array_equal(l2norm_lens(np.ones((5, 3))), np.zeros(5))


def test_l2norm_lens_matches_kmapper_projection():
    rng = np.random.default_rng(1)
    X = np.maximum(rng.normal(size=(200, 16)), 0)
    theirs = km.KeplerMapper().fit_transform(X, projection="l2norm")[:, 0]
    np.testing.assert_allclose(l2norm_lens(X), theirs, rtol=0, atol=1e-15)


# --------------------------------------------------------------------------- cover


def test_paper_cover_hand_numbers_n40_p30():
    iv = cover_intervals(np.array([0.0, 1.0]), 40, 0.3, "paper")
    assert len(iv) == 40
    r = 1 / (2 * (40 - 39 * 0.3))
    assert r == pytest.approx(0.017668, abs=1e-6)
    widths = [hi - lo for lo, hi in iv]
    np.testing.assert_allclose(widths, 0.035336, atol=1e-6)
    centres = np.array([(lo + hi) / 2 for lo, hi in iv])
    np.testing.assert_allclose(np.diff(centres), 0.024735, atol=1e-6)
    assert iv[0][0] == pytest.approx(0.0, abs=1e-15)
    assert iv[-1][1] == pytest.approx(1.0, abs=1e-15)
    # adjacent intervals overlap by 30 % of their width
    np.testing.assert_allclose([iv[k][1] - iv[k + 1][0] for k in range(39)], 0.3 * widths[0])


@pytest.mark.parametrize(
    ("n", "p", "expected"),
    [
        (1, 0.3, [(0.0, 1.0)]),
        (2, 0.5, [(0.0, 2 / 3), (1 / 3, 1.0)]),
        (3, 0.0, [(0.0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1.0)]),
    ],
)
def test_paper_cover_tiny_by_hand(n, p, expected):
    iv = cover_intervals(np.array([0.0, 0.5, 1.0]), n, p, "paper")
    np.testing.assert_allclose(iv, expected, atol=1e-15)


def test_paper_cover_on_shifted_range():
    # [2, 4], n=2, p=0.5: r = 2 / 3, centres 2 + 2/3 and 4 - 2/3
    iv = cover_intervals(np.array([4.0, 2.0, 3.0]), 2, 0.5, "paper")
    np.testing.assert_allclose(iv, [(2.0, 2 + 4 / 3), (4 - 4 / 3, 4.0)])


def test_kmapper_cover_hand_numbers():
    # kmapper: radius R / (2 n (1 - p)), centres linspace(m + R/(2n), M - R/(2n), n)
    iv = cover_intervals(np.array([0.0, 1.0]), 2, 0.5, "kmapper")
    np.testing.assert_allclose(iv, [(0.25 - 0.5, 0.25 + 0.5), (0.75 - 0.5, 0.75 + 0.5)])


def _kmapper_memberships(lens, n, p):
    cov = km.Cover(n_cubes=n, perc_overlap=p)
    data = np.c_[np.arange(lens.size), lens]
    cov.fit(data)
    return [sorted(int(i) for i in cube[:, 0]) for cube in cov.transform(data)]


@pytest.mark.parametrize(
    ("n", "p"), [(1, 0.1), (5, 0.1), (10, 0.3), (10, 0.5), (40, 0.25), (40, 0.3), (13, 0.77)]
)
def test_kmapper_cover_memberships_equal_kmapper(n, p):
    rng = np.random.default_rng(n)
    for lens in (np.linspace(0, 1, 101), rng.random(500), rng.normal(size=300) * 3 + 2):
        ours = [
            m.tolist()
            for m in mapper._interval_members(lens, cover_intervals(lens, n, p, "kmapper"))
        ]
        ours = [m for m in ours if m]  # kmapper drops empty cubes
        assert ours == _kmapper_memberships(lens, n, p)


def test_cover_membership_is_closed():
    # n=2, p=0 on [0, 1]: r = 0.25, intervals [0, 0.5] and [0.5, 1] (exact in binary)
    lens = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    iv = cover_intervals(lens, 2, 0.0, "paper")
    assert iv == [(0.0, 0.5), (0.5, 1.0)]
    members = mapper._interval_members(lens, iv)
    assert [m.tolist() for m in members] == [[0, 1, 2], [2, 3, 4]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_intervals": 0}, "n_intervals"),
        ({"n_intervals": 2.5}, "n_intervals"),
        ({"overlap": 1.0}, "overlap"),
        ({"overlap": -0.1}, "overlap"),
        ({"overlap": 30}, "overlap"),
        ({"cover": "balanced"}, "cover"),
    ],
)
def test_cover_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cover_intervals(np.arange(5.0), **kwargs)


def test_cover_rejects_bad_lens():
    with pytest.raises(ValueError, match="non-finite"):
        cover_intervals(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="empty"):
        cover_intervals(np.array([]))


# --------------------------------------------------------------------------- DBSCAN


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("hit_components", "device"), [(64, None), (0, None), (64, "cpu")])
def test_dbscan_labels_equal_sklearn(seed, hit_components, device, small_blocks, monkeypatch):
    # 0 components: every union lists its pairs; device "cpu": the torch (GPU) code on the CPU
    monkeypatch.setattr(dbscan, "_HIT_COMPONENTS", hit_components)
    rng = np.random.default_rng(seed)
    d = [3, 16, 64, 130][seed]
    X = _blobs(rng, 500, d, k=5, spread=3.0)
    if seed % 2:
        X = np.maximum(X, 0).astype(np.float32)
    nn = NearestNeighbors(n_neighbors=5).fit(X).kneighbors()[0][:, -1]
    for eps in (np.quantile(nn, 0.2), np.quantile(nn, 0.6), np.quantile(nn, 0.95) * 1.5):
        for ms in (1, 6):
            ours = dbscan_labels(X, eps, ms, device=device)
            theirs = DBSCAN(eps=eps, min_samples=ms).fit_predict(X)
            np.testing.assert_array_equal(ours, theirs)


def test_dbscan_labels_duplicates_and_tiny():
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]]), [6, 3, 1], axis=0)
    np.testing.assert_array_equal(
        dbscan_labels(X, 0.5, 5), DBSCAN(eps=0.5, min_samples=5).fit_predict(X)
    )
    np.testing.assert_array_equal(dbscan_labels(X[:1], 1.0, 1), [0])
    assert dbscan_labels(np.empty((0, 3)), 1.0).shape == (0,)
    with pytest.raises(ValueError, match="eps"):
        dbscan_labels(X, 0.0)
    with pytest.raises(ValueError, match="min_samples"):
        dbscan_labels(X, 1.0, 0)


def test_dbscan_device_choice(monkeypatch):
    torch = pytest.importorskip("torch")
    assert dbscan.resolve_device("cpu") is None and dbscan.resolve_device(None) is None
    assert dbscan.resolve_device("cuda") == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert dbscan.resolve_device("auto") is None
    with pytest.raises(ValueError, match="no CUDA device"):
        dbscan_labels(np.zeros((3, 2)), 1.0, device="cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dbscan.resolve_device("auto") == "cuda"


def test_mapper_graph_same_with_the_torch_engine(small_blocks):
    # activation-like data of one interval-rich cloud: numpy and torch (on the CPU) agree
    pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    X = np.maximum(_blobs(rng, 1200, 40, k=4, spread=2.0), 0).astype(np.float32)
    y = rng.integers(0, 3, 1200)
    eps = knee_eps(X)
    kw = dict(n_intervals=6, overlap=0.3, eps=eps)
    assert mapper_graph(X, y, device="cpu", **kw) == mapper_graph(X, y, **kw)


def test_dbscan_border_points_take_smallest_cluster(small_blocks):
    # one border point at distance 1 from two core clusters
    left = np.array([[-1.0 - 0.1 * k, 0.0] for k in range(5)])
    right = np.array([[1.0 + 0.1 * k, 0.0] for k in range(5)])
    for X in (np.r_[[[0.0, 0.0]], right, left], np.r_[right, left, [[0.0, 0.0]]]):
        theirs = DBSCAN(eps=1.0, min_samples=5).fit_predict(X)
        np.testing.assert_array_equal(dbscan_labels(X, 1.0, 5), theirs)


# --------------------------------------------------------------------------- eps


def test_knee_eps_matches_official_expression():
    rng = np.random.default_rng(3)
    X = np.r_[rng.normal(size=(300, 5)), rng.normal(size=(20, 5)) * 8]
    import kneed

    d = NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)[0]
    d = np.sort(d, axis=0)[::-1]
    kl = kneed.KneeLocator(
        d[:, 1], np.linspace(0, 1, len(d)), curve="convex", direction="decreasing"
    )
    assert kl.knee  # this cloud has a knee
    eps = knee_eps(X)
    assert eps == np.round(kl.knee, 3)
    assert mapper._knee_eps(X)[1] == "knee"
    assert eps == round(eps, 3)


def test_knee_eps_equal_distances_uses_median():
    X = np.arange(20.0)[:, None] * 0.25  # every 1-NN distance is 0.25
    assert mapper._knee_eps(X) == (0.25, "median")


def test_knee_eps_no_knee_gives_upper_median(monkeypatch):
    import kneed

    class NoKnee:
        def __init__(self, *args, **kwargs):
            self.knee = None

    monkeypatch.setattr(kneed, "KneeLocator", NoKnee)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(10, 3))
    d = np.sort(NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)[0][:, 1])
    assert mapper._knee_eps(X) == (float(np.round(d[5], 3)), "median")


def test_knn_distances_hand_computed():
    x = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]])
    d, rows = knn_distances(x, 2)  # the point itself counted: the nearest other point
    assert d.tolist() == [1.0, 1.0, 2.0, 3.0, 4.0] and rows.tolist() == [0, 1, 2, 3, 4]
    # 2nd nearest other point: 0 -> 3, 1 -> 2, 3 -> 3, 6 -> 4, 10 -> 7
    assert knn_distances(x, 3)[0].tolist() == [2.0, 3.0, 3.0, 4.0, 7.0]
    assert knn_distances(x, 1)[0].tolist() == [0.0] * 5  # only the point itself
    # duplicates are neighbours at distance 0
    assert knn_distances(np.array([[0.0], [0.0], [5.0]]), 2)[0].tolist() == [0.0, 0.0, 5.0]


def test_knn_distances_match_the_official_expression():
    """get_knn.py: dist = the k nearest distances of every point queried against the points
    (itself included), s_dist = np.sort(dist, axis=0), plotted s_dist[:, k-1]."""
    rng = np.random.default_rng(12)
    X = _blobs(rng, 80, 6).astype(np.float32)
    full = np.sqrt(((X[:, None, :].astype(np.float64) - X[None]) ** 2).sum(-1))
    dist = np.sort(full, axis=1)[:, :5]
    s_dist = np.sort(dist, axis=0)
    d, _ = knn_distances(X, 5)
    np.testing.assert_allclose(d, s_dist[:, 4], rtol=1e-5, atol=1e-5)
    # a query sample: the same per-point distances for the sampled rows, against all points
    d_q, rows = knn_distances(X, 5, queries=30, seed=4)
    expected_rows = np.sort(np.random.default_rng(4).choice(80, size=30, replace=False))
    assert rows.tolist() == expected_rows.tolist()
    np.testing.assert_allclose(d_q, np.sort(dist[rows, 4]), rtol=1e-5, atol=1e-5)
    assert knn_distances(X, 5, queries=500)[1].size == 80  # more queries than points: all
    with pytest.raises(ValueError, match="k"):
        knn_distances(X, 0)
    with pytest.raises(ValueError, match="at least 5 points"):
        knn_distances(X[:4], 5)
    with pytest.raises(ValueError, match="queries"):
        knn_distances(X, 5, queries=0)


def test_with_predictions_prepends_the_correctness_of_each_points_image():
    points = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    correct = np.array([True, False])
    out = with_predictions(points, correct, np.array([0, 1, 0]))
    assert out.dtype == np.float32
    assert out.tolist() == [[1.0, 3.0, 4.0], [0.0, 1.0, 0.0], [1.0, 0.0, 2.0]]
    # the l2 lens of a correct point becomes sqrt(|a|^2 + 1), as in the official CSVs
    assert np.linalg.norm(out[0]) == pytest.approx(np.sqrt(26.0))
    with pytest.raises(ValueError, match="do not match"):
        with_predictions(points, correct, np.array([0, 1]))


def test_knee_eps_duplicates_and_errors():
    X = np.repeat(np.arange(4.0)[:, None], 5, axis=0)  # every point has a duplicate
    assert knee_eps(X) == 0.0
    with pytest.raises(ValueError, match="eps"):
        mapper_graph(X, np.zeros(20, dtype=int), n_intervals=2)
    with pytest.raises(ValueError, match="at least 2"):
        knee_eps(np.ones((1, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        knee_eps(np.array([[0.0], [np.inf]]))


def _activation_like(rng, n, d, n_classes=10):
    """relu(s * (C[y] + noise)): the float32 clouds of benchmarks/bench_mapper.py."""
    centres = np.maximum(rng.normal(size=(n_classes, d)), 0) * 1.5
    y = rng.integers(0, n_classes, n)
    scale = rng.uniform(0.6, 1.4, size=(n, 1))
    return np.maximum(scale * (centres[y] + rng.normal(size=(n, d))), 0).astype(np.float32)


def _held_out_clouds():
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(2026)
    yield "activations 3000 x 64", _activation_like(rng, 3000, 64)
    yield "activations 4000 x 512", _activation_like(rng, 4000, 512)
    yield "activations 6000 x 256", _activation_like(rng, 6000, 256)
    yield "gaussian 4000 x 32", rng.normal(size=(4000, 32)).astype(np.float32)
    yield "blobs 3000 x 16", _blobs(rng, 3000, 16)
    yield "digits 1797 x 64", load_digits().data


def test_approx_knee_eps_is_within_one_percent_of_the_exact():
    for name, X in _held_out_clouds():
        exact = mapper._knee_eps(X)
        approx = mapper._knee_eps(X, method="approx", seed=0)
        assert exact[1] == approx[1] == "knee", name
        assert abs(approx[0] - exact[0]) <= 0.01 * exact[0], (name, exact, approx)


def test_approx_nn_curve_of_a_small_cloud_is_the_exact_curve():
    """Up to 2 * APPROX_SAMPLE points every point is resolved exactly: the curve is the
    exact one, sorted descending, the point itself excluded by index (a duplicate stays
    a neighbour at 0)."""
    rng = np.random.default_rng(7)
    X = _activation_like(rng, 3000, 128)
    X[1] = X[0]  # a duplicate pair
    exact = mapper._nn_distances(X, "exact", 0, 1)
    approx = mapper._nn_distances(X, "approx", 5, 1)
    assert approx.shape == exact.shape == (3000,)
    np.testing.assert_allclose(approx, np.sort(exact)[::-1], rtol=1e-6, atol=1e-6)
    # the duplicates are each other's neighbour (0 up to the GEMM's rounding, as exact)
    assert np.all(approx[-2:] < 1e-5) and np.all(approx[:-2] > 1e-2)


def test_approx_knee_eps_is_deterministic_and_thread_independent():
    rng = np.random.default_rng(8)
    X = _activation_like(rng, 2000, 64)
    a = mapper._nn_distances(X, "approx", 3, 1)
    np.testing.assert_array_equal(a, mapper._nn_distances(X, "approx", 3, 2))
    np.testing.assert_array_equal(a, mapper._nn_distances(X, "approx", 3, 1))
    assert knee_eps(X, method="approx", seed=3, n_jobs=2) == knee_eps(X, method="approx", seed=3)
    with pytest.raises(ValueError, match="k-NN method"):
        knee_eps(X, method="auto")


def test_approx_knn_distances():
    rng = np.random.default_rng(9)
    X = _activation_like(rng, 2000, 64)
    for k in (2, 5, 40):
        exact, rows = knn_distances(X, k)
        approx, rows_a = knn_distances(X, k, method="approx", seed=1)
        assert rows_a.tolist() == rows.tolist()
        assert np.all(approx >= exact - 1e-4 * exact.max())  # sorted, so rank by rank
        assert np.median(np.abs(approx - exact) / exact) < 1e-3, k
    x = np.array([[0.0], [1.0], [3.0], [6.0], [10.0]])
    assert knn_distances(x, 3, method="approx")[0].tolist() == [2.0, 3.0, 3.0, 4.0, 7.0]
    assert knn_distances(x, 1, method="approx")[0].tolist() == [0.0] * 5
    d_q, rows = knn_distances(X, 5, queries=30, seed=4, method="approx")
    expected_rows = np.sort(np.random.default_rng(4).choice(2000, size=30, replace=False))
    assert rows.tolist() == expected_rows.tolist() and d_q.size == 30
    with pytest.raises(ValueError, match="k-NN method"):
        knn_distances(X, 5, method="nndescent")


def test_resolve_knn_method():
    assert mapper.resolve_knn_method("auto", 100_001, 100_000) == "approx"
    assert mapper.resolve_knn_method("auto", 100_000, 100_000) == "exact"
    assert mapper.resolve_knn_method("exact", 10**6, 1) == "exact"
    assert mapper.resolve_knn_method("approx", 10, 10**6) == "approx"
    with pytest.raises(ValueError, match="k-NN method"):
        mapper.resolve_knn_method("fast", 10, 10)


def test_mapper_graph_records_the_knn_method():
    rng = np.random.default_rng(10)
    X = _blobs(rng, 600, 8)
    y = rng.integers(0, 3, 600)
    exact = mapper_graph(X, y, n_intervals=5)["meta"]
    approx = mapper_graph(X, y, n_intervals=5, knn_method="approx", seed=4)["meta"]
    given = mapper_graph(X, y, n_intervals=5, eps=1.0, knn_method="approx")["meta"]
    assert (exact["knn_method"], exact["knn_seed"]) == ("exact", None)
    assert (approx["knn_method"], approx["knn_seed"]) == ("approx", 4)
    assert approx["eps"] == knee_eps(X, method="approx", seed=4)
    assert abs(approx["eps"] - exact["eps"]) <= 0.01 * exact["eps"]
    assert (given["knn_method"], given["knn_seed"]) == (None, None)
    with pytest.raises(ValueError, match="k-NN method"):
        mapper_graph(X, y, knn_method="auto")


# --------------------------------------------------------------------------- oracle


def _datasets():
    rng = np.random.default_rng(7)
    blobs = _blobs(rng, 800, 8, k=4, spread=3.0)
    circle = tadasets.dsphere(n=600, d=1, r=1.0, noise=0.05, seed=3) + np.array([2.5, 0.0])
    # activation-like, with sparse extremes (skipped small intervals) and a lens gap
    act = np.maximum(_blobs(rng, 600, 32, k=3, spread=2.0), 0)
    act[:8] *= 3.0
    act[8:12] *= 6.0
    return {"blobs": blobs, "circle": circle, "activations": act}


@pytest.mark.parametrize("name", ["blobs", "circle", "activations"])
@pytest.mark.parametrize(("n", "p"), [(10, 0.3), (25, 0.5), (40, 0.25)])
def test_graph_equals_kmapper(name, n, p):
    X = _datasets()[name]
    lens = l2norm_lens(X)
    eps = knee_eps(X) * 1.5
    labels = np.arange(X.shape[0]) % 3
    ours = mapper_graph(X, labels, lens=lens, n_intervals=n, overlap=p, eps=eps, cover="kmapper")
    theirs = km.KeplerMapper().map(
        lens[:, None], X, cover=km.Cover(n, p), clusterer=DBSCAN(eps=eps, min_samples=5)
    )
    assert {k: frozenset(v["vertices"]) for k, v in ours["nodes"].items()} == {
        k: frozenset(v) for k, v in theirs["nodes"].items()
    }
    assert list(ours["nodes"]) == list(theirs["nodes"])
    assert _edge_set(ours["edges"]) == _edge_set(theirs["links"])
    assert ours["edges"] == dict(theirs["links"])  # same adjacency-list layout and order


def test_oracle_datasets_exercise_skips_noise_and_gaps():
    X = _datasets()["activations"]
    lens = l2norm_lens(X)
    members = mapper._interval_members(lens, cover_intervals(lens, 40, 0.25, "kmapper"))
    sizes = [m.size for m in members]
    assert 0 in sizes  # empty interval: cube numbering skips it
    assert any(0 < s < 5 for s in sizes)  # small interval: skipped
    g = mapper_graph(
        X,
        np.zeros(len(X), int),
        lens=lens,
        n_intervals=40,
        overlap=0.25,
        eps=knee_eps(X) * 1.5,
        cover="kmapper",
    )
    covered = graph_stats(g)["n_points_covered"]
    assert covered < len(X)  # some DBSCAN noise or skipped points
    assert g["meta"]["cube_intervals"] != list(range(len(g["meta"]["cube_intervals"])))


# --------------------------------------------------------------------------- truths


def test_noisy_offset_circle_gives_one_cycle():
    X = tadasets.dsphere(n=1500, d=1, r=1.0, noise=0.02, seed=1) + np.array([3.0, 0.0])
    g = mapper_graph(X, np.zeros(len(X), int), n_intervals=12, overlap=0.3, eps=0.15)
    s = graph_stats(g)
    assert s["n_components"] == 1
    assert s["n_edges"] - s["n_nodes"] + s["n_components"] == 1  # first Betti number of the graph
    # intervals in the middle of the lens range see the two arcs as two clusters
    assert max(sum(1 for k in g["nodes"] if k.startswith(f"cube{i}_")) for i in range(12)) == 2


def test_two_blobs_same_norm_give_two_components():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(300, 2)) * 0.3 + [10.0, 0.0]
    b = rng.normal(size=(300, 2)) * 0.3 + [0.0, 10.0]
    X = np.r_[a, b]
    y = np.r_[np.zeros(300, int), np.ones(300, int)]
    g = mapper_graph(X, y, n_intervals=5, overlap=0.3, eps=0.5, label_names=["a", "b"])
    assert graph_stats(g)["n_components"] == 2
    for node in g["nodes"].values():
        assert len(node["categorical_cols_summary"]["label"]) == 1  # each node is pure


def test_single_blob_is_connected():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(800, 5)) + 10
    g = mapper_graph(X, np.zeros(800, int), n_intervals=8, overlap=0.3, eps=2.0)
    s = graph_stats(g)
    assert s["n_components"] == 1 and s["n_nodes"] >= 8


def test_nodes_cover_exactly_the_non_noise_points_and_edges_are_shared_points():
    X = _datasets()["blobs"]
    y = np.arange(len(X)) % 4
    eps, ms = knee_eps(X) * 1.2, 5
    g = mapper_graph(X, y, n_intervals=15, overlap=0.3, eps=eps, cover="paper")
    lens = l2norm_lens(X)
    members = mapper._interval_members(lens, cover_intervals(lens, 15, 0.3, "paper"))
    cube_of = g["meta"]["cube_intervals"]
    for i, k in enumerate(cube_of):
        idx = members[k]
        nodes_i = [v["vertices"] for key, v in g["nodes"].items() if key.startswith(f"cube{i}_")]
        union = sorted(itertools.chain.from_iterable(nodes_i))
        assert len(union) == len(set(union))  # clusters are disjoint within a cube
        expected = (
            idx[DBSCAN(eps=eps, min_samples=ms).fit_predict(X[idx]) >= 0] if idx.size >= ms else []
        )
        assert union == sorted(np.asarray(expected).tolist())
    pairs = {
        frozenset((a, b))
        for (a, va), (b, vb) in itertools.combinations(g["nodes"].items(), 2)
        if set(va["vertices"]) & set(vb["vertices"])
    }
    assert _edge_set(g["edges"]) == pairs
    names = list(g["nodes"])
    for a, nbrs in g["edges"].items():
        assert all(names.index(a) < names.index(b) for b in nbrs)


def test_output_layout_and_json_round_trip():
    rng = np.random.default_rng(8)
    X = _blobs(rng, 400, 6).astype(np.float32)
    y = rng.integers(0, 3, 400)
    names = ["cat", "dog", "frog"]
    g = mapper_graph(X, y, n_intervals=6, overlap=0.3, label_names=names)
    assert json.loads(json.dumps(g)) == g
    assert g["categorical_cols"] == ["label"] and g["numerical_col_keys"] == ["lens"]
    lens = l2norm_lens(X)
    for key, node in g["nodes"].items():
        assert key.startswith("cube") and "_cluster" in key
        v = node["vertices"]
        assert v == sorted(v) and all(type(i) is int for i in v)
        counts = node["categorical_cols_summary"]["label"]
        expected = {
            names[c]: int(n) for c, n in zip(*np.unique(y[v], return_counts=True), strict=True)
        }
        assert counts == expected  # the node's own members, no zero counts
        assert list(counts.values()) == sorted(counts.values(), reverse=True)
        assert node["avgs"]["lens"] == pytest.approx(float(np.mean(lens[v])))
    meta = g["meta"]
    assert meta["eps_source"] in ("knee", "median") and meta["eps"] == knee_eps(X)
    assert meta["n_nodes"] == len(g["nodes"]) and meta["n_edges"] == len(_edge_set(g["edges"]))
    norms = np.linalg.norm(X.astype(float), axis=1)
    assert meta["lens_min"] == pytest.approx(norms.min()) and meta["lens_max"] == pytest.approx(
        norms.max()
    )
    assert meta["label_names"] == names and meta["lens"] == "l2norm" and meta["cover"] == "paper"
    assert meta["dim"] == 6 and meta["n_points"] == 400 and meta["min_samples"] == 5
    # without names the class keys are str(class id)
    g2 = mapper_graph(X, y, n_intervals=6, overlap=0.3, eps=meta["eps"])
    assert g2["meta"]["eps_source"] == "given"
    for node in g2["nodes"].values():
        assert set(node["categorical_cols_summary"]["label"]) <= {"0", "1", "2"}


def test_custom_lens_used_as_is():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(300, 3))
    f = X[:, 0] * 10 + 100
    g = mapper_graph(X, np.zeros(300, int), lens=f, n_intervals=5, overlap=0.3, eps=1.0)
    assert g["meta"]["lens"] == "custom" and g["meta"]["lens_min"] == f.min()
    node = next(iter(g["nodes"].values()))
    assert node["avgs"]["lens"] == pytest.approx(np.mean(f[node["vertices"]]))
    assert g["meta"]["intervals"][0][0] == pytest.approx(f.min())


def test_networkx_and_stats():
    X = _datasets()["blobs"]
    y = np.arange(len(X)) % 4
    g = mapper_graph(X, y, n_intervals=10, overlap=0.3, eps=knee_eps(X) * 1.5)
    G = graph_to_networkx(g)
    s = graph_stats(g)
    import networkx as nx

    assert G.number_of_nodes() == s["n_nodes"] and G.number_of_edges() == s["n_edges"]
    assert nx.number_connected_components(G) == s["n_components"]
    for key, node in g["nodes"].items():
        assert G.nodes[key]["size"] == len(node["vertices"])
        assert G.nodes[key]["counts"] == node["categorical_cols_summary"]["label"]
        assert G.nodes[key]["lens"] == node["avgs"]["lens"]
    assert s["largest_node_size"] == max(len(v["vertices"]) for v in g["nodes"].values())
    empty = {"nodes": {}, "edges": {}}
    assert graph_stats(empty)["n_nodes"] == 0


def test_result_does_not_depend_on_n_jobs(small_blocks):
    X = np.maximum(_datasets()["activations"], 0).astype(np.float32)
    y = np.arange(len(X)) % 5
    g1 = mapper_graph(X, y, n_intervals=10, overlap=0.3, n_jobs=1)
    g2 = mapper_graph(X, y, n_intervals=10, overlap=0.3, n_jobs=2)
    assert g1 == g2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": np.zeros(5, int)}, "labels"),
        ({"lens": np.zeros(5)}, "lens"),
        ({"lens": "pca"}, "lens"),
        ({"overlap": 30}, "overlap"),
        ({"n_intervals": 0}, "n_intervals"),
        ({"cover": "nope"}, "cover"),
        ({"eps": -1.0}, "eps"),
        ({"min_samples": 0}, "min_samples"),
        ({"labels": -np.ones(20, int)}, "labels"),
        ({"label_names": ["a"]}, "label_names"),
    ],
)
def test_mapper_graph_errors(kwargs, match):
    rng = np.random.default_rng(0)
    args = {"labels": np.arange(20) % 3, "eps": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        mapper_graph(rng.normal(size=(20, 2)), **args)


def test_mapper_graph_rejects_non_finite_and_bad_shapes():
    X = np.ones((10, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        mapper_graph(X, np.zeros(10, int), eps=1.0)
    with pytest.raises(ValueError, match="2-D"):
        mapper_graph(np.ones(10), np.zeros(10, int), eps=1.0)


def test_dbscan_exact_recheck_band(small_blocks, monkeypatch):
    # a huge rounding bound sends most pairs through the float64 re-check: same labels
    monkeypatch.setattr(dbscan, "_U32", 1e-3)
    rng = np.random.default_rng(11)
    X = np.maximum(_blobs(rng, 500, 24, k=3, spread=2.0), 0).astype(np.float32)
    nn = NearestNeighbors(n_neighbors=5).fit(X).kneighbors()[0][:, -1]
    for eps in (np.quantile(nn, 0.5), np.quantile(nn, 0.99) * 2):
        np.testing.assert_array_equal(
            dbscan_labels(X, eps, 5), DBSCAN(eps=eps, min_samples=5).fit_predict(X)
        )


def test_mapper_graph_logs_the_knee_and_interval_progress(monkeypatch):
    """Progress lines (knee search, DBSCAN intervals with an ETA) leave the graph unchanged."""
    import functools

    import cnntopo.mapper.graph as graph_module
    from cnntopo.progress import Progress

    monkeypatch.setattr(graph_module, "Progress", functools.partial(Progress, every=0))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = rng.integers(0, 3, size=300)
    lines = []
    logged = mapper_graph(X, y, n_intervals=6, overlap=0.3, log=lines.append)
    assert logged == mapper_graph(X, y, n_intervals=6, overlap=0.3)
    assert lines[0] == "knee rule: exact nearest-neighbour search of 300 points"
    assert lines[1].startswith(f"knee rule: eps {logged['meta']['eps']} (")
    steps = [line for line in lines[2:] if "point pairs" in line]
    assert len(steps) == 5 and steps[0].startswith("intervals 1/6 | ")
    assert all(" eta " in line for line in steps)
