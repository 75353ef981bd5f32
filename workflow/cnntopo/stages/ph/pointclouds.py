"""Stage of ``rules/ph/pointclouds.smk``: top-l2 point clouds of one network's layers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts

__all__ = ["topl2_pointclouds"]

log = logging.getLogger("cnntopo")


def topl2_pointclouds(
    shards: Sequence[str | Path],
    outputs: Sequence[str | Path],
    *,
    seed: int,
    layers: Sequence[str],
) -> None:
    """Top l2-norm point clouds (docs/methods.md §4) of one model's layers, one file per layer.

    Each shard is read memory-mapped in chunks of images, so memory stays bounded by
    a chunk whatever the number of images.

    Parameters
    ----------
    shards : sequence of path-like
        The activation shards ``(N, c, h, w)`` of ``layers``, in the same order.
    outputs : sequence of path-like
        Output per layer: ``.npz`` with ``points`` (N, c), the spatial vector of largest
        l2 norm of every image, ``positions`` (N,), its flat position in the ``h x w``
        grid, and ``meta`` (JSON: construction, seed, layer, shard shape, source).
    seed : int
        The network's seed (recorded).
    layers : sequence of str
        The layer names (recorded).
    """
    from cnntopo.ph.pointclouds import top_l2

    for shard, out_npz, layer in zip(shards, outputs, layers, strict=True):
        acts = artifacts.read_array(shard, mmap=True)
        points, positions = top_l2(acts)
        meta = {
            "construction": "topl2",
            "seed": int(seed),
            "layer": layer,
            "shape": list(acts.shape),
            "source": str(shard),
        }
        artifacts.write_npz(
            out_npz, points=points, positions=positions, meta=np.array(artifacts.json_dumps(meta))
        )
        log.info("%s seed %d: top-l2 cloud %s", layer, seed, points.shape)
