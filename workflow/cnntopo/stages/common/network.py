"""The one network stage: train or import one network from a :class:`NetworkRecipe`.

Shared by both branches' stage modules (:mod:`cnntopo.stages.nets.models` for the PH
networks, :mod:`cnntopo.stages.mapper.model` for the Mapper network): they build their
recipe from their rule's params and call :func:`make_network`; a recipe says everything
that makes the network (architecture, dataset, seed, device, and either the training
recipe or the weights to import).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnntopo import artifacts
from cnntopo.stages.common import (
    dataset_normalization,
    load_split,
    model_record,
    save_weights,
    setup_torch,
)

__all__ = ["NetworkRecipe", "network_source", "make_network", "train_recipe"]

log = logging.getLogger("cnntopo")


def network_source(arch: str, checkpoint: str | None, pretrained: bool) -> str:
    """The ``source`` of a network's record: ``"trained"``, the checkpoint or the weights.

    Parameters
    ----------
    arch : str
        ``model.arch``.
    checkpoint : str or None
        The imported checkpoint; None = trained (or ``pretrained``).
    pretrained : bool
        torchvision's default weights.

    Returns
    -------
    str
    """
    if pretrained:
        return f"{arch} pretrained (torchvision's default weights)"
    return "trained" if checkpoint is None else str(checkpoint)


@dataclass(frozen=True)
class NetworkRecipe:
    """Everything that makes one network, trained or imported (:func:`make_network`).

    Attributes
    ----------
    arch : str
        ``model.arch`` (any form of :func:`cnntopo.nets.factories.build_model`).
    width : int
        Stem channels (built-in networks).
    dataset : mapping
        The config section ``dataset`` (``name``, ``root``, ``download``,
        ``image_size``, ``normalization``).
    seed : int
        Seed of the initial weights, data order and augmentation (recorded for an
        imported network).
    device : {"auto", "cpu", "cuda"}
        Device of the training or evaluation.
    settings : mapping
        What determines the network, hashed into the record's ``config_hash`` (each
        branch keeps its own, so hashes stay those of earlier versions).
    kwargs : mapping
        ``model.kwargs``: extra builder arguments (``num_classes`` overrides the
        dataset's).
    training : mapping or None
        The fields of :class:`cnntopo.nets.training.TrainRecipe`; None = import.
    recorded_training : mapping or None
        The record's ``training`` entry (the config section as the job received it).
    checkpoint : str or None
        Weights to import (a path); None with ``pretrained`` or ``training``.
    pretrained : bool
        Import torchvision's default weights.
    eval_batch_size : int
        Images per evaluation batch of an imported network.
    tta : {"none", "flip", "paper"}
        Test-time augmentation of an imported network's recorded accuracy.
    section : str
        The config section of the network (``"model"`` or ``"mapper.model"``), named
        in error messages.
    """

    arch: str
    width: int
    dataset: Mapping[str, Any]
    seed: int
    device: str
    settings: Mapping[str, Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] | None = None
    recorded_training: Mapping[str, Any] | None = None
    checkpoint: str | None = None
    pretrained: bool = False
    eval_batch_size: int = 1000
    tta: str = "none"
    section: str = "model"

    def __post_init__(self) -> None:
        if self.training is not None and (self.checkpoint is not None or self.pretrained):
            raise ValueError(
                f"a network is trained or imported, not both: {self.section}.checkpoint / "
                f"{self.section}.pretrained are set together with a training recipe"
            )
        if self.training is None and self.checkpoint is None and not self.pretrained:
            raise ValueError(
                f"nothing to import: set {self.section}.checkpoint (or {self.section}.pretrained "
                "for torchvision networks), or give a training recipe"
            )

    @property
    def trains(self) -> bool:
        """Whether the network is trained (else imported)."""
        return self.training is not None

    @property
    def source(self) -> str:
        """The record's ``source`` (:func:`network_source`)."""
        return network_source(self.arch, self.checkpoint, self.pretrained)


def train_recipe(training: Mapping):
    from cnntopo.nets.training import TrainRecipe

    return TrainRecipe.from_dict(training)


def make_network(
    recipe: NetworkRecipe, weights: str | Path, metrics: str | Path, *, threads: int = 2
) -> dict:
    """Train or import one network; write its weights and its metrics JSON.

    Trained: initial weights from ``recipe.seed`` (:func:`cnntopo.nets.factories.init_model`),
    trained on the train split with ``recipe.training``
    (:func:`cnntopo.nets.training.train_model`). Imported: the checkpoint (or
    torchvision's weights) loaded into the architecture (a mismatch is an error that
    names the cause) and evaluated on the test split. Either way the weights are saved
    and the record has the same fields (an imported network has ``epochs`` None and no
    history).

    Parameters
    ----------
    recipe : NetworkRecipe
        The network.
    weights : path-like
        Output: the ``state_dict`` (``.pt``).
    metrics : path-like
        Output: the metrics JSON (test accuracy and loss, seed, epochs, history, wall
        time, ``config_hash`` of ``recipe.settings``, provenance).
    threads : int, default 2
        Torch CPU threads.

    Returns
    -------
    dict
        The metrics record.

    Raises
    ------
    FileNotFoundError
        The checkpoint to import does not exist (the message names the config key).
    """
    t0 = time.perf_counter()
    setup_torch(threads)
    from cnntopo.nets.devices import select_device

    dataset = recipe.dataset
    if not recipe.trains and not recipe.pretrained and not Path(recipe.checkpoint).exists():
        raise FileNotFoundError(
            f"checkpoint for seed {recipe.seed} not found at {recipe.checkpoint} (from config "
            f"key '{recipe.section}.checkpoint'); fix the path pattern or set "
            f"{recipe.section}.checkpoint: null to train instead"
        )
    if recipe.trains:
        train_set = load_split(dataset, "train")
    test_set = load_split(dataset, "test")
    mean, std = dataset_normalization(dataset, recipe.arch)
    device = select_device(recipe.device)
    common = {"seed": recipe.seed, "arch": recipe.arch, "width": recipe.width}
    common |= {"dataset": dataset["name"], "settings": recipe.settings, "source": recipe.source}
    if recipe.trains:
        record = _train(
            recipe, train_set, test_set, mean, std, device, weights, threads, t0, common
        )
    else:
        record = _import(recipe, test_set, mean, std, device, weights, t0, common)
    artifacts.write_json(metrics, record)
    if recipe.trains:
        log.info(
            "seed %d: test accuracy %.4f after %d epochs (%.1f s)",
            recipe.seed,
            record["test_accuracy"],
            record["epochs"],
            record["wall_seconds"],
        )
    return record


def _train(recipe, train_set, test_set, mean, std, device, weights, threads, t0, common) -> dict:
    """Train ``recipe``'s network, save it, return its record."""
    from cnntopo.nets.factories import init_model
    from cnntopo.nets.training import train_model as _train_loop

    train = train_recipe(recipe.training)
    model = init_model(
        recipe.arch, recipe.width, len(train_set.classes), recipe.seed, kwargs=recipe.kwargs
    )
    log.info(
        "training %s width %d, seed %d, on %s of the %d %s train images (device %s, %d threads)",
        recipe.arch,
        recipe.width,
        recipe.seed,
        train.max_train_images or "all",
        len(train_set),
        recipe.dataset["name"],
        device,
        threads,
    )
    result = _train_loop(
        model,
        train_set,
        test_set,
        train,
        seed=recipe.seed,
        mean=mean,
        std=std,
        device=device,
        image_size=recipe.dataset.get("image_size", 32),
        log=log.info,
    )
    save_weights(model, weights)
    return model_record(
        **common,
        tta=train.tta,
        accuracy=result["test_acc"],
        loss=result["test_loss"],
        device=device,
        t0=t0,
        epochs=train.epochs,
        n_train_images=result["n_train_images"],
        train_seconds=result["train_seconds"],
        threads=threads,
        training=recipe.recorded_training,
        keep=result.get("keep", "final"),
        kept_epoch=result.get("kept_epoch"),
        final_test_accuracy=result.get("final_test_acc"),
        history=result["history"],
    )


def _import(recipe, test_set, mean, std, device, weights, t0, common) -> dict:
    """Load ``recipe``'s weights, evaluate and save them, return the record."""
    from cnntopo.nets.checkpoints import load_state_dict_compat
    from cnntopo.nets.factories import build_model
    from cnntopo.nets.training import evaluate

    model = build_model(
        recipe.arch,
        recipe.width,
        len(test_set.classes),
        kwargs=recipe.kwargs,
        pretrained=recipe.pretrained,
    )
    if not recipe.pretrained:
        load_state_dict_compat(model, recipe.checkpoint)
    model.to(device)
    ev = evaluate(
        model,
        test_set,
        mean=mean,
        std=std,
        batch_size=recipe.eval_batch_size,
        device=device,
        tta=recipe.tta,
        image_size=recipe.dataset.get("image_size", 32),
    )
    save_weights(model.cpu(), weights)
    return model_record(
        **common,
        tta=recipe.tta,
        accuracy=ev["accuracy"],
        loss=ev["loss"],
        device=device,
        t0=t0,
        epochs=None,
        history=[],
    )
