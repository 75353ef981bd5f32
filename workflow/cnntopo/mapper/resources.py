"""Resources of the Mapper branch's jobs (memory, run time) as pure functions (torch-free).

``rules/mapper/common.smk`` calls these with config values and layer shapes; memory
grows with each retry (``attempt``). The numbers are generous estimates, not bounds.
"""

from __future__ import annotations

from cnntopo.names import parse_cloud
from cnntopo.resources import DATASET_SIZES

__all__ = [
    "train_mem_mb",
    "train_runtime",
    "n_images",
    "cloud_rows",
    "cloud_mem_mb",
    "graph_mem_mb",
    "graph_runtime",
]


def train_mem_mb(width: int, batch_size: int, attempt: int = 1) -> int:
    """MB of a training job: the uint8 dataset plus model, activations and optimizer state.

    >>> train_mem_mb(64, 128), train_mem_mb(64, 128, attempt=2)
    (6048, 12096)
    """
    return (4000 + 16 * width * batch_size // 64) * attempt


def train_runtime(epochs: int) -> int:
    """Minutes of a training job: 10 per epoch, at least 30 (350 epochs in the paper: a GPU job).

    >>> train_runtime(2), train_runtime(350)
    (30, 3500)
    """
    return max(30, 10 * epochs)


def n_images(dataset: str, split: str, per_class: int | None, n_classes: int = 10) -> int:
    """Number of Mapper images: the split, or ``per_class`` images of each class.

    Parameters
    ----------
    dataset : str
        A key of :data:`cnntopo.resources.DATASET_SIZES`.
    split : {"train", "test"}
    per_class : int or None
        The config's ``mapper.images.per_class`` (None = all images of the split).
    n_classes : int, default 10
        Classes of the dataset (10 for all the datasets the workflow reads).

    Returns
    -------
    int

    Examples
    --------
    >>> n_images("digits", "train", None), n_images("cifar10", "train", 500)
    (1347, 5000)
    """
    n = DATASET_SIZES[dataset][split]
    return min(n, n_classes * per_class) if per_class else n


def cloud_rows(cloud: str, shape: tuple[int, int, int], n_images: int, cap: int) -> int:
    """Rows of a point cloud before it is built.

    Parameters
    ----------
    cloud : str
        Cloud name (:func:`cnntopo.names.parse_cloud`).
    shape : (int, int, int)
        ``(c, h, w)`` of the layer's output.
    n_images : int
        Mapper images.
    cap : int
        Most rows of a ``full`` cloud (``mapper.full.cap``).

    Returns
    -------
    int
        ``full``: every position of every image, at most ``cap``; the others: ``top-k``
        positions per image (one for ``random``).

    Examples
    --------
    >>> cloud_rows("full", (32, 4, 4), 1347, 20000), cloud_rows("bg5", (32, 4, 4), 1347, 20000)
    (20000, 6735)
    """
    _, h, w = shape
    spec = parse_cloud(cloud)
    if spec["method"] == "full":
        return min(n_images * h * w, cap)
    return n_images * spec["topk"]


def cloud_mem_mb(rows: int, shape: tuple[int, int, int], batch_size: int, attempt: int = 1) -> int:
    """MB of a cloud job: the cloud and a gathered copy (float32), one batch of the layer's
    activations (with working copies), the model.

    >>> cloud_mem_mb(20000, (32, 4, 4), 500)
    3008
    """
    c, h, w = shape
    batch = batch_size * c * h * w * 4 * 4
    return int((3000 + (2 * rows * c * 4 + batch) / 2**20) * attempt)


def graph_mem_mb(rows: int, channels: int, attempt: int = 1) -> int:
    """MB of a graph job: the cloud in float32 and float64, plus DBSCAN's neighbourhoods
    (which grow with the density, about 20 bytes per row).

    >>> graph_mem_mb(20000, 32)
    2407
    """
    return int((2000 + rows * channels * 12 / 2**20 + rows * 0.02) * attempt)


def graph_runtime(rows: int, channels: int) -> int:
    """Minutes of a graph job: DBSCAN per interval is quadratic in the rows (about 17 min
    for 800,000 x 512 on 2 cores), with a margin of 1.5.

    >>> graph_runtime(800_000, 512), graph_runtime(20000, 32)
    (100, 10)
    """
    return int(10 + 60 * (rows / 800_000) ** 2 * channels / 512 * 1.5)
