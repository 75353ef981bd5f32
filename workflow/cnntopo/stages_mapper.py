"""Entry points of the Mapper branch's workflow rules (paper-methods 1.3b, 1.5, 3).

Like :mod:`cnntopo.stages`, each function takes the validated config and explicit
paths, does one stage and writes its outputs atomically.

Names used by the rules:

* a *cloud* is a point-cloud construction: ``random`` (P2), ``full`` (P3),
  ``fg1``/``fg5``/``bg1``/``bg5`` (P4/P5, top-1/top-5 foreground/background
  positions), optionally with input noise: ``full-noise0.5`` (P6, sigma 0.5);
* a *setting* is one set of Mapper parameters, written Paramspace-style as
  ``intervals~40_overlap~30_eps~knee`` (eps ``knee`` = the rule of paper-methods 3.2).
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo import io

__all__ = [
    "mapper_view",
    "parse_cloud",
    "format_setting",
    "parse_setting",
    "train_mapper_model",
    "import_mapper_model",
    "select_mapper_images",
    "mapper_cloud",
    "mapper_graph",
    "mapper_stats",
    "figure_mapper_panels",
    "figure_mapper_purity",
    "figure_mapper_settings",
    "mapper_explorer",
]

log = logging.getLogger("cnntopo")

_CLOUD = re.compile(r"^(random|full|fg[15]|bg[15])(?:-noise([0-9.eE+-]+))?$")
_SETTING = re.compile(r"^intervals~(\d+)_overlap~([0-9.]+)_eps~(knee|[0-9.eE+-]+)$")
_METHODS = {"random": "random", "full": "full", "fg": "foreground", "bg": "background"}


def parse_cloud(cloud: str) -> dict:
    """Method, top-k and noise level of a cloud name.

    Examples
    --------
    >>> parse_cloud("fg5")
    {'method': 'foreground', 'topk': 5, 'sigma': 0.0, 'base': 'fg5'}
    >>> parse_cloud("full-noise0.5")["sigma"]
    0.5
    """
    m = _CLOUD.match(cloud)
    if not m:
        raise ValueError(
            f"unknown point cloud {cloud!r}; expected random, full, fg1, fg5, bg1 or bg5, "
            "optionally followed by -noise<sigma>"
        )
    base, sigma = m.group(1), float(m.group(2) or 0.0)
    if base in ("random", "full"):
        return {"method": base, "topk": 1, "sigma": sigma, "base": base}
    return {"method": _METHODS[base[:2]], "topk": int(base[2]), "sigma": sigma, "base": base}


def format_setting(intervals: int, overlap: float, eps: float | None) -> str:
    """Paramspace-style name of one Mapper setting (overlap in percent)."""
    eps_text = "knee" if eps is None else f"{float(eps):g}"
    return f"intervals~{int(intervals)}_overlap~{float(overlap):g}_eps~{eps_text}"


def parse_setting(setting: str) -> dict:
    """Inverse of :func:`format_setting`: ``{"intervals", "overlap" (percent), "eps"}``."""
    m = _SETTING.match(setting)
    if not m:
        raise ValueError(
            f"malformed Mapper setting {setting!r}; expected e.g. 'intervals~40_overlap~30_eps~knee'"
        )
    eps = None if m.group(3) == "knee" else float(m.group(3))
    return {"intervals": int(m.group(1)), "overlap": float(m.group(2)), "eps": eps}


def mapper_view(cfg: dict) -> dict:
    """The config seen as a PH-style config of the Mapper network (for shared training code).

    ``model`` becomes the option-B network (``resnet18_mapper``) with the Mapper width
    and seed; ``training`` is ``mapper.training`` completed with the recipe fields the
    Catalyst recipe does not use (no Nesterov, no label smoothing, no TTA).
    """
    m = cfg["mapper"]
    view = copy.deepcopy(cfg)
    view["model"] = {
        "arch": "resnet18_mapper",
        "width": m["model"]["width"],
        "seeds": [m["model"]["seed"]],
        "checkpoint": m["model"]["checkpoint"],
    }
    training = {
        "nesterov": False,
        "label_smoothing": 0.0,
        "channels_last": False,
        "eval_batch_size": 1000,
        "tta": "none",
        "eval_every": 1,
    }
    training.update(copy.deepcopy(m["training"]))
    view["training"] = training
    return view


def train_mapper_model(
    cfg: dict, weights: str | Path, metrics: str | Path, threads: int = 2
) -> dict:
    """Train the Mapper network (option-B ResNet-18, the Catalyst recipe of paper-methods 1.4)."""
    from cnntopo.stages import train_model

    view = mapper_view(cfg)
    return train_model(view, view["model"]["seeds"][0], weights, metrics, threads=threads)


def import_mapper_model(
    cfg: dict, source: str | Path, weights: str | Path, metrics: str | Path, threads: int = 2
) -> dict:
    """Use existing Mapper-network weights (e.g. the official Catalyst ``best.pth``)."""
    from cnntopo.stages import import_checkpoint

    view = mapper_view(cfg)
    return import_checkpoint(
        view, view["model"]["seeds"][0], source, weights, metrics, threads=threads
    )


def select_mapper_images(cfg: dict, out: str | Path) -> dict:
    """Choose the Mapper images, in class-major order, and record them.

    All images of ``mapper.images.split`` (the paper: the 50,000 CIFAR-10 training
    images), or a seeded sample of ``per_class`` images per class; sorted by class,
    then by index, as the official extraction (one pass per class).

    Writes ``out`` (``.npz``): ``indices`` (N,) positions in the split, ``labels`` (N,),
    ``classes`` (n_classes,) and ``meta`` (JSON).
    """
    from cnntopo.stages import _load_split

    icfg = cfg["mapper"]["images"]
    data = _load_split(cfg, icfg["split"])
    rng = np.random.default_rng(icfg["seed"])
    chosen = []
    for k in range(len(data.classes)):
        idx = np.flatnonzero(data.labels == k)
        if icfg["per_class"] is not None and len(idx) > icfg["per_class"]:
            idx = np.sort(rng.choice(idx, size=icfg["per_class"], replace=False))
        chosen.append(idx)
    indices = np.concatenate(chosen).astype(np.int64)
    meta = {
        "dataset": cfg["dataset"]["name"],
        "split": icfg["split"],
        "per_class": icfg["per_class"],
        "seed": icfg["seed"],
        "n_images": int(len(indices)),
        "counts": [int(len(c)) for c in chosen],
    }
    io.write_npz(
        out,
        indices=indices,
        labels=data.labels[indices],
        classes=np.asarray(data.classes),
        meta=np.asarray(io.json_dumps(meta)),
    )
    log.info("%d %s images in class-major order: %s", len(indices), icfg["split"], meta["counts"])
    return meta


def _load_mapper_images(cfg: dict, images_npz: str | Path):
    from cnntopo.stages import _load_split

    with np.load(images_npz, allow_pickle=False) as z:
        indices = z["indices"]
        classes = [str(c) for c in z["classes"]]
    data = _load_split(cfg, cfg["mapper"]["images"]["split"])
    return data.subset(indices), classes


def mapper_cloud(
    cfg: dict,
    cloud: str,
    layer: str,
    weights: str | Path,
    images_npz: str | Path,
    out: str | Path,
    threads: int = 2,
) -> dict:
    """Build one point cloud of one BN layer of the Mapper network (paper-methods 1.5).

    Writes ``out`` (``.npz``): ``points`` (P, c) float32, ``labels`` (P,),
    ``image_index`` (P,) rows of the Mapper image list, ``position`` (P,) flattened
    spatial index, ``correct`` (N,) whether the network classified each (noisy)
    image correctly, and ``meta`` (JSON: construction, seeds, sizes, accuracy).
    """
    import torch

    from cnntopo.mapper_clouds import build_cloud
    from cnntopo.models import build_model, load_state_dict_compat
    from cnntopo.stages import _normalization
    from cnntopo.training import select_device

    t0 = time.perf_counter()
    torch.set_num_threads(max(1, int(threads)))
    m = cfg["mapper"]
    spec = parse_cloud(cloud)
    images, classes = _load_mapper_images(cfg, images_npz)
    model = build_model("resnet18_mapper", m["model"]["width"], len(classes))
    load_state_dict_compat(model, weights)
    device = select_device(m["training"]["device"])
    model.to(device).eval()
    mean, std = _normalization(cfg)
    result = build_cloud(
        model,
        images.images,
        images.labels,
        layer,
        spec["method"],
        seed=m["seed"],
        mean=mean,
        std=std,
        batch_size=m["images"]["batch_size"],
        device=device,
        cap=m["full"]["cap"],
        replace=m["full"]["replace"],
        topk=spec["topk"],
        grabcut=m["grabcut"]["input"],
        grabcut_iters=m["grabcut"]["iterations"],
        sigma=spec["sigma"],
        low=m["random_low"],
        log=log.info,
    )
    meta = dict(result.get("meta", {}))
    meta.update(
        cloud=cloud,
        layer=layer,
        dataset=cfg["dataset"]["name"],
        classes=classes,
        seconds=time.perf_counter() - t0,
    )
    io.write_npz(
        out,
        points=np.asarray(result["points"], dtype=np.float32),
        labels=np.asarray(result["labels"], dtype=np.int64),
        image_index=np.asarray(result["image_index"], dtype=np.int64),
        position=np.asarray(result["position"], dtype=np.int64),
        correct=np.asarray(result["correct"], dtype=bool),
        meta=np.asarray(io.json_dumps(meta)),
    )
    log.info(
        "%s %s: %d points x %d dims in %.1f s",
        cloud,
        layer,
        result["points"].shape[0],
        result["points"].shape[1],
        meta["seconds"],
    )
    return meta


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
    from cnntopo.mapper import mapper_graph as _mapper

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
    io.write_json(out, graph)
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

    from cnntopo.mapper import graph_stats
    from cnntopo.purity import classwise_purity, nodewise_purity

    rows = []
    labels_cache: dict[str, tuple[np.ndarray, list[str]]] = {}
    for gpath, cpath in zip(graph_files, cloud_files, strict=True):
        graph = io.read_json(gpath)
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
    with io.atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)


def _class_names(graphs: Sequence[dict]) -> list[str]:
    """Class names recorded in the graphs' ``meta`` (the first that has them), else 0-9."""
    for graph in graphs:
        names = graph.get("meta", {}).get("label_names")
        if names:
            return list(names)
    return [str(k) for k in range(10)]


def figure_mapper_panels(
    graph_files: Sequence[str | Path],
    titles: Sequence[str],
    outputs: Sequence[str | Path],
    *,
    seed: int = 0,
    suptitle: str | None = None,
    ncols: int = 3,
) -> None:
    """A grid of Mapper graphs (pie-chart nodes by class, sized by point count)."""
    from cnntopo.mapper_draw import figure_mapper_panels as _panels

    panels = [(t, io.read_json(p)) for t, p in zip(titles, graph_files, strict=True)]
    classes = _class_names([g for _, g in panels])
    for out in outputs:
        _panels(
            panels,
            classes,
            out,
            ncols=min(ncols, max(1, len(panels))),
            seed=seed,
            suptitle=suptitle,
        )


def figure_mapper_purity(
    stats_csv: str | Path, primary: Sequence[str], outputs: Sequence[str | Path]
) -> None:
    """Node-wise and mean class-wise purity per layer, one line per cloud (primary settings).

    ``primary`` lists ``"<cloud>/<layer>/<setting>"`` of the graphs to plot (one per
    cloud and layer).
    """
    import pandas as pd

    from cnntopo.mapper_draw import figure_purity

    table = pd.read_csv(stats_csv)
    key = table["cloud"] + "/" + table["layer"] + "/" + table["setting"]
    table = table[key.isin(set(primary))].rename(columns={"cloud": "construction"})
    for out in outputs:
        figure_purity(table, out, title="Mapper purity per layer")


def figure_mapper_settings(stats_csv: str | Path, outputs: Sequence[str | Path]) -> None:
    """Graph size and purity across the Mapper settings of a parameter sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    table = pd.read_csv(stats_csv)
    table["graph"] = table["cloud"] + " " + table["layer"]
    settings = list(dict.fromkeys(table["setting"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for name, rows in table.groupby("graph", sort=False):
        x = [settings.index(s) for s in rows["setting"]]
        axes[0].plot(x, rows["n_nodes"], marker="o", label=name)
        axes[1].plot(x, rows["nodewise"], marker="o", label=name)
    labels = [s.replace("_", "\n") for s in settings]
    for ax, title in zip(axes, ("nodes", "node-wise purity"), strict=True):
        ax.set_xticks(range(len(settings)), labels, fontsize=7)
        ax.set_title(title)
    axes[1].legend(fontsize=7, loc="best")
    fig.suptitle("Mapper graphs across settings")
    for out in outputs:
        with io.atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=150, format=Path(out).suffix.lstrip("."))
    plt.close(fig)


def mapper_explorer(
    cfg: dict,
    graph_files: Sequence[str | Path],
    titles: Sequence[str],
    cloud_files: Sequence[str | Path],
    images_npz: str | Path,
    out_html: str | Path,
) -> None:
    """Self-contained interactive HTML page of several graphs of one cloud (layer selector)."""
    from cnntopo.explorer import write_explorer

    graphs = {t: io.read_json(p) for t, p in zip(titles, graph_files, strict=True)}
    classes = _class_names(list(graphs.values()))
    point_images = None
    thumbnails = None
    fig_cfg = cfg["mapper"]["figures"]
    if fig_cfg["thumbnails"]:
        images, _ = _load_mapper_images(cfg, images_npz)
        thumbnails = images.images
        if thumbnails.shape[-1] == 1:
            thumbnails = np.repeat(thumbnails, 3, axis=-1)
        # every cloud of one explorer page comes from the same image list; the graphs of
        # different layers have different rows, so map rows -> images per graph
        point_images = {}
        for t, cpath in zip(titles, cloud_files, strict=True):
            with np.load(cpath, allow_pickle=False) as z:
                point_images[t] = z["image_index"]
    write_explorer(
        out_html,
        graphs,
        classes,
        seed=fig_cfg["layout_seed"],
        point_images=point_images,
        thumbnails=thumbnails,
        title=f"cnntopo Mapper explorer: {cfg['dataset']['name']}",
    )
