"""Stage of ``rules/nets/activations.smk``: activation shards of one network."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import dataset_normalization, load_split, setup_torch

__all__ = ["extract_activations"]

log = logging.getLogger("cnntopo")


def _recorded_images(dataset: Mapping, eval_set: str | Path):
    """The images recorded in ``eval_set``, checked against the dataset as it is now."""
    sel = artifacts.read_json(eval_set)
    images = load_split(dataset, sel["split"])
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
    return subset, len(images.classes)


def extract_activations(
    weights: str | Path,
    metrics: str | Path,
    eval_set: str | Path,
    *,
    out_dir: str | Path,
    seed: int,
    dataset: Mapping,
    arch: str,
    width: int,
    kwargs: Mapping | None = None,
    pretrained: bool = False,
    device: str,
    layers: Sequence[str],
    batch_size: int,
    dtype: str,
    max_batch_mb: float | None = None,
    threads: int = 2,
) -> dict:
    """Capture the outputs of ``layers`` for the recorded images (docs/methods.md §3).

    Parameters
    ----------
    weights : path-like
        The network's ``state_dict`` (of ``train_model`` or ``import_checkpoint``).
    metrics : path-like
        Its metrics JSON; its ``config_hash`` is recorded in the manifest.
    eval_set : path-like
        The recorded image set (of ``select_eval_images``).
    out_dir : path-like
        Output folder: one shard ``<layer>.npy`` of shape ``(N, *layer shape)`` per layer
        (``N`` recorded images, in the record's order) and ``manifest.json`` (layers,
        shapes, image indices and labels, the network's accuracy on them, the seed).
    seed : int
        The network's seed (the ``{seed}`` wildcard; recorded).
    dataset : mapping
        The config section ``dataset`` (``name``, ``root``, ``download``,
        ``image_size``, ``normalization``).
    arch : str
        ``model.arch``.
    width : int
        ``model.width``.
    kwargs : mapping
        ``model.kwargs``.
    pretrained : bool
        ``model.pretrained``: the weights are torchvision's, with their own classes.
    device : {"auto", "cpu", "cuda"}
        ``training.device``.
    layers : sequence of str
        The recorded layers (``activations.layers``, resolved).
    batch_size : int
        Images per forward pass (``activations.batch_size``).
    dtype : {"float32", "float16"}
        Shard dtype (``activations.dtype``).
    max_batch_mb : float, optional
        Bound on one batch's recorded activations (``activations.max_batch_mb``).
    threads : int, default 2
        Torch CPU threads.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    cnntopo.nets.activations.NonFiniteActivationsError
        The network gives NaN / inf activations (or float16 overflows them): the message
        names the seed, the weights file, every affected layer and its number of affected
        images; no shard is written.
    """
    torch = setup_torch(threads)
    from cnntopo.nets.activations import extract_activations as _extract
    from cnntopo.nets.devices import select_device
    from cnntopo.nets.models import build_model, load_state_dict_compat, pretrained_num_classes

    kwargs = dict(kwargs or {})
    subset, n_classes = _recorded_images(dataset, eval_set)
    if pretrained and "num_classes" not in kwargs:
        n_classes = pretrained_num_classes(arch)
    mean, std = dataset_normalization(dataset, arch)
    model = build_model(arch, width, n_classes, kwargs=kwargs)
    load_state_dict_compat(model, torch.load(weights, map_location="cpu", weights_only=True))
    meta = {
        "seed": int(seed),
        "weights": str(weights),
        "eval_set": str(eval_set),
        "config_hash": artifacts.read_json(metrics)["config_hash"],
        "arch": arch,
        "width": width,
        "kwargs": kwargs,
    }
    manifest = _extract(
        model,
        subset,
        list(layers),
        out_dir,
        mean=mean,
        std=std,
        batch_size=batch_size,
        device=select_device(device),
        dtype=dtype,
        image_size=dataset.get("image_size", 32),
        max_batch_mb=max_batch_mb,
        extra_meta=meta,
        log=log.info,
    )
    log.info(
        "seed %d: wrote %d activation shards for %d images to %s",
        seed,
        len(layers),
        len(subset),
        out_dir,
    )
    return manifest
