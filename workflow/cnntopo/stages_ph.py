"""Workflow entry points of the persistent-homology analyses across models.

Cross-model (cross-seed) distance matrices, the specificity (layer identification)
analysis, the PC-removal sensitivity test, and the linear-CKA baseline computed on
the same top-l2 point clouds (paper-methods sections 2.4-2.6). Like
:mod:`cnntopo.stages`, each function takes explicit paths and config sections and
writes its outputs atomically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo import io
from cnntopo.stages import load_finite_diagrams, metric_label, metric_params

__all__ = [
    "cross_distances",
    "cka_cross",
    "specificity_analysis",
    "sensitivity_test",
    "figure_sensitivity",
    "figure_sw_vs_cka",
]

log = logging.getLogger("cnntopo")


def _write_cross(out_npz, matrix, seeds, layers, meta) -> None:
    io.write_npz(
        out_npz,
        matrix=matrix,
        seeds=np.asarray(seeds, dtype=np.int64),
        layers=np.array(list(layers)),
        meta=np.array(io.json_dumps(meta)),
    )


def load_cross(path: str | Path) -> tuple[np.ndarray, list[int], list[str], dict]:
    """Read a cross-model matrix: (S*L, S*L) matrix (model-major), seeds, layers, metadata."""
    import json

    with np.load(path) as z:
        return (
            z["matrix"],
            [int(s) for s in z["seeds"]],
            [str(x) for x in z["layers"]],
            json.loads(str(z["meta"])),
        )


def cross_distances(
    diagram_files: Sequence[str | Path],
    seeds: Sequence[int],
    layers: Sequence[str],
    dcfg: dict,
    out_npz: str | Path,
    threads: int = 1,
) -> np.ndarray:
    """Distances between every (model, layer) diagram and every other (paper: 1,700 x 1,700 SW).

    ``diagram_files`` is model-major: file ``s * len(layers) + l`` is layer ``l`` of
    model ``seeds[s]``. Block (s, t) of the result is the paper's ``cross`` matrix of
    models s and t; the diagonal blocks are the within-model matrices.
    """
    from cnntopo.distances import pairwise

    if len(diagram_files) != len(seeds) * len(layers):
        raise ValueError(
            f"expected {len(seeds)} x {len(layers)} diagram files, got {len(diagram_files)}"
        )
    dgms = load_finite_diagrams(diagram_files, dcfg)
    params = metric_params(dcfg, dcfg["metric"])
    t0 = time.perf_counter()
    D = pairwise(dgms, metric=dcfg["metric"], n_jobs=threads, **params)
    seconds = time.perf_counter() - t0
    meta = {
        "metric": dcfg["metric"],
        "dim": dcfg["dim"],
        "params": params,
        "kind": "distance",
        "seconds": seconds,
        "n_diagrams": len(dgms),
        "mean_points": float(np.mean([len(d) for d in dgms])),
    }
    _write_cross(out_npz, D, seeds, layers, meta)
    log.info("cross-model %s matrix %s in %.1f s", dcfg["metric"], D.shape, seconds)
    return D


def _load_points(path: str | Path) -> np.ndarray:
    with np.load(path) as z:
        return z["points"]


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
    from cnntopo.similarity import cka_matrix

    clouds = [_load_points(f) for f in cloud_files]
    t0 = time.perf_counter()
    C = cka_matrix(clouds)
    meta = {"metric": "linear_cka", "kind": "similarity", "seconds": time.perf_counter() - t0}
    _write_cross(out_npz, C, seeds, layers, meta)
    log.info("cross-model linear CKA %s in %.1f s", C.shape, meta["seconds"])
    return C


def specificity_analysis(
    cross_npz: str | Path, out_csv: str | Path, figure_outputs: Sequence[str], label: str
) -> None:
    """Cross-seed layer identification (paper-methods 2.4; Ding et al. 2021 specificity).

    For every layer of every model and every other model, the nearest layer of that
    model; the table gives per layer the fraction that is the same layer and within +-1.
    """
    from cnntopo import plotting
    from cnntopo.ph_figures import specificity_figure
    from cnntopo.specificity import mean_cross_block, specificity_table

    D, seeds, layers, meta = load_cross(cross_npz)
    kind = meta["kind"]
    if len(seeds) < 2:
        raise ValueError("specificity needs at least two models: add seeds to model.seeds")
    table = specificity_table(D, layers, len(seeds), kind=kind)
    with io.atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    block = mean_cross_block(D, len(seeds), len(layers))
    with plotting.paper_style():
        fig = specificity_figure(block, table, layers, metric_label=label, kind=kind)
        plotting.save_figure(fig, figure_outputs)
    overall = table[table["layer"] == "overall"].iloc[0]
    log.info(
        "%s specificity: %.3f exact, %.3f within +-1", label, overall["exact"], overall["within_1"]
    )


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
    from cnntopo.sensitivity import cka_sensitivity_curve, sensitivity_curve

    for cloud_npz, layer, out_csv in zip(cloud_files, layers, out_csvs, strict=True):
        points = _load_points(cloud_npz)
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
        with io.atomic_path(out_csv) as tmp:
            table.to_csv(tmp, index=False)
        log.info(
            "sensitivity of %s (%d x %d): %d reduced clouds in %.1f s",
            layer,
            *points.shape,
            len(table),
            time.perf_counter() - t0,
        )


def figure_sensitivity(
    csv_files: Sequence[str | Path],
    layers: Sequence[str],
    sw_outputs: Sequence[str],
    cka_outputs: Sequence[str],
    dcfg: dict,
) -> None:
    """One line per layer: SW (and CKA) to the original cloud vs fraction of directions removed."""
    import pandas as pd

    from cnntopo import plotting
    from cnntopo.ph_figures import sensitivity_figure

    curves = {layer: pd.read_csv(f) for layer, f in zip(layers, csv_files, strict=True)}
    with plotting.paper_style():
        fig = sensitivity_figure(curves, value="sw", ylabel=f"SW (H{dcfg['dim']}) to original")
        plotting.save_figure(fig, sw_outputs)
        fig = sensitivity_figure(curves, value="cka", ylabel="linear CKA to original")
        plotting.save_figure(fig, cka_outputs)


def figure_sw_vs_cka(
    dist_cross_npz: str | Path, cka_cross_npz: str | Path, outputs: Sequence[str]
) -> None:
    """Within-model layer similarity by the PH distance and by CKA, averaged over models."""
    from cnntopo import plotting
    from cnntopo.ph_figures import comparison_figure

    D, seeds, layers, meta = load_cross(dist_cross_npz)
    C, cseeds, clayers, _ = load_cross(cka_cross_npz)
    if (seeds, layers) != (cseeds, clayers):
        raise ValueError("the distance and CKA matrices cover different models or layers")
    L = len(layers)
    blocks = range(len(seeds))
    d_mean = np.mean([D[s * L : (s + 1) * L, s * L : (s + 1) * L] for s in blocks], axis=0)
    c_mean = np.mean([C[s * L : (s + 1) * L, s * L : (s + 1) * L] for s in blocks], axis=0)
    name = metric_label(meta["metric"], meta["dim"])
    with plotting.paper_style():
        fig = comparison_figure(
            d_mean,
            c_mean,
            layers,
            left_title=f"{name}, mean over {len(seeds)} models",
            right_title=f"linear CKA, mean over {len(seeds)} models",
            left_label=name,
            right_label="linear CKA",
        )
        plotting.save_figure(fig, outputs)
