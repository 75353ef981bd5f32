"""Stage of ``rules/ph/sensitivity.smk``: the PC-removal sensitivity test of one layer."""

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
    layers: Sequence[str],
    pcfg: dict,
    dcfg: dict,
    step: int,
    out_csvs: Sequence[str | Path],
) -> None:
    """PC-removal sensitivity of one model's layers (paper-methods 2.5): SW of H_dim and linear CKA.

    One CSV per layer with columns ``k, fraction_removed, sw, cka``.
    """
    from cnntopo.ph.sensitivity import cka_sensitivity_curve, sensitivity_curve

    for cloud_npz, layer, out_csv in zip(cloud_files, layers, out_csvs, strict=True):
        points = load_points(cloud_npz)
        t0 = time.perf_counter()
        sw = sensitivity_curve(
            points,
            step=step,
            maxdim=pcfg["maxdim"],
            backend=pcfg["backend"],
            dim=dcfg["dim"],
            M=dcfg["M"],
            coeff=pcfg["coeff"],
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
