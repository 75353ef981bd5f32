"""Representations of a layer's activations for the representational-similarity measures.

A layer's activations for ``N`` images form an array of shape ``(N, c, h, w)``.
The similarity measures of :mod:`cnntopo.ph.similarity` compare two ``(N, p)``
matrices whose rows are the same images in the same order. Three ways to turn
the activations into such a matrix:

- ``"flat"`` (:func:`flat`): every activation a feature, ``(N, c*h*w)``. This is
  the representation of Kornblith et al. 2019 [1]_ for convolutional layers
  (their CKA on CIFAR-10 CNNs flattens the feature maps).
- ``"pool"`` (:func:`pool`): spatial mean per channel (global average pooling),
  ``(N, c)``.
- ``"topl2"`` (:func:`cnntopo.ph.pointclouds.top_l2`): the spatial vector of
  largest l2 norm per image, ``(N, c)``: the paper's point cloud P1 [2]_, the
  input of the persistence diagrams.

The flat matrix of a wide layer can be large (1000 images of a 256 x 16 x 16
layer: 65,536 features, 0.5 GB in float64). Linear, debiased and RBF CKA only
need the ``N x N`` Gram matrix, which :func:`centred_gram` accumulates over
channel blocks, so that at most one block is in memory at a time.

References
----------
.. [1] Kornblith, S.; Norouzi, M.; Lee, H.; Hinton, G. 2019. Similarity of Neural
   Network Representations Revisited. ICML 2019. arXiv:1905.00414.
.. [2] Purvine, E. et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI 2023. arXiv:2212.00222.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cnntopo.ph.pointclouds import top_l2
from cnntopo.ph.similarity.grams import centre_gram, linear_gram

__all__ = [
    "REPRESENTATIONS",
    "flat",
    "pool",
    "representation",
    "channel_blocks",
    "centred_gram",
    "representation_gram",
    "load_representation",
    "layer_gram",
    "representation_distances",
]

#: Names accepted by :func:`representation`.
REPRESENTATIONS = ("flat", "pool", "topl2")

#: Default number of float64 values in one block of :func:`channel_blocks` (64 MiB).
BLOCK_VALUES = 1 << 23


def _shape4(activations: Any) -> tuple[int, int, int, int]:
    shape = np.shape(activations)
    if len(shape) != 4:
        raise ValueError(
            f"activations must have shape (N, c, h, w) (4 dimensions), got shape {shape}"
        )
    if min(shape) == 0:
        raise ValueError(f"activations of shape {shape} are empty")
    return shape


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def flat(activations: Any) -> np.ndarray:
    """Flattened activations: every (channel, row, column) a feature.

    Parameters
    ----------
    activations : np.ndarray or np.memmap, shape (N, c, h, w)
        Layer activations (any real dtype).

    Returns
    -------
    np.ndarray, shape (N, c*h*w), float32
        Row ``i`` is ``activations[i].ravel()`` (channel-major, as
        ``torch.Tensor.flatten(start_dim=1)``). The whole matrix is materialised;
        for CKA on wide layers use :func:`centred_gram` instead.

    Raises
    ------
    ValueError
        If ``activations`` is not a non-empty 4-D array.
    """
    n = _shape4(activations)[0]
    return np.asarray(activations, dtype=np.float32).reshape(n, -1)


def pool(activations: Any, chunk_size: int = 256) -> np.ndarray:
    """Spatially mean-pooled activations (global average pooling per channel).

    Parameters
    ----------
    activations : np.ndarray or np.memmap, shape (N, c, h, w)
        Layer activations (any real dtype).
    chunk_size : int, default 256
        Images read per step, so a memmap is read in bounded pieces.

    Returns
    -------
    np.ndarray, shape (N, c), float64
        ``activations.mean(axis=(2, 3))``, accumulated in float64.

    Raises
    ------
    ValueError
        If ``activations`` is not a non-empty 4-D array or ``chunk_size < 1``.
    TypeError
        If ``chunk_size`` is not an integer.
    """
    chunk_size = _check_positive_int(chunk_size, "chunk_size")
    n, c, _, _ = _shape4(activations)
    out = np.empty((n, c), dtype=np.float64)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        out[start:stop] = np.asarray(activations[start:stop]).mean(axis=(2, 3), dtype=np.float64)
    return out


def representation(activations: Any, kind: str) -> np.ndarray:
    """One of the three representations by name.

    Parameters
    ----------
    activations : np.ndarray or np.memmap, shape (N, c, h, w)
        Layer activations.
    kind : {"flat", "pool", "topl2"}
        :func:`flat`, :func:`pool` or the top-l2 cloud
        (:func:`cnntopo.ph.pointclouds.top_l2`, points only).

    Returns
    -------
    np.ndarray, shape (N, c*h*w) for "flat", (N, c) otherwise
        float32 for "flat" and "topl2", float64 for "pool".

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``activations`` invalid.
    """
    if kind == "flat":
        return flat(activations)
    if kind == "pool":
        return pool(activations)
    if kind == "topl2":
        return top_l2(activations)[0]
    raise ValueError(f"kind must be one of {REPRESENTATIONS}, got {kind!r}")


def channel_blocks(activations: Any, block_channels: int | None = None) -> Iterator[np.ndarray]:
    """Consecutive channel blocks of a layer, for bounded-memory accumulation.

    Parameters
    ----------
    activations : np.ndarray or np.memmap, shape (N, c, h, w)
        Layer activations.
    block_channels : int, optional
        Channels per block (the last block may be smaller). Default: as many as
        keep a block under :data:`BLOCK_VALUES` values (at least one channel).

    Yields
    ------
    np.ndarray, shape (N, c_b * h * w), float64
        The flattened block ``activations[:, c0:c1]``; concatenated along axis 1
        the blocks are :func:`flat` ``(activations)`` in float64.

    Raises
    ------
    ValueError, TypeError
        If ``activations`` is not a non-empty 4-D array or ``block_channels`` is
        not a positive int.
    """
    n, c, h, w = _shape4(activations)
    if block_channels is None:
        block_channels = max(1, BLOCK_VALUES // (n * h * w))
    block_channels = _check_positive_int(block_channels, "block_channels")
    for c0 in range(0, c, block_channels):
        c1 = min(c0 + block_channels, c)
        yield np.asarray(activations[:, c0:c1], dtype=np.float64).reshape(n, -1)


def centred_gram(blocks: Any, block_channels: int | None = None) -> np.ndarray:
    """Centred linear Gram matrix of a representation, accumulated over blocks.

    Computes ``G = sum_b B_b B_b^T`` over feature blocks ``B_b`` (float64) and
    returns ``H G H`` (``H = I - 1 1^T / n``), which equals ``X_c X_c^T`` for the
    column-centred concatenation ``X = [B_1, B_2, ...]``. Only one block and the
    ``n x n`` accumulator are in memory at a time. The result is the input of
    :func:`cnntopo.ph.similarity.cka_from_grams` (linear and debiased CKA) and
    :func:`cnntopo.ph.similarity.rbf_from_linear_gram` (RBF CKA).

    Parameters
    ----------
    blocks : array_like or iterable of array_like
        One of: activations of shape ``(N, c, h, w)`` (split with
        :func:`channel_blocks`, i.e. the Gram of :func:`flat`); a 2-D
        representation ``(N, p)`` (used whole); or an iterable of blocks, each of
        shape ``(N, ...)`` and flattened to ``(N, d_b)`` (e.g. per-channel-group
        files of a layer too large for one array).
    block_channels : int, optional
        Channels per block for 4-D input, see :func:`channel_blocks`.

    Returns
    -------
    np.ndarray, shape (N, N), float64
        The centred Gram matrix (symmetric, rows sum to 0).

    Raises
    ------
    ValueError
        If there are no blocks, the blocks disagree in ``N``, a block has fewer
        than 2 dimensions or non-finite values, or ``N < 2``.
    """
    if isinstance(blocks, np.ndarray) or hasattr(blocks, "shape"):
        ndim = len(np.shape(blocks))
        if ndim == 4:
            blocks = channel_blocks(blocks, block_channels)
        elif ndim == 2:
            blocks = [blocks]
        else:
            raise ValueError(
                f"an array must have shape (N, c, h, w) or (N, p), got shape {np.shape(blocks)}"
            )
    G: np.ndarray | None = None
    for i, block in enumerate(blocks):
        arr = np.asarray(block, dtype=np.float64)
        if arr.ndim < 2:
            raise ValueError(f"block {i} must have shape (N, ...), got shape {arr.shape}")
        arr = arr.reshape(arr.shape[0], -1)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"block {i} contains NaN or infinite values")
        if G is None:
            G = np.zeros((arr.shape[0], arr.shape[0]), dtype=np.float64)
        elif arr.shape[0] != G.shape[0]:
            raise ValueError(
                f"block {i} has {arr.shape[0]} rows, the first block {G.shape[0]}; all blocks "
                "must hold the same images"
            )
        G += arr @ arr.T
    if G is None:
        raise ValueError("no blocks given; pass activations or an iterable of (N, d) blocks")
    return centre_gram((G + G.T) / 2.0)


def representation_gram(
    activations: Any, kind: str = "flat", block_channels: int | None = None
) -> np.ndarray:
    """Centred linear Gram matrix of one representation of a layer.

    The per-layer quantity a pipeline stores once and compares for every pair with
    :func:`cnntopo.ph.similarity.measure_matrix_from_grams`.

    Parameters
    ----------
    activations : np.ndarray or np.memmap, shape (N, c, h, w)
        Layer activations.
    kind : {"flat", "pool", "topl2"}, default "flat"
        The representation (see :func:`representation`). ``"flat"`` is accumulated
        over channel blocks (:func:`centred_gram`) and never materialised.
    block_channels : int, optional
        Channels per block for ``"flat"``, see :func:`channel_blocks`.

    Returns
    -------
    np.ndarray, shape (N, N), float64
        ``X_c X_c^T`` for the column-centred representation ``X``.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or ``activations`` invalid.
    """
    if kind == "flat":
        _shape4(activations)
        return centred_gram(activations, block_channels)
    if kind not in REPRESENTATIONS:
        raise ValueError(f"kind must be one of {REPRESENTATIONS}, got {kind!r}")
    return linear_gram(representation(activations, kind))


def load_representation(path: str | Path) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
    """Read a file of :func:`cnntopo.stages.ph.similarity.similarity_representations`.

    Parameters
    ----------
    path : path-like
        A ``.npz`` with ``layers`` and either ``grams`` (L, N, N) (``flat``) or
        ``features_<l>`` (N, c) per layer (``topl2``, ``pool``).

    Returns
    -------
    list of (gram, features), one per layer
        ``gram`` (N, N) for ``flat`` (else None), ``features`` (N, c) for ``topl2`` and
        ``pool`` (else None): the :data:`cnntopo.ph.similarity.Rep` pairs that
        :func:`cnntopo.ph.similarity.compare` takes. :func:`layer_gram` gives the Gram
        matrix of either.
    """
    from cnntopo.artifacts import read_npz

    z, _ = read_npz(path, required=["layers"])
    n_layers = len(z["layers"])
    grams = z["grams"] if "grams" in z else [None] * n_layers
    return [(grams[i], z.get(f"features_{i}")) for i in range(n_layers)]


def layer_gram(rep: tuple[np.ndarray | None, np.ndarray | None]) -> np.ndarray:
    """The centred linear Gram matrix (N, N) of one ``(gram, features)`` pair.

    The stored ``gram`` if there is one, else :func:`cnntopo.ph.similarity.linear_gram`
    of the features.
    """
    gram, features = rep
    if gram is None and features is None:
        raise ValueError("the representation holds neither a Gram matrix nor features")
    return gram if gram is not None else linear_gram(features)


def representation_distances(rep: tuple[np.ndarray | None, np.ndarray | None]) -> np.ndarray:
    """Euclidean distances between the images of one ``(gram, features)`` pair.

    The input of the Vietoris-Rips diagrams of the ``flat`` and ``pool``
    representations (:func:`cnntopo.ph.persistence.distance_matrix_diagrams`) and
    of their representative cycles.

    - With a Gram matrix ``K`` (``flat``: the centred linear Gram ``X_c X_c^T`` of
      :func:`centred_gram`), ``d_ij^2 = K_ii + K_jj - 2 K_ij``. Centring translates
      every point by the same vector, so these are the distances between the rows
      of the uncentred flattened activations as well.
    - With features ``X`` (``pool``, ``topl2``; no Gram matrix),
      :func:`scipy.spatial.distance.cdist` of ``X`` in float64 (each entry from
      the coordinate differences, without the cancellation of the Gram form).

    Parameters
    ----------
    rep : tuple (gram, features)
        As :func:`load_representation` returns per layer: ``gram`` of shape
        (N, N) (or None) and ``features`` of shape (N, c) (or None). The Gram
        matrix is used when present.

    Returns
    -------
    np.ndarray, shape (N, N), float64
        Distances: squared distances clipped at 0 before the square root (a
        rounding error of the Gram form can make a tiny one negative), zero
        diagonal, exactly symmetric.

    Raises
    ------
    ValueError
        If the pair holds neither array, the Gram matrix is not square, the
        features are not 2-D, or either holds non-finite values.
    """
    gram, features = rep
    if gram is not None:
        K = np.asarray(gram, dtype=np.float64)
        if K.ndim != 2 or K.shape[0] != K.shape[1]:
            raise ValueError(f"the Gram matrix must have shape (N, N), got shape {K.shape}")
        if not np.all(np.isfinite(K)):
            raise ValueError("the Gram matrix contains NaN or infinite values")
        diag = np.diagonal(K)
        d2 = diag[:, None] + diag[None, :] - 2.0 * K
    elif features is not None:
        from scipy.spatial.distance import cdist

        X = np.asarray(features, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"features must have shape (N, c), got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("the features contain NaN or infinite values")
        d2 = cdist(X, X, metric="sqeuclidean")
    else:
        raise ValueError("the representation holds neither a Gram matrix nor features")
    d2 = (d2 + d2.T) / 2.0  # exactly symmetric (addition commutes)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return np.sqrt(d2)
