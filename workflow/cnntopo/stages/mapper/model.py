"""The Mapper branch's network recipe (``rules/mapper/model.smk``): train or import it.

The network is made by the one network stage,
:func:`cnntopo.stages.nets.models.make_network`, from :func:`mapper_recipe`. The Mapper
network is the option-B ResNet-18 (:data:`ARCH`, the default of
``mapper.model.arch``; any network of :func:`cnntopo.nets.models.build_model` can take
its place) trained with the Catalyst recipe of the official ``cifar_train.py``
(docs/methods.md §10): the values of the config section ``mapper.training``, completed by
:data:`CATALYST_FIXED`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from cnntopo.nets.layer_config import MAPPER_ARCH
from cnntopo.stages.common.network import NetworkRecipe, make_network, network_source

__all__ = [
    "ARCH",
    "CATALYST_FIXED",
    "EVAL_BATCH_SIZE",
    "catalyst_recipe",
    "mapper_recipe",
    "train_mapper_model",
    "import_mapper_model",
]

log = logging.getLogger("cnntopo")

#: The Mapper network's default architecture (:func:`cnntopo.nets.models.build_model`).
ARCH = MAPPER_ARCH

#: Images per evaluation batch (the test accuracy does not depend on it).
EVAL_BATCH_SIZE = 1000

#: The recipe fields the Catalyst recipe fixes and ``mapper.training`` does not set: plain
#: SGD momentum, no label smoothing, no test-time augmentation, an evaluation after every
#: epoch (which ``keep: best_loss`` needs anyway). The memory format is
#: ``mapper.training.channels_last`` (a speed setting: the official run used NCHW).
CATALYST_FIXED: dict = {
    "nesterov": False,
    "label_smoothing": 0.0,
    "eval_batch_size": EVAL_BATCH_SIZE,
    "tta": "none",
    "eval_every": 1,
}


def _recipe_values(training: Mapping) -> dict:
    """:data:`CATALYST_FIXED` completed by the section ``mapper.training`` (device aside)."""
    return {**CATALYST_FIXED, **{k: v for k, v in training.items() if k != "device"}}


def catalyst_recipe(training: Mapping):
    """The Mapper network's :class:`~cnntopo.nets.training.TrainRecipe`.

    Parameters
    ----------
    training : mapping
        The config section ``mapper.training`` (its ``device`` is not a recipe field).
        ``mixed_precision: true`` means fp16 on CUDA only, as the recipe's ``"auto"``.

    Returns
    -------
    cnntopo.nets.training.TrainRecipe
    """
    from cnntopo.nets.training import TrainRecipe

    return TrainRecipe.from_dict(_recipe_values(training))


def _settings(
    dataset: Mapping, arch: str, width: int, seed: int, kwargs: Mapping | None, **rest
) -> dict:
    """What determines the network (hashed into the metrics' ``config_hash``)."""
    model = {"arch": arch, "width": width, "seed": seed}
    if kwargs:  # the default network's hash stays that of earlier versions
        model["kwargs"] = dict(kwargs)
    return {"dataset": dict(dataset), "model": model, **rest}


def mapper_recipe(
    *,
    dataset: Mapping,
    width: int,
    seed: int,
    arch: str = ARCH,
    kwargs: Mapping | None = None,
    training: Mapping | None = None,
    checkpoint: str | Path | None = None,
    pretrained: bool = False,
    device: str | None = None,
) -> NetworkRecipe:
    """The Mapper network's recipe, from the params of ``train_mapper_model`` / ``import_mapper_model``.

    Parameters
    ----------
    dataset : mapping
        The config section ``dataset``.
    width : int
        Stem channels (``mapper.model.width``).
    seed : int
        Seed of the initial weights, data order and augmentation (``mapper.model.seed``);
        recorded for an imported network.
    arch : str, default :data:`ARCH`
        ``mapper.model.arch`` (any form of :func:`cnntopo.nets.factories.build_model`).
    kwargs : mapping, optional
        ``mapper.model.kwargs`` (builder arguments; ``num_classes`` overrides the
        dataset's).
    training : mapping, optional
        The config section ``mapper.training`` (see :func:`catalyst_recipe`): train.
        Without it the network is imported, evaluated without test-time augmentation.
    checkpoint : path-like, optional
        Import: ``mapper.model.checkpoint`` (e.g. the official Catalyst ``best.pth``).
    pretrained : bool, default False
        Import: ``mapper.model.pretrained``, torchvision's weights.
    device : {"auto", "cpu", "cuda"}, optional
        Import: the evaluation's device (``mapper.training.device``).

    Returns
    -------
    cnntopo.stages.nets.models.NetworkRecipe
    """
    common = {"arch": arch, "width": width, "dataset": dataset, "seed": seed}
    common |= {"kwargs": dict(kwargs or {}), "section": "mapper.model"}
    if training is not None:
        values = _recipe_values(training)
        recorded = {**values, "device": training["device"]}
        return NetworkRecipe(
            **common,
            device=training["device"],
            settings=_settings(dataset, arch, width, seed, kwargs, training=recorded),
            training=values,
            recorded_training=recorded,
        )
    checkpoint = None if pretrained or checkpoint is None else str(checkpoint)
    rest = {"pretrained": True} if pretrained else {}
    source = network_source(arch, checkpoint, pretrained)
    return NetworkRecipe(
        **common,
        device=device,
        settings=_settings(
            dataset, arch, width, seed, kwargs, device=device, source=source, **rest
        ),
        checkpoint=checkpoint,
        pretrained=pretrained,
        eval_batch_size=EVAL_BATCH_SIZE,
        tta="none",
    )


def train_mapper_model(
    weights: str | Path,
    metrics: str | Path,
    *,
    dataset: Mapping,
    width: int,
    seed: int,
    training: Mapping,
    arch: str = ARCH,
    kwargs: Mapping | None = None,
    threads: int = 2,
) -> dict:
    """Train the Mapper network: :func:`make_network` of :func:`mapper_recipe`.

    Parameters as :func:`mapper_recipe`'s; ``weights`` and ``metrics`` are the outputs
    (the ``state_dict`` and the metrics JSON: test accuracy and loss of the kept epoch,
    history, the recipe, provenance), ``threads`` the torch CPU threads.

    Returns
    -------
    dict
        The metrics record.
    """
    recipe = mapper_recipe(
        dataset=dataset, width=width, seed=seed, arch=arch, kwargs=kwargs, training=training
    )
    return make_network(recipe, weights, metrics, threads=threads)


def import_mapper_model(
    source: str | Path | None,
    weights: str | Path,
    metrics: str | Path,
    *,
    dataset: Mapping,
    width: int,
    seed: int,
    device: str,
    arch: str = ARCH,
    kwargs: Mapping | None = None,
    pretrained: bool = False,
    threads: int = 2,
) -> dict:
    """Use existing Mapper-network weights: :func:`make_network` of :func:`mapper_recipe`.

    ``source`` is the checkpoint (``mapper.model.checkpoint``; None with ``pretrained``),
    the other parameters as :func:`mapper_recipe`'s and :func:`train_mapper_model`'s.

    Returns
    -------
    dict
        The metrics record (``source`` = the checkpoint path, no history).
    """
    recipe = mapper_recipe(
        dataset=dataset,
        width=width,
        seed=seed,
        arch=arch,
        kwargs=kwargs,
        checkpoint=source,
        pretrained=pretrained,
        device=device,
    )
    return make_network(recipe, weights, metrics, threads=threads)
