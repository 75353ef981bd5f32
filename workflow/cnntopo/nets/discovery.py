"""Layer discovery on a built network: its PH layers, default layers and module table.

The torch side of :mod:`cnntopo.nets.module_table`: ``python -m cnntopo.nets.discovery
'<json request>'`` builds a network, describes its modules and prints the table, so that
the process building the DAG never imports torch itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from cnntopo.nets.arch import parse_arch

__all__ = ["conv_layer_names", "default_layers", "describe_modules", "count_parameters"]


def conv_layer_names(model: nn.Module) -> list[str]:
    """The paper's PH layers: Conv2d modules whose name contains "conv", in paper order.

    The official ``topL2_pointclouds.py`` sorts the layer names with "conv" deleted,
    which puts ``conv1`` first, then ``block_seq.0.0.conv1``, ``block_seq.0.0.conv2``,
    ..., ``block_seq.3.1.conv2``: the network order (17 layers for ResNet-18; option-B
    shortcut convolutions are named ``shortcut.0`` and are not included).

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`cnntopo.nets.resnet_cifar.ResNet18CIFAR` (or any module with the same
        naming).

    Returns
    -------
    list of str
        Module names, usable with :func:`cnntopo.nets.activations.capture`.
    """
    names = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d) and "conv" in name
    ]
    return sorted(names, key=lambda name: name.replace("conv", ""))


def _public_types(module: nn.Module) -> list[str]:
    """The module's class and its public ``nn.Module`` base classes, most specific first."""
    return [
        cls.__name__
        for cls in type(module).__mro__
        if isinstance(cls, type)
        and issubclass(cls, nn.Module)
        and cls is not nn.Module
        and not cls.__name__.startswith("_")
    ]


def default_layers(arch: str, model: nn.Module) -> list[str]:
    """The layers of ``activations.layers: all``.

    The paper's 17 convolutions (:func:`conv_layer_names`) for the built-in networks,
    every :class:`torch.nn.Conv2d` in network order for the others.

    Parameters
    ----------
    arch : str
        ``model.arch`` of ``model``.
    model : torch.nn.Module
        The built network.

    Returns
    -------
    list of str
    """
    if parse_arch(arch).kind == "builtin":
        return conv_layer_names(model)
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


@torch.no_grad()
def describe_modules(model: nn.Module, image_size: int = 32) -> list[dict[str, Any]]:
    """Name, types and per-image output shape of every module, in ``named_modules()`` order.

    Runs one all-zero ``(1, 3, image_size, image_size)`` image through the model in eval
    mode, on the device of its parameters (the training flag is restored). A module
    called several times reports its last call (as
    :func:`cnntopo.nets.activations.capture` records it); a module with a tuple output
    reports its first tensor; one that returns no tensor or does not run has ``shape``
    None.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    image_size : int, default 32
        Side of the square input.

    Returns
    -------
    list of dict
        ``{"name": str, "types": [class, public base classes], "shape": list of int or
        None}``; the root module is left out.
    """
    from cnntopo.nets.activations import output_tensor

    shapes: dict[str, list[int] | None] = {}
    handles = []

    def hook(name: str) -> Callable[..., None]:
        def record(_module: nn.Module, _inputs: Any, output: Any) -> None:
            tensor = output_tensor(output)
            shapes[name] = None if tensor is None else [int(s) for s in tensor.shape[1:]]

        return record

    named = [(name, m) for name, m in model.named_modules() if name]
    for name, module in named:
        handles.append(module.register_forward_hook(hook(name)))
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        model(torch.zeros(1, 3, image_size, image_size, device=device))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return [{"name": n, "types": _public_types(m), "shape": shapes.get(n)} for n, m in named]


def count_parameters(model: nn.Module) -> int:
    """Total number of trainable parameters (as the official ``test(net)``)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def main(argv: list[str]) -> None:
    """``python -m cnntopo.nets.discovery '<json request>'``: print a network's module table.

    Used by :func:`cnntopo.nets.module_table.module_table`, so that building the DAG never
    imports torch itself.
    """
    from cnntopo.nets.factories import init_model

    request = json.loads(argv[0])
    torch.set_num_threads(1)
    model = init_model(
        request["arch"], request["width"], request["num_classes"], kwargs=request["kwargs"]
    )
    table = {
        "modules": describe_modules(model, request["image_size"]),
        "default": default_layers(request["arch"], model),
    }
    print(json.dumps(table))


if __name__ == "__main__":
    main(sys.argv[1:])
