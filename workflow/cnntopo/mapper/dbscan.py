"""DBSCAN with scikit-learn's labels, memory-bounded (docs/methods.md §12).

:func:`dbscan_labels` has the exact semantics of scikit-learn's ``DBSCAN`` [1]_
(same core points, same cluster numbering, same assignment of border points),
with memory linear in the points and one pass over the distance matrix
(docs/performance.md §4): each tile of the lower triangle gets its exact
eps-neighbour mask from one float32 product of augmented points (pairs within a
rigorous rounding bound of ``eps`` re-checked in float64), and from it the
neighbour counts, the pairs of points not yet core (the border points'
neighbours) and the unions of points already known to be core; a second pass
recomputes only the rows of points that became core late. No neighbour list is
kept. The same code runs with numpy on the host or with torch on any device
(``device=``, e.g. a GPU). The result does not depend on the number of threads
or on the engine.

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

__all__ = [
    "dbscan_labels",
    "resolve_device",
    "as_points",
    "check_eps",
    "check_min_samples",
    "SCAN_ROWS",
]

#: Rows per chunk when scanning big arrays (finiteness checks, norms).
SCAN_ROWS = 16384
# Points per side of a distance tile (one float32 product of _TILE x _TILE).
_TILE = 2048
# Most components among a tile's core columns for which the unions of core points
# use one product with their one-hot matrix instead of listing the pairs.
_HIT_COMPONENTS = 64
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


def _check_n_jobs(n_jobs: Any) -> None:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer, -1 or None, got {n_jobs!r}")


@contextlib.contextmanager
def _blas_threads(n_jobs: int | None):
    """Limit BLAS threads to ``n_jobs`` (None or -1: leave as is)."""
    if n_jobs is None or n_jobs == -1:
        yield
        return
    _check_n_jobs(n_jobs)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n_jobs), user_api="blas"):
        yield


# --------------------------------------------------------------------------- engines


class _NumpyEngine:
    """Distance tiles with numpy (BLAS float32 GEMM) on the host."""

    name = "numpy"

    def __init__(self, n_jobs):
        self.n_jobs = n_jobs

    def context(self):
        return _blas_threads(self.n_jobs)

    def put(self, a):
        return a

    def take(self, a, sel):
        return a[sel]

    def numpy(self, a):
        return np.asarray(a)

    def f32(self, a):
        return a.astype(np.float32)

    def sums(self, a, axis: int) -> np.ndarray:
        """Number of True per row (axis 1) or column (axis 0) of a boolean array, int64."""
        return a.view(np.uint8).sum(axis=axis, dtype=np.int32).astype(np.int64)

    def nonzero(self, a):
        return np.nonzero(a)

    def set_true(self, a, ii, jj):
        a[ii, jj] = True


class _TorchEngine(_NumpyEngine):
    """The same tiles with torch on ``device`` ("cpu", "cuda", "cuda:1", ...).

    float32 matrix products run in full float32 (TF32 and reduced-precision
    reductions off), so the rounding bound of :func:`dbscan_labels` holds.
    """

    name = "torch"

    def __init__(self, n_jobs, device):
        import torch

        self.torch = torch
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} requested but torch sees no CUDA device; "
                "use device='cpu' or mapper.graph.device: auto"
            )
        self.n_jobs = n_jobs

    @contextlib.contextmanager
    def context(self):
        torch = self.torch
        threads = torch.get_num_threads()
        tf32 = torch.backends.cuda.matmul.allow_tf32
        precision = torch.get_float32_matmul_precision()
        try:
            if self.n_jobs not in (None, -1):
                _check_n_jobs(self.n_jobs)
                torch.set_num_threads(int(self.n_jobs))
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.set_float32_matmul_precision("highest")
            yield
        finally:
            torch.set_num_threads(threads)
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.set_float32_matmul_precision(precision)

    def put(self, a):
        return self.torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def take(self, a, sel):
        if isinstance(sel, slice):
            return a[sel]
        return a[self.torch.from_numpy(np.asarray(sel, dtype=np.int64)).to(self.device)]

    def numpy(self, a):
        return a.cpu().numpy()

    def f32(self, a):
        return a.float()

    def sums(self, a, axis: int) -> np.ndarray:
        return a.sum(dim=axis).cpu().numpy().astype(np.int64)

    def nonzero(self, a):
        return tuple(t.cpu().numpy() for t in self.torch.nonzero(a, as_tuple=True))

    def set_true(self, a, ii, jj):
        t = self.torch
        a[t.from_numpy(ii).to(self.device), t.from_numpy(jj).to(self.device)] = True


def resolve_device(device: str | None) -> str | None:
    """The engine of :func:`dbscan_labels` for the config's ``mapper.graph.device``.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or None or a torch device string
        ``"auto"``: ``"cuda"`` when torch is installed and sees a CUDA device, else
        None; ``"cpu"`` and None: None (numpy); anything else is returned as is
        (a torch device, checked when used).

    Returns
    -------
    str or None
        None = numpy on the host; otherwise a torch device.
    """
    if device in (None, "cpu"):
        return None
    if device == "auto":
        try:
            import torch
        except ImportError:
            return None
        return "cuda" if torch.cuda.is_available() else None
    return str(device)


class _Tiles:
    """Exact eps-neighbour masks between row and column sets of the points.

    Rows are augmented as ``u = [x, -|x|^2/2, 1]`` and columns as ``v = [x, 1,
    -|x|^2/2]`` (float32, centred data), so one float32 product gives ``u . v =
    -d^2/2`` and the test ``d <= eps`` is one comparison per pair. A rigorous bound
    of the rounding error (``(d + 7) u (|x|^2 + |y|^2)`` on ``u . v``, used with a 2x
    margin, ``u = 2^-24``) decides every pair outside a thin band around ``eps``;
    the pairs inside it are recomputed exactly in float64 on the host.
    """

    def __init__(self, engine, Xc: np.ndarray, eps: float):
        n, d = Xc.shape
        self.engine, self.Xc = engine, Xc
        self.sq = np.einsum("ij,ij->i", Xc, Xc)
        self.eps2 = eps * eps
        self.coef = 2.0 * (d + 16) * _U32
        # zero columns up to a multiple of 16: faster products, same rounding
        U = np.zeros((n, -(-(d + 2) // 16) * 16), dtype=np.float32)
        U[:, :d] = Xc
        U[:, d] = -self.sq / 2
        U[:, d + 1] = 1.0
        V = U.copy()
        V[:, d], V[:, d + 1] = 1.0, U[:, d]
        self.U, self.V = engine.put(U), engine.put(V)

    def mask(self, rows, cols):
        """Exact boolean mask ``|x_i - x_j| <= eps`` for ``i`` in rows, ``j`` in cols.

        ``rows``/``cols``: a slice or an index array. Returns an engine array.
        """
        e = self.engine
        G = e.take(self.U, rows) @ e.take(self.V, cols).T
        tol = self.coef * (self.sq[rows].max() + self.sq[cols].max())
        # thresholds rounded outwards to float32, the precision of the comparisons
        hi = float(np.nextafter(np.float32(-self.eps2 / 2 + tol), np.float32(np.inf)))
        lo = float(np.nextafter(np.float32(-self.eps2 / 2 - tol), np.float32(-np.inf)))
        S = G >= hi
        B = G >= lo  # S plus the undecided band
        rows_b = np.flatnonzero(e.sums(B, 1) != e.sums(S, 1))
        if rows_b.size:
            ii, jj = e.nonzero(e.take(B, rows_b) & ~e.take(S, rows_b))
            ii = rows_b[ii]
            ok = _exact_within(self.Xc, _global(rows, ii), _global(cols, jj), self.eps2)
            if ok.any():
                e.set_true(S, ii[ok], jj[ok])
        return S


def _global(sel, ii: np.ndarray) -> np.ndarray:
    """Global indices of positions ``ii`` of a row/column set (slice or index array)."""
    if isinstance(sel, slice):
        return ii.astype(np.int64) + sel.start
    return np.asarray(sel)[ii]


def _exact_within(Xc, gi, gj, eps2):
    """``||Xc[gi] - Xc[gj]||^2 <= eps2`` in float64, in chunks of pairs."""
    out = np.empty(gi.size, dtype=bool)
    for s in range(0, gi.size, _RECHECK_CHUNK):
        diff = Xc[gi[s : s + _RECHECK_CHUNK]] - Xc[gj[s : s + _RECHECK_CHUNK]]
        out[s : s + _RECHECK_CHUNK] = np.einsum("ij,ij->i", diff, diff) <= eps2
    return out


class _Forest:
    """Connected components of core points, grown by unions; ``rep`` = smallest member."""

    def __init__(self, n: int):
        self.rep = np.arange(n, dtype=np.int64)
        self._lut = np.arange(n, dtype=np.int64)

    def union(self, a: np.ndarray, b: np.ndarray) -> None:
        """Merge the components of ``a[k]`` and ``b[k]`` for every k (O(N + pairs))."""
        ra, rb = self.rep[a], self.rep[b]
        keep = ra != rb
        if not keep.any():
            return
        ra, rb = ra[keep], rb[keep]
        mark = np.zeros(self.rep.size, dtype=bool)
        mark[ra] = mark[rb] = True
        nodes = np.flatnonzero(mark)  # representatives involved, ascending
        self._lut[nodes] = np.arange(nodes.size)
        g = sparse.coo_matrix(
            (np.ones(ra.size, dtype=np.int8), (self._lut[ra], self._lut[rb])),
            shape=(nodes.size, nodes.size),
        )
        _, lab = connected_components(g.tocsr(), directed=False)
        first = np.full(lab.max() + 1, self.rep.size, dtype=np.int64)
        np.minimum.at(first, lab, nodes)  # each node is the smallest of its component
        self._lut[nodes] = first[lab]
        self.rep = self._lut[self.rep]
        self._lut[nodes] = nodes

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """A spanning set of edges: every point to its representative."""
        linked = np.flatnonzero(self.rep != np.arange(self.rep.size))
        return linked, self.rep[linked]


def _tile_pairs(n: int):
    """The (rows, columns) slices of the lower triangle of tiles, diagonal included."""
    for r0 in range(0, n, _TILE):
        for c0 in range(0, r0 + 1, _TILE):
            yield slice(r0, min(n, r0 + _TILE)), slice(c0, min(n, c0 + _TILE))


def _union_core(engine, forest, S, rows, cols, core_r, core_c):
    """Union every (core row, core column) pair of the exact mask ``S`` of one tile.

    With few components among the core columns, one product ``S P`` with their
    one-hot matrix ``P`` says which component each row touches; otherwise the
    components of the tile's core pairs (:func:`_bipartite_components`) are merged.
    """
    kr, kc = np.flatnonzero(core_r), np.flatnonzero(core_c)
    if kr.size == 0 or kc.size == 0:
        return
    comps, inv = np.unique(forest.rep[_global(cols, kc)], return_inverse=True)
    if comps.size <= _HIT_COMPONENTS:
        P = np.zeros((core_c.size, comps.size), dtype=np.float32)
        P[kc, inv] = 1.0
        hits = engine.numpy(engine.f32(engine.take(S, kr)) @ engine.put(P)) > 0
        ii, kk = np.nonzero(hits)
        forest.union(_global(rows, kr[ii]), comps[kk])
    else:  # components of the tile's core pairs, rows and columns as nodes
        M = engine.numpy(engine.take(engine.take(S, kr).T, kc).T)
        lab_r, lab_c = _bipartite_components(M)
        ends = np.concatenate([_global(rows, kr), _global(cols, kc)])
        lab = np.concatenate([lab_r, lab_c])
        linked = lab >= 0
        first = np.full(lab.max() + 1, lab.size, dtype=np.int64)
        np.minimum.at(first, lab[linked], np.flatnonzero(linked))
        forest.union(ends[linked], ends[first[lab[linked]]])


def _bipartite_components(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of the bipartite graph of a boolean matrix (R, C).

    Breadth-first from each unlabelled row, a whole frontier per step, so the cost is
    O(R C) however dense ``M`` is. Returns the component of every row (R,) and column
    (C,); -1 for a column without any True.
    """
    MT = np.ascontiguousarray(M.T)
    lab_r = np.full(M.shape[0], -1, dtype=np.int64)
    lab_c = np.full(M.shape[1], -1, dtype=np.int64)
    k = 0
    for seed in range(M.shape[0]):
        if lab_r[seed] >= 0:
            continue
        lab_r[seed] = k
        front = np.array([seed])
        while front.size:
            new_c = np.flatnonzero(M[front].any(axis=0) & (lab_c < 0))
            lab_c[new_c] = k
            front = np.flatnonzero(MT[new_c].any(axis=0) & (lab_r < 0))
            lab_r[front] = k
        k += 1
    return lab_r, lab_c


def _cluster(tiles, n: int, min_samples: int):
    """sklearn's DBSCAN labels of the ``n`` points of ``tiles`` (see :func:`dbscan_labels`)."""
    engine = tiles.engine
    never = np.iinfo(np.int64).max
    counts = np.zeros(n, dtype=np.int64)  # neighbours so far, the point itself included
    known = np.full(n, never, dtype=np.int64)  # tile step after which a point is surely core
    forest = _Forest(n)
    low_p, low_q = [], []  # all pairs of points that are not (yet) core
    for step, (R, C) in enumerate(_tile_pairs(n)):
        diag = R.start == C.start
        S = tiles.mask(R, C)
        rc = engine.sums(S, 1)
        counts[R] += rc
        sides = [(R, C, rc, S)]
        if not diag:
            cc = engine.sums(S, 0)
            counts[C] += cc
            sides.append((C, R, cc, S.T))
        for own, other, cnt, M in sides:
            now = counts[own]
            known[own][(now >= min_samples) & (known[own] == never)] = step
            low = np.flatnonzero((now < min_samples) & (cnt > 0))
            if low.size:  # fewer than min_samples pairs each, over all tiles
                ii, jj = engine.nonzero(engine.take(M, low))
                low_p.append(_global(own, low[ii]))
                low_q.append(_global(other, jj))
        _union_core(engine, forest, S, R, C, counts[R] >= min_samples, counts[C] >= min_samples)
    core = counts >= min_samples
    # Core pairs missed above: one end not yet known as core when its tile was done.
    for step, (R, C) in enumerate(_tile_pairs(n)):
        late_r = np.flatnonzero(core[R] & (known[R] > step))
        late_c = np.flatnonzero(core[C] & (known[C] > step)) if R != C else late_r[:0]
        if late_r.size:
            ii, jj = engine.nonzero(tiles.mask(_global(R, late_r), C))
            keep = core[_global(C, jj)]
            forest.union(_global(R, late_r[ii[keep]]), _global(C, jj[keep]))
        if late_c.size:
            ii, jj = engine.nonzero(tiles.mask(R, _global(C, late_c)))
            keep = core[_global(R, ii)]
            forest.union(_global(R, ii[keep]), _global(C, late_c[jj[keep]]))
    p = np.concatenate(low_p) if low_p else np.empty(0, dtype=np.int64)
    q = np.concatenate(low_q) if low_q else np.empty(0, dtype=np.int64)
    border = ~core[p] & core[q]
    ci, cj = forest.edges()
    return _label_clusters(n, core, ci, cj, p[border], q[border])


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
    X: Any,
    eps: float,
    min_samples: int = 5,
    *,
    n_jobs: int | None = 1,
    device: str | None = None,
) -> np.ndarray:
    """DBSCAN cluster labels, identical to ``sklearn.cluster.DBSCAN(eps, min_samples)``.

    A point is core when at least ``min_samples`` points (itself included) lie
    within Euclidean distance ``<= eps``; clusters are the connected components
    of core points, numbered by their smallest row index; a non-core point within
    ``eps`` of core points takes the smallest of their cluster labels; the rest
    is noise (-1). These are scikit-learn's rules, so labels agree with it except
    for pairs whose distance equals ``eps`` to ~1e-13 relative (scikit-learn's
    own float64 GEMM rounding).

    One pass over the tiles (``_TILE`` x ``_TILE`` points) of the lower triangle of
    the distance matrix computes each tile's exact neighbour mask once (float32
    product, float64 re-check near ``eps``) and from it: the neighbour counts; every
    pair of points that are not yet core (fewer than ``min_samples`` each, so
    O(N min_samples) memory: the border points' neighbours); and the unions of the
    points known to be core by then (counts only grow). A second pass recomputes
    only the rows and columns of points that became core after a tile that held
    some of their neighbours (none on dense clouds). Memory is O(N d) plus a few
    tiles, whatever the number of neighbour pairs.

    Parameters
    ----------
    X : array-like, shape (N, d)
        Points; float32 is used as is, anything else as float64.
    eps : float
        Neighbourhood radius (> 0).
    min_samples : int, default 5
        Neighbourhood size, the point itself included, that makes a core point.
    n_jobs : int or None, default 1
        BLAS (or torch) threads (None or -1: the library default). The labels do
        not depend on it.
    device : str or None, default None
        None: numpy on the host. A torch device ("cpu", "cuda", ...): the same
        algorithm with torch tensors on that device (full float32 products, TF32
        off); the labels are the same. See :func:`resolve_device`.

    Returns
    -------
    numpy.ndarray, shape (N,), int64

    Raises
    ------
    ValueError
        For ``eps <= 0``, ``min_samples < 1``, invalid ``X`` or ``n_jobs``, or a
        CUDA device torch cannot see.
    """
    X = as_points(X)
    eps = check_eps(eps)
    min_samples = check_min_samples(min_samples)
    if n_jobs not in (None, -1):
        _check_n_jobs(n_jobs)
    n = X.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    engine = _NumpyEngine(n_jobs) if device is None else _TorchEngine(n_jobs, device)
    # Centring shrinks the norms, hence the rounding error, without changing distances.
    Xc = X.astype(np.float64)
    Xc -= Xc.mean(axis=0)
    with engine.context():
        return _cluster(_Tiles(engine, Xc, eps), n, min_samples)
