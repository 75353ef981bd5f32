"""Stages of ``rules/mapper/graphs.smk``: Mapper graphs and their statistics."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import load_cloud_labels, load_features

__all__ = ["mapper_graph", "mapper_stats"]

log = logging.getLogger("cnntopo")


def mapper_graph(
    cloud_npz: str | Path,
    setting: str,
    out: str | Path,
    *,
    intervals: int,
    overlap: float,
    eps: float | None,
    min_samples: int,
    cover: str,
    knn_method: str = "exact",
    knn_approx_above: int = 100000,
    seed: int = 0,
    predictions: bool = False,
    threads: int = 1,
    device: str = "cpu",
) -> dict:
    """Mapper graph of one cloud with one setting, in Mapper Interactive's JSON format.

    The l2-norm lens (min-max scaled), the cover, and DBSCAN in every interval
    (docs/methods.md §12).

    Parameters
    ----------
    cloud_npz : path-like
        The point cloud (``points`` (P, c), ``labels`` (P,), ``meta`` with the class
        names).
    setting : str
        Name of the setting (:func:`cnntopo.names.format_setting`), recorded in the
        graph's ``meta``.
    out : path-like
        Output JSON; its ``meta`` also records the cloud and layer.
    intervals : int
        Number of cover intervals.
    overlap : float
        Overlap of the intervals in percent.
    eps : float or None
        DBSCAN eps; None = the knee rule.
    min_samples : int
        DBSCAN ``min_samples``.
    cover : {"paper", "kmapper"}
        Interval formula.
    knn_method : {"exact", "approx", "auto"}, default "exact"
        Neighbour search of the knee rule (``eps`` None);
        :func:`cnntopo.mapper.graph.resolve_knn_method` resolves ``"auto"`` by the
        cloud's size. The method used is recorded in the graph's ``meta``.
    knn_approx_above : int, default 100000
        ``"auto"`` uses the approximate search above this many points.
    seed : int, default 0
        ``random_state`` of the approximate index.
    predictions : bool, default False
        Prepend the 0/1 correctness of each point's image as a feature
        (:func:`cnntopo.mapper.graph.with_predictions`; the official noisy foreground
        graphs).
    threads : int, default 1
        Threads of the neighbour searches (the graph does not depend on them).
    device : {"cpu", "auto", "cuda"}, default "cpu"
        Engine of DBSCAN (:func:`cnntopo.mapper.dbscan.resolve_device`): numpy on the
        CPU, or torch on a CUDA device; the graph does not depend on it.

    Returns
    -------
    dict
        The graph's ``meta``.
    """
    from cnntopo.mapper.dbscan import resolve_device
    from cnntopo.mapper.graph import mapper_graph as _mapper
    from cnntopo.mapper.graph import resolve_knn_method

    t0 = time.perf_counter()
    engine = resolve_device(device)
    log.info("DBSCAN engine: %s", "numpy (CPU)" if engine is None else f"torch on {engine}")
    points, labels, meta = load_features(cloud_npz, predictions)
    method = resolve_knn_method(knn_method, points.shape[0], knn_approx_above)
    graph = _mapper(
        points,
        labels,
        lens="l2norm",
        n_intervals=intervals,
        overlap=overlap / 100.0,
        eps=eps,
        min_samples=min_samples,
        cover=cover,
        label_names=meta["classes"],
        knn_method=method,
        seed=seed,
        n_jobs=threads,
        device=engine,
        log=log.info,
    )
    graph.setdefault("meta", {}).update(
        cloud=meta.get("cloud"),
        layer=meta.get("layer"),
        setting=setting,
        predictions_feature=bool(predictions),
        knn_method_config=knn_method,
        seconds=time.perf_counter() - t0,
    )
    artifacts.write_json(out, graph)
    log.info(
        "%s %s %s: %d nodes, %d edges, eps %s (%.1f s)",
        meta.get("cloud"),
        meta.get("layer"),
        setting,
        graph["meta"].get("n_nodes", len(graph["nodes"])),
        graph["meta"].get("n_edges", -1),
        graph["meta"].get("eps"),
        graph["meta"]["seconds"],
    )
    return graph["meta"]


def mapper_stats(
    graph_files: Sequence[str | Path],
    cloud_files: Sequence[str | Path],
    out_csv: str | Path,
) -> None:
    """One row per graph: cloud, layer, setting, eps, size and purity (docs/methods.md §13).

    Parameters
    ----------
    graph_files : sequence of path-like
        Mapper graphs (JSON).
    cloud_files : sequence of path-like
        ``cloud_files[i]`` is the cloud of ``graph_files[i]``: its labels give the
        class-wise purity (which the paper defines for one-point-per-image clouds; for
        the others it is a per-point score), its ``meta`` the class names.
    out_csv : path-like
        Columns ``cloud``, ``layer``, ``setting``, ``intervals``, ``overlap``, ``eps``,
        ``eps_source``, ``n_points``, ``n_nodes``, ``n_edges``, ``n_components``,
        ``nodewise``, ``classwise_mean`` and ``classwise_<class>`` per class.
    """
    import pandas as pd

    from cnntopo.mapper.graph import graph_stats
    from cnntopo.mapper.purity import purity_scores

    rows = []
    clouds: dict[str, tuple[np.ndarray, list[str]]] = {}
    for gpath, cpath in zip(graph_files, cloud_files, strict=True):
        graph = artifacts.read_json(gpath)
        if str(cpath) not in clouds:
            clouds[str(cpath)] = load_cloud_labels(cpath)
        labels, classes = clouds[str(cpath)]
        meta = graph.get("meta", {})
        stats = graph_stats(graph)
        purity = purity_scores(graph, labels, classes)
        row = {
            "cloud": meta.get("cloud"),
            "layer": meta.get("layer"),
            "setting": meta.get("setting"),
            "intervals": meta.get("n_intervals"),
            "overlap": meta.get("overlap"),
            "eps": meta.get("eps"),
            "eps_source": meta.get("eps_source"),
            "n_points": meta.get("n_points", len(labels)),
            "n_nodes": stats["n_nodes"],
            "n_edges": stats["n_edges"],
            "n_components": stats["n_components"],
            "nodewise": purity["nodewise"],
            "classwise_mean": purity["classwise_mean"],
        }
        row.update({f"classwise_{name}": v for name, v in purity["classwise"].items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    with artifacts.atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
