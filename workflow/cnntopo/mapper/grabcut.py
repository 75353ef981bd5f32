"""GrabCut foreground / background masks for the mapper point clouds (docs/methods.md §11).

The official ``cifar_extract_full_activations_{foreground,background}.py`` (Purvine et
al. 2023) segment every image with OpenCV's GrabCut (Rother et al. 2004)::

    mask = zeros(img.shape[:2]); rect = (0, 0, img.shape[0] - 1, img.shape[1] - 1)
    cv2.grabCut(img, mask, rect, bgdModel, fgdModel, 5, cv2.GC_INIT_WITH_RECT)
    fg = mask in {GC_FGD, GC_PR_FGD}        (background: mask in {GC_BGD, GC_PR_BGD})
    used = cvtColor(img * fg[..., None], COLOR_BGR2GRAY) != 0

i.e. the rectangle is the whole image minus its last row and column (those are
definite background), and a pixel counts only if its grey value in the GrabCut input
is non-zero. Two input conventions are offered (``mode``):

``"paper"`` (faithful)
    The official input is the stored *normalised* float image ``(C, H, W)`` permuted
    with ``np.einsum('ijk->kji')`` to ``(W, H, C)`` and cast with ``astype('uint8')``.
    The cast truncates towards zero and wraps modulo 256 (x86 behaviour, reproduced
    explicitly here so it is platform independent): normalised values in (-1, 1) become
    0, values in [1, 2) become 1, (-2, -1] become 255, and so on, so GrabCut sees a
    nearly binary image. The mask is computed in the permuted ``(W, H)`` frame but then
    indexed as ``mask[i, j] -> pixel (row i, col j)``, so it is **transposed** relative
    to the image. The grey test (``0.299 R + 0.587 G + 0.114 B`` of the wrapped image,
    with the RGB data read as BGR) drops every pixel whose normalised values are within
    (-1, 1) in all three channels, and some with only small values, whatever GrabCut says.
    On images with a constant background (digits, Fashion-MNIST) the mask is often empty.
``"corrected"``
    GrabCut runs on the prepared ``uint8`` RGB image (passed as BGR, as OpenCV expects)
    in its own orientation with the same rectangle and iterations; the mask is in image
    coordinates, the background is its complement and there is no grey test.

With the official rectangle the background colour model is learnt from the last row
and column only; when the object touches that border (e.g. the 8x8 digits resized to
32x32) GrabCut often labels the whole image background, in either mode.

OpenCV's GrabCut initialises its colour models with k-means++ drawn from OpenCV's global
RNG; it is reseeded (``cv2.setRNGSeed(0)``) before every image, so a mask depends only
on the image. GrabCut errors (``cv2.error``) are counted and give an empty mask; callers
decide the fallback (:func:`cnntopo.mapper.clouds.build_cloud` uses all pixels).

References
----------
.. [1] Rother, C., Kolmogorov, V., and Blake, A. 2004. "GrabCut": Interactive
   Foreground Extraction Using Iterated Graph Cuts. ACM SIGGRAPH.
.. [2] Purvine, E., et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI. arXiv:2212.00222.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch

__all__ = [
    "GRABCUT_MODES",
    "GrabCutMasks",
    "grabcut_masks",
    "paper_grabcut_input",
    "prepared_uint8",
    "wrap_uint8",
]

#: Input conventions of :func:`grabcut_masks`.
GRABCUT_MODES: tuple[str, ...] = ("paper", "corrected")

#: OpenCV RNG seed set before every GrabCut call.
_CV_SEED = 0


class GrabCutMasks(NamedTuple):
    """Masks of :func:`grabcut_masks`.

    Attributes
    ----------
    foreground, background : numpy.ndarray, shape (N, S, S), dtype bool
        ``mask[n, i, j]`` is true when pixel ``i * S + j`` of image ``n`` (the index of
        :func:`cnntopo.mapper.receptive_field.receptive_field_table`) belongs to the region,
        as the official code uses it (so transposed in ``"paper"`` mode).
    errors : int
        Images on which ``cv2.grabCut`` raised (both masks empty for them).
    mode : str
    iters : int
    """

    foreground: np.ndarray
    background: np.ndarray
    errors: int
    mode: str
    iters: int


def prepared_uint8(images: np.ndarray, size: int = 32) -> np.ndarray:
    """The model's view of raw images as uint8 RGB: ``round(255 * prepare(images))``.

    Parameters
    ----------
    images : numpy.ndarray, shape (N, H, W, C), dtype uint8
        C in {1, 3}; grey images are repeated to RGB, resized / padded to ``size`` as
        by :func:`cnntopo.nets.transforms.prepare`.
    size : int, default 32

    Returns
    -------
    numpy.ndarray, shape (N, size, size, 3), dtype uint8
        Identical to the input for 3-channel ``size x size`` images.
    """
    from cnntopo.nets.transforms import prepare

    with torch.inference_mode():
        x = prepare(images, size).permute(0, 2, 3, 1).mul(255.0).round_().clamp_(0, 255)
        return np.ascontiguousarray(x.to(torch.uint8).numpy())


def wrap_uint8(x: np.ndarray) -> np.ndarray:
    """``x.astype('uint8')`` as x86 numpy does it: truncate towards zero, wrap modulo 256.

    Parameters
    ----------
    x : numpy.ndarray of floats (finite, ``|x| < 2**62``)

    Returns
    -------
    numpy.ndarray of uint8, same shape.
    """
    return (np.trunc(x).astype(np.int64) & 0xFF).astype(np.uint8)


def paper_grabcut_input(normalized_chw: np.ndarray) -> np.ndarray:
    """The official GrabCut input: ``np.einsum('ijk->kji', img).astype('uint8')``.

    Parameters
    ----------
    normalized_chw : numpy.ndarray, shape (3, H, W), float
        A normalised model input (``(x - mean) / std``).

    Returns
    -------
    numpy.ndarray, shape (W, H, 3), dtype uint8, C-contiguous
        Axes swapped to ``(W, H, C)``; values cast by :func:`wrap_uint8`.
    """
    return np.ascontiguousarray(wrap_uint8(np.einsum("ijk->kji", normalized_chw)))


def _grabcut_labels(img: np.ndarray, iters: int) -> np.ndarray:
    """GrabCut label map (GC_BGD/FGD/PR_BGD/PR_FGD) of a uint8 3-channel image."""
    import cv2

    mask = np.zeros(img.shape[:2], dtype=np.uint8)
    bgd_model = np.zeros((1, 65), np.float64)
    fgd_model = np.zeros((1, 65), np.float64)
    # the official rectangle (x, y, width, height): the whole image minus its last
    # row and column (uses shape[0] for the width, as the official code)
    rect = (0, 0, img.shape[0] - 1, img.shape[1] - 1)
    cv2.setRNGSeed(_CV_SEED)
    cv2.grabCut(img, mask, rect, bgd_model, fgd_model, int(iters), cv2.GC_INIT_WITH_RECT)
    return mask


def grabcut_masks(
    images: np.ndarray,
    *,
    mode: str = "paper",
    mean: Sequence[float],
    std: Sequence[float],
    iters: int = 5,
    size: int = 32,
    batch_size: int = 1000,
    log: Callable[[str], None] | None = None,
) -> GrabCutMasks:
    """Foreground and background masks of every image (see the module docstring).

    Parameters
    ----------
    images : numpy.ndarray, shape (N, H, W, C), dtype uint8
        Raw images (e.g. ``ImageSet.images``); they are prepared to ``size x size`` RGB
        first (:func:`cnntopo.nets.transforms.prepare`).
    mode : {"paper", "corrected"}, default "paper"
        GrabCut input convention.
    mean, std : sequence of 3 floats
        Normalisation of the model input (used by ``"paper"`` mode only).
    iters : int, default 5
        GrabCut iterations (5 in the official code).
    size : int, default 32
        Side of the prepared image.
    batch_size : int, default 1000
        Images prepared at a time.
    log : callable, optional
        Receives a progress line every ``batch_size`` images.

    Returns
    -------
    GrabCutMasks
        Boolean ``(N, size, size)`` foreground / background masks in the pixel indexing
        of :func:`cnntopo.mapper.receptive_field.receptive_field_table`, and the error count.

    Raises
    ------
    ValueError
        Unknown mode, ``iters < 1`` or images not uint8 ``(N, H, W, C)``.
    """
    import cv2

    from cnntopo.nets.transforms import normalize, prepare

    if mode not in GRABCUT_MODES:
        raise ValueError(f"grabcut mode must be one of {GRABCUT_MODES}, got {mode!r}")
    if isinstance(iters, bool) or int(iters) != iters or iters < 1:
        raise ValueError(f"grabcut_iters must be a positive integer, got {iters!r}")
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"images must be uint8 (N, H, W, C), got {images.dtype} {images.shape}")
    n = images.shape[0]
    fg = np.zeros((n, size, size), dtype=bool)
    bg = np.zeros((n, size, size), dtype=bool)
    errors = 0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        if mode == "paper":
            with torch.inference_mode():
                inputs = normalize(prepare(images[start:stop], size), mean, std).numpy()
        else:
            inputs = prepared_uint8(images[start:stop], size)
        for k in range(stop - start):
            if mode == "paper":
                img = paper_grabcut_input(inputs[k])
            else:
                img = np.ascontiguousarray(inputs[k][:, :, ::-1])  # RGB -> BGR
            try:
                labels = _grabcut_labels(img, iters)
            except cv2.error:
                errors += 1
                continue
            is_fg = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
            if mode == "paper":
                nonzero = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) != 0
                fg[start + k] = is_fg & nonzero
                bg[start + k] = ~is_fg & nonzero
            else:
                fg[start + k] = is_fg
                bg[start + k] = ~is_fg
        if log is not None:
            log(f"grabcut ({mode}): {stop}/{n} images")
    return GrabCutMasks(fg, bg, errors, mode, int(iters))
