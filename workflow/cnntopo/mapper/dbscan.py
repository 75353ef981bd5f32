"""DBSCAN with scikit-learn's labels, memory-bounded (docs/methods.md §12).

:func:`dbscan_labels` has the exact semantics of scikit-learn's ``DBSCAN`` [1]_
(same core points, same cluster numbering, same assignment of border points),
but is memory-bounded and faster (``benchmarks/bench_mapper.py``: whole Mapper
graphs 1.3-5.7x faster than KeplerMapper 2.1.0 at 5,000-50,000 x 512, identical
graphs; docs/performance.md §4): distances are computed blockwise (float32 GEMM
on centred data; pairs within a rigorous rounding bound of ``eps`` are
re-checked exactly in float64), only the lower triangle of the distance matrix
is visited, sparse blocks are kept as pair lists and dense ones as boolean
masks, and the eps-neighbour pairs are kept only while they fit a budget; past
it a second streaming pass builds the clusters with O(n) memory. The result
does not depend on the number of threads.

The input checks (:func:`as_points`, :func:`check_eps`, :func:`check_min_samples`)
are shared with :func:`cnntopo.mapper.graph.mapper_graph`.

References
----------
.. [1] Ester, M.; Kriegel, H.-P.; Sander, J.; Xu, X. 1996. A Density-Based
   Algorithm for Discovering Clusters in Large Spatial Databases with Noise. KDD.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

__all__ = ["dbscan_labels", "as_points", "check_eps", "check_min_samples", "SCAN_ROWS"]

#: Rows per chunk when scanning big arrays (finiteness checks, norms).
SCAN_ROWS = 16384
# Distance blocks: rows x columns of one float32 GEMM.
_BLOCK_ROWS = 2048
_BLOCK_COLS = 4096
# Most eps-neighbour pairs (i > j) kept in memory (two int32 each) before
# dbscan_labels switches to its two-pass streaming mode.
_PAIR_BUDGET = 25_000_000
# Pairs re-checked exactly per chunk.
_RECHECK_CHUNK = 8192
_U32 = 2.0**-24  # unit roundoff of float32


# --------------------------------------------------------------------------- checks


def as_points(X: Any, name: str = "X") -> np.ndarray:
    """Return ``X`` as a C-contiguous float32/float64 (N, d) array with finite values.

    Parameters
    ----------
    X : array-like, shape (N, d)
        Points; float32 is kept, any other dtype is cast to float64.
    name : str, default "X"
        Name used in error messages.

    Returns
    -------
    numpy.ndarray, shape (N, d), float32 or float64

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, has no column or has non-finite values.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_points, dim) array, got shape {X.shape}")
    if X.shape[1] < 1:
        raise ValueError(f"{name} must have at least one column, got shape {X.shape}")
    if X.dtype != np.float32:
        X = X.astype(np.float64, copy=False)
    X = np.ascontiguousarray(X)
    for start in range(0, X.shape[0], SCAN_ROWS):
        if not np.isfinite(X[start : start + SCAN_ROWS]).all():
            raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return X


def check_eps(eps: Any) -> float:
    """Return the DBSCAN radius ``eps`` as a float; ValueError unless positive and finite."""
    eps = float(eps)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps}")
    return eps


def check_min_samples(min_samples: Any) -> int:
    """Return DBSCAN's ``min_samples`` as an int; ValueError unless an integer >= 1."""
    if isinstance(min_samples, bool) or not isinstance(min_samples, int | np.integer):
        raise ValueError(f"min_samples must be an integer, got {min_samples!r}")
    if min_samples < 1:
        raise ValueError(f"min_samples must be >= 1, got {min_samples}")
    return int(min_samples)


@contextlib.contextmanager
def _blas_threads(n_jobs: int | None):
    """Limit BLAS threads to ``n_jobs`` (None or -1: leave as is)."""
    if n_jobs is None or n_jobs == -1:
        yield
        return
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer, -1 or None, got {n_jobs!r}")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n_jobs), user_api="blas"):
        yield


# --------------------------------------------------------------------------- DBSCAN


class _Block:
    """The exact eps-neighbour relation on one block of the lower triangle.

    ``pairs`` (global row and column indices) when the block is sparse, else
    ``mask`` (rows r0:r1 x columns c0:c1, True where within eps and j < i).
    """

    __slots__ = ("r0", "r1", "c0", "c1", "pairs", "mask")

    def __init__(self, r0, r1, c0, c1, pairs=None, mask=None):
        self.r0, self.r1, self.c0, self.c1 = r0, r1, c0, c1
        self.pairs, self.mask = pairs, mask

    def count(self, counts: np.ndarray) -> None:
        """Add each point's number of neighbours in this block to ``counts``."""
        if self.mask is None:
            pi, pj = self.pairs
            counts[self.r0 : self.r1] += np.bincount(pi - self.r0, minlength=self.r1 - self.r0)
            counts[self.c0 : self.c1] += np.bincount(pj - self.c0, minlength=self.c1 - self.c0)
        else:
            counts[self.r0 : self.r1] += np.count_nonzero(self.mask, axis=1)
            counts[self.c0 : self.c1] += np.count_nonzero(self.mask, axis=0)

    def select(self, core=None, rep=None):
        """Global (i, j) pairs of the block.

        All pairs by default; with ``core`` (boolean, all points) and ``rep``
        (int, all points): the core-core pairs with different ``rep``; with
        ``core`` only: the pairs with exactly one core end.
        """
        if self.mask is None:
            pi, pj = self.pairs
            if core is None:
                return pi, pj
            if rep is None:
                keep = core[pi] != core[pj]
            else:
                keep = core[pi] & core[pj] & (rep[pi] != rep[pj])
            return pi[keep], pj[keep]
        m = self.mask
        if core is not None:
            cr, cc = core[self.r0 : self.r1, None], core[None, self.c0 : self.c1]
            if rep is None:
                m = m & (cr != cc)
            else:
                m = m & cr & cc & (rep[self.r0 : self.r1, None] != rep[None, self.c0 : self.c1])
        ii, jj = np.nonzero(m)
        return (ii + self.r0).astype(np.int32), (jj + self.c0).astype(np.int32)


def _blocks(Xc, X32, sq, eps2, tol_coef):
    """Yield a :class:`_Block` for every block of the strict lower triangle.

    float32 GEMM on centred data decides every pair whose squared distance is
    further than a rigorous rounding bound from ``eps2``; the undecided pairs
    are recomputed exactly in float64. Sparse blocks are handled as pair lists,
    dense ones as boolean masks; both give the same relation.
    """
    n = Xc.shape[0]
    col_lo = (((1 - tol_coef) / 2) * sq).astype(np.float32)
    col_hi = (tol_coef * sq).astype(np.float32)
    for r0 in range(0, n, _BLOCK_ROWS):
        r1 = min(n, r0 + _BLOCK_ROWS)
        a_lo = (((1 - tol_coef) * sq[r0:r1] - eps2) / 2).astype(np.float32)
        a_hi = ((1 + tol_coef) * sq[r0:r1] - eps2) / 2
        a_hi32 = a_hi.astype(np.float32)
        Xr = X32[r0:r1]
        for c0 in range(0, r1, _BLOCK_COLS):
            c1 = min(r1, c0 + _BLOCK_COLS)
            G = Xr @ X32[c0:c1].T
            G -= col_lo[None, c0:c1]
            possible = G >= a_lo[:, None]
            if c1 > r0:  # touches the diagonal: keep j < i only
                possible &= np.arange(c0, c1)[None, :] < np.arange(r0, r1)[:, None]
            n_possible = np.count_nonzero(possible)
            if n_possible == 0:
                continue
            if n_possible <= possible.size // 16:
                ii, jj = np.nonzero(possible)
                g = G[ii, jj].astype(np.float64)
                gi, gj = ii + r0, jj + c0
                sure = g > a_hi[ii] + col_hi[gj]
                unsure = np.flatnonzero(~sure)
                sure[unsure] = _exact_within(Xc, gi[unsure], gj[unsure], eps2)
                yield _Block(
                    r0, r1, c0, c1, pairs=(gi[sure].astype(np.int32), gj[sure].astype(np.int32))
                )
            else:
                sure = G > (a_hi32[:, None] + col_hi[None, c0:c1])
                sure &= possible
                ii, jj = np.nonzero(possible & ~sure)
                ok = _exact_within(Xc, ii + r0, jj + c0, eps2)
                sure[ii[ok], jj[ok]] = True
                yield _Block(r0, r1, c0, c1, mask=sure)


def _exact_within(Xc, gi, gj, eps2):
    """``||Xc[gi] - Xc[gj]||^2 <= eps2`` in float64, in chunks of pairs."""
    out = np.empty(gi.size, dtype=bool)
    for s in range(0, gi.size, _RECHECK_CHUNK):
        diff = Xc[gi[s : s + _RECHECK_CHUNK]] - Xc[gj[s : s + _RECHECK_CHUNK]]
        out[s : s + _RECHECK_CHUNK] = np.einsum("ij,ij->i", diff, diff) <= eps2
    return out


def _label_clusters(n, core, ci, cj, border, border_core):
    """sklearn's DBSCAN labels from core-core edges and (border, core) pairs.

    sklearn numbers clusters in order of their smallest core point and a border
    point joins the first cluster that reaches it, i.e. the one with the smallest
    label among its core neighbours.
    """
    labels = np.full(n, -1, dtype=np.int64)
    core_idx = np.flatnonzero(core)
    if core_idx.size == 0:
        return labels
    graph = sparse.coo_matrix((np.ones(ci.size, dtype=np.int8), (ci, cj)), shape=(n, n)).tocsr()
    _, comp = connected_components(graph, directed=False)
    comp_core = comp[core_idx]
    # first occurrence (smallest index) of each component among core points
    _, first = np.unique(comp_core, return_index=True)
    order = np.argsort(core_idx[first], kind="stable")
    rank = np.empty(comp.max() + 1, dtype=np.int64)
    rank[comp_core[first[order]]] = np.arange(order.size)
    labels[core_idx] = rank[comp_core]
    if border.size:
        best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best, border, labels[border_core])
        hit = best != np.iinfo(np.int64).max
        labels[hit] = best[hit]
    return labels


def dbscan_labels(
    X: Any, eps: float, min_samples: int = 5, *, n_jobs: int | None = 1
) -> np.ndarray:
    """DBSCAN cluster labels, identical to ``sklearn.cluster.DBSCAN(eps, min_samples)``.

    A point is core when at least ``min_samples`` points (itself included) lie
    within Euclidean distance ``<= eps``; clusters are the connected components
    of core points, numbered by their smallest row index; a non-core point within
    ``eps`` of core points takes the smallest of their cluster labels; the rest
    is noise (-1). These are scikit-learn's rules, so labels agree with it except
    for pairs whose distance equals ``eps`` to ~1e-13 relative (scikit-learn's
    own float64 GEMM rounding).

    Memory is bounded: distances are computed in blocks of
    ``_BLOCK_ROWS x _BLOCK_COLS`` over the lower triangle only, neighbour pairs
    are kept only up to ``_PAIR_BUDGET`` pairs, beyond which a second pass
    recomputes the blocks and keeps O(N) state (a union of core components and
    at most ``min_samples - 1`` core neighbours per non-core point).

    Parameters
    ----------
    X : array-like, shape (N, d)
        Points; float32 is used as is, anything else as float64.
    eps : float
        Neighbourhood radius (> 0).
    min_samples : int, default 5
        Neighbourhood size, the point itself included, that makes a core point.
    n_jobs : int or None, default 1
        BLAS threads for the distance blocks (None or -1: the library default).
        The labels do not depend on it.

    Returns
    -------
    numpy.ndarray, shape (N,), int64

    Raises
    ------
    ValueError
        For ``eps <= 0``, ``min_samples < 1`` or invalid ``X``.
    """
    X = as_points(X)
    eps = check_eps(eps)
    min_samples = check_min_samples(min_samples)
    n, d = X.shape
    if n == 0:
        return np.empty(0, dtype=np.int64)
    # Centring shrinks the norms, hence the GEMM rounding error, without changing distances.
    Xc = X.astype(np.float64)
    Xc -= Xc.mean(axis=0)
    X32 = Xc.astype(np.float32)
    sq = np.einsum("ij,ij->i", Xc, Xc)
    eps2 = eps * eps
    # |fl32(d2) - d2| <= (d + 7) u (|x|^2 + |y|^2) (GEMM, casts, additions); 2x margin.
    tol_coef = 2.0 * (d + 16) * _U32

    with _blas_threads(n_jobs):
        # Pass 1: neighbour counts; keep the pairs while they fit the budget.
        counts = np.ones(n, dtype=np.int64)
        kept_i, kept_j, n_kept, over = [], [], 0, False
        for block in _blocks(Xc, X32, sq, eps2, tol_coef):
            block.count(counts)
            if not over:
                pi, pj = block.select()
                n_kept += pi.size
                if n_kept > _PAIR_BUDGET:
                    over, kept_i, kept_j = True, [], []
                else:
                    kept_i.append(pi)
                    kept_j.append(pj)
        core = counts >= min_samples
        noncore = ~core

        def split_border(pi, pj):
            # pairs with exactly one core end: (non-core point, core point)
            one = core[pi] != core[pj]
            bi, bj = pi[one], pj[one]
            b_is_i = noncore[bi]
            return np.where(b_is_i, bi, bj), np.where(b_is_i, bj, bi)

        if not over:
            pi = np.concatenate(kept_i) if kept_i else np.empty(0, dtype=np.int32)
            pj = np.concatenate(kept_j) if kept_j else np.empty(0, dtype=np.int32)
            del kept_i, kept_j
            both = core[pi] & core[pj]
            border, border_core = split_border(pi, pj)
            return _label_clusters(n, core, pi[both], pj[both], border, border_core)

        # Pass 2 (streaming): grow a spanning forest of the core components
        # (``rep``: smallest index of each point's component so far), adding only
        # edges between different components; keep the border pairs, of which
        # there are fewer than min_samples per non-core point.
        rep = np.arange(n, dtype=np.int64)
        borders, border_cores = [], []
        for block in _blocks(Xc, X32, sq, eps2, tol_coef):
            ci, cj = block.select(core, rep)
            if ci.size:
                src = np.concatenate([np.arange(n), ci])
                dst = np.concatenate([rep, cj])
                g = sparse.coo_matrix((np.ones(src.size, dtype=np.int8), (src, dst)), shape=(n, n))
                _, comp = connected_components(g.tocsr(), directed=False)
                first = np.full(comp.max() + 1, n, dtype=np.int64)
                np.minimum.at(first, comp, np.arange(n))
                rep = first[comp]
            if noncore.any():
                border, border_core = split_border(*block.select(core))
                borders.append(border)
                border_cores.append(border_core)
        forest = rep != np.arange(n)
        return _label_clusters(
            n,
            core,
            np.flatnonzero(forest),
            rep[forest],
            np.concatenate(borders) if borders else np.empty(0, dtype=np.int64),
            np.concatenate(border_cores) if borders else np.empty(0, dtype=np.int64),
        )
