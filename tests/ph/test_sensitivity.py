"""Tests for cnntopo.ph.sensitivity (the PC-removal sensitivity test, docs/methods.md §8)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from cnntopo.ph.persistence import diagrams
from cnntopo.ph.sensitivity import (
    cka_sensitivity_curve,
    left_singular_vectors,
    pc_removal_counts,
    remove_low_variance_directions,
    sensitivity_curve,
    to_paper_array,
)

N_POINTS = 90
SIGMA = np.array(
    [4.0, 3.5, 3.0, 2.5, 2.0, 1.8, 1.6, 1.4, 1.2, 1.0, 1.0, 0.9, 1e-4, 1e-4, 1e-4, 1e-4]
)


def _orthonormal_columns(rows: int, cols: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(rows, cols)))
    return q * np.sign(np.diag(r))


@pytest.fixture(scope="module")
def known_spectrum():
    """points = Z diag(sigma) Q^T with orthonormal Z, Q: A = points.T = Q diag(sigma) Z^T is an SVD."""
    c = SIGMA.size
    Z = _orthonormal_columns(N_POINTS, c, seed=0)
    Q = _orthonormal_columns(c, c, seed=1)
    points = np.sqrt(N_POINTS) * Z @ np.diag(SIGMA) @ Q.T
    return points.astype(np.float32), np.sqrt(N_POINTS) * SIGMA, Q


@pytest.mark.parametrize("c", [16, 64, 100, 128, 256, 512])
def test_counts_match_the_official_expression(c):
    expected = np.linspace(4, c, c // 4, endpoint=False).astype(int)
    got = pc_removal_counts(c)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, np.linspace(4, c, c // 4, dtype=int, endpoint=False))
    assert got.size == c // 4 and got[0] == 4 and got[-1] < c
    assert np.all(np.diff(got) > 0)


def test_counts_spec_examples():
    np.testing.assert_array_equal(
        pc_removal_counts(64), [4, 7, 11, 15, 19, 22, 26, 30, 34, 37, 41, 45, 49, 52, 56, 60]
    )
    c512 = pc_removal_counts(512)
    assert (c512[0], c512[-1]) == (4, 508)
    # the expression yields c // step = 128 values for c = 512 (not 127)
    assert c512.size == 128
    np.testing.assert_array_equal(pc_removal_counts(20, step=5), [5, 8, 12, 16])


def test_counts_at_width_4_with_step_1_are_unique():
    # the official expression repeats k = 1 here: [1, 1, 2, 3]
    np.testing.assert_array_equal(np.linspace(1, 4, 4, endpoint=False).astype(int), [1, 1, 2, 3])
    np.testing.assert_array_equal(pc_removal_counts(4, step=1), [1, 2, 3])


@pytest.mark.parametrize("step", [1, 2, 3, 4, 5, 8])
def test_counts_are_the_distinct_values_of_the_official_expression(step):
    for c in range(step + 1, 300):
        official = np.linspace(step, c, c // step, endpoint=False).astype(int)
        got = pc_removal_counts(c, step)
        assert np.all(np.diff(got) > 0), (c, step)
        assert set(got.tolist()) == set(official.tolist()), (c, step)
        assert got.size == (c - 1 if step == 1 else c // step), (c, step)


def test_sensitivity_stage_writes_one_row_per_k_at_width_4_step_1(tmp_path):
    from cnntopo.artifacts import write_npz
    from cnntopo.stages.ph.sensitivity import sensitivity_test

    rng = np.random.default_rng(3)
    points = (rng.normal(size=(40, 4)) * [3.0, 2.0, 1.0, 0.5]).astype(np.float32)
    write_npz(tmp_path / "conv1.npz", points=points)
    out = tmp_path / "conv1.csv"
    sensitivity_test(
        [tmp_path / "conv1.npz"],
        [out],
        layers=["conv1"],
        step=1,
        backend="ripser",
        maxdim=1,
        coeff=2,
        dim=1,
        M=20,
    )
    import pandas as pd

    table = pd.read_csv(out)
    assert table["k"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(table["fraction_removed"], [0.25, 0.5, 0.75])
    # every row is its own reduced cloud: removing more directions lowers the CKA
    assert np.all(np.diff(table["cka"].to_numpy()) < 0)
    expected = sensitivity_curve(points, step=1, backend="ripser", M=20)
    np.testing.assert_allclose(table["sw"], expected["sw"])


@pytest.mark.parametrize(("c", "step"), [(4, 4), (3, 4), (64, 0), (64, True), (64, 2.0)])
def test_counts_validation(c, step):
    with pytest.raises(ValueError):
        pc_removal_counts(c, step)


def test_reduced_cloud_keeps_the_top_singular_values(known_spectrum):
    points, sigma, Q = known_spectrum
    U, s = left_singular_vectors(points)
    np.testing.assert_allclose(s, sigma, rtol=1e-5, atol=1e-5)
    # U = Q up to column signs where the singular values are distinct (the first 9)
    np.testing.assert_allclose(np.abs(np.sum(U[:, :9] * Q[:, :9], axis=0)), 1.0, atol=1e-5)
    for k in (4, 7, 10):
        reduced = remove_low_variance_directions(points, k)
        assert reduced.shape == (N_POINTS, SIGMA.size - k)
        assert reduced.dtype == np.float32
        sv = np.linalg.svd(reduced.astype(np.float64), compute_uv=False)
        np.testing.assert_allclose(sv, sigma[: SIGMA.size - k], rtol=1e-5, atol=1e-4)
    # the same result with a precomputed basis; it is points @ U[:, :c-k] (not centred)
    np.testing.assert_array_equal(
        remove_low_variance_directions(points, 5, basis=U),
        remove_low_variance_directions(points, 5),
    )
    np.testing.assert_allclose(
        remove_low_variance_directions(points, 5),
        points.astype(np.float64) @ U[:, :11],
        rtol=1e-6,
        atol=1e-6,
    )


def test_removing_nothing_keeps_pairwise_distances(known_spectrum):
    points, _, _ = known_spectrum
    rotated = remove_low_variance_directions(points, 0)
    assert rotated.shape == points.shape
    np.testing.assert_allclose(pdist(rotated), pdist(points), rtol=1e-5, atol=1e-5)
    # an orthogonal change of basis: the diagrams agree up to float32 rounding of the
    # rotated coordinates (a few ulps per bar end), far below any real removal effect
    ref = diagrams(points, maxdim=1, backend="ripser")[1]
    sw0 = sensitivity_curve(points, counts=[0], backend="ripser")["sw"].iloc[0]
    assert sw0 <= 1e-6 * np.abs(ref).sum()
    assert sw0 <= 2e-5


def test_sw_curve_small_for_tiny_directions_then_grows(known_spectrum):
    points, _, _ = known_spectrum
    curve = sensitivity_curve(points, step=4)
    assert list(curve.columns) == ["k", "fraction_removed", "sw"]
    np.testing.assert_array_equal(curve["k"], [4, 7, 10, 13])
    np.testing.assert_allclose(curve["fraction_removed"], np.array([4, 7, 10, 13]) / 16)
    sw = curve["sw"].to_numpy()
    assert sw[0] < 1e-3  # the four removed directions carry sigma = 1e-4
    assert sw[1] > 50 * max(sw[0], 1e-6)
    assert sw[-1] > sw[1]
    # H0 (finite part) responds too; reference diagrams can be passed in
    h0 = sensitivity_curve(points, counts=[4, 13], maxdim=0, dim=0, backend="ripser")
    assert h0["sw"].iloc[0] < 1e-2 < h0["sw"].iloc[1]


def test_reference_diagram_gives_the_same_curve(known_spectrum):
    points, _, _ = known_spectrum
    ref = diagrams(points, maxdim=1, backend="ripser")[1]
    a = sensitivity_curve(points, counts=[4, 10], backend="ripser")
    b = sensitivity_curve(points, counts=[4, 10], backend="ripser", reference=ref)
    np.testing.assert_allclose(a["sw"], b["sw"], rtol=1e-12, atol=1e-12)


def test_cka_barely_notices_low_variance_removal(known_spectrum):
    points, _, _ = known_spectrum
    curve = cka_sensitivity_curve(points)
    assert list(curve.columns) == ["k", "fraction_removed", "cka"]
    cka = curve["cka"].to_numpy()
    assert cka[0] == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.diff(cka) <= 1e-9)  # removing more never increases similarity here
    assert 0.5 < cka[-1] < 0.99
    assert cka_sensitivity_curve(points, counts=[0])["cka"].iloc[0] == pytest.approx(1.0, abs=1e-6)


def test_to_paper_array(known_spectrum):
    points, _, _ = known_spectrum
    curve = cka_sensitivity_curve(points)
    arr = to_paper_array(curve, value="cka")
    assert arr.shape == (2, 4)
    np.testing.assert_allclose(arr[1], curve["fraction_removed"])
    with pytest.raises(ValueError, match="lacks"):
        to_paper_array(curve, value="sw")


def test_validation(known_spectrum):
    points, _, _ = known_spectrum
    c = points.shape[1]
    with pytest.raises(ValueError, match="k must be"):
        remove_low_variance_directions(points, c)
    with pytest.raises(ValueError, match="k must be"):
        remove_low_variance_directions(points, -1)
    with pytest.raises(ValueError, match="basis"):
        remove_low_variance_directions(points, 1, basis=np.eye(c - 1))
    with pytest.raises(ValueError, match="2-D"):
        remove_low_variance_directions(points[0], 1)
    with pytest.raises(ValueError, match="NaN"):
        left_singular_vectors(np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="counts"):
        sensitivity_curve(points, counts=[c])
    with pytest.raises(ValueError, match="counts"):
        cka_sensitivity_curve(points, counts=[1.5])
    with pytest.raises(ValueError, match="exceeds maxdim"):
        sensitivity_curve(points, maxdim=0, dim=1)
    with pytest.raises(ValueError, match="backend"):
        sensitivity_curve(points, counts=[1], backend="gudhi")


def test_wide_layer_with_few_points():
    """c > N (e.g. 512 channels, few images): the basis is completed to c x c."""
    rng = np.random.default_rng(3)
    points = rng.normal(size=(12, 20)).astype(np.float32)
    U, s = left_singular_vectors(points)
    assert U.shape == (20, 20) and s.shape == (12,)
    np.testing.assert_allclose(U.T @ U, np.eye(20), atol=1e-10)
    reduced = remove_low_variance_directions(points, 4)
    assert reduced.shape == (12, 16)
    np.testing.assert_allclose(pdist(reduced), pdist(points), rtol=1e-5)  # rank 12 <= 16 kept


# ---------------------------------------------------------------------------
# Ding et al.'s grounded test (PC deletion vs linear-probe accuracy)
# ---------------------------------------------------------------------------


def test_deletion_counts_halve_the_kept_components():
    from cnntopo.ph.sensitivity import deletion_counts

    assert deletion_counts(8).tolist() == [4, 6, 7]
    assert deletion_counts(999).tolist()[0] == 499 and deletion_counts(999)[-1] == 998
    assert deletion_counts(1).size == 0  # rank one: nothing to delete
    with pytest.raises(ValueError):
        deletion_counts(0)


def test_deletion_curve_from_the_gram_equals_deletion_in_feature_space():
    """Gram route (principal coordinates) vs explicit PCA deletion of the features."""
    from cnntopo.ph.sensitivity import deletion_curve, linear_probe_accuracy, probe_split
    from cnntopo.ph.similarity import linear_cka, linear_gram, procrustes, svcca

    rng = np.random.default_rng(0)
    n, p = 160, 24
    y = rng.integers(0, 4, n)
    X = rng.normal(size=(n, p)) * np.linspace(3, 0.1, p)
    X[:, :4] += 2 * np.eye(4)[y]
    specs = [
        ("cka_linear", "cka_linear", {}),
        ("procrustes", "procrustes", {}),
        ("svcca", "svcca", {"keep": 0.99}),
        ("pwcca", "pwcca", {}),
    ]
    curve = deletion_curve(linear_gram(X), y, specs, features=X)
    Xc = X - X.mean(axis=0)
    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    train, test = probe_split(y)
    base = linear_probe_accuracy(X, y, train, test)
    for row in curve.itertuples():
        k = row.deleted
        Xk = (U[:, : p - k] * S[: p - k]) @ Vt[: p - k]
        assert row.cka_linear == pytest.approx(1 - linear_cka(X, Xk), abs=1e-9)
        assert row.procrustes == pytest.approx(procrustes(X, Xk), abs=1e-9)
        assert row.svcca == pytest.approx(1 - svcca(X, Xk, keep=0.99), abs=1e-6)
        assert row.pwcca == pytest.approx(0.0, abs=1e-9)  # X_k's span lies in X's
        acc = linear_probe_accuracy(Xk, y, train, test)
        assert abs(row.accuracy - acc) <= 1.0 / len(test) + 1e-12
        assert row.accuracy_drop == pytest.approx(base - row.accuracy)
    assert curve["cka_linear"].is_monotonic_increasing


def test_deletion_curve_ph_columns_are_the_diagram_distances_of_the_pca_deletions():
    """PH of flat / pool in the sensitivity test: SW between the Vietoris-Rips diagrams of
    the original and of the explicitly PCA-deleted features (Ripser and persim called
    here); a circle survives deleting the noise directions and dies when one is left."""
    import persim
    from ripser import ripser

    from cnntopo.ph.sensitivity import deletion_curve
    from cnntopo.ph.similarity import linear_gram

    rng = np.random.default_rng(4)
    n = 60
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    X = np.hstack([3 * np.c_[np.cos(t), np.sin(t)], 0.05 * rng.normal(size=(n, 6))])
    y = (t > np.pi).astype(int)
    ph = [
        {
            "label": "sliced_wasserstein_H1",
            "metric": "sliced_wasserstein",
            "dim": 1,
            "params": {"M": 50},
        },
        {
            "label": "sliced_wasserstein_H0",
            "metric": "sliced_wasserstein",
            "dim": 0,
            "params": {"M": 50},
        },
    ]
    persistence = {"maxdim": 1, "backend": "ripser", "coeff": 2}
    curve = deletion_curve(
        linear_gram(X),
        y,
        [("cka_linear", "cka_linear", {})],
        diagram_measures=ph,
        persistence=persistence,
    )
    assert list(curve.columns[-2:]) == ["sliced_wasserstein_H1", "sliced_wasserstein_H0"]
    Xc = X - X.mean(axis=0)
    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)

    def dgm(Z, dim):
        d = ripser(Z, maxdim=1, coeff=2)["dgms"][dim]
        return d[np.isfinite(d[:, 1])]

    for row in curve.itertuples():
        Xk = (U[:, : 8 - row.deleted] * S[: 8 - row.deleted]) @ Vt[: 8 - row.deleted]
        for dim, value in ((1, row.sliced_wasserstein_H1), (0, row.sliced_wasserstein_H0)):
            ref = persim.sliced_wasserstein(dgm(Xc, dim), dgm(Xk, dim), M=50)
            assert value == pytest.approx(ref, rel=1e-4, abs=1e-6)
    h1 = curve["sliced_wasserstein_H1"].to_numpy()
    assert curve["deleted"].tolist() == [4, 6, 7]
    assert h1[-1] > 5 * h1[0]  # one direction left: the loop is gone
    with pytest.raises(ValueError, match="persistence"):
        deletion_curve(linear_gram(X), y, [], diagram_measures=ph)


def test_spearman_interval_matches_scipy_and_covers_it():
    from scipy.stats import spearmanr

    from cnntopo.ph.sensitivity import spearman_interval

    rng = np.random.default_rng(3)
    x = rng.random(60)
    y = x + 0.3 * rng.random(60)
    groups = np.repeat(np.arange(12), 5)
    rho, low, high, n = spearman_interval(x, y, groups, n_boot=300)
    assert rho == pytest.approx(spearmanr(x, y).statistic) and n == 60
    assert low <= rho <= high <= 1
