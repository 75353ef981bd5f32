"""Stages of ``rules/ph/distances.smk``: within- and cross-model diagram distances, specificity."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import load_cross, write_cross

__all__ = [
    "metric_params",
    "load_finite_diagrams",
    "layer_distances",
    "cross_distances",
    "specificity_analysis",
]

log = logging.getLogger("cnntopo")


def _load_dim(path: str | Path, dim: int) -> np.ndarray:
    from cnntopo.ph.persistence import load_diagrams

    dgms, _ = load_diagrams(path)
    if dim >= len(dgms):
        raise ValueError(f"{path} has diagrams up to H{len(dgms) - 1}; H{dim} was requested")
    return dgms[dim]


def metric_params(dcfg: dict, metric: str) -> dict:
    """Parameters of ``metric`` from the ``distances`` config section (explicit, never library defaults)."""
    if metric == "sliced_wasserstein":
        return {"M": dcfg["M"]}
    if metric == "wasserstein":
        return {"order": dcfg["order"], "internal_p": float(dcfg["internal_p"]), "delta": 1e-10}
    if metric == "bottleneck":
        return {"delta": 0.0}  # exact
    return {}


def load_finite_diagrams(diagram_files: Sequence[str | Path], dcfg: dict) -> list[np.ndarray]:
    """The ``distances.dim`` diagrams of several files, infinite bars handled per ``distances.infinite``."""
    from cnntopo.ph.distances import finite_part

    return [
        finite_part(_load_dim(f, dcfg["dim"]), infinite=dcfg["infinite"]) for f in diagram_files
    ]


def layer_distances(
    diagram_files: Sequence[str | Path],
    layers: Sequence[str],
    dcfg: dict,
    out_npz: str | Path,
    out_csv: str | Path,
    metric: str | None = None,
) -> np.ndarray:
    """Layer-by-layer distance matrix of one model (paper: SW between H1 diagrams, 17x17)."""
    import pandas as pd

    from cnntopo.ph.distances import pairwise

    metric = metric or dcfg["metric"]
    dgms = load_finite_diagrams(diagram_files, dcfg)
    params = metric_params(dcfg, metric)
    t0 = time.perf_counter()
    D = pairwise(dgms, metric=metric, **params)
    meta = {
        "metric": metric,
        "dim": dcfg["dim"],
        "params": params,
        "layers": list(layers),
        "seconds": time.perf_counter() - t0,
    }
    artifacts.write_npz(
        out_npz, matrix=D, layers=np.array(list(layers)), meta=np.array(artifacts.json_dumps(meta))
    )
    with artifacts.atomic_path(out_csv) as tmp:
        pd.DataFrame(D, index=list(layers), columns=list(layers)).to_csv(tmp)
    log.info("%s H%d matrix %s in %.2f s", metric, dcfg["dim"], D.shape, meta["seconds"])
    return D


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
    from cnntopo.ph.distances import pairwise

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
    write_cross(out_npz, D, seeds, layers, meta)
    log.info("cross-model %s matrix %s in %.1f s", dcfg["metric"], D.shape, seconds)
    return D


def specificity_analysis(
    cross_npz: str | Path, out_csv: str | Path, figure_outputs: Sequence[str], label: str
) -> None:
    """Cross-seed layer identification (paper-methods 2.4; Ding et al. 2021 specificity).

    For every layer of every model and every other model, the nearest layer of that
    model; the table gives per layer the fraction that is the same layer and within +-1.
    """
    from cnntopo.ph import figures as plotting
    from cnntopo.ph.cross_figures import specificity_figure
    from cnntopo.ph.specificity import mean_cross_block, specificity_table

    D, seeds, layers, meta = load_cross(cross_npz)
    kind = meta["kind"]
    if len(seeds) < 2:
        raise ValueError("specificity needs at least two models: add seeds to model.seeds")
    table = specificity_table(D, layers, len(seeds), kind=kind)
    with artifacts.atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    block = mean_cross_block(D, len(seeds), len(layers))
    with plotting.paper_style():
        fig = specificity_figure(block, table, layers, metric_label=label, kind=kind)
        plotting.save_figure(fig, figure_outputs)
    overall = table[table["layer"] == "overall"].iloc[0]
    log.info(
        "%s specificity: %.3f exact, %.3f within +-1", label, overall["exact"], overall["within_1"]
    )
