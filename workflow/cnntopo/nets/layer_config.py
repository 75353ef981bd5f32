"""The layers a validated config records, for the PH (``model``) and Mapper branches.

What the Snakefile asks at DAG time (torch-free): the network settings of a config
section (:func:`model_settings`), the PH layers (:func:`config_layers`) and the Mapper
layers (:func:`mapper_config_layers`), each with its per-image output shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cnntopo.nets.module_table import module_table
from cnntopo.nets.selection import TYPE_PREFIX, select_layers

__all__ = ["MAPPER_ARCH", "model_settings", "config_layers", "is_option_b", "mapper_config_layers"]

#: The Mapper branch's default network: the paper's option-B ResNet-18, whose mapper
#: layers and shapes are known statically (:mod:`cnntopo.nets.layers_option_b`).
MAPPER_ARCH = "resnet18_mapper"


def model_settings(config: Mapping, branch: str = "ph") -> dict[str, Any]:
    """The settings that define a network's modules, from a validated config.

    Parameters
    ----------
    config : mapping
        A validated configuration.
    branch : {"ph", "mapper"}, default "ph"
        ``"mapper"`` reads ``mapper.model`` instead of ``model``.

    Returns
    -------
    dict
        ``arch``, ``width``, ``kwargs``, ``image_size`` and ``num_classes``
        (``model.kwargs``' own, else the number of classes of the dataset, read without
        loading it; 10 when the dataset is not there yet).
    """
    model = config["mapper"]["model"] if branch == "mapper" else config["model"]
    dataset = config["dataset"]
    kwargs = dict(model["kwargs"])
    num_classes = kwargs.pop("num_classes", None)
    if num_classes is None:
        from cnntopo.nets.datasets import class_names

        try:
            num_classes = len(class_names(dataset["name"], dataset["root"]))
        except (OSError, ValueError):
            num_classes = 10
    return {
        "arch": model["arch"],
        "width": model["width"],
        "kwargs": kwargs,
        "image_size": dataset["image_size"],
        "num_classes": int(num_classes),
    }


def config_layers(config: Mapping) -> tuple[list[str], dict[str, tuple[int, ...]]]:
    """The recorded layers of a validated config and their per-image output shapes.

    Returns
    -------
    layers : list of str
        ``activations.layers`` resolved by :func:`cnntopo.nets.selection.select_layers`,
        in network order.
    shapes : dict of str to tuple of int
        Output shape of each of ``layers`` (see :func:`cnntopo.nets.shapes.cloud_shape`).
    """
    settings = model_settings(config)
    arch = settings.pop("arch")
    table = module_table(arch, **settings)
    layers = select_layers(table, config["activations"]["layers"])
    shapes = {m["name"]: tuple(m["shape"]) for m in table["modules"] if m["name"] in layers}
    return layers, {name: shapes[name] for name in layers}


def is_option_b(mapper_model: Mapping) -> bool:
    """Whether ``mapper.model`` is the paper's option-B network.

    That network has a static layer table and the receptive fields of the foreground /
    background clouds; its only builder argument, ``shortcut: B``, and ``num_classes``
    leave its layers unchanged.
    """
    return mapper_model["arch"] == MAPPER_ARCH


def mapper_config_layers(
    config: Mapping, key: str = "layers"
) -> tuple[list[str], dict[str, tuple[int, ...]]]:
    """A Mapper layer selection (``mapper.<key>``) of a validated config, and the shapes.

    For the option-B network (``mapper.model.arch: resnet18_mapper``) names, glob
    patterns and ``all`` (its 17 BatchNorm layers)
    are resolved statically (:func:`cnntopo.nets.layers_option_b.resolve_mapper_layers`);
    ``type:`` items, and any other network, use the network's module table
    (:func:`cnntopo.nets.selection.select_layers`; ``all`` = every ``Conv2d``).

    Parameters
    ----------
    config : mapping
        A validated configuration.
    key : str, default "layers"
        ``"layers"``, ``"fgbg_layers"`` or ``"noise.layers"``.

    Returns
    -------
    layers : list of str
        Network order.
    shapes : dict of str to tuple of int
        Per-image output shape of each layer: ``(c, h, w)``, ``(tokens, d)`` or ``(c,)``.

    Raises
    ------
    ValueError
        An item matches no layer; the message names the key and lists valid names.
    """
    from cnntopo.nets.layers_option_b import mapper_layer_shapes, resolve_mapper_layers

    node: Any = config["mapper"]
    for part in key.split("."):
        node = node[part]
    selection = node
    items = [selection] if isinstance(selection, str) else list(selection)
    settings = model_settings(config, "mapper")
    arch = settings.pop("arch")
    if is_option_b(config["mapper"]["model"]) and not any(i.startswith(TYPE_PREFIX) for i in items):
        try:
            layers = resolve_mapper_layers(selection)
        except ValueError as err:
            raise ValueError(f"config key 'mapper.{key}': {err}") from err
        shapes = mapper_layer_shapes(settings["width"], settings["image_size"])
    else:
        table = module_table(arch, **settings)
        layers = select_layers(table, selection, key=f"mapper.{key}")
        shapes = {m["name"]: tuple(m["shape"]) for m in table["modules"] if m["name"] in layers}
    return layers, {name: tuple(shapes[name]) for name in layers}
