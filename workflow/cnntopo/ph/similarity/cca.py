"""The CCA family: canonical correlations, mean CCA, SVCCA, PWCCA; feature and Gram forms."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnntopo.ph.similarity.base import (
    UndefinedMeasureError,
    as_cloud,
    check_same_rows,
    column_centred,
    zero_variance_error,
)
from cnntopo.ph.similarity.grams import gram_spectrum, two_grams

__all__ = [
    "canonical_correlations",
    "cca",
    "svcca",
    "pwcca",
    "cca_from_grams",
    "svcca_from_grams",
]


_STATISTICS = ("rho", "r2")


def _check_nontrivial(U: np.ndarray, name: str) -> np.ndarray:
    """``U`` (n, k) if it leaves a centred direction out, else UndefinedMeasureError.

    The centred image space has ``n - 1`` dimensions. A basis of ``k >= n - 1`` columns
    spans all of it, so every canonical correlation with any other representation is 1:
    CCA, SVCCA and PWCCA then say nothing (they need fewer features than images).
    """
    n, k = U.shape
    if k >= n - 1:
        raise UndefinedMeasureError(
            f"{name} spans all n - 1 = {n - 1} centred directions of its {n} images "
            f"(rank {k}): every canonical correlation with any representation is 1, CCA "
            "needs fewer (retained) features than images; use more images or SVCCA",
            f"rank {k} >= n - 1 = {n - 1} images: canonical correlations trivially 1",
        )
    return U


def column_basis(
    X: np.ndarray, name: str, keep: float | int | None = None, *, check: bool = False
) -> np.ndarray:
    """Orthonormal basis (n, r) of the column space of the centred ``X``.

    ``keep`` (SVCCA) limits it to the leading singular directions: a float in
    (0, 1] keeps the fewest explaining at least that fraction of the variance, an
    int keeps that many (at most the rank). ``check``: raise
    :class:`UndefinedMeasureError` for a trivial basis (:func:`_check_nontrivial`).
    """
    Xc = column_centred(X)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        raise zero_variance_error(name)
    rank = int(np.sum(s > s[0] * max(Xc.shape) * np.finfo(np.float64).eps))
    k = rank
    if isinstance(keep, int | np.integer) and not isinstance(keep, bool):
        k = min(int(keep), rank)
    elif keep is not None:
        var = np.cumsum(s[:rank] ** 2)
        k = int(np.searchsorted(var / var[-1], float(keep) * (1 - 1e-12))) + 1
        k = min(k, rank)
    return _check_nontrivial(U[:, :k], name) if check else U[:, :k]


def check_keep(keep: Any) -> float | int:
    if isinstance(keep, bool) or not isinstance(keep, int | float | np.integer | np.floating):
        raise TypeError(f"keep must be a float in (0, 1] or a positive int, got {keep!r}")
    if isinstance(keep, int | np.integer):
        if keep < 1:
            raise ValueError(f"keep as a number of directions must be >= 1, got {keep}")
        return int(keep)
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep as a variance fraction must lie in (0, 1], got {keep}")
    return float(keep)


def check_statistic(statistic: str) -> str:
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {_STATISTICS}, got {statistic!r}")
    return statistic


def correlation_summary(rho: np.ndarray, statistic: str) -> float:
    return float(np.mean(rho**2) if statistic == "r2" else np.mean(rho))


def basis_correlations(Ux: np.ndarray, Uy: np.ndarray) -> np.ndarray:
    return np.clip(np.linalg.svd(Ux.T @ Uy, compute_uv=False), 0.0, 1.0)


def canonical_correlations(X: Any, Y: Any) -> np.ndarray:
    """Canonical correlations between two representations (Hotelling 1936 [1]_).

    Computed as the singular values of ``Q_X^T Q_Y`` for orthonormal bases
    ``Q_X``, ``Q_Y`` of the column spaces of the centred inputs (Björck & Golub
    1973 [2]_: cosines of the principal angles), which handles rank-deficient
    inputs (columns that are linear combinations of others are dropped implicitly).

    Parameters
    ----------
    X : array_like, shape (n, p1)
    Y : array_like, shape (n, p2)
        Representations of the same ``n`` images.

    Returns
    -------
    np.ndarray, shape (min(r1, r2),), float64
        Correlations in ``[0, 1]``, descending, with ``r1``, ``r2`` the numerical
        ranks of the centred inputs. If ``r1 + r2 >= n`` some correlations are 1
        trivially (CCA overfits when the widths approach ``n``).

    Raises
    ------
    ValueError
        As :func:`linear_cka`.

    References
    ----------
    .. [1] Hotelling, H. 1936. Relations between two sets of variates. Biometrika
       28(3/4): 321--377.
    .. [2] Björck, Å.; Golub, G. H. 1973. Numerical methods for computing angles
       between linear subspaces. Math. Comp. 27(123): 579--594.
    """
    A = as_cloud(X, "X")
    B = as_cloud(Y, "Y")
    check_same_rows([A, B], ["X", "Y"])
    return basis_correlations(column_basis(A, "X"), column_basis(B, "Y"))


def cca(X: Any, Y: Any, *, statistic: str = "rho") -> float:
    """Mean canonical correlation (the "CCA" rows of Kornblith et al. 2019, Table 2).

    With canonical correlations :math:`\\rho_1 \\ge \\dots \\ge \\rho_m`
    (:func:`canonical_correlations`, ``m = min(r1, r2)``):
    ``statistic="rho"`` gives :math:`\\bar\\rho = \\frac1m\\sum_i \\rho_i`,
    ``statistic="r2"`` gives :math:`R^2_{CCA} = \\frac1m\\sum_i \\rho_i^2`
    (Kornblith et al. [1]_, section 2, divide by the width of the narrower side).

    Parameters
    ----------
    X : array_like, shape (n, p1)
    Y : array_like, shape (n, p2)
        Representations of the same ``n`` images.
    statistic : {"rho", "r2"}, default "rho"
        Mean correlation or mean squared correlation.

    Returns
    -------
    float
        A similarity in ``[0, 1]``; 1 when ``Y = X A + b`` for an invertible ``A``.
        Invariant to invertible linear maps and translations of either input.

    Raises
    ------
    ValueError
        As :func:`linear_cka`, or an unknown ``statistic``.

    References
    ----------
    .. [1] Kornblith, S. et al. 2019. Similarity of Neural Network Representations
       Revisited. ICML 2019. arXiv:1905.00414.
    """
    statistic = check_statistic(statistic)
    A = as_cloud(X, "X")
    B = as_cloud(Y, "Y")
    check_same_rows([A, B], ["X", "Y"])
    rho = basis_correlations(column_basis(A, "X", check=True), column_basis(B, "Y", check=True))
    return correlation_summary(rho, statistic)


def svcca(X: Any, Y: Any, keep: float | int = 0.99, *, statistic: str = "rho") -> float:
    """Singular-vector CCA (Raghu et al. 2017 [1]_).

    Each centred representation is first reduced to its leading singular
    directions (``keep`` as a variance fraction, the paper's 99 %, or as a number
    of directions); then :func:`cca` is applied to the two reduced
    representations ``U_k S_k``.

    Parameters
    ----------
    X : array_like, shape (n, p1)
    Y : array_like, shape (n, p2)
        Representations of the same ``n`` images.
    keep : float in (0, 1] or int >= 1, default 0.99
        Float: keep the fewest directions whose variance (squared singular values)
        reaches this fraction of the total. Int: keep this many (at most the rank).
    statistic : {"rho", "r2"}, default "rho"
        As :func:`cca`.

    Returns
    -------
    float
        A similarity in ``[0, 1]`` (mean over ``min(k1, k2)`` correlations).
        Invariant to orthogonal transforms, isotropic scaling and translation; not
        to general invertible linear maps (they change the retained directions).

    Raises
    ------
    TypeError
        If ``keep`` is not a number.
    ValueError
        As :func:`cca`, or ``keep`` out of range.

    References
    ----------
    .. [1] Raghu, M.; Gilmer, J.; Yosinski, J.; Sohl-Dickstein, J. 2017. SVCCA:
       Singular Vector Canonical Correlation Analysis for Deep Learning Dynamics and
       Interpretability. NeurIPS 2017. arXiv:1706.05806.
    """
    keep = check_keep(keep)
    statistic = check_statistic(statistic)
    A = as_cloud(X, "X")
    B = as_cloud(Y, "Y")
    check_same_rows([A, B], ["X", "Y"])
    rho = basis_correlations(
        column_basis(A, "X", keep, check=True), column_basis(B, "Y", keep, check=True)
    )
    return correlation_summary(rho, statistic)


def pwcca(X: Any, Y: Any) -> float:
    """Projection-weighted CCA (Morcos, Raghu & Bengio 2018 [1]_).

    .. math::

        \\rho_{PW} = \\sum_{i=1}^{m} \\alpha_i \\rho_i, \\qquad
        \\alpha_i \\propto \\sum_j |\\langle h_i, x_j \\rangle|, \\quad \\sum_i \\alpha_i = 1,

    with :math:`\\rho_i` the canonical correlations, :math:`h_i` the unit-norm
    canonical variates and :math:`x_j` the centred columns (neurons) of the side
    whose weights are used. As in the reference implementation of [1]_, the
    weights come from the side with fewer (linearly independent) columns, whose
    canonical variates span its whole column space (``X`` on ties); the measure is
    therefore symmetric except for inputs of equal rank.

    Parameters
    ----------
    X : array_like, shape (n, p1)
    Y : array_like, shape (n, p2)
        Representations of the same ``n`` images.

    Returns
    -------
    float
        A similarity in ``[0, 1]``; 1 when ``Y = X A + b`` for an invertible ``A``.
        Translation invariant; not invariant to general invertible linear maps
        (the weights change).

    Raises
    ------
    ValueError
        As :func:`linear_cka`.

    References
    ----------
    .. [1] Morcos, A. S.; Raghu, M.; Bengio, S. 2018. Insights on representational
       similarity in neural networks with canonical correlation. NeurIPS 2018.
       arXiv:1806.05759, section 2.2.
    """
    A = as_cloud(X, "X")
    B = as_cloud(Y, "Y")
    check_same_rows([A, B], ["X", "Y"])
    return pwcca_pair(
        (column_basis(A, "X", check=True), column_centred(A)),
        (column_basis(B, "Y", check=True), column_centred(B)),
    )


def pwcca_pair(x: tuple[np.ndarray, np.ndarray], y: tuple[np.ndarray, np.ndarray]) -> float:
    """PWCCA from prepared (basis, centred features) pairs of both sides."""
    (Ux, Xc), (Uy, Yc) = x, y
    left, s, right_t = np.linalg.svd(Ux.T @ Uy, full_matrices=False)
    rho = np.clip(s, 0.0, 1.0)
    if Ux.shape[1] <= Uy.shape[1]:
        variates, neurons = Ux @ left, Xc
    else:
        variates, neurons = Uy @ right_t.T, Yc
    weights = np.abs(variates.T @ neurons).sum(axis=1)
    return float(min(max(float(weights @ rho / weights.sum()), 0.0), 1.0))


def gram_basis(
    K: np.ndarray, name: str, keep: float | int | None = None, *, check: bool = False
) -> np.ndarray:
    """As :func:`column_basis`, from the Gram matrix ``K = X X^T`` (shape (n, r))."""
    lam, U = gram_spectrum(K, name)
    k = lam.size
    if isinstance(keep, int | np.integer) and not isinstance(keep, bool):
        k = min(int(keep), k)
    elif keep is not None:
        var = np.cumsum(lam)
        k = min(int(np.searchsorted(var / var[-1], float(keep) * (1 - 1e-12))) + 1, k)
    return _check_nontrivial(U[:, :k], name) if check else U[:, :k]


def cca_from_grams(K: Any, L: Any, *, statistic: str = "rho") -> float:
    """Mean canonical correlation (:func:`cca`) from two linear Gram matrices.

    The eigenvectors of the centred ``K = X X^T`` with non-zero eigenvalues are an
    orthonormal basis of the column space of ``X_c``; the canonical correlations
    are the singular values of ``U_K^T U_L``.

    Parameters
    ----------
    K, L : array_like, shape (n, n)
        Linear Gram matrices of two representations of the same images (centred or
        not).
    statistic : {"rho", "r2"}, default "rho"
        As :func:`cca`.

    Returns
    -------
    float
        A similarity in ``[0, 1]``, :func:`cca` of the underlying features.

    Raises
    ------
    ValueError
        As :func:`procrustes_from_grams`, or an unknown ``statistic``.

    Notes
    -----
    The numerical rank is decided on the eigenvalues (``> 10 n eps`` of the
    largest, i.e. singular values above about ``sqrt(10 n eps)`` of the largest),
    a coarser cut than the feature form's; directions that small are numerical
    noise for CCA. For flattened layers with ``p >= n - 1`` every correlation is 1
    (CCA needs ``n`` well above the widths); use :func:`svcca_from_grams`.
    """
    statistic = check_statistic(statistic)
    A, B = two_grams(K, L)
    return correlation_summary(
        basis_correlations(gram_basis(A, "K", check=True), gram_basis(B, "L", check=True)),
        statistic,
    )


def svcca_from_grams(K: Any, L: Any, keep: float | int = 0.99, *, statistic: str = "rho") -> float:
    """SVCCA (:func:`svcca`) from two linear Gram matrices.

    The leading singular directions of ``X_c`` are the leading eigenvectors of the
    centred ``K = X X^T`` (eigenvalues = squared singular values = variances), so
    the variance cut and the CCA need only the Gram matrices.

    Parameters
    ----------
    K, L : array_like, shape (n, n)
        Linear Gram matrices of two representations of the same images.
    keep : float in (0, 1] or int >= 1, default 0.99
        As :func:`svcca`.
    statistic : {"rho", "r2"}, default "rho"
        As :func:`cca`.

    Returns
    -------
    float
        A similarity in ``[0, 1]``, :func:`svcca` of the underlying features.

    Raises
    ------
    TypeError, ValueError
        As :func:`svcca` and :func:`procrustes_from_grams`.
    """
    keep = check_keep(keep)
    statistic = check_statistic(statistic)
    A, B = two_grams(K, L)
    rho = basis_correlations(
        gram_basis(A, "K", keep, check=True), gram_basis(B, "L", keep, check=True)
    )
    return correlation_summary(rho, statistic)
