"""The Mapper algorithm as used by the paper (docs/methods.md §12).

Mapper [1]_ summarises a point cloud ``X`` (here: CNN activations, one row per
point) by a graph. A 1-D *lens* (filter) ``f: X -> R`` is covered by overlapping
intervals; the points whose lens value falls in an interval are clustered in the
original space with DBSCAN; every cluster becomes a node, and two nodes are joined
when they share at least one point (the 1-skeleton of the nerve).

The paper used the Python core of Mapper Interactive [2]_ (a fork of KeplerMapper
[3]_) vendored in the authors' ``AAAI-code-mapper`` folder. Its settings, all
reproduced here:

- lens ``"l2norm"``: the Euclidean norm of each row, min-max scaled to [0, 1]
  (KeplerMapper's default ``MinMaxScaler``), see :func:`l2norm_lens`;
- cover: ``n_intervals`` closed intervals with fractional overlap ``overlap``,
  see :func:`cover_intervals` (``cover="paper"`` is the vendored formula,
  ``cover="kmapper"`` is KeplerMapper 2.1.0's);
- intervals holding fewer than ``min_samples`` points are skipped;
- clustering: DBSCAN (Euclidean, ``eps``, ``min_samples=5``), noise dropped, by
  :func:`cnntopo.mapper.dbscan.dbscan_labels` (scikit-learn's labels,
  memory-bounded; re-exported here);
- nerve: an edge whenever two clusters share >= 1 point, no duplicate-node removal;
- ``eps`` defaults to the knee of the sorted 1-NN distances, see :func:`knee_eps`
  (Kneedle [4]_); the distances are exact by default, or (``method="approx"``, large
  clouds) exact only where Kneedle reads them: the top of the sorted curve, found
  through bucketed upper bounds, with a uniform sample for the rest.

Output format (verified against the vendored ``mapper_CLI.get_mapper_graph``,
``kmapper.map`` and ``nerve.GraphNerve``): a JSON-ready dict

``nodes``
    ``{"cube{i}_cluster{j}": {"vertices": [...], "categorical_cols_summary":
    {"label": {class: count}}, "avgs": {"lens": mean lens}}}``. ``i`` counts the
    *non-empty* intervals in order (KeplerMapper's ``Cover.transform`` drops empty
    intervals before enumerating them, so with empty intervals ``i`` is not the
    interval index; ``meta["cube_intervals"][i]`` gives the interval index), ``j``
    is the DBSCAN label. ``vertices`` are the sorted row indices. Class counts are
    pandas ``value_counts().to_dict()`` in the original: only classes present in
    the node (no zero counts), ordered by decreasing count (ties: class id). The
    class key is the class *name* in the original CSVs (``label_names[k]`` here),
    else ``str(k)``. ``avgs.lens`` is the mean of the (scaled) lens over the node.
``edges``
    Adjacency lists as written by ``GraphNerve``: ``{a: [b, ...]}`` where each
    unordered pair appears once, under the node ``a`` that comes first in node
    order (cube, then cluster label), and nodes without a later neighbour are
    absent.
``categorical_cols``
    ``["label"]``.
``numerical_col_keys``
    ``["lens"]``.
``meta``
    Provenance added by cnntopo (Mapper Interactive ignores unknown keys).

References
----------
.. [1] Singh, G.; Mémoli, F.; Carlsson, G. 2007. Topological Methods for the
   Analysis of High Dimensional Data Sets and 3D Object Recognition.
   Eurographics Symposium on Point-Based Graphics.
.. [2] Zhou, Y.; Chalapathi, N.; Rathore, A.; Zhao, Y.; Wang, B. 2021. Mapper
   Interactive: A Scalable, Extendable, and Interactive Toolbox for the Visual
   Exploration of High-Dimensional Data. IEEE PacificVis. arXiv:2011.03209.
.. [3] van Veen, H. J.; Saul, N.; Eargle, D.; Mangham, S. W. 2019. Kepler
   Mapper: A flexible Python implementation of the Mapper algorithm. Journal of
   Open Source Software 4(42): 1315. (``kmapper`` 2.1.0.)
.. [4] Satopää, V.; Albrecht, J.; Irwin, D.; Raghavan, B. 2011. Finding a
   "Kneedle" in a Haystack: Detecting Knee Points in System Behavior. ICDCS
   Workshops. (``kneed``.)
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from cnntopo.mapper.dbscan import SCAN_ROWS, as_points, check_eps, check_min_samples, dbscan_labels
from cnntopo.progress import Progress

__all__ = [
    "l2norm_lens",
    "cover_intervals",
    "knee_eps",
    "knn_distances",
    "resolve_knn_method",
    "with_predictions",
    "dbscan_labels",
    "mapper_graph",
    "graph_stats",
    "graph_to_networkx",
    "COVERS",
    "KNN_METHODS",
    "APPROX_BUCKET",
    "APPROX_SAMPLE",
    "APPROX_MAX_SHARE",
]

#: Cover formulas accepted by :func:`cover_intervals` and :func:`mapper_graph`.
COVERS = ("paper", "kmapper")

#: Neighbour searches of :func:`knee_eps` and :func:`knn_distances`.
KNN_METHODS = ("exact", "approx")

#: Mean points per bucket of the approximate knee's upper-bound pass: every point is
#: bucketed by its nearest of ``N // APPROX_BUCKET`` seeded sample points, and its
#: nearest neighbour within the bucket bounds its 1-NN distance from above.
APPROX_BUCKET = 1024
#: Size of the seeded uniform sample of points whose exact 1-NN distances stand for the
#: bulk of the curve (below its exact tail) in the approximate knee, and of the query
#: sample of the approximate k-NN curve (:func:`knn_distances`).
APPROX_SAMPLE = 5000
#: Most points whose exact 1-NN distance the approximate knee computes (sample and tail
#: together), as a share of N; past it the knee is taken on the estimated curve.
APPROX_MAX_SHARE = 0.2


# --------------------------------------------------------------------------- checks


def _as_lens(lens: Any, n: int | None = None) -> np.ndarray:
    lens = np.asarray(lens, dtype=np.float64)
    if lens.ndim == 2 and lens.shape[1] == 1:
        lens = lens[:, 0]
    if lens.ndim != 1:
        raise ValueError(f"lens must be a 1-D array of length n_points, got shape {lens.shape}")
    if lens.size == 0:
        raise ValueError("lens is empty")
    if n is not None and lens.shape[0] != n:
        raise ValueError(f"lens has {lens.shape[0]} values but X has {n} rows")
    if not np.isfinite(lens).all():
        raise ValueError("lens contains non-finite values (nan or inf)")
    return np.ascontiguousarray(lens)


def _check_cover_args(n_intervals: Any, overlap: Any, cover: Any) -> tuple[int, float]:
    if isinstance(n_intervals, bool) or not isinstance(n_intervals, int | np.integer):
        raise ValueError(f"n_intervals must be an integer, got {n_intervals!r}")
    if n_intervals < 1:
        raise ValueError(f"n_intervals must be >= 1, got {n_intervals}")
    overlap = float(overlap)
    if not (0.0 <= overlap < 1.0):
        raise ValueError(
            f"overlap must be a fraction in [0, 1), got {overlap} "
            "(convert a percentage with overlap / 100)"
        )
    if cover not in COVERS:
        raise ValueError(f"unknown cover {cover!r}; expected one of {COVERS}")
    return int(n_intervals), overlap


# --------------------------------------------------------------------------- lens


def _row_norms(X: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row in float64, like ``np.linalg.norm(X, axis=1)``."""
    out = np.empty(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], SCAN_ROWS):
        block = X[start : start + SCAN_ROWS].astype(np.float64)
        out[start : start + SCAN_ROWS] = np.sqrt(np.add.reduce(block * block, axis=1))
    return out


def _minmax(v: np.ndarray) -> np.ndarray:
    """``sklearn.preprocessing.MinMaxScaler().fit_transform`` on one column."""
    vmin, vmax = v.min(), v.max()
    data_range = vmax - vmin
    scale = 1.0 / data_range if data_range != 0 else 1.0  # sklearn's _handle_zeros_in_scale
    return v * scale + (0.0 - vmin * scale)


def l2norm_lens(X: Any) -> np.ndarray:
    """The paper's lens: the l2 norm of each row, min-max scaled to [0, 1].

    Parameters
    ----------
    X : array-like, shape (N, d)
        Points (rows). float32 input is not copied as a whole; norms are
        accumulated in float64 (the paper cast its activations to float64).

    Returns
    -------
    numpy.ndarray, shape (N,), float64
        ``(||x|| - min) / (max - min)`` computed like scikit-learn's
        ``MinMaxScaler`` (KeplerMapper's default scaler). A constant lens gives
        zeros.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, is empty or has non-finite values.
    """
    X = as_points(X)
    if X.shape[0] == 0:
        raise ValueError("X has no rows")
    return _minmax(_row_norms(X))


# --------------------------------------------------------------------------- cover


def cover_intervals(
    lens: Any, n_intervals: int = 40, overlap: float = 0.3, cover: str = "paper"
) -> list[tuple[float, float]]:
    """Closed intervals covering ``[min(lens), max(lens)]``.

    With ``m = min(lens)``, ``M = max(lens)``, ``R = M - m``, ``n = n_intervals``
    and ``p = overlap``:

    ``cover="paper"`` (the vendored Mapper Interactive / old KeplerMapper
    ``Cover``, docs/methods.md §12)
        radius ``r = R / (2 (n - (n - 1) p))``, centres
        ``linspace(m + r, M - r, n)``, so the intervals tile ``[m, M]`` exactly
        and adjacent intervals share the fraction ``p`` of their width.
        n=40, p=0.3 on [0, 1]: r = 0.017668, width 0.0353, spacing 0.0247.
    ``cover="kmapper"`` (KeplerMapper 2.1.0 ``Cover(n_cubes, perc_overlap)``)
        radius ``r = R / (2 n (1 - p))``, centres ``linspace(m + R/(2n),
        M - R/(2n), n)`` (the same float operations as kmapper, so memberships
        match it bit for bit).

    Interval ``k`` is ``[c_k - r, c_k + r]``; a point belongs to it when
    ``c_k - r <= f(x) <= c_k + r``.

    Parameters
    ----------
    lens : array-like, shape (N,)
        Lens values (finite).
    n_intervals : int, default 40
        Number of intervals (>= 1).
    overlap : float, default 0.3
        Fractional overlap in [0, 1) (a percentage must be divided by 100).
    cover : {"paper", "kmapper"}, default "paper"

    Returns
    -------
    list of (float, float)
        ``(lo, hi)`` per interval, in increasing order.

    Raises
    ------
    ValueError
        For an empty or non-finite lens, ``n_intervals < 1``, ``overlap``
        outside [0, 1) or an unknown ``cover``.
    """
    n, p = _check_cover_args(n_intervals, overlap, cover)
    lens = _as_lens(lens)
    lo, hi = np.min(lens), np.max(lens)
    rng = hi - lo
    if cover == "paper":
        radius = rng / (2 * (n - (n - 1) * p))
        centres = np.linspace(lo + radius, hi - radius, num=n)
    else:
        inner_range = ((n - 1) / n) * rng
        inset = (rng - inner_range) / 2
        radius = rng / (2 * n * (1 - p))
        centres = np.linspace(lo + inset, hi - inset, num=n)
    return [(float(c - radius), float(c + radius)) for c in centres]


def _interval_members(lens: np.ndarray, intervals: Sequence[tuple[float, float]]):
    """Sorted row indices with ``lo <= lens <= hi``, per interval."""
    order = np.argsort(lens, kind="stable")
    sorted_lens = lens[order]
    out = []
    for lo, hi in intervals:
        a = np.searchsorted(sorted_lens, lo, side="left")
        b = np.searchsorted(sorted_lens, hi, side="right")
        out.append(np.sort(order[a:b]))
    return out


# --------------------------------------------------------------------------- eps


def _check_knn_method(method: Any) -> str:
    if method not in KNN_METHODS:
        raise ValueError(f"unknown k-NN method {method!r}; expected one of {KNN_METHODS}")
    return method


def resolve_knn_method(method: str, n_points: int, approx_above: int) -> str:
    """The neighbour search used for a cloud: ``"auto"`` picks by size.

    Parameters
    ----------
    method : {"exact", "approx", "auto"}
        ``"auto"`` = ``"approx"`` when ``n_points > approx_above``, else ``"exact"``.
    n_points : int
        Points of the cloud.
    approx_above : int
        Threshold of ``"auto"``.

    Returns
    -------
    {"exact", "approx"}

    Raises
    ------
    ValueError
        For an unknown ``method``.

    Examples
    --------
    >>> resolve_knn_method("auto", 800_000, 100_000), resolve_knn_method("auto", 50_000, 100_000)
    ('approx', 'exact')
    """
    if method == "auto":
        return "approx" if int(n_points) > int(approx_above) else "exact"
    return _check_knn_method(method)


def _exact_other_distances(nn: Any, X: np.ndarray, rows: np.ndarray, n_others: int) -> np.ndarray:
    """Exact distances from ``X[rows]`` to their ``n_others`` nearest *other* points.

    Parameters
    ----------
    nn : sklearn.neighbors.NearestNeighbors
        Fitted on all of ``X``.
    X : numpy.ndarray, shape (N, d)
    rows : numpy.ndarray of int, shape (Q,)
        Query rows.
    n_others : int
        Neighbours per query, the point itself excluded by index (a duplicate stays a
        neighbour at 0), ``1 <= n_others < N``.

    Returns
    -------
    numpy.ndarray, shape (Q, n_others), float64
        Ascending per row; the same search (and distances) as the exact method.
    """
    k = int(n_others) + 1
    if rows.size == 0:
        return np.empty((0, k - 1))
    dist, ind = nn.kneighbors(X[rows], n_neighbors=k, return_distance=True)
    keep = ind != rows[:, None]
    # the point itself is not among the k when k points coincide with it: drop the last
    keep[keep.all(axis=1), -1] = False
    return dist[keep].reshape(rows.size, k - 1).astype(np.float64)


def _bucket_upper_bounds(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Upper bounds of every point's 1-NN distance from a bucketed search, shape (N,).

    Points are bucketed by their nearest centre (``N // APPROX_BUCKET`` points drawn with
    ``rng``, float32 GEMM); within a bucket each point's nearest other member is found
    in float32 and its distance recomputed in float64, so every bound is the distance to
    a real other point (>= the exact 1-NN distance; ``inf`` alone in a bucket). One BLAS
    thread, so the bounds do not depend on the thread count.
    """
    from threadpoolctl import threadpool_limits

    n = X.shape[0]
    n_buckets = max(1, n // APPROX_BUCKET)
    sq = np.einsum("ij,ij->i", X, X, dtype=np.float64).astype(np.float32)
    upper = np.full(n, np.inf)
    with threadpool_limits(limits=1, user_api="blas"):
        centres = X[rng.choice(n, size=n_buckets, replace=False)].astype(np.float32)
        csq = np.einsum("ij,ij->i", centres, centres)
        bucket = np.empty(n, dtype=np.int64)
        for s in range(0, n, SCAN_ROWS):
            block = X[s : s + SCAN_ROWS].astype(np.float32, copy=False)
            bucket[s : s + SCAN_ROWS] = np.argmin(csq[None, :] - 2.0 * (block @ centres.T), 1)
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
        for b in range(n_buckets):
            idx = order[bounds[b] : bounds[b + 1]]
            if idx.size < 2:
                continue
            sub = X[idx].astype(np.float32, copy=False)
            for s in range(0, idx.size, 2048):
                d2 = sq[idx[s : s + 2048], None] + sq[None, idx] - 2.0 * (sub[s : s + 2048] @ sub.T)
                d2[np.arange(d2.shape[0]), np.arange(s, s + d2.shape[0])] = np.inf
                j = idx[np.argmin(d2, axis=1)]
                diff = X[idx[s : s + 2048]].astype(np.float64) - X[j].astype(np.float64)
                upper[idx[s : s + 2048]] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return upper


def _kneedle(desc: np.ndarray) -> tuple[float | None, int]:
    """The official Kneedle call on a descending curve: (knee, last index it read).

    ``kneed.KneeLocator(desc, linspace(0, 1, N), curve="convex", direction="decreasing")``
    walks the difference curve from the largest distance and stops at the first knee:
    at index ``j``, after the knee's local maximum ``t``, where the difference drops below
    that maximum's threshold. The result depends on ``desc[: j + 3]`` (local extrema
    compare neighbours) and on ``desc``'s minimum, maximum and length only (the
    normalisation). Without a knee the whole curve was read (``N - 1``).
    """
    import kneed

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        kl = kneed.KneeLocator(
            desc, np.linspace(0, 1, num=len(desc)), curve="convex", direction="decreasing"
        )
    if kl.knee is None:
        return None, len(desc) - 1
    maxima = np.flatnonzero(desc[kl.maxima_indices] == kl.knee)
    m = int(maxima[-1]) if maxima.size else 0
    t = int(kl.maxima_indices[m])
    below = np.flatnonzero(kl.y_difference[t + 1 :] < kl.Tmx[m])
    return float(kl.knee), (t + 1 + int(below[0])) if below.size else len(desc) - 1


def _approx_nn_curve(
    X: np.ndarray, seed: int, n_jobs: int | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """The 1-NN distance curve of the approximate knee: exact tail, sampled bulk.

    1. Exact 1-NN distances (the exact method's search) of a seeded uniform sample of
       :data:`APPROX_SAMPLE` points.
    2. Upper bounds ``u_i >= d_i`` of every point (:func:`_bucket_upper_bounds`).
    3. Exact distances of the points in decreasing ``u``, in doubling blocks. With
       ``level`` = the largest bound not yet resolved, every point with ``d_i > level``
       is resolved, so the curve above ``level`` (its *tail*) is the exact curve.
    4. The curve is that tail followed by the bulk: ``N - tail`` values, the quantiles
       of the sample's distances ``<= level`` (an unbiased estimate of the exact bulk),
       whose minimum is replaced by the smallest exact distance seen (the 64 smallest
       bounds are resolved for it).
    5. Stop when Kneedle (:func:`_kneedle`) reads only the exact tail (its knee is then
       the exact curve's, up to the minimum of the normalisation), or when
       :data:`APPROX_MAX_SHARE` of the points have been resolved.

    Returns
    -------
    curve : numpy.ndarray, shape (N,), float64
        Descending.
    info : dict
        ``tail`` (exact values at the top), ``resolved`` (exact searches), ``certified``
        (Kneedle read only the exact tail).
    """
    from sklearn.neighbors import NearestNeighbors

    n = X.shape[0]
    nn = NearestNeighbors(n_neighbors=2, n_jobs=n_jobs).fit(X)
    if n <= 2 * APPROX_SAMPLE:
        d = _exact_other_distances(nn, X, np.arange(n), 1)[:, 0]
        return np.sort(d)[::-1], {"tail": n, "resolved": n, "certified": True}
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=APPROX_SAMPLE, replace=False))
    d = np.full(n, np.nan)
    d[sample] = _exact_other_distances(nn, X, sample, 1)[:, 0]
    upper = _bucket_upper_bounds(X, rng)
    upper[sample] = d[sample]
    # The minimum enters Kneedle's normalisation, where even its last bits can move the
    # knee: resolve the smallest bounds with the exact search (the closest pair is almost
    # always within a bucket), so it is the exact method's value.
    low = np.sort(np.argsort(upper, kind="stable")[:64])
    d[low] = _exact_other_distances(nn, X, low, 1)[:, 0]
    upper[low] = d[low]
    d_min = float(np.nanmin(d))
    order = np.argsort(-upper, kind="stable")
    done, block, budget = 0, 1024, max(int(APPROX_MAX_SHARE * n), APPROX_SAMPLE)
    while True:
        todo = order[done : done + block]
        todo = np.sort(todo[np.isnan(d[todo])])
        d[todo] = _exact_other_distances(nn, X, todo, 1)[:, 0]
        done = min(done + block, n)
        level = upper[order[done]] if done < n else -np.inf
        tail = np.sort(d[~np.isnan(d) & (d > level)])[::-1]
        bulk = d[sample][d[sample] <= level]
        n_bulk = n - tail.size
        if n_bulk and bulk.size:
            bulk = np.quantile(bulk, np.linspace(1.0, 0.0, n_bulk))
            bulk[-1] = min(bulk[-1], d_min)
        elif n_bulk:  # no sampled point below the level: flat at the level
            bulk = np.full(n_bulk, level)
        curve = np.concatenate([tail, bulk])
        knee, read = _kneedle(curve) if curve[0] != curve[-1] else (None, n - 1)
        certified = read + 2 < tail.size or tail.size == n
        resolved = int(np.count_nonzero(~np.isnan(d)))
        if certified or resolved >= budget or done >= n:
            return curve, {"tail": int(tail.size), "resolved": resolved, "certified": certified}
        block *= 2


def knee_eps(X: Any, *, method: str = "exact", seed: int = 0, n_jobs: int | None = 1) -> float:
    """DBSCAN ``eps`` from the knee of the sorted nearest-neighbour distances.

    The official ``get_knn.elbow_eps`` (docs/methods.md §12) does::

        d = NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)[0]   # col 1: 1-NN
        d = sort(d, axis=0)[::-1]                                      # descending
        knee = KneeLocator(d[:, 1], linspace(0, 1, N),
                           curve="convex", direction="decreasing").knee
        eps = knee if knee else d[:, 1] sorted ascending [N // 2]
        return round(eps, 3)

    This function computes the same value: the distance of every point to its
    nearest *other* point (``kneighbors()`` without a query excludes the point
    itself; duplicate points give 0, as in the original), sorted in decreasing
    order, fed to ``kneed.KneeLocator`` as ``x`` against ``y = linspace(0, 1,
    N)``. If no knee is found (``knee`` is None, or 0 which is falsy in the
    original), eps is the *upper* median ``sorted(d)[N // 2]`` (the original's
    expression, not ``np.median``). When all distances are equal kneed cannot
    normalise them, so the median branch is taken directly.

    ``method="approx"`` runs the same rule on the curve of :func:`_approx_nn_curve`:
    Kneedle walks the decreasing curve from its largest distance and stops at the
    first knee, so it reads only the top of the curve (plus its minimum and length).
    That top is computed exactly (the exact method's search, on the points whose
    bucketed upper bound is largest, until every distance above a level is resolved
    and Kneedle stops above that level); the bulk below is estimated from a seeded
    uniform sample of :data:`APPROX_SAMPLE` points. When Kneedle stops inside the exact
    top (``certified``), the eps is the exact one; otherwise (after
    :data:`APPROX_MAX_SHARE` of the points) it is the knee of the estimated curve.
    The value depends only on ``X`` and ``seed`` (not on ``n_jobs``). A plain uniform
    sample would not do: the knee of clustered ReLU clouds lies in the top 0.03-0.4 %
    of the curve, which a sample misses (``benchmarks/bench_knee.py --naive``).

    Parameters
    ----------
    X : array-like, shape (N, d)
        Points, N >= 2.
    method : {"exact", "approx"}, default "exact"
        Neighbour search (see :func:`resolve_knn_method` for the workflow's ``auto``).
    seed : int, default 0
        Seed of the approximate curve's sample and buckets (unused when exact).
    n_jobs : int or None, default 1
        Passed to ``sklearn.neighbors.NearestNeighbors`` (both methods).

    Returns
    -------
    float
        eps rounded to 3 decimals (``np.round``). It can be 0.0 when over half of
        the points have an exact duplicate; :func:`mapper_graph` then refuses it.

    Raises
    ------
    ValueError
        If N < 2, ``X`` is not a finite 2-D array, or ``method`` is unknown.
    """
    return _knee_eps(X, method=method, seed=seed, n_jobs=n_jobs)[0]


def _nn_distances(X: np.ndarray, method: str, seed: int, n_jobs: int | None) -> np.ndarray:
    """Distance of every point to its nearest other point, shape (N,), float64.

    ``method="approx"`` gives the estimated curve of :func:`_approx_nn_curve` instead
    (descending, not indexed by point).
    """
    if _check_knn_method(method) == "approx":
        return _approx_nn_curve(X, seed, n_jobs)[0]
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=1, n_jobs=n_jobs).fit(X)
    return nn.kneighbors(return_distance=True)[0][:, 0].astype(np.float64)


def _knee_eps(
    X: Any, *, method: str = "exact", seed: int = 0, n_jobs: int | None = 1
) -> tuple[float, str]:
    return _knee_of(_nn_distances(_checked_knee_points(X), method, seed, n_jobs))


def _checked_knee_points(X: Any) -> np.ndarray:
    X = as_points(X)
    if X.shape[0] < 2:
        raise ValueError(f"knee_eps needs at least 2 points, got {X.shape[0]}")
    return X


def _knee_of(dist: np.ndarray) -> tuple[float, str]:
    """The official knee rule on the 1-NN distances ``dist`` (N,): (eps, source)."""
    desc = np.sort(dist)[::-1]
    knee = _kneedle(desc)[0] if desc[0] != desc[-1] else None
    if knee:
        return float(np.round(float(knee), 3)), "knee"
    median = np.sort(dist)[len(dist) // 2]
    return float(np.round(median, 3)), "median"


def with_predictions(
    points: np.ndarray, correct: np.ndarray, image_index: np.ndarray
) -> np.ndarray:
    """Prepend the official 0/1 ``predictions`` column to a cloud's points.

    The official noisy foreground CSVs hold ``label, predictions, activations...``;
    pandas reads ``predictions`` (``'true'``/``'false'``) as booleans and Mapper
    Interactive keeps every column but the label as a feature, so the Mapper lens and
    DBSCAN see a 0/1 coordinate: 1 when the network classified the point's (noisy)
    image correctly (docs/methods.md §12).

    Parameters
    ----------
    points : numpy.ndarray, shape (P, c)
    correct : numpy.ndarray, shape (N,), bool
        Per image: the network's prediction equals its label.
    image_index : numpy.ndarray, shape (P,), int
        Image of every point (a row of ``correct``).

    Returns
    -------
    numpy.ndarray, shape (P, c + 1), the dtype of ``points``
        Column 0 is ``correct[image_index]`` as 0.0 / 1.0, then the points.
    """
    points = np.asarray(points)
    flag = np.asarray(correct, dtype=bool)[np.asarray(image_index)]
    if points.ndim != 2 or flag.shape != (points.shape[0],):
        raise ValueError(
            f"points {points.shape} and image_index {np.shape(image_index)} do not match"
        )
    return np.hstack([flag[:, None].astype(points.dtype), points])


def knn_distances(
    X: Any,
    k: int = 5,
    *,
    queries: int | None = None,
    seed: int = 0,
    method: str = "exact",
    n_jobs: int | None = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distances to the ``k``-th nearest neighbour, the point itself counted.

    The curve of the official ``get_knn.get_knn`` (docs/methods.md §12): it queries
    every point's ``k`` nearest neighbours among the points, including the point itself
    at distance 0, and sorts the distance to the ``k``-th in increasing order. So
    ``k = 5`` (official) is the distance to the 4th nearest *other* point (duplicates
    count as neighbours at distance 0). The official code used an approximate index
    (pynndescent); here every search is exact (scikit-learn), and ``method="approx"``
    queries a seeded uniform sample of :data:`APPROX_SAMPLE` points against all points
    when ``queries`` is None: an unbiased estimate of the sorted curve at
    ``APPROX_SAMPLE / N`` of the cost.

    Parameters
    ----------
    X : array-like, shape (N, d)
        Points, ``N >= k``.
    k : int, default 5
        Neighbours per query, the point itself included.
    queries : int or None, default None
        None = every point is a query (official; :data:`APPROX_SAMPLE` points with
        ``method="approx"``). Otherwise a uniform sample of this many
        points (without replacement, ``np.random.default_rng(seed)``) is queried against
        all ``N`` points: an unbiased sample of the same distances at ``queries / N`` of
        the cost.
    seed : int, default 0
        Seed of the query sample.
    method : {"exact", "approx"}, default "exact"
        ``"approx"`` only changes the default query sample (above).
    n_jobs : int or None, default 1
        Passed to ``sklearn.neighbors.NearestNeighbors``.

    Returns
    -------
    distances : numpy.ndarray, shape (Q,), float64
        Ascending; ``Q = N`` or ``min(queries, N)``.
    rows : numpy.ndarray, shape (Q,), int64
        The queried rows of ``X``, ascending (``arange(N)`` without sampling).

    Raises
    ------
    ValueError
        ``k < 1``, fewer than ``k`` points, ``queries < 1``, an unknown ``method``, or
        ``X`` not a finite 2-D array.
    """
    _check_knn_method(method)
    X = as_points(X)
    n = X.shape[0]
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if n < k:
        raise ValueError(f"k={k} nearest neighbours need at least {k} points, got {n}")
    if queries is None and method == "approx":
        queries = APPROX_SAMPLE
    if queries is None or queries >= n:
        rows = np.arange(n, dtype=np.int64)
    else:
        if isinstance(queries, bool) or not isinstance(queries, int | np.integer) or queries < 1:
            raise ValueError(f"queries must be an integer >= 1 or None, got {queries!r}")
        rows = np.sort(np.random.default_rng(seed).choice(n, size=int(queries), replace=False))
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=int(k), n_jobs=n_jobs).fit(X)
    dist = nn.kneighbors(X[rows], return_distance=True)[0][:, int(k) - 1]
    return np.sort(dist.astype(np.float64)), rows


# --------------------------------------------------------------------------- graph


def _class_summary(counts: np.ndarray, label_names: Sequence[str] | None) -> dict[str, int]:
    present = np.flatnonzero(counts)
    present = present[np.argsort(-counts[present], kind="stable")]
    names = label_names
    return {(str(names[k]) if names is not None else str(k)): int(counts[k]) for k in present}


def mapper_graph(
    X: Any,
    labels: Any,
    *,
    lens: str | Any = "l2norm",
    n_intervals: int = 40,
    overlap: float = 0.3,
    eps: float | None = None,
    min_samples: int = 5,
    cover: str = "paper",
    label_names: Sequence[str] | None = None,
    knn_method: str = "exact",
    seed: int = 0,
    n_jobs: int | None = 1,
    device: str | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Mapper graph of ``X`` in Mapper Interactive's JSON layout.

    Parameters
    ----------
    X : array-like, shape (N, d)
        Points (activations), not normalised (the paper uses no normalisation).
    labels : array-like of int, shape (N,)
        Class id of each point (>= 0), summarised per node.
    lens : "l2norm" or array-like of shape (N,), default "l2norm"
        ``"l2norm"``: :func:`l2norm_lens` (scaled to [0, 1]). An array is used
        as given, *not* rescaled: the cover adapts to its [min, max] anyway,
        so rescaling would only change the ``avgs.lens`` values.
    n_intervals : int, default 40
        Number of cover intervals.
    overlap : float, default 0.3
        Fractional overlap in [0, 1) (config percentages / 100).
    eps : float or None, default None
        DBSCAN radius; None computes :func:`knee_eps` on ``X`` with ``knn_method``.
    min_samples : int, default 5
        DBSCAN ``min_samples``; intervals with fewer points are skipped.
    cover : {"paper", "kmapper"}, default "paper"
        Interval formula, see :func:`cover_intervals`.
    label_names : sequence of str, optional
        Class names indexed by class id, used as keys of the class counts
        (default ``str(class_id)``).
    knn_method : {"exact", "approx"}, default "exact"
        Neighbour search of the knee rule (:func:`knee_eps`); unused with a given ``eps``.
    seed : int, default 0
        Seed of the approximate knee's sample and buckets (``knn_method="approx"``).
    n_jobs : int or None, default 1
        Threads for the neighbour searches (see :func:`dbscan_labels`); the
        graph does not depend on it.
    device : str or None, default None
        Engine of DBSCAN: None = numpy on the host, else a torch device ("cuda",
        "cpu"; :func:`cnntopo.mapper.dbscan.resolve_device`). The graph does not
        depend on it.
    log : callable, optional
        Receives progress lines: the knee rule's search and its time, and every 30 s
        the DBSCAN intervals done with an ETA (:class:`cnntopo.progress.Progress`,
        counting the point pairs of each interval, to which DBSCAN's work is
        proportional).

    Returns
    -------
    dict
        ``nodes``, ``edges``, ``categorical_cols``, ``numerical_col_keys`` as
        described in the module docstring, and ``meta`` with ``n_points``,
        ``dim``, ``lens`` ("l2norm" or "custom"), ``lens_min``/``lens_max``
        (before scaling), ``n_intervals``, ``overlap``, ``cover``, ``eps``,
        ``eps_source`` ("knee", "median" or "given"), ``knn_method`` (the
        knee rule's neighbour search, None for a given eps), ``knn_seed`` (the
        approximate knee's seed, else None), ``min_samples``,
        ``n_nodes``, ``n_edges``, ``label_names``, ``intervals`` (``[lo, hi]``
        on the lens) and ``cube_intervals`` (interval index of each ``cube{i}``).
        Only plain Python types, so ``json.dumps`` works.

    Raises
    ------
    ValueError
        For mismatched lengths, non-finite values, negative labels, too few
        ``label_names``, bad ``n_intervals``/``overlap``/``min_samples``/``eps``,
        an unknown ``lens`` string or ``cover``.

    Examples
    --------
    Points along a segment give a path: one node per interval, each sharing
    points with the next.

    >>> import numpy as np
    >>> from cnntopo.mapper.graph import graph_stats, mapper_graph
    >>> t = np.linspace(1.0, 2.0, 200)
    >>> X = np.stack([t, np.zeros_like(t)], axis=1)
    >>> g = mapper_graph(X, (t > 1.5).astype(int), n_intervals=5, overlap=0.3, eps=0.1,
    ...                  label_names=["near", "far"])
    >>> graph_stats(g)["n_nodes"], graph_stats(g)["n_edges"], graph_stats(g)["n_components"]
    (5, 4, 1)
    >>> g["edges"]["cube0_cluster0"]
    ['cube1_cluster0']
    >>> g["nodes"]["cube2_cluster0"]["categorical_cols_summary"]
    {'label': {'near': 26, 'far': 26}}
    """
    X = as_points(X)
    n, dim = X.shape
    if n == 0:
        raise ValueError("X has no rows")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"labels has shape {labels.shape} but X has {n} rows")
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels % 1 == 0):
            labels = labels.astype(np.int64)
        else:
            raise ValueError(f"labels must be integer class ids, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.min() < 0:
        raise ValueError("labels must be >= 0")
    n_classes = int(labels.max()) + 1
    if label_names is not None:
        label_names = [str(s) for s in label_names]
        if len(label_names) < n_classes:
            raise ValueError(
                f"label_names has {len(label_names)} names but labels go up to {n_classes - 1}"
            )
        n_classes = len(label_names)
    n_intervals, overlap = _check_cover_args(n_intervals, overlap, cover)
    min_samples = check_min_samples(min_samples)
    _check_knn_method(knn_method)

    if isinstance(lens, str):
        if lens != "l2norm":
            raise ValueError(f"unknown lens {lens!r}; expected 'l2norm' or an array")
        raw = _row_norms(X)
        lens_name, lens_values = "l2norm", _minmax(raw)
    else:
        raw = lens_values = _as_lens(lens, n)
        lens_name = "custom"

    if eps is None:
        t_knee = time.perf_counter()
        if log is not None:
            log(f"knee rule: {knn_method} nearest-neighbour search of {n} points")
        eps, eps_source = _knee_eps(X, method=knn_method, seed=seed, n_jobs=n_jobs)
        if log is not None:
            log(f"knee rule: eps {eps} ({eps_source}) in {time.perf_counter() - t_knee:.1f} s")
        if eps <= 0:
            raise ValueError("knee_eps gave eps = 0 (many duplicate points); pass eps explicitly")
        used_method = knn_method
    else:
        eps, eps_source, used_method = check_eps(eps), "given", None

    intervals = cover_intervals(lens_values, n_intervals, overlap, cover)
    members = _interval_members(lens_values, intervals)

    node_ids: list[str] = []
    node_members: list[np.ndarray] = []
    cube_intervals: list[int] = []
    # pairs done before interval k (DBSCAN's work grows with the pairs of each interval)
    pairs_before = np.cumsum([0] + [m.size**2 for m in members])
    progress = None
    if log is not None:
        progress = Progress(max(1, int(pairs_before[-1])), log, unit="point pairs")
    for k, idx in enumerate(members):
        if progress is not None and k:
            progress.update(int(pairs_before[k]), intervals=f"{k}/{len(members)}")
        if idx.size == 0:
            continue  # KeplerMapper drops empty intervals before numbering cubes
        i = len(cube_intervals)
        cube_intervals.append(k)
        if idx.size < min_samples:
            continue
        lab = dbscan_labels(X[idx], eps, min_samples, n_jobs=n_jobs, device=device)
        for j in np.unique(lab):
            if j < 0:
                continue
            node_ids.append(f"cube{i}_cluster{int(j)}")
            node_members.append(idx[lab == j])

    # Nerve: one sparse product of the (nodes x points) membership matrix.
    n_nodes = len(node_ids)
    edges: dict[str, list[str]] = {}
    n_edges = 0
    if n_nodes:
        sizes = np.array([m.size for m in node_members])
        M = sparse.csr_matrix(
            (
                np.ones(int(sizes.sum()), dtype=np.int32),
                np.concatenate(node_members),
                np.concatenate([[0], np.cumsum(sizes)]),
            ),
            shape=(n_nodes, n),
        )
        shared = sparse.triu(M @ M.T, k=1).tocoo()
        a, b = shared.row[shared.data >= 1], shared.col[shared.data >= 1]
        order = np.lexsort((b, a))
        for ai, bi in zip(a[order].tolist(), b[order].tolist(), strict=True):
            edges.setdefault(node_ids[ai], []).append(node_ids[bi])
        n_edges = int(a.size)

    nodes: dict[str, dict] = {}
    for node_id, idx in zip(node_ids, node_members, strict=True):
        counts = np.bincount(labels[idx], minlength=n_classes)
        nodes[node_id] = {
            "vertices": idx.tolist(),
            "categorical_cols_summary": {"label": _class_summary(counts, label_names)},
            "avgs": {"lens": float(np.mean(lens_values[idx]))},
        }

    return {
        "nodes": nodes,
        "edges": edges,
        "categorical_cols": ["label"],
        "numerical_col_keys": ["lens"],
        "meta": {
            "n_points": int(n),
            "dim": int(dim),
            "lens": lens_name,
            "lens_min": float(raw.min()),
            "lens_max": float(raw.max()),
            "n_intervals": n_intervals,
            "overlap": overlap,
            "cover": cover,
            "eps": float(eps),
            "eps_source": eps_source,
            "knn_method": used_method,
            "knn_seed": int(seed) if used_method == "approx" else None,
            "min_samples": int(min_samples),
            "n_nodes": n_nodes,
            "n_edges": n_edges,
            "label_names": list(label_names) if label_names is not None else None,
            "intervals": [[lo, hi] for lo, hi in intervals],
            "cube_intervals": cube_intervals,
        },
    }


def _edge_pairs(graph: dict) -> list[tuple[str, str]]:
    """Edges of a Mapper Interactive graph as (a, b) pairs (adjacency dict or pair list)."""
    edges = graph.get("edges", {})
    if isinstance(edges, dict):
        return [(a, b) for a, nbrs in edges.items() for b in nbrs]
    return [(e[0], e[1]) for e in edges]


def graph_stats(graph: dict) -> dict:
    """Summary numbers of a Mapper graph.

    Parameters
    ----------
    graph : dict
        Output of :func:`mapper_graph` (or an official Mapper Interactive JSON).

    Returns
    -------
    dict
        ``n_nodes``, ``n_edges``, ``n_components`` (connected components of the
        graph, isolated nodes included), ``n_points_covered`` (distinct points in
        at least one node) and ``largest_node_size`` (0 for an empty graph).
    """
    nodes = graph["nodes"]
    ids = list(nodes)
    index = {k: i for i, k in enumerate(ids)}
    pairs = {tuple(sorted((index[a], index[b]))) for a, b in _edge_pairs(graph)}
    if ids:
        ea = np.array([p[0] for p in pairs], dtype=np.int64)
        eb = np.array([p[1] for p in pairs], dtype=np.int64)
        adj = sparse.coo_matrix((np.ones(ea.size), (ea, eb)), shape=(len(ids), len(ids)))
        n_comp = int(connected_components(adj, directed=False)[0])
        verts = [np.asarray(nodes[k]["vertices"], dtype=np.int64) for k in ids]
        covered = int(np.unique(np.concatenate(verts)).size)
        largest = int(max(v.size for v in verts))
    else:
        n_comp = covered = largest = 0
    return {
        "n_nodes": len(ids),
        "n_edges": len(pairs),
        "n_components": n_comp,
        "n_points_covered": covered,
        "largest_node_size": largest,
    }


def graph_to_networkx(graph: dict, col: str = "label"):
    """The Mapper graph as a :class:`networkx.Graph`.

    Parameters
    ----------
    graph : dict
        Output of :func:`mapper_graph` (or an official Mapper Interactive JSON).
    col : str, default "label"
        Categorical column whose counts become the ``counts`` attribute.

    Returns
    -------
    networkx.Graph
        One node per Mapper node (same ids, in order) with attributes ``size``
        (number of points), ``counts`` (``{class: count}``) and ``lens`` (mean
        lens, or None when absent); one edge per pair of nodes sharing points.
    """
    import networkx as nx

    G = nx.Graph()
    for node_id, node in graph["nodes"].items():
        G.add_node(
            node_id,
            size=len(node["vertices"]),
            counts=dict(node.get("categorical_cols_summary", {}).get(col, {})),
            lens=node.get("avgs", {}).get("lens"),
        )
    G.add_edges_from(_edge_pairs(graph))
    return G
