"""Stage of ``rules/ph/sensitivity.smk``: the PC-removal sensitivity test of one network."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from cnntopo import artifacts
from cnntopo.stages.common import load_points

__all__ = ["sensitivity_test"]

log = logging.getLogger("cnntopo")


def sensitivity_test(
    cloud_files: Sequence[str | Path],
    out_csvs: Sequence[str | Path],
    *,
    layers: Sequence[str],
    step: int,
    backend: str,
    maxdim: int,
    coeff: int,
    dim: int,
    M: int,
) -> None:
    """PC-removal sensitivity of one model's layers (docs/methods.md §8): SW of H``dim`` and CKA.

    For each layer, the ``k`` singular directions of smallest singular value of its
    cloud are removed, ``k`` over ``np.linspace(step, c, c // step, endpoint=False)``,
    and the reduced cloud is compared with the original
    (:func:`cnntopo.ph.sensitivity.sensitivity_curve`).

    Parameters
    ----------
    cloud_files : sequence of path-like
        The top-l2 point cloud of every layer, in the order of ``layers``.
    out_csvs : sequence of path-like
        Output per layer: columns ``k, fraction_removed, sw, cka``.
    layers : sequence of str
        The layer names (logged).
    step : int
        ``sensitivity.step``.
    backend : {"ripser", "giotto"}
        ``persistence.backend``.
    maxdim : int
        ``persistence.maxdim``.
    coeff : int
        ``persistence.coeff``.
    dim : int
        Homology dimension of the SW distance (``distances.dim``).
    M : int
        Directions of the SW distance (``distances.M``).
    """
    from cnntopo.ph.sensitivity import cka_sensitivity_curve, sensitivity_curve

    for cloud_npz, layer, out_csv in zip(cloud_files, layers, out_csvs, strict=True):
        points = load_points(cloud_npz)
        t0 = time.perf_counter()
        sw = sensitivity_curve(
            points, step=step, maxdim=maxdim, backend=backend, dim=dim, M=M, coeff=coeff
        )
        cka = cka_sensitivity_curve(points, step=step)
        table = sw.merge(cka, on=["k", "fraction_removed"])
        with artifacts.atomic_path(out_csv) as tmp:
            table.to_csv(tmp, index=False)
        log.info(
            "sensitivity of %s (%d x %d): %d reduced clouds in %.1f s",
            layer,
            *points.shape,
            len(table),
            time.perf_counter() - t0,
        )
