"""Tests for the Representation Topology Divergence (cnntopo.ph.similarity.rtd).

Truths: RTD is 0 for clouds whose quantile-normalised distance matrices agree (the same
cloud, a rotated, uniformly scaled or shifted copy); it grows as planted clusters merge;
the whole-set value equals the H1 total length of the authors' 2n x 2n matrix built here
with the full R1 blocks and Ripser called directly; the symmetric version is symmetric;
the batched value is the mean over the documented subsets; the Gram form equals the
feature form.
"""

from __future__ import annotations

import numpy as np
import pytest
from ripser import ripser
from scipy.spatial.distance import pdist, squareform

from cnntopo.ph.similarity import (
    GRAM_PREPARATIONS,
    MEASURES,
    UndefinedMeasureError,
    compare,
    linear_gram,
    measure_matrix,
    measure_specs,
)
from cnntopo.ph.similarity.rtd import (
    batch_indices,
    cross_barcode_matrix,
    h1_total_length,
    quantile_normalised,
)
from cnntopo.similarity import rtd, rtd_from_grams


def _orthogonal(p: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(p, p)))
    return q * np.sign(np.diag(r))


@pytest.fixture
def pair():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(70, 6))
    Y = np.tanh(X @ rng.normal(size=(6, 4))) + 0.4 * rng.normal(size=(70, 4))
    return X, Y


def _reference_one_way(X: np.ndarray, Y: np.ndarray) -> float:
    """The authors' construction, written out: full R1 off-diagonal blocks, Ripser H1."""
    D1, D2 = squareform(pdist(X)), squareform(pdist(Y))
    off = ~np.eye(len(X), dtype=bool)
    R1 = D1 / np.quantile(D1[off], 0.9)
    R2 = D2 / np.quantile(D2[off], 0.9)
    n = len(X)
    M = np.zeros((2 * n, 2 * n))
    M[n:, :n] = R1
    M[:n, n:] = R1.T
    M[n:, n:] = np.minimum(R1, R2)
    dgm = ripser(M, maxdim=1, coeff=2, distance_matrix=True, thresh=np.inf)["dgms"][1]
    assert np.all(np.isfinite(dgm))
    return float((dgm[:, 1] - dgm[:, 0]).sum())


def test_whole_set_equals_the_h1_total_length_of_the_authors_matrix(pair):
    X, Y = pair
    forward, backward = _reference_one_way(X, Y), _reference_one_way(Y, X)
    assert forward > 0.1 and backward > 0.1 and forward != pytest.approx(backward, rel=1e-3)
    assert rtd(X, Y, batch_size=None, symmetric=False) == pytest.approx(forward, rel=1e-9)
    assert rtd(Y, X, batch_size=None, symmetric=False) == pytest.approx(backward, rel=1e-9)
    assert rtd(X, Y, batch_size=None) == pytest.approx((forward + backward) / 2, rel=1e-9)
    # batch_size >= n is the whole set too
    assert rtd(X, Y, batch_size=500) == rtd(X, Y, batch_size=None)


def test_the_papers_upper_matrix_gives_the_same_barcode_as_the_full_one(pair):
    X, Y = pair
    R1 = quantile_normalised(squareform(pdist(X)))
    R2 = quantile_normalised(squareform(pdist(Y)))
    upper = cross_barcode_matrix(R1, R2, upper=True)
    full = cross_barcode_matrix(R1, R2, upper=False)
    assert np.isinf(upper).sum() == len(X) * (len(X) - 1)  # the strictly lower triangle, twice
    np.testing.assert_array_equal(upper, upper.T)
    np.testing.assert_array_equal(np.diag(full), 0.0)
    # a_i and a'_i at distance 0, the a block collapsed, the a' block the minimum
    n = len(X)
    np.testing.assert_array_equal(full[np.arange(n), n + np.arange(n)], 0.0)
    np.testing.assert_array_equal(full[:n, :n], 0.0)
    np.testing.assert_array_equal(full[n:, n:], np.minimum(R1, R2))
    assert h1_total_length(upper) == pytest.approx(h1_total_length(full), rel=1e-12)


def test_giotto_backend_agrees_with_ripser_and_the_authors_matrix(pair, monkeypatch):
    import gph

    X, Y = pair
    calls = []
    real = gph.ripser_parallel
    monkeypatch.setattr(gph, "ripser_parallel", lambda *a, **k: calls.append(1) or real(*a, **k))
    forward, backward = _reference_one_way(X, Y), _reference_one_way(Y, X)
    # giotto-ph filters in float32: agreement to float32 rounding, not bit for bit
    value = rtd(X, Y, batch_size=None, backend="giotto")
    assert value == pytest.approx((forward + backward) / 2, rel=1e-5)
    assert len(calls) == 2  # both directions through giotto-ph
    assert rtd(X, Y, batch_size=30, n_batches=3, backend="giotto") == pytest.approx(
        rtd(X, Y, batch_size=30, n_batches=3), rel=1e-5
    )
    R1 = quantile_normalised(squareform(pdist(X)))
    R2 = quantile_normalised(squareform(pdist(Y)))
    upper = cross_barcode_matrix(R1, R2, upper=True)  # +inf entries: edges never added
    assert h1_total_length(upper, "giotto") == pytest.approx(h1_total_length(upper), rel=1e-5)
    with pytest.raises(ValueError, match="backend must be one of"):
        rtd(X, Y, backend="gudhi")
    with pytest.raises(ValueError, match="backend must be one of"):
        h1_total_length(upper, "gudhi")


def test_zero_for_the_same_cloud_and_rotated_scaled_shifted_copies(pair):
    X, _ = pair
    Q = _orthogonal(X.shape[1], seed=5)
    for copy in (X, X @ Q, 3.7 * X, 0.01 * X @ Q + 4.0, X[:, ::-1]):
        assert rtd(X, copy, batch_size=None) == pytest.approx(0.0, abs=1e-9)
        assert rtd(X, copy, batch_size=30, n_batches=3) == pytest.approx(0.0, abs=1e-9)
    # a non-uniform scaling changes the distances, hence RTD
    assert rtd(X, X * np.arange(1, X.shape[1] + 1), batch_size=None) > 0.05


def test_grows_as_planted_clusters_merge():
    rng = np.random.default_rng(11)
    centres = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0], [20.0, 20.0]])
    label = np.repeat(np.arange(4), 15)
    X = rng.normal(size=(60, 2)) + centres[label]

    def merged(target: list[int]) -> np.ndarray:
        # cluster j moved onto the centre of cluster target[j]
        return X - centres[label] + centres[np.asarray(target)[label]]

    values = [
        rtd(X, merged(t), batch_size=None)
        for t in ([0, 1, 2, 3], [0, 0, 2, 3], [0, 0, 2, 2], [0, 0, 0, 0])
    ]
    assert values[0] == pytest.approx(0.0, abs=1e-9)
    assert values[1] > 0.05
    assert np.all(np.diff(values) > 0.05), values


def test_symmetric_version_is_symmetric_and_the_mean_of_both_directions(pair):
    X, Y = pair
    for kw in ({"batch_size": None}, {"batch_size": 40, "n_batches": 4, "seed": 2}):
        both = rtd(X, Y, **kw)
        assert both == rtd(Y, X, **kw)
        forward = rtd(X, Y, symmetric=False, **kw)
        backward = rtd(Y, X, symmetric=False, **kw)
        assert forward != pytest.approx(backward, rel=1e-3)
        assert both == pytest.approx((forward + backward) / 2, rel=1e-12)


def test_batches_are_seeded_subsets_and_the_value_is_their_mean(pair):
    X, Y = pair
    batches = batch_indices(len(X), 25, 4, seed=9)
    assert len(batches) == 4
    for idx in batches:
        assert len(idx) == 25 == len(np.unique(idx)) and idx.max() < len(X)
    again = batch_indices(len(X), 25, 4, seed=9)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    assert not np.array_equal(batch_indices(len(X), 25, 4, seed=10)[0], batches[0])
    expected = np.mean([rtd(X[i], Y[i], batch_size=None) for i in batches])
    assert rtd(X, Y, batch_size=25, n_batches=4, seed=9) == pytest.approx(expected, rel=1e-12)
    assert rtd(X, Y, batch_size=25, n_batches=4, seed=9) != rtd(
        X, Y, batch_size=25, n_batches=4, seed=10
    )
    assert rtd(X, Y) == rtd(X, Y, batch_size=None)  # the default 500 >= 70 images


def test_gram_form_equals_feature_form(pair):
    X, Y = pair
    for kw in ({"batch_size": None}, {"batch_size": 30, "n_batches": 3, "seed": 1}):
        value = rtd(X, Y, **kw)
        assert rtd_from_grams(X @ X.T, Y @ Y.T, **kw) == pytest.approx(value, rel=1e-8)
        assert rtd_from_grams(linear_gram(X), linear_gram(Y), **kw) == pytest.approx(
            value, rel=1e-8
        )
    prepare, pair_value = GRAM_PREPARATIONS["rtd"]({"batch_size": None})
    a, b = prepare(linear_gram(X), "X"), prepare(linear_gram(Y), "Y")
    assert pair_value(a, b) == pytest.approx(rtd(X, Y, batch_size=None), rel=1e-8)


def test_registered_as_a_distance_with_config_params(pair):
    X, Y = pair
    measure = MEASURES["rtd"]
    assert measure.kind == "distance" and measure.function is rtd
    assert measure.from_grams is rtd_from_grams
    spec = measure_specs(
        {"measures": ["rtd"], "rtd": {"batch_size": 40, "n_batches": 2, "seed": 3}}
    )
    assert spec == [
        {
            "label": "rtd",
            "name": "rtd",
            "params": {"batch_size": 40, "n_batches": 2, "seed": 3, "backend": "ripser"},
        }
    ]
    M = measure_matrix("rtd", [X, Y, X @ _orthogonal(6, 1)], **spec[0]["params"])
    assert M[0, 2] == pytest.approx(0.0, abs=1e-9)
    assert M[0, 1] == pytest.approx(rtd(X, Y, **spec[0]["params"]), rel=1e-12)


def test_compare_takes_the_gram_route_on_every_representation(pair):
    X, Y = pair
    spec = {"name": "rtd", "params": {"batch_size": None}}
    features = [(None, X), (None, Y)]
    grams = [(linear_gram(X), None), (linear_gram(Y), None)]
    for reps in (features, grams):
        result = compare(spec, reps)
        assert result.route == "grams" and result.kind == "distance"
        assert result.matrix[0, 1] == pytest.approx(rtd(X, Y, batch_size=None), rel=1e-8)


def test_undefined_and_invalid_inputs(pair):
    X, Y = pair
    with pytest.raises(UndefinedMeasureError, match="zero variance") as err:
        rtd(np.ones((20, 3)), Y[:20], batch_size=None)
    assert err.value.reason == "zero variance after centring (constant representation)"
    mostly = np.vstack([np.zeros((29, 3)), np.ones((1, 3))])  # 93 % of the pairs at 0
    with pytest.raises(UndefinedMeasureError, match="quantile"):
        rtd(mostly, Y[:30], batch_size=None)
    with pytest.raises(UndefinedMeasureError, match="at least 3 images"):
        rtd(X[:2], Y[:2], batch_size=None)
    with pytest.raises(ValueError, match="max_points"):
        rtd(X, Y, batch_size=None, max_points=50)
    with pytest.raises(ValueError, match="n_batches"):
        rtd(X, Y, n_batches=0)
    with pytest.raises(ValueError, match="same number of rows"):
        rtd(X, Y[:50])
    with pytest.raises(TypeError, match="unexpected parameters"):
        GRAM_PREPARATIONS["rtd"]({"k": 3})


def test_an_infinite_h1_bar_is_an_error_not_a_value():
    # a 4-cycle whose diagonals never enter the filtration: an H1 class that never dies
    M = np.array(
        [
            [0.0, 1.0, np.inf, 1.0],
            [1.0, 0.0, 1.0, np.inf],
            [np.inf, 1.0, 0.0, 1.0],
            [1.0, np.inf, 1.0, 0.0],
        ]
    )
    with pytest.raises(RuntimeError, match="infinite H1 bar"):
        h1_total_length(M)
    M[0, 2] = M[2, 0] = M[1, 3] = M[3, 1] = 1.5  # closed by the diagonals at 1.5
    assert h1_total_length(M) == pytest.approx(0.5)
