"""Representational-similarity baselines: linear CKA and orthogonal Procrustes.

The paper discusses its persistent-homology distances "in the broader context of
existing representational similarity metrics" (docs/methods.md §9). No
CKA or Procrustes code was released, so this module provides the two standard
baselines, computed on exactly the inputs the PH pipeline sees:

**The same activations.** A representation here is a layer's *top-l2 point
cloud* (:func:`cnntopo.ph.pointclouds.top_l2`, construction P1): an ``(N, c)``
matrix whose row ``i`` is the spatial activation vector of largest l2 norm for
evaluation image ``i`` (``N`` images, ``c`` channels of that layer). Ripser sees
the rows as ``N`` points in ``R^c``; CKA and Procrustes see the same matrix as
``N`` paired observations of ``c`` features. Two clouds are comparable when
their rows are the same images in the same order (the chosen spatial position
may differ between layers; the image may not). Layers of different width
(64 ... 512 channels) are compared directly; no padding is needed for CKA.

Both measures centre the columns (features) first, which Ripser does not need:
Vietoris--Rips diagrams are translation invariant anyway.

References
----------
.. [1] Kornblith, S.; Norouzi, M.; Lee, H.; Hinton, G. 2019. Similarity of Neural
   Network Representations Revisited. ICML 2019, PMLR 97: 3519--3529.
   arXiv:1905.00414.
.. [2] Ding, F.; Denain, J.-S.; Steinhardt, J. 2021. Grounding Representation
   Similarity Through Statistical Testing. NeurIPS 2021, 34: 1556--1568.
   arXiv:2108.01661.
.. [3] Schönemann, P. H. 1966. A generalized solution of the orthogonal
   Procrustes problem. Psychometrika 31(1): 1--10.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "linear_cka",
    "cka_matrix",
    "orthogonal_procrustes_distance",
    "procrustes_matrix",
]

_CKA_METHODS = ("auto", "gram", "feature")

#: Largest total size (bytes) of the n x n Gram matrices that ``cka_matrix(method="auto")``
#: keeps in memory at once; above it the feature form is used instead.
GRAM_MEMORY_LIMIT = 1 << 30


# ---------------------------------------------------------------------------
# validation and per-cloud preparation
# ---------------------------------------------------------------------------


def _as_cloud(X: Any, name: str) -> np.ndarray:
    """Return ``X`` as a float64 ``(n, p)`` array with finite entries, n >= 2, p >= 1."""
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (n_images, n_features) array, got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    n, p = arr.shape
    if n < 2 or p < 1:
        raise ValueError(
            f"{name} needs at least 2 rows (images) and 1 column, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _check_same_rows(clouds: Sequence[np.ndarray], names: Sequence[str]) -> int:
    sizes = {arr.shape[0] for arr in clouds}
    if len(sizes) > 1:
        detail = ", ".join(f"{nm}: {arr.shape[0]}" for nm, arr in zip(names, clouds, strict=True))
        raise ValueError(
            "all representations must have the same number of rows (the same images, in the "
            f"same order); got {detail}"
        )
    return sizes.pop()


def _centred(X: np.ndarray) -> np.ndarray:
    """Column-centred copy of ``X`` (shape (n, p), float64)."""
    return X - X.mean(axis=0, keepdims=True)


def _zero_variance_error(name: str) -> ValueError:
    return ValueError(
        f"{name} has zero variance after centring (all rows equal); CKA and Procrustes are "
        "undefined for a constant representation"
    )


def _feature_normalised(X: np.ndarray, name: str) -> np.ndarray:
    """Centred ``X`` scaled so that ``||X^T X||_F = 1`` (shape (n, p))."""
    Xc = _centred(X)
    scale = np.linalg.norm(Xc.T @ Xc)
    if scale == 0.0:
        raise _zero_variance_error(name)
    return Xc / np.sqrt(scale)


def _gram_normalised(X: np.ndarray, name: str) -> np.ndarray:
    """Centred Gram matrix ``K = X_c X_c^T`` scaled to unit Frobenius norm (shape (n, n))."""
    Xc = _centred(X)
    K = Xc @ Xc.T
    scale = np.linalg.norm(K)
    if scale == 0.0:
        raise _zero_variance_error(name)
    K /= scale
    return K


def _clip01(value: float) -> float:
    """Clamp rounding excursions (e.g. 1 + 2e-16) back into [0, 1]."""
    return float(min(max(value, 0.0), 1.0))


def _prepare_clouds(clouds: Sequence[Any], name: str) -> list[np.ndarray]:
    if isinstance(clouds, np.ndarray) and clouds.ndim == 2:
        raise TypeError(
            f"{name} must be a sequence of (n, p) arrays, got a single 2-D array; wrap it in a list"
        )
    arrays = [_as_cloud(X, f"{name}[{i}]") for i, X in enumerate(clouds)]
    if not arrays:
        raise ValueError(f"{name} is empty; pass at least one (n, p) representation")
    return arrays


# ---------------------------------------------------------------------------
# linear CKA
# ---------------------------------------------------------------------------


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
    A = _as_cloud(X, "X")
    B = _as_cloud(Y, "Y")
    n = _check_same_rows([A, B], ["X", "Y"])
    p1, p2 = A.shape[1], B.shape[1]
    if p1 * p2 + p1 * p1 + p2 * p2 <= n * (p1 + p2 + 1):
        Xn = _feature_normalised(A, "X")
        Yn = _feature_normalised(B, "Y")
        value = float(np.linalg.norm(Yn.T @ Xn) ** 2)
    else:
        K = _gram_normalised(A, "X")
        L = _gram_normalised(B, "Y")
        value = float(np.vdot(K, L))
    return _clip01(value)


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
    xs = _prepare_clouds(clouds, "clouds")
    ys = None if others is None else _prepare_clouds(others, "others")
    everything = xs + (ys or [])
    names = [f"clouds[{i}]" for i in range(len(xs))] + [
        f"others[{j}]" for j in range(len(ys or []))
    ]
    _check_same_rows(everything, names)
    form = _choose_cka_method(method, everything)
    x_names, y_names = names[: len(xs)], names[len(xs) :]
    if form == "gram":
        return _cka_gram(xs, x_names, ys, y_names)
    return _cka_feature(xs, x_names, ys, y_names)


def _stacked_grams(arrays: Sequence[np.ndarray], names: Sequence[str]) -> np.ndarray:
    """Unit-norm centred Gram matrices, flattened into the rows of one (K, n*n) array."""
    n = arrays[0].shape[0]
    G = np.empty((len(arrays), n * n), dtype=np.float64)
    for row, a, nm in zip(G, arrays, names, strict=True):
        row[:] = _gram_normalised(a, nm).ravel()
    return G


def _cka_gram(
    xs: Sequence[np.ndarray],
    x_names: Sequence[str],
    ys: Sequence[np.ndarray] | None,
    y_names: Sequence[str],
) -> np.ndarray:
    """CKA as one matrix product of the stacked normalised Gram matrices."""
    Gx = _stacked_grams(xs, x_names)
    if ys is None:
        C = Gx @ Gx.T
        C = (C + C.T) / 2.0  # exact symmetry
        np.fill_diagonal(C, 1.0)
    else:
        C = Gx @ _stacked_grams(ys, y_names).T
    return np.clip(C, 0.0, 1.0)


def _pair_matrix(
    px: Sequence[np.ndarray],
    py: Sequence[np.ndarray] | None,
    pair: Callable[[np.ndarray, np.ndarray], float],
    diagonal: float,
) -> np.ndarray:
    """``pair`` over all (i, j): symmetric (upper triangle computed, ``diagonal`` on the
    diagonal) when ``py`` is None, else the full (len(px), len(py)) matrix."""
    if py is None:
        K = len(px)
        M = np.full((K, K), diagonal, dtype=np.float64)
        for i in range(K):
            for j in range(i + 1, K):
                M[i, j] = M[j, i] = pair(px[i], px[j])
        return M
    M = np.empty((len(px), len(py)), dtype=np.float64)
    for i, a in enumerate(px):
        for j, b in enumerate(py):
            M[i, j] = pair(a, b)
    return M


def _cka_feature(
    xs: Sequence[np.ndarray],
    x_names: Sequence[str],
    ys: Sequence[np.ndarray] | None,
    y_names: Sequence[str],
) -> np.ndarray:
    """CKA pair by pair from the normalised centred clouds: ||Y_n^T X_n||_F^2."""

    def pair(a: np.ndarray, b: np.ndarray) -> float:
        return _clip01(float(np.linalg.norm(b.T @ a) ** 2))

    px = [_feature_normalised(a, nm) for a, nm in zip(xs, x_names, strict=True)]
    py = (
        None
        if ys is None
        else [_feature_normalised(b, nm) for b, nm in zip(ys, y_names, strict=True)]
    )
    return _pair_matrix(px, py, pair, diagonal=1.0)


# ---------------------------------------------------------------------------
# orthogonal Procrustes
# ---------------------------------------------------------------------------


def _frobenius_normalised(X: np.ndarray, name: str) -> np.ndarray:
    """Centred ``X`` scaled to unit Frobenius norm (shape (n, p))."""
    Xc = _centred(X)
    scale = np.linalg.norm(Xc)
    if scale == 0.0:
        raise _zero_variance_error(name)
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
    A = _as_cloud(X, "X")
    B = _as_cloud(Y, "Y")
    _check_same_rows([A, B], ["X", "Y"])
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
    xs = _prepare_clouds(clouds, "clouds")
    ys = None if others is None else _prepare_clouds(others, "others")
    names = [f"clouds[{i}]" for i in range(len(xs))]
    other_names = [f"others[{j}]" for j in range(len(ys or []))]
    _check_same_rows(xs + (ys or []), names + other_names)
    px = [_frobenius_normalised(a, nm) for a, nm in zip(xs, names, strict=True)]
    py = (
        None
        if ys is None
        else [_frobenius_normalised(b, nm) for b, nm in zip(ys, other_names, strict=True)]
    )
    return _pair_matrix(px, py, _procrustes_pair, diagonal=0.0)
