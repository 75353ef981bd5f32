"""Helpers shared by the stage modules: torch threads, dataset splits, normalisation, model records."""

from __future__ import annotations

import json
import logging
import platform
import socket
import time
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


def dataset_normalization(cfg: dict) -> tuple[tuple[float, ...], tuple[float, ...]]:
    from cnntopo.nets.transforms import normalization

    norm = cfg["dataset"]["normalization"]
    if norm is not None:
        return tuple(norm["mean"]), tuple(norm["std"])
    return normalization(cfg["dataset"]["name"])


def load_split(cfg: dict, split: str):
    from cnntopo.nets.datasets import load_dataset

    ds = cfg["dataset"]
    return load_dataset(ds["name"], split, root=ds["root"], download=ds["download"])


def provenance() -> dict:
    import torch

    return {
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def model_config_hash(cfg: dict) -> str:
    """Hash of everything that determines a trained model (dataset, model, training)."""
    return config_hash({k: cfg[k] for k in ("dataset", "model", "training")})


def save_weights(model, path: str | Path) -> None:
    import torch

    with artifacts.atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)


def model_record(cfg, seed, *, source, accuracy, loss, device, t0, **extra) -> dict:
    """The metrics JSON of one model (trained or imported): accuracy, seed, hashes, provenance."""
    return {
        "source": source,
        "seed": int(seed),
        "arch": cfg["model"]["arch"],
        "width": cfg["model"]["width"],
        "dataset": cfg["dataset"]["name"],
        "test_accuracy": accuracy,
        "test_loss": loss,
        "tta": cfg["training"]["tta"],
        "wall_seconds": time.perf_counter() - t0,
        "device": str(device),
        "config_hash": model_config_hash(cfg),
        **extra,
        "provenance": provenance(),
    }


def load_mapper_images(cfg: dict, images_npz: str | Path):

    with np.load(images_npz, allow_pickle=False) as z:
        indices = z["indices"]
        classes = [str(c) for c in z["classes"]]
    data = load_split(cfg, cfg["mapper"]["images"]["split"])
    return data.subset(indices), classes


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
