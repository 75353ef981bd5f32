"""Representative cycles (cnntopo.cycles.loops): planted loops, invariants, Ripser's bars.

Truths: each loop of a planted circle winds exactly once around its own hole and zero
times around any other (in the circle's own plane, after a random isometry into 40-50
dimensions); every loop is closed and simple, lies in the Rips complex at its bar's
birth and is not a boundary at any scale of the bar (checked by Z/2 linear algebra on
the triangles, independently of Ripser's cocycle); the bars are Ripser's; the loops do
not depend on the order of the points.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ripser import ripser
from scipy.spatial.distance import cdist

from cnntopo.cycles import loop_pairing, representative_cycles, top_bars, winding_number

TOL = 1e-5


def isometry(dim: int, seed: int) -> np.ndarray:
    """A random (dim, dim) orthogonal matrix."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    return q * np.sign(np.diag(r))


def circle(n: int, radius: float, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    return radius * np.c_[np.cos(t), np.sin(t)] + noise * rng.normal(size=(n, 2))


def check_invariants(cycles, points_or_d, distance_matrix=False):
    D = points_or_d if distance_matrix else cdist(points_or_d, points_or_d)
    for rank, c in enumerate(cycles, start=1):
        assert c.rank == rank
        v = list(c.vertices)
        assert len(v) >= 3 and len(set(v)) == len(v), "a loop is simple"
        ring = list(zip(v, v[1:] + v[:1], strict=True))
        np.testing.assert_allclose(c.edge_lengths, [D[a, b] for a, b in ring], rtol=1e-6)
        assert max(c.edge_lengths) <= c.birth * (1 + TOL), "the loop lies in K_birth"
        assert max(c.edge_lengths) == pytest.approx(c.birth, rel=TOL), "its longest edge: birth"
        assert c.edge_lengths[0] == pytest.approx(c.birth, rel=TOL), "it starts at the birth edge"
        assert c.birth_edge == (v[0], v[1]) and v[0] < v[1]
        assert c.death > c.birth
    pers = [c.death - c.birth for c in cycles]
    assert pers == sorted(pers, reverse=True)


def ripser_top(points, k, distance_matrix=False, coeff=2):
    data = points if distance_matrix else np.asarray(points, dtype=np.float32)
    dgm = ripser(data, distance_matrix=distance_matrix, maxdim=1, coeff=coeff)["dgms"][1]
    return dgm[top_bars(dgm, k)]


def test_noisy_circle_in_50d_winds_once():
    xy = circle(80, 1.0, 0.05, seed=1)
    Q = isometry(50, seed=2)
    X = np.c_[xy, np.zeros((80, 48))] @ Q.T + 3.0  # an isometry and a translation
    (c,) = representative_cycles(X, top_k=1)
    check_invariants([c], X)
    back = (X - 3.0) @ Q  # the circle's own plane: the first two coordinates
    assert abs(winding_number(back[list(c.vertices), :2], [0, 0])) == pytest.approx(1.0)
    np.testing.assert_allclose([c.birth, c.death], ripser_top(X, 1)[0], rtol=TOL)


def test_figure_eight_each_lobe_winds_around_its_own_hole():
    left, right = circle(60, 1.0, 0.03, seed=4), circle(60, 1.0, 0.03, seed=5)
    xy = np.r_[left - [1.0, 0.0], right + [1.0, 0.0]]
    X = np.c_[xy, np.zeros((120, 38))] @ isometry(40, seed=6).T
    cycles = representative_cycles(X, top_k=2)
    check_invariants(cycles, X)
    back = X @ isometry(40, seed=6)
    windings = sorted(
        tuple(
            round(abs(winding_number(back[list(c.vertices), :2], h)), 6) for h in ([-1, 0], [1, 0])
        )
        for c in cycles
    )
    assert windings == [(0.0, 1.0), (1.0, 0.0)]


def test_two_circles_of_different_radii_in_40d():
    big, small = circle(90, 2.0, 0.05, seed=7), circle(60, 1.0, 0.03, seed=8)
    pts = np.zeros((150, 40))
    pts[:90, :2] = big
    pts[90:, 2:4] = small
    pts[90:, 0] = 6.0  # the small circle lies in another plane, off the big one's centre
    Q = isometry(40, seed=9)
    X = pts @ Q.T
    cycles = representative_cycles(X, top_k=2)
    check_invariants(cycles, X)
    own = pts  # the coordinates before the isometry: each circle's plane
    c_big, c_small = cycles  # the longer bar is the big circle's
    assert set(c_big.vertices) <= set(range(90)) and set(c_small.vertices) <= set(range(90, 150))
    assert abs(winding_number(own[list(c_big.vertices), 0:2], [0, 0])) == pytest.approx(1.0)
    assert abs(winding_number(own[list(c_small.vertices), 2:4], [0, 0])) == pytest.approx(1.0)
    assert abs(winding_number(own[list(c_big.vertices), 2:4], [0, 0])) == pytest.approx(0.0)
    assert abs(winding_number(own[list(c_small.vertices), 0:2], [0, 0])) == pytest.approx(0.0)
    np.testing.assert_allclose([[c.birth, c.death] for c in cycles], ripser_top(X, 2), rtol=TOL)


def test_bars_are_ripsers_on_random_clouds_and_distance_matrices():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(120, 5))
    cycles = representative_cycles(X, top_k=4)
    check_invariants(cycles, X)
    np.testing.assert_allclose([[c.birth, c.death] for c in cycles], ripser_top(X, 4), rtol=TOL)
    D = cdist(X, X)
    from_d = representative_cycles(D, top_k=4, distance_matrix=True)
    assert [c.vertices for c in from_d] == [c.vertices for c in cycles]


def gf2_rank(M: np.ndarray) -> int:
    M = M.copy().astype(bool)
    rank = 0
    for col in range(M.shape[1]):
        rows = np.flatnonzero(M[rank:, col]) + rank
        if not len(rows):
            continue
        M[[rank, rows[0]]] = M[[rows[0], rank]]
        others = np.flatnonzero(M[:, col])
        others = others[others != rank]
        M[others] ^= M[rank]
        rank += 1
        if rank == M.shape[0]:
            break
    return rank


def is_boundary(loop, D, scale):
    """Whether the Z/2 cycle ``loop`` bounds in the Rips complex at ``scale`` (linear algebra)."""
    n = len(D)
    edges = {e: i for i, e in enumerate(itertools.combinations(range(n), 2))}
    cols = []
    for a, b, c in itertools.combinations(range(n), 3):
        if max(D[a, b], D[a, c], D[b, c]) <= scale:
            col = np.zeros(len(edges), bool)
            col[[edges[(a, b)], edges[(a, c)], edges[(b, c)]]] = True
            cols.append(col)
    z = np.zeros(len(edges), bool)
    for a, b in zip(loop, loop[1:] + loop[:1], strict=True):
        z[edges[(min(a, b), max(a, b))]] ^= True
    B = np.array(cols).T if cols else np.zeros((len(edges), 0), bool)
    return gf2_rank(np.c_[B, z]) == gf2_rank(B)


@pytest.mark.parametrize("seed", [11, 12])
def test_loop_is_no_boundary_on_its_bar_and_is_at_its_death(seed):
    X = circle(18, 1.0, 0.15, seed=seed)
    D = cdist(X.astype(np.float32).astype(np.float64), X.astype(np.float32).astype(np.float64))
    for c in representative_cycles(X, top_k=2):
        loop = list(c.vertices)
        assert not is_boundary(loop, D, c.birth * (1 + TOL))
        assert not is_boundary(loop, D, c.death * (1 - TOL))
    (c,) = representative_cycles(X, top_k=1)
    assert is_boundary(list(c.vertices), D, c.death * (1 + TOL)), "the circle's one class dies"


@pytest.mark.parametrize("coeff", [2, 3, 5])
def test_regular_polygon_ties_give_the_whole_polygon(coeff):
    """Every edge of a regular polygon is a tie of the birth edge: the cocycle search."""
    t = np.linspace(0, 2 * np.pi, 10, endpoint=False)
    P = np.c_[np.cos(t), np.sin(t)]
    (c,) = representative_cycles(P, top_k=1, coeff=coeff)
    assert sorted(c.vertices) == list(range(10))
    assert c.pairing not in (None, 0)
    assert abs(winding_number(P[list(c.vertices)], [0, 0])) == pytest.approx(1.0)
    assert c.death == pytest.approx(ripser_top(P, 1, coeff=coeff)[0, 1], rel=TOL)


def test_cocycle_orientation_convention_is_a_cocycle():
    """Ripser's rows [i, j, v] read as z(i -> j) = v satisfy the cocycle condition mod p."""
    X = circle(40, 1.0, 0.1, seed=13)
    D = cdist(X.astype(np.float32), X.astype(np.float32))
    r = ripser(X.astype(np.float32), maxdim=1, coeff=3, do_cocycles=True)
    k = top_bars(r["dgms"][1], 1)[0]
    birth, death = r["dgms"][1][k]
    z = r["cocycles"][1][k]
    scale = (birth + death) / 2
    near = [(a, b, c) for a, b, c in itertools.combinations(range(40), 3)
            if max(D[a, b], D[a, c], D[b, c]) <= scale]  # fmt: skip
    assert near
    for tri in near:
        assert loop_pairing(tri, z, 3) == 0
    (cyc,) = representative_cycles(X, top_k=1, coeff=3)
    assert loop_pairing(cyc.vertices, z, 3) != 0


def test_from_a_diagram_gives_the_same_loops_cheaply():
    from gph import ripser_parallel

    rng = np.random.default_rng(14)
    X = np.maximum(rng.normal(size=(300, 8)) + 0.5 * rng.normal(size=(300, 1)), 0)
    full = representative_cycles(X, top_k=3)
    dgm = ripser_parallel(X.astype(np.float32), maxdim=1, coeff=2)["dgms"][1]
    fast = representative_cycles(X, top_k=3, diagram=dgm)
    assert [c.vertices for c in fast] == [c.vertices for c in full]
    np.testing.assert_allclose(
        [[c.birth, c.death] for c in fast], [[c.birth, c.death] for c in full], rtol=TOL
    )
    check_invariants(fast, X)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(perm_seed=st.integers(0, 2**32 - 1), data_seed=st.integers(0, 50))
def test_loops_do_not_depend_on_the_order_of_the_points(perm_seed, data_seed):
    X = np.r_[circle(40, 1.0, 0.08, seed=data_seed), circle(30, 0.6, 0.05, seed=data_seed + 1) + 3]
    perm = np.random.default_rng(perm_seed).permutation(len(X))
    a = representative_cycles(X, top_k=2)
    b = representative_cycles(X[perm], top_k=2)

    def edges(c, relabel):
        v = [int(relabel[x]) for x in c.vertices]
        return frozenset(frozenset(e) for e in zip(v, v[1:] + v[:1], strict=True))

    assert {edges(c, np.arange(len(X))) for c in a} == {edges(c, perm) for c in b}
    np.testing.assert_allclose([c.birth for c in a], [c.birth for c in b], rtol=TOL)


def test_fewer_bars_than_asked_and_errors():
    t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    assert len(representative_cycles(np.c_[np.cos(t), np.sin(t)] * [1, 1.3], top_k=5)) == 1
    assert representative_cycles(np.c_[np.cos(t), np.sin(t)], top_k=0) == []
    with pytest.raises(ValueError, match="maxdim"):
        representative_cycles(np.zeros((5, 2)) + np.arange(5)[:, None], maxdim=0)
    with pytest.raises(ValueError, match="prime"):
        representative_cycles(np.c_[np.cos(t), np.sin(t)], coeff=4)
    with pytest.raises(ValueError, match="square"):
        representative_cycles(np.ones((4, 3)), distance_matrix=True)
    with pytest.raises(ValueError, match="NaN"):
        representative_cycles(np.full((4, 2), np.nan))


def test_winding_number_of_known_polygons():
    t = np.linspace(0, 2 * np.pi, 9, endpoint=False)
    sq = np.c_[np.cos(t), np.sin(t)]
    assert winding_number(sq, [0, 0]) == pytest.approx(1.0)
    assert winding_number(sq[::-1], [0, 0]) == pytest.approx(-1.0)
    assert winding_number(sq, [3, 0]) == pytest.approx(0.0)
    twice = np.c_[np.cos(2 * t), np.sin(2 * t)]
    assert winding_number(twice, [0, 0]) == pytest.approx(2.0)
