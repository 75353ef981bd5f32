"""Tensor transforms (contract; see module owner for the full implementation)."""

from __future__ import annotations

__all__ = ["to_model_input"]


def to_model_input(images, mean, std, size=32, device=None):
    """uint8 (B, H, W, C) numpy/tensor -> float32 tensor (B, 3, size, size), normalised."""
    raise NotImplementedError
