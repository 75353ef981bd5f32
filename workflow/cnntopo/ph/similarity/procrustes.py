"""Orthogonal Procrustes distance (Ding et al. 2021), feature and Gram forms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnntopo.ph.similarity.base import (
    as_cloud,
    check_same_rows,
    column_centred,
    pair_matrix,
    prepare_clouds,
    zero_variance_error,
)
from cnntopo.ph.similarity.grams import gram_spectrum, two_grams

__all__ = [
    "orthogonal_procrustes_distance",
    "procrustes",
    "procrustes_matrix",
    "procrustes_from_grams",
]


def _frobenius_normalised(X: np.ndarray, name: str) -> np.ndarray:
    """Centred ``X`` scaled to unit Frobenius norm (shape (n, p))."""
    Xc = column_centred(X)
    scale = np.linalg.norm(Xc)
    if scale == 0.0:
        raise zero_variance_error(name)
    return Xc / scale


def _procrustes_pair(Xn: np.ndarray, Yn: np.ndarray) -> float:
    nuclear = float(np.linalg.svd(Xn.T @ Yn, compute_uv=False).sum())
    return float(min(max(2.0 - 2.0 * nuclear, 0.0), 2.0))


def orthogonal_procrustes_distance(X: Any, Y: Any) -> float:
    """Orthogonal Procrustes distance between two representations of the same images.

    Following Ding et al. 2021 [1]_, both inputs are column-centred and scaled to
    unit Frobenius norm; then

    .. math::

        d(X, Y) = \\min_{Q^\\top Q = I} \\|X - Y Q\\|_F^2 = 2 - 2\\,\\|X^\\top Y\\|_*,

    with :math:`\\|\\cdot\\|_*` the nuclear norm (sum of singular values); the
    minimiser is Schönemann's [2]_ :math:`Q = V U^\\top` from the SVD
    :math:`X^\\top Y = U \\Sigma V^\\top`. When the widths differ, the narrower
    representation is implicitly padded with zero columns: padding adds zero rows
    or columns to :math:`X^\\top Y` and leaves its nuclear norm unchanged.

    Parameters
    ----------
    X : array_like, shape (n, p1)
    Y : array_like, shape (n, p2)
        Representations of the same ``n`` images (rows aligned).

    Returns
    -------
    float
        The distance in ``[0, 2]`` (0 iff ``Y`` is an orthogonal transform of ``X``
        up to translation and isotropic scaling); clamped against rounding.

    Raises
    ------
    ValueError
        As :func:`linear_cka`.

    References
    ----------
    .. [1] Ding, F.; Denain, J.-S.; Steinhardt, J. 2021. Grounding Representation
       Similarity Through Statistical Testing. NeurIPS 2021. arXiv:2108.01661,
       section 2 ("Orthogonal Procrustes").
    .. [2] Schönemann, P. H. 1966. A generalized solution of the orthogonal
       Procrustes problem. Psychometrika 31(1): 1--10.
    """
    A = as_cloud(X, "X")
    B = as_cloud(Y, "Y")
    check_same_rows([A, B], ["X", "Y"])
    return _procrustes_pair(_frobenius_normalised(A, "X"), _frobenius_normalised(B, "Y"))


def procrustes_matrix(clouds: Sequence[Any], others: Sequence[Any] | None = None) -> np.ndarray:
    """Orthogonal Procrustes distance between every pair of representations.

    Parameters
    ----------
    clouds : sequence of array_like, each shape (n, p_i)
        K1 representations of the same ``n`` images.
    others : sequence of array_like, each shape (n, q_j), optional
        K2 representations; if None, distances within ``clouds``.

    Returns
    -------
    np.ndarray, shape (K1, K1) or (K1, K2), float64
        ``D[i, j] = orthogonal_procrustes_distance(clouds[i], others[j])``; without
        ``others`` symmetric with zeros on the diagonal.

    Raises
    ------
    TypeError, ValueError
        As :func:`cka_matrix`.
    """
    xs = prepare_clouds(clouds, "clouds")
    ys = None if others is None else prepare_clouds(others, "others")
    names = [f"clouds[{i}]" for i in range(len(xs))]
    other_names = [f"others[{j}]" for j in range(len(ys or []))]
    check_same_rows(xs + (ys or []), names + other_names)
    px = [_frobenius_normalised(a, nm) for a, nm in zip(xs, names, strict=True)]
    py = (
        None
        if ys is None
        else [_frobenius_normalised(b, nm) for b, nm in zip(ys, other_names, strict=True)]
    )
    return pair_matrix(px, py, _procrustes_pair, diagonal=0.0)


#: Orthogonal Procrustes distance (distance in [0, 2]); the same function as
#: :func:`orthogonal_procrustes_distance`.
procrustes = orthogonal_procrustes_distance


def procrustes_from_grams(K: Any, L: Any) -> float:
    """Orthogonal Procrustes distance from two linear Gram matrices.

    With ``K = X X^T`` and ``L = Y Y^T`` (centred or not), factor the centred
    matrices as ``F F^T`` and ``G G^T`` (``F = U_K diag(lam_K)^(1/2)``); then
    ``X_c = F R`` for a partial isometry ``R``, so
    ``||X_c^T Y_c||_* = ||F^T G||_*`` and ``||X_c||_F^2 = tr(H K H)``, and

    .. math::

        d = 2 - 2\\,\\frac{\\|F^\\top G\\|_*}{\\sqrt{\\operatorname{tr}(HKH)\\,
        \\operatorname{tr}(HLH)}},

    the value of :func:`orthogonal_procrustes_distance` (Ding et al. 2021) without
    the features: for flattened convolutional layers (``p`` up to ``c h w``) the
    ``p1 x p2`` matrix ``X^T Y`` would not fit in memory, the ``n x n`` Grams do.

    Parameters
    ----------
    K : array_like, shape (n, n)
        Linear Gram matrix of the first representation (e.g.
        :func:`cnntopo.ph.representations.centred_gram`).
    L : array_like, shape (n, n)
        Linear Gram matrix of the second representation of the same images.

    Returns
    -------
    float
        A distance in ``[0, 2]`` (see :func:`orthogonal_procrustes_distance`).

    Raises
    ------
    ValueError
        If a matrix is invalid or zero after centring, or the sizes differ.

    Notes
    -----
    Costs two ``n x n`` eigendecompositions and one SVD of at most ``n x n``
    (O(n^3)). Eigenvalues below ``10 n eps`` of the largest are treated as 0.
    """
    A, B = two_grams(K, L)
    lam_k, U_k = gram_spectrum(A, "K")
    lam_l, U_l = gram_spectrum(B, "L")
    F = U_k * np.sqrt(lam_k)
    G = U_l * np.sqrt(lam_l)
    nuclear = float(np.linalg.svd(F.T @ G, compute_uv=False).sum())
    value = 2.0 - 2.0 * nuclear / np.sqrt(lam_k.sum() * lam_l.sum())
    return float(min(max(value, 0.0), 2.0))
