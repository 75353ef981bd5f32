"""Tests for cnntopo.ph.sw_kernel (compiled all-pairs sliced Wasserstein, persim semantics)."""

from __future__ import annotations

import numpy as np
import persim
import pytest

from cnntopo.ph.distances import sliced_wasserstein
from cnntopo.ph.sw_kernel import (
    GROUP,
    all_pairs_matrix,
    presort,
    sw_all_pairs,
    sw_cross,
)

REL_TOL = 1e-9
ABS_TOL = 1e-12


def _close_to_persim(value: float, a: np.ndarray, b: np.ndarray, M: int = 50) -> None:
    ref = float(persim.sliced_wasserstein(a, b, M=M))
    assert abs(value - ref) <= max(REL_TOL * abs(ref), ABS_TOL), (value, ref, a.shape, b.shape)


def _diagram(rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
    births = rng.uniform(0.0, 5.0, n)
    dgm = np.column_stack([births, births + rng.exponential(1.0, n)])
    if kind == "diagonal" and n:
        on = rng.random(n) < 0.5
        dgm[on, 1] = dgm[on, 0]
    elif kind == "all_diagonal":
        dgm[:, 1] = dgm[:, 0]
    elif kind == "duplicates" and n:
        dgm = dgm[rng.integers(0, n, n)]
    elif kind == "zero_birth":
        dgm[:, 0] = 0.0
    elif kind == "large":
        dgm *= 1e3
    elif kind == "negative":
        dgm -= 3.0  # births and deaths of both signs (not Rips, but valid input)
    return dgm


KINDS = ("generic", "diagonal", "all_diagonal", "duplicates", "zero_birth", "large", "negative")


def _diagram_set(seed: int, k: int) -> list[np.ndarray]:
    """k diagrams: empties, single points, 0-30 points, and a few 60-120-point ones."""
    rng = np.random.default_rng(seed)
    dgms = [np.zeros((0, 2)), np.array([[0.0, 2.0]]), np.array([[1.0, 1.0]])]
    for i in range(k - len(dgms)):
        n = int(rng.integers(60, 121)) if i % 25 == 0 else int(rng.integers(0, 31))
        dgms.append(_diagram(rng, n, KINDS[i % len(KINDS)]))
    return dgms


@pytest.fixture(scope="module")
def dgms150() -> list[np.ndarray]:
    return _diagram_set(11, 150)


@pytest.fixture(scope="module")
def matrix150(dgms150) -> np.ndarray:
    return sw_all_pairs(dgms150)


def test_matches_persim_pair_by_pair(dgms150, matrix150):
    """Every diagram against several others, and every special diagram against all."""
    K = len(dgms150)
    rng = np.random.default_rng(0)
    pairs = {(i, j) for i in range(3) for j in range(K) if i != j}  # empty / single / diagonal
    for i in range(K):
        for j in rng.choice(K, size=3, replace=False):
            if i != j:
                pairs.add((i, int(j)))
    assert len(pairs) > 800
    for i, j in sorted(pairs):
        _close_to_persim(matrix150[i, j], dgms150[i], dgms150[j])


def test_bit_identical_to_numpy_reference(dgms150, matrix150):
    """The merge kernel visits the same values in the same order as the numpy reference."""
    K = len(dgms150)
    ref = np.zeros((K, K))
    for i in range(K):
        for j in range(i + 1, K):
            ref[i, j] = ref[j, i] = sliced_wasserstein(dgms150[i], dgms150[j])
    np.testing.assert_array_equal(matrix150, ref)


def test_symmetric_zero_diagonal_and_cross_consistent(dgms150, matrix150):
    D = matrix150
    assert D.shape == (150, 150) and D.dtype == np.float64
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    assert np.all(D[np.triu_indices(150, 1)] >= 0)
    X, Y = dgms150[:40], dgms150[40:70]
    # the kernel is exactly symmetric in its arguments, so every route agrees bit for bit
    np.testing.assert_array_equal(sw_cross(X, X), D[:40, :40])
    C = sw_cross(X, Y)
    np.testing.assert_array_equal(C, D[:40, 40:70])
    np.testing.assert_array_equal(sw_cross(Y, X), C.T)


@pytest.mark.parametrize("M", [1, 2, GROUP - 1, GROUP, 7, 12, 50, 53])
def test_any_number_of_directions(M):
    """M need not be a multiple of GROUP: padding directions never enter the sum."""
    dgms = _diagram_set(M, 14)
    D = sw_all_pairs(dgms, M=M)
    for i in range(len(dgms)):
        for j in range(i + 1, len(dgms)):
            assert D[i, j] == sliced_wasserstein(dgms[i], dgms[j], M=M)
    _close_to_persim(D[3, 4], dgms[3], dgms[4], M=M)
    _close_to_persim(D[1, 5], dgms[1], dgms[5], M=M)


def test_threads_and_tiles_do_not_change_the_result(dgms150, matrix150):
    np.testing.assert_array_equal(sw_all_pairs(dgms150, n_threads=2), matrix150)
    np.testing.assert_array_equal(sw_all_pairs(dgms150, n_threads=-1), matrix150)
    pre = presort(dgms150, 50, n_threads=2)
    for tile in (1, 3, 16, 200):
        np.testing.assert_array_equal(all_pairs_matrix(pre, None, 2, tile=tile), matrix150)
    a, b = presort(dgms150[:20]), presort(dgms150[20:33])
    np.testing.assert_array_equal(all_pairs_matrix(a, b, 1, tile=5), matrix150[:20, 20:33])


def test_edge_cases():
    e = np.zeros((0, 2))
    assert sw_all_pairs([]).shape == (0, 0)
    assert sw_cross([], [e]).shape == (0, 1)
    np.testing.assert_array_equal(sw_all_pairs([e]), [[0.0]])
    np.testing.assert_array_equal(sw_all_pairs([e, e, e]), np.zeros((3, 3)))
    one = np.array([[0.0, 2.0]])
    diag = np.array([[1.0, 1.0], [2.5, 2.5], [0.0, 0.0]])
    dup = np.array([[0.5, 1.5]] * 4 + [[1.0, 3.0]] * 3)
    rng = np.random.default_rng(5)
    big = _diagram(rng, 400, "generic")
    cases = [e, one, diag, dup, dup[::-1], big, [[0, 3], [1, 4]], [[2, 2]]]  # incl. integer input
    D = sw_all_pairs(cases)
    for i in range(len(cases)):
        for j in range(len(cases)):
            if i != j:
                _close_to_persim(D[i, j], np.asarray(cases[i]), np.asarray(cases[j]))
    assert D[3, 4] == 0.0  # the order of points does not matter
    assert D[0, 2] > 0  # persim's float32 diagonal: ~1e-8, not 0 (as the reference)


def test_realistic_sizes_match_persim():
    rng = np.random.default_rng(9)
    a = _diagram(rng, 350, "generic")
    b = _diagram(rng, 220, "diagonal")
    D = sw_cross([a], [b])
    _close_to_persim(D[0, 0], a, b)


def test_presort_layout():
    """P lists ascending with a trailing +inf; Q lists reversed after a leading +inf."""
    dgm = np.array([[0.0, 3.0], [1.0, 2.0], [0.5, 4.0]])
    pre = presort([dgm], M=GROUP)
    n = 3
    blk = pre.data.reshape(2, n + 1, GROUP)  # one group
    p, r = blk[0], blk[1]
    assert np.all(np.isinf(p[n])) and np.all(np.isinf(r[0]))
    assert np.all(np.diff(p[:n], axis=0) >= 0)
    assert np.all(np.diff(r[1:], axis=0) <= 0)
    # direction 0 is theta = pi/2: (cos, sin) = (float32(cos(pi/2)) ~ -4.4e-8, 1) -> ~deaths
    np.testing.assert_allclose(p[:n, 0], np.sort(dgm[:, 1]), rtol=1e-6)
    assert pre.sizes.tolist() == [3] and pre.offsets.tolist() == [0] and pre.M == GROUP


def test_validation_errors():
    ok = np.array([[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"diagrams\[1\] has 1 point.*finite_part"):
        sw_all_pairs([ok, np.array([[0.0, np.inf]])])
    with pytest.raises(ValueError, match=r"diagrams_b\[0\] has 1 point"):
        sw_cross([ok], [np.array([[np.nan, 1.0]])])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        sw_all_pairs([np.zeros((2, 3))])
    with pytest.raises(ValueError, match="list of diagrams"):
        sw_all_pairs(np.zeros((4, 2)))
    for bad_M in (0, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            sw_all_pairs([ok], M=bad_M)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="n_threads must be"):
            sw_all_pairs([ok], n_threads=bad)
    with pytest.raises(ValueError, match="different M"):
        all_pairs_matrix(presort([ok], M=5), presort([ok], M=6))
