"""Layers of two different networks compared: a cross-architecture matrix and depth matching.

The paper compares the layers of one architecture across training seeds, where layer
``i`` of one network has a counterpart, layer ``i`` of the other. Two different networks
(a ResNet-18 and a VGG, or networks with 17 and 20 recorded layers) have no such
counterpart, so their layers are compared by *depth fraction*: layer ``i`` of ``n`` sits
at ``i / (n - 1)`` (0 = first recorded layer, 1 = last). For every layer of network A the
nearest layer of network B (by the distance between their diagrams) is found, and the
difference of the two depth fractions measures whether the topology of the activations
identifies "the same depth" across architectures; a uniformly random choice of B's layer
gives the chance level.

References
----------
.. [1] Purvine, E., et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI. arXiv:2212.00222 (the within-
   architecture specificity test this generalises).
.. [2] Kornblith, S., Norouzi, M., Lee, H., and Hinton, G. 2019. Similarity of Neural
   Network Representations Revisited. ICML (layer correspondence across architectures by
   relative depth).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["depth_fractions", "depth_matching", "cross_architecture_figure"]


def depth_fractions(n_layers: int) -> np.ndarray:
    """Relative depth of each of ``n_layers`` layers in network order.

    Parameters
    ----------
    n_layers : int
        Number of recorded layers (at least 1).

    Returns
    -------
    np.ndarray, shape (n_layers,), float64
        ``i / (n_layers - 1)``: 0 for the first layer, 1 for the last (0 for a single
        layer).

    >>> depth_fractions(5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if n_layers < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    if n_layers == 1:
        return np.zeros(1)
    return np.arange(n_layers) / (n_layers - 1)


def depth_matching(D: Any) -> dict[str, np.ndarray]:
    """The nearest layer of network B for every layer of network A, by depth fraction.

    Parameters
    ----------
    D : array_like, shape (n_a, n_b)
        Distances between the layers of A (rows) and B (columns), network order.

    Returns
    -------
    dict of str to np.ndarray, each shape (n_a,)
        ``nearest``: column of the smallest distance (the first on ties);
        ``depth_a``, ``depth_b``: depth fractions of the row and of its nearest column;
        ``depth_error``: ``|depth_a - depth_b|``; ``chance_error``: the expected
        ``|depth_a - depth of a uniformly random column|``.

    Raises
    ------
    ValueError
        ``D`` is not a 2-D matrix with at least one row and column, or has NaN.
    """
    D = np.asarray(D, dtype=np.float64)
    if D.ndim != 2 or 0 in D.shape:
        raise ValueError(f"D must be a non-empty (n_a, n_b) matrix, got shape {D.shape}")
    if np.isnan(D).any():
        raise ValueError("D has NaN distances")
    depth_a, depth_b = depth_fractions(D.shape[0]), depth_fractions(D.shape[1])
    nearest = np.argmin(D, axis=1)
    return {
        "nearest": nearest,
        "depth_a": depth_a,
        "depth_b": depth_b[nearest],
        "depth_error": np.abs(depth_a - depth_b[nearest]),
        "chance_error": np.abs(depth_a[:, None] - depth_b[None, :]).mean(axis=1),
    }


def cross_architecture_figure(
    D: Any,
    layers_a: Sequence[str],
    layers_b: Sequence[str],
    label_a: str,
    label_b: str,
    measure: str = "SW distance (H1)",
) -> Figure:
    """Heatmap of the layer-by-layer matrix and the depth fractions of the nearest layers.

    Left: ``D`` with A's layers as rows and B's as columns, each row's nearest layer of B
    marked by a dot. Right: depth fraction of every layer of A against that of its
    nearest layer of B, with the diagonal (same relative depth); the legend gives the
    mean depth error and its chance level (:func:`depth_matching`).

    Parameters
    ----------
    D : array_like, shape (n_a, n_b)
    layers_a, layers_b : sequence of str
        Layer names of A and B, network order.
    label_a, label_b : str
        Names of the networks (e.g. their ``model.arch``).
    measure : str
        Colour-bar label.

    Returns
    -------
    matplotlib.figure.Figure
        Save it with :func:`cnntopo.ph.figures.save_figure`.
    """
    from cnntopo.ph.figures import short_layer_label

    D = np.asarray(D, dtype=np.float64)
    match = depth_matching(D)
    n_a, n_b = D.shape
    # a python:<path/file.py>:<factory> arch is shown as file.py:factory
    label_a, label_b = (label.rsplit("/", 1)[-1] for label in (label_a, label_b))
    fig = Figure(figsize=(7 + 0.15 * n_b, 3 + 0.15 * n_a))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[max(n_b, 6), 6])
    image = ax.imshow(D, cmap="viridis", aspect="auto")
    ax.scatter(match["nearest"], np.arange(n_a), s=10, c="red")
    ax.set_xticks(range(n_b), [short_layer_label(n) for n in layers_b], rotation=90, fontsize=5)
    ax.set_yticks(range(n_a), [short_layer_label(n) for n in layers_a], fontsize=5)
    ax.set_xlabel(f"B = {label_b}")
    ax.set_ylabel(f"A = {label_a}")
    fig.colorbar(image, ax=ax, label=measure)
    ax2.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="same relative depth")
    ax2.plot(
        match["depth_a"],
        match["depth_b"],
        "o-",
        ms=3,
        label=(
            f"nearest layer: mean |error| {match['depth_error'].mean():.2f} "
            f"(chance {match['chance_error'].mean():.2f})"
        ),
    )
    ax2.set_xlabel(f"depth fraction of the layer (A = {label_a})")
    ax2.set_ylabel(f"depth fraction of its nearest layer (B = {label_b})")
    ax.set_title("every layer of A against every layer of B", fontsize=8)
    ax2.set_xlim(-0.05, 1.05)
    ax2.set_ylim(-0.05, 1.05)
    ax2.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    return fig
