"""Gram forms: centring, linear and RBF kernels, HSIC, principal coordinates.

A representation ``X`` of shape ``(n, p)`` enters most measures only through its
linear Gram matrix ``K = X X^T`` of shape ``(n, n)``; see :func:`centre_gram`,
:func:`linear_gram`, :func:`rbf_from_linear_gram` and :func:`principal_coordinates`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnntopo.ph.similarity.base import (
    UndefinedMeasureError,
    as_cloud,
    as_gram,
    check_debiased_n,
    check_same_size,
    column_centred,
    double_centred,
    u_centred,
    zero_variance_error,
)

__all__ = [
    "centre_gram",
    "linear_gram",
    "rbf_from_linear_gram",
    "rbf_gram",
    "hsic",
    "principal_coordinates",
]


def centre_gram(K: Any) -> np.ndarray:
    """Double-centred Gram matrix ``H K H``, with ``H = I - 1 1^T / n``.

    For a linear kernel ``K = X X^T`` this is ``X_c X_c^T`` with ``X_c`` the
    column-centred features. Centring is idempotent, so a centred matrix may be
    passed again.

    Parameters
    ----------
    K : array_like, shape (n, n)
        Symmetric Gram (kernel) matrix of ``n`` images.

    Returns
    -------
    np.ndarray, shape (n, n), float64
        The centred matrix (exactly symmetric; rows and columns sum to zero).

    Raises
    ------
    ValueError
        If ``K`` is not a finite, real, symmetric square matrix with ``n >= 2``.
    """
    C = double_centred(as_gram(K, "K"))
    return (C + C.T) / 2.0  # exactly symmetric


def linear_gram(X: Any) -> np.ndarray:
    """Centred linear-kernel Gram matrix ``X_c X_c^T`` of one representation.

    For layers too large to flatten in memory use
    :func:`cnntopo.ph.representations.centred_gram`, which accumulates the same
    matrix over channel blocks.

    Parameters
    ----------
    X : array_like, shape (n, p)
        Representation; row ``i`` belongs to image ``i``.

    Returns
    -------
    np.ndarray, shape (n, n), float64
        ``X_c X_c^T`` with ``X_c`` the column-centred ``X``.

    Raises
    ------
    ValueError
        As :func:`linear_cka` (zero variance excepted: a zero matrix is returned).
    """
    Xc = column_centred(as_cloud(X, "X"))
    G = Xc @ Xc.T
    return (G + G.T) / 2.0


def _check_sigma_frac(sigma_frac: float) -> float:
    if isinstance(sigma_frac, bool) or not isinstance(sigma_frac, int | float | np.floating):
        raise TypeError(f"sigma_frac must be a positive number, got {type(sigma_frac).__name__}")
    if not (np.isfinite(sigma_frac) and sigma_frac > 0):
        raise ValueError(f"sigma_frac must be positive and finite, got {sigma_frac}")
    return float(sigma_frac)


def rbf_from_linear_gram(
    G: Any, sigma_frac: float = 0.4, *, include_self: bool = False
) -> np.ndarray:
    """RBF Gram matrix from a linear Gram matrix (centred or not).

    The squared distances are ``d_ij^2 = G_ii + G_jj - 2 G_ij``; then

    .. math::

        K_{ij} = \\exp\\!\\left(-\\frac{d_{ij}^2}{2\\sigma^2}\\right), \\qquad
        \\sigma = \\texttt{sigma\\_frac} \\times \\operatorname{median}_{i<j} d_{ij},

    the bandwidth rule of Kornblith et al. 2019 [1]_ (section 3, "RBF kernel":
    "a fraction of the median distance between examples"; they report 0.2, 0.4
    and 0.8). A pipeline can thus compute one linear Gram per layer (possibly
    accumulated over channel blocks) and derive the RBF kernel from it.

    Parameters
    ----------
    G : array_like, shape (n, n)
        Linear Gram matrix ``X X^T`` (or its centred form: distances are
        translation invariant).
    sigma_frac : float, default 0.4
        Bandwidth as a fraction of the median pairwise Euclidean distance.
    include_self : bool, default False
        If True the median is taken over all ``n^2`` entries of the distance matrix,
        the ``n`` zero self-distances included (as the reference code accompanying
        [1]_ does, on squared distances); the default uses the ``n (n - 1) / 2``
        distinct pairs. The difference vanishes as ``n`` grows.

    Returns
    -------
    np.ndarray, shape (n, n), float64
        The (uncentred) RBF Gram matrix, ones on the diagonal.

    Raises
    ------
    ValueError
        If ``G`` is invalid or ``sigma_frac`` is not positive.
    UndefinedMeasureError
        If every pairwise distance is 0 (a constant representation: no bandwidth).

    Notes
    -----
    **Zero median.** When most images share one representation (e.g. a dead ReLU
    layer mapping many images to the zero vector) the median distance is 0 and the
    bandwidth rule gives ``sigma = 0``. Kornblith et al. define no fallback; the
    convention here is the median of the *non-zero* distances (those above
    ``sqrt(eps)`` times the largest, as computed from ``G``), so the bandwidth keeps
    the scale of the images that do differ, and the kernel stays 1 between the
    identical ones. Only when every distance is 0 is the kernel undefined.

    References
    ----------
    .. [1] Kornblith, S. et al. 2019. Similarity of Neural Network Representations
       Revisited. ICML 2019. arXiv:1905.00414.
    """
    frac = _check_sigma_frac(sigma_frac)
    G = as_gram(G, "G")
    d = np.diag(G)
    sq = np.maximum(d[:, None] + d[None, :] - 2.0 * G, 0.0)
    np.fill_diagonal(sq, 0.0)
    sq = (sq + sq.T) / 2.0
    dist = np.sqrt(sq)
    med = _median_distance(dist, include_self)
    sigma = frac * med
    return np.exp(-sq / (2.0 * sigma * sigma))


def _median_distance(dist: np.ndarray, include_self: bool) -> float:
    """The bandwidth scale of :func:`rbf_from_linear_gram` (see its Notes), > 0."""
    n = dist.shape[0]
    values = dist.ravel() if include_self else dist[np.triu_indices(n, 1)]
    top = float(values.max()) if values.size else 0.0
    if not top > 0.0:
        raise UndefinedMeasureError(
            "every pairwise distance is 0 (all images have the same representation); the "
            "RBF bandwidth sigma_frac * median distance is undefined",
            "all pairwise distances are 0 (constant representation): no RBF bandwidth",
        )
    tol = np.sqrt(np.finfo(np.float64).eps) * top
    med = float(np.median(values))
    if med <= tol:  # most images coincide: the median of the distinct pairs
        med = float(np.median(values[values > tol]))
    return med


def rbf_gram(X: Any, sigma_frac: float = 0.4, *, include_self: bool = False) -> np.ndarray:
    """RBF Gram matrix of one representation, bandwidth relative to the median distance.

    Parameters
    ----------
    X : array_like, shape (n, p)
        Representation; row ``i`` belongs to image ``i``.
    sigma_frac, include_self
        As :func:`rbf_from_linear_gram`.

    Returns
    -------
    np.ndarray, shape (n, n), float64
        ``exp(-||x_i - x_j||^2 / (2 sigma^2))`` with
        ``sigma = sigma_frac * median_{i<j} ||x_i - x_j||``.

    Raises
    ------
    ValueError
        As :func:`rbf_from_linear_gram`, or if ``X`` is invalid.
    """
    return rbf_from_linear_gram(linear_gram(X), sigma_frac, include_self=include_self)


def hsic(K: Any, L: Any, *, debiased: bool = False) -> float:
    """Hilbert-Schmidt independence criterion from two Gram matrices.

    Biased (Gretton et al. 2005 [1]_): ``tr(K H L H) / (n - 1)^2``.
    Debiased (Song et al. 2012 [2]_, unbiased estimator, ``n >= 4``)::

        [ tr(K~ L~) + (1^T K~ 1)(1^T L~ 1) / ((n-1)(n-2)) - 2/(n-2) 1^T K~ L~ 1 ] / (n (n-3))

    with ``K~``, ``L~`` the Gram matrices with their diagonals set to 0; computed as
    ``<U(K), U(L)>_F / (n (n-3))`` with the U-centred matrices ``U`` (Székely &
    Rizzo 2014 [3]_), which is the same number.

    Parameters
    ----------
    K, L : array_like, shape (n, n)
        Symmetric Gram matrices of the same ``n`` images (centred or not).
    debiased : bool, default False
        Use the unbiased estimator.

    Returns
    -------
    float
        The HSIC estimate (biased: >= 0 for positive semi-definite kernels;
        debiased: may be negative).

    Raises
    ------
    ValueError
        If a matrix is invalid, the sizes differ, or ``debiased`` and ``n < 4``.

    References
    ----------
    .. [1] Gretton, A.; Bousquet, O.; Smola, A.; Schölkopf, B. 2005. Measuring
       Statistical Dependence with Hilbert-Schmidt Norms. ALT 2005, LNCS 3734: 63--77.
    .. [2] Song, L.; Smola, A.; Gretton, A.; Bedo, J.; Borgwardt, K. 2012. Feature
       Selection via Dependence Maximization. JMLR 13: 1393--1434, eq. (5).
    .. [3] Székely, G. J.; Rizzo, M. L. 2014. Partial distance correlation with
       methods for dissimilarities. Ann. Statist. 42(6): 2382--2412.
    """
    A = as_gram(K, "K")
    B = as_gram(L, "L")
    n = check_same_size(A, B)
    if debiased:
        check_debiased_n(n)
        return float(np.vdot(u_centred(A), u_centred(B))) / (n * (n - 3))
    return float(np.vdot(double_centred(A), double_centred(B))) / (n - 1) ** 2


def gram_spectrum(K: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-pairs of the centred ``K`` above the rank tolerance, descending.

    Returns ``(lam, U)`` with ``H K H = U diag(lam) U^T`` restricted to the
    numerical rank: for ``K = X X^T``, ``U`` are the left singular vectors of the
    centred ``X`` and ``lam`` its squared singular values.
    """
    C = double_centred(K)
    lam, U = np.linalg.eigh((C + C.T) / 2.0)
    lam, U = lam[::-1], U[:, ::-1]
    if not lam[0] > 0.0:
        raise zero_variance_error(name)
    n = K.shape[0]
    keep = lam > lam[0] * 10.0 * n * np.finfo(np.float64).eps
    return lam[keep], U[:, keep]


def principal_coordinates(K: Any) -> np.ndarray:
    """Principal coordinates of a representation from its linear Gram matrix.

    For ``K = X X^T`` (centred or not) the centred ``X_c = U S V^T`` has principal
    coordinates ``F = U S`` (``n x r``, ``r`` the numerical rank, columns in decreasing
    variance): ``F F^T = H K H`` and ``X_c = F V^T`` with orthonormal ``V``, so every
    measure here that is invariant to orthogonal transforms gives the same value on
    ``F`` as on ``X``, and deleting principal components of ``X`` (Ding et al. 2021 [2]_)
    is deleting the last columns of ``F``.

    Parameters
    ----------
    K : array_like, shape (n, n)
        Linear Gram matrix of one representation.

    Returns
    -------
    np.ndarray, shape (n, r), float64
        Column ``j`` has variance (squared norm) ``lam_j``, the ``j``-th largest
        eigenvalue of ``H K H``; eigenvalues below ``10 n eps`` of the largest are
        dropped.

    Raises
    ------
    ValueError
        If ``K`` is not a finite square matrix or is zero after centring.
    """
    lam, U = gram_spectrum(as_gram(K, "K"), "K")
    return U * np.sqrt(lam)


def two_grams(K: Any, L: Any) -> tuple[np.ndarray, np.ndarray]:
    A = as_gram(K, "K")
    B = as_gram(L, "L")
    check_same_size(A, B)
    return A, B
