"""Bootstrap over images of a model's layer-distance matrix: which differences are real.

A model's layer-distance matrix (docs/methods.md §6) compares the persistence diagrams
of its layers' point clouds, all built from the same evaluation images. Another draw of
images gives other diagrams and other distances. This module resamples the images
(rows of every layer's cloud, the same rows for every layer) ``B`` times with
replacement, recomputes each layer's diagram and

- the distance matrix of every resample, ``D_b`` (B, L, L): its percentile interval per
  entry says how much an entry moves with the images;
- each layer's *resampling radius*: the ``level`` quantile over ``b`` of the distance
  between the layer's diagram on all images and on resample ``b``, as in the bootstrap
  confidence sets of Fasy et al. 2014 (their bottleneck radius; here the configured
  metric).

An entry ``D[i, j]`` (on all images) is *significant* when it exceeds the sum of the two
layers' radii: if each true diagram lies within its radius of its estimate, the triangle
inequality (every metric here, and persim's sliced Wasserstein with its fixed grid of
directions, satisfies it) bounds the true distance from below by
``D[i, j] - r_i - r_j > 0``, so the two layers' diagrams differ beyond what drawing the
images explains. Identical layers give a zero distance and are never significant.

Resampled clouds repeat points; a repeated point adds only zero-length bars, which the
backends drop, so a resample's diagram is that of its distinct points (about 63 % of
them).

References
----------
.. [1] Fasy, B. T.; Lecci, F.; Rinaldo, A.; Wasserman, L.; Balakrishnan, S.; Singh, A.
   2014. Confidence sets for persistence diagrams. Annals of Statistics 42(6):
   2301--2339. arXiv:1303.7117.
.. [2] Efron, B.; Tibshirani, R. J. 1993. An Introduction to the Bootstrap. Chapman &
   Hall (percentile intervals, ch. 13).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["resample_indices", "bootstrap_layer_distances", "significance"]


def resample_indices(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """Row indices of ``n_boot`` bootstrap resamples of ``n`` images.

    Parameters
    ----------
    n : int
        Images (rows of every cloud), >= 2.
    n_boot : int
        Resamples, >= 1.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    np.ndarray, shape (n_boot, n), int64
        Each row drawn uniformly with replacement from ``range(n)``.
    """
    n, n_boot = int(n), int(n_boot)
    if n < 2 or n_boot < 1:
        raise ValueError(f"need n >= 2 images and n_boot >= 1 resamples, got {n} and {n_boot}")
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n), dtype=np.int64)


def _check_clouds(clouds: Sequence[Any]) -> list[np.ndarray]:
    arrays = [np.asarray(c) for c in clouds]
    if not arrays or any(a.ndim != 2 for a in arrays):
        raise ValueError("clouds must be a non-empty sequence of 2-D arrays (n_images, features)")
    n = {a.shape[0] for a in arrays}
    if len(n) != 1:
        raise ValueError(f"every cloud needs one row per image; row counts differ: {sorted(n)}")
    return arrays


def bootstrap_layer_distances(
    clouds: Sequence[Any],
    *,
    n_boot: int,
    dim: int = 1,
    maxdim: int = 1,
    backend: str = "giotto",
    coeff: int = 2,
    metric: str = "sliced_wasserstein",
    params: Mapping[str, Any] | None = None,
    infinite: str = "strip",
    seed: int = 0,
    reference: Sequence[Any] | None = None,
    on_resample: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Layer-distance matrices of ``n_boot`` image resamples, and each layer's radius.

    Parameters
    ----------
    clouds : sequence of array_like, each shape (n, p_l)
        The L point clouds of one model (e.g. top-l2, ``(1000, c_l)``), rows = images in
        the same order for every layer.
    n_boot : int
        Resamples B.
    dim : int, default 1
        Homology dimension compared (``distances.dim``).
    maxdim, backend, coeff
        Passed to :func:`cnntopo.ph.persistence.diagrams`.
    metric : str, default "sliced_wasserstein"
        A metric of :func:`cnntopo.ph.distances.pairwise`.
    params : mapping, optional
        The metric's parameters (e.g. ``{"M": 50}``).
    infinite : {"strip", "error"}, default "strip"
        What to do with infinite bars (:func:`cnntopo.ph.distances.finite_part`).
    seed : int, default 0
        Seed of :func:`resample_indices`.
    reference : sequence of array_like, optional
        The H``dim`` diagrams of the full clouds if already computed (finite part);
        computed here when omitted.
    on_resample : callable, optional
        Called with ``b`` after each resample (progress reports).

    Returns
    -------
    dict
        ``replicates`` (B, L, L): the distance matrix of every resample;
        ``to_reference`` (B, L): distance between each layer's diagram on all images
        and on resample ``b``; ``indices`` (B, n): the resampled rows.

    Raises
    ------
    ValueError
        Clouds with different row counts, ``dim > maxdim``, or invalid options.
    """
    from cnntopo.ph.distances import finite_part, pairwise
    from cnntopo.ph.persistence import diagrams

    arrays = _check_clouds(clouds)
    if dim > maxdim:
        raise ValueError(f"dim {dim} exceeds maxdim {maxdim}")
    params = dict(params or {})

    def diagram(points: np.ndarray) -> np.ndarray:
        dgms = diagrams(points, maxdim=maxdim, backend=backend, coeff=coeff)
        return finite_part(dgms[dim], infinite=infinite)

    ref = (
        [diagram(a) for a in arrays]
        if reference is None
        else [finite_part(np.asarray(d, dtype=np.float64), infinite=infinite) for d in reference]
    )
    if len(ref) != len(arrays):
        raise ValueError(f"reference has {len(ref)} diagrams for {len(arrays)} clouds")
    idx = resample_indices(arrays[0].shape[0], n_boot, seed)
    L = len(arrays)
    replicates = np.empty((len(idx), L, L))
    to_reference = np.empty((len(idx), L))
    for b, rows in enumerate(idx):
        dgms = [diagram(a[rows]) for a in arrays]
        replicates[b] = pairwise(dgms, metric=metric, **params)
        to_reference[b] = [
            pairwise([d], [r], metric=metric, **params)[0, 0]
            for d, r in zip(dgms, ref, strict=True)
        ]
        if on_resample is not None:
            on_resample(b)
    return {"replicates": replicates, "to_reference": to_reference, "indices": idx}


def significance(
    D: Any, replicates: Any, to_reference: Any, *, level: float = 0.95
) -> dict[str, np.ndarray]:
    """Percentile intervals of every entry and the significance mask.

    Parameters
    ----------
    D : array_like, shape (L, L)
        The distance matrix on all images.
    replicates : array_like, shape (B, L, L)
        :func:`bootstrap_layer_distances` ``replicates``.
    to_reference : array_like, shape (B, L)
        :func:`bootstrap_layer_distances` ``to_reference``.
    level : float, default 0.95
        Coverage of the intervals and of the radii.

    Returns
    -------
    dict
        ``low``, ``high`` (L, L): percentile interval of every entry over the
        resamples; ``radius`` (L,): the ``level`` quantile of ``to_reference``;
        ``significant`` (L, L) bool: ``D > radius_i + radius_j`` (never on the
        diagonal).
    """
    D = np.asarray(D, dtype=np.float64)
    reps = np.asarray(replicates, dtype=np.float64)
    to_ref = np.asarray(to_reference, dtype=np.float64)
    L = D.shape[0]
    if D.shape != (L, L) or reps.shape[1:] != (L, L) or to_ref.shape != (reps.shape[0], L):
        raise ValueError(
            f"shapes do not match: D {D.shape}, replicates {reps.shape}, "
            f"to_reference {to_ref.shape}"
        )
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(reps, [alpha, 1.0 - alpha], axis=0)
    radius = np.quantile(to_ref, level, axis=0)
    significant = D > radius[:, None] + radius[None, :]
    np.fill_diagonal(significant, False)
    return {"low": low, "high": high, "radius": radius, "significant": significant}
