"""Centred kernel alignment: linear, RBF and debiased CKA, in feature and Gram forms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnntopo.ph.similarity.base import (
    ZERO_VARIANCE,
    UndefinedMeasureError,
    as_cloud,
    as_gram,
    check_debiased_n,
    check_same_rows,
    check_same_size,
    clip01,
    column_centred,
    double_centred,
    gram_sequences,
    pair_matrix,
    prepare_clouds,
    prepare_each,
    u_centred,
    zero_variance_error,
)
from cnntopo.ph.similarity.grams import linear_gram, rbf_gram

__all__ = [
    "GRAM_MEMORY_LIMIT",
    "linear_cka",
    "cka_linear",
    "cka_matrix",
    "cka_from_grams",
    "cka_matrix_from_grams",
    "cka_rbf",
    "cka_debiased",
]


_CKA_METHODS = ("auto", "gram", "feature")


#: Largest total size (bytes) of the n x n Gram matrices that ``cka_matrix(method="auto")``
#: keeps in memory at once; above it the feature form is used instead.
GRAM_MEMORY_LIMIT = 1 << 30


def feature_normalised(X: np.ndarray, name: str) -> np.ndarray:
    """Centred ``X`` scaled so that ``||X^T X||_F = 1`` (shape (n, p))."""
    Xc = column_centred(X)
    scale = np.linalg.norm(Xc.T @ Xc)
    if scale == 0.0:
        raise zero_variance_error(name)
    return Xc / np.sqrt(scale)


def _gram_normalised(X: np.ndarray, name: str) -> np.ndarray:
    """Centred Gram matrix ``K = X_c X_c^T`` scaled to unit Frobenius norm (shape (n, n))."""
    Xc = column_centred(X)
    K = Xc @ Xc.T
    scale = np.linalg.norm(K)
    if scale == 0.0:
        raise zero_variance_error(name)
    K /= scale
    return K


def linear_cka(X: Any, Y: Any) -> float:
    """Linear centred kernel alignment between two representations of the same images.

    .. math::

        \\mathrm{CKA}(X, Y) = \\frac{\\|Y_c^\\top X_c\\|_F^2}
        {\\|X_c^\\top X_c\\|_F \\, \\|Y_c^\\top Y_c\\|_F},

    with :math:`X_c, Y_c` the column-centred matrices (Kornblith et al. 2019 [1]_,
    linear kernel). Equivalently :math:`\\langle K, L\\rangle_F / (\\|K\\|_F \\|L\\|_F)`
    for the centred Gram matrices :math:`K = X_c X_c^\\top`, :math:`L = Y_c Y_c^\\top`;
    the cheaper of the two forms is used (feature form when the widths are small
    compared with ``n``).

    Parameters
    ----------
    X : array_like, shape (n, p1)
        First representation; row ``i`` belongs to image ``i`` (e.g. a layer's
        top-l2 point cloud, see the module docstring).
    Y : array_like, shape (n, p2)
        Second representation of the same ``n`` images; ``p2`` may differ from ``p1``.

    Returns
    -------
    float
        CKA in ``[0, 1]``, computed in float64 and clamped to ``[0, 1]`` against
        rounding. It is 1 for ``Y = X``, and invariant to orthogonal transforms
        (``Y -> Y Q``), isotropic scaling and translation of either input.

    Raises
    ------
    ValueError
        If an input is not a finite real 2-D array with at least 2 rows, the row
        counts differ, or an input is constant (zero variance: CKA is 0/0).

    References
    ----------
    .. [1] Kornblith, S. et al. 2019. Similarity of Neural Network Representations
       Revisited. ICML 2019. arXiv:1905.00414, eq. (5) for the linear kernel.
    """
    A = as_cloud(X, "X")
    B = as_cloud(Y, "Y")
    n = check_same_rows([A, B], ["X", "Y"])
    p1, p2 = A.shape[1], B.shape[1]
    if p1 * p2 + p1 * p1 + p2 * p2 <= n * (p1 + p2 + 1):
        Xn = feature_normalised(A, "X")
        Yn = feature_normalised(B, "Y")
        value = float(np.linalg.norm(Yn.T @ Xn) ** 2)
    else:
        K = _gram_normalised(A, "X")
        L = _gram_normalised(B, "Y")
        value = float(np.vdot(K, L))
    return clip01(value)


def _choose_cka_method(method: str, arrays: Sequence[np.ndarray]) -> str:
    if method not in _CKA_METHODS:
        raise ValueError(f"method must be one of {_CKA_METHODS}, got {method!r}")
    if method != "auto":
        return method
    n = arrays[0].shape[0]
    widths = np.array([a.shape[1] for a in arrays], dtype=np.float64)
    gram_bytes = len(arrays) * n * n * 8
    # per pair: feature form n*p_i*p_j flops, Gram form n*n; the Gram matrices cost memory
    cheaper = n <= float(np.median(widths)) ** 2
    return "gram" if cheaper and gram_bytes <= GRAM_MEMORY_LIMIT else "feature"


def cka_matrix(
    clouds: Sequence[Any],
    others: Sequence[Any] | None = None,
    *,
    method: str = "auto",
    notes: dict | None = None,
) -> np.ndarray:
    """Linear CKA between every pair of representations.

    Each representation is prepared once (centred and normalised, in feature or
    Gram form). Feature form: each pair costs ``||Y_n^T X_n||_F^2``
    (``n * p_i * p_j`` flops). Gram form: the unit-norm centred Gram matrices are
    stacked as rows of a ``(K, n^2)`` array (``8 n^2`` bytes per representation)
    and all ``<K_i, K_j>_F`` come from one matrix product.

    Parameters
    ----------
    clouds : sequence of array_like, each shape (n, p_i)
        K1 representations of the same ``n`` images, e.g. the 17 top-l2 clouds of
        one model in network order.
    others : sequence of array_like, each shape (n, q_j), optional
        K2 representations of the same images (e.g. another seed's layers). If
        None, the matrix within ``clouds`` is computed.
    method : {"auto", "gram", "feature"}, default "auto"
        Form used for the products. ``"auto"`` takes the Gram form when
        ``n <= median(p)^2`` and all Gram matrices fit in
        :data:`GRAM_MEMORY_LIMIT` bytes, otherwise the feature form. Both give the
        same values up to float64 rounding.
    notes : dict, optional
        If given, a constant representation gives NaN rows / columns instead of an
        error, and ``notes[i]`` its reason (``i`` counts ``clouds`` then ``others``).

    Returns
    -------
    np.ndarray, shape (K1, K1) or (K1, K2), float64
        ``C[i, j] = linear_cka(clouds[i], others[j])``. Without ``others`` the
        matrix is symmetric (upper triangle computed and mirrored) with ones on
        the diagonal. All entries lie in ``[0, 1]``.

    Raises
    ------
    TypeError
        If ``clouds`` or ``others`` is a single 2-D array instead of a sequence.
    ValueError
        If a sequence is empty, a representation is invalid or constant, the row
        counts differ (also between ``clouds`` and ``others``), or ``method`` is
        unknown.

    References
    ----------
    .. [1] Kornblith, S. et al. 2019. Similarity of Neural Network Representations
       Revisited. ICML 2019. arXiv:1905.00414.
    """
    xs = prepare_clouds(clouds, "clouds")
    ys = None if others is None else prepare_clouds(others, "others")
    everything = xs + (ys or [])
    names = [f"clouds[{i}]" for i in range(len(xs))] + [
        f"others[{j}]" for j in range(len(ys or []))
    ]
    check_same_rows(everything, names)
    form = _choose_cka_method(method, everything)
    x_names, y_names = names[: len(xs)], names[len(xs) :]
    if form == "gram":
        return _cka_gram(xs, x_names, ys, y_names, notes)
    return _cka_feature(xs, x_names, ys, y_names, notes)


def _stacked_grams(
    arrays: Sequence[np.ndarray], names: Sequence[str], notes: dict | None, offset: int = 0
) -> np.ndarray:
    """Unit-norm centred Gram matrices, flattened into the rows of one (K, n*n) array.

    Rows of undefined (constant) representations are NaN (see :func:`prepare_each`).
    """
    n = arrays[0].shape[0]
    G = np.empty((len(arrays), n * n), dtype=np.float64)
    prepared = prepare_each(lambda a, nm: _gram_normalised(a, nm), arrays, names, notes, offset)
    for row, K in zip(G, prepared, strict=True):
        row[:] = np.nan if K is None else K.ravel()
    return G


def _cka_gram(
    xs: Sequence[np.ndarray],
    x_names: Sequence[str],
    ys: Sequence[np.ndarray] | None,
    y_names: Sequence[str],
    notes: dict | None = None,
) -> np.ndarray:
    """CKA as one matrix product of the stacked normalised Gram matrices."""
    Gx = _stacked_grams(xs, x_names, notes)
    if ys is None:
        C = Gx @ Gx.T
        C = (C + C.T) / 2.0  # exact symmetry
        np.fill_diagonal(C, np.where(np.isnan(Gx[:, 0]), np.nan, 1.0))
    else:
        C = Gx @ _stacked_grams(ys, y_names, notes, len(xs)).T
    return np.clip(C, 0.0, 1.0)


def _cka_feature(
    xs: Sequence[np.ndarray],
    x_names: Sequence[str],
    ys: Sequence[np.ndarray] | None,
    y_names: Sequence[str],
    notes: dict | None = None,
) -> np.ndarray:
    """CKA pair by pair from the normalised centred clouds: ||Y_n^T X_n||_F^2."""

    def pair(a: np.ndarray, b: np.ndarray) -> float:
        return clip01(float(np.linalg.norm(b.T @ a) ** 2))

    px = prepare_each(feature_normalised, xs, x_names, notes)
    py = None if ys is None else prepare_each(feature_normalised, ys, y_names, notes, len(xs))
    return pair_matrix(px, py, pair, diagonal=1.0, notes=notes)


#: Linear CKA (similarity in [0, 1]); the same function as :func:`linear_cka`.
cka_linear = linear_cka


def normalised_gram(K: np.ndarray, name: str, debiased: bool) -> np.ndarray:
    """Centred (or U-centred) Gram matrix scaled to unit Frobenius norm."""
    C = u_centred(K) if debiased else double_centred(K)
    self_hsic = float(np.vdot(C, C))
    if not self_hsic > 0.0:
        raise UndefinedMeasureError(
            f"{name} has zero variance after centring (all rows equal, or a degenerate kernel); "
            "CKA is undefined for a constant representation",
            ZERO_VARIANCE,
        )
    return C / np.sqrt(self_hsic)


def cka_value(Kn: np.ndarray, Ln: np.ndarray, debiased: bool) -> float:
    value = float(np.vdot(Kn, Ln))
    if debiased:
        return float(min(max(value, -1.0), 1.0))
    return clip01(value)


def cka_from_grams(K: Any, L: Any, *, debiased: bool = False) -> float:
    """Centred kernel alignment from two precomputed Gram matrices.

    .. math::

        \\mathrm{CKA}(K, L) = \\frac{\\mathrm{HSIC}(K, L)}
        {\\sqrt{\\mathrm{HSIC}(K, K)\\,\\mathrm{HSIC}(L, L)}}

    (Kornblith et al. 2019 [1]_, eq. (3)), with the biased HSIC (``H K H``
    centring) or, if ``debiased``, the unbiased HSIC of Song et al. 2012 [2]_ as
    used for minibatch and debiased CKA by Nguyen, Raghu & Kornblith 2021 [3]_.
    Any kernel works: pass :func:`linear_gram` for linear CKA (equal to
    :func:`linear_cka` on the features), :func:`rbf_gram` for RBF CKA.

    Parameters
    ----------
    K : array_like, shape (n, n)
        Gram matrix of the first representation (centred or not; both centrings
        remove any ``a_i + a_j`` term, so a linear Gram of uncentred features gives
        the same value).
    L : array_like, shape (n, n)
        Gram matrix of the second representation of the same ``n`` images.
    debiased : bool, default False
        Use the unbiased HSIC estimator (needs ``n >= 4``).

    Returns
    -------
    float
        A similarity: 1 for ``K = L`` (up to scale). Biased CKA lies in ``[0, 1]``
        for positive semi-definite kernels (clamped against rounding); debiased CKA
        lies in ``[-1, 1]`` and is near 0 for independent representations.

    Raises
    ------
    ValueError
        If a matrix is invalid or degenerate (zero after centring), the sizes
        differ, or ``debiased`` and ``n < 4``.

    References
    ----------
    .. [1] Kornblith, S. et al. 2019. Similarity of Neural Network Representations
       Revisited. ICML 2019. arXiv:1905.00414.
    .. [2] Song, L. et al. 2012. Feature Selection via Dependence Maximization.
       JMLR 13: 1393--1434.
    .. [3] Nguyen, T.; Raghu, M.; Kornblith, S. 2021. Do Wide and Deep Networks
       Learn the Same Things? ICLR 2021. arXiv:2010.15327.
    """
    A = as_gram(K, "K")
    B = as_gram(L, "L")
    n = check_same_size(A, B)
    if debiased:
        check_debiased_n(n)
    return cka_value(normalised_gram(A, "K", debiased), normalised_gram(B, "L", debiased), debiased)


def cka_matrix_from_grams(
    grams: Sequence[Any], others: Sequence[Any] | None = None, *, debiased: bool = False
) -> np.ndarray:
    """CKA between every pair of precomputed Gram matrices.

    Each matrix is centred (or U-centred) and normalised once; each pair then costs
    one ``n^2`` inner product. All prepared matrices are held in memory
    (``8 n^2`` bytes each).

    Parameters
    ----------
    grams : sequence of array_like, each shape (n, n)
        K1 Gram matrices of the same ``n`` images (e.g. one per layer, computed once
        with :func:`cnntopo.ph.representations.centred_gram` or :func:`rbf_gram`).
    others : sequence of array_like, each shape (n, n), optional
        K2 further Gram matrices; if None, the matrix within ``grams``.
    debiased : bool, default False
        As :func:`cka_from_grams`.

    Returns
    -------
    np.ndarray, shape (K1, K1) or (K1, K2), float64
        ``C[i, j] = cka_from_grams(grams[i], others[j], debiased=debiased)``;
        without ``others`` symmetric with ones on the diagonal.

    Raises
    ------
    TypeError
        If ``grams`` or ``others`` is a single 2-D array instead of a sequence.
    ValueError
        As :func:`cka_from_grams`, or if a sequence is empty.
    """

    xs, ys = gram_sequences(grams, others)
    if debiased:
        check_debiased_n(xs[0].shape[0])
    px = [normalised_gram(K, f"grams[{i}]", debiased) for i, K in enumerate(xs)]
    py = (
        None
        if ys is None
        else [normalised_gram(K, f"others[{j}]", debiased) for j, K in enumerate(ys)]
    )
    return pair_matrix(px, py, lambda a, b: cka_value(a, b, debiased), diagonal=1.0)


def cka_rbf(
    X: Any, Y: Any, sigma_frac: float = 0.4, *, debiased: bool = False, include_self: bool = False
) -> float:
    """CKA with a Gaussian RBF kernel (Kornblith et al. 2019 [1]_).

    ``cka_from_grams(rbf_gram(X, sigma_frac), rbf_gram(Y, sigma_frac))``: the
    bandwidth of each representation is ``sigma_frac`` times its own median
    pairwise Euclidean distance (Kornblith et al. use 0.2, 0.4 and 0.8).

    Parameters
    ----------
    X : array_like, shape (n, p1)
    Y : array_like, shape (n, p2)
        Representations of the same ``n`` images (rows aligned).
    sigma_frac : float, default 0.4
        Bandwidth as a fraction of the median distance.
    debiased : bool, default False
        Use the unbiased HSIC estimator.
    include_self : bool, default False
        Median convention, see :func:`rbf_from_linear_gram`.

    Returns
    -------
    float
        A similarity in ``[0, 1]`` (``[-1, 1]`` if ``debiased``); 1 for ``Y = X``.
        Invariant to orthogonal transforms, isotropic scaling and translation of
        either input (the bandwidth scales with the data), not to general
        invertible linear maps.

    Raises
    ------
    ValueError
        As :func:`linear_cka` and :func:`rbf_from_linear_gram`.

    References
    ----------
    .. [1] Kornblith, S. et al. 2019. Similarity of Neural Network Representations
       Revisited. ICML 2019. arXiv:1905.00414, section 3 and Table 2.
    """
    A = as_cloud(X, "X")
    B = as_cloud(Y, "Y")
    check_same_rows([A, B], ["X", "Y"])
    return cka_from_grams(
        rbf_gram(A, sigma_frac, include_self=include_self),
        rbf_gram(B, sigma_frac, include_self=include_self),
        debiased=debiased,
    )


def cka_debiased(X: Any, Y: Any) -> float:
    """Linear CKA with the unbiased HSIC estimator (debiased CKA).

    ``cka_from_grams(linear_gram(X), linear_gram(Y), debiased=True)``: HSIC is
    estimated with the unbiased U-statistic of Song et al. 2012 [1]_, as in the
    minibatch CKA of Nguyen, Raghu & Kornblith 2021 [2]_ and the "debiased" option
    of the reference code of Kornblith et al. 2019. It removes the positive bias of
    linear CKA for small ``n`` relative to the widths.

    Parameters
    ----------
    X : array_like, shape (n, p1)
    Y : array_like, shape (n, p2)
        Representations of the same ``n >= 4`` images.

    Returns
    -------
    float
        A similarity in ``[-1, 1]``: 1 for ``Y = X``, near 0 for independent inputs
        (may be slightly negative). Invariant to orthogonal transforms, isotropic
        scaling and translation.

    Raises
    ------
    ValueError
        As :func:`linear_cka`, or ``n < 4``.

    References
    ----------
    .. [1] Song, L. et al. 2012. Feature Selection via Dependence Maximization.
       JMLR 13: 1393--1434.
    .. [2] Nguyen, T.; Raghu, M.; Kornblith, S. 2021. Do Wide and Deep Networks
       Learn the Same Things? ICLR 2021. arXiv:2010.15327.
    """
    A = as_cloud(X, "X")
    B = as_cloud(Y, "Y")
    check_same_rows([A, B], ["X", "Y"])
    return cka_from_grams(linear_gram(A), linear_gram(B), debiased=True)
