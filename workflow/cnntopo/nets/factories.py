"""Networks by ``model.arch``: the built-in ones, torchvision's and a user's Python factory.

:func:`build_model` builds any network of the three forms of
:data:`cnntopo.nets.arch.ARCH_FORMS`; :func:`init_model` does so with initial weights that
depend only on a seed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnntopo.nets.arch import parse_arch
from cnntopo.nets.registry import REGISTRY, build_builtin

__all__ = ["build_model", "init_model", "pretrained_num_classes"]

log = logging.getLogger("cnntopo")


def _torchvision_network(
    name: str, num_classes: int, kwargs: Mapping[str, Any], pretrained: bool
) -> nn.Module:
    """A torchvision classification network, untrained or with torchvision's weights."""
    from cnntopo.nets.torchvision_shim import import_torchvision

    models = import_torchvision().models
    if not pretrained:
        return models.get_model(name, weights=None, num_classes=num_classes, **kwargs)
    weights = models.get_model_weights(name).DEFAULT
    try:
        return models.get_model(name, weights=weights, **kwargs)
    except (OSError, ValueError, RuntimeError) as err:  # URLError is an OSError
        if isinstance(err, ValueError) and "num_classes" in str(err):
            raise
        import torch.hub

        raise RuntimeError(
            f"model.pretrained: could not get torchvision's weights {weights} of {name!r} "
            f"from {weights.url} ({type(err).__name__}: {err}). This machine is probably "
            f"offline: download that file elsewhere and set model.checkpoint to it (with "
            f"model.pretrained: false), or put it in {torch.hub.get_dir()}/checkpoints/"
        ) from err


def pretrained_num_classes(arch: str) -> int:
    """Number of classes of torchvision's default weights of ``arch`` (no download)."""
    from cnntopo.nets.torchvision_shim import import_torchvision

    weights = import_torchvision().models.get_model_weights(parse_arch(arch).name).DEFAULT
    return len(weights.meta["categories"])


def _python_network(path: str, factory: str, num_classes: int, kwargs: Mapping) -> nn.Module:
    """``factory(num_classes, **kwargs)`` of a user's Python file."""
    import hashlib
    import importlib.util

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"model.arch: factory file {file} not found")
    module_name = (
        "cnntopo_user_model_" + hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:12]
    )
    spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, factory, None)):
        raise ValueError(f"model.arch: {file} defines no callable {factory!r}")
    model = getattr(module, factory)(num_classes, **kwargs)
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model.arch: {file}:{factory}({num_classes}) returned {type(model).__name__}, "
            "not a torch.nn.Module"
        )
    return model


def build_model(
    arch: str = "resnet18_cifar",
    width: int = 64,
    num_classes: int = 10,
    shortcut: str | None = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
    pretrained: bool = False,
) -> nn.Module:
    """Build a network by name (weights from torch's global RNG; see :func:`init_model`).

    Parameters
    ----------
    arch : str, default "resnet18_cifar"
        A built-in network (:data:`cnntopo.nets.registry.REGISTRY`: ``"resnet18_cifar"``,
        the PH network :class:`cnntopo.nets.resnet_cifar.ResNet18CIFAR`;
        ``"resnet18_mapper"``, the mapper network
        :class:`cnntopo.nets.resnet_option_b.MapperResNet18`; ``"plain_cnn"``,
        ``"tiny10"``), ``"torchvision:<builder>"`` (any torchvision classification
        builder, e.g. ``"torchvision:resnet50"``, called with ``num_classes`` and
        ``kwargs``) or ``"python:<file.py>:<factory>"`` (``factory(num_classes,
        **kwargs)`` must return a :class:`torch.nn.Module`).
    width : int, default 64
        Stem / first-stage channels of the built-in networks; must be even for
        option-A shortcuts. Ignored (with a log line) for the other networks.
    num_classes : int, default 10
        Number of output logits.
    shortcut : {"A", "B"} or None, default None
        Shortcut option of the built-in ResNets; None = the architecture's own ("A"
        for the PH network, "B" for the mapper network, which supports only "B").
    kwargs : mapping, optional
        Extra keyword arguments of the builder (``model.kwargs``).
    pretrained : bool, default False
        torchvision networks only: load torchvision's default weights (downloads them
        when not cached; ``num_classes`` is then the weights' own unless ``kwargs``
        sets it).

    Returns
    -------
    torch.nn.Module
        The network, on the CPU, in training mode.

    Raises
    ------
    ValueError
        Unknown ``arch`` or ``shortcut``, or an invalid ``width``.
    RuntimeError
        ``pretrained`` weights cannot be downloaded (the message says what to do).
    """
    kwargs = dict(kwargs or {})
    explicit_classes = "num_classes" in kwargs  # model.kwargs overrides the dataset's
    num_classes = int(kwargs.pop("num_classes", num_classes))
    spec = parse_arch(arch)
    if pretrained and spec.kind != "torchvision":
        raise ValueError(
            f"model.pretrained applies to torchvision networks only, not {arch!r}; "
            "use model.checkpoint for the weights of other networks"
        )
    if spec.kind == "builtin":
        if arch not in REGISTRY:
            raise ValueError(f"unknown model arch {arch!r}; known: {', '.join(REGISTRY)}")
        if shortcut is not None:
            kwargs["shortcut"] = shortcut
        return build_builtin(arch, width, num_classes, **kwargs)
    log.info("model.width applies to the built-in networks only; ignored for %s", arch)
    if spec.kind == "torchvision":
        if pretrained and explicit_classes:
            kwargs["num_classes"] = num_classes
        return _torchvision_network(spec.name, num_classes, kwargs, pretrained)
    return _python_network(spec.path, spec.name, num_classes, kwargs)


def init_model(
    arch: str = "resnet18_cifar",
    width: int = 64,
    num_classes: int = 10,
    seed: int = 0,
    shortcut: str | None = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
) -> nn.Module:
    """Build a network whose initial weights depend only on ``seed``.

    PyTorch's default initialisation (Kaiming-uniform convolutions and linear layer,
    BN weight 1 / bias 0; torchvision's own initialisation for its networks) is drawn
    on the CPU from a generator seeded with ``seed`` inside
    :func:`torch.random.fork_rng`, so the caller's global RNG state is unchanged and
    the weights do not depend on the device used later.

    Parameters
    ----------
    arch, width, num_classes, shortcut, kwargs
        As in :func:`build_model`.
    seed : int, default 0
        Seed of the initialisation.

    Returns
    -------
    torch.nn.Module
        The network, on the CPU, in training mode.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build_model(
            arch, width=width, num_classes=num_classes, shortcut=shortcut, kwargs=kwargs
        )
