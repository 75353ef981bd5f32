"""Layer shapes: the per-image output shape of a network's layers, and its point-cloud shape.

:func:`layer_shapes` is the one function for both cases: a network named by its
``model.arch`` (read from its module table, without torch) or a built
``torch.nn.Module`` (measured by running one blank image through it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from cnntopo.nets.module_table import module_table

__all__ = ["layer_shapes", "cloud_shape"]


def layer_shapes(
    network: Any = "resnet18_cifar",
    width: int = 64,
    image_size: int = 32,
    *,
    kwargs: Mapping | None = None,
    num_classes: int = 10,
    layers: Sequence[str] | None = None,
) -> dict[str, tuple[int, ...]]:
    """Per-image output shape of layers of a network (default: its ``all`` layers).

    With ``width=64`` and 32x32 inputs the paper's layers are 64x32x32 (stem and
    stage 1), 128x16x16, 256x8x8, 512x4x4 (docs/methods.md §3). Other networks give
    ``(c, h, w)`` for convolutions, ``(tokens, d)`` for transformer blocks, ``(c,)`` for
    linear layers.

    Parameters
    ----------
    network : str or torch.nn.Module, default "resnet18_cifar"
        A ``model.arch`` (its :func:`cnntopo.nets.module_table.module_table`; torch is
        not imported for the networks with a static table) or a built network (one
        all-zero ``(1, 3, image_size, image_size)`` image is run through it in eval mode
        on its own device, :func:`cnntopo.nets.discovery.describe_modules`).
    width : int, default 64
        ``model.width`` of a named network; ignored for a built one.
    image_size : int, default 32
        Side of the square input.
    kwargs : mapping, optional
        ``model.kwargs`` of a named network.
    num_classes : int, default 10
        Output logits of a named network.
    layers : sequence of str, optional
        The layers; default the table's ``all`` layers for a named network, the PH
        convolutions (:func:`cnntopo.nets.discovery.conv_layer_names`) of a built one.

    Returns
    -------
    dict of str to tuple of int
        In the order of ``layers`` (network order by default).

    Raises
    ------
    ValueError
        A requested layer does not exist or produces no tensor.
    """
    if isinstance(network, str):
        table = module_table(
            network, width=width, kwargs=kwargs, image_size=image_size, num_classes=num_classes
        )
    else:
        from cnntopo.nets.discovery import conv_layer_names, describe_modules

        table = {
            "modules": describe_modules(network, image_size),
            "default": conv_layer_names(network),
        }
    shapes = {m["name"]: tuple(m["shape"]) for m in table["modules"] if m["shape"] is not None}
    wanted = list(table["default"] if layers is None else layers)
    missing = [name for name in wanted if name not in shapes]
    if missing:
        raise ValueError(
            f"layers {missing} are not modules of the network that return a tensor; "
            f"e.g. {', '.join(list(shapes)[:10])}"
        )
    return {name: shapes[name] for name in wanted}


def cloud_shape(shape: Sequence[int]) -> tuple[int, int]:
    """``(vector length, positions)`` of a per-image layer output shape.

    ``(c, h, w, ...)`` -> ``(c, h*w*...)`` (channels first, every spatial position a
    vector); ``(tokens, d)`` -> ``(d, tokens)`` (a transformer's tokens are the
    positions); ``(c,)`` -> ``(c, 1)`` (one position, as a 1x1 map).

    >>> cloud_shape((64, 8, 8)), cloud_shape((197, 768)), cloud_shape((10,))
    ((64, 64), (768, 197), (10, 1))
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        return shape[0], 1
    if len(shape) == 2:
        return shape[1], shape[0]
    return shape[0], math.prod(shape[1:])
