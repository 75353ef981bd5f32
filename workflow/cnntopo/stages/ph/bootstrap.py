"""Stage of ``rules/ph/bootstrap.smk``: the image bootstrap of one model's layer distances."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import load_bootstrap, load_matrix, load_points

__all__ = ["layer_bootstrap", "load_bootstrap"]  # load_bootstrap: from stages.common

log = logging.getLogger("cnntopo")

#: Coverage of the per-entry intervals and of the layers' resampling radii.
LEVEL = 0.95


def layer_bootstrap(
    cloud_files: Sequence[str | Path],
    diagram_files: Sequence[str | Path],
    matrix_npz: str | Path,
    out_npz: str | Path,
    *,
    seed: int,
    layers: Sequence[str],
    n_boot: int,
    dim: int,
    backend: str,
    maxdim: int,
    coeff: int,
    metric: str,
    parameters: Mapping,
    infinite: str,
) -> dict:
    """Bootstrap over images of one model's layer-distance matrix (docs/methods.md §6).

    Resamples the evaluation images ``n_boot`` times (the same rows of every layer's
    cloud), recomputes every layer's diagram and the distance matrix
    (:func:`cnntopo.ph.bootstrap.bootstrap_layer_distances`), and marks the entries
    that exceed the two layers' resampling radii (:func:`cnntopo.ph.bootstrap.significance`,
    95 %). A line with the resamples done and an ETA is logged every 30 s at most.

    Parameters
    ----------
    cloud_files : sequence of path-like
        The top-l2 point cloud of every layer, in the order of ``layers``.
    diagram_files : sequence of path-like
        The diagrams of the same clouds (the full-sample reference).
    matrix_npz : path-like
        The model's layer-distance matrix of ``metric`` (``layer_distances``).
    out_npz : path-like
        Output: ``matrix`` (L, L), ``low`` and ``high`` (L, L; the 95 % percentile
        interval of every entry), ``radius`` (L,), ``significant`` (L, L) bool,
        ``replicates`` (B, L, L), ``to_reference`` (B, L), ``layers``, ``meta``.
    seed : int
        The model's seed; also the seed of the resampling.
    layers : sequence of str
    n_boot : int
        ``distances.bootstrap``.
    dim, backend, maxdim, coeff
        ``distances.dim`` and the ``persistence`` settings.
    metric : str
        ``distances.metric``.
    parameters : mapping
        The metric's parameters (:func:`cnntopo.stages.ph.distances.metric_params`).
    infinite : {"strip", "error"}
        ``distances.infinite``.

    Returns
    -------
    dict
        The arrays written.
    """
    from cnntopo.ph.bootstrap import bootstrap_layer_distances, significance
    from cnntopo.ph.persistence import load_finite_diagrams
    from cnntopo.progress import progress_lines

    t0 = time.perf_counter()
    clouds = [load_points(f) for f in cloud_files]
    reference = load_finite_diagrams(diagram_files, dim, infinite)
    D, matrix_layers, _ = load_matrix(matrix_npz)
    if matrix_layers != list(layers):
        raise ValueError(
            f"{matrix_npz} holds the layers {matrix_layers}, not {list(layers)}; rerun the "
            "workflow with one config"
        )
    lines = progress_lines(n_boot, "resamples")
    out = bootstrap_layer_distances(
        clouds,
        n_boot=n_boot,
        dim=dim,
        maxdim=maxdim,
        backend=backend,
        coeff=coeff,
        metric=metric,
        params=parameters,
        infinite=infinite,
        seed=seed,
        reference=reference,
        on_resample=lambda b: lines.update(b + 1),
    )
    sig = significance(D, out["replicates"], out["to_reference"], level=LEVEL)
    meta = {
        "seed": int(seed),
        "metric": metric,
        "dim": dim,
        "params": dict(parameters),
        "n_boot": n_boot,
        "level": LEVEL,
        "seconds": time.perf_counter() - t0,
    }
    arrays = {
        "matrix": D,
        **sig,
        "replicates": out["replicates"],
        "to_reference": out["to_reference"],
    }
    artifacts.write_npz(
        out_npz, **arrays, layers=np.array(list(layers)), meta=np.array(artifacts.json_dumps(meta))
    )
    off = ~np.eye(len(layers), dtype=bool)
    log.info(
        "seed %d: %d resamples in %.1f s; %d of %d layer pairs differ significantly",
        seed,
        n_boot,
        meta["seconds"],
        int(sig["significant"][off].sum()) // 2,
        int(off.sum()) // 2,
    )
    return arrays
