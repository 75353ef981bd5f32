"""Synthetic test data shared by the Mapper test modules."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from torch import nn

from cnntopo.nets.models import init_model

CIFAR10 = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


def make_mapper_graph(
    n_points: int = 2000,
    n_classes: int = 10,
    n_intervals: int = 12,
    overlap: float = 0.3,
    seed: int = 0,
    islands: int = 0,
    noise: float = 0.15,
    as_pairs: bool = False,
    class_names: list[str] | None = None,
    eps: float = 1.23,
) -> dict:
    """A synthetic Mapper graph in Mapper Interactive format.

    Points have a lens value in [0, 1] and a class (class-major rows). The "network"
    perceives the true class except with probability ``noise``. Low lens: one mixed
    cluster per interval; middle: two super-groups; high lens: one cluster per
    perceived class, i.e. a trunk branching into class-pure arms. ``islands`` adds
    disconnected chains of pure nodes made of extra points.
    """
    rng = np.random.default_rng(seed)
    names = class_names or (
        CIFAR10[:n_classes] if n_classes <= 10 else [f"class{i}" for i in range(n_classes)]
    )
    labels = np.arange(n_points) * n_classes // n_points
    lens = rng.random(n_points)
    perceived = np.where(rng.random(n_points) < noise, rng.integers(0, n_classes, n_points), labels)
    r = 1.0 / (2 * (n_intervals - (n_intervals - 1) * overlap))
    centres = np.linspace(r, 1 - r, n_intervals)
    nodes: dict[str, dict] = {}

    def add(node_id: str, verts: np.ndarray, lab: np.ndarray, lv: np.ndarray) -> None:
        counts: dict[str, int] = {}
        for k in lab:
            counts[names[k]] = counts.get(names[k], 0) + 1
        nodes[node_id] = {
            "vertices": [int(v) for v in verts],
            "categorical_cols_summary": {"label": counts},
            "avgs": {"lens": float(lv.mean())},
        }

    for i, c in enumerate(centres):
        inside = np.flatnonzero((lens >= c - r) & (lens <= c + r))
        j = 0
        # the cube's level (not the point's) decides the grouping, so overlaps link levels
        group = (
            np.full_like(perceived, -1)
            if c < 0.35
            else perceived % 2 - 10
            if c < 0.65
            else perceived
        )
        for key in np.unique(group[inside]):
            verts = inside[group[inside] == key]
            if len(verts) >= 3:
                add(f"cube{i}_cluster{j}", verts, labels[verts], lens[verts])
                j += 1
    next_point = n_points
    for k in range(islands):
        cls = k % n_classes
        chain = [np.arange(next_point + 6 * m, next_point + 6 * m + 10) for m in range(k + 1)]
        for m, verts in enumerate(chain):
            add(f"island{k}_cluster{m}", verts, np.full(len(verts), cls), np.full(len(verts), 0.5))
        next_point += 6 * (k + 1) + 10
    where: dict[int, list[str]] = defaultdict(list)
    for node_id, node in nodes.items():
        for v in node["vertices"]:
            where[v].append(node_id)
    pairs: dict[tuple[str, str], None] = {}
    for ids in where.values():
        for a in range(len(ids)):
            for b in range(a + 1, len(ids)):
                pairs[(ids[a], ids[b])] = None
    if as_pairs:
        edges: object = [list(p) for p in pairs]
    else:
        adj: dict[str, list[str]] = {n: [] for n in nodes}
        for a, b in pairs:
            adj[a].append(b)
        edges = adj
    return {
        "nodes": nodes,
        "edges": edges,
        "categorical_cols": ["label"],
        "numerical_col_keys": ["lens"],
        "meta": {
            "n_intervals": n_intervals,
            "overlap": overlap,
            "eps": eps,
            "n_points": next_point,
            "label_names": names,
        },
    }


def randomized_mapper_net(width: int = 4, seed: int = 0, num_classes: int = 10) -> nn.Module:
    """The Mapper network in eval mode with random weights *and* random BN statistics."""
    model = init_model("resnet18_mapper", width, num_classes, seed)
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                c = module.num_features
                module.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(c, generator=gen) * 0.5)
                module.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
                module.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
    return model.eval()
