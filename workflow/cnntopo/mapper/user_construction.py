"""The user door of the Mapper point clouds: ``python:<file.py>:<function>`` (torch-free).

Parsing a user construction's spec, the rules of its cloud name, importing its function
(:func:`load_user_function`, the DAG-time :func:`check_user_construction`) and checking
what it returns (:func:`check_user_output`). The registry
(:mod:`cnntopo.mapper.constructions`) turns a spec into a construction and
:func:`cnntopo.mapper.clouds.build_user_cloud` runs it; the contract of the function is
in :mod:`cnntopo.mapper.constructions`. Every error names the file and the function.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "USER_FORM",
    "USER_NAME",
    "USER_PREFIX",
    "RESERVED_NAMES",
    "UserSpec",
    "check_cloud_name",
    "check_user_construction",
    "check_user_output",
    "file_sha256",
    "is_user_spec",
    "load_user_function",
    "parse_user_spec",
]

#: Prefix of a user construction in ``mapper.constructions``.
USER_PREFIX = "python:"

#: A user cloud name: an ASCII identifier of at most 64 characters (a file-name component
#: and a Snakemake wildcard value on every file system).
USER_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,63}"

#: Names a user construction may not take, whatever the case (a case-insensitive file
#: system would merge them): the built-in families (``fg<k>``, ``bg<k>`` for every k,
#: so that a future top-k stays free) and the built-in names.
RESERVED_NAMES = r"random|full|(?:fg|bg)[0-9]+"

#: The form of a user construction, for messages.
USER_FORM = f"{USER_PREFIX}<path/to/file.py>:<function>"


@dataclass(frozen=True)
class UserSpec:
    """A parsed ``"python:<file.py>:<function>"``: the file and the function name."""

    path: str
    function: str

    def where(self) -> str:
        """``"file.py:function"``, the prefix of every error about it."""
        return f"{self.path}:{self.function}"


def is_user_spec(spec: Any) -> bool:
    """Whether ``spec`` is written as a user construction (``python:...``)."""
    return isinstance(spec, str) and spec.startswith(USER_PREFIX)


def parse_user_spec(spec: str) -> UserSpec:
    """Split ``"python:<file.py>:<function>"`` (syntax only).

    Raises
    ------
    ValueError
        Not of that form, or a function name that cannot be a cloud name
        (:func:`check_cloud_name`).

    >>> parse_user_spec("python:my_cloud.py:gap")
    UserSpec(path='my_cloud.py', function='gap')
    """
    if not is_user_spec(spec):
        raise ValueError(f"{spec!r} is not a user construction; expected {USER_FORM}")
    path, _, function = spec[len(USER_PREFIX) :].rpartition(":")
    if not path.endswith(".py") or not function.isidentifier():
        raise ValueError(
            f"mapper.constructions: {spec!r} is not valid; expected {USER_FORM}, "
            "e.g. python:my_cloud.py:gap"
        )
    check_cloud_name(function, where=f"{path}:{function}")
    return UserSpec(path, function)


def check_cloud_name(name: str, where: str | None = None) -> str:
    """Check that ``name`` can be a user construction's cloud name.

    An ASCII identifier (:data:`USER_NAME`: letters, digits, ``_``; at most 64
    characters) that no built-in takes (``random``, ``full``, ``fg<k>``, ``bg<k>``),
    whatever the case (:data:`RESERVED_NAMES`).

    Parameters
    ----------
    name : str
        The user function's name.
    where : str, optional
        ``"file.py:function"`` for the message.

    Returns
    -------
    str
        ``name``.

    Raises
    ------
    ValueError
        The name collides with a built-in or holds characters the output file names
        cannot (the message says how to rename the function).
    """
    at = f"{where}: " if where else ""
    if not isinstance(name, str) or not re.fullmatch(USER_NAME, name):
        raise ValueError(
            f"{at}the cloud name {name!r} (the function's name) must be an ASCII identifier "
            "of at most 64 letters, digits and underscores (it names the cloud's files); "
            "rename the function"
        )
    if re.fullmatch(RESERVED_NAMES, name, flags=re.IGNORECASE):
        raise ValueError(
            f"{at}the cloud name {name!r} (the function's name) collides with the built-in "
            "constructions (random, full, fg<k>, bg<k>); "
            "rename the function"
        )
    return name


def _module_name(path: Path) -> str:
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    return f"cnntopo_user_construction_{digest}"


def _import_file(user: UserSpec) -> ModuleType:
    file = Path(user.path)
    if not file.is_file():
        raise ValueError(
            f"{user.where()}: file {file} not found (relative paths are relative to the "
            f"working directory {Path.cwd()})"
        )
    module_spec = importlib.util.spec_from_file_location(_module_name(file), file)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"{user.where()}: {file} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    # registered while it runs, as an import would (dataclasses and pickling look it up)
    sys.modules[module_spec.name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as err:  # the user's code: any error, reported with its place
        sys.modules.pop(module_spec.name, None)
        raise ValueError(
            f"{user.where()}: importing {file} failed: {type(err).__name__}: {err}"
        ) from err
    return module


def load_user_function(spec: str) -> tuple[UserSpec, Callable]:
    """Import the user file of ``spec`` and return its function.

    Parameters
    ----------
    spec : str
        ``"python:<file.py>:<function>"``.

    Returns
    -------
    user : UserSpec
    function : callable
        Takes ``(activations, labels)``.

    Raises
    ------
    ValueError
        Missing file, import error, no such function, not callable, or a function that
        cannot take two positional arguments; the message names file and function.
    """
    user = parse_user_spec(spec)
    module = _import_file(user)
    if not hasattr(module, user.function):
        raise ValueError(
            f"{user.where()}: {user.path} defines no {user.function!r}; define "
            f"`def {user.function}(activations, labels): ...` returning an (m, d) array"
        )
    function = getattr(module, user.function)
    if not callable(function):
        raise ValueError(
            f"{user.where()}: {user.function!r} is a {type(function).__name__}, not a function"
        )
    try:
        inspect.signature(function).bind(None, None)
    except TypeError as err:
        raise ValueError(
            f"{user.where()}: {user.function} must take two positional arguments "
            f"(activations, labels): {err}"
        ) from err
    except ValueError:  # no signature (some builtins): let the call tell
        pass
    return user, function


def check_user_construction(spec: str) -> None:
    """DAG-time check of a user construction (the config validation calls it).

    The spec's syntax and cloud name (:func:`parse_user_spec`), the file exists and
    imports, it defines the function, which is callable with two positional arguments
    (:func:`load_user_function`). The function itself runs only in the cloud job, where
    :func:`check_user_output` checks what it returns.

    Raises
    ------
    ValueError
        Naming the file and the function, and the fix.
    """
    load_user_function(spec)


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes: the version of a user construction's file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- runtime checks


def check_user_output(result: Any, n_images: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Check what a user construction returned; the points and each point's image.

    Parameters
    ----------
    result : numpy.ndarray or tuple
        ``points`` of shape ``(m, d)``, or ``(points, image_index)`` with
        ``image_index`` of shape ``(m,)``.
    n_images : int
        ``N``, the number of Mapper images the function received.
    where : str
        ``"file.py:function"`` for the messages.

    Returns
    -------
    points : numpy.ndarray, shape (m, d), float32
    image_index : numpy.ndarray, shape (m,), int64
        ``arange(N)`` when no index was returned (then ``m == N``).

    Raises
    ------
    ValueError
        Not an array (or a pair of arrays), not 2-D, not real numbers, NaN / inf
        (also after the float32 cast), fewer than 2 points or no dimension, an index
        of the wrong length, not integer, or outside ``[0, N)``, or ``m != N`` without an
        index. Every message starts with ``where``.
    """
    index = None
    if isinstance(result, tuple):
        if len(result) != 2:
            raise ValueError(
                f"{where} returned a {type(result).__name__} of {len(result)} items; return "
                "the points (m, d), or a tuple (points (m, d), image_index (m,))"
            )
        result, index = result
    if not isinstance(result, np.ndarray):
        raise ValueError(
            f"{where} returned {type(result).__name__} points, not a numpy array; return an "
            "(m, d) numpy.ndarray (e.g. np.asarray(points))"
        )
    if result.ndim != 2:
        raise ValueError(
            f"{where} returned points of shape {result.shape}; they must be 2-D (m, d): one "
            "row per point (reshape, e.g. points.reshape(len(points), -1))"
        )
    if result.dtype == bool or not (
        np.issubdtype(result.dtype, np.integer) or np.issubdtype(result.dtype, np.floating)
    ):
        raise ValueError(
            f"{where} returned points of dtype {result.dtype}; they must be real numbers"
        )
    m, d = result.shape
    if m < 2 or d < 1:
        raise ValueError(
            f"{where} returned {m} points of {d} dimensions; a Mapper cloud needs at least "
            "2 points of at least 1 dimension"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # overflow -> inf, reported below
        points = result.astype(np.float32)
    if not np.isfinite(points).all():
        bad = int((~np.isfinite(points)).any(axis=1).sum())
        raise ValueError(
            f"{where} returned {bad} of {m} points with NaN or inf coordinates "
            "(after the cast to float32); every coordinate must be finite"
        )
    if index is None:
        if m != n_images:
            raise ValueError(
                f"{where} returned {m} points for {n_images} images but no image index; "
                "return (points, image_index) with image_index (m,) the image of each point "
                "(without one, point i is image i and m must be the number of images)"
            )
        return points, np.arange(n_images, dtype=np.int64)
    if not isinstance(index, np.ndarray):
        raise ValueError(
            f"{where} returned a {type(index).__name__} image_index, not a numpy array; "
            "return an (m,) integer numpy.ndarray"
        )
    if index.shape != (m,):
        raise ValueError(
            f"{where} returned an image_index of shape {index.shape} for {m} points; it "
            f"must be ({m},): the image of each point"
        )
    if index.dtype == bool or not np.issubdtype(index.dtype, np.integer):
        raise ValueError(
            f"{where} returned an image_index of dtype {index.dtype}; it must be integers"
        )
    if index.size and (index.min() < 0 or index.max() >= n_images):
        raise ValueError(
            f"{where} returned an image_index in [{index.min()}, {index.max()}]; it must be "
            f"in [0, {n_images}) (rows of the {n_images} images the function received)"
        )
    return points, index.astype(np.int64)
