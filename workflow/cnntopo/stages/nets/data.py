"""Stage of ``rules/nets/data.smk``: the recorded set of analysed images."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import load_split

__all__ = ["select_eval_images"]

log = logging.getLogger("cnntopo")


def select_eval_images(cfg: dict, out_json: str | Path) -> dict:
    """Choose the fixed, recorded set of images whose activations are analysed.

    ``activations.selection = random`` takes the first ``n_images`` of a permutation
    drawn with ``np.random.default_rng(activations.seed)``; ``first`` takes the split's
    first ``n_images``. The paper used one shuffled batch of 1000 CIFAR-10 test images.
    """
    acfg = cfg["activations"]
    images = load_split(cfg["dataset"], acfg["split"])
    n = acfg["n_images"]
    if n > len(images):
        raise ValueError(
            f"config key 'activations.n_images' = {n} exceeds the {len(images)} images of the "
            f"{cfg['dataset']['name']} {acfg['split']} split; lower it"
        )
    if acfg["selection"] == "random":
        idx = np.sort(np.random.default_rng(acfg["seed"]).permutation(len(images))[:n])
    else:
        idx = np.arange(n)
    labels = images.labels[idx]
    record = {
        "dataset": cfg["dataset"]["name"],
        "split": acfg["split"],
        "selection": acfg["selection"],
        "seed": acfg["seed"],
        "n_images": int(n),
        "classes": list(images.classes),
        "class_counts": np.bincount(labels, minlength=len(images.classes)).tolist(),
        "indices": images.indices[idx].tolist(),
        "labels": labels.tolist(),
    }
    artifacts.write_json(out_json, record)
    log.info(
        "selected %d %s images (%s, seed %d)", n, acfg["split"], acfg["selection"], acfg["seed"]
    )
    return record
