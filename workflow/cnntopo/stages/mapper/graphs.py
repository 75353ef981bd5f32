"""Stages of ``rules/mapper/graphs.smk``: Mapper graphs and their statistics."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.names import parse_setting

__all__ = ["mapper_graph", "mapper_stats"]

log = logging.getLogger("cnntopo")


def _cloud_meta(z) -> dict:
    import json

    return json.loads(str(z["meta"])) if "meta" in z.files else {}


def mapper_graph(
    cfg: dict, cloud_npz: str | Path, setting: str, out: str | Path, threads: int = 1
) -> dict:
    """Mapper graph of one cloud with one setting, in Mapper Interactive's JSON format.

    l2-norm lens (min-max scaled), the configured cover (``mapper.graph.cover``),
    DBSCAN with ``min_samples`` and the setting's eps (``knee`` = paper-methods 3.2).
    The JSON's ``meta`` also records the cloud, layer and setting.
    """
    from cnntopo.mapper.graph import mapper_graph as _mapper

    t0 = time.perf_counter()
    s = parse_setting(setting)
    g = cfg["mapper"]["graph"]
    with np.load(cloud_npz, allow_pickle=False) as z:
        points, labels = z["points"], z["labels"]
        meta = _cloud_meta(z)
    graph = _mapper(
        points,
        labels,
        lens="l2norm",
        n_intervals=s["intervals"],
        overlap=s["overlap"] / 100.0,
        eps=s["eps"],
        min_samples=g["min_samples"],
        cover=g["cover"],
        label_names=meta.get("classes"),
        n_jobs=threads,
    )
    graph.setdefault("meta", {}).update(
        cloud=meta.get("cloud"),
        layer=meta.get("layer"),
        setting=setting,
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
    """One row per graph: cloud, layer, setting, eps, size and purity (paper-methods 3.6).

    ``cloud_files[i]`` is the cloud of ``graph_files[i]`` (its labels give class-wise
    purity, which the paper defines for one-point-per-image clouds; for the others it
    is a per-point score).
    """
    import pandas as pd

    from cnntopo.mapper.graph import graph_stats
    from cnntopo.mapper.purity import classwise_purity, nodewise_purity

    rows = []
    labels_cache: dict[str, tuple[np.ndarray, list[str]]] = {}
    for gpath, cpath in zip(graph_files, cloud_files, strict=True):
        graph = artifacts.read_json(gpath)
        key = str(cpath)
        if key not in labels_cache:
            with np.load(cpath, allow_pickle=False) as z:
                labels_cache[key] = (z["labels"], _cloud_meta(z).get("classes", []))
        labels, classes = labels_cache[key]
        meta = graph.get("meta", {})
        stats = graph_stats(graph)
        n_classes = max(len(classes), int(labels.max()) + 1 if len(labels) else 0)
        per_class = classwise_purity(graph, labels, n_classes)
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
            "nodewise": nodewise_purity(graph) if stats["n_nodes"] else float("nan"),
            "classwise_mean": float(np.mean(per_class)) if len(per_class) else float("nan"),
        }
        for k, value in enumerate(per_class):
            name = classes[k] if k < len(classes) else str(k)
            row[f"classwise_{name}"] = float(value)
        rows.append(row)
    table = pd.DataFrame(rows)
    with artifacts.atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
