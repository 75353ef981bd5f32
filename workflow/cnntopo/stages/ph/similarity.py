"""Stage of ``rules/ph/similarity.smk``: linear CKA between all (model, layer) clouds."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo.stages.common import load_points, write_cross

__all__ = ["cka_cross"]

log = logging.getLogger("cnntopo")


def cka_cross(
    cloud_files: Sequence[str | Path],
    seeds: Sequence[int],
    layers: Sequence[str],
    out_npz: str | Path,
) -> np.ndarray:
    """Linear CKA between every (model, layer) point cloud and every other, model-major.

    The clouds are the same top-l2 point clouds (N images x c channels) whose
    persistence the SW distance compares, so both measures see identical inputs.
    """
    from cnntopo.ph.similarity import cka_matrix

    clouds = [load_points(f) for f in cloud_files]
    t0 = time.perf_counter()
    C = cka_matrix(clouds)
    meta = {"metric": "linear_cka", "kind": "similarity", "seconds": time.perf_counter() - t0}
    write_cross(out_npz, C, seeds, layers, meta)
    log.info("cross-model linear CKA %s in %.1f s", C.shape, meta["seconds"])
    return C
