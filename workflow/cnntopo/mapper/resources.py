"""Resources of the Mapper branch's jobs (memory, run time) as pure functions (torch-free).

The plan (:mod:`cnntopo.plan.resources`) calls these with config values and layer shapes; memory
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
    "clouds_runtime",
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
        positions per image (one for ``random``); a user construction (a name
        :func:`cnntopo.names.parse_cloud` does not know): one per image.

    Examples
    --------
    >>> cloud_rows("full", (32, 4, 4), 1347, 20000), cloud_rows("bg5", (32, 4, 4), 1347, 20000)
    (20000, 6735)
    """
    _, h, w = shape
    try:
        spec = parse_cloud(cloud)
    except ValueError:  # a user construction: one point per image unless it says otherwise
        return n_images
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


#: Minutes of DBSCAN over all intervals of an 800,000 x 512 cloud (40 intervals, 30 %
#: overlap, knee eps of a subsample: about 4,000 neighbours per point), measured with
#: ``benchmarks/bench_mapper.py --paper-scale`` on the 2-core build machine: 3.6 min when
#: quiet, 26.8 min while other jobs shared it (docs/performance.md §4); the upper figure.
DBSCAN_PAPER_MIN = 27.0
#: Minutes of the knee rule's neighbour search on 800,000 x 512: exact (scikit-learn,
#: quadratic; about an hour, ``benchmarks/bench_knee.py`` extrapolated) and approximate
#: (exact searches of the curve's top and a 5,000-point sample, about linear in the rows:
#: 502.7 s measured on a clustered 800,000 x 512 cloud, ``bench_knee.py --n 800000 --dim
#: 512 --no-exact``, while the machine was shared at load 12; 10 with a margin).
KNEE_PAPER_MIN = {"exact": 60.0, "approx": 10.0}


def _knn_method(rows: int, knn_method: str, approx_above: int) -> str:
    if knn_method == "auto":
        return "approx" if rows > approx_above else "exact"
    return knn_method


def clouds_runtime(n_layers: int) -> int:
    """Minutes of a cloud job that builds ``n_layers`` layers: 30 for loading and GrabCut,
    30 per layer (a forward pass over the images and the gather each).

    >>> clouds_runtime(1), clouds_runtime(17)
    (60, 540)
    """
    return 30 + 30 * int(n_layers)


def graph_mem_mb(
    rows: int,
    channels: int,
    attempt: int = 1,
    knn_method: str = "auto",
    approx_above: int = 100_000,
) -> int:
    """MB of a graph (or k-NN plot) job: the cloud in float32 twice (the loaded array and a
    working copy), DBSCAN's per-interval copies (float32 and float64, at most a tenth of the
    rows for the paper's covers) and, with the approximate knee, 1 kB per row (its
    per-row bounds, distances and orders take about 40 bytes; the rest is a margin). DBSCAN keeps no neighbour lists (docs/performance.md §4).

    >>> graph_mem_mb(20000, 32), graph_mem_mb(800_000, 512)
    (2006, 6825)
    """
    method = _knn_method(rows, knn_method, approx_above)
    mb = 2000 + rows * channels * (8 + 0.1 * 24) / 2**20
    if method == "approx":
        mb += rows * 1000 / 2**20
    return int(mb * attempt)


def graph_runtime(
    rows: int, channels: int, knn_method: str = "auto", approx_above: int = 100_000
) -> int:
    """Minutes of a graph (or k-NN plot) job: DBSCAN, quadratic in the rows (per interval)
    and linear in the channels, plus the knee rule's neighbour search (exact: quadratic;
    approximate: about linear), scaled from the measured 800,000 x 512 figures, with a
    margin of 2 and 10 minutes of overhead.

    >>> graph_runtime(800_000, 512), graph_runtime(800_000, 512, "exact"), graph_runtime(20000, 32)
    (84, 184, 10)
    """
    scale = rows / 800_000
    method = _knn_method(rows, knn_method, approx_above)
    knee = KNEE_PAPER_MIN[method] * (scale**2 if method == "exact" else scale)
    return int(10 + 2 * (DBSCAN_PAPER_MIN * scale**2 + knee) * channels / 512)
