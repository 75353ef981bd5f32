"""Properties of the representational-similarity measures (cnntopo.ph.similarity).

- ``cka_matrix``, ``procrustes_matrix`` and ``measure_matrix(name, reps)`` for every name
  in ``MEASURES`` are symmetric with the right diagonal (1 for similarities, 0 for
  distances), also when the diagonal is really computed (``measure_matrix(name, reps,
  reps)``); the CCA family may be undefined (NaN) only where the widths reach the number
  of images;
- linear, RBF and debiased CKA are invariant to orthogonal transforms, isotropic scaling
  and translation of either input;
- the Procrustes distance is 0 for a rotated, scaled and shifted copy, symmetric, and
  equal to the residual of SciPy's orthogonal Procrustes solution.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from property_strategies import (
    bounded_floats,
    centred_norm,
    cloud,
    orthogonal,
    property_settings,
)
from scipy.linalg import orthogonal_procrustes

from cnntopo.ph.similarity import (
    MEASURES,
    UndefinedMeasureError,
    canonical_correlations,
    cka_debiased,
    cka_matrix,
    cka_rbf,
    linear_cka,
    measure_matrix,
    orthogonal_procrustes_distance,
    procrustes_matrix,
)

ATOL = 1e-9
#: Smallest centred Frobenius norm of a drawn representation (entries are in [-10, 10]):
#: keeps the centring and normalisation well conditioned.
MIN_SPREAD = 1e-2
CCA_FAMILY = ("cca", "svcca", "pwcca")


def _well_spread(X: np.ndarray) -> bool:
    """Non-constant, and no two images with (almost) the same row (RBF bandwidth > 0)."""
    if centred_norm(X) < MIN_SPREAD:
        return False
    diff = X[:, None, :] - X[None, :, :]
    dist = np.sqrt((diff**2).sum(axis=-1))[np.triu_indices(X.shape[0], 1)]
    return float(np.median(dist)) > 1e-3


@st.composite
def _representations(draw, min_count: int = 1, max_count: int = 4):
    """K representations (n, p_k) of the same n images, widths 1..8."""
    n = draw(st.integers(5, 20))
    k = draw(st.integers(min_count, max_count))
    reps = [draw(cloud(n, draw(st.integers(1, 8)))) for _ in range(k)]
    assume(all(_well_spread(X) for X in reps))
    return reps


def _cca_may_be_undefined(p: int, q: int, n: int) -> bool:
    """CCA needs fewer features than images: with ``p + q >= n`` it overfits (trivial 1s).

    The package calls a CCA-family measure undefined where a representation spans all
    ``n - 1`` centred directions (so ``p >= n - 1``); this region contains that one.
    """
    return p + q >= n


#: The k-NN measures' default neighbourhood size (similarity.knn_k).
KNN_K = 10


def _knn_may_be_undefined(X: np.ndarray) -> bool:
    """k-NN sets need more than k other images, and cosine a non-zero centred row."""
    if X.shape[0] <= KNN_K + 1:
        return True
    Xc = X - X.mean(axis=0)
    return bool((np.linalg.norm(Xc, axis=1) < 1e-9 * max(1.0, np.abs(X).max())).any())


def _allowed_undefined(name: str, X: np.ndarray, Y: np.ndarray) -> bool:
    if name in CCA_FAMILY:
        return _cca_may_be_undefined(X.shape[1], Y.shape[1], X.shape[0])
    if name in ("knn_jaccard", "mutual_knn"):
        return _knn_may_be_undefined(X) or _knn_may_be_undefined(Y)
    return False


#: The error of a legitimately undefined measure.
UNDEFINED_ERRORS = (UndefinedMeasureError,)


def _matrix(name: str, reps, others=None):
    """``measure_matrix`` and the reasons it records for NaN entries."""
    notes: dict = {}
    return measure_matrix(name, reps, others, notes=notes), notes


def _pair(name: str, X: np.ndarray, Y: np.ndarray) -> float:
    """``MEASURES[name].function(X, Y)``, NaN where it raises as undefined (allowed there)."""
    try:
        return MEASURES[name].function(X, Y)
    except UNDEFINED_ERRORS:
        assert _allowed_undefined(name, X, Y), (name, X.shape, Y.shape)
        return np.nan


def _defined_mask(name: str, M: np.ndarray, notes, xs, ys, offset: int) -> np.ndarray:
    """Assert NaN only on legitimately undefined pairs, with a recorded reason."""
    defined = np.ones(M.shape, dtype=bool)
    for i, a in enumerate(xs):
        for j, b in enumerate(ys):
            if np.isnan(M[i, j]):
                assert _allowed_undefined(name, a, b), (
                    f"{name} is NaN for widths {a.shape[1]}, {b.shape[1]} of {a.shape[0]} images"
                )
                if notes is not None:
                    keys = {(i, offset + j), (offset + j, i), (j, i), i, offset + j}
                    assert keys & set(notes), f"no reason recorded for NaN at {(i, j)}: {notes}"
                defined[i, j] = False
            else:
                assert np.isfinite(M[i, j]), (name, i, j, M[i, j])
    return defined


def _ranks(reps) -> list[int]:
    return [int(np.linalg.matrix_rank(X - X.mean(axis=0))) for X in reps]


@pytest.mark.parametrize("name", sorted(MEASURES))
@property_settings(max_examples=15)
@given(reps=_representations())
def test_measure_matrix_is_symmetric_with_the_right_diagonal(name, reps):
    measure = MEASURES[name]
    diagonal = 1.0 if measure.kind == "similarity" else 0.0
    K = len(reps)
    M, notes = _matrix(name, reps)  # with a notes dict, undefined entries are NaN
    full, full_notes = _matrix(name, reps, reps)
    assert M.shape == full.shape == (K, K)
    defined = _defined_mask(name, M, notes, reps, reps, offset=0)
    np.testing.assert_array_equal(defined, defined.T)
    np.testing.assert_array_equal(np.where(defined, M, 0.0), np.where(defined, M, 0.0).T)
    np.testing.assert_array_equal(np.diag(M)[np.diag(defined)], diagonal)

    # the full matrix evaluates every measure(X_i, X_j), the diagonal included
    defined_full = _defined_mask(name, full, full_notes, reps, reps, offset=K)
    for i in range(K):
        if defined_full[i, i]:
            assert full[i, i] == pytest.approx(diagonal, abs=ATOL), (name, i)
    ranks = _ranks(reps)
    for i in range(K):
        for j in range(i + 1, K):
            if _allowed_undefined(name, reps[i], reps[j]):
                continue  # CCA overfits: trivial correlations, NaN or any value
            assert defined[i, j] and defined_full[i, j] and defined_full[j, i]
            assert M[i, j] == pytest.approx(full[i, j], abs=ATOL)
            assert _pair(name, reps[i], reps[j]) == pytest.approx(full[i, j], abs=ATOL)
            if name == "pwcca" and not _pwcca_symmetric(reps[i], reps[j], ranks[i], ranks[j]):
                continue
            assert full[i, j] == pytest.approx(full[j, i], abs=ATOL), (name, i, j)


def _pwcca_symmetric(X: np.ndarray, Y: np.ndarray, rank_x: int, rank_y: int) -> bool:
    """Whether PWCCA(X, Y) = PWCCA(Y, X) must hold.

    PWCCA weighs the canonical variates of the side of lower rank (X on ties), so it is
    symmetric for inputs of different rank, provided the canonical variates are unique:
    the canonical correlations must be distinct (a repeated correlation leaves the
    variates free up to a rotation, which changes the absolute-value weights).
    """
    if rank_x == rank_y:
        return False
    rho = canonical_correlations(X, Y)
    return bool(rho.size < 2 or np.min(-np.diff(rho)) > 1e-6)


@property_settings(max_examples=20)
@given(reps=_representations(), method=st.sampled_from(["gram", "feature"]))
def test_cka_matrix_is_symmetric_with_unit_diagonal(reps, method):
    C = cka_matrix(reps, method=method)
    np.testing.assert_array_equal(C, C.T)
    np.testing.assert_array_equal(np.diag(C), 1.0)
    assert np.all((C >= 0.0) & (C <= 1.0))
    full = cka_matrix(reps, reps, method=method)
    np.testing.assert_allclose(np.diag(full), 1.0, rtol=0, atol=ATOL)
    np.testing.assert_allclose(full, full.T, rtol=0, atol=ATOL)
    np.testing.assert_allclose(C, full, rtol=0, atol=ATOL)
    for i, X in enumerate(reps):
        for j, Y in enumerate(reps):
            assert C[i, j] == pytest.approx(linear_cka(X, Y), abs=ATOL)


@property_settings(max_examples=20)
@given(reps=_representations())
def test_procrustes_matrix_is_symmetric_with_zero_diagonal(reps):
    D = procrustes_matrix(reps)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    assert np.all((D >= 0.0) & (D <= 2.0))
    full = procrustes_matrix(reps, reps)
    np.testing.assert_allclose(np.diag(full), 0.0, rtol=0, atol=ATOL)
    np.testing.assert_allclose(full, full.T, rtol=0, atol=ATOL)
    np.testing.assert_allclose(D, full, rtol=0, atol=ATOL)


@st.composite
def _transformed_copy(draw, X: np.ndarray) -> np.ndarray:
    """``s X Q + t``: orthogonal ``Q``, isotropic scale ``s`` in [0.1, 10], shift ``t``."""
    p = X.shape[1]
    Q = draw(orthogonal(p))
    s = draw(bounded_floats(0.1, 10.0))
    t = np.array([draw(bounded_floats(-10.0, 10.0)) for _ in range(p)])
    return s * X @ Q + t


@st.composite
def _pair_and_transforms(draw):
    X, Y = draw(_representations(min_count=2, max_count=2))
    return X, Y, draw(_transformed_copy(X)), draw(_transformed_copy(Y))


CKA_VARIANTS = {
    "linear": linear_cka,
    "rbf": cka_rbf,
    "rbf_sigma_0.8": lambda X, Y: cka_rbf(X, Y, sigma_frac=0.8),
    "debiased": cka_debiased,
}


@pytest.mark.parametrize("variant", sorted(CKA_VARIANTS))
@property_settings(max_examples=20)
@given(case=_pair_and_transforms())
def test_cka_is_invariant_to_orthogonal_maps_scaling_and_translation(variant, case):
    cka = CKA_VARIANTS[variant]
    X, Y, Xt, Yt = case
    value = cka(X, Y)
    assert cka(Xt, Y) == pytest.approx(value, abs=ATOL)
    assert cka(X, Yt) == pytest.approx(value, abs=ATOL)
    assert cka(Xt, Yt) == pytest.approx(value, abs=ATOL)
    assert cka(Y, X) == pytest.approx(value, abs=ATOL)
    # a transformed copy is as similar as the representation itself
    assert cka(X, Xt) == pytest.approx(1.0, abs=ATOL)


@property_settings(max_examples=25)
@given(case=_pair_and_transforms())
def test_procrustes_zero_on_a_rotated_copy_and_symmetric(case):
    X, Y, Xt, _ = case
    assert orthogonal_procrustes_distance(X, Xt) == pytest.approx(0.0, abs=ATOL)
    assert orthogonal_procrustes_distance(Xt, X) == pytest.approx(0.0, abs=ATOL)
    d = orthogonal_procrustes_distance(X, Y)
    assert 0.0 <= d <= 2.0
    assert orthogonal_procrustes_distance(Y, X) == pytest.approx(d, abs=ATOL)
    # rotating either input leaves the distance unchanged
    assert orthogonal_procrustes_distance(Xt, Y) == pytest.approx(d, abs=ATOL)


@property_settings(max_examples=25)
@given(case=_pair_and_transforms())
def test_procrustes_equals_scipy_residual(case):
    """min_Q ||X_n Q - Y_n||_F^2 with SciPy's Q, the narrower side padded with zeros."""
    X, Y, _, _ = case
    p = max(X.shape[1], Y.shape[1])

    def unit(A: np.ndarray) -> np.ndarray:
        Ac = A - A.mean(axis=0)
        Ac = Ac / np.linalg.norm(Ac)
        return np.pad(Ac, ((0, 0), (0, p - A.shape[1])))

    Xn, Yn = unit(X), unit(Y)
    R, _ = orthogonal_procrustes(Xn, Yn)
    residual = float(np.linalg.norm(Xn @ R - Yn) ** 2)
    assert orthogonal_procrustes_distance(X, Y) == pytest.approx(residual, abs=1e-8)
