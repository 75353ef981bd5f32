"""Stages of ``rules/mapper/model.smk``: train or import the Mapper network."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

from cnntopo.stages.nets.models import import_checkpoint, train_model

__all__ = ["mapper_view", "train_mapper_model", "import_mapper_model"]

log = logging.getLogger("cnntopo")


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

    view = mapper_view(cfg)
    return train_model(view, view["model"]["seeds"][0], weights, metrics, threads=threads)


def import_mapper_model(
    cfg: dict, source: str | Path, weights: str | Path, metrics: str | Path, threads: int = 2
) -> dict:
    """Use existing Mapper-network weights (e.g. the official Catalyst ``best.pth``)."""

    view = mapper_view(cfg)
    return import_checkpoint(
        view, view["model"]["seeds"][0], source, weights, metrics, threads=threads
    )
