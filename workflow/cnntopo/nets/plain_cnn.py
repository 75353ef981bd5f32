"""A plain CNN after Kornblith et al. 2019, for the layer-identification benchmark.

Kornblith et al. test representational-similarity measures on networks trained from
different random initialisations of one *plain* (residual-free) CNN on CIFAR-10: their
Table 2 (linear CKA identifies the corresponding layer in 99.3 % of cases) uses 10
architecturally identical 10-layer CNNs, described in their appendix: stacks of 3x3
convolutions, each followed by batch normalisation and a ReLU, the spatial resolution
halved between stages, global average pooling and a linear classifier. This module
builds that family at the layout used here:

====== ============ ======== =====================
layer  channels     stride   output (32x32 input)
====== ============ ======== =====================
conv1  width        1        width x 32 x 32
conv2  width        1        width x 32 x 32
conv3  2 width      2        2w x 16 x 16
conv4  2 width      1        2w x 16 x 16
conv5  4 width      2        4w x 8 x 8
conv6  4 width      1        4w x 8 x 8
conv7  8 width      2        8w x 4 x 4
conv8  8 width      1        8w x 4 x 4
====== ============ ======== =====================

followed by global average pooling and a linear layer (10 layers with weights counting
the BN-free head; ``width = 64`` gives 64 ... 512 channels). The eight convolutions are
the compared layers (their raw, pre-BN outputs, as for the ResNet). The stage layout
(two convolutions per resolution, as the paper's ResNet) lets the stage permutation
test group layers by resolution.

The second layout, ``"tiny10"``, is the *Tiny-10* CNN of Kornblith et al.'s appendix,
the 10-layer network of their layer-identification experiments (Table 2, Figure 2), with
their widths at ``width = 16``:

====== ============ ======== ========= =====================
layer  channels     kernel   stride    output (32x32 input)
====== ============ ======== ========= =====================
conv1  width        3x3      1         16 x 32 x 32
conv2  width        3x3      1         16 x 32 x 32
conv3  2 width      3x3      2         32 x 16 x 16
conv4  2 width      3x3      1         32 x 16 x 16
conv5  2 width      3x3      1         32 x 16 x 16
conv6  4 width      3x3      2         64 x 8 x 8
conv7  4 width      3x3      1, valid  64 x 6 x 6
conv8  4 width      1x1      1         64 x 6 x 6
====== ============ ======== ========= =====================

(8 convolutions with BN and ReLU, global average pooling and the logits: 10 layers.)
Its layers differ in more than depth (a valid-padded and a 1x1 convolution at the end,
three convolutions at 16 x 16), so it is the network in which their test is calibrated.

The layer table (:data:`LAYER_NAMES`, :func:`conv_shapes`, :func:`plain_module_table`)
needs no torch; the networks are built by :func:`build_plain_cnn`, registered in
:mod:`cnntopo.nets.registry` as ``"plain_cnn"`` and ``"tiny10"``.

References
----------
.. [1] Kornblith, S.; Norouzi, M.; Lee, H.; Hinton, G. 2019. Similarity of Neural
   Network Representations Revisited. ICML 2019, PMLR 97: 3519--3529, Table 2 and
   appendix (architectures of the CIFAR-10 CNNs). arXiv:1905.00414.
"""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["LAYOUTS", "LAYER_NAMES", "conv_shapes", "plain_module_table", "build_plain_cnn"]

#: The compared layers, in network order.
LAYER_NAMES: tuple[str, ...] = tuple(f"conv{i}" for i in range(1, 9))

#: Per layout: channel multiplier of ``width``, kernel side, stride and padding of every
#: convolution.
_LAYOUTS: dict[str, tuple[tuple[int, ...], ...]] = {
    "plain_cnn": ((1, 1, 2, 2, 4, 4, 8, 8), (3,) * 8, (1, 1, 2, 1, 2, 1, 2, 1), (1,) * 8),
    "tiny10": (
        (1, 1, 2, 2, 2, 4, 4, 4),
        (3, 3, 3, 3, 3, 3, 3, 1),
        (1, 1, 2, 1, 1, 2, 1, 1),
        (1, 1, 1, 1, 1, 1, 0, 0),
    ),
}

#: The layouts (architecture names in ``model.arch``).
LAYOUTS: tuple[str, ...] = tuple(_LAYOUTS)


def _layout(layout: str) -> tuple[tuple[int, ...], ...]:
    if layout not in _LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    return _LAYOUTS[layout]


def _check_width(width: Any) -> int:
    if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 1:
        raise ValueError(f"model width must be a positive integer, got {width!r}")
    return int(width)


def conv_shapes(
    width: int = 64, image_size: int = 32, layout: str = "plain_cnn"
) -> dict[str, tuple[int, int, int]]:
    """Per-image output shape ``(c, h, w)`` of every convolution (torch-free).

    Parameters
    ----------
    width : int, default 64
        Channels of the first stage.
    image_size : int, default 32
        Side of the square input images.
    layout : {"plain_cnn", "tiny10"}
        The network (module docstring).

    Returns
    -------
    dict of str to (int, int, int)
        In network order.
    """
    width = _check_width(width)
    shapes, side = {}, int(image_size)
    for name, mult, kernel, stride, pad in zip(LAYER_NAMES, *_layout(layout), strict=True):
        side = (side + 2 * pad - kernel) // stride + 1
        shapes[name] = (width * mult, side, side)
    return shapes


def plain_module_table(
    width: int = 64, image_size: int = 32, num_classes: int = 10, layout: str = "plain_cnn"
) -> dict:
    """Every module of the plain CNN with its type and per-image output shape (torch-free).

    The table :func:`cnntopo.nets.discovery.describe_modules` and
    :func:`cnntopo.nets.discovery.default_layers` compute from :func:`build_plain_cnn`'s
    network (``tests/nets/test_plain_cnn.py`` checks it), written down so that the DAG needs no
    torch.

    Parameters
    ----------
    width : int, default 64
        Channels of the first stage.
    image_size : int, default 32
        Side of the square input images.
    num_classes : int, default 10
        Logits of ``linear``.
    layout : {"plain_cnn", "tiny10"}
        The network (module docstring).

    Returns
    -------
    dict
        ``{"modules": [{"name", "types", "shape"}, ...], "default": list(LAYER_NAMES)}``,
        modules in ``named_modules()`` order.
    """
    modules = []
    shape: tuple[int, ...] = ()
    for i, (name, shape) in enumerate(conv_shapes(width, image_size, layout).items(), start=1):
        for module, kind in ((name, "Conv2d"), (f"bn{i}", "BatchNorm2d"), (f"relu{i}", "ReLU")):
            modules.append({"name": module, "types": [kind], "shape": list(shape)})
    channels = shape[0]
    modules += [
        {"name": "pool", "types": ["AdaptiveAvgPool2d"], "shape": [channels, 1, 1]},
        {"name": "flatten", "types": ["Flatten"], "shape": [channels]},
        {"name": "linear", "types": ["Linear"], "shape": [int(num_classes)]},
    ]
    return {"modules": modules, "default": list(LAYER_NAMES)}


def build_plain_cnn(width: int = 64, num_classes: int = 10, layout: str = "plain_cnn"):
    """The untrained plain CNN (weights from torch's global RNG).

    Parameters
    ----------
    width : int, default 64
        Channels of the first stage (``layout="tiny10"``: 16 = Kornblith et al.'s Tiny-10).
    num_classes : int, default 10
    layout : {"plain_cnn", "tiny10"}
        The network (module docstring).

    Returns
    -------
    torch.nn.Sequential
        Modules ``conv<i>``, ``bn<i>``, ``relu<i>`` (i = 1 ... 8), ``pool``
        (global average pooling), ``flatten`` and ``linear``; input ``(B, 3, H, W)``,
        logits ``(B, num_classes)``.
    """
    from collections import OrderedDict

    from torch import nn

    width = _check_width(width)
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    in_ch = 3
    for i, (mult, kernel, stride, pad) in enumerate(zip(*_layout(layout), strict=True), start=1):
        out_ch = width * mult
        modules[f"conv{i}"] = nn.Conv2d(
            in_ch, out_ch, kernel, stride=stride, padding=pad, bias=False
        )
        modules[f"bn{i}"] = nn.BatchNorm2d(out_ch)
        modules[f"relu{i}"] = nn.ReLU()
        in_ch = out_ch
    modules["pool"] = nn.AdaptiveAvgPool2d(1)
    modules["flatten"] = nn.Flatten()
    modules["linear"] = nn.Linear(in_ch, int(num_classes))
    return nn.Sequential(modules)
