"""Layer names and the module table of the PH ResNet-18 (option A), without torch.

The network itself is :class:`cnntopo.nets.resnet_cifar.ResNet18CIFAR`; this module
writes down its modules, their types and output shapes so that the DAG needs no torch
(``tests/nets/test_layers.py`` checks the table against the real network). The Mapper
network's counterpart is :mod:`cnntopo.nets.layers_option_b`.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["paper_layer_names", "paper_module_table"]

_STAGES = 4
_BLOCKS = 2


def paper_layer_names(arch: str = "resnet18_cifar") -> list[str]:
    """The 17 conv layers of the PH network, in the paper's (= network) order.

    The official code sorts the Conv2d modules whose name contains ``"conv"`` by
    their name with ``"conv"`` deleted, which puts the stem ``conv1`` first followed
    by ``block_seq.{stage}.{block}.conv{1,2}`` in block order.

    Parameters
    ----------
    arch : str
        Architecture name; only ``"resnet18_cifar"`` is defined.

    Returns
    -------
    list of str, length 17
    """
    if arch != "resnet18_cifar":
        raise ValueError(f"unknown architecture {arch!r}; known: 'resnet18_cifar'")
    names = ["conv1"]
    for s in range(_STAGES):
        for b in range(_BLOCKS):
            names += [f"block_seq.{s}.{b}.conv1", f"block_seq.{s}.{b}.conv2"]
    return names


def paper_module_table(width: int = 64, image_size: int = 32, num_classes: int = 10) -> dict:
    """Every module of the paper's ResNet-18 (option A) with its type and output shape.

    The same table as :func:`cnntopo.nets.discovery.describe_modules` computes from the
    real network (``tests/nets/test_layers.py``), written down so that the DAG needs no torch.

    Parameters
    ----------
    width : int, default 64
        Stem channels.
    image_size : int, default 32
        Side of the square input; stages 2-4 halve it (rounding up).
    num_classes : int, default 10
        Logits of ``linear``.

    Returns
    -------
    dict
        ``{"modules": [{"name", "types", "shape"}, ...], "default": [17 conv names]}``,
        modules in ``named_modules()`` order, ``shape`` the per-image output shape.
    """
    modules: list[dict[str, Any]] = []

    def add(name: str, kind: str, shape: tuple[int, ...]) -> None:
        modules.append({"name": name, "types": [kind], "shape": list(shape)})

    stem = (width, image_size, image_size)
    add("conv1", "Conv2d", stem)
    add("bn1", "BatchNorm2d", stem)
    size = image_size
    stage_shapes = []
    for s in range(_STAGES):
        size = size if s == 0 else math.ceil(size / 2)
        stage_shapes.append((width * 2**s, size, size))
    add("block_seq", "Sequential", stage_shapes[-1])
    for s, shape in enumerate(stage_shapes):
        add(f"block_seq.{s}", "Sequential", shape)
        for b in range(_BLOCKS):
            block = f"block_seq.{s}.{b}"
            add(block, "BasicBlock", shape)
            for part, kind in (("conv1", "Conv2d"), ("bn1", "BatchNorm2d"), ("r1", "ReLU")):
                add(f"{block}.{part}", kind, shape)
            for part, kind in (("conv2", "Conv2d"), ("bn2", "BatchNorm2d"), ("r2", "ReLU")):
                add(f"{block}.{part}", kind, shape)
            add(f"{block}.shortcut", "OptionAShortcut" if s and not b else "Sequential", shape)
    add("linear", "Linear", (num_classes,))
    add("relu", "ReLU", stem)
    return {"modules": modules, "default": paper_layer_names()}
