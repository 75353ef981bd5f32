"""Stages of ``rules/nets/models.smk``: train or import the PH networks, and their summary."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
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


def _recipe(cfg: dict):
    from cnntopo.nets.training import TrainRecipe

    t = dict(cfg["training"])
    t.pop("device")
    t["mixed_precision"] = "auto" if t["mixed_precision"] else "off"
    t["channels_last"] = "auto" if t["channels_last"] else "off"
    t["milestones"] = tuple(t["milestones"])
    return TrainRecipe.from_dict(t)


def _model_fields(cfg: dict, seed: int) -> dict:
    """The model record's identity fields; its config_hash covers (dataset, model, training)."""
    return {
        "seed": seed,
        "arch": cfg["model"]["arch"],
        "width": cfg["model"]["width"],
        "dataset": cfg["dataset"]["name"],
        "tta": cfg["training"]["tta"],
        "settings": {k: cfg[k] for k in ("dataset", "model", "training")},
    }


def train_model(
    cfg: dict, seed: int, weights: str | Path, metrics: str | Path, threads: int = 2
) -> dict:
    """Train one network of the paper's recipe with ``seed``; write weights and a metrics JSON.

    The JSON records test accuracy, the seed, epochs, per-epoch history, wall time,
    the config hash of (dataset, model, training) and provenance.
    """
    t0 = time.perf_counter()
    setup_torch(threads)
    from cnntopo.nets.devices import select_device
    from cnntopo.nets.models import init_model
    from cnntopo.nets.training import train_model as _train

    train_set = load_split(cfg["dataset"], "train")
    test_set = load_split(cfg["dataset"], "test")
    mean, std = dataset_normalization(cfg["dataset"])
    device = select_device(cfg["training"]["device"])
    model = init_model(cfg["model"]["arch"], cfg["model"]["width"], len(train_set.classes), seed)
    log.info(
        "training %s width %d, seed %d, on %s of the %d %s train images (device %s, %d threads)",
        cfg["model"]["arch"],
        cfg["model"]["width"],
        seed,
        cfg["training"]["max_train_images"] or "all",
        len(train_set),
        cfg["dataset"]["name"],
        device,
        threads,
    )
    result = _train(
        model,
        train_set,
        test_set,
        _recipe(cfg),
        seed=seed,
        mean=mean,
        std=std,
        device=device,
        log=log.info,
    )
    save_weights(model, weights)
    record = model_record(
        **_model_fields(cfg, seed),
        source="trained",
        accuracy=result["test_acc"],
        loss=result["test_loss"],
        device=device,
        t0=t0,
        epochs=cfg["training"]["epochs"],
        n_train_images=result["n_train_images"],
        train_seconds=result["train_seconds"],
        threads=threads,
        training=cfg["training"],
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
        cfg["training"]["epochs"],
        record["wall_seconds"],
    )
    return record


def import_checkpoint(
    cfg: dict,
    seed: int,
    source: str | Path,
    weights: str | Path,
    metrics: str | Path,
    threads: int = 2,
) -> dict:
    """Use existing weights (e.g. the official code's ``final_weights.pt``) instead of training.

    The checkpoint is loaded into the configured architecture (a mismatch is an error
    that names the cause), evaluated on the test split, and re-saved with the same
    metrics JSON as :func:`train_model` (``source`` = the checkpoint path).
    """
    t0 = time.perf_counter()
    setup_torch(threads)
    from cnntopo.nets.devices import select_device
    from cnntopo.nets.models import build_model, load_state_dict_compat
    from cnntopo.nets.training import evaluate

    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(
            f"checkpoint for seed {seed} not found at {source} (from config key 'model.checkpoint'); "
            "fix the path pattern or set model.checkpoint: null to train instead"
        )
    test_set = load_split(cfg["dataset"], "test")
    mean, std = dataset_normalization(cfg["dataset"])
    device = select_device(cfg["training"]["device"])
    model = build_model(cfg["model"]["arch"], cfg["model"]["width"], len(test_set.classes))
    load_state_dict_compat(model, source)
    model.to(device)
    ev = evaluate(
        model,
        test_set,
        mean=mean,
        std=std,
        batch_size=cfg["training"]["eval_batch_size"],
        device=device,
        tta=cfg["training"]["tta"],
    )
    save_weights(model.cpu(), weights)
    record = model_record(
        **_model_fields(cfg, seed),
        source=str(source),
        accuracy=ev["accuracy"],
        loss=ev["loss"],
        device=device,
        t0=t0,
        epochs=None,
        history=[],
    )
    artifacts.write_json(metrics, record)
    return record


def model_summary(metric_files: Sequence[str | Path], out_csv: str | Path) -> None:
    """One row per model: seed, source, test accuracy, epochs, training time."""
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
