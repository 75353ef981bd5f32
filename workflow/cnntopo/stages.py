"""One entry point per workflow rule.

Each function takes explicit paths and the validated config, does one stage of the
pipeline and writes its outputs atomically. The Snakemake scripts in
``workflow/scripts/`` only unpack ``snakemake.*`` and call one of these, so every
stage can also be run (and tested) without Snakemake.
"""

from __future__ import annotations

import importlib
import json
import logging
import platform
import socket
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo import io
from cnntopo.config import config_hash

__all__ = [
    "select_eval_images",
    "train_model",
    "import_checkpoint",
    "extract_activations",
    "topl2_pointclouds",
    "persistence_diagram",
    "layer_distances",
    "figure_layer_heatmap",
    "figure_mean_heatmap",
    "figure_diagram_grid",
    "figure_training",
    "model_summary",
]

log = logging.getLogger("cnntopo")

_BACKEND_MODULES = {"ripser": "ripser", "giotto": "gph"}


def _setup_torch(threads: int):
    import torch

    torch.set_num_threads(max(1, int(threads)))
    return torch


def _normalization(cfg: dict) -> tuple[tuple[float, ...], tuple[float, ...]]:
    from cnntopo.transforms import normalization

    norm = cfg["dataset"]["normalization"]
    if norm is not None:
        return tuple(norm["mean"]), tuple(norm["std"])
    return normalization(cfg["dataset"]["name"])


def _load_split(cfg: dict, split: str):
    from cnntopo.datasets import load_dataset

    ds = cfg["dataset"]
    return load_dataset(ds["name"], split, root=ds["root"], download=ds["download"])


def _provenance() -> dict:
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


# --------------------------------------------------------------------------- data


def select_eval_images(cfg: dict, out_json: str | Path) -> dict:
    """Choose the fixed, recorded set of images whose activations are analysed.

    ``activations.selection = random`` takes the first ``n_images`` of a permutation
    drawn with ``np.random.default_rng(activations.seed)``; ``first`` takes the split's
    first ``n_images``. The paper used one shuffled batch of 1000 CIFAR-10 test images.
    """
    acfg = cfg["activations"]
    images = _load_split(cfg, acfg["split"])
    n = acfg["n_images"]
    if n > len(images):
        raise ValueError(
            f"config key 'activations.n_images' = {n} exceeds the {len(images)} images of the "
            f"{cfg['dataset']['name']} {acfg['split']} split; lower it"
        )
    if acfg["selection"] == "random":
        idx = np.sort(np.random.default_rng(acfg["seed"]).permutation(len(images))[:n])
    else:
        idx = np.arange(n)
    labels = images.labels[idx]
    record = {
        "dataset": cfg["dataset"]["name"],
        "split": acfg["split"],
        "selection": acfg["selection"],
        "seed": acfg["seed"],
        "n_images": int(n),
        "classes": list(images.classes),
        "class_counts": np.bincount(labels, minlength=len(images.classes)).tolist(),
        "indices": images.indices[idx].tolist(),
        "labels": labels.tolist(),
    }
    io.write_json(out_json, record)
    log.info(
        "selected %d %s images (%s, seed %d)", n, acfg["split"], acfg["selection"], acfg["seed"]
    )
    return record


# ------------------------------------------------------------------------- models


def _recipe(cfg: dict):
    from cnntopo.training import TrainRecipe

    t = dict(cfg["training"])
    t.pop("device")
    t["mixed_precision"] = "auto" if t["mixed_precision"] else "off"
    t["channels_last"] = "auto" if t["channels_last"] else "off"
    t["milestones"] = tuple(t["milestones"])
    return TrainRecipe.from_dict(t)


def _num_classes(cfg: dict) -> int:
    from cnntopo.datasets import class_names

    return len(class_names(cfg["dataset"]["name"], cfg["dataset"]["root"]))


def _model_record(cfg, seed, *, source, accuracy, loss, device, t0, **extra) -> dict:
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
        "provenance": _provenance(),
    }


def _save_weights(model, path: str | Path) -> None:
    import torch

    with io.atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)


def train_model(
    cfg: dict, seed: int, weights: str | Path, metrics: str | Path, threads: int = 2
) -> dict:
    """Train one network of the paper's recipe with ``seed``; write weights and a metrics JSON.

    The JSON records test accuracy, the seed, epochs, per-epoch history, wall time,
    the config hash of (dataset, model, training) and provenance.
    """
    t0 = time.perf_counter()
    _setup_torch(threads)
    from cnntopo.models import init_model
    from cnntopo.training import select_device
    from cnntopo.training import train_model as _train

    train_set = _load_split(cfg, "train")
    test_set = _load_split(cfg, "test")
    mean, std = _normalization(cfg)
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
    _save_weights(model, weights)
    record = _model_record(
        cfg,
        seed,
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
    io.write_json(metrics, record)
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
    _setup_torch(threads)
    from cnntopo.models import build_model, load_state_dict_compat
    from cnntopo.training import evaluate, select_device

    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(
            f"checkpoint for seed {seed} not found at {source} (from config key 'model.checkpoint'); "
            "fix the path pattern or set model.checkpoint: null to train instead"
        )
    test_set = _load_split(cfg, "test")
    mean, std = _normalization(cfg)
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
    _save_weights(model.cpu(), weights)
    record = _model_record(
        cfg,
        seed,
        source=str(source),
        accuracy=ev["accuracy"],
        loss=ev["loss"],
        device=device,
        t0=t0,
        epochs=None,
        history=[],
    )
    io.write_json(metrics, record)
    return record


# -------------------------------------------------------------------- activations


def extract_activations(
    cfg: dict,
    seed: int,
    weights: str | Path,
    eval_set: str | Path,
    out_dir: str | Path,
    layers: Sequence[str],
    threads: int = 2,
) -> dict:
    """Capture the raw conv outputs of ``layers`` for the recorded image set into shards."""
    torch = _setup_torch(threads)
    from cnntopo.activations import extract_activations as _extract
    from cnntopo.models import build_model, load_state_dict_compat
    from cnntopo.training import select_device

    sel = io.read_json(eval_set)
    images = _load_split(cfg, sel["split"])
    wanted = np.asarray(sel["indices"], dtype=np.int64)
    order = np.argsort(images.indices)
    pos = order[np.clip(np.searchsorted(images.indices[order], wanted), 0, len(order) - 1)]
    subset = images.subset(pos)
    if not (
        np.array_equal(subset.indices, wanted)
        and np.array_equal(subset.labels, np.asarray(sel["labels"]))
    ):
        raise RuntimeError(
            f"the {sel['dataset']} {sel['split']} split changed since {eval_set} was written "
            "(indices or labels differ); delete that file and rerun"
        )
    mean, std = _normalization(cfg)
    device = select_device(cfg["training"]["device"])
    model = build_model(cfg["model"]["arch"], cfg["model"]["width"], len(images.classes))
    load_state_dict_compat(model, torch.load(weights, map_location="cpu", weights_only=True))
    acfg = cfg["activations"]
    meta = {
        "seed": int(seed),
        "weights": str(weights),
        "eval_set": str(eval_set),
        "config_hash": model_config_hash(cfg),
        "arch": cfg["model"]["arch"],
        "width": cfg["model"]["width"],
    }
    manifest = _extract(
        model,
        subset,
        list(layers),
        out_dir,
        mean=mean,
        std=std,
        batch_size=acfg["batch_size"],
        device=device,
        dtype=acfg["dtype"],
        extra_meta=meta,
    )
    log.info(
        "seed %d: wrote %d activation shards for %d images to %s",
        seed,
        len(layers),
        len(subset),
        out_dir,
    )
    return manifest


# ---------------------------------------------------------------- point clouds / PH


def topl2_pointclouds(
    shards: Sequence[str | Path], outputs: Sequence[str | Path], seed: int, layers: Sequence[str]
) -> None:
    """Top l2-norm point clouds (paper-methods P1) of one model's layers, one file per layer.

    Each shard is read memory-mapped in chunks of images, so memory stays bounded by
    a chunk whatever the number of images.
    """
    from cnntopo.pointclouds import top_l2

    for shard, out_npz, layer in zip(shards, outputs, layers, strict=True):
        acts = np.load(shard, mmap_mode="r")
        points, positions = top_l2(acts)
        meta = {
            "construction": "topl2",
            "seed": int(seed),
            "layer": layer,
            "shape": list(acts.shape),
            "source": str(shard),
        }
        io.write_npz(
            out_npz, points=points, positions=positions, meta=np.array(io.json_dumps(meta))
        )
        log.info("%s seed %d: top-l2 cloud %s", layer, seed, points.shape)


def persistence_diagram(
    cloud_npz: str | Path, out_npz: str | Path, pcfg: dict, seed: int, layer: str
) -> None:
    """Vietoris-Rips persistence diagrams of one point cloud (config section ``persistence``)."""
    from cnntopo.persistence import diagrams, save_diagrams

    with np.load(cloud_npz) as z:
        points = z["points"]
    importlib.import_module(_BACKEND_MODULES[pcfg["backend"]])  # keep import time out of the timing
    t0 = time.perf_counter()
    dgms = diagrams(
        points,
        maxdim=pcfg["maxdim"],
        backend=pcfg["backend"],
        coeff=pcfg["coeff"],
        n_threads=pcfg["n_threads"],
    )
    seconds = time.perf_counter() - t0
    meta = {
        "seed": int(seed),
        "layer": layer,
        "n_points": int(points.shape[0]),
        "dim": int(points.shape[1]),
        "backend": pcfg["backend"],
        "maxdim": pcfg["maxdim"],
        "coeff": pcfg["coeff"],
        "seconds": seconds,
        "n_bars": [int(len(d)) for d in dgms],
        "source": str(cloud_npz),
    }
    save_diagrams(out_npz, dgms, meta)
    log.info(
        "%s seed %d: PH of %s in %.2f s, bars per dim %s",
        layer,
        seed,
        points.shape,
        seconds,
        meta["n_bars"],
    )


def _load_dim(path: str | Path, dim: int) -> np.ndarray:
    from cnntopo.persistence import load_diagrams

    dgms, _ = load_diagrams(path)
    if dim >= len(dgms):
        raise ValueError(f"{path} has diagrams up to H{len(dgms) - 1}; H{dim} was requested")
    return dgms[dim]


def metric_params(dcfg: dict, metric: str) -> dict:
    """Parameters of ``metric`` from the ``distances`` config section (explicit, never library defaults)."""
    if metric == "sliced_wasserstein":
        return {"M": dcfg["M"]}
    if metric == "wasserstein":
        return {"order": dcfg["order"], "internal_p": float(dcfg["internal_p"]), "delta": 1e-10}
    if metric == "bottleneck":
        return {"delta": 0.0}  # exact
    return {}


def load_finite_diagrams(diagram_files: Sequence[str | Path], dcfg: dict) -> list[np.ndarray]:
    """The ``distances.dim`` diagrams of several files, infinite bars handled per ``distances.infinite``."""
    from cnntopo.distances import finite_part

    return [
        finite_part(_load_dim(f, dcfg["dim"]), infinite=dcfg["infinite"]) for f in diagram_files
    ]


def layer_distances(
    diagram_files: Sequence[str | Path],
    layers: Sequence[str],
    dcfg: dict,
    out_npz: str | Path,
    out_csv: str | Path,
    metric: str | None = None,
) -> np.ndarray:
    """Layer-by-layer distance matrix of one model (paper: SW between H1 diagrams, 17x17)."""
    import pandas as pd

    from cnntopo.distances import pairwise

    metric = metric or dcfg["metric"]
    dgms = load_finite_diagrams(diagram_files, dcfg)
    params = metric_params(dcfg, metric)
    t0 = time.perf_counter()
    D = pairwise(dgms, metric=metric, **params)
    meta = {
        "metric": metric,
        "dim": dcfg["dim"],
        "params": params,
        "layers": list(layers),
        "seconds": time.perf_counter() - t0,
    }
    io.write_npz(
        out_npz, matrix=D, layers=np.array(list(layers)), meta=np.array(io.json_dumps(meta))
    )
    with io.atomic_path(out_csv) as tmp:
        pd.DataFrame(D, index=list(layers), columns=list(layers)).to_csv(tmp)
    log.info("%s H%d matrix %s in %.2f s", metric, dcfg["dim"], D.shape, meta["seconds"])
    return D


# ------------------------------------------------------------------------ figures


def _load_matrix(path: str | Path) -> tuple[np.ndarray, list[str], dict]:
    """A within-model matrix file of :func:`layer_distances`: matrix, layer names, metadata."""
    with np.load(path) as z:
        return z["matrix"], [str(x) for x in z["layers"]], json.loads(str(z["meta"]))


METRIC_NAMES = {
    "sliced_wasserstein": "sliced Wasserstein",
    "wasserstein": "Wasserstein",
    "bottleneck": "bottleneck",
}


def metric_label(metric: str, dim: int) -> str:
    """Readable name of a diagram distance on H_dim, e.g. ``"sliced Wasserstein (H1)"``."""
    return f"{METRIC_NAMES.get(metric, metric)} (H{dim})"


def figure_layer_heatmap(matrix_npz: str | Path, outputs: Sequence[str], title: str) -> None:
    """Heatmap of one model's layer-distance matrix (paper-methods section 4, figure 2)."""
    from cnntopo import plotting

    D, layers, meta = _load_matrix(matrix_npz)
    with plotting.paper_style():
        fig = plotting.heatmap_figure(
            D, layers, title=title, cbar_label=metric_label(meta["metric"], meta["dim"])
        )
        plotting.save_figure(fig, outputs)


def figure_mean_heatmap(
    matrix_files: Sequence[str | Path], outputs: Sequence[str], out_npz: str | Path
) -> None:
    """Mean and standard deviation of the layer-distance matrices over all seeds."""
    from cnntopo import plotting

    mats, layers, metas = zip(*(_load_matrix(f) for f in matrix_files), strict=True)
    if any(lay != layers[0] for lay in layers):
        raise ValueError("the distance matrices have different layer lists; rerun with one config")
    stack = np.stack(mats)
    mean, std = stack.mean(axis=0), stack.std(axis=0, ddof=1 if len(stack) > 1 else 0)
    io.write_npz(
        out_npz, mean=mean, std=std, layers=np.array(layers[0]), n_models=np.array(len(stack))
    )
    label = metric_label(metas[0]["metric"], metas[0]["dim"])
    with plotting.paper_style():
        fig = plotting.heatmap_grid(
            {f"mean over {len(stack)} models": mean, "standard deviation": std},
            layers[0],
            ncols=2,
            shared_scale=False,
            suptitle=label + " between layers",
            cbar_label=label,
        )
        plotting.save_figure(fig, outputs)


def figure_diagram_grid(
    diagram_files: Sequence[str | Path],
    layers: Sequence[str],
    outputs: Sequence[str],
    title: str,
    maxdim: int,
) -> None:
    """Grid of per-layer persistence diagrams of one model."""
    from cnntopo import plotting
    from cnntopo.persistence import load_diagrams

    by_layer = {layer: load_diagrams(f)[0] for layer, f in zip(layers, diagram_files, strict=True)}
    with plotting.paper_style():
        fig = plotting.diagram_grid(by_layer, dims=tuple(range(min(maxdim, 1) + 1)), title=title)
        plotting.save_figure(fig, outputs)


def figure_training(metric_files: Sequence[str | Path], outputs: Sequence[str]) -> None:
    """Test accuracy and training loss per epoch, one line per seed."""
    from cnntopo import plotting

    records = [io.read_json(f) for f in metric_files]
    with plotting.paper_style():
        fig = plotting.training_curves(records)
        plotting.save_figure(fig, outputs)


def model_summary(metric_files: Sequence[str | Path], out_csv: str | Path) -> None:
    """One row per model: seed, source, test accuracy, epochs, training time."""
    import pandas as pd

    rows = []
    for f in metric_files:
        r = io.read_json(f)
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
    with io.atomic_path(out_csv) as tmp:
        df.to_csv(tmp, index=False)
