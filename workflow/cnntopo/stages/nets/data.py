"""Stage of ``rules/nets/data.smk``: the recorded set of analysed images."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import load_split

__all__ = ["select_eval_images"]

log = logging.getLogger("cnntopo")


def select_eval_images(
    out_json: str | Path,
    *,
    dataset: Mapping,
    split: str,
    n_images: int,
    selection: str,
    seed: int,
) -> dict:
    """Choose the fixed, recorded set of images whose activations are analysed.

    ``selection = "random"`` takes the first ``n_images`` of a permutation drawn with
    ``np.random.default_rng(seed)``; ``"first"`` takes the split's first ``n_images``.
    The paper used one shuffled batch of 1000 CIFAR-10 test images (docs/methods.md §1).

    Parameters
    ----------
    out_json : path-like
        Output: the record (dataset, split, selection, seed, classes, class counts, and
        the ``indices`` and ``labels`` of the images, in index order).
    dataset : mapping
        The dataset's ``name``, ``root`` and ``download`` (config section ``dataset``).
    split : {"train", "test"}
        ``activations.split``.
    n_images : int
        ``activations.n_images``; at most the size of the split.
    selection : {"random", "first"}
        ``activations.selection``.
    seed : int
        Seed of the random selection (``activations.seed``).

    Returns
    -------
    dict
        The record written to ``out_json``.
    """
    images = load_split(dataset, split)
    if n_images > len(images):
        raise ValueError(
            f"config key 'activations.n_images' = {n_images} exceeds the {len(images)} images "
            f"of the {dataset['name']} {split} split; lower it"
        )
    if selection == "random":
        idx = np.sort(np.random.default_rng(seed).permutation(len(images))[:n_images])
    else:
        idx = np.arange(n_images)
    labels = images.labels[idx]
    record = {
        "dataset": dataset["name"],
        "split": split,
        "selection": selection,
        "seed": seed,
        "n_images": int(n_images),
        "classes": list(images.classes),
        "class_counts": np.bincount(labels, minlength=len(images.classes)).tolist(),
        "indices": images.indices[idx].tolist(),
        "labels": labels.tolist(),
    }
    artifacts.write_json(out_json, record)
    log.info("selected %d %s images (%s, seed %d)", n_images, split, selection, seed)
    return record
