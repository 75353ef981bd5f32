"""Helpers shared by the stage modules: torch threads, dataset splits, normalisation, model records."""

from __future__ import annotations

import json
import logging
import platform
import socket
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.config import config_hash

__all__ = [
    "setup_torch",
    "dataset_normalization",
    "load_split",
    "provenance",
    "model_config_hash",
    "save_weights",
    "model_record",
    "load_mapper_images",
    "write_cross",
    "load_cross",
    "load_points",
]

log = logging.getLogger("cnntopo")


def setup_torch(threads: int):
    import torch

    torch.set_num_threads(max(1, int(threads)))
    return torch


def dataset_normalization(dataset: Mapping) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) of a dataset: the config's ``normalization`` or the dataset's own.

    Parameters
    ----------
    dataset : mapping
        The config section ``dataset`` (or the keys ``name`` and ``normalization`` of it).
    """
    from cnntopo.nets.transforms import normalization

    norm = dataset["normalization"]
    if norm is not None:
        return tuple(norm["mean"]), tuple(norm["std"])
    return normalization(dataset["name"])


def load_split(dataset: Mapping, split: str):
    """One split of the configured dataset (keys ``name``, ``root``, ``download``)."""
    from cnntopo.nets.datasets import load_dataset

    return load_dataset(dataset["name"], split, root=dataset["root"], download=dataset["download"])


def provenance() -> dict:
    import torch

    return {
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def model_config_hash(settings: Mapping) -> str:
    """Hash of the settings that determine a trained model (as passed to its job)."""
    return config_hash(dict(settings))


def save_weights(model, path: str | Path) -> None:
    import torch

    with artifacts.atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)


def model_record(
    *, seed, arch, width, dataset, tta, settings, source, accuracy, loss, device, t0, **extra
) -> dict:
    """The metrics JSON of one model (trained or imported): accuracy, seed, hashes, provenance.

    ``settings`` are the settings the job received (its hash is ``config_hash``).
    """
    return {
        "source": source,
        "seed": int(seed),
        "arch": arch,
        "width": width,
        "dataset": dataset,
        "test_accuracy": accuracy,
        "test_loss": loss,
        "tta": tta,
        "wall_seconds": time.perf_counter() - t0,
        "device": str(device),
        "config_hash": model_config_hash(settings),
        **extra,
        "provenance": provenance(),
    }


def load_mapper_images(dataset: Mapping, split: str, images_npz: str | Path):
    """The Mapper images recorded in ``images_npz`` (class-major), and the class names."""
    with np.load(images_npz, allow_pickle=False) as z:
        indices = z["indices"]
        classes = [str(c) for c in z["classes"]]
    return load_split(dataset, split).subset(indices), classes


def write_cross(out_npz, matrix, seeds, layers, meta) -> None:
    artifacts.write_npz(
        out_npz,
        matrix=matrix,
        seeds=np.asarray(seeds, dtype=np.int64),
        layers=np.array(list(layers)),
        meta=np.array(artifacts.json_dumps(meta)),
    )


def load_cross(path: str | Path) -> tuple[np.ndarray, list[int], list[str], dict]:
    """Read a cross-model matrix: (S*L, S*L) matrix (model-major), seeds, layers, metadata."""

    with np.load(path) as z:
        return (
            z["matrix"],
            [int(s) for s in z["seeds"]],
            [str(x) for x in z["layers"]],
            json.loads(str(z["meta"])),
        )


def load_points(path: str | Path) -> np.ndarray:
    with np.load(path) as z:
        return z["points"]
