"""Tests for the representational-similarity measures of cnntopo.ph.similarity.

Every measure is checked against an independent computation: the formulas of the
original papers written out here (explicit centring matrix, explicit loops,
covariance whitening), hand-computed cases and known invariances.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from cnntopo.ph.similarity import (
    MEASURES,
    canonical_correlations,
    cca,
    cca_from_grams,
    centre_gram,
    cka_debiased,
    cka_from_grams,
    cka_linear,
    cka_matrix_from_grams,
    cka_rbf,
    hsic,
    linear_cka,
    linear_gram,
    measure_matrix,
    measure_matrix_from_grams,
    orthogonal_procrustes_distance,
    procrustes,
    procrustes_from_grams,
    pwcca,
    rbf_from_linear_gram,
    rbf_gram,
    svcca,
    svcca_from_grams,
)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _orthogonal(p: int, seed: int = 1) -> np.ndarray:
    q, r = np.linalg.qr(_rng(seed).normal(size=(p, p)))
    return q * np.sign(np.diag(r))


def _pair(n: int = 30, p: int = 6, q: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(seed)
    X = rng.normal(size=(n, p))
    Y = np.tanh(X @ rng.normal(size=(p, q))) + 0.5 * rng.normal(size=(n, q))
    return X, Y


# ---------------------------------------------------------------------------
# reference formulas, written as in the papers
# ---------------------------------------------------------------------------


def _H(n: int) -> np.ndarray:
    return np.eye(n) - np.ones((n, n)) / n


def _hsic_biased_ref(K: np.ndarray, L: np.ndarray) -> float:
    """Gretton et al. 2005: tr(K H L H) / (n - 1)^2."""
    n = K.shape[0]
    H = _H(n)
    return float(np.trace(K @ H @ L @ H)) / (n - 1) ** 2


def _hsic_unbiased_closed_form(K: np.ndarray, L: np.ndarray) -> float:
    """Song et al. 2012, eq. (5), with explicit loops."""
    n = K.shape[0]
    Kt = np.array([[0.0 if i == j else K[i, j] for j in range(n)] for i in range(n)])
    Lt = np.array([[0.0 if i == j else L[i, j] for j in range(n)] for i in range(n)])
    trace = sum(Kt[i, j] * Lt[j, i] for i in range(n) for j in range(n))
    sum_k = sum(Kt[i, j] for i in range(n) for j in range(n))
    sum_l = sum(Lt[i, j] for i in range(n) for j in range(n))
    one_kl_one = sum(Kt[i, j] * Lt[j, m] for i in range(n) for j in range(n) for m in range(n))
    value = trace + sum_k * sum_l / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * one_kl_one
    return value / (n * (n - 3))


def _hsic_unbiased_u_statistic(K: np.ndarray, L: np.ndarray) -> float:
    """The order-4 U-statistic of HSIC = E[k l'] + E[k] E[l] - 2 E[k l''] over distinct tuples."""
    n = K.shape[0]
    total = 0.0
    count = 0
    for i, j, q, r in itertools.permutations(range(n), 4):
        total += K[i, j] * L[i, j] + K[i, j] * L[q, r] - 2.0 * K[i, j] * L[i, q]
        count += 1
    return total / count


def _cka_ref(K: np.ndarray, L: np.ndarray, hsic_fn) -> float:
    return hsic_fn(K, L) / np.sqrt(hsic_fn(K, K) * hsic_fn(L, L))


def _rbf_ref(X: np.ndarray, frac: float, include_self: bool = False) -> np.ndarray:
    d = pdist(X)  # condensed, i < j
    med = np.median(squareform(d)) if include_self else np.median(d)
    sigma = frac * med
    D = squareform(d)
    return np.exp(-(D**2) / (2 * sigma**2))


def _inv_sqrt(S: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh(S)
    return V @ np.diag(w**-0.5) @ V.T


def _cca_ref(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hotelling: singular values of Sxx^-1/2 Sxy Syy^-1/2; also the X canonical weights."""
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Sxx, Syy, Sxy = Xc.T @ Xc, Yc.T @ Yc, Xc.T @ Yc
    Wx = _inv_sqrt(Sxx)
    u, s, _ = np.linalg.svd(Wx @ Sxy @ _inv_sqrt(Syy))
    m = min(X.shape[1], Y.shape[1])
    return s[:m], Wx @ u[:, :m], Xc


def _pwcca_ref(X: np.ndarray, Y: np.ndarray) -> float:
    """Morcos et al. 2018, section 2.2, weights from X (the narrower side here)."""
    rho, A, Xc = _cca_ref(X, Y)
    h = Xc @ A  # canonical variates, columns
    h /= np.linalg.norm(h, axis=0)
    alpha = np.array(
        [sum(abs(h[:, i] @ Xc[:, j]) for j in range(Xc.shape[1])) for i in range(h.shape[1])]
    )
    alpha /= alpha.sum()
    return float(alpha @ rho)


def _centred_orthonormal(n: int, k: int, seed: int = 0) -> np.ndarray:
    """k orthonormal, centred columns of length n."""
    Z = _rng(seed).normal(size=(n, k))
    q, _ = np.linalg.qr(Z - Z.mean(0))
    return q


# ---------------------------------------------------------------------------
# HSIC and CKA
# ---------------------------------------------------------------------------


def test_hsic_biased_matches_explicit_centring():
    X, Y = _pair(12, 5, 3)
    K, L = X @ X.T, Y @ Y.T
    assert hsic(K, L) == pytest.approx(_hsic_biased_ref(K, L), rel=1e-12)
    R = _rbf_ref(Y, 0.5)
    assert hsic(K, R) == pytest.approx(_hsic_biased_ref(K, R), rel=1e-12)


def test_hsic_unbiased_matches_song_closed_form_and_u_statistic():
    X, Y = _pair(8, 3, 2, seed=3)
    K, L = X @ X.T, np.exp(-(squareform(pdist(Y)) ** 2))
    closed = _hsic_unbiased_closed_form(K, L)
    ustat = _hsic_unbiased_u_statistic(K, L)
    assert closed == pytest.approx(ustat, rel=1e-10)  # the two reference forms agree
    assert hsic(K, L, debiased=True) == pytest.approx(closed, rel=1e-10)
    assert hsic(K, K, debiased=True) == pytest.approx(_hsic_unbiased_closed_form(K, K), rel=1e-10)


def test_linear_cka_on_grams_equals_linear_cka_on_features():
    for n, p, q in [(40, 5, 9), (12, 30, 25)]:
        X, Y = _pair(n, p, q, seed=n)
        ref = linear_cka(X, Y)
        # uncentred Grams, centred Grams, and the package's own Gram all give it
        assert cka_from_grams(X @ X.T, Y @ Y.T) == pytest.approx(ref, rel=1e-10)
        assert cka_from_grams(linear_gram(X), linear_gram(Y)) == pytest.approx(ref, rel=1e-10)
        H = _H(n)
        assert cka_from_grams(H @ X @ X.T @ H, Y @ Y.T) == pytest.approx(ref, rel=1e-10)
    assert cka_linear is linear_cka


def test_centre_gram_and_linear_gram():
    X, _ = _pair(10, 4, 2)
    H = _H(10)
    np.testing.assert_allclose(centre_gram(X @ X.T), H @ X @ X.T @ H, atol=1e-12)
    np.testing.assert_allclose(linear_gram(X), H @ X @ X.T @ H, atol=1e-12)
    C = centre_gram(X @ X.T)
    np.testing.assert_allclose(centre_gram(C), C, atol=1e-12)  # idempotent


def test_cka_debiased_matches_song_reference():
    X, Y = _pair(9, 4, 3, seed=5)
    K, L = X @ X.T, Y @ Y.T
    ref = _cka_ref(K, L, _hsic_unbiased_closed_form)
    assert cka_debiased(X, Y) == pytest.approx(ref, rel=1e-10)
    assert cka_from_grams(K, L, debiased=True) == pytest.approx(ref, rel=1e-10)
    assert cka_debiased(Y, X) == pytest.approx(ref, rel=1e-12)
    assert cka_debiased(X, X) == pytest.approx(1.0, abs=1e-12)


def test_debiased_cka_removes_the_small_sample_bias():
    # independent, wide representations of few images: biased CKA is far from 0
    rng = _rng(7)
    X, Y = rng.normal(size=(40, 400)), rng.normal(size=(40, 400))
    assert linear_cka(X, Y) > 0.5
    assert abs(cka_debiased(X, Y)) < 0.1


def test_cka_rbf_matches_kornblith_definition():
    X, Y = _pair(25, 4, 3, seed=9)
    for frac in (0.2, 0.4, 0.8):
        K, L = _rbf_ref(X, frac), _rbf_ref(Y, frac)
        assert cka_rbf(X, Y, frac) == pytest.approx(_cka_ref(K, L, _hsic_biased_ref), rel=1e-10)
        assert cka_rbf(X, Y, frac, debiased=True) == pytest.approx(
            _cka_ref(K, L, _hsic_unbiased_closed_form), rel=1e-9
        )
    Ks = _rbf_ref(X, 0.4, include_self=True)
    np.testing.assert_allclose(rbf_gram(X, 0.4, include_self=True), Ks, rtol=1e-10)
    np.testing.assert_allclose(rbf_gram(X, 0.4), _rbf_ref(X, 0.4), rtol=1e-10)


def test_rbf_gram_from_linear_gram_is_translation_free():
    X, _ = _pair(15, 5, 2)
    ref = _rbf_ref(X, 0.3)
    np.testing.assert_allclose(rbf_from_linear_gram(X @ X.T, 0.3), ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        rbf_from_linear_gram((X + 5.0) @ (X + 5.0).T, 0.3), ref, rtol=1e-8, atol=1e-12
    )


def test_rbf_cka_small_bandwidth_limit():
    # sigma -> 0: K -> I for both, whatever the data, so CKA -> CKA(I, I) = 1
    X, Y = _pair(20, 3, 3, seed=11)
    assert cka_rbf(X, Y, 1e-3) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize(
    "measure",
    [
        cka_linear,
        cka_debiased,
        lambda X, Y: cka_rbf(X, Y, 0.4),
        lambda X, Y: cka_rbf(X, Y, 0.8, debiased=True),
    ],
    ids=["linear", "debiased", "rbf", "rbf-debiased"],
)
def test_cka_invariances(measure):
    rng = _rng(13)
    X = rng.normal(size=(50, 6))
    Y = np.tanh(X @ rng.normal(size=(6, 5))) + 0.3 * rng.normal(size=(50, 5))
    ref = measure(X, Y)
    Q = _orthogonal(6, seed=2)
    assert measure(X @ Q, Y) == pytest.approx(ref, rel=1e-9)
    assert measure(X, 0.02 * Y - 4.0) == pytest.approx(ref, rel=1e-9)
    assert measure(Y, X) == pytest.approx(ref, rel=1e-10)
    assert measure(X, 3.0 * X @ Q + 1.0) == pytest.approx(1.0, abs=1e-9)
    # not invariant to an arbitrary invertible linear map
    A = np.diag([30.0, 1.0, 1.0, 0.2, 1.0, 1.0]) @ _orthogonal(6, seed=4)
    assert np.linalg.matrix_rank(A) == 6
    assert measure(X, X @ A) < 0.95


def test_cka_matrix_from_grams():
    rng = _rng(17)
    reps = [rng.normal(size=(20, p)) for p in (3, 5, 8)]
    reps.append(reps[0] @ rng.normal(size=(3, 4)))
    grams = [r @ r.T for r in reps]
    for debiased in (False, True):
        C = cka_matrix_from_grams(grams, debiased=debiased)
        np.testing.assert_array_equal(np.diag(C), 1.0)
        np.testing.assert_array_equal(C, C.T)
        for i, j in itertools.combinations(range(4), 2):
            ref = cka_from_grams(grams[i], grams[j], debiased=debiased)
            assert C[i, j] == pytest.approx(ref, rel=1e-12)
        cross = cka_matrix_from_grams(grams[:2], grams[1:], debiased=debiased)
        np.testing.assert_allclose(cross, C[:2, 1:], rtol=1e-12)
    C = cka_matrix_from_grams(grams)
    assert C[0, 1] == pytest.approx(linear_cka(reps[0], reps[1]), rel=1e-10)


# ---------------------------------------------------------------------------
# Procrustes
# ---------------------------------------------------------------------------


def test_procrustes_alias_and_rotated_copies():
    assert procrustes is orthogonal_procrustes_distance
    X = _rng(19).normal(size=(30, 5))
    assert procrustes(X, 2.0 * X @ _orthogonal(5, seed=8) - 1.0) == pytest.approx(0.0, abs=1e-12)
    X, Y = _pair()
    assert procrustes(X, Y) == pytest.approx(procrustes(Y, X), rel=1e-12)
    assert procrustes(X, Y) > 0.1


# ---------------------------------------------------------------------------
# CCA family
# ---------------------------------------------------------------------------


def test_canonical_correlations_match_hotelling():
    X, Y = _pair(60, 4, 6, seed=21)
    rho_ref, _, _ = _cca_ref(X, Y)
    np.testing.assert_allclose(canonical_correlations(X, Y), rho_ref, rtol=1e-9)
    np.testing.assert_allclose(canonical_correlations(Y, X), rho_ref, rtol=1e-9)
    assert cca(X, Y) == pytest.approx(rho_ref.mean(), rel=1e-9)
    assert cca(X, Y, statistic="r2") == pytest.approx(np.mean(rho_ref**2), rel=1e-9)


def test_cca_one_dimensional_is_abs_pearson():
    rng = _rng(23)
    x = rng.normal(size=40)
    y = -0.7 * x + rng.normal(size=40)
    r = np.corrcoef(x, y)[0, 1]
    assert cca(x[:, None], y[:, None]) == pytest.approx(abs(r), rel=1e-10)
    assert pwcca(x[:, None], y[:, None]) == pytest.approx(abs(r), rel=1e-10)
    assert svcca(x[:, None], y[:, None]) == pytest.approx(abs(r), rel=1e-10)


def test_cca_hand_computed_subspaces():
    q = _centred_orthonormal(30, 4)
    X = q[:, :2]
    # span(Y) shares q1 with span(X) and is orthogonal otherwise: rho = (1, 0)
    np.testing.assert_allclose(canonical_correlations(X, q[:, [0, 2]]), [1.0, 0.0], atol=1e-12)
    assert cca(X, q[:, [0, 2]]) == pytest.approx(0.5, abs=1e-12)
    # q1 and (q2 + q3)/sqrt(2): rho = (1, 1/sqrt(2))
    Y = np.column_stack([q[:, 0], (q[:, 1] + q[:, 2]) / np.sqrt(2)])
    assert cca(X, Y) == pytest.approx((1 + 1 / np.sqrt(2)) / 2, abs=1e-12)
    assert cca(X, Y, statistic="r2") == pytest.approx(0.75, abs=1e-12)


def test_cca_invariant_to_invertible_linear_maps():
    X, Y = _pair(50, 5, 4, seed=25)
    rng = _rng(26)
    A = rng.normal(size=(5, 5)) + 3 * np.eye(5)
    B = rng.normal(size=(4, 4)) + 3 * np.eye(4)
    assert cca(X @ A + 2.0, Y @ B) == pytest.approx(cca(X, Y), rel=1e-9)
    assert cca(X, X @ A - 1.0) == pytest.approx(1.0, abs=1e-10)
    assert cca(X, Y) == pytest.approx(cca(Y, X), rel=1e-12)


def test_svcca_against_explicit_pca_then_cca():
    rng = _rng(27)
    n = 80
    X = rng.normal(size=(n, 8)) @ np.diag([5, 4, 3, 2, 1, 0.5, 0.2, 0.1])
    Y = np.tanh(X @ rng.normal(size=(8, 6))) + 0.2 * rng.normal(size=(n, 6))

    def pca(Z: np.ndarray, k: int) -> np.ndarray:
        Zc = Z - Z.mean(0)
        w, V = np.linalg.eigh(Zc.T @ Zc)
        return Zc @ V[:, np.argsort(w)[::-1][:k]]

    for k in (1, 3, 5):
        ref = _cca_ref(pca(X, k), pca(Y, k))[0].mean()
        assert svcca(X, Y, k) == pytest.approx(ref, rel=1e-9)
    # keep=1.0 (all variance) is plain CCA
    assert svcca(X, Y, 1.0) == pytest.approx(cca(X, Y), rel=1e-10)


def test_svcca_variance_fraction():
    # both representations with singular values (10, 3, 1, 0.1): variance shares
    # 100, 9, 1, 0.01 of 110.01 -> 0.99 keeps 2 directions, 0.995 keeps 3
    n = 40
    s = np.diag([10.0, 3.0, 1.0, 0.1])
    X = _centred_orthonormal(n, 4, seed=1) @ s @ _orthogonal(4, seed=2)
    Y = _centred_orthonormal(n, 4, seed=3) @ s @ _orthogonal(4, seed=4)
    assert svcca(X, Y, 0.99) == pytest.approx(svcca(X, Y, 2), rel=1e-12)
    assert svcca(X, Y, 0.995) == pytest.approx(svcca(X, Y, 3), rel=1e-12)
    assert svcca(X, Y, 0.99) != pytest.approx(svcca(X, Y, 3), rel=1e-6)
    # orthogonal transforms and isotropic scaling leave SVCCA unchanged
    ref = svcca(X, Y, 0.99)
    assert svcca(X @ _orthogonal(4, seed=5) * 3.0, Y, 0.99) == pytest.approx(ref, rel=1e-9)
    assert svcca(Y, X, 0.99) == pytest.approx(ref, rel=1e-12)


def test_pwcca_matches_morcos_definition():
    X, Y = _pair(70, 3, 6, seed=29)
    ref = _pwcca_ref(X, Y)
    assert pwcca(X, Y) == pytest.approx(ref, rel=1e-9)
    # weights from the narrower side whichever the argument order
    assert pwcca(Y, X) == pytest.approx(ref, rel=1e-12)
    assert 0.0 <= ref <= 1.0
    assert pwcca(X, X @ np.array([[2.0, 1, 0], [0, 1, 0], [1, 0, 3]]) + 1.0) == pytest.approx(
        1.0, abs=1e-10
    )


def test_pwcca_hand_computed_weights():
    # X = [2 q1, q2], Y spans q1, q3, q4: rho = (1, 0); canonical variates of X are
    # q1 and q2, weights |<q1, 2 q1>| + |<q1, q2>| = 2 and 1 -> PWCCA = 2/3
    q = _centred_orthonormal(25, 4, seed=31)
    X = np.column_stack([2.0 * q[:, 0], q[:, 1]])
    Y = q[:, [0, 2, 3]]
    assert pwcca(X, Y) == pytest.approx(2.0 / 3.0, abs=1e-12)
    assert cca(X, Y) == pytest.approx(0.5, abs=1e-12)


# ---------------------------------------------------------------------------
# Gram forms of Procrustes and the CCA family
# ---------------------------------------------------------------------------


def _same_or_both_undefined(gram_form, feature_form) -> bool:
    """Both forms give the same value, or both are undefined for the same reason."""
    from cnntopo.ph.similarity import UndefinedMeasureError

    outcomes = []
    for form in (gram_form, feature_form):
        try:
            outcomes.append(form())
        except UndefinedMeasureError as err:
            outcomes.append(err.reason.split(":")[-1])
    a, b = outcomes
    if isinstance(a, str) or isinstance(b, str):
        assert a == b, outcomes
        return False
    assert a == pytest.approx(b, rel=1e-8)
    return True


@pytest.mark.parametrize(("n", "p", "q"), [(40, 5, 7), (15, 30, 60)])
def test_gram_forms_equal_feature_forms(n, p, q):
    X, Y = _pair(n, p, q, seed=n + p)
    K, L = X @ X.T, (Y + 3.0) @ (Y + 3.0).T  # uncentred, one translated
    assert procrustes_from_grams(K, L) == pytest.approx(procrustes(X, Y), rel=1e-8)
    assert procrustes_from_grams(L, K) == pytest.approx(procrustes(X, Y), rel=1e-8)
    defined = []
    for statistic in ("rho", "r2"):
        defined.append(
            _same_or_both_undefined(
                functools.partial(cca_from_grams, K, L, statistic=statistic),
                functools.partial(cca, X, Y, statistic=statistic),
            )
        )
        for keep in (0.5, 0.9, 0.99, 1, 3):
            defined.append(
                _same_or_both_undefined(
                    functools.partial(svcca_from_grams, K, L, keep, statistic=statistic),
                    functools.partial(svcca, X, Y, keep, statistic=statistic),
                )
            )
    # wide (p >= n - 1): plain CCA is trivially 1, hence undefined; SVCCA with few
    # directions stays defined
    # order: rho then r2, each [cca, svcca keep 0.5, 0.9, 0.99, 1, 3]
    assert defined[0] == defined[6] == (p < n - 1)
    assert all(defined[i] for i in (4, 5, 10, 11))  # 1 or 3 directions: always defined


def test_procrustes_from_grams_rotated_copy_and_schonemann():
    X = _rng(41).normal(size=(20, 6))
    Z = 2.0 * X @ _orthogonal(6, seed=3) + 1.0
    assert procrustes_from_grams(X @ X.T, Z @ Z.T) == pytest.approx(0.0, abs=1e-10)
    # wide flat-like representations (p >> n): the Gram form against Schönemann's
    # explicit minimiser on the feature matrices
    rng = _rng(42)
    A, B = rng.normal(size=(12, 300)), rng.normal(size=(12, 200))
    An = (A - A.mean(0)) / np.linalg.norm(A - A.mean(0))
    Bn = np.hstack([B - B.mean(0), np.zeros((12, 100))])
    Bn /= np.linalg.norm(Bn)
    u, _, vt = np.linalg.svd(Bn.T @ An)
    ref = np.linalg.norm(An - Bn @ (u @ vt)) ** 2
    assert procrustes_from_grams(A @ A.T, B @ B.T) == pytest.approx(ref, rel=1e-8)


def test_cca_is_undefined_for_wide_representations():
    # p >= n - 1: both column spaces are all centred vectors, every correlation is 1
    from cnntopo.ph.similarity import UndefinedMeasureError, canonical_correlations

    rng = _rng(43)
    A, B = rng.normal(size=(10, 50)), rng.normal(size=(10, 9))
    np.testing.assert_allclose(canonical_correlations(A, B), 1.0, atol=1e-10)  # the truth
    for undefined in (
        lambda: cca_from_grams(A @ A.T, B @ B.T),
        lambda: cca(A, B),
        lambda: pwcca(A, B),
        lambda: svcca(A, B, 1.0),
    ):
        with pytest.raises(UndefinedMeasureError, match="trivially|canonical correlation") as err:
            undefined()
        assert "n - 1 = 9" in err.value.reason
    assert svcca_from_grams(A @ A.T, B @ B.T, 2) < 0.99
    # one direction fewer than n - 1: defined again
    assert 0.0 < cca(A[:, :8], B[:, :8]) < 1.0


def test_cca_ignores_linearly_dependent_columns():
    X, Y = _pair(30, 4, 3, seed=44)
    Xd = np.column_stack([X, X[:, 0] - 2 * X[:, 1], np.full(30, 5.0)])
    assert cca(Xd, Y) == pytest.approx(cca(X, Y), rel=1e-9)
    assert 0.0 < pwcca(Xd, Y) <= 1.0


# ---------------------------------------------------------------------------
# registry, conventions, validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MEASURES))
def test_registry_conventions(name):
    measure = MEASURES[name]
    X, Y = _pair(40, 5, 4, seed=33)
    identical = measure.function(X, X)
    value = measure.function(X, Y)
    assert isinstance(value, float)
    if measure.kind == "similarity":
        assert identical == pytest.approx(1.0, abs=1e-9)
        assert value < identical
    else:
        assert measure.kind == "distance"
        assert identical == pytest.approx(0.0, abs=1e-9)
        assert value > identical
    assert measure.function(Y, X) == pytest.approx(value, rel=1e-9)
    if measure.from_grams is not None:
        # the Gram form of the same measure, from uncentred linear Gram matrices
        assert measure.from_grams(X @ X.T, Y @ Y.T) == pytest.approx(value, rel=1e-8, abs=1e-12)
        assert measure.from_grams(X @ X.T, X @ X.T) == pytest.approx(identical, abs=1e-9)


def test_registry_names():
    assert set(MEASURES) == {
        "cka_linear",
        "cka_rbf",
        "cka_debiased",
        "procrustes",
        "cca",
        "svcca",
        "pwcca",
        "rtd",
        "knn_jaccard",
        "mutual_knn",
    }
    assert {n for n, m in MEASURES.items() if m.from_grams is None} == {"pwcca"}


_MATRIX_CASES = [
    ("cka_linear", {}),
    ("cka_debiased", {}),
    ("cka_rbf", {}),
    ("cka_rbf", {"sigma_frac": 0.8, "debiased": True}),
    ("cka_rbf", {"sigma_frac": 0.2, "include_self": True}),
    ("procrustes", {}),
    ("cca", {"statistic": "r2"}),
    ("svcca", {}),
    ("svcca", {"keep": 2, "statistic": "r2"}),
]


@pytest.fixture
def reps():
    rng = _rng(51)
    base = rng.normal(size=(25, 6))
    return [
        base,
        np.tanh(base @ rng.normal(size=(6, 9))) + 0.2 * rng.normal(size=(25, 9)),
        np.maximum(base[:, :4], 0.0) + 0.1 * rng.normal(size=(25, 4)),
        rng.normal(size=(25, 5)),
    ]


@pytest.mark.parametrize(("name", "params"), _MATRIX_CASES)
def test_measure_matrices_agree_with_pairs(name, params, reps):
    measure = MEASURES[name]
    grams = [r @ r.T for r in reps]
    M = measure_matrix(name, reps, **params)
    G = measure_matrix_from_grams(name, grams, **params)
    diagonal = 1.0 if measure.kind == "similarity" else 0.0
    for C in (M, G):
        assert C.shape == (4, 4)
        np.testing.assert_array_equal(np.diag(C), diagonal)
        np.testing.assert_array_equal(C, C.T)
    for i, j in itertools.combinations(range(4), 2):
        ref = measure.function(reps[i], reps[j], **params)
        assert M[i, j] == pytest.approx(ref, rel=1e-12)
        assert G[i, j] == pytest.approx(ref, rel=1e-8, abs=1e-12)
        assert G[i, j] == pytest.approx(measure.from_grams(grams[i], grams[j], **params), rel=1e-9)
    np.testing.assert_allclose(
        measure_matrix_from_grams(name, grams[:2], grams[1:], **params), G[:2, 1:], rtol=1e-9
    )
    np.testing.assert_allclose(measure_matrix(name, reps[:2], reps[1:], **params), M[:2, 1:])


def test_measure_matrix_validation(reps):
    grams = [r @ r.T for r in reps]
    with pytest.raises(ValueError, match="unknown measure"):
        measure_matrix("cosine", reps)
    with pytest.raises(ValueError, match="needs the features"):
        measure_matrix_from_grams("pwcca", grams)
    with pytest.raises(TypeError, match="unexpected parameters"):
        measure_matrix_from_grams("svcca", grams, sigma_frac=0.4)
    with pytest.raises(TypeError, match="no parameters"):
        measure_matrix_from_grams("cka_linear", grams, debiased=True)
    with pytest.raises(TypeError, match="sequence"):
        measure_matrix_from_grams("cca", grams[0])
    with pytest.raises(ValueError, match="same images"):
        measure_matrix_from_grams("cca", [grams[0], grams[1][:5, :5]])
    with pytest.raises(ValueError, match="at least 4 images"):
        measure_matrix_from_grams("cka_debiased", [g[:3, :3] for g in grams])
    assert measure_matrix("pwcca", reps).shape == (4, 4)


def test_validation():
    X, Y = _pair(10, 3, 3)
    with pytest.raises(ValueError, match="at least 4 images"):
        cka_debiased(X[:3], Y[:3])
    with pytest.raises(ValueError, match="symmetric"):
        cka_from_grams(np.triu(X @ X.T) + 1.0, Y @ Y.T)
    with pytest.raises(ValueError, match="square"):
        cka_from_grams(X, Y)
    with pytest.raises(ValueError, match="same images"):
        cka_from_grams(X @ X.T, Y[:8] @ Y[:8].T)
    with pytest.raises(ValueError, match="zero variance"):
        cka_from_grams(np.ones((10, 10)), Y @ Y.T)
    with pytest.raises(ValueError, match="sigma_frac"):
        cka_rbf(X, Y, 0.0)
    with pytest.raises(TypeError, match="sigma_frac"):
        rbf_gram(X, True)
    with pytest.raises(ValueError, match="every pairwise distance is 0"):
        rbf_gram(np.ones((6, 3)))
    with pytest.raises(ValueError, match="keep"):
        svcca(X, Y, 1.5)
    with pytest.raises(ValueError, match="keep"):
        svcca(X, Y, 0)
    with pytest.raises(TypeError, match="keep"):
        svcca(X, Y, "all")
    with pytest.raises(ValueError, match="statistic"):
        cca(X, Y, statistic="mean")
    with pytest.raises(ValueError, match="zero variance"):
        pwcca(np.ones((10, 2)), Y)
    with pytest.raises(ValueError, match="same number of rows"):
        cca(X, Y[:9])
    with pytest.raises(TypeError, match="sequence"):
        cka_matrix_from_grams(X @ X.T)
    with pytest.raises(ValueError, match="empty"):
        cka_matrix_from_grams([])
    with pytest.raises(ValueError, match="same images"):
        cka_matrix_from_grams([X @ X.T, Y[:8] @ Y[:8].T])
    with pytest.raises(ValueError, match="zero variance"):
        procrustes_from_grams(np.ones((10, 10)), Y @ Y.T)
    with pytest.raises(ValueError, match="same images"):
        svcca_from_grams(X @ X.T, Y[:8] @ Y[:8].T)
    with pytest.raises(ValueError, match="keep"):
        svcca_from_grams(X @ X.T, Y @ Y.T, 2.0)


# ---------------------------------------------------------------------------
# external oracle (optional): torch-cka, debiased CKA of Nguyen et al. 2021
# ---------------------------------------------------------------------------


def test_debiased_cka_matches_torch_cka_oracle():
    """torch-cka 0.21 (``pip install torch-cka``, not a requirement) with one batch of all
    images computes unbiased-HSIC CKA of the flattened layer outputs."""
    torch_cka = pytest.importorskip("torch_cka")
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    from cnntopo.ph.representations import centred_gram, flat

    rng = _rng(37)
    n = 24
    a = rng.normal(size=(n, 3, 2, 2)).astype(np.float32)
    b = (np.tanh(a[:, [2, 0, 1, 1]]) + 0.5 * rng.normal(size=(n, 4, 2, 2))).astype(np.float32)

    class Take(torch.nn.Module):
        def __init__(self, part: int) -> None:
            super().__init__()
            self.part = part

        def forward(self, x):
            return (
                x[:, :12].reshape(-1, 3, 2, 2) if self.part == 0 else x[:, 12:].reshape(-1, 4, 2, 2)
            )

    both = torch.from_numpy(np.hstack([a.reshape(n, -1), b.reshape(n, -1)]))
    loader = DataLoader(TensorDataset(both), batch_size=n)
    model1, model2 = torch.nn.Sequential(Take(0)), torch.nn.Sequential(Take(1))
    oracle = torch_cka.CKA(model1, model2, "a", "b", model1_layers=["0"], model2_layers=["0"])
    oracle.compare(loader, loader)
    expected = float(oracle.export()["CKA"][0, 0])

    assert cka_debiased(flat(a), flat(b)) == pytest.approx(expected, rel=1e-4)
    assert cka_from_grams(centred_gram(a, 1), centred_gram(b, 2), debiased=True) == pytest.approx(
        expected, rel=1e-4
    )


def test_rbf_bandwidth_falls_back_to_the_nonzero_median():
    # 8 identical images and 2 others: 29 of the 45 distinct distances are 0, so the
    # median is 0; the bandwidth then uses the median of the 16 non-zero ones
    X = np.vstack([np.zeros((8, 3)), np.ones((1, 3)), np.full((1, 3), 3.0)])
    d = pdist(X)
    assert np.median(d) == 0.0
    sigma = 0.4 * np.median(d[d > 0])
    expected = np.exp(-(squareform(d) ** 2) / (2 * sigma**2))
    np.testing.assert_allclose(rbf_gram(X, 0.4), expected, rtol=1e-12)
    # a median that is not 0 is unchanged (the reference of _rbf_ref)
    Y = _rng(5).normal(size=(12, 4))
    np.testing.assert_allclose(rbf_gram(Y, 0.4), _rbf_ref(Y, 0.4), rtol=1e-10)
