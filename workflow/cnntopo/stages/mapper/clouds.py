"""Stages of ``rules/mapper/clouds.smk``: the Mapper images and point clouds (docs/methods.md §11)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.mapper.constructions import BUILTINS, Construction, builtin_names, resolve
from cnntopo.names import parse_cloud
from cnntopo.nets.layers import MAPPER_ARCH as ARCH
from cnntopo.stages.common import dataset_normalization, load_mapper_images, load_split

__all__ = ["CONSTRUCTION_KEYS", "cloud_construction", "select_mapper_images", "mapper_clouds"]

log = logging.getLogger("cnntopo")

#: Arguments of :func:`cnntopo.mapper.clouds.build_cloud` that only some constructions
#: read (random: ``low``; full: ``cap``, ``replace``; foreground/background: ``grabcut``,
#: ``grabcut_iters``, ``empty_mask``, ``ties``): the settings of the built-ins of
#: :data:`cnntopo.mapper.constructions.BUILTINS`. A cloud's job receives and records
#: only its own.
CONSTRUCTION_KEYS: tuple[str, ...] = tuple(
    dict.fromkeys(k for c in BUILTINS.values() for k in c.keys)
)


def cloud_construction(cloud: str, settings: Mapping) -> tuple[Construction, float]:
    """The construction and noise level of a cloud job (``{cloud}`` and its settings).

    Parameters
    ----------
    cloud : str
        A cloud name (:func:`cnntopo.names.parse_cloud`).
    settings : mapping
        The job's ``construction`` settings; a user cloud's hold its ``spec``.

    Returns
    -------
    construction : Construction
    sigma : float
        The input noise of a noisy built-in cloud (0 otherwise).

    Raises
    ------
    ValueError
        A user cloud without a spec, or whose spec names another function.
    """
    parsed = parse_cloud(cloud)
    if parsed["method"] != "user":
        return BUILTINS[parsed["base"]], parsed["sigma"]
    if "spec" not in settings:
        raise ValueError(
            f"the cloud {cloud!r} is no built-in construction ({', '.join(builtin_names())}); "
            'a user construction job needs its settings {"spec": "python:<file.py>:'
            f'{cloud}"}}'
        )
    c = resolve(settings["spec"])
    if c.name != cloud:
        raise ValueError(
            f"the cloud {cloud!r} was given the construction {settings['spec']!r}, whose "
            f"cloud is {c.name!r}"
        )
    return c, 0.0


def select_mapper_images(
    out: str | Path, *, dataset: Mapping, split: str, per_class: int | None, seed: int
) -> dict:
    """Choose the Mapper images, in class-major order, and record them.

    All images of ``split`` (the paper: the 50,000 CIFAR-10 training images), or a
    seeded sample of ``per_class`` images per class; sorted by class, then by index, as
    the official extraction (one pass per class).

    Parameters
    ----------
    out : path-like
        Output ``.npz``: ``indices`` (N,) positions in the split, ``labels`` (N,),
        ``classes`` (n_classes,) and ``meta`` (JSON).
    dataset : mapping
        The dataset's ``name``, ``root`` and ``download`` (config section ``dataset``).
    split : {"train", "test"}
    per_class : int or None
        Images per class (None = all).
    seed : int
        Seed of the sample.

    Returns
    -------
    dict
        The ``meta`` record.
    """
    data = load_split(dataset, split)
    rng = np.random.default_rng(seed)
    chosen = []
    for k in range(len(data.classes)):
        idx = np.flatnonzero(data.labels == k)
        if per_class is not None and len(idx) > per_class:
            idx = np.sort(rng.choice(idx, size=per_class, replace=False))
        chosen.append(idx)
    indices = np.concatenate(chosen).astype(np.int64)
    meta = {
        "dataset": dataset["name"],
        "split": split,
        "per_class": per_class,
        "seed": seed,
        "n_images": int(len(indices)),
        "counts": [int(len(c)) for c in chosen],
    }
    artifacts.write_npz(
        out,
        indices=indices,
        labels=data.labels[indices],
        classes=np.asarray(data.classes),
        meta=np.asarray(artifacts.json_dumps(meta)),
    )
    log.info("%d %s images in class-major order: %s", len(indices), split, meta["counts"])
    return meta


def mapper_clouds(
    cloud: str,
    layers: Sequence[str],
    weights: str | Path,
    images_npz: str | Path,
    outs: Sequence[str | Path],
    *,
    dataset: Mapping,
    split: str,
    batch_size: int,
    width: int,
    device: str,
    seed: int,
    construction: Mapping,
    arch: str = ARCH,
    kwargs: Mapping | None = None,
    shapes: Mapping[str, Sequence[int] | None] | None = None,
    threads: int = 2,
) -> list[dict]:
    """Build the point clouds of one construction at several layers of the Mapper network.

    One job per cloud: the network, the images and (foreground / background clouds) the
    GrabCut masks are loaded or computed once and shared by the layers. Each layer's
    random draws come from its own generator (:func:`cnntopo.mapper.clouds.layer_rng`),
    so a layer's cloud is the same whichever other layers the job builds. The cloud is
    built by its entry of the construction registry
    (:func:`cloud_construction`): a built-in, or a user function
    ``python:<file.py>:<function>`` (:func:`cnntopo.mapper.clouds.build_user_cloud`),
    whose files hold the same arrays.

    Parameters
    ----------
    cloud : str
        Cloud name (:func:`cnntopo.names.parse_cloud`: construction, top-k, noise; or a
        user construction's function name).
    layers : sequence of str
        Layers of the Mapper network, one output each.
    weights : path-like
        The network's ``state_dict``.
    images_npz : path-like
        The Mapper images (:func:`select_mapper_images`).
    outs : sequence of path-like
        One output ``.npz`` per layer (same order): ``points`` (P, d) float32, ``labels``
        (P,), ``image_index`` (P,) rows of the Mapper image list, ``position`` (P,)
        flattened spatial index (-1 for the points of a user construction), ``correct``
        (N,) whether the network classified each (noisy) image correctly, and ``meta``
        (JSON: construction, seeds, sizes, accuracy, class names; a user construction's
        spec, file, function and file hash under ``construction``).
    dataset : mapping
        The config section ``dataset``.
    split : {"train", "test"}
        Split of the Mapper images.
    batch_size : int
        Images per forward pass.
    width : int
        Stem channels of the network.
    device : {"auto", "cpu", "cuda"}
    seed : int
        Seed of every random choice (positions, subsampling, ties, noise; a user
        function's ``np.random``).
    construction : mapping
        The construction's own settings
        (:meth:`cnntopo.mapper.constructions.Construction.settings`): a subset of
        :data:`CONSTRUCTION_KEYS` for a built-in, ``{"spec": "python:<file.py>:<fn>"}``
        for a user construction.
    arch : str, default :data:`ARCH`
        ``mapper.model.arch``.
    kwargs : mapping, optional
        ``mapper.model.kwargs``.
    shapes : mapping of str to sequence of int or None, optional
        Per-image output shape of each layer (``(c, h, w)``, ``(tokens, d)``, ``(c,)``);
        None for a layer of the option-B network's static table
        (:func:`cnntopo.mapper.clouds.build_cloud`'s ``shape``).
    threads : int, default 2
        Torch CPU threads.

    Returns
    -------
    list of dict
        The ``meta`` record of each layer's cloud.

    Raises
    ------
    ValueError
        Layers and outputs of different lengths, settings that are not the
        construction's, or the errors of the construction (a user function's name its
        file and function).
    """
    import torch

    from cnntopo.nets.devices import select_device
    from cnntopo.nets.models import build_model, load_state_dict_compat

    layers, outs = list(layers), list(outs)
    if len(layers) != len(outs):
        raise ValueError(f"{len(layers)} layers but {len(outs)} output paths")
    t_job = time.perf_counter()
    torch.set_num_threads(max(1, int(threads)))
    entry, sigma = cloud_construction(cloud, construction)
    settings = entry.check_settings(construction)
    images, classes = load_mapper_images(dataset, split, images_npz)
    model = build_model(arch, width, len(classes), kwargs=kwargs)
    load_state_dict_compat(model, weights)
    dev = select_device(device)
    model.to(dev).eval()
    mean, std = dataset_normalization(dataset, arch)
    image_size = int(dataset.get("image_size", 32))
    shapes = shapes or {}
    shared = entry.prepare(
        images.images,
        settings=settings,
        mean=mean,
        std=std,
        image_size=image_size,
        log=log.info,
    )
    metas = []
    for i, (layer, out) in enumerate(zip(layers, outs, strict=True)):
        t0 = time.perf_counter()
        result = entry.build(
            model,
            images.images,
            images.labels,
            layer,
            settings=settings,
            shared=shared,
            seed=seed,
            mean=mean,
            std=std,
            batch_size=batch_size,
            device=dev,
            sigma=sigma,
            image_size=image_size,
            shape=shapes.get(layer),
            log=log.info,
        )
        meta = {
            k: v for k, v in result["meta"].items() if k in settings or k not in CONSTRUCTION_KEYS
        }
        meta.setdefault("construction", entry.record())
        meta.update(
            cloud=cloud,
            layer=layer,
            dataset=dataset["name"],
            classes=classes,
            seconds=time.perf_counter() - t0,
        )
        artifacts.write_npz(
            out,
            points=np.asarray(result["points"], dtype=np.float32),
            labels=np.asarray(result["labels"], dtype=np.int64),
            image_index=np.asarray(result["image_index"], dtype=np.int64),
            position=np.asarray(result["position"], dtype=np.int64),
            correct=np.asarray(result["correct"], dtype=bool),
            meta=np.asarray(artifacts.json_dumps(meta)),
        )
        metas.append(meta)
        log.info(
            "%s %s (%d/%d): %d points x %d dims in %.1f s; job %.0f s",
            cloud,
            layer,
            i + 1,
            len(layers),
            result["points"].shape[0],
            result["points"].shape[1],
            meta["seconds"],
            time.perf_counter() - t_job,
        )
    return metas
