"""Stages of ``rules/ph/distances.smk``: within- and cross-model diagram distances, specificity."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.ph.persistence import load_finite_diagrams  # re-exported (it lived here)
from cnntopo.stages.common import load_cross, write_cross

__all__ = [
    "metric_params",
    "load_finite_diagrams",
    "layer_distances",
    "cross_distances",
    "specificity_analysis",
]

log = logging.getLogger("cnntopo")


def metric_params(distances: Mapping, metric: str) -> dict:
    """The parameters of ``metric``, from the config section ``distances``.

    Every parameter is written out (never a library default): ``M`` for the sliced
    Wasserstein distance, ``order``, ``internal_p`` and ``delta`` for the Wasserstein
    distance, an exact (``delta = 0``) bottleneck distance.

    Parameters
    ----------
    distances : mapping
        The config section ``distances`` (keys ``M``, ``order``, ``internal_p``).
    metric : {"sliced_wasserstein", "wasserstein", "bottleneck"}

    Returns
    -------
    dict
        Keyword arguments of :func:`cnntopo.ph.distances.pairwise` for ``metric``.

    Examples
    --------
    >>> metric_params({"M": 50, "order": 1, "internal_p": 2}, "wasserstein")
    {'order': 1, 'internal_p': 2.0, 'delta': 1e-10}
    """
    if metric == "sliced_wasserstein":
        return {"M": distances["M"]}
    if metric == "wasserstein":
        return {
            "order": distances["order"],
            "internal_p": float(distances["internal_p"]),
            "delta": 1e-10,
        }
    if metric == "bottleneck":
        return {"delta": 0.0}  # exact
    return {}


def layer_distances(
    diagram_files: Sequence[str | Path],
    out_npz: str | Path,
    out_csv: str | Path,
    *,
    layers: Sequence[str],
    metric: str,
    dim: int,
    infinite: str,
    parameters: Mapping,
) -> np.ndarray:
    """Layer-by-layer distance matrix of one model (paper: SW between H1 diagrams, 17 x 17).

    Parameters
    ----------
    diagram_files : sequence of path-like
        One diagram file per layer of the model, in the order of ``layers``.
    out_npz : path-like
        Output: ``matrix`` (L, L), ``layers`` and ``meta`` (JSON: metric, dim,
        parameters, layers, seconds).
    out_csv : path-like
        Output: the same matrix as a table, the layer names as index and header.
    layers : sequence of str
        Layer names, length L.
    metric : {"sliced_wasserstein", "wasserstein", "bottleneck"}
        The ``{metric}`` wildcard (one of ``distances.within_metrics``).
    dim : int
        Homology dimension compared (``distances.dim``).
    infinite : {"strip", "error"}
        ``distances.infinite``.
    parameters : mapping
        The metric's parameters (:func:`metric_params`).

    Returns
    -------
    ndarray, shape (L, L)
    """
    import pandas as pd

    from cnntopo.ph.distances import pairwise

    dgms = load_finite_diagrams(diagram_files, dim, infinite)
    t0 = time.perf_counter()
    D = pairwise(dgms, metric=metric, **parameters)
    meta = {
        "metric": metric,
        "dim": dim,
        "params": dict(parameters),
        "layers": list(layers),
        "seconds": time.perf_counter() - t0,
    }
    artifacts.write_npz(
        out_npz, matrix=D, layers=np.array(list(layers)), meta=np.array(artifacts.json_dumps(meta))
    )
    with artifacts.atomic_path(out_csv) as tmp:
        pd.DataFrame(D, index=list(layers), columns=list(layers)).to_csv(tmp)
    log.info("%s H%d matrix %s in %.2f s", metric, dim, D.shape, meta["seconds"])
    return D


def cross_distances(
    diagram_files: Sequence[str | Path],
    out_npz: str | Path,
    *,
    seeds: Sequence[int],
    layers: Sequence[str],
    metric: str,
    dim: int,
    infinite: str,
    parameters: Mapping,
    representation: str = "topl2",
    threads: int = 1,
) -> np.ndarray:
    """Distances between every (model, layer) diagram and every other (paper: 1,700 x 1,700 SW).

    Block (s, t) of the result is the paper's ``cross`` matrix of models s and t; the
    diagonal blocks are the within-model matrices (docs/methods.md §6).

    Parameters
    ----------
    diagram_files : sequence of path-like
        Model-major: file ``s * len(layers) + l`` is layer ``l`` of model ``seeds[s]``.
    out_npz : path-like
        Output (:func:`cnntopo.stages.common.write_cross`): ``matrix`` (S*L, S*L),
        ``seeds``, ``layers`` and ``meta`` (JSON: metric, dim, parameters,
        representation, ``kind = "distance"``, seconds, number of diagrams, mean bars
        per diagram).
    seeds : sequence of int
        The models (``model.seeds``), length S.
    layers : sequence of str
        The layers, length L.
    metric : {"sliced_wasserstein", "wasserstein", "bottleneck"}
        ``distances.metric``.
    dim : int
        ``distances.dim``.
    infinite : {"strip", "error"}
        ``distances.infinite``.
    parameters : mapping
        The metric's parameters (:func:`metric_params`).
    representation : {"topl2", "flat", "pool"}, default "topl2"
        The representation whose diagrams these are (``persistence.representations``;
        recorded, and the ``representation`` of the rows of
        :func:`cnntopo.stages.ph.similarity.similarity_tests`).
    threads : int, default 1
        Worker threads of the pairwise loop. A progress line with the pairs done and
        an ETA is logged every 30 s (:class:`cnntopo.progress.Progress`).

    Returns
    -------
    ndarray, shape (S*L, S*L)
    """
    from cnntopo.ph.distances import pairwise

    if len(diagram_files) != len(seeds) * len(layers):
        raise ValueError(
            f"expected {len(seeds)} x {len(layers)} diagram files, got {len(diagram_files)}"
        )
    from cnntopo.progress import Progress

    dgms = load_finite_diagrams(diagram_files, dim, infinite)
    n = len(dgms)
    t0 = time.perf_counter()
    lines = Progress(max(1, n * (n - 1) // 2), log.info, unit="pairs", clock=time.perf_counter)
    D = pairwise(
        dgms,
        metric=metric,
        n_jobs=threads,
        progress=lambda done, total: lines.update(done, metric=metric),
        **parameters,
    )
    seconds = time.perf_counter() - t0
    meta = {
        "metric": metric,
        "dim": dim,
        "params": dict(parameters),
        "representation": representation,
        "kind": "distance",
        "seconds": seconds,
        "n_diagrams": len(dgms),
        "mean_points": float(np.mean([len(d) for d in dgms])),
    }
    write_cross(out_npz, D, seeds, layers, meta)
    log.info("cross-model %s matrix on %s %s in %.1f s", metric, representation, D.shape, seconds)
    return D


def specificity_analysis(
    cross_npz: str | Path, out_csv: str | Path, figure_outputs: Sequence[str], *, label: str
) -> None:
    """Cross-seed layer identification (docs/methods.md §7; Ding et al. 2021 specificity).

    For every layer of every model and every other model, the nearest layer of that
    model (the smallest distance, or the largest similarity); the table gives per layer
    the fraction that is the same layer and the fraction within +-1 layer.

    Parameters
    ----------
    cross_npz : path-like
        A cross-model matrix (:func:`cross_distances` or
        :func:`cnntopo.stages.ph.similarity.cka_cross`) of at least two models.
    out_csv : path-like
        Output: columns ``layer, exact, within_1, n_pairs``, one row per layer and a
        last row ``overall``.
    figure_outputs : sequence of str
        The figure (mean cross-model block and the rates per layer), one file per format.
    label : str
        Name of the measure in the figure (e.g. ``"SW (H1)"``).
    """
    from cnntopo.ph import figures as plotting
    from cnntopo.ph.cross_figures import specificity_figure
    from cnntopo.ph.specificity import mean_cross_block, specificity_table

    D, seeds, layers, meta = load_cross(cross_npz)
    kind = meta["kind"]
    if len(seeds) < 2:
        raise ValueError("specificity needs at least two models: add seeds to model.seeds")
    # a layer undefined for this measure (NaN, e.g. a dead layer) drops its cases, as in
    # the comparison tables (analysis/specificity.csv), instead of stopping the job
    table = specificity_table(D, layers, len(seeds), kind=kind, missing="drop")
    with artifacts.atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    block = mean_cross_block(D, len(seeds), len(layers), missing="drop")
    with plotting.paper_style():
        fig = specificity_figure(block, table, layers, metric_label=label, kind=kind)
        plotting.save_figure(fig, figure_outputs)
    overall = table[table["layer"] == "overall"].iloc[0]
    log.info(
        "%s specificity: %.3f exact, %.3f within +-1", label, overall["exact"], overall["within_1"]
    )
