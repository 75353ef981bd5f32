"""Stage of ``rules/ph/persistence.smk``: persistence diagrams of one network's point clouds.

One job per network computes the diagrams of all its layers in one process: a
diagram of a 1000-point cloud takes well under a second, while starting Python and
importing the backend takes seconds, so one job per (network, layer) spent most of its
time starting up (docs/performance.md §1).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from cnntopo.stages.common import load_points

__all__ = ["persistence_diagrams", "persistence_diagram"]

log = logging.getLogger("cnntopo")


_BACKEND_MODULES = {"ripser": "ripser", "giotto": "gph"}


def persistence_diagrams(
    cloud_npzs: Sequence[str | Path],
    out_npzs: Sequence[str | Path],
    *,
    seed: int,
    layers: Sequence[str],
    backend: str,
    maxdim: int,
    coeff: int,
    n_threads: int = 1,
) -> None:
    """Vietoris-Rips persistence diagrams of every layer's point cloud of one network.

    Calls :func:`persistence_diagram` once per layer, in the order of ``layers``; each
    diagram file is written atomically as soon as it is computed, and is exactly the
    file a job of that one layer would write.

    Parameters
    ----------
    cloud_npzs : sequence of path-like
        One point cloud per layer (``.npz`` with ``points`` (N, c)), in the order of
        ``layers``.
    out_npzs : sequence of path-like
        One output diagram file per layer, in the order of ``layers``.
    seed : int
        The network's seed (recorded).
    layers : sequence of str
        The layers (``activations.layers``, resolved; recorded).
    backend : {"ripser", "giotto"}
        ``persistence.backend``.
    maxdim : int
        Highest homology dimension (``persistence.maxdim``).
    coeff : int
        Prime field of the coefficients (``persistence.coeff``).
    n_threads : int, default 1
        Threads of the giotto backend (the job's threads).

    Raises
    ------
    ValueError
        If ``cloud_npzs``, ``out_npzs`` and ``layers`` differ in length.
    """
    if not len(cloud_npzs) == len(out_npzs) == len(layers):
        raise ValueError(
            f"expected one point cloud and one output per layer, got {len(cloud_npzs)} "
            f"clouds and {len(out_npzs)} outputs for {len(layers)} layers"
        )
    t0 = time.perf_counter()
    for cloud, out, layer in zip(cloud_npzs, out_npzs, layers, strict=True):
        persistence_diagram(
            cloud,
            out,
            seed=seed,
            layer=layer,
            backend=backend,
            maxdim=maxdim,
            coeff=coeff,
            n_threads=n_threads,
        )
    log.info("seed %d: %d diagrams in %.1f s", seed, len(layers), time.perf_counter() - t0)


def persistence_diagram(
    cloud_npz: str | Path,
    out_npz: str | Path,
    *,
    seed: int,
    layer: str,
    backend: str,
    maxdim: int,
    coeff: int,
    n_threads: int = 1,
) -> None:
    """Vietoris-Rips persistence diagrams of one point cloud (docs/methods.md §5).

    Parameters
    ----------
    cloud_npz : path-like
        The point cloud: ``.npz`` with ``points`` (N, c).
    out_npz : path-like
        Output: the diagrams H0..H``maxdim`` (each ``(n_bars, 2)``, birth and death) and
        their metadata (seed, layer, cloud shape, backend, maxdim, coeff, seconds, bars
        per dimension, source), as :func:`cnntopo.ph.persistence.save_diagrams` writes.
    seed : int
        The network's seed (recorded).
    layer : str
        The layer (recorded).
    backend : {"ripser", "giotto"}
        ``persistence.backend``.
    maxdim : int
        Highest homology dimension (``persistence.maxdim``).
    coeff : int
        Prime field of the coefficients (``persistence.coeff``).
    n_threads : int, default 1
        Threads of the giotto backend (the job's threads).
    """
    from cnntopo.ph.persistence import diagrams, save_diagrams

    points = load_points(cloud_npz)
    importlib.import_module(_BACKEND_MODULES[backend])  # keep import time out of the timing
    t0 = time.perf_counter()
    dgms = diagrams(points, maxdim=maxdim, backend=backend, coeff=coeff, n_threads=n_threads)
    seconds = time.perf_counter() - t0
    meta = {
        "seed": int(seed),
        "layer": layer,
        "n_points": int(points.shape[0]),
        "dim": int(points.shape[1]),
        "backend": backend,
        "maxdim": maxdim,
        "coeff": coeff,
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
