"""Synthetic point clouds shaped like the paper's top-l2 activation clouds (shared by the benchmarks)."""

from __future__ import annotations

import numpy as np


def activation_like(n: int, d: int, k: int, seed: int) -> np.ndarray:
    """``relu(Z W + b) + 0.05 noise`` with a k-dimensional latent Z: an (n, d) float32 cloud."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k))
    w = rng.normal(size=(k, d)) / np.sqrt(k)
    b = rng.normal(scale=0.5, size=d)
    return (np.maximum(z @ w + b, 0) + 0.05 * rng.normal(size=(n, d))).astype(np.float32)
