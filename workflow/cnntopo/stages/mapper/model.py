"""Stages of ``rules/mapper/model.smk``: train or import the Mapper network.

The Mapper network is the option-B ResNet-18 (:data:`ARCH`, the default of
``mapper.model.arch``; any network of :func:`cnntopo.nets.models.build_model` can take
its place) trained with the Catalyst recipe of the official ``cifar_train.py``
(docs/methods.md §10): the values of the config section ``mapper.training``, completed by
:data:`CATALYST_FIXED`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path

from cnntopo import artifacts
from cnntopo.nets.layers import MAPPER_ARCH
from cnntopo.stages.common import (
    dataset_normalization,
    load_split,
    model_record,
    save_weights,
    setup_torch,
)

__all__ = [
    "ARCH",
    "CATALYST_FIXED",
    "EVAL_BATCH_SIZE",
    "catalyst_recipe",
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
    """Train the Mapper network on the train split; write its weights and a metrics JSON.

    Parameters
    ----------
    weights, metrics : path-like
        Outputs: the ``state_dict`` (``.pt``) and the metrics JSON (test accuracy and
        loss of the kept epoch, history, the recipe, provenance).
    dataset : mapping
        The config section ``dataset``.
    width : int
        Stem channels (``mapper.model.width``).
    seed : int
        Seed of the initial weights, data order and augmentation (``mapper.model.seed``).
    training : mapping
        The config section ``mapper.training`` (see :func:`catalyst_recipe`).
    arch : str, default :data:`ARCH`
        ``mapper.model.arch`` (any form of :func:`cnntopo.nets.models.build_model`).
    kwargs : mapping, optional
        ``mapper.model.kwargs`` (builder arguments; ``num_classes`` overrides the
        dataset's).
    threads : int, default 2
        Torch CPU threads.

    Returns
    -------
    dict
        The metrics record.
    """
    t0 = time.perf_counter()
    setup_torch(threads)
    from cnntopo.nets.devices import select_device
    from cnntopo.nets.models import init_model
    from cnntopo.nets.training import train_model

    train_set = load_split(dataset, "train")
    test_set = load_split(dataset, "test")
    mean, std = dataset_normalization(dataset, arch)
    device = select_device(training["device"])
    model = init_model(arch, width, len(train_set.classes), seed, kwargs=kwargs)
    log.info(
        "training %s width %d, seed %d, on %s of the %d %s train images (device %s, %d threads)",
        arch,
        width,
        seed,
        training["max_train_images"] or "all",
        len(train_set),
        dataset["name"],
        device,
        threads,
    )
    recipe = catalyst_recipe(training)
    result = train_model(
        model,
        train_set,
        test_set,
        recipe,
        seed=seed,
        mean=mean,
        std=std,
        device=device,
        image_size=dataset.get("image_size", 32),
        log=log.info,
    )
    save_weights(model, weights)
    recorded = {**_recipe_values(training), "device": training["device"]}
    record = model_record(
        seed=seed,
        arch=arch,
        width=width,
        dataset=dataset["name"],
        tta=recipe.tta,
        settings=_settings(dataset, arch, width, seed, kwargs, training=recorded),
        source="trained",
        accuracy=result["test_acc"],
        loss=result["test_loss"],
        device=device,
        t0=t0,
        epochs=recipe.epochs,
        n_train_images=result["n_train_images"],
        train_seconds=result["train_seconds"],
        threads=threads,
        training=recorded,
        keep=result["keep"],
        kept_epoch=result["kept_epoch"],
        final_test_accuracy=result["final_test_acc"],
        history=result["history"],
    )
    artifacts.write_json(metrics, record)
    log.info(
        "seed %d: test accuracy %.4f after %d epochs (%.1f s)",
        seed,
        result["test_acc"],
        recipe.epochs,
        record["wall_seconds"],
    )
    return record


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
    """Use existing Mapper-network weights (e.g. the official Catalyst ``best.pth``).

    The checkpoint is loaded into the network (a mismatch is an error that names the
    cause), or torchvision's weights with ``pretrained``, evaluated on the test split
    without test-time augmentation, and re-saved with the same metrics JSON as
    :func:`train_mapper_model` (``source`` = the checkpoint path, no history).

    Parameters
    ----------
    source : path-like or None
        The checkpoint (``mapper.model.checkpoint``); None with ``pretrained``.
    weights, metrics : path-like
        Outputs, as :func:`train_mapper_model`'s.
    dataset : mapping
        The config section ``dataset``.
    width : int
        Stem channels of the checkpoint's network (``mapper.model.width``).
    seed : int
        Recorded as the network's seed (``mapper.model.seed``).
    device : {"auto", "cpu", "cuda"}
        Device of the evaluation (``mapper.training.device``).
    arch : str, default :data:`ARCH`
        ``mapper.model.arch``.
    kwargs : mapping, optional
        ``mapper.model.kwargs``.
    pretrained : bool, default False
        ``mapper.model.pretrained``: torchvision's weights (torchvision networks).
    threads : int, default 2
        Torch CPU threads.

    Returns
    -------
    dict
        The metrics record.
    """
    t0 = time.perf_counter()
    setup_torch(threads)
    from cnntopo.nets.devices import select_device
    from cnntopo.nets.models import build_model, load_state_dict_compat
    from cnntopo.nets.training import evaluate

    test_set = load_split(dataset, "test")
    mean, std = dataset_normalization(dataset, arch)
    dev = select_device(device)
    model = build_model(arch, width, len(test_set.classes), kwargs=kwargs, pretrained=pretrained)
    if pretrained:
        source = f"{arch} pretrained (torchvision's default weights)"
    else:
        load_state_dict_compat(model, source)
    model.to(dev)
    ev = evaluate(
        model,
        test_set,
        mean=mean,
        std=std,
        batch_size=EVAL_BATCH_SIZE,
        device=dev,
        tta="none",
        image_size=dataset.get("image_size", 32),
    )
    save_weights(model.cpu(), weights)
    rest = {"pretrained": True} if pretrained else {}
    record = model_record(
        seed=seed,
        arch=arch,
        width=width,
        dataset=dataset["name"],
        tta="none",
        settings=_settings(
            dataset, arch, width, seed, kwargs, device=device, source=str(source), **rest
        ),
        source=str(source),
        accuracy=ev["accuracy"],
        loss=ev["loss"],
        device=dev,
        t0=t0,
        epochs=None,
        history=[],
    )
    artifacts.write_json(metrics, record)
    return record
