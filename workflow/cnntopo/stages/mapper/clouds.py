"""Stages of ``rules/mapper/clouds.smk``: the Mapper images and point clouds."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.names import parse_cloud
from cnntopo.stages.common import dataset_normalization, load_mapper_images, load_split

__all__ = ["select_mapper_images", "mapper_cloud"]

log = logging.getLogger("cnntopo")


def select_mapper_images(cfg: dict, out: str | Path) -> dict:
    """Choose the Mapper images, in class-major order, and record them.

    All images of ``mapper.images.split`` (the paper: the 50,000 CIFAR-10 training
    images), or a seeded sample of ``per_class`` images per class; sorted by class,
    then by index, as the official extraction (one pass per class).

    Writes ``out`` (``.npz``): ``indices`` (N,) positions in the split, ``labels`` (N,),
    ``classes`` (n_classes,) and ``meta`` (JSON).
    """

    icfg = cfg["mapper"]["images"]
    data = load_split(cfg, icfg["split"])
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
    artifacts.write_npz(
        out,
        indices=indices,
        labels=data.labels[indices],
        classes=np.asarray(data.classes),
        meta=np.asarray(artifacts.json_dumps(meta)),
    )
    log.info("%d %s images in class-major order: %s", len(indices), icfg["split"], meta["counts"])
    return meta


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

    from cnntopo.mapper.clouds import build_cloud
    from cnntopo.nets.devices import select_device
    from cnntopo.nets.models import build_model, load_state_dict_compat

    t0 = time.perf_counter()
    torch.set_num_threads(max(1, int(threads)))
    m = cfg["mapper"]
    spec = parse_cloud(cloud)
    images, classes = load_mapper_images(cfg, images_npz)
    model = build_model("resnet18_mapper", m["model"]["width"], len(classes))
    load_state_dict_compat(model, weights)
    device = select_device(m["training"]["device"])
    model.to(device).eval()
    mean, std = dataset_normalization(cfg)
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
    artifacts.write_npz(
        out,
        points=np.asarray(result["points"], dtype=np.float32),
        labels=np.asarray(result["labels"], dtype=np.int64),
        image_index=np.asarray(result["image_index"], dtype=np.int64),
        position=np.asarray(result["position"], dtype=np.int64),
        correct=np.asarray(result["correct"], dtype=bool),
        meta=np.asarray(artifacts.json_dumps(meta)),
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
