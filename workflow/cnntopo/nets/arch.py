"""``model.arch``: its three forms, parsed and checked without importing torch.

A built-in network (:func:`cnntopo.nets.registry.builtin_archs`),
``torchvision:<builder>`` (checked against the builders of the installed torchvision,
read from its source files) or ``python:<file.py>:<factory>`` (the file must define
``factory``).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cnntopo.nets.registry import builtin_archs

__all__ = ["ARCH_FORMS", "ArchSpec", "parse_arch", "check_arch", "torchvision_builders"]

#: The forms ``model.arch`` accepts (for error messages).
ARCH_FORMS = (
    "resnet18_cifar (the paper's network), torchvision:<builder> (any torchvision "
    "classification builder, e.g. torchvision:resnet50), python:<path/to/file.py>:<factory> "
    "(factory(num_classes) returns a torch.nn.Module)"
)


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


def check_arch(arch: str, builtins: Sequence[str] | None = None) -> ArchSpec:
    """Parse ``model.arch`` and check that the network it names exists, without torch.

    Parameters
    ----------
    arch : str
        ``model.arch``.
    builtins : sequence of str, optional
        Valid built-in names (the schema's list); default
        :func:`cnntopo.nets.registry.builtin_archs`.

    Returns
    -------
    ArchSpec

    Raises
    ------
    ValueError
        Unknown built-in or torchvision builder (the message lists the valid ones),
        missing factory file or factory; the message names the fix.
    """
    builtins = builtin_archs() if builtins is None else tuple(builtins)
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
