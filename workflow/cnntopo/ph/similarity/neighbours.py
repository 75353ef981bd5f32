"""Neighbourhood measures: k-NN Jaccard (ReSi) and mutual k-NN (Platonic representations).

Both compare, image by image, the sets of the ``k`` nearest other images in the two
representations; both are similarities in [0, 1] (1: every image has the same ``k``
neighbours in both). With ``N_k^X(i)`` the ``k`` nearest neighbours of image ``i`` in
``X`` (``i`` itself excluded) and ``c_i = |N_k^X(i) ∩ N_k^Y(i)|``:

- :func:`knn_jaccard` (Klabunde et al. 2024 [1]_, ReSi's "Jaccard similarity"):
  ``mean_i c_i / |N_k^X(i) ∪ N_k^Y(i)| = mean_i c_i / (2k - c_i)``.
- :func:`mutual_knn` (Huh et al. 2024 [2]_, "mutual k-NN alignment"):
  ``mean_i c_i / k``.

They carry the same information per image (``j = c / (2k - c)`` is increasing in
``c``) but average differently: Jaccard punishes partial overlaps more.

**Neighbourhoods.** ``metric="cosine"`` (the default, as ReSi's and Huh et al.'s
inner products of unit vectors) ranks the other images by the cosine of the angle
between the *column-centred* activation vectors; ``metric="euclidean"`` by the
Euclidean distance (translation invariant, so centring does not matter). Centring
deviates from ReSi, which takes the cosine of the raw features: the workflow stores
the ``flat`` representation as the *centred* Gram matrix ``X_c X_c^T`` only
(:func:`cnntopo.ph.representations.centred_gram`), from which the uncentred cosines
cannot be recovered, so every representation is centred alike (``centre=False`` in
the feature form gives ReSi's raw cosines). Both metrics need only a linear Gram
matrix ``K``: ``d_ij^2 = K_ii + K_jj - 2 K_ij`` (clipped at 0) and
``cos_ij = K_ij / sqrt(K_ii K_jj)`` (:func:`knn_jaccard_from_grams`,
:func:`mutual_knn_from_grams`); the Gram forms double-centre ``K`` first (as the
package's other Gram forms), so ``X X^T`` and the centred ``X_c X_c^T`` give the
same value, equal to the feature form with ``centre=True``.

**Ties** are broken deterministically: the dissimilarities are rounded to a grid of
:data:`TIE_TOLERANCE` (``1e-9``) times the largest one, and each row is sorted with a
stable sort on (rounded distance, image index), so among images at the same distance
the lower index is the nearer one (duplicated images, at distance 0 up to a rounding
error, are ordered the same way in the feature and in the Gram form); the image
itself is always excluded, also when a duplicate of it lies at distance 0.

**Undefined** (:class:`~cnntopo.ph.similarity.base.UndefinedMeasureError`): fewer
than ``k + 1`` images; a constant representation; with ``metric="cosine"`` an image
whose (centred) activation vector is zero (its angles are undefined); every pairwise
distance equal (every neighbour set would be an arbitrary tie-break).

References
----------
.. [1] Klabunde, M.; Wald, T.; Schumacher, T.; Maier-Hein, K.; Strohmaier, M.;
   Lemmerich, F. 2024. ReSi: A Comprehensive Benchmark for Representational
   Similarity Measures. arXiv:2408.00531 (repository mklabunde/resi,
   ``repsim/measures/nearest_neighbor.py``).
.. [2] Huh, M.; Cheung, B.; Wang, T.; Isola, P. 2024. The Platonic Representation
   Hypothesis. ICML 2024, PMLR 235: 20617--20642. arXiv:2405.07987.
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
    column_centred,
    double_centred,
)

__all__ = [
    "KNN_METRICS",
    "TIE_TOLERANCE",
    "knn_indices",
    "neighbour_sets",
    "neighbour_sets_from_gram",
    "knn_jaccard",
    "mutual_knn",
    "knn_jaccard_from_grams",
    "mutual_knn_from_grams",
    "overlap_score",
    "gram_preparation",
]

#: The neighbourhoods :func:`knn_jaccard` and :func:`mutual_knn` accept.
KNN_METRICS = ("cosine", "euclidean")

#: Relative size below which a squared norm or a spread of distances counts as zero.
_RELATIVE_ZERO = 1e-12
#: Dissimilarities equal to this fraction of the largest one are ties (:func:`knn_indices`).
TIE_TOLERANCE = 1e-9


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or int(k) < 1:
        raise ValueError(f"k must be a positive integer (neighbours per image), got {k!r}")
    return int(k)


def _check_metric(metric: Any) -> str:
    if metric not in KNN_METRICS:
        raise ValueError(f"metric must be one of {KNN_METRICS}, got {metric!r}")
    return metric


def _check_enough(n: int, k: int) -> None:
    if n <= k:
        raise UndefinedMeasureError(
            f"k-nearest-neighbour sets with k = {k} need at least k + 1 = {k + 1} images, got {n}",
            f"k-NN with k = {k} needs more than {k} images, got {n}",
        )


def _zero_variance(name: str) -> UndefinedMeasureError:
    return UndefinedMeasureError(
        f"{name} has zero variance after centring (all rows equal); its nearest neighbours "
        "are undefined",
        ZERO_VARIANCE,
    )


def _checked_spread(D: np.ndarray, metric: str, name: str) -> np.ndarray:
    """``D`` (n, n) symmetrised with a zero diagonal; raises if all off-diagonal entries agree."""
    D = (D + D.T) / 2.0
    np.fill_diagonal(D, 0.0)
    off = D[~np.eye(D.shape[0], dtype=bool)]
    top = float(np.max(np.abs(off)))
    if top == 0.0 or float(np.ptp(off)) <= _RELATIVE_ZERO * top:
        raise UndefinedMeasureError(
            f"{name}: every pairwise {metric} distance is the same, so every neighbour set "
            "would be an arbitrary tie-break",
            f"all pairwise {metric} distances equal (neighbours undefined)",
        )
    return D


def _dissimilarities(inner: np.ndarray, metric: str, name: str) -> np.ndarray:
    """Rank keys (n, n) from inner products: squared distances or 1 - cosine.

    ``inner`` is the (n, n) matrix of inner products of the (centred) vectors.
    Raises UndefinedMeasureError on a zero vector (cosine) or all-equal distances.
    """
    sq = np.diagonal(inner).copy()
    if metric == "euclidean":
        D = sq[:, None] + sq[None, :] - 2.0 * inner
        np.maximum(D, 0.0, out=D)
        return _checked_spread(D, metric, name)
    scale = float(np.max(sq))
    if scale <= 0.0 or np.any(sq <= _RELATIVE_ZERO * scale):
        i = int(np.argmin(sq))
        raise UndefinedMeasureError(
            f"{name}: image {i} has a zero (centred) activation vector, whose cosine "
            "neighbours are undefined",
            "an image with a zero activation vector (cosine neighbours undefined)",
        )
    norms = np.sqrt(sq)
    return _checked_spread(1.0 - inner / norms[:, None] / norms[None, :], metric, name)


def knn_indices(D: Any, k: int) -> np.ndarray:
    """The ``k`` nearest other points of every point, from a dissimilarity matrix.

    Parameters
    ----------
    D : array_like, shape (n, n)
        ``D[i, j]``: how far point ``j`` is from point ``i`` (any monotone transform
        of a distance); the diagonal is ignored.
    k : int
        Neighbours per point, ``1 <= k < n``.

    Returns
    -------
    np.ndarray, shape (n, k), int64
        Row ``i``: the indices of the ``k`` nearest points other than ``i``, nearest
        first. Entries that agree to :data:`TIE_TOLERANCE` times the largest entry
        (rounded to that grid) are ties, broken by the lower index (a stable sort of
        each row): duplicated images, at distance 0 up to rounding, are ordered alike
        in the feature and the Gram form.

    >>> knn_indices([[0, 1, 1, 2], [1, 0, 2, 1], [1, 2, 0, 1], [2, 1, 1, 0]], 2)
    array([[1, 2],
           [0, 3],
           [0, 3],
           [1, 2]])
    """
    D = np.array(D, dtype=np.float64)  # a copy: the diagonal is overwritten
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"D must be a square (n, n) matrix, got shape {D.shape}")
    k = _check_k(k)
    if k >= D.shape[0]:
        raise ValueError(f"k = {k} needs at least k + 1 points, got {D.shape[0]}")
    np.fill_diagonal(D, 0.0)
    scale = float(np.max(np.abs(D)))
    if scale > 0.0:  # ties: equal up to TIE_TOLERANCE of the largest entry
        D = np.rint(D / (TIE_TOLERANCE * scale))
    np.fill_diagonal(D, np.inf)
    return np.argsort(D, axis=1, kind="stable")[:, :k].astype(np.int64)


def neighbour_sets(
    X: Any, k: int = 10, metric: str = "cosine", *, centre: bool = True, name: str = "X"
) -> np.ndarray:
    """The ``k`` nearest other images of every image in one representation (features).

    Parameters
    ----------
    X : array_like, shape (n, p)
        Representation; row ``i`` belongs to image ``i``.
    k : int, default 10
        Neighbours per image.
    metric : {"cosine", "euclidean"}, default "cosine"
        Cosine of the (centred) rows, or Euclidean distance.
    centre : bool, default True
        Centre the columns first (changes only the cosine neighbourhoods; see the
        module docstring).
    name : str, default "X"
        Name in error messages.

    Returns
    -------
    np.ndarray, shape (n, k), int64
        As :func:`knn_indices`.

    Raises
    ------
    UndefinedMeasureError
        As described in the module docstring.
    """
    k, metric = _check_k(k), _check_metric(metric)
    X = as_cloud(X, name)
    _check_enough(X.shape[0], k)
    Xc = column_centred(X)
    if not np.any(Xc):
        raise _zero_variance(name)
    if metric == "euclidean":
        from scipy.spatial.distance import cdist

        # from the coordinate differences, without the cancellation of the Gram form
        D = _checked_spread(cdist(X, X, metric="sqeuclidean"), metric, name)
    else:
        Z = Xc if centre else X
        D = _dissimilarities(Z @ Z.T, metric, name)
    return knn_indices(D, k)


def neighbour_sets_from_gram(
    K: Any, k: int = 10, metric: str = "cosine", *, name: str = "K"
) -> np.ndarray:
    """:func:`neighbour_sets` (``centre=True``) from a linear Gram matrix (shape (n, n)).

    ``K = X X^T`` centred or not: it is double-centred first (``H K H``, the Gram
    of the column-centred rows), as every Gram form of the package, so the result
    equals ``neighbour_sets(X, k, metric)``. Returns an (n, k) int64 array as
    :func:`knn_indices`.
    """
    k, metric = _check_k(k), _check_metric(metric)
    K = as_gram(K, name)
    _check_enough(K.shape[0], k)
    n = K.shape[0]
    size = float(np.abs(np.diagonal(K)).max())
    K = double_centred((K + K.T) / 2.0)  # the Gram of the centred rows
    K = (K + K.T) / 2.0
    if float(np.trace(K)) <= _RELATIVE_ZERO * size * n:  # 0 for a constant cloud
        raise _zero_variance(name)
    return knn_indices(_dissimilarities(K, metric, name), k)


def overlap_score(A: Any, B: Any, kind: str) -> float:
    """Mean per-image overlap of two neighbour-set arrays.

    Parameters
    ----------
    A, B : array_like, shape (n, k), int
        Neighbour indices of the same ``n`` images (:func:`neighbour_sets`), each row
        without repeats.
    kind : {"jaccard", "mutual"}
        ``mean_i c_i / (2k - c_i)`` or ``mean_i c_i / k``, ``c_i = |A_i ∩ B_i|``.

    Returns
    -------
    float
        In [0, 1].

    >>> overlap_score([[1, 2], [0, 2], [0, 1]], [[1, 2], [2, 0], [2, 0]], "mutual")
    0.8333333333333334
    """
    A, B = np.asarray(A), np.asarray(B)
    if A.shape != B.shape or A.ndim != 2:
        raise ValueError(
            f"neighbour arrays must have the same (n, k) shape, got {A.shape} and {B.shape}"
        )
    n, k = A.shape
    hits = np.zeros((n, n), dtype=bool)
    rows = np.arange(n)[:, None]
    hits[rows, A] = True
    common = hits[rows, B].sum(axis=1).astype(np.float64)
    if kind == "jaccard":
        return float(np.mean(common / (2 * k - common)))
    if kind == "mutual":
        return float(np.mean(common / k))
    raise ValueError(f"kind must be 'jaccard' or 'mutual', got {kind!r}")


def _pair(X: Any, Y: Any, k: int, metric: str, centre: bool, kind: str) -> float:
    x, y = as_cloud(X, "X"), as_cloud(Y, "Y")
    check_same_rows([x, y], ["X", "Y"])
    return overlap_score(
        neighbour_sets(x, k, metric, centre=centre, name="X"),
        neighbour_sets(y, k, metric, centre=centre, name="Y"),
        kind,
    )


def knn_jaccard(
    X: Any, Y: Any, k: int = 10, metric: str = "cosine", *, centre: bool = True
) -> float:
    """k-NN Jaccard similarity (Klabunde et al. 2024, ReSi) of two representations.

    .. math::

        J(X, Y) = \\frac{1}{n} \\sum_i
        \\frac{|N_k^X(i) \\cap N_k^Y(i)|}{|N_k^X(i) \\cup N_k^Y(i)|}

    with ``N_k^X(i)`` the ``k`` nearest other images of image ``i`` in ``X``.

    Parameters
    ----------
    X : array_like, shape (n, p)
    Y : array_like, shape (n, q)
        The same ``n`` images in the same order.
    k : int, default 10
        Neighbours per image (ReSi's default).
    metric : {"cosine", "euclidean"}, default "cosine"
        Neighbourhoods by cosine (ReSi's default) or Euclidean distance.
    centre : bool, default True
        Centre the columns before the cosines (the Gram form's convention; False:
        ReSi's raw cosines). No effect with ``"euclidean"``.

    Returns
    -------
    float
        In [0, 1]; 1 when every image has the same neighbours, e.g. for ``Y`` an
        orthogonal transform or a uniform scaling of ``X``.

    Raises
    ------
    UndefinedMeasureError
        Fewer than ``k + 1`` images, a constant representation, a zero vector
        (cosine), all distances equal.
    ValueError
        Invalid shapes, ``k`` or ``metric``.
    """
    return _pair(X, Y, k, metric, centre, "jaccard")


def mutual_knn(
    X: Any, Y: Any, k: int = 10, metric: str = "cosine", *, centre: bool = True
) -> float:
    """Mutual k-NN alignment (Huh et al. 2024) of two representations.

    .. math::

        m(X, Y) = \\frac{1}{n} \\sum_i \\frac{|N_k^X(i) \\cap N_k^Y(i)|}{k}

    Parameters and errors as :func:`knn_jaccard` (Huh et al. rank by inner products
    of unit vectors, i.e. cosine, with ``k = 10`` in their examples).

    Returns
    -------
    float
        In [0, 1]; ``>=`` :func:`knn_jaccard` of the same pair.
    """
    return _pair(X, Y, k, metric, centre, "mutual")


def _from_grams(K: Any, L: Any, k: int, metric: str, kind: str) -> float:
    K, L = as_gram(K, "K"), as_gram(L, "L")
    check_same_size(K, L)
    return overlap_score(
        neighbour_sets_from_gram(K, k, metric, name="K"),
        neighbour_sets_from_gram(L, k, metric, name="L"),
        kind,
    )


def knn_jaccard_from_grams(K: Any, L: Any, k: int = 10, metric: str = "cosine") -> float:
    """:func:`knn_jaccard` from two linear Gram matrices (each (n, n), centred or not).

    ``K = X X^T``, ``L = Y Y^T`` give ``knn_jaccard(X, Y, k, metric)`` (centre=True).
    """
    return _from_grams(K, L, k, metric, "jaccard")


def mutual_knn_from_grams(K: Any, L: Any, k: int = 10, metric: str = "cosine") -> float:
    """:func:`mutual_knn` from two linear Gram matrices (each (n, n))."""
    return _from_grams(K, L, k, metric, "mutual")


def gram_preparation(
    name: str, params: dict[str, Any]
) -> tuple[Callable[[np.ndarray, str], np.ndarray], Callable[[np.ndarray, np.ndarray], float]]:
    """Per-Gram preparation (the (n, k) neighbour sets) and per-pair score.

    For the matrix engines (:func:`cnntopo.ph.similarity.engine.gram_preparation`):
    each representation's neighbours are found once, each pair then costs O(n k).

    Parameters
    ----------
    name : {"knn_jaccard", "mutual_knn"}
    params : dict
        ``k`` and ``metric`` (defaults 10, ``"cosine"``); anything else is a TypeError.
    """
    params = dict(params)
    k = _check_k(params.pop("k", 10))
    metric = _check_metric(params.pop("metric", "cosine"))
    if params:
        raise TypeError(f"unexpected parameters for {name}: {sorted(params)}")
    kinds = {"knn_jaccard": "jaccard", "mutual_knn": "mutual"}
    if name not in kinds:
        raise ValueError(f"no neighbourhood measure {name!r}; expected one of {sorted(kinds)}")
    kind = kinds[name]

    def prepare(K: np.ndarray, nm: str) -> np.ndarray:
        return neighbour_sets_from_gram(K, k, metric, name=nm)

    return prepare, lambda a, b: overlap_score(a, b, kind)
