"""Layer names, shapes and selections of the mapper ResNet-18 (no torch import).

The paper's mapper experiments (Purvine et al. 2023, official ``AAAI-code-mapper``)
hook the 17 ``BatchNorm2d`` modules of the "kuangliu" CIFAR ResNet-18 that are not in a
shortcut: the stem ``bn1`` and ``layer{1-4}.{0,1}.bn{1,2}``, in network order. This
module only knows their names and shapes, so the Snakefile can import it without torch;
the network itself is :class:`cnntopo.nets.resnet_option_b.MapperResNet18`.

References
----------
.. [1] Purvine, E., et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI. arXiv:2212.00222.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

__all__ = [
    "FGBG_LAYERS",
    "NOISE_LAYERS",
    "PANEL_LAYERS",
    "mapper_conv_name",
    "mapper_layer_names",
    "mapper_layer_shapes",
    "resolve_mapper_layers",
]

#: Channel multiplier of each of the four stages relative to the width.
_STAGE_MULTIPLIERS: tuple[int, ...] = (1, 2, 4, 8)

#: BasicBlocks per stage (ResNet-18).
_BLOCKS_PER_STAGE: tuple[int, ...] = (2, 2, 2, 2)

#: Layers of the foreground / background clouds (docs/methods.md §11), in network
#: order. The official scripts list them deepest first (``layers_name_selected``).
FGBG_LAYERS: tuple[str, ...] = (
    "layer1.1.bn2",
    "layer2.1.bn2",
    "layer3.1.bn2",
    "layer4.0.bn2",
    "layer4.1.bn1",
    "layer4.1.bn2",
)

#: The only layer of the official noise variants (docs/methods.md §11).
NOISE_LAYERS: tuple[str, ...] = ("layer4.1.bn2",)

#: The six layers that are most likely the panels of the CIFAR-10 mapper figure(s)
#: (docs/methods.md §14, inferred from the selected-layer list of the official code).
PANEL_LAYERS: tuple[str, ...] = FGBG_LAYERS


def mapper_layer_names() -> list[str]:
    """The 17 mapper layers in network order.

    Returns
    -------
    list of str
        ``["bn1", "layer1.0.bn1", "layer1.0.bn2", "layer1.1.bn1", ..., "layer4.1.bn2"]``:
        the non-shortcut ``BatchNorm2d`` modules, as in ``named_modules()`` order.
    """
    names = ["bn1"]
    for stage, n_blocks in enumerate(_BLOCKS_PER_STAGE, start=1):
        for block in range(n_blocks):
            names += [f"layer{stage}.{block}.bn1", f"layer{stage}.{block}.bn2"]
    return names


def _check_positive_int(value: int, what: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def mapper_layer_shapes(width: int = 64, image_size: int = 32) -> dict[str, tuple[int, int, int]]:
    """Per-image activation shape ``(c, h, w)`` of every mapper layer.

    Stage ``s`` (1-4) has ``width * 2**(s-1)`` channels; stages 2-4 halve the side with
    a stride-2 3x3 convolution (padding 1), i.e. ``h -> ceil(h / 2)``.

    Parameters
    ----------
    width : int, default 64
        Channels of the stem and of stage 1 (64 in the paper).
    image_size : int, default 32
        Side of the square input.

    Returns
    -------
    dict of str to (int, int, int)
        In network order. For the paper (width 64, 32x32): ``64x32x32`` for ``bn1`` and
        ``layer1.*``, ``128x16x16``, ``256x8x8`` and ``512x4x4`` for ``layer2..4.*``.
    """
    width = _check_positive_int(width, "width")
    side = _check_positive_int(image_size, "image_size")
    shapes = {"bn1": (width, side, side)}
    for stage, (mult, n_blocks) in enumerate(
        zip(_STAGE_MULTIPLIERS, _BLOCKS_PER_STAGE, strict=True), start=1
    ):
        if stage > 1:
            side = (side + 1) // 2
        for block in range(n_blocks):
            for bn in ("bn1", "bn2"):
                shapes[f"layer{stage}.{block}.{bn}"] = (width * mult, side, side)
    return shapes


def mapper_conv_name(layer: str) -> str:
    """The convolution feeding a mapper BN layer (``bn1 -> conv1``, ``...bn2 -> ...conv2``).

    This is the official ``bn2conv`` mapping (BN and conv names paired in module order).

    Raises
    ------
    ValueError
        ``layer`` is not a mapper layer.
    """
    _check_names([layer])
    head, _, tail = layer.rpartition(".")
    conv = "conv" + tail[len("bn") :]
    return f"{head}.{conv}" if head else conv


def _check_names(names: Sequence[str]) -> None:
    valid = mapper_layer_names()
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise ValueError(
            f"unknown mapper layer(s): {', '.join(map(repr, unknown))}; "
            f"valid names: {', '.join(valid)}"
        )


def resolve_mapper_layers(selection: str | Sequence[str]) -> list[str]:
    """Expand a layer selection into mapper layer names in network order.

    Parameters
    ----------
    selection : str or sequence of str
        ``"all"`` (the 17 layers), one name or glob pattern (``fnmatch`` syntax, e.g.
        ``"layer4.*"`` or ``"layer?.1.bn2"``), or a list of names / patterns.
        Duplicates are removed.

    Returns
    -------
    list of str
        The selected layers in network order (not in the order given).

    Raises
    ------
    ValueError
        An entry matches no layer, or the selection is empty; the message lists the
        valid names.
    """
    valid = mapper_layer_names()
    items = [selection] if isinstance(selection, str) else list(selection)
    if not items:
        raise ValueError(f"empty mapper layer selection; valid names: {', '.join(valid)}")
    chosen: set[str] = set()
    unknown = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"mapper layer selections must be strings, got {item!r}")
        if item == "all":
            chosen.update(valid)
            continue
        matches = [name for name in valid if fnmatch.fnmatchcase(name, item)]
        if not matches:
            unknown.append(item)
        chosen.update(matches)
    if unknown:
        raise ValueError(
            f"unknown mapper layer(s) or pattern(s) matching nothing: "
            f"{', '.join(map(repr, unknown))}; valid names: {', '.join(valid)} (or 'all')"
        )
    return [name for name in valid if name in chosen]
