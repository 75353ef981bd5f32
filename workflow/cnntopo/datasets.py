"""Image datasets as in-memory uint8 arrays (contract; see module owner for loaders)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ImageSet"]


@dataclass
class ImageSet:
    """A labelled image set held as raw uint8 pixels.

    Attributes
    ----------
    images : np.ndarray, shape (N, H, W, C), dtype uint8
        Raw pixels, channels last, C in {1, 3}. Not resized, not normalised.
    labels : np.ndarray, shape (N,), dtype int64
        Class index of each image, in ``range(len(classes))``.
    classes : list of str
        Class names, index-aligned with ``labels``.
    name : str
        Dataset name (``"cifar10"``, ``"fashion-mnist"``, ``"digits"``, ``"imagefolder"``).
    split : str
        ``"train"`` or ``"test"``.
    indices : np.ndarray, shape (N,), dtype int64
        Index of every image in the original split (kept through :meth:`subset`).
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    name: str
    split: str
    indices: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[3] not in (1, 3):
            raise ValueError(
                f"ImageSet.images must be uint8 of shape (N, H, W, C) with C in {{1, 3}}, "
                f"got {self.images.dtype} {self.images.shape}"
            )
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"labels shape {self.labels.shape} does not match {self.images.shape[0]} images")
        if self.indices is None:
            self.indices = np.arange(len(self.labels), dtype=np.int64)
        self.indices = np.asarray(self.indices, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, idx: np.ndarray) -> ImageSet:
        """Return the images at positions ``idx`` (original indices are carried along)."""
        idx = np.asarray(idx, dtype=np.int64)
        return ImageSet(self.images[idx], self.labels[idx], list(self.classes), self.name,
                        self.split, self.indices[idx])
