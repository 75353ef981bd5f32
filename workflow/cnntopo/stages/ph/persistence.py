"""Stage of ``rules/ph/persistence.smk``: persistence diagrams of one network's point clouds.

One job per network computes the diagrams of all its layers in one process: a
diagram of a 1000-point cloud takes well under a second, while starting Python and
importing the backend takes seconds, so one job per (network, layer) spent most of its
time starting up (docs/performance.md §1). :func:`representation_diagrams` does the
same for the ``flat`` and ``pool`` representations, from the exact distances of their
similarity representation files (docs/methods.md §9).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo.stages.common import load_points

__all__ = ["persistence_diagrams", "persistence_diagram", "representation_diagrams"]

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


def representation_diagrams(
    rep_npz: str | Path,
    out_npzs: Sequence[str | Path],
    *,
    seed: int,
    representation: str,
    layers: Sequence[str],
    backend: str,
    maxdim: int,
    coeff: int,
    n_threads: int = 1,
) -> None:
    """Vietoris-Rips diagrams of every layer of one network in one representation.

    The point cloud of a layer in the ``flat`` representation is its ``N`` images'
    flattened activations (``N x c*h*w``, up to 65,536 coordinates), in ``pool`` their
    spatial means (``N x c``). Their diagrams are computed exactly from the euclidean
    distance matrix of those points
    (:func:`cnntopo.ph.representations.representation_distances`: from the stored
    centred Gram matrix of ``flat``, from the stored features of ``pool``), with the
    backend's precomputed-distance mode
    (:func:`cnntopo.ph.persistence.distance_matrix_diagrams`), the same ``maxdim``,
    ``coeff`` and full filtration as the top-l2 diagrams; each file is in the format of
    :func:`persistence_diagram`, read by the same distance jobs.

    Parameters
    ----------
    rep_npz : path-like
        The model's representation file
        (:func:`cnntopo.stages.ph.similarity.similarity_representations`): ``grams``
        (L, N, N) or ``features_<l>`` (N, c), ``layers``, ``meta``; ``N`` is
        ``similarity.max_images`` (or every image).
    out_npzs : sequence of path-like
        One diagram file per layer, in the order of ``layers``.
    seed : int
        The network's seed (recorded).
    representation : {"flat", "pool", "topl2"}
        The representation of ``rep_npz`` (recorded; checked against its ``meta``).
    layers : sequence of str
        The layers, in the order of the file's ``layers``.
    backend : {"ripser", "giotto"}
        ``persistence.backend``.
    maxdim : int
        ``persistence.maxdim``.
    coeff : int
        ``persistence.coeff``.
    n_threads : int, default 1
        Threads of the giotto backend.

    Raises
    ------
    ValueError
        If the file's layers or representation are not those of the job, or the
        number of outputs is not that of the layers.
    """
    from cnntopo.artifacts import read_npz
    from cnntopo.ph.persistence import distance_matrix_diagrams, save_diagrams
    from cnntopo.ph.representations import load_representation, representation_distances

    if len(out_npzs) != len(layers):
        raise ValueError(f"expected one output per layer, got {len(out_npzs)} for {len(layers)}")
    z, file_meta = read_npz(rep_npz, keys=["layers"])  # the Gram matrices stay on disk
    file_layers = [str(x) for x in z["layers"]]
    if file_layers != list(layers):
        raise ValueError(
            f"{rep_npz} holds layers {file_layers}, the job expects {list(layers)}; "
            "rerun similarity_representations"
        )
    stored = (file_meta or {}).get("representation", representation)
    if stored != representation:
        raise ValueError(f"{rep_npz} holds the {stored!r} representation, not {representation!r}")
    shapes = (file_meta or {}).get("shapes") or [None] * len(layers)
    reps = load_representation(rep_npz)
    importlib.import_module(_BACKEND_MODULES[backend])  # keep import time out of the timing
    t0 = time.perf_counter()
    for i, (layer, out) in enumerate(zip(layers, out_npzs, strict=True)):
        t_layer = time.perf_counter()
        D = representation_distances(reps[i])
        dgms = distance_matrix_diagrams(
            D, maxdim=maxdim, backend=backend, coeff=coeff, n_threads=n_threads
        )
        seconds = time.perf_counter() - t_layer
        shape = shapes[i]
        n_features = None
        if shape is not None:
            n_features = int(np.prod(shape[1:])) if representation == "flat" else int(shape[1])
        meta = {
            "seed": int(seed),
            "layer": layer,
            "representation": representation,
            "n_points": int(D.shape[0]),
            "dim": n_features,
            "backend": backend,
            "maxdim": maxdim,
            "coeff": coeff,
            "seconds": seconds,
            "n_bars": [int(len(d)) for d in dgms],
            "source": str(rep_npz),
        }
        save_diagrams(out, dgms, meta)
        log.info(
            "%s seed %d (%s): PH of %d points in %.2f s, bars per dim %s",
            layer,
            seed,
            representation,
            D.shape[0],
            seconds,
            meta["n_bars"],
        )
    log.info(
        "seed %d: %d %s diagrams in %.1f s",
        seed,
        len(layers),
        representation,
        time.perf_counter() - t0,
    )
