"""Module tables: every module of a network with its types and output shape, without torch.

The Snakefile needs the recorded layers (one output per layer) and their shapes (job
sizes) to build the DAG; importing torch for that would slow every ``snakemake`` call
and every cluster job, which re-parses the Snakefile. So a built-in network with a static
table (:func:`cnntopo.nets.registry.static_module_table`) is described without building
it, and any other network is built once in a subprocess (``python -m
cnntopo.nets.discovery``) and its table cached as a small JSON file keyed by everything
it depends on.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cnntopo.artifacts import write_text
from cnntopo.nets.arch import parse_arch
from cnntopo.nets.registry import static_module_table

__all__ = ["TABLE_FORMAT", "cache_dir", "module_table"]

#: Version of the module tables computed by :mod:`cnntopo.nets.discovery` (part of the
#: cache key).
TABLE_FORMAT = 1


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
    """What a computed table depends on (hashed into its cache key; sent to the subprocess)."""
    spec = parse_arch(arch)
    request = {
        "format": TABLE_FORMAT,
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

    A built-in network with a static table and no ``kwargs`` is described without
    building it (:func:`cnntopo.nets.registry.static_module_table`). Any other network
    is built once in a subprocess (``python -m cnntopo.nets.discovery``, which runs one
    blank image through it) and the table is cached in :func:`cache_dir` under a hash
    of the architecture, ``width``, ``kwargs``, ``image_size``, ``num_classes``, the
    torch and torchvision versions, the table format and (for ``python:`` archs) the
    factory file's contents; this process never imports torch.

    Parameters
    ----------
    arch : str
        ``model.arch``.
    width : int, default 64
        ``model.width`` (built-in networks).
    kwargs : mapping, optional
        ``model.kwargs``.
    image_size : int, default 32
        Side of the square input.
    num_classes : int, default 10
        Output logits.

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
    if parse_arch(arch).kind == "builtin" and not kwargs:
        table = static_module_table(arch, int(width), int(image_size), int(num_classes))
        if table is not None:
            return table
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
        [sys.executable, "-m", "cnntopo.nets.discovery", json.dumps(request)],
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
    write_text(path, json.dumps({"request": request, "table": table}))
    return table
