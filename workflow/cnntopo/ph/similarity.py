"""Representational-similarity measures: CKA (linear, RBF, debiased), Procrustes, CCA family.

The paper discusses its persistent-homology distances "in the broader context of
existing representational similarity metrics" (docs/methods.md §9). No
similarity code was released, so this module provides the standard measures,
computed on the inputs the PH pipeline sees or on the standard representations
of :mod:`cnntopo.ph.representations`:

- CKA: :func:`linear_cka` (alias :func:`cka_linear`), :func:`cka_rbf`,
  :func:`cka_debiased`, and from precomputed Gram matrices
  :func:`cka_from_grams` / :func:`cka_matrix_from_grams` (one Gram per layer,
  every pair for one ``n^2`` inner product); :func:`cka_matrix` for linear CKA
  between many feature matrices.
- :func:`orthogonal_procrustes_distance` (alias :func:`procrustes`),
  :func:`procrustes_matrix`.
- CCA family: :func:`canonical_correlations`, :func:`cca` (mean correlation or
  mean squared correlation), :func:`svcca`, :func:`pwcca`.
- Gram forms of Procrustes, CCA and SVCCA (:func:`procrustes_from_grams`,
  :func:`cca_from_grams`, :func:`svcca_from_grams`), for representations too wide
  for their features to be compared directly (flattened convolutional layers).
- :data:`MEASURES`: every measure by name with its convention (``"similarity"``:
  larger is closer; ``"distance"``: smaller is closer) and its Gram form;
  :func:`measure_matrix` and :func:`measure_matrix_from_grams`: one measure between
  all pairs of representations, by name (the Gram version prepares each matrix
  once).

All measures take two representations ``X`` of shape ``(n, p)`` and ``Y`` of
shape ``(n, q)`` whose rows are the same ``n`` images in the same order, and
return a float.

**The same activations.** A representation here is, for example, a layer's
*top-l2 point cloud* (:func:`cnntopo.ph.pointclouds.top_l2`, construction P1): an ``(N, c)``
matrix whose row ``i`` is the spatial activation vector of largest l2 norm for
evaluation image ``i`` (``N`` images, ``c`` channels of that layer). Ripser sees
the rows as ``N`` points in ``R^c``; CKA and Procrustes see the same matrix as
``N`` paired observations of ``c`` features. Two clouds are comparable when
their rows are the same images in the same order (the chosen spatial position
may differ between layers; the image may not). Layers of different width
(64 ... 512 channels) are compared directly; no padding is needed for CKA.

All measures centre the columns (features) first, which Ripser does not need:
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
.. [4] Song, L.; Smola, A.; Gretton, A.; Bedo, J.; Borgwardt, K. 2012. Feature
   Selection via Dependence Maximization. JMLR 13: 1393--1434.
.. [5] Nguyen, T.; Raghu, M.; Kornblith, S. 2021. Do Wide and Deep Networks Learn
   the Same Things? ICLR 2021. arXiv:2010.15327.
.. [6] Raghu, M.; Gilmer, J.; Yosinski, J.; Sohl-Dickstein, J. 2017. SVCCA.
   NeurIPS 2017. arXiv:1706.05806.
.. [7] Morcos, A. S.; Raghu, M.; Bengio, S. 2018. Insights on representational
   similarity in neural networks with canonical correlation. NeurIPS 2018.
   arXiv:1806.05759.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "linear_cka",
    "cka_matrix",
    "orthogonal_procrustes_distance",
    "procrustes_matrix",
    "cka_linear",
    "procrustes",
    "centre_gram",
    "linear_gram",
    "rbf_gram",
    "rbf_from_linear_gram",
    "hsic",
    "cka_from_grams",
    "cka_matrix_from_grams",
    "cka_rbf",
    "cka_debiased",
    "canonical_correlations",
    "cca",
    "svcca",
    "pwcca",
    "procrustes_from_grams",
    "cca_from_grams",
    "svcca_from_grams",
    "Measure",
    "MEASURES",
    "measure_matrix",
    "measure_matrix_from_grams",
    "blocked_matrix_from_grams",
    "principal_coordinates",
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
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """``pair`` over all (i, j): symmetric (upper triangle computed, ``diagonal`` on the
    diagonal) when ``py`` is None, else the full (len(px), len(py)) matrix.

    With ``n_jobs > 1`` the rows are spread over that many threads (the per-pair work is
    numpy linear algebra, which releases the GIL); the values do not depend on it.
    ``progress(pairs_done, pairs_total)`` is called after every row
    (:func:`cnntopo.ph.diagram_ops.pair_counter`).
    """
    from cnntopo.ph.diagram_ops import pair_counter, run_parallel

    symmetric = py is None
    others = px if symmetric else py
    M = np.full((len(px), len(others)), diagonal, dtype=np.float64)

    def row(i: int) -> None:
        for j in range(i + 1 if symmetric else 0, len(others)):
            M[i, j] = pair(px[i], others[j])
            if symmetric:
                M[j, i] = M[i, j]

    n = len(others)
    weights = [n - 1 - i for i in range(len(px))] if symmetric else [n] * len(px)
    rows = [(i,) for i in range(len(px))]
    if n_jobs > 1 and len(px) > 1:
        from threadpoolctl import threadpool_limits

        # one BLAS thread per worker: n_jobs workers x a multithreaded BLAS would
        # oversubscribe the cores
        with threadpool_limits(1):
            run_parallel(row, rows, n_jobs, pair_counter(weights, progress))
    else:
        run_parallel(row, rows, 1, pair_counter(weights, progress))
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


# ---------------------------------------------------------------------------
# the measure names of issue 11 (aliases of the two original baselines)
# ---------------------------------------------------------------------------

#: Linear CKA (similarity in [0, 1]); the same function as :func:`linear_cka`.
cka_linear = linear_cka

#: Orthogonal Procrustes distance (distance in [0, 2]); the same function as
#: :func:`orthogonal_procrustes_distance`.
procrustes = orthogonal_procrustes_distance


# ---------------------------------------------------------------------------
# Gram matrices and HSIC
# ---------------------------------------------------------------------------


def _as_gram(K: Any, name: str) -> np.ndarray:
    """Return ``K`` as a float64 symmetric ``(n, n)`` array with finite entries, n >= 2."""
    arr = np.asarray(K)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square (n, n) Gram matrix, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 rows (images), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    scale = float(np.abs(arr).max())
    if not np.allclose(arr, arr.T, rtol=1e-9, atol=1e-12 * scale):
        raise ValueError(f"{name} is not symmetric; a Gram matrix K[i, j] = k(x_i, x_j) is")
    return arr


def _gram_list(seq: Sequence[Any], label: str) -> list[np.ndarray]:
    """A non-empty sequence of (n, n) Gram matrices, each checked by :func:`_as_gram`."""
    if isinstance(seq, np.ndarray) and seq.ndim == 2:
        raise TypeError(
            f"{label} must be a sequence of (n, n) Gram matrices, got a single 2-D array; "
            "wrap it in a list"
        )
    out = [_as_gram(K, f"{label}[{i}]") for i, K in enumerate(seq)]
    if not out:
        raise ValueError(f"{label} is empty; pass at least one (n, n) Gram matrix")
    return out


def _gram_sequences(
    grams: Sequence[Any], others: Sequence[Any] | None
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Checked ``grams`` and ``others`` (or None), all of the same images (same n)."""
    xs = _gram_list(grams, "grams")
    ys = None if others is None else _gram_list(others, "others")
    sizes = {K.shape for K in xs + (ys or [])}
    if len(sizes) > 1:
        raise ValueError(
            f"all Gram matrices must be of the same images (same n); got shapes {sorted(sizes)}"
        )
    return xs, ys


def _check_same_size(K: np.ndarray, L: np.ndarray) -> int:
    if K.shape != L.shape:
        raise ValueError(
            "the Gram matrices must be of the same images (same n); got shapes "
            f"{K.shape} and {L.shape}"
        )
    return K.shape[0]


def _double_centred(K: np.ndarray) -> np.ndarray:
    """``H K H`` with ``H = I - 11^T/n``, without forming ``H`` (shape (n, n))."""
    row = K.mean(axis=0)
    col = K.mean(axis=1)
    return K - row[None, :] - col[:, None] + row.mean()


def _u_centred(K: np.ndarray) -> np.ndarray:
    """U-centred Gram matrix (Székely & Rizzo 2014; zero diagonal), n >= 4.

    ``<U(K), U(L)>_F / (n (n - 3))`` is the unbiased HSIC estimator of Song et al. 2012.
    """
    n = K.shape[0]
    G = K.copy()
    np.fill_diagonal(G, 0.0)
    means = G.sum(axis=0) / (n - 2)
    means -= means.sum() / (2 * (n - 1))
    G -= means[:, None]
    G -= means[None, :]
    np.fill_diagonal(G, 0.0)
    return G


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
    C = _double_centred(_as_gram(K, "K"))
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
    Xc = _centred(_as_cloud(X, "X"))
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
        If ``G`` is invalid, ``sigma_frac`` is not positive, or the median distance
        is 0 (most images have identical representations).

    References
    ----------
    .. [1] Kornblith, S. et al. 2019. Similarity of Neural Network Representations
       Revisited. ICML 2019. arXiv:1905.00414.
    """
    frac = _check_sigma_frac(sigma_frac)
    G = _as_gram(G, "G")
    n = G.shape[0]
    d = np.diag(G)
    sq = np.maximum(d[:, None] + d[None, :] - 2.0 * G, 0.0)
    np.fill_diagonal(sq, 0.0)
    sq = (sq + sq.T) / 2.0
    dist = np.sqrt(sq)
    med = float(np.median(dist) if include_self else np.median(dist[np.triu_indices(n, 1)]))
    if med == 0.0:
        raise ValueError(
            "the median pairwise distance is 0 (most images have identical representations); "
            "the RBF bandwidth sigma_frac * median is undefined"
        )
    sigma = frac * med
    return np.exp(-sq / (2.0 * sigma * sigma))


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
    A = _as_gram(K, "K")
    B = _as_gram(L, "L")
    n = _check_same_size(A, B)
    if debiased:
        _check_debiased_n(n)
        return float(np.vdot(_u_centred(A), _u_centred(B))) / (n * (n - 3))
    return float(np.vdot(_double_centred(A), _double_centred(B))) / (n - 1) ** 2


def _check_debiased_n(n: int) -> None:
    if n < 4:
        raise ValueError(f"the debiased HSIC estimator needs at least 4 images, got n = {n}")


def _normalised_gram(K: np.ndarray, name: str, debiased: bool) -> np.ndarray:
    """Centred (or U-centred) Gram matrix scaled to unit Frobenius norm."""
    C = _u_centred(K) if debiased else _double_centred(K)
    self_hsic = float(np.vdot(C, C))
    if not self_hsic > 0.0:
        raise ValueError(
            f"{name} has zero variance after centring (all rows equal, or a degenerate kernel); "
            "CKA is undefined for a constant representation"
        )
    return C / np.sqrt(self_hsic)


def _cka_value(Kn: np.ndarray, Ln: np.ndarray, debiased: bool) -> float:
    value = float(np.vdot(Kn, Ln))
    if debiased:
        return float(min(max(value, -1.0), 1.0))
    return _clip01(value)


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
    A = _as_gram(K, "K")
    B = _as_gram(L, "L")
    n = _check_same_size(A, B)
    if debiased:
        _check_debiased_n(n)
    return _cka_value(
        _normalised_gram(A, "K", debiased), _normalised_gram(B, "L", debiased), debiased
    )


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

    xs, ys = _gram_sequences(grams, others)
    if debiased:
        _check_debiased_n(xs[0].shape[0])
    px = [_normalised_gram(K, f"grams[{i}]", debiased) for i, K in enumerate(xs)]
    py = (
        None
        if ys is None
        else [_normalised_gram(K, f"others[{j}]", debiased) for j, K in enumerate(ys)]
    )
    return _pair_matrix(px, py, lambda a, b: _cka_value(a, b, debiased), diagonal=1.0)


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
    A = _as_cloud(X, "X")
    B = _as_cloud(Y, "Y")
    _check_same_rows([A, B], ["X", "Y"])
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
    A = _as_cloud(X, "X")
    B = _as_cloud(Y, "Y")
    _check_same_rows([A, B], ["X", "Y"])
    return cka_from_grams(linear_gram(A), linear_gram(B), debiased=True)


# ---------------------------------------------------------------------------
# CCA family
# ---------------------------------------------------------------------------

_STATISTICS = ("rho", "r2")


def _basis(X: np.ndarray, name: str, keep: float | int | None = None) -> np.ndarray:
    """Orthonormal basis (n, r) of the column space of the centred ``X``.

    ``keep`` (SVCCA) limits it to the leading singular directions: a float in
    (0, 1] keeps the fewest explaining at least that fraction of the variance, an
    int keeps that many (at most the rank).
    """
    Xc = _centred(X)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        raise _zero_variance_error(name)
    rank = int(np.sum(s > s[0] * max(Xc.shape) * np.finfo(np.float64).eps))
    k = rank
    if isinstance(keep, int | np.integer) and not isinstance(keep, bool):
        k = min(int(keep), rank)
    elif keep is not None:
        var = np.cumsum(s[:rank] ** 2)
        k = int(np.searchsorted(var / var[-1], float(keep) * (1 - 1e-12))) + 1
        k = min(k, rank)
    return U[:, :k]


def _check_keep(keep: Any) -> float | int:
    if isinstance(keep, bool) or not isinstance(keep, int | float | np.integer | np.floating):
        raise TypeError(f"keep must be a float in (0, 1] or a positive int, got {keep!r}")
    if isinstance(keep, int | np.integer):
        if keep < 1:
            raise ValueError(f"keep as a number of directions must be >= 1, got {keep}")
        return int(keep)
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep as a variance fraction must lie in (0, 1], got {keep}")
    return float(keep)


def _check_statistic(statistic: str) -> str:
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {_STATISTICS}, got {statistic!r}")
    return statistic


def _summary(rho: np.ndarray, statistic: str) -> float:
    return float(np.mean(rho**2) if statistic == "r2" else np.mean(rho))


def _correlations(Ux: np.ndarray, Uy: np.ndarray) -> np.ndarray:
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
    A = _as_cloud(X, "X")
    B = _as_cloud(Y, "Y")
    _check_same_rows([A, B], ["X", "Y"])
    return _correlations(_basis(A, "X"), _basis(B, "Y"))


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
    statistic = _check_statistic(statistic)
    return _summary(canonical_correlations(X, Y), statistic)


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
    keep = _check_keep(keep)
    statistic = _check_statistic(statistic)
    A = _as_cloud(X, "X")
    B = _as_cloud(Y, "Y")
    _check_same_rows([A, B], ["X", "Y"])
    rho = _correlations(_basis(A, "X", keep), _basis(B, "Y", keep))
    return _summary(rho, statistic)


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
    A = _as_cloud(X, "X")
    B = _as_cloud(Y, "Y")
    _check_same_rows([A, B], ["X", "Y"])
    return _pwcca_pair((_basis(A, "X"), _centred(A)), (_basis(B, "Y"), _centred(B)))


def _pwcca_pair(x: tuple[np.ndarray, np.ndarray], y: tuple[np.ndarray, np.ndarray]) -> float:
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


# ---------------------------------------------------------------------------
# Gram forms of Procrustes and the CCA family
# ---------------------------------------------------------------------------


def _gram_spectrum(K: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-pairs of the centred ``K`` above the rank tolerance, descending.

    Returns ``(lam, U)`` with ``H K H = U diag(lam) U^T`` restricted to the
    numerical rank: for ``K = X X^T``, ``U`` are the left singular vectors of the
    centred ``X`` and ``lam`` its squared singular values.
    """
    C = _double_centred(K)
    lam, U = np.linalg.eigh((C + C.T) / 2.0)
    lam, U = lam[::-1], U[:, ::-1]
    if not lam[0] > 0.0:
        raise _zero_variance_error(name)
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
    lam, U = _gram_spectrum(_as_gram(K, "K"), "K")
    return U * np.sqrt(lam)


def _gram_basis(K: np.ndarray, name: str, keep: float | int | None = None) -> np.ndarray:
    """As :func:`_basis`, from the Gram matrix ``K = X X^T`` (shape (n, r))."""
    lam, U = _gram_spectrum(K, name)
    k = lam.size
    if isinstance(keep, int | np.integer) and not isinstance(keep, bool):
        k = min(int(keep), k)
    elif keep is not None:
        var = np.cumsum(lam)
        k = min(int(np.searchsorted(var / var[-1], float(keep) * (1 - 1e-12))) + 1, k)
    return U[:, :k]


def _two_grams(K: Any, L: Any) -> tuple[np.ndarray, np.ndarray]:
    A = _as_gram(K, "K")
    B = _as_gram(L, "L")
    _check_same_size(A, B)
    return A, B


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
    A, B = _two_grams(K, L)
    lam_k, U_k = _gram_spectrum(A, "K")
    lam_l, U_l = _gram_spectrum(B, "L")
    F = U_k * np.sqrt(lam_k)
    G = U_l * np.sqrt(lam_l)
    nuclear = float(np.linalg.svd(F.T @ G, compute_uv=False).sum())
    value = 2.0 - 2.0 * nuclear / np.sqrt(lam_k.sum() * lam_l.sum())
    return float(min(max(value, 0.0), 2.0))


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
    statistic = _check_statistic(statistic)
    A, B = _two_grams(K, L)
    return _summary(_correlations(_gram_basis(A, "K"), _gram_basis(B, "L")), statistic)


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
    keep = _check_keep(keep)
    statistic = _check_statistic(statistic)
    A, B = _two_grams(K, L)
    rho = _correlations(_gram_basis(A, "K", keep), _gram_basis(B, "L", keep))
    return _summary(rho, statistic)


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------


class Measure(NamedTuple):
    """A representational-similarity measure, for callers that loop over measures.

    Attributes
    ----------
    function : callable
        ``function(X, Y, **params) -> float`` on two ``(n, p)`` representations.
    kind : {"similarity", "distance"}
        Larger is closer (``"similarity"``) or smaller is closer (``"distance"``);
        the ``kind`` argument of :mod:`cnntopo.ph.specificity`.
    from_grams : callable or None
        ``from_grams(K, L, **params) -> float``: the same measure from the two
        *linear* Gram matrices ``X X^T`` and ``Y Y^T`` (e.g. from
        :func:`cnntopo.ph.representations.centred_gram`), or None if the measure
        needs the features (PWCCA). For ``cka_rbf`` it builds the RBF kernels with
        :func:`rbf_from_linear_gram` first.
    """

    function: Callable[..., float]
    kind: str
    from_grams: Callable[..., float] | None


def _cka_linear_from_grams(K: Any, L: Any) -> float:
    return cka_from_grams(K, L)


def _cka_debiased_from_grams(K: Any, L: Any) -> float:
    return cka_from_grams(K, L, debiased=True)


def _cka_rbf_from_grams(
    K: Any, L: Any, sigma_frac: float = 0.4, *, debiased: bool = False, include_self: bool = False
) -> float:
    return cka_from_grams(
        rbf_from_linear_gram(K, sigma_frac, include_self=include_self),
        rbf_from_linear_gram(L, sigma_frac, include_self=include_self),
        debiased=debiased,
    )


#: The measures by name: linear, RBF and debiased CKA, orthogonal Procrustes,
#: mean CCA, SVCCA and PWCCA.
MEASURES: dict[str, Measure] = {
    "cka_linear": Measure(cka_linear, "similarity", _cka_linear_from_grams),
    "cka_rbf": Measure(cka_rbf, "similarity", _cka_rbf_from_grams),
    "cka_debiased": Measure(cka_debiased, "similarity", _cka_debiased_from_grams),
    "procrustes": Measure(procrustes, "distance", procrustes_from_grams),
    "cca": Measure(cca, "similarity", cca_from_grams),
    "svcca": Measure(svcca, "similarity", svcca_from_grams),
    "pwcca": Measure(pwcca, "similarity", None),
}


# ---------------------------------------------------------------------------
# all pairs, by measure name
# ---------------------------------------------------------------------------


def _check_measure(name: str, need_grams: bool = False) -> Measure:
    if name not in MEASURES:
        raise ValueError(f"unknown measure {name!r}; expected one of {sorted(MEASURES)}")
    measure = MEASURES[name]
    if need_grams and measure.from_grams is None:
        with_grams = sorted(n for n, m in MEASURES.items() if m.from_grams is not None)
        raise ValueError(
            f"measure {name!r} needs the features (no Gram form); Gram forms exist for {with_grams}"
        )
    return measure


def measure_matrix(
    name: str,
    reps: Sequence[Any],
    others: Sequence[Any] | None = None,
    *,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    **params: Any,
) -> np.ndarray:
    """One measure between every pair of representations (feature form).

    Parameters
    ----------
    name : str
        A key of :data:`MEASURES`.
    reps : sequence of array_like, each shape (n, p_i)
        K1 representations of the same ``n`` images.
    others : sequence of array_like, each shape (n, q_j), optional
        K2 further representations; if None, the matrix within ``reps``.
    n_jobs : int, default 1
        Threads over the rows of the matrix (the values do not depend on it).
    progress : callable, optional
        Called as ``progress(pairs_done, pairs_total)`` after every row of the matrix
        (e.g. to log an ETA with :class:`cnntopo.progress.Progress`).
    **params
        Passed to the measure (e.g. ``sigma_frac`` for ``"cka_rbf"``, ``keep`` for
        ``"svcca"``).

    Returns
    -------
    np.ndarray, shape (K1, K1) or (K1, K2), float64
        ``M[i, j] = MEASURES[name].function(reps[i], others[j], **params)``. Without
        ``others`` the upper triangle is computed and mirrored (every measure but
        PWCCA on inputs of equal rank is symmetric; PWCCA then takes ``reps[i]``'s
        weights for ``i < j``), with 1 (similarity) or 0 (distance) on the diagonal.

    Raises
    ------
    TypeError, ValueError
        As :func:`cka_matrix`, or an unknown ``name``.
    """
    measure = _check_measure(name)
    xs = _prepare_clouds(reps, "reps")
    ys = None if others is None else _prepare_clouds(others, "others")
    names = [f"reps[{i}]" for i in range(len(xs))]
    other_names = [f"others[{j}]" for j in range(len(ys or []))]
    _check_same_rows(xs + (ys or []), names + other_names)
    diagonal = 1.0 if measure.kind == "similarity" else 0.0
    if name == "pwcca" and not params:  # prepare each side once: basis and centred neurons
        px = [(_basis(a, nm), _centred(a)) for a, nm in zip(xs, names, strict=True)]
        py = None
        if ys is not None:
            py = [(_basis(b, nm), _centred(b)) for b, nm in zip(ys, other_names, strict=True)]
        return _pair_matrix(px, py, _pwcca_pair, diagonal, n_jobs=n_jobs, progress=progress)
    return _pair_matrix(
        xs,
        ys,
        lambda a, b: measure.function(a, b, **params),
        diagonal,
        n_jobs=n_jobs,
        progress=progress,
    )


def _gram_preparation(
    name: str, params: dict[str, Any]
) -> tuple[Callable[[np.ndarray, str], Any], Callable[[Any, Any], float]]:
    """Per-Gram preparation and per-pair evaluation of a measure's Gram form."""
    if name in ("cka_linear", "cka_debiased"):
        if params:
            raise TypeError(f"{name} takes no parameters, got {sorted(params)}")
        debiased = name == "cka_debiased"
        return (
            lambda K, nm: _normalised_gram(K, nm, debiased),
            lambda a, b: _cka_value(a, b, debiased),
        )
    if name == "cka_rbf":
        sigma_frac = params.pop("sigma_frac", 0.4)
        debiased = bool(params.pop("debiased", False))
        include_self = bool(params.pop("include_self", False))
        if params:
            raise TypeError(f"unexpected parameters for cka_rbf: {sorted(params)}")

        def prep_rbf(K: np.ndarray, nm: str) -> np.ndarray:
            R = rbf_from_linear_gram(K, sigma_frac, include_self=include_self)
            return _normalised_gram(R, nm, debiased)

        return prep_rbf, lambda a, b: _cka_value(a, b, debiased)
    if name == "procrustes":
        if params:
            raise TypeError(f"procrustes takes no parameters, got {sorted(params)}")

        def prep_procrustes(K: np.ndarray, nm: str) -> np.ndarray:
            lam, U = _gram_spectrum(K, nm)
            return U * np.sqrt(lam / lam.sum())  # factor of the unit-trace centred Gram

        def pair_procrustes(F: np.ndarray, G: np.ndarray) -> float:
            nuclear = float(np.linalg.svd(F.T @ G, compute_uv=False).sum())
            return float(min(max(2.0 - 2.0 * nuclear, 0.0), 2.0))

        return prep_procrustes, pair_procrustes
    # cca, svcca
    statistic = _check_statistic(params.pop("statistic", "rho"))
    keep = _check_keep(params.pop("keep", 0.99)) if name == "svcca" else None
    if params:
        raise TypeError(f"unexpected parameters for {name}: {sorted(params)}")
    return (
        lambda K, nm: _gram_basis(K, nm, keep),
        lambda a, b: _summary(_correlations(a, b), statistic),
    )


def measure_matrix_from_grams(
    name: str,
    grams: Sequence[Any],
    others: Sequence[Any] | None = None,
    *,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    **params: Any,
) -> np.ndarray:
    """One measure between every pair of representations, from their linear Gram matrices.

    Each Gram matrix is prepared once (centred and normalised for CKA, RBF kernel
    for ``"cka_rbf"``, eigendecomposition for Procrustes, CCA and SVCCA); each pair
    then costs an ``n^2`` inner product (CKA) or at most an ``n x n`` product and
    SVD (Procrustes, CCA, SVCCA). The values equal
    ``MEASURES[name].from_grams(grams[i], others[j], **params)`` and the feature
    forms on the underlying representations.

    Parameters
    ----------
    name : str
        A key of :data:`MEASURES` with a Gram form (all but ``"pwcca"``).
    grams : sequence of array_like, each shape (n, n)
        K1 *linear* Gram matrices ``X_i X_i^T`` (centred or not) of the same ``n``
        images, e.g. from :func:`cnntopo.ph.representations.centred_gram`.
    others : sequence of array_like, each shape (n, n), optional
        K2 further linear Gram matrices; if None, the matrix within ``grams``.
    n_jobs : int, default 1
        Threads over the rows of the matrix (the values do not depend on it).
    progress : callable, optional
        Called as ``progress(pairs_done, pairs_total)`` after every row of the matrix.
    **params
        The measure's parameters: ``sigma_frac``, ``debiased``, ``include_self``
        (``"cka_rbf"``); ``statistic`` (``"cca"``, ``"svcca"``); ``keep``
        (``"svcca"``).

    Returns
    -------
    np.ndarray, shape (K1, K1) or (K1, K2), float64
        Without ``others`` symmetric with 1 (similarity) or 0 (distance) on the
        diagonal.

    Raises
    ------
    TypeError
        If a sequence is a single 2-D array, or on unexpected parameters.
    ValueError
        If ``name`` is unknown or has no Gram form, a matrix is invalid or
        degenerate, or the sizes differ.
    """
    measure = _check_measure(name, need_grams=True)
    prepare, pair = _gram_preparation(name, dict(params))

    xs, ys = _gram_sequences(grams, others)
    if name == "cka_debiased" or (name == "cka_rbf" and params.get("debiased")):
        _check_debiased_n(xs[0].shape[0])
    px = [prepare(K, f"grams[{i}]") for i, K in enumerate(xs)]
    py = None if ys is None else [prepare(K, f"others[{j}]") for j, K in enumerate(ys)]
    diagonal = 1.0 if measure.kind == "similarity" else 0.0
    return _pair_matrix(px, py, pair, diagonal, n_jobs=n_jobs, progress=progress)


def blocked_matrix_from_grams(
    name: str,
    load_block: Callable[[int], Sequence[Any]],
    n_blocks: int,
    scratch: str | os.PathLike,
    *,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    **params: Any,
) -> np.ndarray:
    """:func:`measure_matrix_from_grams` over blocks of representations, in bounded memory.

    The representations come in ``n_blocks`` blocks (e.g. the layers of a few models).
    Each block is loaded once and prepared once (the measure's per-representation work,
    an eigendecomposition for Procrustes, CCA and SVCCA); the prepared forms are saved
    in ``scratch``. Then every pair of blocks ``(a, b)``, ``a <= b``, is read back and
    its entries computed. At most two blocks' prepared forms (and one block's Gram
    matrices while it is prepared) are in memory, plus the result; the prepared forms
    are read ``n_blocks`` times each in all.

    Parameters
    ----------
    name : str
        A key of :data:`MEASURES` with a Gram form.
    load_block : callable
        ``load_block(b)`` returns the linear Gram matrices (n, n) of block ``b``.
    n_blocks : int
        Blocks, >= 1; block ``b``'s representations are rows ``offset_b ...`` of the
        result, in order.
    scratch : path-like
        An existing folder for the prepared forms (``prepared_<b>_<i>.npy``, deleted
        at the end).
    n_jobs : int, default 1
        Threads over the rows of each block pair.
    progress : callable, optional
        ``progress(pairs_done, pairs_total)`` over the whole matrix.
    **params
        The measure's parameters (as :func:`measure_matrix_from_grams`).

    Returns
    -------
    np.ndarray, shape (K, K), float64
        Equal to ``measure_matrix_from_grams(name, all_grams, **params)``.
    """
    from pathlib import Path

    measure = _check_measure(name, need_grams=True)
    if isinstance(n_blocks, bool) or int(n_blocks) < 1:
        raise ValueError(f"n_blocks must be a positive integer, got {n_blocks!r}")
    prepare, pair = _gram_preparation(name, dict(params))
    folder = Path(scratch)
    files: list[list[Path]] = []
    n = None
    for b in range(int(n_blocks)):
        grams = _gram_list(load_block(b), f"block {b}")
        if n is None:
            n = grams[0].shape[0]
            if name == "cka_debiased" or (name == "cka_rbf" and params.get("debiased")):
                _check_debiased_n(n)
        if any(K.shape[0] != n for K in grams):
            raise ValueError(f"block {b} holds Gram matrices of another number of images than {n}")
        files.append([])
        for i, K in enumerate(grams):
            files[b].append(folder / f"prepared_{b}_{i}.npy")
            np.save(files[b][-1], prepare(K, f"block {b}[{i}]"))
        del grams
    sizes = [len(f) for f in files]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    K = int(offsets[-1])
    total = K * (K - 1) // 2
    M = np.empty((K, K), dtype=np.float64)
    done = 0

    def block_progress(d: int, _t: int) -> None:
        if progress is not None:
            progress(done + d, total)

    diagonal = 1.0 if measure.kind == "similarity" else 0.0
    try:
        for a in range(len(files)):
            pa = [np.load(f) for f in files[a]]
            for b in range(a, len(files)):
                pb = None if b == a else [np.load(f) for f in files[b]]
                block = _pair_matrix(pa, pb, pair, diagonal, n_jobs=n_jobs, progress=block_progress)
                ra, rb = slice(offsets[a], offsets[a + 1]), slice(offsets[b], offsets[b + 1])
                M[ra, rb] = block
                M[rb, ra] = block.T
                done += sizes[a] * (sizes[a] - 1) // 2 if b == a else sizes[a] * sizes[b]
    finally:
        for f in (f for block_files in files for f in block_files):
            f.unlink(missing_ok=True)
    return M
