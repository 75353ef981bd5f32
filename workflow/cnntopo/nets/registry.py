"""The registry of built-in networks: the one place a new built-in network is added.

Every name of ``model.arch`` / ``mapper.model.arch`` that is neither ``torchvision:...``
nor ``python:...`` is a key of :data:`REGISTRY`. An entry names its builder (and, where
one exists, its static module table) as ``"module:function"`` strings, so this module
imports neither torch nor the networks: the Snakefile, the config checks and
:func:`builtin_archs` read it at DAG time.

Adding a built-in network: one :class:`BuiltinNetwork` entry here (its builder takes
``width`` and ``num_classes`` and returns a ``torch.nn.Module``) and a test; its layers
are then read from the built network (:func:`cnntopo.nets.module_table.module_table`).
The schema's allowed ``arch`` names should list :func:`builtin_archs`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BuiltinNetwork",
    "REGISTRY",
    "builtin_archs",
    "builtin_network",
    "build_builtin",
    "static_module_table",
]


@dataclass(frozen=True)
class BuiltinNetwork:
    """One built-in network.

    Attributes
    ----------
    name : str
        Its ``model.arch`` name.
    builder : str
        ``"module:function"`` of ``function(width=..., num_classes=..., **options,
        **kwargs)`` returning the untrained ``torch.nn.Module`` (weights from torch's
        global RNG).
    options : mapping
        Fixed keyword arguments of ``builder`` (e.g. a layout).
    table : str or None
        ``"module:function"`` of a torch-free ``function(width, image_size, num_classes,
        **options)`` giving the network's module table (as
        :func:`cnntopo.nets.discovery.describe_modules` and
        :func:`cnntopo.nets.discovery.default_layers` would compute it); None = the
        table is computed by building the network once.
    description : str
        One line for documentation and messages.
    """

    name: str
    builder: str
    options: Mapping[str, Any] = field(default_factory=dict)
    table: str | None = None
    description: str = ""


#: The built-in networks by name, in documentation order.
REGISTRY: dict[str, BuiltinNetwork] = {
    net.name: net
    for net in (
        BuiltinNetwork(
            "resnet18_cifar",
            "cnntopo.nets.resnet_cifar:ResNet18CIFAR",
            table="cnntopo.nets.layers_option_a:paper_module_table",
            description="the paper's PH network: CIFAR ResNet-18, option-A shortcuts",
        ),
        BuiltinNetwork(
            "resnet18_mapper",
            "cnntopo.nets.resnet_option_b:build_mapper_resnet18",
            description="the paper's Mapper network: kuangliu ResNet-18, option-B shortcuts",
        ),
        BuiltinNetwork(
            "plain_cnn",
            "cnntopo.nets.plain_cnn:build_plain_cnn",
            options={"layout": "plain_cnn"},
            table="cnntopo.nets.plain_cnn:plain_module_table",
            description="Kornblith et al. 2019's plain 10-layer CNN",
        ),
        BuiltinNetwork(
            "tiny10",
            "cnntopo.nets.plain_cnn:build_plain_cnn",
            options={"layout": "tiny10"},
            table="cnntopo.nets.plain_cnn:plain_module_table",
            description="Kornblith et al. 2019's Tiny-10 CNN",
        ),
    )
}


def builtin_archs() -> tuple[str, ...]:
    """Names of the built-in networks (the built-in values of ``model.arch``).

    >>> builtin_archs()
    ('resnet18_cifar', 'resnet18_mapper', 'plain_cnn', 'tiny10')
    """
    return tuple(REGISTRY)


def builtin_network(name: str) -> BuiltinNetwork:
    """The registry entry of ``name``.

    Raises
    ------
    ValueError
        ``name`` is not a built-in network; the message lists the known ones.
    """
    if name not in REGISTRY:
        raise ValueError(f"unknown model arch {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def _resolve(target: str) -> Callable[..., Any]:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def build_builtin(name: str, width: int, num_classes: int, **kwargs: Any):
    """Build the built-in network ``name`` (weights from torch's global RNG).

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY`.
    width : int
        Stem / first-stage channels.
    num_classes : int
        Output logits.
    **kwargs
        Further builder arguments (``model.kwargs``, ``shortcut``).

    Returns
    -------
    torch.nn.Module
        On the CPU, in training mode.
    """
    net = builtin_network(name)
    return _resolve(net.builder)(width=width, num_classes=num_classes, **net.options, **kwargs)


def static_module_table(
    name: str, width: int, image_size: int, num_classes: int
) -> dict[str, Any] | None:
    """The module table of a built-in network without building it, or None if it has none.

    Returns
    -------
    dict or None
        ``{"modules": [{"name", "types", "shape"}, ...], "default": [names]}``, as
        :func:`cnntopo.nets.module_table.module_table`.
    """
    net = builtin_network(name)
    if net.table is None:
        return None
    return _resolve(net.table)(width, image_size, num_classes, **net.options)
