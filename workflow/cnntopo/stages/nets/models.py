"""The network stage: train or import one network from a recipe; and the models' summary.

Both branches make their networks with the one stage function :func:`make_network`: the
PH networks (``rules/nets/models.smk``, recipe :func:`ph_recipe`) and the Mapper network
(``rules/mapper/model.smk``, recipe :func:`cnntopo.stages.mapper.model.mapper_recipe`).
A :class:`NetworkRecipe` says everything that makes the network: architecture, dataset,
seed, device, and either the training recipe or the weights to import; the branches
differ only in the values they put into it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from cnntopo import artifacts
from cnntopo.stages.common.network import (
    NetworkRecipe,
    make_network,
    network_source,
    train_recipe,
)

__all__ = [
    "NetworkRecipe",
    "network_source",
    "make_network",
    "ph_recipe",
    "train_model",
    "import_checkpoint",
    "model_summary",
]

log = logging.getLogger("cnntopo")


def _recipe(training: Mapping):
    """The :class:`~cnntopo.nets.training.TrainRecipe` of the config section ``training``."""
    return train_recipe(_ph_training(training))


def _ph_training(training: Mapping) -> dict:
    """The recipe fields of the config section ``training`` (its device aside)."""
    t = dict(training)
    t.pop("device")
    t["mixed_precision"] = "auto" if t["mixed_precision"] else "off"
    t["channels_last"] = "on" if t["channels_last"] else "off"
    t["milestones"] = tuple(t["milestones"])
    return t


def ph_recipe(
    *,
    seed: int,
    dataset: Mapping,
    arch: str,
    width: int,
    kwargs: Mapping | None = None,
    training: Mapping | None = None,
    checkpoint: str | Path | None = None,
    pretrained: bool = False,
    device: str | None = None,
    eval_batch_size: int | None = None,
    tta: str | None = None,
) -> NetworkRecipe:
    """The recipe of one PH network, from the params of ``train_model`` / ``import_checkpoint``.

    Parameters
    ----------
    seed : int
        The ``{seed}`` wildcard (one of ``model.seeds``).
    dataset : mapping
        The config section ``dataset``.
    arch, width, kwargs
        ``model.arch``, ``model.width``, ``model.kwargs``.
    training : mapping, optional
        The config section ``training`` (the recipe and its ``device``): train.
        Without it the network is imported.
    checkpoint : path-like, optional
        Import: this seed's checkpoint (``model.checkpoint`` with ``{seed}`` filled in).
    pretrained : bool, default False
        Import: ``model.pretrained``, torchvision's default weights.
    device, eval_batch_size, tta
        Import: ``training.device``, ``training.eval_batch_size``, ``training.tta``.

    Returns
    -------
    NetworkRecipe
    """
    kwargs = dict(kwargs or {})
    if training is not None:
        settings = {"dataset": dataset, "arch": arch, "width": width}
        settings |= {"kwargs": kwargs, "training": training}
        return NetworkRecipe(
            arch=arch,
            width=width,
            dataset=dataset,
            seed=seed,
            device=training["device"],
            settings=settings,
            kwargs=kwargs,
            training=_ph_training(training),
            recorded_training=training,
        )
    checkpoint = None if pretrained or checkpoint is None else str(Path(checkpoint))
    source = network_source(arch, checkpoint, pretrained)
    settings = {"dataset": dataset, "arch": arch, "width": width, "source": source}
    settings |= {"kwargs": kwargs, "pretrained": pretrained}
    settings |= {"device": device, "eval_batch_size": eval_batch_size, "tta": tta}
    return NetworkRecipe(
        arch=arch,
        width=width,
        dataset=dataset,
        seed=seed,
        device=device,
        settings=settings,
        kwargs=kwargs,
        checkpoint=checkpoint,
        pretrained=pretrained,
        eval_batch_size=eval_batch_size,
        tta=tta,
    )


def train_model(
    weights: str | Path,
    metrics: str | Path,
    *,
    seed: int,
    dataset: Mapping,
    arch: str,
    width: int,
    kwargs: Mapping | None = None,
    training: Mapping,
    threads: int = 2,
) -> dict:
    """Train one PH network of the paper's recipe (docs/methods.md §2) with ``seed``.

    :func:`make_network` of :func:`ph_recipe` (parameters as there).

    Returns
    -------
    dict
        The metrics record.
    """
    recipe = ph_recipe(
        seed=seed, dataset=dataset, arch=arch, width=width, kwargs=kwargs, training=training
    )
    return make_network(recipe, weights, metrics, threads=threads)


def import_checkpoint(
    source: str | Path | None,
    weights: str | Path,
    metrics: str | Path,
    *,
    seed: int,
    dataset: Mapping,
    arch: str,
    width: int,
    kwargs: Mapping | None = None,
    pretrained: bool = False,
    device: str,
    eval_batch_size: int,
    tta: str,
    threads: int = 2,
) -> dict:
    """Use existing weights (e.g. the official code's ``final_weights.pt``) instead of training.

    :func:`make_network` of :func:`ph_recipe` with ``checkpoint=source`` (the other
    parameters as there; ``source`` None with ``pretrained``).

    Returns
    -------
    dict
        The metrics record.
    """
    recipe = ph_recipe(
        seed=seed,
        dataset=dataset,
        arch=arch,
        width=width,
        kwargs=kwargs,
        checkpoint=source,
        pretrained=pretrained,
        device=device,
        eval_batch_size=eval_batch_size,
        tta=tta,
    )
    return make_network(recipe, weights, metrics, threads=threads)


def model_summary(metric_files: Sequence[str | Path], out_csv: str | Path) -> None:
    """One row per model: seed, source, test accuracy, epochs, training time.

    Parameters
    ----------
    metric_files : sequence of path-like
        The metrics JSON of every network (of :func:`make_network`).
    out_csv : path-like
        Output: columns ``seed, source, arch, width, dataset, epochs, test_accuracy,
        test_loss, train_seconds, device, config_hash``, sorted by seed.
    """
    import pandas as pd

    columns = (
        "seed",
        "source",
        "arch",
        "width",
        "dataset",
        "epochs",
        "test_accuracy",
        "test_loss",
        "train_seconds",
        "device",
        "config_hash",
    )
    rows = []
    for f in metric_files:
        r = artifacts.read_json(f)
        rows.append({k: r.get(k) for k in columns})
    df = pd.DataFrame(rows).sort_values("seed")
    with artifacts.atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False)
