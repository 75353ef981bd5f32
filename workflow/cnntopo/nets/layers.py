"""Architectures by name and layers by name, pattern or type, without importing torch.

The Snakefile needs the list of recorded layers (one output per layer) and their
shapes (job sizes) to build the DAG; importing torch for that would slow every
``snakemake`` call and every cluster job, which re-parses the Snakefile. So:

- ``model.arch`` is parsed and checked here: a built-in network (``resnet18_cifar``),
  ``torchvision:<builder>`` (checked against the builders of the installed torchvision,
  read from its source files) or ``python:<file.py>:<factory>`` (the file must define
  ``factory``).
- The module table of the paper's network (every module's name, type and output shape)
  is written down statically (:func:`paper_module_table`; ``tests/test_layers.py``
  checks it against the real network).
- For any other network the table is computed once by building the model in a
  subprocess (``python -m cnntopo.nets.models``) and cached as a small JSON file keyed
  by everything it depends on (:func:`module_table`).
- :func:`select_layers` turns ``activations.layers`` (``"all"``, exact names, glob
  patterns, ``type:<ModuleClass>``) into layer names in network order.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ArchSpec",
    "ARCH_FORMS",
    "parse_arch",
    "check_arch",
    "torchvision_builders",
    "paper_layer_names",
    "paper_module_table",
    "module_table",
    "select_layers",
    "resolve_layers",
    "layer_shapes",
    "cloud_shape",
    "cache_dir",
    "model_settings",
    "config_layers",
    "MAPPER_ARCH",
    "is_option_b",
    "mapper_config_layers",
    "bounded_batch_size",
]

#: The forms ``model.arch`` accepts (for error messages).
ARCH_FORMS = (
    "resnet18_cifar (the paper's network), torchvision:<builder> (any torchvision "
    "classification builder, e.g. torchvision:resnet50), python:<path/to/file.py>:<factory> "
    "(factory(num_classes) returns a torch.nn.Module)"
)

#: Built-in networks whose module table is known statically (no torch at DAG time).
_STATIC = ("resnet18_cifar",)

#: Version of the module tables computed by ``cnntopo.nets.models`` (part of the cache key).
_TABLE_FORMAT = 1

#: Type prefix of a layer selection item (``type:Conv2d``).
TYPE_PREFIX = "type:"

_STAGES = 4
_BLOCKS = 2


@dataclass(frozen=True)
class ArchSpec:
    """A parsed ``model.arch``.

    Attributes
    ----------
    kind : {"builtin", "torchvision", "python"}
    name : str
        Built-in name, torchvision builder, or factory function name.
    path : str or None
        The factory's file (kind ``"python"``).
    """

    kind: str
    name: str
    path: str | None = None


def parse_arch(arch: str) -> ArchSpec:
    """Split ``model.arch`` into its kind and parts (syntax only; see :func:`check_arch`).

    Raises
    ------
    ValueError
        Not one of the forms of :data:`ARCH_FORMS`.
    """
    if not isinstance(arch, str) or not arch:
        raise ValueError(f"config key 'model.arch': {arch!r} is not valid; valid: {ARCH_FORMS}")
    if arch.startswith("torchvision:"):
        name = arch.split(":", 1)[1]
        if name.isidentifier():
            return ArchSpec("torchvision", name)
    elif arch.startswith("python:"):
        path, _, factory = arch[len("python:") :].rpartition(":")
        if path.endswith(".py") and factory.isidentifier():
            return ArchSpec("python", factory, path)
    elif ":" not in arch and arch.isidentifier():
        return ArchSpec("builtin", arch)
    raise ValueError(f"config key 'model.arch': {arch!r} is not valid; valid: {ARCH_FORMS}")


@functools.lru_cache(maxsize=1)
def torchvision_builders() -> tuple[str, ...]:
    """Classification builders of the installed torchvision, read from its source files.

    The functions decorated with ``@register_model()`` in ``torchvision/models/*.py``
    (not the detection, segmentation, video, optical-flow or quantization subpackages),
    sorted; the same names as ``torchvision.models.list_models(torchvision.models)``,
    found without importing torch.

    Raises
    ------
    ValueError
        torchvision is not installed.
    """
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "model.arch 'torchvision:...' needs torchvision; run ./setup.sh "
            "(requirements.txt pins it)"
        )
    models = Path(list(spec.submodule_search_locations)[0]) / "models"
    names = set()
    for path in sorted(models.glob("*.py")):
        text = path.read_text()
        if "register_model" not in text:
            continue
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and getattr(d.func, "id", None) == "register_model"
                for d in node.decorator_list
            ):
                names.add(node.name)
    return tuple(sorted(names))


def _factory_defined(path: Path, factory: str) -> bool:
    """Whether the Python file defines ``factory`` at top level (without running it)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == factory:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == factory for t in node.targets
        ):
            return True
        if isinstance(node, ast.ImportFrom | ast.Import) and any(
            (a.asname or a.name.split(".")[0]) == factory for a in node.names
        ):
            return True
    return False


def check_arch(arch: str, builtins: Sequence[str] = _STATIC) -> ArchSpec:
    """Parse ``model.arch`` and check that the network it names exists, without torch.

    Parameters
    ----------
    arch : str
        ``model.arch``.
    builtins : sequence of str
        Valid built-in names (the schema's list).

    Returns
    -------
    ArchSpec

    Raises
    ------
    ValueError
        Unknown built-in or torchvision builder (the message lists the valid ones),
        missing factory file or factory; the message names the fix.
    """
    spec = parse_arch(arch)
    if spec.kind == "builtin" and spec.name not in builtins:
        raise ValueError(
            f"config key 'model.arch': unknown network {arch!r}; built-in: "
            f"{', '.join(builtins)}; or use {ARCH_FORMS}"
        )
    if spec.kind == "torchvision" and spec.name not in torchvision_builders():
        raise ValueError(
            f"config key 'model.arch': torchvision has no classification builder "
            f"{spec.name!r}; valid: {', '.join(torchvision_builders())}"
        )
    if spec.kind == "python":
        path = Path(spec.path)
        if not path.is_file():
            raise ValueError(
                f"config key 'model.arch': factory file {path} not found (relative paths are "
                f"relative to the working directory {Path.cwd()})"
            )
        try:
            defined = _factory_defined(path, spec.name)
        except SyntaxError as err:
            raise ValueError(f"config key 'model.arch': {path} is not valid Python: {err}") from err
        if not defined:
            raise ValueError(
                f"config key 'model.arch': {path} defines no top-level {spec.name!r}; define "
                f"`def {spec.name}(num_classes): ...` returning a torch.nn.Module"
            )
    return spec


# --------------------------------------------------------------------------- the paper network


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

    The same table as ``cnntopo.nets.models.describe_modules`` computes from the real
    network (``tests/test_layers.py``), written down so that the DAG needs no torch.

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


# --------------------------------------------------------------------------- any network


def cache_dir() -> Path:
    """Folder of the module-table cache: ``$CNNTOPO_CACHE`` or ``~/.cache/cnntopo``."""
    root = os.environ.get("CNNTOPO_CACHE") or Path.home() / ".cache" / "cnntopo"
    return Path(root) / "modules"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _request(
    arch: str, width: int, kwargs: Mapping, image_size: int, num_classes: int
) -> dict[str, Any]:
    spec = parse_arch(arch)
    request = {
        "format": _TABLE_FORMAT,
        "arch": arch,
        "width": int(width),
        "kwargs": dict(kwargs),
        "image_size": int(image_size),
        "num_classes": int(num_classes),
        "versions": [_version("torch"), _version("torchvision")],
    }
    if spec.kind == "python":
        request["factory_sha256"] = hashlib.sha256(Path(spec.path).read_bytes()).hexdigest()
    return request


def module_table(
    arch: str,
    *,
    width: int = 64,
    kwargs: Mapping | None = None,
    image_size: int = 32,
    num_classes: int = 10,
) -> dict:
    """Names, types and output shapes of every module of a network, in network order.

    The paper network's table is static (:func:`paper_module_table`). Any other
    network is built once in a subprocess (``python -m cnntopo.nets.models``, which
    runs one blank image through it) and the table is cached in :func:`cache_dir`
    under a hash of the architecture, ``width``, ``kwargs``, ``image_size``,
    ``num_classes``, the torch and torchvision versions, the table format and (for
    ``python:`` archs) the factory file's contents; this process never imports torch.

    Returns
    -------
    dict
        ``{"modules": [{"name", "types", "shape"}, ...], "default": [names]}``;
        ``types`` are the module's class and its public base classes,
        ``shape`` its per-image output shape (null if it produced no tensor or did
        not run), ``default`` the layers of ``activations.layers: all``.

    Raises
    ------
    ValueError
        The network could not be built or run; the message carries its error.
    """
    kwargs = dict(kwargs or {})
    if parse_arch(arch).kind == "builtin" and arch in _STATIC and not kwargs:
        return paper_module_table(width, image_size, num_classes)
    request = _request(arch, width, kwargs, image_size, num_classes)
    key = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:20]
    path = cache_dir() / f"{key}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text())["table"]
        except (ValueError, KeyError):
            pass  # a damaged cache file: compute again
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "cnntopo.nets.models", json.dumps(request)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no output"
        raise ValueError(
            f"config key 'model.arch': could not build {arch!r} with model.kwargs {kwargs} "
            f"for {image_size}x{image_size} inputs: {detail}"
        )
    table = json.loads(proc.stdout.strip().splitlines()[-1])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"request": request, "table": table}))
    tmp.replace(path)
    return table


def select_layers(
    table: Mapping, selection: str | Sequence[str], key: str = "activations.layers"
) -> list[str]:
    """Resolve ``activations.layers`` against a module table, in network order.

    Parameters
    ----------
    table : mapping
        A :func:`module_table`.
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

    :func:`select_layers` on the :func:`module_table` of the network.
    """
    table = module_table(
        arch, width=width, kwargs=kwargs, image_size=image_size, num_classes=num_classes
    )
    return select_layers(table, selection)


def layer_shapes(
    arch: str = "resnet18_cifar",
    width: int = 64,
    image_size: int = 32,
    *,
    kwargs: Mapping | None = None,
    num_classes: int = 10,
    layers: Sequence[str] | None = None,
) -> dict[str, tuple[int, ...]]:
    """Per-image output shape of every layer (default: the ``all`` layers).

    With ``width=64`` and 32x32 inputs the paper's layers are 64x32x32 (stem and
    stage 1), 128x16x16, 256x8x8, 512x4x4 (docs/methods.md §3). Other networks give
    ``(c, h, w)`` for convolutions, ``(tokens, d)`` for transformer blocks, ``(c,)`` for
    linear layers.
    """
    table = module_table(
        arch, width=width, kwargs=kwargs, image_size=image_size, num_classes=num_classes
    )
    shapes = {m["name"]: tuple(m["shape"]) for m in table["modules"] if m["shape"] is not None}
    wanted = table["default"] if layers is None else layers
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


def model_settings(config: Mapping, branch: str = "ph") -> dict[str, Any]:
    """The settings that define a network's modules, from a validated config.

    ``arch``, ``width``, ``kwargs``, ``image_size`` and ``num_classes`` (``model.kwargs``'
    own, else the number of classes of the dataset, read without loading it; 10 when the
    dataset is not there yet). ``branch="mapper"`` reads ``mapper.model`` instead of
    ``model``.
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
        ``activations.layers`` resolved by :func:`select_layers`, in network order.
    shapes : dict of str to tuple of int
        Output shape of each of ``layers`` (see :func:`cloud_shape`).
    """
    settings = model_settings(config)
    arch = settings.pop("arch")
    table = module_table(arch, **settings)
    layers = select_layers(table, config["activations"]["layers"])
    shapes = {m["name"]: tuple(m["shape"]) for m in table["modules"] if m["name"] in layers}
    return layers, {name: shapes[name] for name in layers}


#: The Mapper branch's default network: the paper's option-B ResNet-18, whose mapper
#: layers and shapes are known statically (:mod:`cnntopo.nets.layers_option_b`).
MAPPER_ARCH = "resnet18_mapper"


def is_option_b(mapper_model: Mapping) -> bool:
    """Whether ``mapper.model`` is the paper's option-B network (static layer table,
    receptive fields of the foreground / background clouds); its only builder argument,
    ``shortcut: B``, and ``num_classes`` leave its layers unchanged."""
    return mapper_model["arch"] == MAPPER_ARCH


def mapper_config_layers(
    config: Mapping, key: str = "layers"
) -> tuple[list[str], dict[str, tuple[int, ...]]]:
    """A Mapper layer selection (``mapper.<key>``) of a validated config, and the shapes.

    For the option-B network (``mapper.model.arch: resnet18_mapper``) names, glob
    patterns and ``all`` (its 17 BatchNorm layers)
    are resolved statically (:func:`cnntopo.nets.layers_option_b.resolve_mapper_layers`);
    ``type:`` items, and any other network, use the network's :func:`module_table`
    (:func:`select_layers`; ``all`` = every ``Conv2d``).

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


def bounded_batch_size(
    shapes: Mapping[str, Sequence[int]], batch_size: int, max_batch_mb: float | None
) -> int:
    """Images per forward pass such that the recorded float32 outputs stay under a bound.

    Parameters
    ----------
    shapes : mapping of str to sequence of int
        Per-image output shape of every recorded layer.
    batch_size : int
        The wanted batch size (``activations.batch_size``).
    max_batch_mb : float or None
        ``activations.max_batch_mb``; None = no bound.

    Returns
    -------
    int
        ``min(batch_size, max_batch_mb // MB per image)``, at least 1.

    >>> bounded_batch_size({"a": (256, 56, 56)}, 250, 2048)  # 3.1 MB per image
    250
    >>> bounded_batch_size({"a": (256, 56, 56)}, 250, 100)
    32
    """
    if max_batch_mb is None:
        return int(batch_size)
    per_image = 4 * sum(math.prod(shape) for shape in shapes.values())
    return max(1, min(int(batch_size), int(max_batch_mb * 2**20) // max(per_image, 1)))
