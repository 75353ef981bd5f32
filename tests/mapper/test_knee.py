"""The approximate knee (cnntopo.mapper.graph, ``knn_method="approx"``) against the exact one.

The approximate knee resolves the exact tail of the sorted 1-NN distance curve (bucketed
upper bounds, exact searches in decreasing bound) and samples its bulk; on clustered ReLU
clouds it must give the exact knee (within 1 %), be deterministic for a seed and
independent of the thread count.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnntopo.mapper import graph


def _clustered_relu(n: int, d: int, seed: int, n_clusters: int = 10) -> np.ndarray:
    """ReLU'd Gaussian clusters of Dirichlet(0.5) sizes and log-uniform scales, float32."""
    rng = np.random.default_rng(seed)
    sizes = 1 + rng.multinomial(n - n_clusters, rng.dirichlet(np.full(n_clusters, 0.5)))
    scales = np.exp(rng.uniform(np.log(0.2), np.log(2.0), size=n_clusters))
    parts = []
    for m, s in zip(sizes, scales, strict=True):
        w = rng.normal(size=(6, d)) / np.sqrt(6)
        pre = rng.normal(size=d) + s * rng.normal(size=(m, 6)) @ w
        parts.append(np.maximum(pre + 0.05 * rng.normal(size=(m, d)), 0))
    return np.concatenate(parts)[rng.permutation(n)].astype(np.float32)


CLOUDS = [(20_000, 64, 0), (20_000, 128, 1), (24_000, 96, 2)]


@pytest.fixture(scope="module", params=CLOUDS, ids=lambda c: f"{c[0]}x{c[1]}-seed{c[2]}")
def cloud(request):
    n, d, seed = request.param
    X = _clustered_relu(n, d, seed)
    return X, graph._nn_distances(X, "exact", 0, 1)


def test_sampled_knee_is_within_one_percent_of_the_exact(cloud):
    X, exact_d = cloud
    exact = graph._knee_of(exact_d)
    curve, info = graph._approx_nn_curve(X, 0, 1)
    approx = graph._knee_of(curve)
    assert exact[1] == approx[1] == "knee"
    assert abs(approx[0] - exact[0]) <= 0.01 * exact[0], (exact, approx, info)
    # it did not resolve everything: the speed comes from the tail and the sample only
    assert info["certified"] and info["resolved"] < 0.5 * X.shape[0]
    # the tail is the exact curve's top, value for value
    top = np.sort(exact_d)[::-1][: info["tail"]]
    np.testing.assert_allclose(curve[: info["tail"]], top, rtol=1e-6)
    assert np.all(np.diff(curve) <= 0) and curve.size == X.shape[0]


def test_bucket_upper_bounds_are_distances_to_other_points(cloud):
    X, exact_d = cloud
    upper = graph._bucket_upper_bounds(X, np.random.default_rng(3))
    assert upper.shape == exact_d.shape
    assert np.all(upper >= exact_d * (1 - 1e-6))
    # most points find their nearest neighbour in their bucket
    assert np.mean(np.isclose(upper, exact_d, rtol=1e-6)) > 0.5


def test_approx_knee_is_deterministic_and_thread_independent():
    X = _clustered_relu(21_000, 48, 5)
    a, info = graph._approx_nn_curve(X, 4, 1)
    b, _ = graph._approx_nn_curve(X, 4, 2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, graph._approx_nn_curve(X, 4, 1)[0])
    assert graph.knee_eps(X, method="approx", seed=4) == graph._knee_of(a)[0]
    assert info["certified"]


def test_the_bulk_does_not_move_a_certified_knee():
    """Kneedle reads only the exact tail: any bulk below it gives the same knee."""
    X = _clustered_relu(20_000, 64, 7)
    curve, info = graph._approx_nn_curve(X, 0, 1)
    knee, read = graph._kneedle(curve)
    assert info["certified"] and read + 2 < info["tail"]
    other = curve.copy()
    other[info["tail"] : -1] = np.linspace(
        curve[info["tail"]], curve[-1], curve.size - info["tail"] - 1
    )
    assert graph._kneedle(other)[0] == knee


def test_a_cut_off_curve_moves_the_knee_so_the_check_can_fail():
    """The certification is not vacuous: a curve whose exact part ends before the point
    Kneedle reads gives another knee once its bulk changes."""
    X = _clustered_relu(20_000, 64, 7)
    desc = np.sort(graph._nn_distances(X, "exact", 0, 1))[::-1]
    knee, read = graph._kneedle(desc)
    cut = max(read // 2, 1)
    other = desc.copy()
    other[cut:] = np.linspace(desc[cut], desc[-1], desc.size - cut)
    assert graph._kneedle(other)[0] != knee


def test_auto_resolves_by_size_as_documented():
    assert graph.resolve_knn_method("auto", 100_001, 100_000) == "approx"
    assert graph.resolve_knn_method("auto", 100_000, 100_000) == "exact"
    assert graph.resolve_knn_method("auto", 800_000, 100_000) == "approx"
    assert graph.resolve_knn_method("exact", 800_000, 100_000) == "exact"


def test_small_clouds_are_resolved_exactly():
    X = _clustered_relu(2 * graph.APPROX_SAMPLE, 16, 9)
    curve, info = graph._approx_nn_curve(X, 0, 1)
    assert info == {"tail": X.shape[0], "resolved": X.shape[0], "certified": True}
    assert graph._knee_of(curve) == graph._knee_eps(X)
