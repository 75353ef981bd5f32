"""Layers of two different networks compared: a cross-architecture matrix and depth matching.

The paper compares the layers of one architecture across training seeds, where layer
``i`` of one network has a counterpart, layer ``i`` of the other. Two different networks
(a ResNet-18 and a VGG, or networks with 17 and 20 recorded layers) have no such
counterpart, so their layers are compared by *depth fraction*: layer ``i`` of ``n`` sits
at ``i / (n - 1)`` (0 = first recorded layer, 1 = last). For every layer of network A the
closest layer of network B (by the distance between their diagrams, or by a
representational-similarity measure such as linear CKA) is found; it *matches* when it is
B's layer at the nearest depth fraction (exactly, or within one layer of B), and the
difference of the two depth fractions measures how far off it is. Whether the topology
of the activations (or the similarity measure) identifies "the same depth" across
architectures is then the rate of matches against the rate of a uniformly random choice
of B's layer (the chance level) - the cross-architecture form of the within-architecture
specificity of :mod:`cnntopo.ph.specificity`.

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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["depth_fractions", "same_depth_layers", "depth_matching", "cross_architecture_figure"]


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


def same_depth_layers(n_a: int, n_b: int) -> np.ndarray:
    """The layers of B at the depth fraction nearest to each layer of A.

    Parameters
    ----------
    n_a, n_b : int
        Number of recorded layers of A and of B.

    Returns
    -------
    np.ndarray, shape (n_a, n_b), bool
        Row ``i`` marks the layers ``j`` of B that minimise
        ``|depth_fractions(n_a)[i] - depth_fractions(n_b)[j]|`` (two on a tie, e.g. the
        middle layer of 3 against a network of 2 layers).

    >>> same_depth_layers(3, 5).nonzero()[1].tolist()
    [0, 2, 4]
    """
    da, db = depth_fractions(n_a), depth_fractions(n_b)
    gap = np.abs(da[:, None] - db[None, :])
    return gap <= gap.min(axis=1, keepdims=True) + 1e-12


def depth_matching(D: Any, kind: str = "distance") -> dict[str, np.ndarray]:
    """The closest layer of network B for every layer of network A, by depth fraction.

    For layer ``i`` of A, ``best[i]`` is B's closest layer (smallest distance, or largest
    similarity) and the *target* is the set of B's layers at the nearest depth fraction
    (:func:`same_depth_layers`). The match is ``exact`` when ``best[i]`` is a target and
    ``within1`` when it is at most one layer (of B) away from one; a uniformly random
    layer of B gives the chance levels.

    Parameters
    ----------
    D : array_like, shape (n_a, n_b)
        Distances (or similarities) between the layers of A (rows) and B (columns),
        network order.
    kind : {"distance", "similarity"}, default "distance"
        Whether smaller (distance) or larger (similarity) values are closer.

    Returns
    -------
    dict of str to np.ndarray, each shape (n_a,)
        ``nearest``: column of the closest layer (the first on ties);
        ``depth_a``, ``depth_b``: depth fractions of the row and of its closest column;
        ``depth_error``: ``|depth_a - depth_b|``; ``chance_error``: the expected
        ``|depth_a - depth of a uniformly random column|``; ``exact``, ``within1``
        (bool): the closest column is (within one layer of) a column at the nearest
        depth fraction; ``chance_exact``, ``chance_within1``: the probabilities of the
        same for a uniformly random column.

    Raises
    ------
    ValueError
        ``D`` is not a 2-D matrix with at least one row and column, has NaN, or
        ``kind`` is unknown.

    Examples
    --------
    >>> m = depth_matching([[0.0, 1.0, 2.0], [2.0, 0.5, 0.1]])
    >>> m["nearest"].tolist(), m["exact"].tolist(), m["within1"].tolist()
    ([0, 2], [True, True], [True, True])
    """
    if kind not in ("distance", "similarity"):
        raise ValueError(f"kind must be 'distance' or 'similarity', got {kind!r}")
    D = np.asarray(D, dtype=np.float64)
    if D.ndim != 2 or 0 in D.shape:
        raise ValueError(f"D must be a non-empty (n_a, n_b) matrix, got shape {D.shape}")
    if np.isnan(D).any():
        raise ValueError("D has NaN entries")
    n_a, n_b = D.shape
    depth_a, depth_b = depth_fractions(n_a), depth_fractions(n_b)
    nearest = np.argmin(D, axis=1) if kind == "distance" else np.argmax(D, axis=1)
    target = same_depth_layers(n_a, n_b)
    # columns within one layer of a target column
    cols = np.arange(n_b)
    near = np.zeros_like(target)
    for i, j in zip(*target.nonzero(), strict=True):
        near[i] |= np.abs(cols - j) <= 1
    rows = np.arange(n_a)
    return {
        "nearest": nearest,
        "depth_a": depth_a,
        "depth_b": depth_b[nearest],
        "depth_error": np.abs(depth_a - depth_b[nearest]),
        "chance_error": np.abs(depth_a[:, None] - depth_b[None, :]).mean(axis=1),
        "exact": target[rows, nearest],
        "within1": near[rows, nearest],
        "chance_exact": target.mean(axis=1),
        "chance_within1": near.mean(axis=1),
    }


def cross_architecture_figure(
    matrices: Mapping[str, tuple[Any, str]],
    layers_a: Sequence[str],
    layers_b: Sequence[str],
    label_a: str,
    label_b: str,
) -> Figure:
    """Heatmaps of the layer-by-layer matrices and the depth fractions of the closest layers.

    One heatmap per matrix, A's layers as rows and B's as columns: each row's closest
    layer of B is a red dot, its layers at the nearest depth fraction white crosses.
    Last panel: the depth fraction of every layer of A against that of its closest layer
    of B, one line per matrix, with the diagonal (same relative depth); the legend gives
    each matrix's exact and within-one-layer rates and their chance levels
    (:func:`depth_matching`).

    Parameters
    ----------
    matrices : mapping of str to (array_like of shape (n_a, n_b), str)
        Label (e.g. ``"SW H1"``, ``"cka_linear / topl2"``) -> (matrix, kind), kind
        ``"distance"`` or ``"similarity"``, in panel order.
    layers_a, layers_b : sequence of str
        Layer names of A and B, network order.
    label_a, label_b : str
        Names of the networks (e.g. their ``model.arch``).

    Returns
    -------
    matplotlib.figure.Figure
        Save it with :func:`cnntopo.ph.figures.save_figure`.
    """
    from cnntopo.ph.figures import short_layer_label

    if not matrices:
        raise ValueError("no matrices to draw")
    # a python:<path/file.py>:<factory> arch is shown as file.py:factory
    label_a, label_b = (label.rsplit("/", 1)[-1] for label in (label_a, label_b))
    n_a, n_b = len(layers_a), len(layers_b)
    n_panels = len(matrices) + 1
    ncols = min(3, n_panels)
    nrows = -(-n_panels // ncols)
    width = max(3.2, 1.5 + 0.13 * n_b)
    height = max(2.8, 1.2 + 0.13 * n_a)
    fig = Figure(figsize=(width * ncols, height * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    target_rows, target_cols = same_depth_layers(n_a, n_b).nonzero()
    depth_ax = axes[len(matrices)]
    depth_ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="same relative depth")
    for ax, (label, (D, kind)) in zip(axes, matrices.items(), strict=False):
        D = np.asarray(D, dtype=np.float64)
        if D.shape != (n_a, n_b):
            raise ValueError(f"{label}: matrix of shape {D.shape}, expected {(n_a, n_b)}")
        match = depth_matching(D, kind)
        image = ax.imshow(D, cmap="viridis" if kind == "distance" else "viridis_r", aspect="auto")
        ax.scatter(target_cols, target_rows, s=8, c="white", marker="x", lw=0.6)
        ax.scatter(match["nearest"], np.arange(n_a), s=10, c="red")
        ax.set_xticks(range(n_b), [short_layer_label(n) for n in layers_b], rotation=90, fontsize=5)
        ax.set_yticks(range(n_a), [short_layer_label(n) for n in layers_a], fontsize=5)
        ax.set_xlabel(f"B = {label_b}", fontsize=7)
        ax.set_ylabel(f"A = {label_a}", fontsize=7)
        ax.set_title(f"{label} ({kind})", fontsize=8)
        fig.colorbar(image, ax=ax)
        depth_ax.plot(
            match["depth_a"],
            match["depth_b"],
            "o-",
            ms=3,
            lw=1,
            label=(
                f"{label}: exact {match['exact'].mean():.2f} (chance "
                f"{match['chance_exact'].mean():.2f}), within 1 {match['within1'].mean():.2f} "
                f"({match['chance_within1'].mean():.2f})"
            ),
        )
    depth_ax.set_xlabel(f"depth fraction of the layer (A = {label_a})", fontsize=7)
    depth_ax.set_ylabel(f"depth fraction of its closest layer (B = {label_b})", fontsize=7)
    depth_ax.set_title("closest layer of B, by depth fraction", fontsize=8)
    depth_ax.set_xlim(-0.05, 1.05)
    depth_ax.set_ylim(-0.05, 1.05)
    depth_ax.legend(fontsize=5, loc="upper left")
    for ax in axes[n_panels:]:
        ax.axis("off")
    fig.tight_layout()
    return fig
