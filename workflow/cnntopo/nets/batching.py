"""Batch sizing: images per forward pass under a memory bound on the recorded outputs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

__all__ = ["bounded_batch_size"]


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
