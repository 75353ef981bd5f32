"""Helpers shared by the stage modules: torch threads, dataset splits, normalisation, model
records, and the readers of the files one stage writes and another reads.

Stage modules import from here (and from the library), never from each other. Every
reader goes through :func:`cnntopo.artifacts.read_npz`, so a missing or broken file
fails with its path and the fix (delete it and rerun the workflow).
"""

from __future__ import annotations

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
    "load_matrix",
    "load_bootstrap",
    "load_features",
    "load_cloud_labels",
]

log = logging.getLogger("cnntopo")


def setup_torch(threads: int):
    """Import torch with ``threads`` CPU threads (at least one).

    Parameters
    ----------
    threads : int
        The job's threads (``snakemake.threads``).

    Returns
    -------
    module
        ``torch``.
    """
    import torch

    torch.set_num_threads(max(1, int(threads)))
    return torch


def dataset_normalization(
    dataset: Mapping, arch: str | None = None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel (mean, std) of the network input.

    The config's ``normalization`` if set; else ImageNet's statistics for torchvision
    networks (those of all torchvision weights), else the dataset's own.

    Parameters
    ----------
    dataset : mapping
        The config section ``dataset`` (or the keys ``name`` and ``normalization`` of it).
    arch : str, optional
        ``model.arch``.
    """
    from cnntopo.nets.transforms import NORMALIZATION, normalization

    norm = dataset["normalization"]
    if norm is not None:
        return tuple(norm["mean"]), tuple(norm["std"])
    if arch is not None and arch.startswith("torchvision:"):
        mean, std = NORMALIZATION["imagefolder"]  # ImageNet's
        return tuple(mean), tuple(std)
    return normalization(dataset["name"])


def load_split(dataset: Mapping, split: str):
    """One split of the configured dataset.

    Parameters
    ----------
    dataset : mapping
        The config section ``dataset`` (or its keys ``name``, ``root``, ``download``).
    split : {"train", "test"}

    Returns
    -------
    cnntopo.nets.datasets.ImageSet
    """
    from cnntopo.nets.datasets import load_dataset

    return load_dataset(
        dataset["name"],
        split,
        root=dataset["root"],
        download=dataset["download"],
        image_size=dataset.get("image_size", 32),
    )


def provenance() -> dict:
    """Host, Python, torch and numpy versions and the time (UTC) of a job."""
    import torch

    return {
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def model_config_hash(settings: Mapping) -> str:
    """Hash of the settings that determine a trained model (as passed to its job).

    Parameters
    ----------
    settings : mapping
        The job's settings (JSON-serialisable values).

    Returns
    -------
    str
        12 hex digits (:func:`cnntopo.config.config_hash`).
    """
    return config_hash(dict(settings))


def save_weights(model, path: str | Path) -> None:
    """Save ``model.state_dict()`` to ``path`` atomically, as deterministic bytes.

    Equal tensors give equal files, whatever the path: ``torch.save`` to a file names
    the zip archive's top folder after the file (here the random temporary name of
    the atomic write), so it is serialised into memory instead, where the folder is
    always ``archive/``, and the bytes are written with
    :func:`cnntopo.artifacts.write_bytes`. Read it back with ``torch.load``.

    Parameters
    ----------
    model : torch.nn.Module
    path : path-like
        Output ``.pt`` file.
    """
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(
        model.state_dict(),
        buffer,
        pickle_protocol=2,  # torch's DEFAULT_PROTOCOL, fixed here
        _use_new_zipfile_serialization=True,
    )
    artifacts.write_bytes(path, buffer.getvalue())


def model_record(
    *, seed, arch, width, dataset, tta, settings, source, accuracy, loss, device, t0, **extra
) -> dict:
    """The metrics JSON of one model (trained or imported): accuracy, seed, hashes, provenance.

    Parameters
    ----------
    seed : int
        The network's seed.
    arch : str
        Architecture name.
    width : int
        Stem channels.
    dataset : str
        Dataset name.
    tta : str
        Test-time augmentation of the recorded accuracy.
    settings : mapping
        The settings the job received; their hash is the record's ``config_hash``.
    source : str
        ``"trained"`` or the path of the imported checkpoint.
    accuracy, loss : float
        Test accuracy and loss.
    device : str or torch.device
        Device of the job.
    t0 : float
        ``time.perf_counter()`` at the start of the job (for ``wall_seconds``).
    **extra
        Further fields, recorded after the ones above and before ``provenance``.

    Returns
    -------
    dict
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
    """The Mapper images recorded in ``images_npz`` (class-major), and the class names.

    Parameters
    ----------
    dataset : mapping
        The config section ``dataset`` (or its keys ``name``, ``root``, ``download``).
    split : {"train", "test"}
        The split the images were drawn from (``mapper.images.split``).
    images_npz : path-like
        The record of ``select_mapper_images`` (``indices``, ``classes``).

    Returns
    -------
    images : cnntopo.nets.datasets.ImageSet
    classes : list of str
    """
    arrays, _ = artifacts.read_npz(images_npz, keys=["indices", "classes"])
    classes = [str(c) for c in arrays["classes"]]
    return load_split(dataset, split).subset(arrays["indices"]), classes


def write_cross(out_npz, matrix, seeds, layers, meta) -> None:
    """Write a cross-model matrix (read it with :func:`load_cross`).

    Parameters
    ----------
    out_npz : path-like
        Output: ``matrix``, ``seeds``, ``layers`` and ``meta`` (JSON).
    matrix : ndarray, shape (S*L, S*L)
        Model-major: row ``s * L + l`` is layer ``l`` of model ``seeds[s]``.
    seeds : sequence of int
        The models, length S.
    layers : sequence of str
        The layers, length L.
    meta : mapping
        Metadata; ``kind`` (``"distance"`` or ``"similarity"``) is required by the readers.
    """
    artifacts.write_npz(
        out_npz,
        matrix=matrix,
        seeds=np.asarray(seeds, dtype=np.int64),
        layers=np.array(list(layers)),
        meta=np.array(artifacts.json_dumps(meta)),
    )


def load_cross(path: str | Path) -> tuple[np.ndarray, list[int], list[str], dict]:
    """Read a cross-model matrix of :func:`write_cross`.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    matrix : ndarray, shape (S*L, S*L)
        Model-major.
    seeds : list of int
    layers : list of str
    meta : dict

    Raises
    ------
    cnntopo.artifacts.ArtifactError
        The file is missing, broken or lacks one of the entries.
    """
    z, meta = artifacts.read_npz(path, keys=["matrix", "seeds", "layers", "meta"])
    return z["matrix"], [int(s) for s in z["seeds"]], [str(x) for x in z["layers"]], meta


def load_points(path: str | Path) -> np.ndarray:
    """The ``points`` (N, c) of a point-cloud file."""
    return artifacts.read_npz(path, keys=["points"])[0]["points"]


def load_matrix(path: str | Path) -> tuple[np.ndarray, list[str], dict]:
    """A within-model matrix file (``layer_distances``): matrix, layer names, metadata.

    Parameters
    ----------
    path : path-like
        ``.npz`` with ``matrix`` (L, L), ``layers`` (L,) and ``meta``.

    Returns
    -------
    matrix : ndarray, shape (L, L)
    layers : list of str
    meta : dict
    """
    z, meta = artifacts.read_npz(path, keys=["matrix", "layers", "meta"])
    return z["matrix"], [str(x) for x in z["layers"]], meta


def load_bootstrap(path: str | Path) -> dict:
    """The arrays of a ``layer_bootstrap`` file (``layers`` as a list, ``meta`` as a dict).

    Parameters
    ----------
    path : path-like
        Output of :func:`cnntopo.stages.ph.bootstrap.layer_bootstrap`.

    Returns
    -------
    dict
        ``matrix``, ``low``, ``high`` (L, L), ``radius`` (L,), ``significant`` (L, L)
        bool, ``replicates`` (B, L, L), ``to_reference`` (B, L), ``layers`` (list of
        str) and ``meta`` (dict).
    """
    out, meta = artifacts.read_npz(path, required=["matrix", "significant", "layers", "meta"])
    out["layers"] = [str(x) for x in out["layers"]]
    out["meta"] = meta
    return out


def load_features(
    cloud_npz: str | Path, predictions: bool = False
) -> tuple[np.ndarray, np.ndarray, dict]:
    """The Mapper features of a cloud, its labels and its ``meta``.

    Parameters
    ----------
    cloud_npz : path-like
        The point cloud (``points``, ``labels`` and, for ``predictions``, ``correct``
        and ``image_index``).
    predictions : bool, default False
        Prepend the 0/1 ``predictions`` column
        (:func:`cnntopo.mapper.graph.with_predictions`).

    Returns
    -------
    features : numpy.ndarray, shape (P, c) or (P, c + 1)
    labels : numpy.ndarray, shape (P,)
    meta : dict
        ``{}`` if the cloud has none.
    """
    keys = ["points", "labels"] + (["correct", "image_index"] if predictions else [])
    z, meta = artifacts.read_npz(cloud_npz, keys=keys)
    points = z["points"]
    if predictions:
        from cnntopo.mapper.graph import with_predictions

        points = with_predictions(points, z["correct"], z["image_index"])
    return points, z["labels"], meta


def load_cloud_labels(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """The ``labels`` (P,) of a Mapper cloud and its class names (``meta["classes"]``)."""
    z, meta = artifacts.read_npz(path, keys=["labels", "meta"])
    if "classes" not in meta:
        raise artifacts.CorruptArtifactError(
            f"{path}: its meta has no 'classes' (it has {sorted(meta)}); {artifacts.REBUILD_HINT}"
        )
    return z["labels"], list(meta["classes"])
