"""Receptive-field response tables of the mapper layers (the official "fake" network).

The foreground / background point clouds of the paper (docs/methods.md §11;
official ``cifar_extract_full_activations_{foreground,background}.py``) weight every
spatial position of a layer by how strongly it responds to the foreground (background)
pixels. The response is measured on a "fake" copy of the mapper ResNet-18:

- every convolution weight (shortcut 1x1 convolutions included) is ``0.001``; there
  is no BN; the ReLUs are kept; the forward pass is the real one, including the
  in-place ``out += shortcut(x)``;
- it is fed ``S*S`` one-hot images (pixel ``(i, j)`` set to 1 in all three channels,
  image index ``i*S + j``);
- forward hooks store *references* to the (non-shortcut) convolution outputs, so the
  stored ``conv2`` output of every block is ``conv2(...) + shortcut(x)``, exactly like the
  stored ``bn2`` activations of the real network;
- per convolution the table ``T[i, j, p]`` is the channel-l2 norm of the response at
  position ``(i, j)`` to one-hot image ``p``; BN layer names are mapped to convolution
  names in module order (``layerX.Y.bnZ -> layerX.Y.convZ``). The official code drops
  the stem ``conv1`` table; here it is available for the stem ``bn1`` too.

Because all weights are equal and the input is the same in every channel, all
channels of a layer carry the same value, so the table is computed exactly with one
channel per layer: a convolution becomes ``0.001 * C_in * box3(v)`` (a 3x3 all-ones
box filter with the layer's stride and padding), a 1x1 shortcut ``0.001 * C_in *
v[::s, ::s]``, and the channel norm is ``sqrt(C_out) * v``. ``tests/mapper/test_mapper_clouds.py``
checks this against an explicit fake network with hooks.

**Width.** The table is not a pure rescaling across widths: the identity shortcut of a
``*.bn2`` layer adds its input unscaled while the convolution path is multiplied by
``(0.001 * C)**2``, so the balance between the two (and hence the ranking of positions)
changes with ``C``. ``width=64`` reproduces the paper's fake network and is the default
whatever the width of the real model.

References
----------
.. [1] Purvine, E., et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI. arXiv:2212.00222.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from cnntopo.nets.layers_option_b import mapper_layer_names

__all__ = ["FAKE_WEIGHT", "receptive_field_table"]

#: Value of every convolution weight of the official fake network.
FAKE_WEIGHT: float = 0.001

_STAGE_MULTIPLIERS: tuple[int, ...] = (1, 2, 4, 8)
_BLOCKS_PER_STAGE: tuple[int, ...] = (2, 2, 2, 2)


def _box3(v: torch.Tensor, stride: int) -> torch.Tensor:
    """3x3 all-ones convolution (padding 1, ``stride``) of a single-channel batch ``(P, 1, h, w)``.

    Computed as two separable sums of shifted slices, which is exact up to the order of
    floating-point additions and much faster than ``conv2d`` in float64.
    """
    p = F.pad(v, (1, 1, 1, 1))
    rows = p[:, :, :-2, :] + p[:, :, 1:-1, :] + p[:, :, 2:, :]
    out = rows[:, :, :, :-2] + rows[:, :, :, 1:-1] + rows[:, :, :, 2:]
    return out[:, :, ::stride, ::stride] if stride != 1 else out


def _fake_responses(layer: str, image_size: int, width: int) -> tuple[torch.Tensor, int]:
    """Per-channel response ``(S*S, 1, n, n)`` at ``layer`` and its channel count."""
    size = image_size
    onehot = torch.eye(size * size, dtype=torch.float64).view(size * size, 1, size, size)
    # stem conv1: 3 identical input channels
    v = FAKE_WEIGHT * 3 * _box3(onehot, 1)
    if layer == "bn1":
        return v, width
    a = F.relu(v)
    in_c = width
    for stage, (mult, n_blocks) in enumerate(
        zip(_STAGE_MULTIPLIERS, _BLOCKS_PER_STAGE, strict=True), start=1
    ):
        planes = width * mult
        for block in range(n_blocks):
            stride = 2 if (stage > 1 and block == 0) else 1
            name = f"layer{stage}.{block}"
            c1 = FAKE_WEIGHT * in_c * _box3(a, stride)
            if layer == f"{name}.bn1":
                return c1, planes
            c2 = FAKE_WEIGHT * planes * _box3(F.relu(c1), 1)
            if stride != 1 or in_c != planes:
                shortcut = FAKE_WEIGHT * in_c * a[:, :, ::stride, ::stride]
            else:
                shortcut = a
            out = c2 + shortcut
            if layer == f"{name}.bn2":
                return out, planes
            a = F.relu(out)
            in_c = planes
    raise AssertionError(f"unreachable: {layer!r}")  # pragma: no cover


@functools.lru_cache(maxsize=64)
def _table(layer: str, image_size: int, width: int) -> np.ndarray:
    v, channels = _fake_responses(layer, image_size, width)
    n_pix, _, h, w = v.shape
    table = (np.sqrt(channels) * v.reshape(n_pix, h * w)).T.contiguous().numpy()
    table.setflags(write=False)
    return table


def receptive_field_table(layer: str, image_size: int = 32, width: int = 64) -> np.ndarray:
    """Receptive-field response table of a mapper layer (official fake network).

    Parameters
    ----------
    layer : str
        A mapper layer (:func:`cnntopo.nets.layers_option_b.mapper_layer_names`).
    image_size : int, default 32
        Side ``S`` of the square input.
    width : int, default 64
        Width of the fake network (64 = the paper's; see the module docstring for why
        the result is not simply proportional across widths).

    Returns
    -------
    numpy.ndarray, shape (h * w, S * S), dtype float64, read-only
        ``T[q, p]``: channel-l2 norm of the response at position ``q = row * w + col``
        of the layer to the one-hot image of pixel ``p = i * S + j``; the official
        ``activation_norm_dict[conv]`` reshaped from ``(h, w, S*S)``. Non-negative; zero
        where ``p`` is outside the receptive field of ``q``. Cached per argument triple
        (computing it takes milliseconds for 32x32).

    Raises
    ------
    ValueError
        Unknown layer, or ``image_size`` / ``width`` not a positive integer.
    """
    if layer not in mapper_layer_names():
        raise ValueError(
            f"unknown mapper layer {layer!r}; valid names: {', '.join(mapper_layer_names())}"
        )
    for value, what in ((image_size, "image_size"), (width, "width")):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return _table(layer, int(image_size), int(width))
