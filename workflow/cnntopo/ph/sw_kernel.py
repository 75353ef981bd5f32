"""Compiled all-pairs sliced Wasserstein kernel with persim 0.4.1 semantics.

:func:`cnntopo.ph.distances.sliced_wasserstein` sorts ``2 * M`` rows of ``m + n``
values for every pair. For a matrix of K diagrams that sorting dominates, and it
is not needed: the distance factorises over the two diagrams
(docs/performance.md §2). For a direction ``theta`` let ``P_X`` be
the projections of diagram X's points and ``Q_X`` those of its diagonal
projections. persim's term for the pair (A, B) is the L1 distance between
``sorted(P_A ∪ Q_B)`` and ``sorted(P_B ∪ Q_A)``. So:

1. **Presort once per diagram** (:func:`presort`): project every diagram on the
   ``M`` persim directions (the same float32-rounded vectors and the same
   diagonal formula as the reference, with the same float64 operations, so the
   projected values are bit-identical) and sort ``P_X`` and ``Q_X``.
2. **Merge per pair** (:func:`_group_l1`): walk ``merge(P_A, Q_B)`` and
   ``merge(P_B, Q_A)`` in lock-step and add ``|x_k - y_k|``. This is linear in
   ``m + n``; no pair sorts anything.

The inner loop is latency-bound (load, compare, advance an index that the next
load depends on), so it is written for instruction-level parallelism rather than
for SIMD:

- ``+inf`` sentinels end every sorted list, so the merges need no bounds tests
  and run exactly ``m + n`` steps;
- the merged value is ``min(x, y)`` and the index advances by the comparison
  result, so there are no data-dependent branches;
- ``GROUP = 5`` directions are merged in the same loop body (10 independent
  merge chains). Their sorted lists are stored interleaved (element ``k`` of the
  five directions is contiguous), and each ``Q`` list is stored reversed and
  addressed from a pointer that moves one row per step. Then one index per merge
  addresses both of its lists, which keeps register spills low (with 4 or 6-8
  directions per loop the kernel was slower on the build machine);
- indices are unsigned, so numba emits no negative-index wrap-around code.

Pairs are processed in tiles of ``TILE x TILE`` diagrams (upper triangle only for
a symmetric matrix), direction group by direction group, so a tile's lists stay
in the L2/L3 caches. Tiles are independent work items: with ``n_threads > 1``
they are handed to a thread pool (the compiled functions release the GIL), which
balances the load dynamically. Each pair is computed by one call in a fixed
order, so the result does not depend on the number of threads or the tiling.

Agreement: the kernel is bit-identical to the numpy reference
:func:`cnntopo.ph.distances.sliced_wasserstein` (same projections, same values
visited in the same order, each L1 norm summed left to right, then
``sw += (1/M) * L1_k`` for ``k = 0..M-1`` as persim does). It differs from
``persim.sliced_wasserstein`` only by persim's pairwise summation of each L1
norm, a few ulps (observed <= 1e-15 relative).

References
----------
.. [1] Carrière, M.; Cuturi, M.; Oudot, S. 2017. Sliced Wasserstein Kernel for
   Persistence Diagrams. Proceedings of the 34th International Conference on
   Machine Learning (ICML), PMLR 70: 664--673. arXiv:1706.03358.
.. [2] Saul, N.; Tralie, C. 2019. Scikit-TDA: Topological Data Analysis for
   Python. persim 0.4.1, ``persim/sliced_wasserstein.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from cnntopo.ph.diagram_ops import (
    check_M,
    finite_diagrams,
    pair_counter,
    persim_directions,
    project_into,
    project_on_diagonal,
    resolve_n_jobs,
    run_parallel,
)

__all__ = ["GROUP", "TILE", "Presorted", "all_pairs_matrix", "presort", "sw_all_pairs", "sw_cross"]

#: Directions merged together in the inner loop (hand-unrolled in _group_l1).
GROUP = 5
#: Diagrams per side of a tile (a work item covers up to TILE x TILE pairs).
TILE = 8


class Presorted(NamedTuple):
    """Sorted projections of K diagrams, laid out for :func:`_group_l1`.

    For diagram ``k`` with ``n = sizes[k]`` points and direction group ``g``
    (directions ``GROUP*g .. GROUP*g + GROUP-1``; directions ``>= M`` are zero
    padding and are never added to a distance), the block starting at
    ``offsets[k] + g * 2 * GROUP * (n + 1)`` holds two ``(n + 1, GROUP)``
    row-major arrays:

    - ``P``: row ``t < n`` is the ``t``-th smallest projection of the points, for
      each of the ``GROUP`` directions; row ``n`` is ``+inf`` (sentinel);
    - ``R``: row 0 is ``+inf``; row ``t >= 1`` is the ``(n - t)``-th smallest
      projection of the diagonal points (the sorted list stored reversed).

    Attributes
    ----------
    data : np.ndarray, shape (sum_k 2 * GROUP * n_groups * (sizes[k] + 1),), float64
    offsets : np.ndarray, shape (K,), int64
    sizes : np.ndarray, shape (K,), int64
    M : int
        Number of directions (before padding to a multiple of ``GROUP``).
    """

    data: np.ndarray
    offsets: np.ndarray
    sizes: np.ndarray
    M: int


def presort(dgms: Sequence[np.ndarray], M: int = 50, n_threads: int | None = None) -> Presorted:
    """Project every diagram on persim's M directions and sort, once.

    Parameters
    ----------
    dgms : sequence of np.ndarray, each shape (n_k, 2), float64
        Validated finite diagrams (see :func:`cnntopo.ph.diagram_ops.finite_part`).
    M : int, default 50
        Number of directions.
    n_threads : int, optional
        Threads for the per-diagram work (numpy's sort releases the GIL); None or
        1 is serial, -1 uses all CPUs.

    Returns
    -------
    Presorted
        About ``16 * M * (n + 1)`` bytes per diagram of ``n`` points (0.73 MB at
        ``n = 900``, ``M = 50``; 1.25 GB for 1,700 such diagrams).

    Notes
    -----
    The projections are computed by the same functions of :mod:`cnntopo.ph.diagram_ops`
    as the numpy reference :func:`cnntopo.ph.distances.sliced_wasserstein` (``cos * x`` and ``sin * y`` as
    two float64 products, then their sum; diagonal coordinate
    ``sqrt((c b + s d)^2 / 2)``), so the sorted values are bit-identical to the
    ones it sorts.
    """
    M = check_M(M)
    n_threads = resolve_n_jobs(n_threads, "n_threads")
    n_groups = -(-M // GROUP)
    dirs = np.zeros((n_groups * GROUP, 2), dtype=np.float64)
    dirs[:M] = persim_directions(M)  # padding directions project everything to 0
    cos, sin = dirs[:, 0:1], dirs[:, 1:2]

    sizes = np.array([d.shape[0] for d in dgms], dtype=np.int64)
    block = 2 * GROUP * n_groups * (sizes + 1)
    offsets = np.zeros(len(dgms), dtype=np.int64)
    if len(dgms):
        offsets[1:] = np.cumsum(block)[:-1]
    data = np.empty(int(block.sum()), dtype=np.float64)

    def fill(k: int) -> None:
        dgm = dgms[k]
        n = dgm.shape[0]
        diag = project_on_diagonal(dgm)
        proj = np.empty((2, n_groups * GROUP, n), dtype=np.float64)
        tmp = np.empty((n_groups * GROUP, n), dtype=np.float64)
        project_into(proj[0], cos, sin, dgm[:, 0], dgm[:, 1], tmp)
        project_into(proj[1], cos, sin, diag, diag, tmp)
        proj.sort(axis=2)
        # (2, n_groups*GROUP, n) -> per group, (n, GROUP) interleaved rows
        p = proj[0].reshape(n_groups, GROUP, n).transpose(0, 2, 1)
        q = proj[1].reshape(n_groups, GROUP, n)[:, :, ::-1].transpose(0, 2, 1)
        blk = data[offsets[k] : offsets[k] + block[k]].reshape(n_groups, 2, n + 1, GROUP)
        blk[:, 0, :n, :] = p
        blk[:, 0, n, :] = np.inf
        blk[:, 1, 0, :] = np.inf
        blk[:, 1, 1:, :] = q

    run_parallel(fill, [(k,) for k in range(len(dgms))], n_threads)
    return Presorted(data, offsets, sizes, M)


@njit(cache=True, nogil=True)
def _group_l1(a, pa, ra, m, b, pb, rb, n):
    """Per-direction L1 terms of one direction group of the pair (A, B).

    ``a``/``b`` hold the presorted data of A/B; ``pa``/``ra`` (``pb``/``rb``) are
    the offsets of A's (B's) ``P`` and reversed ``Q`` blocks for this group, and
    ``m``/``n`` the diagram sizes. Returns the five sums
    ``sum_k |merge(P_A, Q_B)[k] - merge(P_B, Q_A)[k]|``, ``k < m + n``.

    Index bookkeeping, for merge(P_A, Q_B) of direction ``r``: after ``k`` steps
    ``i`` elements came from ``P_A`` and ``k - i`` from ``Q_B``. The next ``P_A``
    element is at ``pa + GROUP*i + r`` and the next ``Q_B`` element at
    ``rb + GROUP*(n - (k - i)) + r = vb + (GROUP*i + r)`` with
    ``vb = rb + GROUP*(n - k)``. So one index ``GROUP*i + r`` addresses both
    lists, ``vb`` moves down one row per step, and the sentinels (``P_A[m]`` and
    ``R_B[0]``) are reached only when a list is exhausted. Unsigned arithmetic
    wraps modulo 2**64, which leaves ``vb + index`` exact when ``vb`` passes 0.
    """
    G = np.uint64(5)
    pa = np.uint64(pa)
    pb = np.uint64(pb)
    va = np.uint64(ra) + G * np.uint64(m)
    vb = np.uint64(rb) + G * np.uint64(n)
    i0, i1, i2, i3, i4 = np.uint64(0), np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    j0, j1, j2, j3, j4 = np.uint64(0), np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    s0 = s1 = s2 = s3 = s4 = 0.0
    for _ in range(m + n):
        # direction 0: u = next of merge(P_A, Q_B), w = next of merge(P_B, Q_A)
        x = a[pa + i0]
        y = b[vb + i0]
        c = np.uint64(x <= y)
        u = min(x, y)
        i0 += c * G
        x = b[pb + j0]
        y = a[va + j0]
        c = np.uint64(x <= y)
        w = min(x, y)
        j0 += c * G
        s0 += abs(u - w)
        # direction 1
        x = a[pa + i1]
        y = b[vb + i1]
        c = np.uint64(x <= y)
        u = min(x, y)
        i1 += c * G
        x = b[pb + j1]
        y = a[va + j1]
        c = np.uint64(x <= y)
        w = min(x, y)
        j1 += c * G
        s1 += abs(u - w)
        # direction 2
        x = a[pa + i2]
        y = b[vb + i2]
        c = np.uint64(x <= y)
        u = min(x, y)
        i2 += c * G
        x = b[pb + j2]
        y = a[va + j2]
        c = np.uint64(x <= y)
        w = min(x, y)
        j2 += c * G
        s2 += abs(u - w)
        # direction 3
        x = a[pa + i3]
        y = b[vb + i3]
        c = np.uint64(x <= y)
        u = min(x, y)
        i3 += c * G
        x = b[pb + j3]
        y = a[va + j3]
        c = np.uint64(x <= y)
        w = min(x, y)
        j3 += c * G
        s3 += abs(u - w)
        # direction 4
        x = a[pa + i4]
        y = b[vb + i4]
        c = np.uint64(x <= y)
        u = min(x, y)
        i4 += c * G
        x = b[pb + j4]
        y = a[va + j4]
        c = np.uint64(x <= y)
        w = min(x, y)
        j4 += c * G
        s4 += abs(u - w)
        va -= G
        vb -= G
    return s0, s1, s2, s3, s4


@njit(cache=True, nogil=True)
def _sw_tile(a, a_off, a_n, b, b_off, b_n, i_lo, i_hi, j_lo, j_hi, upper, M, out):
    """Fill ``out[i, j]`` for ``i_lo <= i < i_hi``, ``j_lo <= j < j_hi``.

    With ``upper`` (``a`` is ``b``), only pairs ``j > i`` are computed and each
    value is also written to ``out[j, i]``. The loop runs over direction groups
    outermost, so the tile's data for one group is reused from cache by all its
    pairs; every pair still accumulates ``(1/M) * L1_k`` in direction order.
    """
    G = 5
    n_groups = (M + G - 1) // G
    step = 1.0 / M
    acc = np.zeros((i_hi - i_lo, j_hi - j_lo))
    for g in range(n_groups):
        r = g * G
        for i in range(i_lo, i_hi):
            m = a_n[i]
            pa = a_off[i] + g * 2 * G * (m + 1)
            ra = pa + G * (m + 1)
            j_start = max(j_lo, i + 1) if upper else j_lo
            for j in range(j_start, j_hi):
                n = b_n[j]
                pb = b_off[j] + g * 2 * G * (n + 1)
                rb = pb + G * (n + 1)
                s0, s1, s2, s3, s4 = _group_l1(a, pa, ra, m, b, pb, rb, n)
                t = acc[i - i_lo, j - j_lo]
                t += step * s0
                if r + 1 < M:
                    t += step * s1
                if r + 2 < M:
                    t += step * s2
                if r + 3 < M:
                    t += step * s3
                if r + 4 < M:
                    t += step * s4
                acc[i - i_lo, j - j_lo] = t
    for i in range(i_lo, i_hi):
        j_start = max(j_lo, i + 1) if upper else j_lo
        for j in range(j_start, j_hi):
            out[i, j] = acc[i - i_lo, j - j_lo]
            if upper:
                out[j, i] = acc[i - i_lo, j - j_lo]


def _tiles(k1: int, k2: int, upper: bool, tile: int) -> list[tuple[int, int, int, int]]:
    """Work items (i_lo, i_hi, j_lo, j_hi); for ``upper`` only tiles touching j > i."""
    out = []
    for i_lo in range(0, k1, tile):
        for j_lo in range(i_lo if upper else 0, k2, tile):
            out.append((i_lo, min(i_lo + tile, k1), j_lo, min(j_lo + tile, k2)))
    return out


def all_pairs_matrix(
    a: Presorted,
    b: Presorted | None = None,
    n_threads: int = 1,
    tile: int = TILE,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Distance matrix from presorted diagrams (``b`` None: symmetric within ``a``).

    Parameters
    ----------
    a : Presorted
        K1 presorted diagrams (rows).
    b : Presorted, optional
        K2 presorted diagrams (columns), with the same ``M`` as ``a``. If None,
        the symmetric K1 x K1 matrix is computed from its upper triangle.
    n_threads : int, default 1
        Worker threads (a resolved count, >= 1).
    tile : int, default TILE
        Diagrams per side of a work item.
    progress : callable, optional
        Called as ``progress(pairs_done, pairs_total)`` after each finished tile.

    Returns
    -------
    np.ndarray, shape (K1, K1) or (K1, K2), float64

    Raises
    ------
    ValueError
        If ``a`` and ``b`` were presorted with different ``M``.
    """
    if b is not None and b.M != a.M:
        raise ValueError(f"a and b were presorted with different M ({a.M} and {b.M})")
    upper = b is None
    b = a if b is None else b
    k1, k2 = len(a.sizes), len(b.sizes)
    out = np.zeros((k1, k2), dtype=np.float64)

    def work(i_lo: int, i_hi: int, j_lo: int, j_hi: int) -> None:
        _sw_tile(
            a.data, a.offsets, a.sizes, b.data, b.offsets, b.sizes,
            i_lo, i_hi, j_lo, j_hi, upper, a.M, out,
        )  # fmt: skip

    tiles = _tiles(k1, k2, upper, tile)
    weights = [_tile_pairs(t, upper) for t in tiles]
    run_parallel(work, tiles, n_threads, pair_counter(weights, progress))
    return out


def _tile_pairs(tile: tuple[int, int, int, int], upper: bool) -> int:
    """Pairs a tile computes: all of them, or for ``upper`` only those with j > i."""
    i_lo, i_hi, j_lo, j_hi = tile
    if not upper:
        return (i_hi - i_lo) * (j_hi - j_lo)
    return sum(max(0, j_hi - max(j_lo, i + 1)) for i in range(i_lo, i_hi))


def sw_all_pairs(diagrams: Sequence[Any], M: int = 50, n_threads: int | None = None) -> np.ndarray:
    """Symmetric matrix of persim sliced Wasserstein distances within one list.

    Parameters
    ----------
    diagrams : sequence of array_like, each shape (n_k, 2)
        K finite persistence diagrams (strip essential bars first with
        :func:`cnntopo.ph.diagram_ops.finite_part`); empty diagrams are allowed.
    M : int, default 50
        Number of directions (persim's default and the paper's value).
    n_threads : int, optional
        None or 1: serial; ``k > 1``: ``k`` threads; -1: all CPUs. The result is
        bit-identical for every value.

    Returns
    -------
    np.ndarray, shape (K, K), float64
        ``D[i, j] == D[j, i]`` equals ``persim.sliced_wasserstein(X[i], X[j], M)``
        up to float64 summation order (a few ulps); the diagonal is exactly 0.
        Only the ``K (K - 1) / 2`` pairs ``i < j`` are computed.

    Raises
    ------
    ValueError
        If a diagram is not of shape ``(n, 2)`` or has non-finite values, ``M`` is
        not a positive integer, or ``n_threads`` is invalid.

    Notes
    -----
    Cost: ``M * (m + n)`` merge steps per pair, about 1.0 ns each and core on the
    build machine, plus the presort (about 1 ms per 900-point diagram): 67 s on 2
    threads for 1,700 diagrams of ~920 points (1.3e11 steps). Memory: see
    :func:`presort`.
    """
    check_M(M)
    n_threads = resolve_n_jobs(n_threads, "n_threads")
    dgms = finite_diagrams(diagrams, "diagrams", infinite="error")
    return all_pairs_matrix(presort(dgms, M, n_threads), None, n_threads)


def sw_cross(
    diagrams_a: Sequence[Any],
    diagrams_b: Sequence[Any],
    M: int = 50,
    n_threads: int | None = None,
) -> np.ndarray:
    """Rectangular matrix of persim sliced Wasserstein distances between two lists.

    Parameters
    ----------
    diagrams_a : sequence of array_like, each shape (m_i, 2)
        K1 finite diagrams (rows).
    diagrams_b : sequence of array_like, each shape (n_j, 2)
        K2 finite diagrams (columns).
    M : int, default 50
        Number of directions.
    n_threads : int, optional
        As in :func:`sw_all_pairs`.

    Returns
    -------
    np.ndarray, shape (K1, K2), float64
        ``D[i, j] = SW(diagrams_a[i], diagrams_b[j])``; exactly symmetric in its
        arguments, so ``sw_cross(X, X)`` equals ``sw_all_pairs(X)`` bit for bit.

    Raises
    ------
    ValueError
        As :func:`sw_all_pairs`.
    """
    check_M(M)
    n_threads = resolve_n_jobs(n_threads, "n_threads")
    a = presort(finite_diagrams(diagrams_a, "diagrams_a", infinite="error"), M, n_threads)
    b = presort(finite_diagrams(diagrams_b, "diagrams_b", infinite="error"), M, n_threads)
    return all_pairs_matrix(a, b, n_threads)
