"""Stage of ``rules/ph/persistence.smk``: persistence diagrams of one point cloud."""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

import numpy as np

__all__ = ["persistence_diagram"]

log = logging.getLogger("cnntopo")


_BACKEND_MODULES = {"ripser": "ripser", "giotto": "gph"}


def persistence_diagram(
    cloud_npz: str | Path, out_npz: str | Path, pcfg: dict, seed: int, layer: str
) -> None:
    """Vietoris-Rips persistence diagrams of one point cloud (config section ``persistence``)."""
    from cnntopo.ph.persistence import diagrams, save_diagrams

    with np.load(cloud_npz) as z:
        points = z["points"]
    importlib.import_module(_BACKEND_MODULES[pcfg["backend"]])  # keep import time out of the timing
    t0 = time.perf_counter()
    dgms = diagrams(
        points,
        maxdim=pcfg["maxdim"],
        backend=pcfg["backend"],
        coeff=pcfg["coeff"],
        n_threads=pcfg["n_threads"],
    )
    seconds = time.perf_counter() - t0
    meta = {
        "seed": int(seed),
        "layer": layer,
        "n_points": int(points.shape[0]),
        "dim": int(points.shape[1]),
        "backend": pcfg["backend"],
        "maxdim": pcfg["maxdim"],
        "coeff": pcfg["coeff"],
        "seconds": seconds,
        "n_bars": [int(len(d)) for d in dgms],
        "source": str(cloud_npz),
    }
    save_diagrams(out_npz, dgms, meta)
    log.info(
        "%s seed %d: PH of %s in %.2f s, bars per dim %s",
        layer,
        seed,
        points.shape,
        seconds,
        meta["n_bars"],
    )
