"""Batch-wise tensor transforms: model-input preparation, normalisation, augmentation.

Pipeline for every image batch::

    uint8 (B, H, W, C) --prepare--> float32 (B, 3, size, size) in [0, 1]
                       --Augment (training only)--> same shape, in [0, 1]
                       --normalize--> (x - mean) / std per channel

This mirrors the paper's FFCV pipeline (Purvine et al. 2023, ``ffcv_cifar10_train.py``):
the augmentations act on raw pixels *before* normalisation, and extraction uses
``ToTensor + Normalize`` only. All functions work on whole batches and on any torch
device; none keeps state or uses a global random number generator.

References
----------
.. [1] E. Purvine et al., "Experimental Observations of the Topology of Convolutional
   Neural Network Activations", AAAI 2023, arXiv:2212.00222.
.. [2] G. Leclerc et al., "FFCV: Accelerating Training by Removing Data Bottlenecks",
   CVPR 2023; ``ffcv.transforms.{RandomHorizontalFlip, RandomTranslate, Cutout}``
   (v0.0.3 / v1.0.0).
.. [3] T. DeVries, G. W. Taylor, "Improved Regularization of Convolutional Neural
   Networks with Cutout", arXiv:1708.04552, 2017.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "NORMALIZATION",
    "Augment",
    "normalization",
    "normalize",
    "prepare",
    "to_model_input",
]

Triple = tuple[float, float, float]

#: Per-dataset (mean, std) of the model input on the [0, 1] scale, per RGB channel.
#:
#: - ``"cifar10"``: the paper's values (official code; 0-255 scale there:
#:   mean 125.307, 122.961, 113.8575, std 51.5865, 50.847, 51.255).
#: - ``"imagefolder"``: the usual ImageNet statistics.
#: - ``"fashion-mnist"``, ``"digits"``: measured on the train split after
#:   :func:`prepare` (zero-padded 28 -> 32, resp. bilinearly resized 8 -> 32), as the
#:   mean and standard deviation over all pixels of all images; the three channels are
#:   equal because grey is repeated. ``tests/nets/test_transforms.py`` recomputes them.
NORMALIZATION: dict[str, tuple[Triple, Triple]] = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "fashion-mnist": ((0.2190, 0.2190, 0.2190), (0.3318, 0.3318, 0.3318)),
    "digits": ((0.3048, 0.3048, 0.3048), (0.3233, 0.3233, 0.3233)),
    "imagefolder": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def normalization(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Return the ``(mean, std)`` per RGB channel for dataset ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`NORMALIZATION`.

    Returns
    -------
    mean, std : tuple of 3 floats each, on the [0, 1] input scale.
    """
    if name not in NORMALIZATION:
        raise ValueError(
            f"no normalisation statistics for dataset {name!r}; known: {tuple(NORMALIZATION)}"
        )
    mean, std = NORMALIZATION[name]
    return tuple(mean), tuple(std)


def _as_uint8_nhwc(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Validate a uint8 (B, H, W, C) batch, C in {1, 3}; return it as a tensor (no copy if possible)."""
    x = torch.from_numpy(np.ascontiguousarray(images)) if isinstance(images, np.ndarray) else images
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"images must be a numpy array or torch tensor, got {type(images).__name__}"
        )
    if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[3] not in (1, 3):
        raise ValueError(
            "images must be uint8 of shape (B, H, W, C) with C in {1, 3} (raw pixels, "
            f"channels last, as in ImageSet.images); got {x.dtype} {tuple(x.shape)}"
        )
    return x


def prepare(images: np.ndarray | torch.Tensor, size: int = 32) -> torch.Tensor:
    """Raw uint8 pixels -> float RGB batch of a fixed square size, values in [0, 1].

    Grey images are repeated to 3 channels. If ``size - 8 <= H, W <= size`` the image
    is zero-padded, centred (Fashion-MNIST 28 -> 32 pads 2 px on each side; an odd
    difference puts the extra pixel at the bottom / right). Otherwise it is resized
    bilinearly (``align_corners=False``; antialiased when shrinking) to
    ``size x size`` (digits 8 -> 32).

    Parameters
    ----------
    images : np.ndarray or torch.Tensor, shape (B, H, W, C), dtype uint8
        C in {1, 3}. A tensor stays on its device.
    size : int
        Output side length.

    Returns
    -------
    torch.Tensor, shape (B, 3, size, size), dtype float32
        Values in [0, 1] (pixel / 255), contiguous.
    """
    x = _as_uint8_nhwc(images)
    h, w = int(x.shape[1]), int(x.shape[2])
    x = x.permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
    if (h, w) != (size, size):
        if size - 8 <= h <= size and size - 8 <= w <= size:
            top, left = (size - h) // 2, (size - w) // 2
            x = F.pad(x, (left, size - w - left, top, size - h - top), value=0.0)
        else:
            shrink = h > size or w > size
            x = F.interpolate(
                x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink
            ).clamp_(0.0, 1.0)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.contiguous()


def _channel_vector(
    values: Sequence[float] | torch.Tensor, like: torch.Tensor, what: str
) -> torch.Tensor:
    v = torch.as_tensor(values, dtype=like.dtype, device=like.device).reshape(-1)
    if v.numel() != like.shape[1]:
        raise ValueError(
            f"{what} has {v.numel()} values but the batch has {like.shape[1]} channels"
        )
    return v.view(1, -1, 1, 1)


def normalize(
    x: torch.Tensor, mean: Sequence[float] | torch.Tensor, std: Sequence[float] | torch.Tensor
) -> torch.Tensor:
    """Per-channel ``(x - mean) / std`` (like ``torchvision.transforms.Normalize``).

    Parameters
    ----------
    x : torch.Tensor, shape (B, C, H, W), floating point
    mean, std : sequence of C floats or tensor of shape (C,)
        On the scale of ``x`` (here [0, 1]). ``std`` must be positive.

    Returns
    -------
    torch.Tensor, shape (B, C, H, W), same dtype and device as ``x`` (a new tensor).
    """
    if not torch.is_floating_point(x) or x.ndim != 4:
        raise ValueError(
            f"x must be a floating (B, C, H, W) tensor, got {x.dtype} {tuple(x.shape)}"
        )
    m = _channel_vector(mean, x, "mean")
    s = _channel_vector(std, x, "std")
    if bool((s <= 0).any()):
        raise ValueError(f"std must be positive, got {s.flatten().tolist()}")
    return (x - m) / s


def to_model_input(
    images: np.ndarray | torch.Tensor,
    mean: Sequence[float] | torch.Tensor,
    std: Sequence[float] | torch.Tensor,
    size: int = 32,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """``normalize(prepare(images, size), mean, std)`` on ``device``.

    The uint8 batch is moved to ``device`` first (4x less transfer than float32),
    then prepared and normalised there.

    Parameters
    ----------
    images : np.ndarray or torch.Tensor, shape (B, H, W, C), dtype uint8
    mean, std : sequence of 3 floats
        E.g. ``normalization("cifar10")``.
    size : int
        Output side length.
    device : str or torch.device or None
        Target device; ``None`` keeps a tensor's device (CPU for numpy input).

    Returns
    -------
    torch.Tensor, shape (B, 3, size, size), dtype float32, on ``device``
    """
    x = _as_uint8_nhwc(images)
    if device is not None:
        x = x.to(device, non_blocking=True)
    return normalize(prepare(x, size), mean, std)


class Augment:
    """Training augmentation of the paper's FFCV recipe, on a prepared batch.

    Applied, in this order, to a ``prepare``'d batch in [0, 1], *before*
    :func:`normalize` (as in ``ffcv_cifar10_train.py``):

    1. ``RandomHorizontalFlip()``: each image is mirrored along its width with
       probability 0.5.
    2. ``RandomTranslate(padding=translate)``: zero-pad by ``translate`` on every side,
       then crop the original size at an offset drawn independently per image and axis
       uniformly from ``{0, ..., 2 * translate}``. The paper uses FFCV's default fill
       (0, 0, 0), i.e. black.
    3. ``Cutout(crop_size=cutout, fill=cutout_fill)``: one ``cutout x cutout`` square per
       image is set to ``cutout_fill``. As in FFCV (v0.0.3 and v1.0.0,
       ``np.random.randint(H - crop_size + 1)``) the top-left corner ``(y, x)`` is drawn
       uniformly from ``{0, ..., H - k} x {0, ..., W - k}``, so the square always lies
       fully inside the image. With ``cutout_clip=True`` it is instead drawn from
       ``{0, ..., H - 1} x {0, ..., W - 1}`` and the square ``[y, y+k) x [x, x+k)`` is
       clipped at the border (so can be smaller than ``k x k``).

    The paper fills Cutout with ``tuple(map(int, CIFAR_MEAN))`` = (125, 122, 113) on
    the 0-255 scale, i.e. ``cutout_fill = (125/255, 122/255, 113/255)`` here.

    Parameters
    ----------
    flip : bool
        Enable the random horizontal flip.
    translate : int
        Padding of the random translation, >= 0; 0 disables it.
    cutout : int
        Side of the cutout square, >= 0; 0 disables it.
    cutout_fill : tuple of 3 floats
        Fill colour of the cutout square on the [0, 1] scale (the mean colour).
    cutout_clip : bool, keyword-only
        Draw the corner over the whole image and clip the square (see above).
        Default False (FFCV's behaviour).

    Notes
    -----
    The random numbers come only from the ``generator`` passed to :meth:`__call__`,
    in this order: flip coins (B), translate offsets (B rows, then B columns), cutout
    corners (B rows, then B columns); a disabled step draws nothing. They are drawn on
    the generator's device and then moved to the batch's device, so the result does not
    depend on where the batch lives.
    """

    def __init__(
        self,
        flip: bool = True,
        translate: int = 2,
        cutout: int = 8,
        cutout_fill: tuple[float, float, float] = (0.0, 0.0, 0.0),
        *,
        cutout_clip: bool = False,
    ) -> None:
        if int(translate) != translate or translate < 0:
            raise ValueError(f"translate must be an integer >= 0, got {translate!r}")
        if int(cutout) != cutout or cutout < 0:
            raise ValueError(f"cutout must be an integer >= 0, got {cutout!r}")
        if len(cutout_fill) != 3:
            raise ValueError(f"cutout_fill must hold 3 values (RGB), got {cutout_fill!r}")
        self.flip = bool(flip)
        self.translate = int(translate)
        self.cutout = int(cutout)
        self.cutout_fill = tuple(float(v) for v in cutout_fill)
        self.cutout_clip = bool(cutout_clip)

    def __repr__(self) -> str:
        return (
            f"Augment(flip={self.flip}, translate={self.translate}, cutout={self.cutout}, "
            f"cutout_fill={self.cutout_fill}, cutout_clip={self.cutout_clip})"
        )

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augment a batch.

        Parameters
        ----------
        x : torch.Tensor, shape (B, 3, H, W), floating point
            Output of :func:`prepare` (not normalised). Not modified.
        generator : torch.Generator
            Source of all randomness.

        Returns
        -------
        torch.Tensor, shape (B, 3, H, W), same dtype and device (a new tensor).
        """
        if not torch.is_floating_point(x) or x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(
                f"Augment expects a floating (B, 3, H, W) batch from prepare(), got "
                f"{x.dtype} {tuple(x.shape)}"
            )
        if self.cutout > min(x.shape[2], x.shape[3]):
            raise ValueError(f"cutout {self.cutout} is larger than the image {tuple(x.shape[2:])}")
        out = x
        if self.flip:
            out = self._flip(out, generator)
        if self.translate:
            out = self._translate(out, generator)
        if self.cutout:
            out = self._cutout(out, generator)
        return out.clone() if out is x else out

    @staticmethod
    def _randint(
        high: int, n: int, generator: torch.Generator, device: torch.device
    ) -> torch.Tensor:
        """``n`` integers uniform in ``{0, ..., high - 1}``, drawn on the generator's device."""
        draw = torch.randint(0, high, (n,), generator=generator, device=generator.device)
        return draw.to(device)

    def _flip(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        coins = torch.rand(x.shape[0], generator=generator, device=generator.device).to(x.device)
        return torch.where((coins < 0.5).view(-1, 1, 1, 1), x.flip(3), x)

    def _translate(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b, _, h, w = x.shape
        p = self.translate
        dy = self._randint(2 * p + 1, b, generator, x.device)
        dx = self._randint(2 * p + 1, b, generator, x.device)
        padded = F.pad(x, (p, p, p, p), value=0.0).permute(0, 2, 3, 1)  # (B, H+2p, W+2p, C)
        rows = dy.view(b, 1, 1) + torch.arange(h, device=x.device).view(1, h, 1)
        cols = dx.view(b, 1, 1) + torch.arange(w, device=x.device).view(1, 1, w)
        batch = torch.arange(b, device=x.device).view(b, 1, 1)
        return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()

    def _cutout(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        b, _, h, w = x.shape
        k = self.cutout
        span_y, span_x = (h, w) if self.cutout_clip else (h - k + 1, w - k + 1)
        y0 = self._randint(span_y, b, generator, x.device).view(b, 1)
        x0 = self._randint(span_x, b, generator, x.device).view(b, 1)
        r = torch.arange(h, device=x.device).view(1, h)
        c = torch.arange(w, device=x.device).view(1, w)
        in_rows = (r >= y0) & (r < y0 + k)  # (B, H)
        in_cols = (c >= x0) & (c < x0 + k)  # (B, W)
        mask = in_rows.view(b, 1, h, 1) & in_cols.view(b, 1, 1, w)
        fill = torch.tensor(self.cutout_fill, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return torch.where(mask, fill, x)
