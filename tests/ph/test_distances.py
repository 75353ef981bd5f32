"""Tests for cnntopo.ph.distances (persim-exact sliced Wasserstein, W_q, bottleneck, pairwise)."""

from __future__ import annotations

import math
import warnings

import gudhi.wasserstein
import numpy as np
import persim
import pytest

from cnntopo.ph.distances import (
    METRICS,
    SW_KERNEL_MIN_PAIRS,
    finite_part,
    pairwise,
    sliced_wasserstein,
)
from cnntopo.ph.persistence import diagrams

REL_TOL = 1e-9
ABS_TOL = 1e-12


def _assert_matches_persim(a: np.ndarray, b: np.ndarray, M: int = 50) -> None:
    ours = sliced_wasserstein(a, b, M=M)
    ref = float(persim.sliced_wasserstein(a, b, M=M))
    assert isinstance(ours, float)
    assert abs(ours - ref) <= max(REL_TOL * abs(ref), ABS_TOL), (ours, ref, a.shape, b.shape)


def _random_diagram(rng: np.random.Generator, n: int, kind: str = "generic") -> np.ndarray:
    births = rng.uniform(0.0, 5.0, n)
    deaths = births + rng.exponential(1.0, n)
    dgm = np.column_stack([births, deaths])
    if kind == "diagonal" and n:
        on_diag = rng.random(n) < 0.5
        dgm[on_diag, 1] = dgm[on_diag, 0]
    elif kind == "duplicates" and n:
        dgm = dgm[rng.integers(0, n, n)]  # many repeated rows
    elif kind == "zero_birth":
        dgm[:, 0] = 0.0  # like H0
    elif kind == "large":
        dgm *= 1e3
    return dgm


def test_matches_persim_on_random_pairs():
    rng = np.random.default_rng(20231)
    kinds = ["generic", "diagonal", "duplicates", "zero_birth", "large"]
    n_pairs = 0
    for i in range(120):
        m, n = rng.integers(0, 45, size=2)
        a = _random_diagram(rng, int(m), kinds[i % len(kinds)])
        b = _random_diagram(rng, int(n), kinds[(i // len(kinds)) % len(kinds)])
        _assert_matches_persim(a, b)
        n_pairs += 1
    assert n_pairs >= 100


@pytest.mark.parametrize("M", [1, 2, 7, 50, 101])
def test_matches_persim_for_other_M(M):
    rng = np.random.default_rng(M)
    a, b = _random_diagram(rng, 30), _random_diagram(rng, 17, "diagonal")
    _assert_matches_persim(a, b, M=M)


def test_matches_persim_on_edge_cases():
    e = np.zeros((0, 2))
    one = np.array([[0.0, 2.0]])
    diag = np.array([[1.0, 1.0], [2.5, 2.5], [0.0, 0.0]])
    dup = np.array([[0.5, 1.5]] * 4 + [[1.0, 3.0]] * 3)
    cases = [
        (e, e),
        (e, one),
        (one, e),
        (diag, e),  # persim's float32 diagonal gives ~1e-8, not 0
        (diag, diag),
        (dup, dup[::-1]),
        (dup, one),
        (np.array([[0, 3], [1, 4]]), np.array([[2, 2]])),  # integer dtype
        (one, one.copy()),
    ]
    for a, b in cases:
        _assert_matches_persim(np.asarray(a), np.asarray(b))


def test_larger_diagrams_match_persim():
    rng = np.random.default_rng(7)
    _assert_matches_persim(_random_diagram(rng, 400), _random_diagram(rng, 250, "diagonal"))


@pytest.mark.parametrize("M", [2, 6, 10, 50])
def test_hand_computed_single_point_vs_empty(M):
    r"""One point (0, 2) against the empty diagram.

    Direction k is phi_k = pi/2 + k*pi/M. The point projects to 2 sin(phi_k); its
    diagonal projection (1, 1) (up to persim's float32 rounding) projects to
    cos(phi_k) + sin(phi_k). So per direction the L1 term is
    |sin phi_k - cos phi_k| = sqrt(2) |sin(phi_k - pi/4)|, and

        SW = sqrt(2)/M * sum_{k=0}^{M-1} |sin(pi/4 + k pi/M)|.

    |sin| has period pi, so the sum only depends on pi/4 mod pi/M, which is
    pi/(2M) when M = 2 (mod 4). With alpha = pi/(2M) all angles alpha + k pi/M lie
    in (0, pi) and sum_k sin(alpha + k pi/M) = sin(alpha + (M-1)pi/(2M)) sin(pi/2) /
    sin(pi/(2M)) = 1/sin(pi/(2M)). Hence SW = sqrt(2) / (M sin(pi/(2M))); for M=50
    that is 0.900464429...; for M=2 it is exactly 1. The float32 direction vectors
    perturb the value at ~1e-7 relative.
    """
    expected = math.sqrt(2.0) / (M * math.sin(math.pi / (2 * M)))
    one = np.array([[0.0, 2.0]])
    empty = np.zeros((0, 2))
    assert sliced_wasserstein(one, empty, M=M) == pytest.approx(expected, rel=1e-6)
    assert sliced_wasserstein(empty, one, M=M) == pytest.approx(expected, rel=1e-6)
    # linear in the scale of the diagram: the point (0, 2d) gives d times the value
    assert sliced_wasserstein(5 * one, empty, M=M) == pytest.approx(5 * expected, rel=1e-6)
    if M == 50:
        assert expected == pytest.approx(0.9004644293, rel=1e-9)


def test_basic_properties():
    rng = np.random.default_rng(3)
    a, b = _random_diagram(rng, 40), _random_diagram(rng, 25)
    assert sliced_wasserstein(a, a) == 0.0
    assert sliced_wasserstein(a, b) == sliced_wasserstein(b, a)
    assert sliced_wasserstein(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0
    assert sliced_wasserstein(a, b) > 0
    # the order of points inside a diagram does not matter
    assert sliced_wasserstein(a[::-1], b) == sliced_wasserstein(a, b)
    # empty input of another shape is an empty diagram
    assert sliced_wasserstein([], a) == sliced_wasserstein(np.zeros((0, 2)), a)


def test_sliced_wasserstein_validation():
    a = np.array([[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        sliced_wasserstein(np.zeros((3, 3)), a)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        sliced_wasserstein(a, np.zeros(4))
    with pytest.raises(ValueError, match="infinite='strip'"):
        sliced_wasserstein(np.array([[0.0, np.inf]]), a)
    with pytest.raises(ValueError, match="infinite or NaN"):
        sliced_wasserstein(a, np.array([[np.nan, 1.0]]))
    for bad_M in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            sliced_wasserstein(a, a, M=bad_M)


def test_finite_part():
    dgm = np.array([[0.0, 1.0], [0.0, np.inf], [0.5, 2.0], [np.nan, 3.0]])
    with pytest.raises(ValueError, match=r"H0 from ripser .* \[0, inf\).*infinite='strip'"):
        finite_part(dgm)
    with pytest.warns(UserWarning, match="dropped 2 non-finite point"):
        out = finite_part(dgm, infinite="strip")
    np.testing.assert_array_equal(out, [[0.0, 1.0], [0.5, 2.0]])
    finite = np.array([[0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when nothing is dropped
        np.testing.assert_array_equal(finite_part(finite, infinite="strip"), finite)
    assert finite_part(np.zeros((0, 2))).shape == (0, 2)
    with pytest.raises(ValueError, match="infinite must be one of"):
        finite_part(finite, infinite="drop")
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        finite_part(np.zeros((2, 3)))


def _diagram_list(seed: int, k: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [_random_diagram(rng, int(rng.integers(0, 30))) for _ in range(k)]


def test_pairwise_symmetric_matrix():
    dgms = _diagram_list(0, 6)
    D = pairwise(dgms)
    assert D.shape == (6, 6) and D.dtype == np.float64
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    for i in range(6):
        for j in range(6):
            assert D[i, j] == sliced_wasserstein(dgms[i], dgms[j])
    # Y given explicitly gives the same numbers
    np.testing.assert_array_equal(pairwise(dgms, dgms), D)


def test_pairwise_rectangular_and_M():
    X, Y = _diagram_list(1, 3), _diagram_list(2, 4)
    D = pairwise(X, Y, M=10)
    assert D.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            ref = float(persim.sliced_wasserstein(X[i], Y[j], M=10))
            assert abs(D[i, j] - ref) <= max(REL_TOL * abs(ref), ABS_TOL)
    np.testing.assert_array_equal(pairwise(Y, X, M=10), D.T)
    assert pairwise([]).shape == (0, 0)
    assert pairwise([], Y).shape == (0, 4)


@pytest.mark.parametrize("metric", ["sliced_wasserstein", "bottleneck"])
@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("shape", ["square", "rectangular"])
def test_pairwise_progress_counts_every_pair_once(metric, n_jobs, shape):
    # 9 diagrams: 36 pairs within (the SW kernel path), 9 x 5 across; bottleneck
    # takes the row loop. The reports rise to exactly the number of pairs computed,
    # and the matrix is the same as without a progress callback.
    X, Y = _diagram_list(3, 9), (None if shape == "square" else _diagram_list(4, 5))
    reports = []
    D = pairwise(X, Y, metric=metric, n_jobs=n_jobs, progress=lambda d, t: reports.append((d, t)))
    total = 9 * 8 // 2 if Y is None else 9 * 5
    assert total >= SW_KERNEL_MIN_PAIRS
    done = [d for d, _ in reports]
    assert {t for _, t in reports} == {total}
    assert done == sorted(done) and done[-1] == total and len(done) == len(set(done))
    np.testing.assert_array_equal(D, pairwise(X, Y, metric=metric, n_jobs=n_jobs))


def test_pairwise_validation():
    dgms = _diagram_list(3, 2)
    with pytest.raises(
        ValueError, match="supported metrics: sliced_wasserstein, wasserstein, bottleneck"
    ):
        pairwise(dgms, metric="landscape")
    with pytest.raises(ValueError, match=r"does not accept parameter\(s\) \['p'\]"):
        pairwise(dgms, p=2)
    with pytest.raises(ValueError, match="positive integer"):
        pairwise([], M=0)
    with pytest.raises(ValueError, match="list of diagrams"):
        pairwise(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="infinite must be one of"):
        pairwise(dgms, infinite="ignore")
    with pytest.raises(ValueError, match=r"X\[1\] has 1 point"):
        pairwise([dgms[0], np.array([[0.0, np.inf]])])
    assert METRICS == ("sliced_wasserstein", "wasserstein", "bottleneck")


def test_pairwise_h0_from_ripser_with_strip():
    rng = np.random.default_rng(5)
    clouds = [rng.normal(size=(40, 3)).astype(np.float32) for _ in range(3)]
    h0s = [diagrams(c, maxdim=0)[0] for c in clouds]
    assert all(np.isinf(h[:, 1]).sum() == 1 for h in h0s)
    with pytest.raises(ValueError, match="infinite='strip'"):
        pairwise(h0s)
    with pytest.warns(UserWarning, match="dropped 1 non-finite point"):
        D = pairwise(h0s, infinite="strip")
    stripped = [h[np.isfinite(h[:, 1])] for h in h0s]
    for i in range(3):
        for j in range(3):
            ref = float(persim.sliced_wasserstein(stripped[i], stripped[j]))
            assert abs(D[i, j] - ref) <= max(REL_TOL * abs(ref), ABS_TOL)
    # persim itself returns nan on the raw H0 (why stripping is required)
    with np.errstate(invalid="ignore"):
        assert np.isnan(persim.sliced_wasserstein(h0s[0], h0s[1]))


# ---------------------------------------------------------------------------
# the all-pairs kernel inside pairwise, n_jobs, Y given vs None
# ---------------------------------------------------------------------------


def test_pairwise_kernel_path_is_bit_identical_to_per_pair():
    """From SW_KERNEL_MIN_PAIRS pairs on pairwise() uses the compiled kernel: same bits."""
    dgms = _diagram_list(7, 12) + [np.zeros((0, 2)), np.array([[1.0, 1.0], [1.0, 1.0]])]
    K = len(dgms)
    assert K * (K - 1) // 2 >= SW_KERNEL_MIN_PAIRS
    D = pairwise(dgms)
    for i in range(K):
        for j in range(K):
            assert D[i, j] == sliced_wasserstein(dgms[i], dgms[j])
    # so the path chosen (kernel for >= 28 pairs, numpy below) never shows in the values
    np.testing.assert_array_equal(pairwise(dgms[:5]), D[:5, :5])
    np.testing.assert_array_equal(pairwise(dgms[:3], dgms[3:5]), D[:3, 3:5])
    np.testing.assert_array_equal(pairwise(dgms[:7], dgms[7:]), D[:7, 7:])
    ref = float(persim.sliced_wasserstein(dgms[0], dgms[1]))
    assert abs(D[0, 1] - ref) <= max(REL_TOL * ref, ABS_TOL)


@pytest.mark.parametrize(
    ("metric", "params"),
    [
        ("sliced_wasserstein", {}),
        ("sliced_wasserstein", {"M": 7}),
        ("wasserstein", {}),
        ("wasserstein", {"order": 2.0, "internal_p": np.inf}),
        ("bottleneck", {}),
    ],
)
def test_n_jobs_and_Y_do_not_change_the_result(metric, params):
    dgms = _diagram_list(8, 10)
    D = pairwise(dgms, metric=metric, **params)
    assert D.shape == (10, 10)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    np.testing.assert_array_equal(pairwise(dgms, metric=metric, n_jobs=2, **params), D)
    np.testing.assert_array_equal(pairwise(dgms, metric=metric, n_jobs=-1, **params), D)
    full = pairwise(dgms, dgms, metric=metric, n_jobs=2, **params)
    iu = np.triu_indices(10, 1)
    np.testing.assert_array_equal(full[iu], D[iu])  # the same calls
    # the lower triangle is metric(X[j], X[i]): GUDHI's solvers may differ in the last bits
    np.testing.assert_allclose(full, D, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(
        pairwise(dgms[:4], dgms[4:], metric=metric, n_jobs=2, **params), full[:4, 4:]
    )


def test_n_jobs_validation():
    dgms = _diagram_list(3, 2)
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="n_jobs must be"):
            pairwise(dgms, n_jobs=bad)
    np.testing.assert_array_equal(pairwise(dgms, n_jobs=1), pairwise(dgms))


# ---------------------------------------------------------------------------
# exact Wasserstein and bottleneck distances
# ---------------------------------------------------------------------------

_EDGE_DIAGRAMS = [
    np.zeros((0, 2)),
    np.array([[0.0, 2.0]]),
    np.array([[1.0, 1.0], [2.5, 2.5]]),  # on the diagonal only
    np.array([[0.5, 1.5]] * 3 + [[1.0, 3.0]] * 2),  # duplicates
    np.array([[0.0, 4.0], [1.0, 4.5], [2.0, 2.0]]),
]


def _small_diagrams(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    kinds = ["generic", "diagonal", "duplicates", "zero_birth"]
    out = [_random_diagram(rng, int(rng.integers(1, 25)), kinds[i % 4]) for i in range(8)]
    return out + _EDGE_DIAGRAMS


def test_wasserstein_matches_persim_and_pot():
    """W1 with the Euclidean ground metric is persim.wasserstein; W_q/L^p equal POT."""
    dgms = _small_diagrams(21)
    D = pairwise(dgms, metric="wasserstein")  # order=1, internal_p=2
    D2 = pairwise(dgms, metric="wasserstein", order=2.0, internal_p=2.0)
    Dinf = pairwise(dgms, metric="wasserstein", order=1.0, internal_p=np.inf)
    for i in range(len(dgms)):
        for j in range(i + 1, len(dgms)):
            a, b = dgms[i], dgms[j]
            ref = persim.wasserstein(a, b)
            assert D[i, j] == pytest.approx(ref, rel=1e-9, abs=1e-12), (i, j)
            for mat, order, p in ((D, 1.0, 2.0), (D2, 2.0, 2.0), (Dinf, 1.0, np.inf)):
                pot = gudhi.wasserstein.wasserstein_distance(a, b, order=order, internal_p=p)
                assert mat[i, j] == pytest.approx(pot, rel=1e-9, abs=1e-12), (i, j, order, p)


def test_bottleneck_matches_persim():
    dgms = _small_diagrams(22)
    # ties and repeated points: gudhi.bottleneck_distance (3.13.0) gets some of these wrong
    rng = np.random.default_rng(23)
    dgms += [np.round(_random_diagram(rng, 6, "duplicates") * 2) / 2 for _ in range(6)]
    D = pairwise(dgms, metric="bottleneck")  # hera, delta=0: exact
    for i in range(len(dgms)):
        for j in range(i + 1, len(dgms)):
            ref = persim.bottleneck(dgms[i], dgms[j])
            assert D[i, j] == pytest.approx(ref, rel=1e-12, abs=1e-12), (i, j)
    approx = pairwise(dgms[:6], metric="bottleneck", delta=0.01)
    np.testing.assert_allclose(approx, D[:6, :6], rtol=0.011)


def test_bottleneck_with_ties_where_gudhi_exact_fails():
    """A case where gudhi.bottleneck_distance(a, b, e=0) returns 1.4621... instead of 1."""
    a = np.array([[2.75632305, 2.88178715], [4.94086957, 5.52254634], [3.1041205, 3.87608887]])
    a = np.vstack([a, [[2.46214877, 3.44495149], [3.3, 3.3]]])
    b = np.array([[0.5, 1.5]] * 3 + [[1.0, 3.0]] * 2)
    # (1, 3) twice: to the diagonal at L-inf cost 1, which nothing beats
    assert pairwise([a], [b], metric="bottleneck")[0, 0] == 1.0
    assert persim.bottleneck(a, b) == 1.0


def test_hand_computed_wasserstein_and_bottleneck():
    r"""Single points, by hand.

    The distance of (b, d) to the diagonal is (d - b)/sqrt(2) in L2 and (d - b)/2
    in L-infinity. (0, 2) vs the empty diagram: W1/L2 = sqrt(2), W1/L-inf = 1,
    W2/L2 = sqrt(2), bottleneck = 1. (0, 4) vs (1, 4.5): matching the points
    costs ||(1, 0.5)||_2 = sqrt(1.25) (L-inf: 1), sending both to the diagonal
    4/sqrt(2) + 3.5/sqrt(2) (L-inf: 2 + 1.75); so W1/L2 = sqrt(1.25), W1/L-inf = 1,
    bottleneck = 1. A point on the diagonal costs nothing.
    """
    e = np.zeros((0, 2))
    one = np.array([[0.0, 2.0]])
    p, q = np.array([[0.0, 4.0]]), np.array([[1.0, 4.5], [3.0, 3.0]])
    X = [one, e, p, q]
    W1 = pairwise(X, metric="wasserstein")
    W1inf = pairwise(X, metric="wasserstein", internal_p=np.inf)
    W2 = pairwise(X, metric="wasserstein", order=2)
    B = pairwise(X, metric="bottleneck")
    assert W1[0, 1] == pytest.approx(math.sqrt(2.0), rel=1e-12)
    assert W1inf[0, 1] == pytest.approx(1.0, rel=1e-12)
    assert W2[0, 1] == pytest.approx(math.sqrt(2.0), rel=1e-12)
    assert B[0, 1] == 1.0
    assert W1[2, 3] == pytest.approx(math.sqrt(1.25), rel=1e-12)
    assert W1inf[2, 3] == pytest.approx(1.0, rel=1e-12)
    assert B[2, 3] == 1.0
    # essential-free empty vs empty, and a diagram against itself
    assert pairwise([e], [e], metric="wasserstein")[0, 0] == 0.0
    assert pairwise([q], [q.copy()], metric="bottleneck")[0, 0] == 0.0


@pytest.mark.parametrize("metric", ["sliced_wasserstein", "wasserstein", "bottleneck"])
def test_infinite_points_for_every_metric(metric):
    finite = np.array([[0.0, 1.0], [0.5, 2.0]])
    h0 = np.array([[0.0, 1.0], [0.0, 1.5], [0.0, np.inf]])
    with pytest.raises(ValueError, match=r"Y\[0\] has 1 point.*infinite='strip'"):
        pairwise([finite], [h0], metric=metric)
    with pytest.raises(ValueError, match="infinite or NaN"):
        pairwise([finite, np.array([[np.nan, 1.0]])], metric=metric)
    with pytest.warns(UserWarning, match="dropped 1 non-finite point"):
        D = pairwise([finite], [h0], metric=metric, infinite="strip")
    np.testing.assert_array_equal(D, pairwise([finite], [h0[:2]], metric=metric))
    # persim's wasserstein/bottleneck drop the point silently; the value agrees
    if metric == "wasserstein":
        with pytest.warns(UserWarning, match="non-finite death"):
            assert D[0, 0] == pytest.approx(persim.wasserstein(finite, h0), rel=1e-9)
    elif metric == "bottleneck":
        with pytest.warns(UserWarning, match="non-finite death"):
            assert D[0, 0] == pytest.approx(persim.bottleneck(finite, h0), rel=1e-12)


def test_wasserstein_and_bottleneck_shapes():
    X = _diagram_list(4, 3)
    for metric in ("wasserstein", "bottleneck"):
        assert pairwise([], metric=metric).shape == (0, 0)
        assert pairwise([], X, metric=metric).shape == (0, 3)
        assert pairwise(X, [], metric=metric).shape == (3, 0)
        assert pairwise(X[:1], metric=metric).tolist() == [[0.0]]


def test_wasserstein_and_bottleneck_validation():
    dgms = _diagram_list(3, 2)
    with pytest.raises(ValueError, match="order must be a finite number >= 1"):
        pairwise(dgms, metric="wasserstein", order=0.5)
    with pytest.raises(ValueError, match="order must be a real number"):
        pairwise(dgms, metric="wasserstein", order="1")
    with pytest.raises(ValueError, match="internal_p must be >= 1 or np.inf.*internal_p=2"):
        pairwise(dgms, metric="wasserstein", internal_p=0.5)
    with pytest.raises(ValueError, match="delta must be a finite relative error > 0.*hera"):
        pairwise(dgms, metric="wasserstein", delta=0)
    with pytest.raises(ValueError, match=r"does not accept parameter\(s\) \['M'\]"):
        pairwise(dgms, metric="wasserstein", M=50)
    with pytest.raises(ValueError, match="delta must be a finite number >= 0.*exact"):
        pairwise(dgms, metric="bottleneck", delta=-1.0)
    with pytest.raises(ValueError, match=r"accepted: \['delta'\]"):
        pairwise(dgms, metric="bottleneck", e=0)
