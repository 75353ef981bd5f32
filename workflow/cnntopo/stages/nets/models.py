"""Stages of ``rules/nets/models.smk``: train or import the PH networks, and their summary."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from cnntopo import artifacts
from cnntopo.stages.common import (
    dataset_normalization,
    load_split,
    model_record,
    save_weights,
    setup_torch,
)

__all__ = ["train_model", "import_checkpoint", "model_summary"]

log = logging.getLogger("cnntopo")


def _recipe(training: Mapping):
    """The :class:`~cnntopo.nets.training.TrainRecipe` of the config section ``training``."""
    from cnntopo.nets.training import TrainRecipe

    t = dict(training)
    t.pop("device")
    t["mixed_precision"] = "auto" if t["mixed_precision"] else "off"
    t["channels_last"] = "on" if t["channels_last"] else "off"
    t["milestones"] = tuple(t["milestones"])
    return TrainRecipe.from_dict(t)


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
    """Train one network of the paper's recipe (docs/methods.md §2) with ``seed``.

    Parameters
    ----------
    weights : path-like
        Output: the trained ``state_dict`` (``.pt``).
    metrics : path-like
        Output: the metrics JSON (test accuracy and loss, the seed, epochs, per-epoch
        history, wall time, the recipe, the hash of the settings below as
        ``config_hash``, and provenance).
    seed : int
        Seed of the initial weights, data order and augmentation (the ``{seed}``
        wildcard, one of ``model.seeds``).
    dataset : mapping
        The config section ``dataset`` (``name``, ``root``, ``download``,
        ``image_size``, ``normalization``).
    arch : str
        ``model.arch``.
    width : int
        ``model.width`` (built-in networks only).
    kwargs : mapping
        ``model.kwargs``: extra keyword arguments of the network's builder.
    training : mapping
        The config section ``training`` (the recipe and its ``device``).
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
    from cnntopo.nets.training import train_model as _train

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
    result = _train(
        model,
        train_set,
        test_set,
        _recipe(training),
        seed=seed,
        mean=mean,
        std=std,
        device=device,
        image_size=dataset.get("image_size", 32),
        log=log.info,
    )
    save_weights(model, weights)
    record = model_record(
        seed=seed,
        arch=arch,
        width=width,
        dataset=dataset["name"],
        tta=training["tta"],
        settings={
            "dataset": dataset,
            "arch": arch,
            "width": width,
            "kwargs": dict(kwargs or {}),
            "training": training,
        },
        source="trained",
        accuracy=result["test_acc"],
        loss=result["test_loss"],
        device=device,
        t0=t0,
        epochs=training["epochs"],
        n_train_images=result["n_train_images"],
        train_seconds=result["train_seconds"],
        threads=threads,
        training=training,
        keep=result.get("keep", "final"),
        kept_epoch=result.get("kept_epoch"),
        final_test_accuracy=result.get("final_test_acc"),
        history=result["history"],
    )
    artifacts.write_json(metrics, record)
    log.info(
        "seed %d: test accuracy %.4f after %d epochs (%.1f s)",
        seed,
        result["test_acc"],
        training["epochs"],
        record["wall_seconds"],
    )
    return record


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

    The checkpoint (or torchvision's pretrained weights) is loaded into the configured
    architecture (a mismatch is an error that names the cause), evaluated on the test
    split, and re-saved with the same metrics JSON as :func:`train_model` (``source`` =
    the checkpoint path or ``torchvision:<weights>``, no history).

    Parameters
    ----------
    source : path-like or None
        The checkpoint of this seed (``model.checkpoint`` with ``{seed}`` filled in);
        None with ``pretrained``.
    weights, metrics : path-like
        Outputs, as :func:`train_model`'s.
    seed : int
        The ``{seed}`` wildcard (recorded).
    dataset : mapping
        The config section ``dataset``.
    arch : str
        ``model.arch``.
    width : int
        ``model.width`` (must be the checkpoint's; built-in networks only).
    kwargs : mapping
        ``model.kwargs``.
    pretrained : bool
        ``model.pretrained``: torchvision's default weights instead of ``source``.
    device : {"auto", "cpu", "cuda"}
        Device of the evaluation (``training.device``).
    eval_batch_size : int
        ``training.eval_batch_size``.
    tta : {"none", "flip", "paper"}
        Test-time augmentation of the recorded accuracy (``training.tta``).
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

    if not pretrained:
        source = Path(source)
        if not source.exists():
            raise FileNotFoundError(
                f"checkpoint for seed {seed} not found at {source} (from config key "
                "'model.checkpoint'); fix the path pattern or set model.checkpoint: null to "
                "train instead"
            )
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
        batch_size=eval_batch_size,
        device=dev,
        tta=tta,
        image_size=dataset.get("image_size", 32),
    )
    save_weights(model.cpu(), weights)
    settings = {"dataset": dataset, "arch": arch, "width": width, "source": str(source)}
    settings |= {"kwargs": dict(kwargs or {}), "pretrained": pretrained}
    settings |= {"device": device, "eval_batch_size": eval_batch_size, "tta": tta}
    record = model_record(
        seed=seed,
        arch=arch,
        width=width,
        dataset=dataset["name"],
        tta=tta,
        settings=settings,
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


def model_summary(metric_files: Sequence[str | Path], out_csv: str | Path) -> None:
    """One row per model: seed, source, test accuracy, epochs, training time.

    Parameters
    ----------
    metric_files : sequence of path-like
        The metrics JSON of every network (of :func:`train_model` or
        :func:`import_checkpoint`).
    out_csv : path-like
        Output: columns ``seed, source, arch, width, dataset, epochs, test_accuracy,
        test_loss, train_seconds, device, config_hash``, sorted by seed.
    """
    import pandas as pd

    rows = []
    for f in metric_files:
        r = artifacts.read_json(f)
        rows.append(
            {
                k: r.get(k)
                for k in (
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
            }
        )
    df = pd.DataFrame(rows).sort_values("seed")
    with artifacts.atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False)
