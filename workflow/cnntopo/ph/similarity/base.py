"""Validation, centring and the pair loop shared by every measure family.

Also defines :class:`UndefinedMeasureError`, raised where a measure is undefined on a
representation (a constant representation, too few images, a degenerate kernel, a
CCA whose correlations are trivially 1). The matrix engines (:mod:`.engine`) turn it
into NaN entries with a recorded reason instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["UndefinedMeasureError", "ZERO_VARIANCE"]


class UndefinedMeasureError(ValueError):
    """A measure is undefined on this input (not a programming error).

    A subclass of :class:`ValueError`; ``reason`` is a short sentence naming the cause
    (e.g. ``"zero variance after centring (constant representation)"``), recorded next
    to the NaN that the matrix engines write instead of the value.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


def as_cloud(X: Any, name: str) -> np.ndarray:
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


def check_same_rows(clouds: Sequence[np.ndarray], names: Sequence[str]) -> int:
    sizes = {arr.shape[0] for arr in clouds}
    if len(sizes) > 1:
        detail = ", ".join(f"{nm}: {arr.shape[0]}" for nm, arr in zip(names, clouds, strict=True))
        raise ValueError(
            "all representations must have the same number of rows (the same images, in the "
            f"same order); got {detail}"
        )
    return sizes.pop()


def column_centred(X: np.ndarray) -> np.ndarray:
    """Column-centred copy of ``X`` (shape (n, p), float64); constant columns exactly 0.

    The mean of a constant column is not always its value in floating point (51 equal
    rows of 0.1 average to 0.1 + 1.4e-17), so centring leaves rounding noise that the
    measures would otherwise read as variance (CKA 4.7e-33 instead of undefined). A
    column whose centred values are all within the rounding error of its mean,
    ``8 n eps max|x|``, is set to 0: a constant representation is then constant on
    every route (features or Gram matrices) and raises :class:`UndefinedMeasureError`.
    """
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0, keepdims=True)
    if Xc.size:
        tol = 8.0 * X.shape[0] * np.finfo(np.float64).eps * np.abs(X).max(axis=0)
        Xc[:, np.abs(Xc).max(axis=0) <= tol] = 0.0
    return Xc


#: Reason recorded for a constant representation.
ZERO_VARIANCE = "zero variance after centring (constant representation)"


def zero_variance_error(name: str) -> UndefinedMeasureError:
    return UndefinedMeasureError(
        f"{name} has zero variance after centring (all rows equal); CKA, Procrustes and CCA "
        "are undefined for a constant representation",
        ZERO_VARIANCE,
    )


def clip01(value: float) -> float:
    """Clamp rounding excursions (e.g. 1 + 2e-16) back into [0, 1]."""
    return float(min(max(value, 0.0), 1.0))


def prepare_clouds(clouds: Sequence[Any], name: str) -> list[np.ndarray]:
    if isinstance(clouds, np.ndarray) and clouds.ndim == 2:
        raise TypeError(
            f"{name} must be a sequence of (n, p) arrays, got a single 2-D array; wrap it in a list"
        )
    arrays = [as_cloud(X, f"{name}[{i}]") for i, X in enumerate(clouds)]
    if not arrays:
        raise ValueError(f"{name} is empty; pass at least one (n, p) representation")
    return arrays


def prepare_each(
    prepare: Callable[[Any, str], Any],
    items: Sequence[Any],
    names: Sequence[str],
    notes: dict | None,
    offset: int = 0,
) -> list[Any]:
    """``prepare(item, name)`` for every item; None where it is undefined.

    With ``notes`` None an :class:`UndefinedMeasureError` propagates; otherwise the
    item becomes None and ``notes[offset + i]`` its reason.
    """
    out = []
    for i, (item, nm) in enumerate(zip(items, names, strict=True)):
        try:
            out.append(prepare(item, nm))
        except UndefinedMeasureError as err:
            if notes is None:
                raise
            notes[offset + i] = err.reason
            out.append(None)
    return out


def pair_matrix(
    px: Sequence[Any],
    py: Sequence[Any] | None,
    pair: Callable[[Any, Any], float],
    diagonal: float,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    notes: dict | None = None,
) -> np.ndarray:
    """``pair`` over all (i, j): symmetric (upper triangle computed, ``diagonal`` on the
    diagonal) when ``py`` is None, else the full (len(px), len(py)) matrix.

    With ``n_jobs > 1`` the rows are spread over that many threads (the per-pair work is
    numpy linear algebra, which releases the GIL); the values do not depend on it.
    ``progress(pairs_done, pairs_total)`` is called after every row
    (:func:`cnntopo.ph.diagram_ops.pair_counter`).

    Undefined entries: a prepared item that is None (see :func:`prepare_each`) gives a
    NaN row / column (its diagonal entry included). With ``notes`` a dict, a pair that
    raises :class:`UndefinedMeasureError` gives NaN and ``notes[(i, j)]`` its reason
    (``j`` offset by ``len(px)`` when ``py`` is given); with ``notes`` None it propagates.
    """
    from cnntopo.ph.diagram_ops import pair_counter, run_parallel

    symmetric = py is None
    others = px if symmetric else py
    offset = 0 if symmetric else len(px)
    M = np.full((len(px), len(others)), diagonal, dtype=np.float64)

    def value(i: int, j: int) -> float:
        a, b = px[i], others[j]
        if a is None or b is None:
            return np.nan
        try:
            return pair(a, b)
        except UndefinedMeasureError as err:
            if notes is None:
                raise
            notes[(i, offset + j)] = err.reason
            return np.nan

    def row(i: int) -> None:
        for j in range(i + 1 if symmetric else 0, len(others)):
            M[i, j] = value(i, j)
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
    if symmetric:
        for i, a in enumerate(px):
            if a is None:
                M[i, i] = np.nan
    return M


def as_gram(K: Any, name: str) -> np.ndarray:
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


def gram_list(seq: Sequence[Any], label: str) -> list[np.ndarray]:
    """A non-empty sequence of (n, n) Gram matrices, each checked by :func:`as_gram`."""
    if isinstance(seq, np.ndarray) and seq.ndim == 2:
        raise TypeError(
            f"{label} must be a sequence of (n, n) Gram matrices, got a single 2-D array; "
            "wrap it in a list"
        )
    out = [as_gram(K, f"{label}[{i}]") for i, K in enumerate(seq)]
    if not out:
        raise ValueError(f"{label} is empty; pass at least one (n, n) Gram matrix")
    return out


def gram_sequences(
    grams: Sequence[Any], others: Sequence[Any] | None
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Checked ``grams`` and ``others`` (or None), all of the same images (same n)."""
    xs = gram_list(grams, "grams")
    ys = None if others is None else gram_list(others, "others")
    sizes = {K.shape for K in xs + (ys or [])}
    if len(sizes) > 1:
        raise ValueError(
            f"all Gram matrices must be of the same images (same n); got shapes {sorted(sizes)}"
        )
    return xs, ys


def check_same_size(K: np.ndarray, L: np.ndarray) -> int:
    if K.shape != L.shape:
        raise ValueError(
            "the Gram matrices must be of the same images (same n); got shapes "
            f"{K.shape} and {L.shape}"
        )
    return K.shape[0]


def double_centred(K: np.ndarray) -> np.ndarray:
    """``H K H`` with ``H = I - 11^T/n``, without forming ``H`` (shape (n, n))."""
    row = K.mean(axis=0)
    col = K.mean(axis=1)
    return K - row[None, :] - col[:, None] + row.mean()


def u_centred(K: np.ndarray) -> np.ndarray:
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


def check_debiased_n(n: int) -> None:
    if n < 4:
        raise UndefinedMeasureError(
            f"the debiased HSIC estimator needs at least 4 images, got n = {n}",
            f"debiased HSIC needs at least 4 images, got {n}",
        )
