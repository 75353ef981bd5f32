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
    out_npz: str | Path,
    *,
    seeds: Sequence[int],
    layers: Sequence[str],
) -> np.ndarray:
    """Linear CKA between every (model, layer) point cloud and every other (docs/methods.md §9).

    The clouds are the same top-l2 point clouds (N images x c channels) whose
    persistence the diagram distances compare, so both measures see identical inputs.

    Parameters
    ----------
    cloud_files : sequence of path-like
        Model-major: file ``s * len(layers) + l`` is layer ``l`` of model ``seeds[s]``;
        each an ``.npz`` with ``points`` (N, c), the same N images in every file.
    out_npz : path-like
        Output (:func:`cnntopo.stages.common.write_cross`): ``matrix`` (S*L, S*L),
        ``seeds``, ``layers`` and ``meta`` (JSON: ``metric = "linear_cka"``,
        ``kind = "similarity"``, seconds).
    seeds : sequence of int
        The models (``model.seeds``), length S.
    layers : sequence of str
        The layers, length L.

    Returns
    -------
    ndarray, shape (S*L, S*L)
    """
    from cnntopo.ph.similarity import cka_matrix

    clouds = [load_points(f) for f in cloud_files]
    t0 = time.perf_counter()
    C = cka_matrix(clouds)
    meta = {"metric": "linear_cka", "kind": "similarity", "seconds": time.perf_counter() - t0}
    write_cross(out_npz, C, seeds, layers, meta)
    log.info("cross-model linear CKA %s in %.1f s", C.shape, meta["seconds"])
    return C
