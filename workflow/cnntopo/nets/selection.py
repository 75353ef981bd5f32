"""Layer selections: ``activations.layers`` (``all``, names, glob patterns, ``type:``) as names."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

from cnntopo.nets.module_table import module_table

__all__ = ["TYPE_PREFIX", "select_layers", "resolve_layers"]

#: Type prefix of a layer selection item (``type:Conv2d``).
TYPE_PREFIX = "type:"


def select_layers(
    table: Mapping, selection: str | Sequence[str], key: str = "activations.layers"
) -> list[str]:
    """Resolve ``activations.layers`` against a module table, in network order.

    Parameters
    ----------
    table : mapping
        A :func:`cnntopo.nets.module_table.module_table`.
    selection : "all" or sequence of str
        ``"all"`` = the table's default layers (the 17 conv layers of the paper
        network; every ``Conv2d`` of other networks). Otherwise a list whose items are
        exact module names (``layer1.0.conv1``), :mod:`fnmatch` glob patterns over the
        module names (``layer4.*.conv?``, ``encoder.layers.*``) or module types
        (``type:Conv2d``, ``type:BatchNorm2d``, ``type:ReLU``; a type matches a module of
        that class or a subclass). Their union is returned in network order; only
        modules that return a tensor in the forward pass are selectable.
    key : str, default "activations.layers"
        The config key of the selection (named in the error message).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        An item matches no layer; the message lists valid names or types.
    """
    if isinstance(selection, str) and selection != "all":
        selection = [selection]
    if selection == "all":
        return list(table["default"])
    modules = [m for m in table["modules"] if m["shape"] is not None]
    names = [m["name"] for m in modules]
    chosen: set[str] = set()
    problems = []
    for item in selection:
        if item.startswith(TYPE_PREFIX):
            kind = item[len(TYPE_PREFIX) :]
            hit = {m["name"] for m in modules if kind in m["types"]}
            if not hit:
                kinds = sorted({m["types"][0] for m in modules})
                problems.append(f"{item!r} matches no module; types here: {', '.join(kinds)}")
        else:
            hit = {item} if item in names else set(fnmatch.filter(names, item))
            if not hit:
                default = table["default"]
                pattern = default[-1].rsplit(".", 1)[0] + ".*" if default else "*"
                problems.append(
                    f"{item!r} matches no layer; e.g. {', '.join(default[:20])} (exact names, "
                    f"glob patterns such as '{pattern}' and types such as 'type:Conv2d' work)"
                )
        chosen |= hit
    if problems:
        raise ValueError(f"config key '{key}': " + "; ".join(problems))
    return [n for n in names if n in chosen]


def resolve_layers(
    selection: str | Sequence[str],
    arch: str = "resnet18_cifar",
    *,
    width: int = 64,
    kwargs: Mapping | None = None,
    image_size: int = 32,
    num_classes: int = 10,
) -> list[str]:
    """``activations.layers`` as layer names of ``arch``, in network order.

    :func:`select_layers` on the :func:`cnntopo.nets.module_table.module_table` of the
    network.
    """
    table = module_table(
        arch, width=width, kwargs=kwargs, image_size=image_size, num_classes=num_classes
    )
    return select_layers(table, selection)
