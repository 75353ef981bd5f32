"""Point clouds of spatial activation vectors for the mapper experiments (docs/methods.md §11).

A mapper layer of :class:`cnntopo.nets.resnet_option_b.MapperResNet18` gives, per image, a
``(c, h, w)`` activation tensor; a *spatial activation vector* is the length-``c``
vector at one position ``(row, col)``. :func:`build_cloud` turns ``N`` images into a
point cloud of such vectors by one of the constructions of the official
``AAAI-code-mapper`` scripts (Purvine et al. 2023):

``"random"`` (P2, ``cifar_extract_sampled_activations.py``)
    One position per image, row and column each uniform in ``{low, ..., n-1}``
    (``np.random.randint(1, n)``: only index 0 is excluded although the official
    comment says "avoid boundary"), after ReLU. ``N`` points. An axis of one position
    (a 1x1 map) has no boundary to avoid: its index is 0 whatever ``low``.
``"full"`` (P3, ``get_mapper_full_batches.py``)
    Every spatial vector of every image after ReLU, rows ordered class -> position
    (row-major) -> image; more than ``cap`` (800,000) rows are subsampled uniformly
    with replacement (``np.random.choice`` default). ``min(N*h*w, cap)`` points.
``"foreground"`` / ``"background"`` (P4/P5, ``cifar_extract_full_activations_*.py``)
    Per image the ``topk`` positions (1 or 5 in the paper) whose receptive field
    responds most strongly to the GrabCut foreground (background) pixels, **without**
    ReLU. ``N * topk`` points.

``sigma > 0`` adds Gaussian noise ``N(0, sigma^2)`` to the *normalised* input (P6,
``cifar_extract_full_activations_noises.py``), with any method.

Activations of the option-B network are the official ones: forward hooks storing
references (:func:`cnntopo.nets.activations.capture` with ``clone=False``), so ``*.bn2``
layers give the BN2 output plus the shortcut (the pre-ReLU block output); see
:mod:`cnntopo.nets.resnet_option_b`. Any other network (``shape`` given) gives each
module's output as the module returned it (a copy, so later in-place operations of the
network do not change it), as the PH branch records its layers.
The network runs batch by batch and only the selected rows are kept, so memory is
bounded by one batch plus the output.

Unlike the official scripts (which set no seed) every random choice comes from
``seed``. Positions, row subsampling and ties are drawn from a generator of their own
per layer, :func:`layer_rng` (``seed`` and a CRC-32 of the layer name), so layers of the
same shape get independent draws as in the official per-layer extraction; the noise
comes from a CPU ``torch.Generator`` seeded with ``seed``, the same for every layer
(the official scripts add the noise once and capture all layers in that pass).

References
----------
.. [1] Purvine, E., et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI. arXiv:2212.00222.
.. [2] Rother, C., Kolmogorov, V., and Blake, A. 2004. "GrabCut". ACM SIGGRAPH.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from cnntopo.mapper.grabcut import GRABCUT_MODES, GrabCutMasks, grabcut_masks
from cnntopo.mapper.receptive_field import receptive_field_table
from cnntopo.nets.devices import select_device
from cnntopo.nets.layers_option_b import mapper_layer_names, mapper_layer_shapes
from cnntopo.ph.pointclouds import as_vectors

__all__ = [
    "EMPTY_MASK_RULES",
    "METHODS",
    "TIE_RTOL",
    "TIE_RULES",
    "build_cloud",
    "build_user_cloud",
    "class_blocks",
    "layer_activations",
    "layer_rng",
    "layer_seed",
    "position_grid",
    "random_lows",
    "region_weights",
    "select_topk",
]

#: Point-cloud constructions of :func:`build_cloud`.
METHODS: tuple[str, ...] = ("random", "full", "foreground", "background")

#: How :func:`select_topk` breaks ties at the ``k``-th largest weight: ``"paper"`` draws
#: ``k`` among all positions weighted at least the ``k``-th largest (the official code),
#: ``"strict"`` keeps the strictly larger ones and draws only among the tied.
TIE_RULES: tuple[str, ...] = ("paper", "strict")

#: What an image with an empty GrabCut region gives: ``"random"`` = all its weights are 0,
#: so its positions are drawn uniformly (the official code); ``"all_pixels"`` = the region
#: becomes the whole image, i.e. the positions of largest total receptive-field weight.
EMPTY_MASK_RULES: tuple[str, ...] = ("random", "all_pixels")

#: Relative tolerance (of the largest weight of an image) within which two receptive-
#: field weights count as tied. Mathematically equal weights (symmetric positions) can
#: differ in the last bits; the official code compares exact float32 values.
TIE_RTOL: float = 1e-9


# --------------------------------------------------------------------------- helpers


def class_blocks(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contiguous class blocks of class-major labels.

    Parameters
    ----------
    labels : numpy.ndarray, shape (N,), integer
        Non-decreasing (all images of the first class, then the next, ...).

    Returns
    -------
    classes, starts, counts : numpy.ndarray, each shape (K,), int64
        The classes present, the index of their first image and their image counts.

    Raises
    ------
    ValueError
        ``labels`` is not class-major.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if labels.size and np.any(np.diff(labels) < 0):
        raise ValueError(
            "images must be in class-major order (all images of class 0, then class 1, ...): "
            "sort them first, e.g. order = np.argsort(labels, kind='stable'); "
            "images, labels = images[order], labels[order]"
        )
    classes, starts, counts = np.unique(labels, return_index=True, return_counts=True)
    return classes.astype(np.int64), starts.astype(np.int64), counts.astype(np.int64)


def region_weights(masks: np.ndarray, table: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Receptive-field weight of every position for every image's region mask.

    The official ``get_activation_weights``: ``w[n, q] = || T[q, pixels in mask n] ||_2``.

    Parameters
    ----------
    masks : numpy.ndarray, shape (N, S, S) or (N, S*S), bool
        Region (foreground or background) per image, indexed like the table's pixels.
    table : numpy.ndarray, shape (h*w, S*S)
        :func:`cnntopo.mapper.receptive_field.receptive_field_table`.
    chunk : int, default 4096
        Images per matrix product.

    Returns
    -------
    numpy.ndarray, shape (N, h*w), float64
    """
    n = masks.shape[0]
    flat = masks.reshape(n, -1)
    if flat.shape[1] != table.shape[1]:
        raise ValueError(
            f"masks have {flat.shape[1]} pixels but the receptive-field table {table.shape[1]}"
        )
    squared = np.square(table).T  # (S*S, h*w)
    out = np.empty((n, table.shape[0]), dtype=np.float64)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        out[start:stop] = flat[start:stop].astype(np.float64) @ squared
    np.sqrt(out, out=out)
    return out


def layer_seed(seed: int, layer: str) -> list[int]:
    """Entropy of a layer's generator: ``[seed, crc32(layer)]``.

    ``zlib.crc32`` of the UTF-8 layer name is stable across Python processes and
    versions (unlike ``hash``), so the same ``(seed, layer)`` always gives the same draws,
    and layers of the same shape get different ones.

    Parameters
    ----------
    seed : int
        The cloud's seed (``mapper.seed``), >= 0.
    layer : str
        Layer name, e.g. ``"layer4.1.bn2"``.

    Returns
    -------
    list of int, length 2
        The entropy of ``np.random.SeedSequence``; recorded in a cloud's
        ``meta["rng_seed"]``.
    """
    return [int(seed), zlib.crc32(layer.encode("utf-8"))]


def layer_rng(seed: int, layer: str) -> np.random.Generator:
    """The generator of a layer's positions, subsample rows and ties.

    ``np.random.default_rng(np.random.SeedSequence(layer_seed(seed, layer)))``.

    Parameters
    ----------
    seed : int
    layer : str

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng(np.random.SeedSequence(layer_seed(seed, layer)))


def select_topk(
    weights: np.ndarray, k: int, rng: np.random.Generator, ties: str = "paper"
) -> tuple[np.ndarray, int]:
    """The ``k`` highest-weighted positions of every row, random among ties.

    Let ``t`` be the ``k``-th largest weight of a row. Weights within
    ``TIE_RTOL * max`` of ``t`` count as equal to it (mathematically equal weights of
    symmetric positions can differ in the last bits).

    ``ties="paper"`` (the official rule): the candidates are all positions weighted at
    least ``t``; when there are more than ``k``, ``k`` of them are drawn uniformly
    without replacement, so a position weighted strictly above ``t`` can be dropped.
    ``ties="strict"``: positions weighted strictly above ``t`` are always kept and only
    the remaining places are drawn among the positions tied with ``t``. For ``k = 1``,
    and when all weights of a row are equal (e.g. all 0 for an empty region), the two
    rules agree. Random numbers are drawn only for rows with more candidates than
    places, in row order.

    Parameters
    ----------
    weights : numpy.ndarray, shape (N, Q)
    k : int
        ``1 <= k <= Q``.
    rng : numpy.random.Generator
    ties : {"paper", "strict"}, default "paper"

    Returns
    -------
    positions : numpy.ndarray, shape (N, k), int64
        Selected position indices of each row, ascending.
    n_tied : int
        Rows where ties were broken at random.

    Raises
    ------
    ValueError
        Unknown ``ties``.
    """
    if ties not in TIE_RULES:
        raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}")
    n, _ = weights.shape
    kth = -np.partition(-weights, k - 1, axis=1)[:, k - 1]
    tol = (TIE_RTOL * np.abs(weights).max(axis=1))[:, None]
    candidates = weights >= kth[:, None] - tol
    if ties == "paper":
        above = np.zeros_like(candidates)
    else:
        above = weights > kth[:, None] + tol
    tied = candidates & ~above
    out = np.empty((n, k), dtype=np.int64)
    exact = candidates.sum(axis=1) == k
    if exact.any():
        out[exact] = np.nonzero(candidates[exact])[1].reshape(-1, k)
    random_rows = np.flatnonzero(~exact)
    for row in random_rows:
        keep = np.flatnonzero(above[row])
        pool = np.flatnonzero(tied[row])
        extra = rng.choice(pool, size=k - keep.size, replace=False)
        out[row] = np.sort(np.concatenate([keep, extra]))
    return out, int(random_rows.size)


def position_grid(shape: Sequence[int]) -> tuple[int, int, int]:
    """``(c, h, w)``: vector length and the rows x columns of positions of a layer output.

    ``(c, h, w)`` as it is; ``(tokens, d)`` -> ``(d, tokens, 1)`` (every token a
    position, :func:`cnntopo.ph.pointclouds.as_vectors`); ``(c,)`` -> ``(c, 1, 1)``
    (one position, as a 1x1 map); more spatial axes are flattened into the rows.

    >>> position_grid((64, 8, 8)), position_grid((197, 768)), position_grid((10,))
    ((64, 8, 8), (768, 197, 1), (10, 1, 1))
    """
    from cnntopo.nets.layers import cloud_shape

    shape = tuple(int(s) for s in shape)
    if len(shape) == 3:
        return shape
    c, p = cloud_shape(shape)
    return c, p, 1


def _is_option_b(model: nn.Module) -> bool:
    from cnntopo.nets.resnet_option_b import MapperResNet18

    return isinstance(model, MapperResNet18)


def _has_receptive_fields(model: nn.Module, layer: str) -> bool:
    """The receptive-field table exists for the option-B network's mapper layers only."""
    return _is_option_b(model) and layer in mapper_layer_names()


def _check_int(value: Any, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def random_lows(h: int, w: int, low: int) -> list[int]:
    """Smallest row and column index of the ``"random"`` draw on an ``h x w`` layer.

    ``low`` on every axis with more than one position; an axis of one position (a 1x1
    map, a ``(c,)`` vector, the column axis of ``(tokens, d)`` outputs) has no boundary
    to avoid and gives index 0.

    Raises
    ------
    ValueError
        ``low`` leaves no index on an axis of more than one position.

    >>> random_lows(4, 4, 1), random_lows(1, 1, 1), random_lows(7, 1, 1)
    ([1, 1], [0, 0], [1, 0])
    """
    lows = [0 if n == 1 else low for n in (h, w)]
    for n, axis_low in zip((h, w), lows, strict=True):
        if not 0 <= axis_low < n:
            raise ValueError(
                f"low must be in [0, {n - 1}] for a {h}x{w} layer, got {low} "
                "(an axis of one position always gives index 0)"
            )
    return lows


def _plan_random(
    n_images: int, h: int, w: int, low: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    draws = rng.integers(random_lows(h, w, low), [h, w], size=(n_images, 2))
    return np.arange(n_images, dtype=np.int64), (draws[:, 0] * w + draws[:, 1]).astype(np.int64)


def _plan_full(
    labels: np.ndarray, n_pos: int, cap: int, replace: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Rows (image, position) of the full cloud in class -> position -> image order."""
    _, starts, counts = class_blocks(labels)
    total = int(labels.size) * n_pos
    if total <= cap:
        img = np.concatenate(
            [np.tile(np.arange(s, s + c), n_pos) for s, c in zip(starts, counts, strict=True)]
        )
        pos = np.concatenate([np.repeat(np.arange(n_pos), c) for c in counts])
        return img.astype(np.int64), pos.astype(np.int64), total, False
    rows = rng.choice(total, size=cap, replace=replace).astype(np.int64)
    block_start = starts * n_pos  # first row of every class block (class-major images)
    block = np.searchsorted(block_start, rows, side="right") - 1
    within = rows - block_start[block]
    pos = within // counts[block]
    img = starts[block] + within % counts[block]
    return img, pos, total, True


def _check_masks(
    masks: GrabCutMasks, mode: str, iters: int, n_images: int, image_size: int
) -> None:
    shape = (n_images, image_size, image_size)
    if (masks.mode, masks.iters) != (mode, iters) or masks.foreground.shape != shape:
        raise ValueError(
            f"masks (mode {masks.mode!r}, {masks.iters} iterations, shape "
            f"{masks.foreground.shape}) do not match grabcut={mode!r}, grabcut_iters={iters}, "
            f"{n_images} images of {image_size}x{image_size}"
        )


def _plan_region(
    region: np.ndarray,
    table: np.ndarray,
    topk: int,
    rng: np.random.Generator,
    *,
    empty_mask: str = "random",
    ties: str = "paper",
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Top-``topk`` receptive-field positions of every image for its region mask.

    An empty region (GrabCut found no foreground / background, or failed) gives all
    weights 0, so ``topk`` positions are drawn uniformly (``empty_mask="random"``, the
    official outcome), or is replaced by all pixels (``"all_pixels"``).
    """
    if empty_mask not in EMPTY_MASK_RULES:
        raise ValueError(f"empty_mask must be one of {EMPTY_MASK_RULES}, got {empty_mask!r}")
    n_images = region.shape[0]
    region = region.reshape(n_images, -1)
    empty = ~region.any(axis=1)
    if empty_mask == "all_pixels" and empty.any():
        region = region.copy()
        region[empty] = True
    chosen, n_ties = select_topk(region_weights(region, table), topk, rng, ties=ties)
    img_idx = np.repeat(np.arange(n_images, dtype=np.int64), topk)
    return img_idx, chosen.reshape(-1), {"n_ties": n_ties, "mask_fallbacks": int(empty.sum())}


def _check_layer(model: nn.Module, layer: str, shape: Sequence[int] | None) -> dict:
    """The model's modules by name, after checking that ``layer`` is one of them (and,
    without ``shape``, a mapper layer of the option-B network)."""
    modules = dict(model.named_modules())
    if shape is None:
        valid_layers = mapper_layer_names()
        if layer not in valid_layers:
            raise ValueError(
                f"unknown mapper layer {layer!r}; valid names: {', '.join(valid_layers)} "
                "(other networks: pass the layer's shape)"
            )
        if layer not in modules:
            raise ValueError(
                f"the model has no module {layer!r}: without a shape build_cloud needs the "
                "mapper network (arch 'resnet18_mapper', "
                "cnntopo.nets.resnet_option_b.MapperResNet18)"
            )
    elif layer not in modules:
        raise ValueError(f"the model has no module {layer!r}")
    return modules


def _check_images(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``images`` (N, H, W, C) uint8 and ``labels`` (N,) int64, checked."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] not in (1, 3):
        raise ValueError(
            f"images must be uint8 (N, H, W, C) with C in {{1, 3}}, got {images.dtype} "
            f"{images.shape}"
        )
    labels = np.asarray(labels).astype(np.int64, copy=False)
    n_images = int(images.shape[0])
    if labels.shape != (n_images,):
        raise ValueError(f"labels shape {labels.shape} does not match {n_images} images")
    if n_images == 0:
        raise ValueError("no images")
    return images, labels


def _layer_grid(
    modules: dict, layer: str, shape: Sequence[int] | None, image_size: int
) -> tuple[int, int, int]:
    """``(c, h, w)`` of ``layer``: the static mapper table without ``shape``."""
    if shape is None:
        width = int(modules["conv1"].out_channels) if "conv1" in modules else 64
        return tuple(mapper_layer_shapes(width, image_size)[layer])
    return position_grid(shape)


# --------------------------------------------------------------------------- main entry


def build_cloud(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    layer: str,
    method: str,
    *,
    seed: int,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int = 500,
    device: str | torch.device | None = None,
    cap: int = 800_000,
    replace: bool = True,
    topk: int = 1,
    grabcut: str = "paper",
    grabcut_iters: int = 5,
    empty_mask: str = "random",
    ties: str = "paper",
    sigma: float = 0.0,
    image_size: int = 32,
    low: int = 1,
    rf_width: int = 64,
    masks: GrabCutMasks | None = None,
    shape: Sequence[int] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build one mapper point cloud (P2-P6, docs/methods.md §11).

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`cnntopo.nets.resnet_option_b.MapperResNet18` (trained), or any network
        with ``shape`` given. Moved to ``device`` in place and run in eval mode; its
        train/eval mode is restored afterwards.
    images : numpy.ndarray, shape (N, H, W, C), dtype uint8
        Raw images in **class-major order** (all images of the first class, then the
        next, ...), prepared to ``image_size`` RGB by :func:`cnntopo.nets.transforms.prepare`.
    labels : numpy.ndarray, shape (N,), integer
        Class of every image, non-decreasing.
    layer : str
        A mapper layer (:func:`cnntopo.nets.layers_option_b.mapper_layer_names`), or any
        module name of ``model`` with ``shape`` given.
    method : {"random", "full", "foreground", "background"}
        P2, P3, P4, P5 (see the module docstring).
    seed : int
        Seeds the layer's generator :func:`layer_rng` (positions, subsampling, ties;
        ``seed`` and the layer name) and the noise generator (``seed`` alone).
    mean, std : sequence of 3 floats
        Input normalisation on the [0, 1] scale.
    batch_size : int, default 500
        Images per forward pass.
    device : str or torch.device, optional
        ``None`` = CUDA when available, else CPU.
    cap : int, default 800_000
        ``"full"``: maximum number of rows; more are subsampled.
    replace : bool, default True
        ``"full"``: subsample with replacement (as the official ``np.random.choice``).
    topk : int, default 1
        ``"foreground"``/``"background"``: positions kept per image (1 or 5 in the paper).
    grabcut : {"paper", "corrected"}, default "paper"
        GrabCut input convention (:mod:`cnntopo.mapper.grabcut`). ``"paper"`` reproduces the
        official input: the normalised float image with H and W swapped and cast to
        uint8 (truncation with wrap-around), so the mask is transposed and only pixels
        with a non-zero grey value in that cast image (roughly ``|normalised value| >= 1``)
        can count. ``"corrected"`` runs GrabCut on the prepared uint8 RGB image in its
        own orientation.
    grabcut_iters : int, default 5
        GrabCut iterations (official: 5).
    empty_mask : {"random", "all_pixels"}, default "random"
        ``"foreground"``/``"background"``: an image whose region is empty gets all
        weights 0, so ``topk`` positions drawn uniformly from the layer's generator (the
        official outcome), or uses all pixels as its region (``"all_pixels"``). Either
        way such images are counted in ``meta["mask_fallbacks"]``.
    ties : {"paper", "strict"}, default "paper"
        ``"foreground"``/``"background"``: tie rule of :func:`select_topk`.
    sigma : float, default 0.0
        Standard deviation of the Gaussian noise added to the normalised input (P6);
        0 = none. Noise for image ``i`` is the ``i``-th ``(3, S, S)`` draw of a CPU
        ``torch.Generator`` seeded with ``seed``, so it does not depend on
        ``batch_size`` or the device. GrabCut always sees the clean image (as the
        official ``*_foreground_noises.py``).
    image_size : int, default 32
        Side of the model input.
    low : int, default 1
        ``"random"``: smallest row / column index drawn (the official 1); an axis of a
        single position (1x1 maps) gives index 0 (:func:`random_lows`).
    rf_width : int, default 64
        Width of the fake network behind the receptive-field weights (64 = the
        paper's, whatever the model width; see :mod:`cnntopo.mapper.receptive_field`).
    masks : GrabCutMasks, optional
        Precomputed :func:`cnntopo.mapper.grabcut.grabcut_masks` for ``images`` (same mode
        and iterations), to share GrabCut work between layers.
    shape : sequence of int, optional
        Per-image output shape of ``layer`` (``(c, h, w)``, ``(tokens, d)`` or ``(c,)``,
        as :func:`cnntopo.nets.layers.module_table` records it; positions as
        :func:`position_grid`). None = the mapper network's static shapes. The
        foreground / background clouds need the option-B network's receptive fields.
    log : callable, optional
        Receives progress lines.

    Returns
    -------
    dict
        ``points`` : (P, c) float32 -- the spatial activation vectors.
        ``labels`` : (P,) int64 -- class of each point's image.
        ``image_index`` : (P,) int64 -- row of the point's image in ``images``.
        ``position`` : (P,) int64 -- flattened position ``row * w + col``.
        ``correct`` : (N,) bool -- whether the model classifies each (noisy) image
        correctly (the official ``predictions`` column).
        ``meta`` : dict -- ``method``, ``layer``, ``seed``, ``rng_seed`` (the entropy
        of the layer's generator, :func:`layer_seed`), ``cap``, ``replace``,
        ``topk``, ``grabcut``, ``grabcut_iters``, ``empty_mask``, ``ties``, ``sigma``,
        ``low``, ``low_axes`` (``"random"``: the smallest row and column index drawn,
        :func:`random_lows`; else None), ``rf_width``,
        ``image_size``, ``shape`` ([c, h, w]), ``n_images``, ``n_rows_total``
        (``N * h * w`` spatial vectors), ``n_points``, ``subsampled``, ``relu``,
        ``accuracy``, ``per_class_accuracy`` (class -> accuracy, keys as str),
        ``n_ties`` (images whose selection broke ties at random), ``grabcut_errors``,
        ``mask_fallbacks`` (images whose region was empty; see ``empty_mask``),
        ``device``, ``seconds``.
        Row order: ``"random"``, ``"foreground"``, ``"background"``: image order
        (class-major), positions of an image ascending; ``"full"``: class -> position
        -> image, or the drawn order when subsampled.

    Raises
    ------
    ValueError
        Unknown method, layer, GrabCut mode, ``empty_mask`` or ``ties``; ``topk``, ``cap``, ``batch_size`` or
        ``grabcut_iters`` below 1; ``topk`` above ``h * w``; negative ``sigma``; images
        not uint8 ``(N, H, W, C)``, labels of the wrong length or not class-major;
        ``masks`` not matching.
    """
    t_start = time.perf_counter()
    if method not in METHODS:
        raise ValueError(f"unknown point-cloud method {method!r}; known: {', '.join(METHODS)}")
    modules = _check_layer(model, layer, shape)
    if method in ("foreground", "background") and not _has_receptive_fields(model, layer):
        raise ValueError(
            f"the {method} cloud needs the receptive-field table of the option-B ResNet-18 "
            "(arch 'resnet18_mapper'), which this network does not have; other networks "
            "take the random and full clouds"
        )
    topk = _check_int(topk, "topk", 1)
    cap = _check_int(cap, "cap", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    grabcut_iters = _check_int(grabcut_iters, "grabcut_iters", 1)
    image_size = _check_int(image_size, "image_size", 1)
    low = _check_int(low, "low", 0)
    seed = _check_int(seed, "seed", 0)
    if grabcut not in GRABCUT_MODES:
        raise ValueError(f"grabcut must be one of {GRABCUT_MODES}, got {grabcut!r}")
    if empty_mask not in EMPTY_MASK_RULES:
        raise ValueError(f"empty_mask must be one of {EMPTY_MASK_RULES}, got {empty_mask!r}")
    if ties not in TIE_RULES:
        raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}")
    if not (float(sigma) >= 0.0):
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    sigma = float(sigma)
    images, labels = _check_images(images, labels)
    n_images = int(images.shape[0])
    classes, _, _ = class_blocks(labels)
    c, h, w = _layer_grid(modules, layer, shape, image_size)
    rng = layer_rng(seed, layer)
    info: dict[str, Any] = {"subsampled": False, "n_ties": 0, "grabcut_errors": 0}
    info["mask_fallbacks"] = 0

    # which (image, position) rows to keep is decided before running the network
    if method == "random":
        img_idx, pos_idx = _plan_random(n_images, h, w, low, rng)
    elif method == "full":
        img_idx, pos_idx, _, info["subsampled"] = _plan_full(labels, h * w, cap, replace, rng)
    else:
        if topk > h * w:
            raise ValueError(f"topk={topk} exceeds the {h * w} positions of {layer} ({h}x{w})")
        if masks is None:
            masks = grabcut_masks(
                images,
                mode=grabcut,
                mean=mean,
                std=std,
                iters=grabcut_iters,
                size=image_size,
                log=log,
            )
        _check_masks(masks, grabcut, grabcut_iters, n_images, image_size)
        region = masks.foreground if method == "foreground" else masks.background
        img_idx, pos_idx, plan_info = _plan_region(
            region,
            receptive_field_table(layer, image_size, rf_width),
            topk,
            rng,
            empty_mask=empty_mask,
            ties=ties,
        )
        info.update(plan_info, grabcut_errors=int(masks.errors))

    dev = select_device(device)
    points, correct = _gather(
        model,
        images,
        labels,
        layer,
        img_idx,
        pos_idx,
        relu=method in ("random", "full"),
        c=c,
        seed=seed,
        sigma=sigma,
        mean=mean,
        std=std,
        batch_size=batch_size,
        device=dev,
        image_size=image_size,
        log=log,
    )
    per_class = {str(int(k)): float(correct[labels == k].mean()) for k in classes}
    meta = {
        "method": method,
        "layer": layer,
        "seed": seed,
        "rng_seed": layer_seed(seed, layer),
        "cap": cap,
        "replace": bool(replace),
        "topk": topk,
        "grabcut": grabcut,
        "grabcut_iters": grabcut_iters,
        "empty_mask": empty_mask,
        "ties": ties,
        "sigma": sigma,
        "low": low,
        "low_axes": random_lows(h, w, low) if method == "random" else None,
        "rf_width": int(rf_width),
        "image_size": image_size,
        "shape": [int(c), int(h), int(w)],
        "n_images": n_images,
        "n_rows_total": n_images * h * w,
        "n_points": int(points.shape[0]),
        "relu": method in ("random", "full"),
        "accuracy": float(correct.mean()),
        "per_class_accuracy": per_class,
        **info,
        "device": str(dev),
        "seconds": time.perf_counter() - t_start,
    }
    if log is not None:
        log(
            f"{method} cloud of {layer}: {points.shape[0]} x {points.shape[1]} points from "
            f"{n_images} images, accuracy {meta['accuracy']:.3f}, {meta['seconds']:.1f}s"
        )
    return {
        "points": points,
        "labels": labels[img_idx],
        "image_index": img_idx,
        "position": pos_idx,
        "correct": correct,
        "meta": meta,
    }


def layer_activations(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    layer: str,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int = 500,
    device: str | torch.device | None = None,
    image_size: int = 32,
    log: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every output of one layer for all images, and whether the network classifies them.

    The same values the built-in clouds take their rows from (:func:`build_cloud`): for
    the option-B network the official reference capture (``*.bn2`` = BN2 plus the
    shortcut, before the ReLU), for any other network the module's output as it
    returned it. No ReLU, no noise.

    Parameters
    ----------
    model : torch.nn.Module
        Moved to ``device`` and run in eval mode; its train/eval mode is restored.
    images : numpy.ndarray, shape (N, H, W, C), uint8
    labels : numpy.ndarray, shape (N,), int
    layer : str
        A module name of ``model``.
    mean, std : sequence of 3 floats
        Input normalisation on the [0, 1] scale.
    batch_size : int, default 500
    device : str or torch.device, optional
        ``None`` = CUDA when available, else CPU.
    image_size : int, default 32
    log : callable, optional

    Returns
    -------
    activations : numpy.ndarray, shape (N, *layer output shape), float32
        E.g. ``(N, c, h, w)`` for a convolutional layer. Memory ``N * c * h * w * 4``
        bytes: the whole layer is held at once.
    correct : numpy.ndarray, shape (N,), bool
    """
    from cnntopo.nets.activations import capture
    from cnntopo.nets.transforms import to_model_input

    images = np.asarray(images)
    labels = np.asarray(labels).astype(np.int64, copy=False)
    n_images = int(images.shape[0])
    device = select_device(device)
    correct = np.zeros(n_images, dtype=bool)
    out: np.ndarray | None = None
    n_batches = -(-n_images // batch_size)
    was_training = model.training
    model.to(device).eval()
    try:
        clone = not _is_option_b(model)  # as _gather: the official capture for option B
        with torch.inference_mode(), capture(model, [layer], clone=clone) as store:
            for b, start in enumerate(range(0, n_images, batch_size)):
                stop = min(start + batch_size, n_images)
                x = to_model_input(images[start:stop], mean, std, size=image_size, device=device)
                logits = model(x)
                y = torch.from_numpy(labels[start:stop]).to(device)
                correct[start:stop] = (logits.argmax(dim=1) == y).cpu().numpy()
                if layer not in store:
                    raise RuntimeError(f"layer {layer!r} produced no tensor in the forward pass")
                batch = store[layer].to("cpu", torch.float32).numpy()
                if out is None:
                    out = np.empty((n_images, *batch.shape[1:]), dtype=np.float32)
                out[start:stop] = batch
                store.clear()
                if log is not None and (b + 1) % 20 == 0:
                    log(f"{layer}: batch {b + 1}/{n_batches}")
    finally:
        model.train(was_training)
    assert out is not None  # n_images >= 1
    return out, correct


def build_user_cloud(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    layer: str,
    construction: Any,
    *,
    seed: int,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int = 500,
    device: str | torch.device | None = None,
    image_size: int = 32,
    shape: Sequence[int] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build one Mapper point cloud with a user construction (``python:<file.py>:<fn>``).

    The layer's outputs for all images (:func:`layer_activations`) and the images'
    classes go to ``fn(activations, labels)``; what it returns is checked
    (:func:`cnntopo.mapper.user_construction.check_user_output`). Before the call NumPy's
    global random state is seeded from :func:`layer_seed` (and restored after), so a
    function drawing from ``np.random`` gives the same cloud on every run.

    Parameters
    ----------
    model, images, labels, layer, seed, mean, std, batch_size, device, image_size, shape, log
        As :func:`build_cloud` (``shape``: the layer's per-image output shape, None for
        the option-B network's mapper layers).
    construction : cnntopo.mapper.constructions.Construction
        A user construction (:func:`cnntopo.mapper.constructions.resolve` of its spec).

    Returns
    -------
    dict
        As :func:`build_cloud`: ``points`` (m, d) float32, ``labels`` (m,) int64 (the
        class of each point's image), ``image_index`` (m,) int64, ``position`` (m,)
        int64 (-1: a user point has no spatial position), ``correct`` (N,) bool and
        ``meta``: ``method`` ("user"), ``construction`` (name, spec, file, function and
        the SHA-256 of the file), ``layer``, ``seed``, ``rng_seed``, ``sigma`` (0),
        ``image_size``, ``shape`` ([c, h, w]), ``activation_shape`` (the per-image shape
        the function received), ``n_images``, ``n_rows_total``, ``n_points``, ``dims``,
        ``subsampled`` (False), ``relu`` (False), ``accuracy``, ``per_class_accuracy``,
        ``device``, ``seconds``.

    Raises
    ------
    ValueError
        The checks of :func:`build_cloud` (layer, images, labels), a spec that does not
        load, or a return value that is not a valid cloud; the messages about the user
        function name its file and function. An exception of the function itself is
        re-raised with a note naming them.
    """
    from cnntopo.mapper.user_construction import check_user_output, load_user_function

    t_start = time.perf_counter()
    if getattr(construction, "spec", None) is None:
        raise ValueError(
            f"build_user_cloud needs a user construction, got {construction!r}; built-in "
            "constructions are built by build_cloud"
        )
    modules = _check_layer(model, layer, shape)
    batch_size = _check_int(batch_size, "batch_size", 1)
    image_size = _check_int(image_size, "image_size", 1)
    seed = _check_int(seed, "seed", 0)
    images, labels = _check_images(images, labels)
    n_images = int(images.shape[0])
    classes, _, _ = class_blocks(labels)
    c, h, w = _layer_grid(modules, layer, shape, image_size)
    user, function = load_user_function(construction.spec)
    record = construction.record()
    dev = select_device(device)
    activations, correct = layer_activations(
        model,
        images,
        labels,
        layer,
        mean=mean,
        std=std,
        batch_size=batch_size,
        device=dev,
        image_size=image_size,
        log=log,
    )
    activation_shape = [int(s) for s in activations.shape[1:]]
    # the legacy global state on purpose: the one a user's np.random.* calls draw from
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(  # noqa: NPY002
        np.random.SeedSequence(layer_seed(seed, layer)).generate_state(1)[0]
    )
    try:
        returned = function(activations, labels.copy())
    except Exception as err:
        err.add_note(
            f"raised by the user construction {user.where()} on the {layer} activations "
            f"{tuple(activations.shape)}"
        )
        raise
    finally:
        np.random.set_state(state)  # noqa: NPY002
    del activations
    points, img_idx = check_user_output(returned, n_images, user.where())
    per_class = {str(int(k)): float(correct[labels == k].mean()) for k in classes}
    meta = {
        "method": "user",
        "construction": record,
        "layer": layer,
        "seed": seed,
        "rng_seed": layer_seed(seed, layer),
        "sigma": 0.0,
        "image_size": image_size,
        "shape": [int(c), int(h), int(w)],
        "activation_shape": activation_shape,
        "n_images": n_images,
        "n_rows_total": n_images * h * w,
        "n_points": int(points.shape[0]),
        "dims": int(points.shape[1]),
        "subsampled": False,
        "relu": False,
        "accuracy": float(correct.mean()),
        "per_class_accuracy": per_class,
        "device": str(dev),
        "seconds": time.perf_counter() - t_start,
    }
    if log is not None:
        log(
            f"{user.where()} cloud of {layer}: {points.shape[0]} x {points.shape[1]} points "
            f"from {n_images} images, accuracy {meta['accuracy']:.3f}, {meta['seconds']:.1f}s"
        )
    return {
        "points": points,
        "labels": labels[img_idx],
        "image_index": img_idx,
        "position": np.full(img_idx.shape, -1, dtype=np.int64),
        "correct": correct,
        "meta": meta,
    }


def _gather(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    layer: str,
    img_idx: np.ndarray,
    pos_idx: np.ndarray,
    *,
    relu: bool,
    c: int,
    seed: int,
    sigma: float,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int,
    device: torch.device,
    image_size: int,
    log: Callable[[str], None] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the network batch by batch; keep the rows ``(img_idx[k], pos_idx[k])``.

    Returns the ``(P, c)`` float32 rows (in the order of ``img_idx``) and the ``(N,)``
    correctness of the model's predictions.
    """
    from cnntopo.nets.activations import capture
    from cnntopo.nets.transforms import to_model_input

    n_images = images.shape[0]
    out = np.empty((img_idx.size, c), dtype=np.float32)
    order = np.argsort(img_idx, kind="stable")
    sorted_img = img_idx[order]
    correct = np.zeros(n_images, dtype=bool)
    noise_gen = torch.Generator(device="cpu").manual_seed(seed) if sigma > 0 else None
    n_batches = -(-n_images // batch_size)
    was_training = model.training
    model.to(device).eval()
    try:
        # the option-B network: the official reference capture (bn2 = BN2 + shortcut);
        # any other network: the module's output as it returned it (later in-place
        # operations, e.g. torchvision's residual += and in-place ReLU, do not reach it)
        clone = not _is_option_b(model)
        with torch.inference_mode(), capture(model, [layer], clone=clone) as store:
            for b, start in enumerate(range(0, n_images, batch_size)):
                stop = min(start + batch_size, n_images)
                x = to_model_input(images[start:stop], mean, std, size=image_size, device=device)
                if noise_gen is not None:
                    noise = torch.stack(
                        [
                            torch.randn(x.shape[1:], generator=noise_gen, dtype=torch.float32)
                            for _ in range(stop - start)
                        ]
                    )
                    x = x + sigma * noise.to(device)
                logits = model(x)
                y = torch.from_numpy(labels[start:stop]).to(device)
                correct[start:stop] = (logits.argmax(dim=1) == y).cpu().numpy()
                # (B, c, h*w); bn2: BN2 + shortcut (in-place add); tokens are positions too
                act = as_vectors(store[layer])
                lo, hi = np.searchsorted(sorted_img, [start, stop])
                if hi > lo:
                    slots = order[lo:hi]
                    local = torch.from_numpy(img_idx[slots] - start).to(device)
                    pos = torch.from_numpy(pos_idx[slots]).to(device)
                    rows = act[local, :, pos]  # (m, c); pos = row * w + col
                    if relu:
                        rows = torch.relu(rows)
                    out[slots] = rows.float().cpu().numpy()
                store.clear()
                if log is not None and (b + 1) % 20 == 0:
                    log(f"{layer}: batch {b + 1}/{n_batches}")
    finally:
        model.train(was_training)
    return out, correct
