"""The torch device of a job: CUDA when present (or asked for), else the CPU."""

from __future__ import annotations

import torch

__all__ = ["select_device"]


def select_device(preference: str | torch.device | None = "auto") -> torch.device:
    """Resolve a device preference.

    Parameters
    ----------
    preference : str, torch.device or None, default "auto"
        "auto" (or None) = CUDA when available, else CPU; otherwise anything
        :class:`torch.device` accepts ("cpu", "cuda", "cuda:1", ...).

    Returns
    -------
    torch.device

    Raises
    ------
    RuntimeError
        CUDA was requested but is not available.
    ValueError
        ``preference`` is not a device string.
    """
    if preference is None or (isinstance(preference, str) and preference == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(preference)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"invalid device {preference!r}: use 'auto', 'cpu' or 'cuda'") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {preference!r} requested but CUDA is not available "
            f"(torch {torch.__version__}, torch.cuda.is_available() is False); "
            "use device 'auto' or 'cpu'"
        )
    return device
