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


def clustered_relu(
    n: int,
    d: int,
    seed: int,
    *,
    n_clusters: int = 12,
    latent: int = 8,
    scales: tuple[float, float] = (0.2, 2.0),
    noise: float = 0.05,
) -> np.ndarray:
    """A mixture of ReLU'd low-dimensional clusters with uneven sizes and scales, (n, d) float32.

    Cluster ``j`` holds a Dirichlet(0.5) share of the ``n`` points (very uneven sizes, each
    >= 1 point) and is ``relu(c_j + s_j Z_j W_j + noise)``: a centre ``c_j ~ N(0, I_d)``,
    a log-uniform scale ``s_j`` in ``scales``, a ``latent``-dimensional Gaussian ``Z_j``
    spread into ``d`` dimensions by ``W_j ~ N(0, 1 / latent)`` and isotropic noise of
    standard deviation ``noise`` (full dimension, before the ReLU, so about half of the
    coordinates are exact zeros). Rows are shuffled. The 1-NN distances differ by cluster
    (dense large clusters, sparse small ones), which bends the knee curve the way real
    activation clouds do.
    """
    rng = np.random.default_rng(seed)
    share = rng.dirichlet(np.full(n_clusters, 0.5))
    sizes = 1 + rng.multinomial(n - n_clusters, share)
    s = np.exp(rng.uniform(np.log(scales[0]), np.log(scales[1]), size=n_clusters))
    out = np.empty((n, d), dtype=np.float32)
    start = 0
    for j, m in enumerate(sizes):
        c = rng.normal(size=d)
        w = rng.normal(size=(latent, d)) / np.sqrt(latent)
        block = c + s[j] * (rng.normal(size=(m, latent)) @ w) + noise * rng.normal(size=(m, d))
        out[start : start + m] = np.maximum(block, 0.0)
        start += m
    return out[rng.permutation(n)]
