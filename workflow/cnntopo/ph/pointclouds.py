"""Point-cloud summaries of convolutional activations.

Implements construction P1 of the paper ("Point cloud summaries of activations --
Top :math:`l^2`-norm activations"): for each image, the spatial activation vector
(the length-``c`` vector of channel values at one spatial position) with the
largest Euclidean norm becomes one point of the layer's point cloud. With
``N`` images a layer of shape ``(c, h, w)`` therefore gives an ``(N, c)`` cloud.

References
----------
.. [1] Purvine, E.; Brown, D.; Jefferson, B.; Joslyn, C.; Praggastis, B.; Rathore,
   A.; Shapiro, M.; Wang, B.; Zhou, Y. 2023. Experimental Observations of the
   Topology of Convolutional Neural Network Activations. AAAI 2023,
   arXiv:2212.00222. Official code: ``pnnl/DeepDataProfiler``,
   ``papers_with_code/ExperimentalObservations/AAAI-code-PH/topL2_pointclouds.py``.
"""

from __future__ import annotations

import numpy as np

from cnntopo.nets.layers import cloud_shape

__all__ = ["top_l2", "as_vectors", "flat_to_rowcol"]


def _check_chunk_size(chunk_size: int) -> int:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int | np.integer):
        raise TypeError(f"chunk_size must be a positive int, got {type(chunk_size).__name__}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}; pass e.g. chunk_size=256")
    return int(chunk_size)


def _squared_norms(chunk: np.ndarray) -> np.ndarray:
    """Squared l2 norm over channels of every spatial vector.

    Parameters
    ----------
    chunk : np.ndarray, shape (n, c, p), float32
        Activations of ``n`` images with the ``p = h*w`` positions flattened.

    Returns
    -------
    np.ndarray, shape (n, p), float64
        ``sum_c chunk[:, c, :]**2``, accumulated in float64.
    """
    return np.einsum("ncp,ncp->np", chunk, chunk, dtype=np.float64)


#: Default bound on the float32 values of one chunk of :func:`top_l2` (bytes).
CHUNK_BYTES = 128 * 2**20


def top_l2(activations: np.ndarray, chunk_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top l2-norm spatial activation vector of every image (the paper's P1 cloud).

    For image ``i`` the activation tensor ``A[i]`` of shape ``(c, h, w)`` is read as
    ``h*w`` spatial vectors of length ``c``; the vector with the largest l2 norm
    over channels is kept. Positions are flattened row-major (``row*w + col``),
    as ``torch.Tensor.flatten(start_dim=2)`` does in the official code; ties go to
    the first (smallest) flat index, as ``np.argmax`` and ``torch.argmax`` do.

    Images are processed ``chunk_size`` at a time, so a :class:`numpy.memmap` larger
    than memory is read in bounded pieces (at most ``chunk_size * c * h * w``
    values at once).

    Parameters
    ----------
    activations : np.ndarray or np.memmap, shape (N, c, h, w), (N, tokens, d) or (N, c)
        Layer activations, float32 or float16 (any real dtype is accepted and
        converted to float32). Convolution outputs of any spatial size (also 1x1);
        a transformer block's ``(N, tokens, d)`` output is read as ``tokens`` positions
        of ``d``-vectors; ``(N, c)`` as one position (:func:`as_vectors`).
    chunk_size : int, optional
        Number of images processed per step; default: 256, or fewer so that a chunk
        holds at most :data:`CHUNK_BYTES` of float32 values (big layers: a 224-px
        ResNet-50's 256 x 56 x 56 maps are 3.2 MB per image).

    Returns
    -------
    points : np.ndarray, shape (N, c), float32
        The selected spatial activation vectors, values copied unchanged (float16
        input is converted to float32 exactly).
    positions : np.ndarray, shape (N,), int64
        Flat spatial index ``row*w + col`` of each selected vector (see
        :func:`flat_to_rowcol`), the token index for ``(N, tokens, d)``, 0 for ``(N, c)``.

    Raises
    ------
    ValueError
        If ``activations`` has fewer than 2 dimensions, no positions or channels, or
        ``chunk_size < 1``.
    TypeError
        If ``chunk_size`` is not an integer.

    Notes
    -----
    The norms are compared as squared sums accumulated in float64. The official
    code compares float32 ``torch.linalg.norm`` values, so when two positions'
    norms agree to float32 rounding (relative ~1e-7) the chosen position may
    differ from the paper's; the selected vector's values are never altered.

    References
    ----------
    .. [1] Purvine et al. 2023, AAAI, arXiv:2212.00222, section "Top l2-norm
       activations".
    """
    shape = np.shape(activations)
    if len(shape) < 2:
        raise ValueError(
            f"activations must have shape (N, c, h, w), (N, tokens, d) or (N, c), got shape "
            f"{shape}; add a batch axis with a[None] for a single image"
        )
    n_images = shape[0]
    n_channels, n_pos = cloud_shape(shape[1:])
    if n_channels == 0 or n_pos == 0:
        raise ValueError(
            f"activations of shape {shape} have no channels or no spatial positions; "
            "pass the full layer output"
        )
    if chunk_size is None:
        chunk_size = max(1, min(256, CHUNK_BYTES // (4 * n_channels * n_pos)))
    chunk_size = _check_chunk_size(chunk_size)
    points = np.empty((n_images, n_channels), dtype=np.float32)
    positions = np.empty(n_images, dtype=np.int64)
    for start in range(0, n_images, chunk_size):
        stop = min(start + chunk_size, n_images)
        chunk = as_vectors(np.asarray(activations[start:stop], dtype=np.float32))
        best = np.argmax(_squared_norms(chunk), axis=1)
        positions[start:stop] = best
        points[start:stop] = np.take_along_axis(chunk, best[:, None, None], axis=2)[:, :, 0]
    return points, positions


def as_vectors(chunk: np.ndarray) -> np.ndarray:
    """View a layer output ``(n, ...)`` as ``(n, c, p)``: ``p`` position vectors of length ``c``.

    Parameters
    ----------
    chunk : np.ndarray or torch.Tensor
        ``(n, c, h, w)`` (convolutions; positions row-major, ``row*w + col``; also any
        number of spatial axes), ``(n, tokens, d)`` (transformer blocks: each token is a
        position, its ``d`` features the vector) or ``(n, c)`` (one position, like a
        1x1 map).

    Returns
    -------
    np.ndarray or torch.Tensor, shape (n, c, p)
        Same type as ``chunk``; a view when possible (the token layout is a transposed view); ``(c, p)`` is
        :func:`cnntopo.nets.layers.cloud_shape` of the per-image shape.
    """
    n = chunk.shape[0]
    if chunk.ndim == 2:
        return chunk[:, :, None]
    if chunk.ndim == 3:
        return chunk.swapaxes(1, 2)
    return chunk.reshape(n, chunk.shape[1], -1)


def flat_to_rowcol(positions: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Convert row-major flat spatial indices to (row, column) pairs.

    Parameters
    ----------
    positions : array_like of int, shape (N,)
        Flat indices ``row*w + col`` as returned by :func:`top_l2`.
    w : int
        Width (number of columns) of the activation map.

    Returns
    -------
    rows, cols : np.ndarray, shape (N,), int64
        ``positions // w`` and ``positions % w``.

    Raises
    ------
    ValueError
        If ``w < 1`` or any position is negative.
    """
    if isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1:
        raise ValueError(f"w must be a positive integer width, got {w!r}")
    pos = np.asarray(positions, dtype=np.int64)
    if pos.size and pos.min() < 0:
        raise ValueError(
            "positions must be non-negative flat indices row*w + col; got a negative value"
        )
    rows, cols = np.divmod(pos, int(w))
    return rows, cols
