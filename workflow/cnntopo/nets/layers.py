"""Layer names and shapes of the paper's networks, without importing torch.

The Snakefile needs the layer list to build the DAG; importing torch for that would
slow every ``snakemake`` call (and every cluster job, which re-parses the Snakefile).
These functions describe the architecture statically; ``tests/test_layers.py``
checks them against the real :mod:`cnntopo.nets.models` network.
"""

from __future__ import annotations

import fnmatch

__all__ = ["paper_layer_names", "layer_shapes", "resolve_layers"]

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


def layer_shapes(
    arch: str = "resnet18_cifar", width: int = 64, image_size: int = 32
) -> dict[str, tuple[int, int, int]]:
    """Per-image activation shape (channels, height, width) of every layer.

    With ``width=64`` and 32x32 inputs: 64x32x32 (stem and stage 1), 128x16x16,
    256x8x8, 512x4x4 (docs/methods.md §3).
    """
    shapes = {}
    for name in paper_layer_names(arch):
        if name == "conv1":
            stage = 0
        else:
            stage = int(name.split(".")[1])
        c = width * 2**stage
        hw = image_size // 2**stage
        shapes[name] = (c, hw, hw)
    return shapes


def resolve_layers(selection: str | list[str], arch: str = "resnet18_cifar") -> list[str]:
    """Turn the config's ``activations.layers`` ("all", names or glob patterns) into a list.

    Parameters
    ----------
    selection : "all" or list of str
        Layer names or :mod:`fnmatch` patterns such as ``"block_seq.3.*"``.
    arch : str
        Architecture name.

    Returns
    -------
    list of str
        The selected layers, in network order.

    Raises
    ------
    ValueError
        If a name or pattern matches no layer of ``arch`` (the message lists valid names).
    """
    names = paper_layer_names(arch)
    if selection == "all":
        return names
    unknown = [p for p in selection if not fnmatch.filter(names, p)]
    if unknown:
        raise ValueError(
            f"config key 'activations.layers': {unknown} match(es) no layer; "
            f"valid names: {', '.join(names)} (glob patterns such as 'block_seq.3.*' work too)"
        )
    return [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in selection)]
