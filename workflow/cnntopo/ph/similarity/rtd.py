"""Representation Topology Divergence (Barannikov et al. 2022), feature and Gram forms.

RTD compares the multi-scale topology of two representations of the same images
through the *R-Cross-Barcode* [1]_. For ``n`` images with pairwise distance matrices
``R1`` (representation ``X``) and ``R2`` (``Y``), each divided by its 0.9 quantile:

- the graph on ``2n`` vertices ``a_1..a_n, a'_1..a'_n`` with weights

  .. math::

      m = \\begin{pmatrix} 0 & (R_1^{+})^\\top \\\\ R_1^{+} & \\min(R_1, R_2) \\end{pmatrix}

  (the paper's §3): the ``a`` block is 0 (the first copy collapsed to a point), an
  edge ``a'_i a_j`` has length ``R1[i, j]`` (so ``a_i`` and ``a'_i`` are at distance
  0), and the ``a'`` block holds the element-wise minimum. ``R_1^{+}`` is ``R1`` with
  its strictly lower triangle replaced by ``+inf`` (an edge ``a'_i a_j`` only for
  ``i <= j``), as in the paper; the authors' code builds the same barcode by default
  with the full ``R1`` in both off-diagonal blocks (``calc_embed_dist(...,
  fast=False)`` in IlyaTrofimov/RTD, ``rtd/barcodes.py``; the test suite checks that
  the two agree). The ``+inf`` edges never enter the filtration, which makes the
  persistence about twice as fast.
- the Vietoris-Rips H1 barcode of ``m`` (Ripser.py [2]_ on the distance matrix:
  ``distance_matrix=True, maxdim=1, coeff=2, thresh=inf``);
- ``RTD(X, Y)`` = the sum of the H1 bar lengths. The filtration of a finite
  distance matrix with ``thresh=inf`` ends in the full simplex, so every H1 bar dies:
  an infinite one is a bug and raises :class:`RuntimeError`.

The divergence is not symmetric; :func:`rtd` returns the mean of ``RTD(X, Y)`` and
``RTD(Y, X)`` (as the authors' ``rtd1``), averaged over ``n_batches`` random subsets
of ``batch_size`` images (the authors' defaults: 10 subsets of 500, ``rtd(...,
trials=10, batch=500)``), the same subsets for both directions. Deviations from the
authors' code, each documented in docs/methods.md:

- the 0.9 quantile is taken over the off-diagonal distances (their
  ``np.quantile(r1, 0.9)`` includes the ``n`` zeros of the diagonal: a quantile of
  level ``0.9 - O(1/n)`` of the off-diagonal ones);
- their rounding step ``d[d < 1e-6 * mean] = 0`` is left out (exact distances);
- subsets are drawn with ``numpy.random.default_rng(seed)`` (theirs: the global
  ``np.random.shuffle``); with ``batch_size >= n`` or None the whole set is used once,
  which is deterministic (their code computes the same value ``trials`` times).

RTD is 0 for two representations whose distance matrices agree after the
normalisation (e.g. ``Y`` an orthogonal transform, a translation or a uniform
scaling of ``X``) and grows with the topological discrepancy (clusters of ``X``
merged in ``Y``). Kind: a *distance* (smaller = more alike).

Cost: each batch is two Vietoris-Rips H1 computations on ``2 b`` points (``b`` the
batch size); about 0.5 s at ``b = 300`` and several seconds at ``b = 500`` on one
core (docs/performance.md). ``max_points`` (default 1000) bounds ``b``.

References
----------
.. [1] Barannikov, S.; Trofimov, I.; Balabin, N.; Burnaev, E. 2022. Representation
   Topology Divergence: A Method for Comparing Neural Network Representations. ICML
   2022, PMLR 162: 1607--1626. arXiv:2201.00058.
.. [2] Tralie, C.; Saul, N.; Bar-On, R. 2018. Ripser.py: A Lean Persistent Homology
   Library for Python. JOSS 3(29): 925.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cnntopo.ph.similarity.base import (
    ZERO_VARIANCE,
    UndefinedMeasureError,
    as_cloud,
    as_gram,
    check_same_rows,
    check_same_size,
    double_centred,
)

__all__ = [
    "RTD_QUANTILE",
    "RTD_BATCH_SIZE",
    "RTD_BATCHES",
    "RTD_MAX_POINTS",
    "RTD_BACKENDS",
    "distances_from_features",
    "distances_from_gram",
    "quantile_normalised",
    "cross_barcode_matrix",
    "h1_total_length",
    "rtd_one_way",
    "batch_indices",
    "rtd_from_distances",
    "rtd",
    "rtd_from_grams",
    "gram_preparation",
]

#: Quantile of the off-diagonal distances that each distance matrix is divided by.
RTD_QUANTILE = 0.9
#: The authors' defaults (``rtd(..., trials=10, batch=500)``).
RTD_BATCH_SIZE = 500
RTD_BATCHES = 10
#: Largest batch (images) computed unless ``max_points`` says otherwise.
RTD_MAX_POINTS = 1000
#: Persistence backends of the R-Cross-Barcode: Ripser.py (float64, the reference) or
#: giotto-ph (float32 filtration values, about 1.6x faster on the 600-point matrices
#: of 300 images; the H1 total lengths agree to about 1e-6 relative).
RTD_BACKENDS = ("ripser", "giotto")


def distances_from_features(X: Any, name: str = "X") -> np.ndarray:
    """Euclidean distances (n, n) between the rows of ``X`` (shape (n, p)), float64.

    Exactly symmetric with a zero diagonal (:func:`scipy.spatial.distance.cdist`).
    """
    from scipy.spatial.distance import cdist

    x = as_cloud(X, name)
    D = cdist(x, x, metric="euclidean")
    D = (D + D.T) / 2.0
    np.fill_diagonal(D, 0.0)
    return D


def distances_from_gram(K: Any, name: str = "K") -> np.ndarray:
    """Euclidean distances (n, n) from a linear Gram matrix ``K`` (centred or not).

    ``K`` is double-centred first (the Gram of the centred rows: the same distances,
    less cancellation for a cloud far from the origin); then ``d_ij^2 = K_ii + K_jj -
    2 K_ij``, with squared distances within its rounding error (``64 eps max_i K_ii``,
    e.g. between duplicated images, which may come out slightly positive or
    negative) set to 0 before the square root. Symmetric, zero diagonal.
    """
    K = double_centred(as_gram(K, name))
    diag = np.diagonal(K)
    d2 = diag[:, None] + diag[None, :] - 2.0 * K
    d2 = (d2 + d2.T) / 2.0
    d2[d2 <= 64.0 * np.finfo(np.float64).eps * max(float(diag.max()), 0.0)] = 0.0
    np.fill_diagonal(d2, 0.0)
    return np.sqrt(d2)


def quantile_normalised(D: np.ndarray, name: str = "X", q: float = RTD_QUANTILE) -> np.ndarray:
    """``D`` divided by the ``q`` quantile of its off-diagonal entries (shape (n, n)).

    Raises
    ------
    UndefinedMeasureError
        If that quantile is 0: a constant representation, or more than a fraction
        ``1 - q`` of the image pairs at distance 0 (duplicated images).
    """
    n = D.shape[0]
    off = D[~np.eye(n, dtype=bool)]
    scale = float(np.quantile(off, q))
    if not scale > 0.0:
        if not np.any(off):
            raise UndefinedMeasureError(
                f"{name} has zero variance after centring (all rows equal); RTD is undefined "
                "for a constant representation",
                ZERO_VARIANCE,
            )
        raise UndefinedMeasureError(
            f"{name}: the {q:g} quantile of its pairwise distances is 0 (most images "
            "coincide), so RTD's normalisation is undefined",
            f"the {q:g} quantile of the pairwise distances is 0 (RTD normalisation undefined)",
        )
    return D / scale


def cross_barcode_matrix(R1: np.ndarray, R2: np.ndarray, *, upper: bool = True) -> np.ndarray:
    """The ``2n x 2n`` distance matrix of the R-Cross-Barcode of ``(R1, R2)``.

    Parameters
    ----------
    R1, R2 : np.ndarray, shape (n, n)
        Normalised distance matrices (zero diagonal) of the same images.
    upper : bool, default True
        ``True``: the paper's ``R_1^+`` (strictly lower triangle ``+inf``) in the
        off-diagonal blocks; ``False``: the full ``R1`` (the authors' code default).
        The H1 barcodes agree.

    Returns
    -------
    np.ndarray, shape (2n, 2n), float64
        ``[[0, R^T], [R, min(R1, R2)]]`` with ``R`` = ``R_1^+`` or ``R1``; symmetric,
        zero diagonal (``a_i`` and ``a'_i`` at distance ``R1[i, i] = 0``).

    >>> cross_barcode_matrix(np.array([[0.0, 2.0], [2.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]))
    array([[ 0.,  0.,  0., inf],
           [ 0.,  0.,  2.,  0.],
           [ 0.,  2.,  0.,  1.],
           [inf,  0.,  1.,  0.]])
    """
    n = R1.shape[0]
    R = R1.copy()
    if upper:
        R[np.tril_indices(n, -1)] = np.inf
    M = np.zeros((2 * n, 2 * n), dtype=np.float64)
    M[n:, :n] = R
    M[:n, n:] = R.T
    M[n:, n:] = np.minimum(R1, R2)
    np.fill_diagonal(M, 0.0)
    return M


def h1_total_length(M: np.ndarray, backend: str = "ripser") -> float:
    """Sum of the H1 bar lengths of the Vietoris-Rips filtration of a distance matrix.

    Every choice explicit: Ripser.py with ``distance_matrix=True, maxdim=1,
    coeff=2, thresh=inf, do_cocycles=False, n_perm=None``, or giotto-ph's
    ``ripser_parallel`` with ``metric="precomputed", maxdim=1, coeff=2,
    thresh=inf, collapse_edges=False, n_threads=1`` (edge collapse is many times
    slower on this matrix, whose ``a`` block is all zeros); ``+inf`` entries are
    edges that never appear.

    Parameters
    ----------
    M : np.ndarray, shape (m, m)
        Symmetric distance matrix, zero diagonal.
    backend : {"ripser", "giotto"}, default "ripser"
        :data:`RTD_BACKENDS`.

    Returns
    -------
    float
        ``sum(death - birth)`` over the H1 bars (0 if there are none).

    Raises
    ------
    RuntimeError
        If an H1 bar is infinite: impossible for the complete filtration of a
        finite matrix, so a bug rather than a property of the data.
    """
    if backend == "ripser":
        from ripser import ripser

        dgm = ripser(
            M,
            maxdim=1,
            thresh=np.inf,
            coeff=2,
            distance_matrix=True,
            do_cocycles=False,
            n_perm=None,
        )["dgms"][1]
    elif backend == "giotto":
        from gph import ripser_parallel

        dgm = ripser_parallel(
            M,
            metric="precomputed",
            maxdim=1,
            thresh=np.inf,
            coeff=2,
            collapse_edges=False,
            n_threads=1,
        )["dgms"][1].astype(np.float64)
    else:
        raise ValueError(f"RTD backend must be one of {list(RTD_BACKENDS)}, got {backend!r}")
    if dgm.size and not np.all(np.isfinite(dgm)):
        raise RuntimeError(
            f"{int(np.sum(~np.isfinite(dgm[:, 1])))} infinite H1 bar(s) in the R-Cross-Barcode; "
            "the complete Vietoris-Rips filtration of a finite distance matrix has none"
        )
    return float(np.sum(dgm[:, 1] - dgm[:, 0])) if dgm.size else 0.0


def rtd_one_way(R1: np.ndarray, R2: np.ndarray, backend: str = "ripser") -> float:
    """``RTD(R1, R2)``: H1 total length of :func:`cross_barcode_matrix` (normalised inputs)."""
    return h1_total_length(cross_barcode_matrix(R1, R2), backend)


def _check_settings(
    batch_size: Any, n_batches: Any, seed: Any, max_points: Any, backend: Any = "ripser"
) -> tuple[int | None, int, int, int | None]:
    def positive(value: Any, name: str, least: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        return int(value)

    b = None if batch_size is None else positive(batch_size, "batch_size", 3)
    t = positive(n_batches, "n_batches", 1)
    s = positive(seed, "seed", 0)
    cap = None if max_points is None else positive(max_points, "max_points", 3)
    if backend not in RTD_BACKENDS:
        raise ValueError(f"backend must be one of {list(RTD_BACKENDS)}, got {backend!r}")
    return b, t, s, cap


def batch_indices(n: int, batch_size: int | None, n_batches: int, seed: int) -> list[np.ndarray]:
    """The image subsets of :func:`rtd`: ``n_batches`` sorted index arrays of ``batch_size``.

    With ``batch_size`` None or ``>= n``: one array, ``arange(n)`` (the whole set).
    Otherwise drawn without replacement from ``numpy.random.default_rng(seed)``.
    """
    if batch_size is None or batch_size >= n:
        return [np.arange(n)]
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(n, size=batch_size, replace=False)) for _ in range(n_batches)]


def rtd_from_distances(
    D1: np.ndarray,
    D2: np.ndarray,
    *,
    batch_size: int | None = RTD_BATCH_SIZE,
    n_batches: int = RTD_BATCHES,
    seed: int = 0,
    symmetric: bool = True,
    max_points: int | None = RTD_MAX_POINTS,
    names: tuple[str, str] = ("X", "Y"),
    backend: str = "ripser",
) -> float:
    """:func:`rtd` from two (n, n) Euclidean distance matrices of the same images."""
    b, t, s, cap = _check_settings(batch_size, n_batches, seed, max_points, backend)
    if D1.shape != D2.shape or D1.ndim != 2 or D1.shape[0] != D1.shape[1]:
        raise ValueError(
            f"distance matrices must be (n, n) of the same n, got {D1.shape}, {D2.shape}"
        )
    n = D1.shape[0]
    batches = batch_indices(n, b, t, s)
    size = len(batches[0])
    if cap is not None and size > cap:
        raise ValueError(
            f"an RTD batch of {size} images means Vietoris-Rips H1 persistence on {2 * size} "
            f"points; at most max_points = {cap} images per batch (set batch_size, "
            "similarity.rtd.batch_size, to at most that, or raise max_points)"
        )
    if size < 3:
        raise UndefinedMeasureError(
            f"RTD needs at least 3 images, got {size}", f"RTD needs at least 3 images, got {size}"
        )
    total = 0.0
    for idx in batches:
        R1 = quantile_normalised(D1[np.ix_(idx, idx)], names[0])
        R2 = quantile_normalised(D2[np.ix_(idx, idx)], names[1])
        value = rtd_one_way(R1, R2, backend)
        if symmetric:
            value = (value + rtd_one_way(R2, R1, backend)) / 2.0
        total += value
    return total / len(batches)


def rtd(
    X: Any,
    Y: Any,
    *,
    batch_size: int | None = RTD_BATCH_SIZE,
    n_batches: int = RTD_BATCHES,
    seed: int = 0,
    symmetric: bool = True,
    max_points: int | None = RTD_MAX_POINTS,
    backend: str = "ripser",
) -> float:
    """Representation Topology Divergence between two representations of the same images.

    Parameters
    ----------
    X : array_like, shape (n, p)
    Y : array_like, shape (n, q)
        The same ``n`` images in the same order (Euclidean distances between rows).
    batch_size : int or None, default 500
        Images per random subset (the authors' default); None or ``>= n``: the whole
        set, once (deterministic).
    n_batches : int, default 10
        Random subsets averaged (the authors' ``trials``); ignored for the whole set.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` that draws the subsets.
    symmetric : bool, default True
        Mean of ``RTD(X, Y)`` and ``RTD(Y, X)`` on each subset; False: ``RTD(X, Y)``.
    max_points : int or None, default 1000
        Largest subset allowed (the persistence runs on twice as many points); None
        = no limit.
    backend : {"ripser", "giotto"}, default "ripser"
        Persistence of the R-Cross-Barcode (:data:`RTD_BACKENDS`, :func:`h1_total_length`).

    Returns
    -------
    float
        ``>= 0``; 0 when the normalised distance matrices agree.

    Raises
    ------
    UndefinedMeasureError
        A constant representation, or a 0.9 quantile of the distances equal to 0
        (in the whole set or in a subset).
    ValueError
        Invalid shapes or settings, or a subset larger than ``max_points``.
    """
    x, y = as_cloud(X, "X"), as_cloud(Y, "Y")
    check_same_rows([x, y], ["X", "Y"])
    return rtd_from_distances(
        distances_from_features(x, "X"),
        distances_from_features(y, "Y"),
        batch_size=batch_size,
        n_batches=n_batches,
        seed=seed,
        symmetric=symmetric,
        max_points=max_points,
        backend=backend,
    )


def rtd_from_grams(
    K: Any,
    L: Any,
    *,
    batch_size: int | None = RTD_BATCH_SIZE,
    n_batches: int = RTD_BATCHES,
    seed: int = 0,
    symmetric: bool = True,
    max_points: int | None = RTD_MAX_POINTS,
    backend: str = "ripser",
) -> float:
    """:func:`rtd` from two linear Gram matrices (each (n, n), centred or not).

    The distances are ``sqrt(max(K_ii + K_jj - 2 K_ij, 0))``
    (:func:`distances_from_gram`); equal to :func:`rtd` on the underlying
    representations up to rounding.
    """
    K, L = as_gram(K, "K"), as_gram(L, "L")
    check_same_size(K, L)
    return rtd_from_distances(
        distances_from_gram(K, "K"),
        distances_from_gram(L, "L"),
        batch_size=batch_size,
        n_batches=n_batches,
        seed=seed,
        symmetric=symmetric,
        max_points=max_points,
        names=("K", "L"),
        backend=backend,
    )


def gram_preparation(
    params: dict[str, Any],
) -> tuple[Callable[[np.ndarray, str], np.ndarray], Callable[[np.ndarray, np.ndarray], float]]:
    """Per-Gram preparation (the (n, n) distance matrix) and per-pair RTD.

    For the matrix engines (:func:`cnntopo.ph.similarity.engine.gram_preparation`).
    ``params``: the keyword arguments of :func:`rtd` (``batch_size``, ``n_batches``,
    ``seed``, ``symmetric``, ``max_points``, ``backend``); anything else is a TypeError. The
    subsets depend on ``seed`` only, so every pair is compared on the same images.
    """
    params = dict(params)
    settings = {
        "batch_size": params.pop("batch_size", RTD_BATCH_SIZE),
        "n_batches": params.pop("n_batches", RTD_BATCHES),
        "seed": params.pop("seed", 0),
        "symmetric": bool(params.pop("symmetric", True)),
        "max_points": params.pop("max_points", RTD_MAX_POINTS),
        "backend": params.pop("backend", "ripser"),
    }
    if params:
        raise TypeError(f"unexpected parameters for rtd: {sorted(params)}")
    _check_settings(
        settings["batch_size"],
        settings["n_batches"],
        settings["seed"],
        settings["max_points"],
        settings["backend"],
    )

    def prepare(K: np.ndarray, nm: str) -> np.ndarray:
        D = distances_from_gram(K, nm)
        quantile_normalised(D, nm)  # a constant representation is undefined here already
        return D

    def pair(D1: np.ndarray, D2: np.ndarray) -> float:
        return rtd_from_distances(D1, D2, **settings)

    return prepare, pair
