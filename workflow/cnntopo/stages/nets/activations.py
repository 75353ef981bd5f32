"""Stage of ``rules/nets/activations.smk``: activation shards of one network."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import dataset_normalization, load_split, model_config_hash, setup_torch

__all__ = ["extract_activations"]

log = logging.getLogger("cnntopo")


def extract_activations(
    cfg: dict,
    seed: int,
    weights: str | Path,
    eval_set: str | Path,
    out_dir: str | Path,
    layers: Sequence[str],
    threads: int = 2,
) -> dict:
    """Capture the raw conv outputs of ``layers`` for the recorded image set into shards."""
    torch = setup_torch(threads)
    from cnntopo.nets.activations import extract_activations as _extract
    from cnntopo.nets.devices import select_device
    from cnntopo.nets.models import build_model, load_state_dict_compat

    sel = artifacts.read_json(eval_set)
    images = load_split(cfg["dataset"], sel["split"])
    wanted = np.asarray(sel["indices"], dtype=np.int64)
    order = np.argsort(images.indices)
    pos = order[np.clip(np.searchsorted(images.indices[order], wanted), 0, len(order) - 1)]
    subset = images.subset(pos)
    if not (
        np.array_equal(subset.indices, wanted)
        and np.array_equal(subset.labels, np.asarray(sel["labels"]))
    ):
        raise RuntimeError(
            f"the {sel['dataset']} {sel['split']} split changed since {eval_set} was written "
            "(indices or labels differ); delete that file and rerun"
        )
    mean, std = dataset_normalization(cfg["dataset"])
    device = select_device(cfg["training"]["device"])
    model = build_model(cfg["model"]["arch"], cfg["model"]["width"], len(images.classes))
    load_state_dict_compat(model, torch.load(weights, map_location="cpu", weights_only=True))
    acfg = cfg["activations"]
    meta = {
        "seed": int(seed),
        "weights": str(weights),
        "eval_set": str(eval_set),
        "config_hash": model_config_hash({k: cfg[k] for k in ("dataset", "model", "training")}),
        "arch": cfg["model"]["arch"],
        "width": cfg["model"]["width"],
    }
    manifest = _extract(
        model,
        subset,
        list(layers),
        out_dir,
        mean=mean,
        std=std,
        batch_size=acfg["batch_size"],
        device=device,
        dtype=acfg["dtype"],
        extra_meta=meta,
    )
    log.info(
        "seed %d: wrote %d activation shards for %d images to %s",
        seed,
        len(layers),
        len(subset),
        out_dir,
    )
    return manifest
