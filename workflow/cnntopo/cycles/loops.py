"""Representative cycles of the longest H1 bars of a Vietoris-Rips filtration.

For each of the ``top_k`` longest finite H1 bars ``[b, d)`` of a point cloud (or a
distance matrix), :func:`representative_cycles` returns one loop of points: an
ordered, closed, simple cycle of the Rips graph at scale ``b`` whose homology class is
non-zero at every scale in ``[b, d)``.

The method (docs/methods.md, "Representative cycles"):

1. Ripser.py [1]_ computes the diagrams with ``do_cocycles=True``: for every H1 bar a
   representative cocycle ``z`` (Z/p values on oriented edges) of persistent
   cohomology, which equals persistent homology's bars [2]_. ``z`` is a cocycle of
   the complex ``K_t`` for every ``t`` in ``[b, d)``, and on ``K_b`` it is supported
   on edges of length exactly ``b``; one of them is the bar's *birth edge* ``(u, v)``.
2. The loop is the shortest closed walk through the birth edge, in the graph of
   ``K_b``'s edges (length <= ``b``), whose pairing ``<z, loop>`` is non-zero mod p:
   a Dijkstra search in the p-sheeted cover of that graph (a step along edge
   ``i -> j`` moves from sheet ``s`` to ``s + z(i -> j)``), from ``v`` on sheet
   ``z(u -> v)`` back to ``u`` on any sheet other than 0. On generic data ``z`` on
   ``K_b`` is the birth edge alone and this is the shortest path from ``v`` to ``u``
   that avoids the birth edge, closed by it.
3. A walk that visits a point twice is split into simple cycles; their pairings add
   up to the walk's, so one of them pairs non-trivially, and that one is returned.

A cycle ``c`` of ``K_b`` with ``<z, c> != 0`` is not a boundary in any ``K_t``,
``t`` in ``[b, d)`` (``<z, boundary of w> = <coboundary of z, w> = 0``), so the loop is a
non-trivial class over the whole bar. Neither uniqueness nor minimality in any
homological sense is claimed: another loop can represent the same bar, and the one
returned is only the shortest (sum of edge lengths) among those through the birth edge.

With ``diagram`` (the H1 bars of the same cloud from the persistence job), the top
bars are chosen from it and Ripser runs with ``thresh`` at their largest death: bars
that die below the threshold, and their cocycles, are those of the full filtration,
and the truncated complex has far fewer edges than the full one (docs/performance.md).

References
----------
.. [1] Tralie, C.; Saul, N.; Bar-On, R. 2018. Ripser.py: A Lean Persistent Homology
   Library for Python. Journal of Open Source Software 3(29): 925.
.. [2] de Silva, V.; Morozov, D.; Vejdemo-Johansson, M. 2011. Dualities in persistent
   (co)homology. Inverse Problems 27(12): 124003.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["Cycle", "representative_cycles", "top_bars", "loop_pairing", "winding_number"]

#: Relative tolerance between the float32 bar values of Ripser and float64 edge lengths.
RTOL = 1e-5

#: Window, in float32 units in the last place, in which an edge length matches a given
#: bar's birth (the backends compute float32 distances; this module float64 ones).
ULPS = 4


@dataclass(frozen=True)
class Cycle:
    """One representative loop of an H1 bar.

    Attributes
    ----------
    rank : int
        1 for the longest bar (largest ``death - birth``), 2 for the next, ...
    birth, death : float
        The bar ``[birth, death)`` (Ripser's values).
    vertices : tuple of int
        Point indices in loop order; the loop closes from the last back to the first.
        ``vertices[0], vertices[1]`` is the birth edge. At least 3, all distinct.
    edge_lengths : tuple of float
        ``d(vertices[i], vertices[i + 1])``, the last one closing the loop; the longest
        equals ``birth`` (up to float32 rounding), none is longer.
    birth_edge : tuple of int
        The edge of length ``birth`` in the bar's cocycle that the loop goes through.
    pairing : int
        ``<z, loop>`` mod ``coeff`` (non-zero: the loop is non-trivial on the bar).
    """

    rank: int
    birth: float
    death: float
    vertices: tuple[int, ...]
    edge_lengths: tuple[float, ...]
    birth_edge: tuple[int, int]
    pairing: int

    @property
    def persistence(self) -> float:
        """``death - birth``."""
        return self.death - self.birth

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the fields (tuples as lists)."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _distances(points_or_distances: Any, distance_matrix: bool) -> np.ndarray:
    X = np.asarray(points_or_distances)
    if X.ndim != 2 or X.shape[0] < 3:
        raise ValueError(
            f"expected a 2-D array of at least 3 points (or a distance matrix), got shape {X.shape}"
        )
    if not np.all(np.isfinite(X)):
        raise ValueError("the input contains NaN or infinite values")
    if distance_matrix:
        if X.shape[0] != X.shape[1]:
            raise ValueError(f"a distance matrix must be square, got shape {X.shape}")
        D = np.array(X, dtype=np.float64)
        if np.any(D < 0) or not np.allclose(D, D.T, rtol=0, atol=1e-9 * max(D.max(), 1.0)):
            raise ValueError("a distance matrix must be symmetric and non-negative")
        D = (D + D.T) / 2.0
        np.fill_diagonal(D, 0.0)
        return D
    from scipy.spatial.distance import cdist

    # float32 points, as cnntopo.ph.persistence feeds Ripser; distances in float64
    P = np.asarray(X, dtype=np.float32).astype(np.float64)
    return cdist(P, P)


def top_bars(bars: np.ndarray, top_k: int) -> np.ndarray:
    """Indices of the ``top_k`` longest finite bars, longest first.

    Parameters
    ----------
    bars : numpy.ndarray, shape (n, 2)
        Birth and death of each bar; infinite deaths are skipped.
    top_k : int

    Returns
    -------
    numpy.ndarray of int, shape (min(top_k, n_finite),)
        Sorted by persistence descending, ties by birth then death ascending.
    """
    bars = np.asarray(bars, dtype=np.float64).reshape(-1, 2)
    finite = np.flatnonzero(np.isfinite(bars[:, 1]))
    b, d = bars[finite, 0], bars[finite, 1]
    order = np.lexsort((d, b, -(d - b)))
    return finite[order[: max(int(top_k), 0)]]


def _oriented(cocycle: np.ndarray, coeff: int) -> dict[tuple[int, int], int]:
    """``{(i, j): z(i -> j)}`` mod ``coeff`` for both orientations of every support edge."""
    z: dict[tuple[int, int], int] = {}
    for i, j, val in np.asarray(cocycle, dtype=np.int64).reshape(-1, 3):
        v = int(val) % coeff
        if v:
            z[(int(i), int(j))] = v
            z[(int(j), int(i))] = (-v) % coeff
    return z


def loop_pairing(vertices: Any, cocycle: np.ndarray, coeff: int) -> int:
    """``<z, loop>`` mod ``coeff``: the cocycle summed along the closed loop.

    Parameters
    ----------
    vertices : sequence of int
        The loop in order (closing from the last vertex to the first).
    cocycle : numpy.ndarray, shape (m, 3)
        Ripser.py's cocycle rows ``[i, j, value]``: ``value`` on the oriented edge
        ``i -> j`` (``-value`` on ``j -> i``).
    coeff : int
        The prime of the coefficient field.
    """
    z = _oriented(cocycle, coeff)
    vs = [int(v) for v in vertices]
    return sum(z.get((a, b), 0) for a, b in zip(vs, vs[1:] + vs[:1], strict=True)) % coeff


def _simple_cycles(walk: list[int]) -> list[list[int]]:
    """Split a closed walk (last vertex back to the first) into simple cycles."""
    cycles: list[list[int]] = []
    stack: list[int] = []
    where: dict[int, int] = {}
    for v in [*walk, walk[0]]:
        if v in where:
            k = where[v]
            cyc = stack[k:]
            for w in cyc[1:]:
                del where[w]
            del stack[k + 1 :]
            if len(cyc) >= 2:
                cycles.append(cyc)
        else:
            where[v] = len(stack)
            stack.append(v)
    return cycles


def _loop_through(
    D: np.ndarray, birth: float, edge: tuple[int, int], z: dict, coeff: int
) -> list[int] | None:
    """Shortest walk ``u -> v -> ... -> u`` in ``K_birth`` with non-zero pairing, or None."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    n = D.shape[0]
    u, v = edge
    limit = birth * (1.0 + RTOL) + 1e-12
    iu, ju = np.nonzero(np.triu(D <= limit, k=1))
    keep = ~(((iu == u) & (ju == v)) | ((iu == v) & (ju == u)))
    iu, ju = iu[keep], ju[keep]
    # a tiny positive weight per step: zero distances stay edges, fewer hops win ties
    w = D[iu, ju] + 1e-9 * max(birth, 1e-12)
    Z = np.zeros((n, n), dtype=np.int64)
    for (a, b), val in z.items():
        Z[a, b] = val
    zij = Z[iu, ju]
    rows, cols, data = [], [], []
    for s in range(coeff):  # node (x, s) is x * coeff + s
        rows += [iu * coeff + s, ju * coeff + s]
        cols += [ju * coeff + (s + zij) % coeff, iu * coeff + (s - zij) % coeff]
        data += [w, w]
    graph = coo_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n * coeff, n * coeff),
    ).tocsr()
    start = v * coeff + z.get((u, v), 0)
    dist, pred = dijkstra(graph, directed=True, indices=start, return_predecessors=True)
    targets = [u * coeff + s for s in range(1, coeff)]
    best = min(targets, key=lambda t: dist[t])
    if not np.isfinite(dist[best]):
        return None
    path = [best]
    while path[-1] != start:
        path.append(int(pred[path[-1]]))
    return [u] + [p // coeff for p in reversed(path)][:-1]


def representative_cycles(
    points_or_distances: Any,
    top_k: int = 3,
    *,
    distance_matrix: bool = False,
    maxdim: int = 1,
    coeff: int = 2,
    diagram: Any = None,
) -> list[Cycle]:
    """One representative loop for each of the ``top_k`` longest finite H1 bars.

    Parameters
    ----------
    points_or_distances : numpy.ndarray, shape (N, c) or (N, N)
        A point cloud (Euclidean distances of its float32 coordinates, as
        :func:`cnntopo.ph.persistence.diagrams` computes them), or with
        ``distance_matrix`` a symmetric non-negative distance matrix.
    top_k : int, default 3
        Number of bars (fewer if there are fewer finite H1 bars).
    distance_matrix : bool, default False
        Whether the input is a distance matrix.
    maxdim : int, default 1
        Highest homology dimension Ripser computes (>= 1; cycles are H1's).
    coeff : int, default 2
        Prime field Z/p of the coefficients (Ripser's default 2).
    diagram : numpy.ndarray, shape (n, 2), optional
        The H1 bars of the same cloud, e.g. the persistence job's (any backend). The
        top bars are chosen from it and Ripser runs only up to their largest death
        (``thresh``); if a chosen bar is not found again (within :data:`RTOL`), the
        full filtration is computed instead.

    Returns
    -------
    list of Cycle
        Longest bar first (``rank`` 1, 2, ...); birth and death are Ripser's.

    Raises
    ------
    ValueError
        On an invalid input, ``maxdim < 1``, ``top_k < 0`` or a non-prime ``coeff``.
    RuntimeError
        If no loop with non-zero pairing is found (it always exists for a true bar).

    Examples
    --------
    >>> t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    >>> (c,) = representative_cycles(np.c_[np.cos(t), np.sin(t)], top_k=1)
    >>> len(c.vertices), c.rank
    (40, 1)
    """
    from ripser import ripser

    if int(maxdim) < 1:
        raise ValueError(f"maxdim must be >= 1 for H1 cycles, got {maxdim}")
    if int(top_k) < 0:
        raise ValueError(f"top_k must be >= 0, got {top_k}")
    if coeff < 2 or any(coeff % k == 0 for k in range(2, int(coeff**0.5) + 1)):
        raise ValueError(f"coeff must be a prime, got {coeff}")
    D = _distances(points_or_distances, distance_matrix)
    if top_k == 0:
        return []

    def run(thresh: float) -> tuple[np.ndarray, list]:
        r = ripser(
            D, distance_matrix=True, maxdim=int(maxdim), coeff=int(coeff),
            thresh=thresh, do_cocycles=True, n_perm=None,
        )  # fmt: skip
        return np.asarray(r["dgms"][1], dtype=np.float64).reshape(-1, 2), r["cocycles"][1]

    if diagram is not None:
        found = _from_diagram(D, np.asarray(diagram, dtype=np.float64), int(top_k), int(coeff), run)
        if found is not None:
            return found
    bars, cocycles = run(np.inf)
    out = []
    for rank, k in enumerate(top_bars(bars, top_k), start=1):
        birth, death = float(bars[k, 0]), float(bars[k, 1])
        out.append(_cycle(D, rank, birth, death, np.asarray(cocycles[k]), int(coeff)))
    return out


def _from_diagram(D, diagram, top_k, coeff, run) -> list[Cycle] | None:
    """The cycles of the ``top_k`` longest bars of ``diagram``, or None (then: full run).

    Each bar's loop comes from its birth edge (:func:`_birth_edge_loop`); where that
    edge is not unique, from the cocycle of a Ripser run truncated at the largest death
    of those bars (bars that die below the threshold are those of the full filtration).
    """
    wanted = diagram.reshape(-1, 2)[top_bars(diagram, top_k)]
    edges = _Edges(D, float(wanted[:, 0].max(initial=0.0)) * (1 + RTOL) + 1e-12)
    loops = [_birth_edge_loop(edges, float(b)) for b, _ in wanted]
    out: list[Cycle | None] = [
        None
        if loop is None
        else _make_cycle(D, r, float(b), float(d), loop, (loop[-1], loop[0]), None)
        for r, ((b, d), loop) in enumerate(zip(wanted, loops, strict=True), start=1)
    ]
    pending = [i for i, c in enumerate(out) if c is None]
    if pending:
        bars, cocycles = run(float(wanted[pending, 1].max()) * (1.0 + 10 * RTOL))
        finite = np.isfinite(bars[:, 1])
        for i in pending:
            b, d = wanted[i]
            err = np.where(finite, np.abs(bars[:, 0] - b) + np.abs(bars[:, 1] - d), np.inf)
            k = int(np.argmin(err)) if len(err) else -1
            if k < 0 or not err[k] <= 20 * RTOL * max(abs(d), 1e-12):
                return None
            out[i] = _cycle(D, i + 1, float(b), float(d), np.asarray(cocycles[k]), coeff)
    return out  # type: ignore[return-value]


class _Edges:
    """The graph of a distance matrix's edges up to ``limit`` (built once, shared by the bars)."""

    def __init__(self, D: np.ndarray, limit: float = np.inf):
        from scipy.sparse import csr_matrix

        self.D = D
        # a tiny positive weight per step: zero distances stay edges, fewer hops win ties
        self.eps = 1e-9 * max(float(limit) if np.isfinite(limit) else float(D.max()), 1e-12)
        W = np.where(D <= limit, D + self.eps, 0.0)
        np.fill_diagonal(W, 0.0)
        self.graph = csr_matrix(W)

    def below(self, limit: float):
        """The sparse symmetric graph of the edges shorter than ``limit``."""
        g = self.graph.copy()
        g.data[g.data - self.eps >= limit] = 0.0
        g.eliminate_zeros()
        return g

    def within(self, lo: float, hi: float) -> np.ndarray:
        """``(m, 2)`` endpoints ``i < j`` of the edges with length in ``[lo, hi]``."""
        return np.argwhere(np.triu((self.D >= lo) & (self.D <= hi), k=1))


def _birth_edge_loop(edges: _Edges, birth: float) -> list[int] | None:
    """The loop through the bar's birth edge found from the distances alone, or None.

    The birth edge is the one edge of length ``birth`` (within :data:`ULPS`) whose
    endpoints are already connected by strictly shorter edges (a positive edge) and
    that is not the longest edge of a triangle of strictly shorter edges (that edge's
    class is a boundary at once: a bar of length 0, which the diagram does not list);
    the loop closes it with the shortest path of strictly shorter edges. None when that
    edge is not unique.
    """
    from scipy.sparse.csgraph import dijkstra

    tol = ULPS * float(np.spacing(np.float32(birth)))
    D = edges.D
    # not the youngest edge of a triangle of strictly shorter edges (that triangle
    # kills its class at once: a zero-length bar)
    cand = [
        (int(a), int(b))
        for a, b in edges.within(birth - tol, birth + tol)
        if not np.any((D[a] < birth - tol) & (D[b] < birth - tol))
    ]
    if not cand:
        return None
    shorter = edges.below(birth - tol)
    found = []
    for u, v in cand:  # positive: its endpoints are already connected
        _, pred = dijkstra(shorter, directed=False, indices=v, return_predecessors=True)
        if pred[u] >= 0:
            found.append((u, v, pred))
        if len(found) > 1:
            return None
    if len(found) != 1:
        return None
    u, v, pred = found[0]
    path = [u]
    while path[-1] != v:
        path.append(int(pred[path[-1]]))
    return path  # u, ..., v: closing v -> u is the birth edge


def _make_cycle(D, rank, birth, death, loop, edge, pairing) -> Cycle:
    """A :class:`Cycle` of ``loop``, rotated to start with its birth edge ``edge``."""
    loop = _start_at(list(loop), edge)
    lengths = tuple(float(D[a, b]) for a, b in zip(loop, loop[1:] + loop[:1], strict=True))
    return Cycle(
        rank=rank,
        birth=birth,
        death=death,
        vertices=tuple(int(x) for x in loop),
        edge_lengths=lengths,
        birth_edge=(int(loop[0]), int(loop[1])),
        pairing=None if pairing is None else int(pairing),
    )


def _cycle(D: np.ndarray, rank: int, birth: float, death: float, cocycle, coeff: int) -> Cycle:
    z = _oriented(cocycle, coeff)
    support = sorted({(min(a, b), max(a, b)) for a, b in z}, key=lambda e: (D[e], e))
    close = [e for e in support if abs(D[e] - birth) <= RTOL * max(birth, 1e-12) + 1e-12]
    for edge in close or support[:1]:
        walk = _loop_through(D, birth, edge, z, coeff)
        if walk is None:
            continue
        candidates = [c for c in _simple_cycles(walk) if loop_pairing(c, cocycle, coeff)]
        if not candidates:
            continue
        through = [c for c in candidates if _has_edge(c, edge)]
        loop = min(through or candidates, key=lambda c: (_length(D, c), len(c)))
        if not _has_edge(loop, edge):  # its longest edge is a tie of the birth edge
            ring = list(zip(loop, loop[1:] + loop[:1], strict=True))
            edge = max(ring, key=lambda e: D[e])
        return _make_cycle(D, rank, birth, death, loop, edge, loop_pairing(loop, cocycle, coeff))
    raise RuntimeError(
        f"no loop with non-zero cocycle pairing found for the H1 bar [{birth}, {death}); "
        "the cocycle does not match the distances"
    )


def _has_edge(loop: list[int], edge: tuple[int, int]) -> bool:
    pairs = zip(loop, loop[1:] + loop[:1], strict=True)
    return any({a, b} == set(edge) for a, b in pairs)


def _length(D: np.ndarray, loop: list[int]) -> float:
    return float(sum(D[a, b] for a, b in zip(loop, loop[1:] + loop[:1], strict=True)))


def _start_at(loop: list[int], edge: tuple[int, int]) -> list[int]:
    """Rotate (and reverse) the loop so that it starts with the birth edge, low index first."""
    a, b = min(edge), max(edge)
    k = loop.index(a)
    loop = loop[k:] + loop[:k]
    return loop if loop[1] == b else [loop[0], *reversed(loop[1:])]


def winding_number(loop_xy: Any, centre: Any) -> float:
    """Winding number of a closed polygon around a point of its plane.

    Parameters
    ----------
    loop_xy : numpy.ndarray, shape (m, 2)
        The polygon's vertices in order (closing from the last back to the first).
    centre : array-like, shape (2,)

    Returns
    -------
    float
        The total signed angle swept around ``centre`` divided by 2 pi (an integer up
        to rounding, if no edge passes through ``centre``).
    """
    p = np.asarray(loop_xy, dtype=np.float64) - np.asarray(centre, dtype=np.float64)
    ang = np.arctan2(p[:, 1], p[:, 0])
    step = np.diff(np.r_[ang, ang[:1]])
    step = (step + np.pi) % (2 * np.pi) - np.pi
    return float(step.sum() / (2 * np.pi))
