"""Checkpoints: weights saved by this package, the official code, DataParallel or torch.compile.

:func:`load_state_dict_compat` loads a state dict (or a file of one) strictly, after
unwrapping the usual containers and prefixes, and explains a mismatch (width, number of
classes, shortcut option, the other paper network); :func:`save_state_dict` writes one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["load_state_dict_compat", "save_state_dict"]

_WRAPPER_PREFIXES: tuple[str, ...] = ("module.", "_orig_mod.")
_NESTED_KEYS: tuple[str, ...] = ("model_state_dict", "state_dict")


def _unwrap_state_dict(obj: Any) -> dict[str, torch.Tensor]:
    """Return the tensor mapping inside a checkpoint, with wrapper prefixes stripped."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise ValueError(f"checkpoint must be a state dict (a mapping), got {type(obj).__name__}")
    for key in _NESTED_KEYS:
        if key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    state = {}
    for key, value in obj.items():
        stripped = str(key)
        changed = True
        while changed:  # DataParallel inside torch.compile, or vice versa
            changed = False
            for prefix in _WRAPPER_PREFIXES:
                if stripped.startswith(prefix):
                    stripped = stripped[len(prefix) :]
                    changed = True
        state[stripped] = value
    return state


def _load_checkpoint_file(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors come in many types
        raise ValueError(
            f"could not read checkpoint {path} as tensors only (torch.load weights_only=True): {err}"
        ) from err


def _mismatch_hints(model_state: Mapping[str, torch.Tensor], state: Mapping[str, Any]) -> list[str]:
    """Likely causes of a mismatch (width, number of classes, shortcut option)."""
    hints = []
    if "conv1.weight" in state and "conv1.weight" in model_state:
        ckpt_w, model_w = state["conv1.weight"].shape[0], model_state["conv1.weight"].shape[0]
        if ckpt_w != model_w:
            hints.append(f"checkpoint width {ckpt_w} vs config model.width {model_w}")
    if "linear.weight" in state and "linear.weight" in model_state:
        ckpt_k, model_k = state["linear.weight"].shape[0], model_state["linear.weight"].shape[0]
        if ckpt_k != model_k:
            hints.append(f"checkpoint has {ckpt_k} classes vs {model_k} in the model/dataset")
    ckpt_b = any(".shortcut." in key for key in state)
    model_b = any(".shortcut." in key for key in model_state)
    if ckpt_b != model_b:
        hints.append(
            "checkpoint has option-B shortcut convolutions (the mapper network?) but the model uses option A"
            if ckpt_b
            else "model has option-B shortcut convolutions but the checkpoint has none (option A)"
        )
    if any(key.startswith("layer1.") for key in state) and not any(
        key.startswith("layer1.") for key in model_state
    ):
        hints.append(
            "checkpoint uses 'layer1..layer4' names: it is the kuangliu mapper ResNet-18, "
            "not the PH network (block_seq)"
        )
    if any(key.startswith("block_seq.") for key in state) and any(
        key.startswith("layer1.") for key in model_state
    ):
        hints.append(
            "checkpoint uses 'block_seq' names: it is the PH network (arch 'resnet18_cifar'), "
            "not the mapper ResNet-18 (arch 'resnet18_mapper')"
        )
    return hints


def _short_list(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def load_state_dict_compat(
    model: nn.Module, state_dict_or_path: Mapping[str, Any] | str | os.PathLike
) -> nn.Module:
    """Load weights saved by this package, the official code, DataParallel or torch.compile.

    Accepts a raw state dict, a checkpoint dict holding it under ``model_state_dict``
    (Catalyst) or ``state_dict``, or a path to either (read with ``weights_only=True``).
    The prefixes ``module.`` (DataParallel) and ``_orig_mod.`` (torch.compile) are
    stripped. Loading is strict.

    Parameters
    ----------
    model : torch.nn.Module
        Target network; modified in place.
    state_dict_or_path : mapping or path-like
        The weights.

    Returns
    -------
    torch.nn.Module
        ``model``.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    ValueError
        Missing, unexpected or differently shaped keys; the message names them and
        the likely cause (e.g. ``checkpoint width 64 vs config model.width 16``).
    """
    obj = state_dict_or_path
    if isinstance(obj, str | os.PathLike):
        obj = _load_checkpoint_file(obj)
    state = _unwrap_state_dict(obj)
    model_state = model.state_dict()
    missing = [key for key in model_state if key not in state]
    unexpected = [key for key in state if key not in model_state]
    shapes = [
        f"{key}: checkpoint {tuple(state[key].shape)} vs model {tuple(model_state[key].shape)}"
        for key in model_state
        if key in state
        and hasattr(state[key], "shape")
        and tuple(state[key].shape) != tuple(model_state[key].shape)
    ]
    if missing or unexpected or shapes:
        parts = ["checkpoint does not match the model"]
        hints = _mismatch_hints(model_state, state)
        if hints:
            parts.append("likely cause: " + "; ".join(hints))
        if missing:
            parts.append(f"missing keys ({len(missing)}): {_short_list(missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {_short_list(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches ({len(shapes)}): {_short_list(shapes, 4)}")
        raise ValueError("; ".join(parts))
    model.load_state_dict(state, strict=True)
    return model


def save_state_dict(model: nn.Module, path: str | os.PathLike) -> None:
    """Save ``model.state_dict()`` (CPU tensors) atomically, as deterministic bytes.

    The file is a plain state dict, like the official ``final_weights.pt``, and can be
    read back with :func:`load_state_dict_compat`. It is serialised into memory first
    (``torch.save`` to a path names the zip archive's folder after the file, here the
    random temporary name of the atomic write), so equal tensors give equal files.
    """
    import io

    from cnntopo.artifacts import write_bytes

    state = {key: value.detach().cpu() for key, value in _unwrap_state_dict(model).items()}
    buffer = io.BytesIO()
    torch.save(state, buffer, pickle_protocol=2, _use_new_zipfile_serialization=True)
    write_bytes(path, buffer.getvalue())

