"""Resources of the nets and PH jobs (memory, run time, disk, GPUs) as pure functions (torch-free).

The plan (:mod:`cnntopo.plan.resources`) calls these with config values and the layer
shapes of :func:`cnntopo.nets.layers.layer_shapes`; SLURM turns them into ``--mem``, ``-t`` and
``--gpus``. Memory grows with each retry (``attempt``, see ``--retries``). The numbers
are generous estimates, not bounds. The Mapper jobs' are in :mod:`cnntopo.mapper.resources`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

__all__ = [
    "DATASET_SIZES",
    "gpus",
    "train_mem_mb",
    "train_runtime",
    "shard_mb",
    "extract_mem_mb",
    "cross_mem_mb",
    "persistence_mem_mb",
    "persistence_runtime",
    "sensitivity_runtime",
    "gram_images",
    "gram_mb",
    "similarity_mem_mb",
    "similarity_cross_mem_mb",
    "similarity_tests_mem_mb",
]

#: Images per split of the offline/real datasets (for sizing only; imagefolder: a guess).
DATASET_SIZES: dict[str, dict[str, int]] = {
    "cifar10": {"train": 50000, "test": 10000},
    "fashion-mnist": {"train": 60000, "test": 10000},
    "digits": {"train": 1347, "test": 450},
    "imagefolder": {"train": 50000, "test": 10000},
}

#: Layer name -> ``(c, h, w)`` of its output, as :func:`cnntopo.nets.layers.layer_shapes`.
Shapes = Mapping[str, tuple[int, int, int]]


def gpus(device: str) -> int:
    """GPUs a torch job asks the scheduler for: none when the config pins it to the CPU.

    >>> gpus("cpu"), gpus("auto"), gpus("cuda")
    (0, 1, 1)
    """
    return 0 if device == "cpu" else 1


def train_mem_mb(width: int, batch_size: int, attempt: int = 1) -> int:
    """MB of a training job: the uint8 dataset plus model, activations and optimizer state.

    Parameters
    ----------
    width : int
        Stem channels of the network (``model.width``).
    batch_size : int
        Training batch size (``training.batch_size``).
    attempt : int, default 1
        Snakemake's attempt number (1, 2, ... with ``--retries``).

    Returns
    -------
    int

    Examples
    --------
    >>> train_mem_mb(64, 1024), train_mem_mb(64, 1024, attempt=2)
    (20384, 40768)
    """
    return (4000 + 16 * width * batch_size // 64) * attempt


def train_runtime(epochs: int) -> int:
    """Minutes of a training job: 10 per epoch, at least 30 (CPU runs are slow, GPUs fast).

    >>> train_runtime(3), train_runtime(24)
    (30, 240)
    """
    return max(30, 10 * epochs)


def _floats(shapes: Shapes, layers: Collection[str] | None = None) -> int:
    """Values per image in the outputs of ``layers`` (default: every layer of ``shapes``)."""
    return sum(c * h * w for name, (c, h, w) in shapes.items() if layers is None or name in layers)


def shard_mb(shapes: Shapes, layers: Collection[str], n_images: int, dtype: str) -> int:
    """MB on disk of one network's activation shards (``disk_mb`` of the extraction job).

    Parameters
    ----------
    shapes : mapping of str to (int, int, int)
        ``(c, h, w)`` of every layer's output.
    layers : collection of str
        The recorded layers (``activations.layers``, resolved).
    n_images : int
        Recorded images (``activations.n_images``).
    dtype : {"float32", "float16"}
        Shard dtype (``activations.dtype``).

    Returns
    -------
    int

    Examples
    --------
    >>> shard_mb({"a": (4, 32, 32), "b": (8, 16, 16)}, ["a"], 1000, "float32")
    16
    """
    itemsize = 2 if dtype == "float16" else 4
    return n_images * _floats(shapes, layers) * itemsize // 2**20 + 1


def extract_mem_mb(shapes: Shapes, batch_size: int, attempt: int = 1) -> int:
    """MB of an extraction job: one batch of every layer's output, twice, plus the model.

    The batch is held as a torch tensor and as its numpy copy.

    Parameters
    ----------
    shapes : mapping of str to (int, int, int)
        ``(c, h, w)`` of every layer's output (all of them run, whichever are recorded).
    batch_size : int
        Images per forward pass (``activations.batch_size``).
    attempt : int, default 1
        Snakemake's attempt number.

    Returns
    -------
    int

    Examples
    --------
    >>> extract_mem_mb({"a": (64, 32, 32)}, 256), extract_mem_mb({"a": (64, 32, 32)}, 256, 3)
    (2128, 6384)
    """
    return (2000 + 2 * batch_size * _floats(shapes) * 4 // 2**20) * attempt


def cross_mem_mb(
    n_models: int,
    shapes: Shapes,
    layers: Collection[str],
    n_images: int,
    M: int,
    attempt: int = 1,
) -> int:
    """MB of a cross-model job (all diagrams or all point clouds of every model at once).

    The presorted sliced-Wasserstein projections (about 1.5 H1 points per image, ``M``
    directions), the ``K x K`` result (``K = n_models * len(layers)``) and, for CKA,
    every point cloud in float64.

    Parameters
    ----------
    n_models : int
        Networks (``len(model.seeds)``).
    shapes : mapping of str to (int, int, int)
        ``(c, h, w)`` of every layer's output.
    layers : collection of str
        The analysed layers.
    n_images : int
        Points per cloud (``activations.n_images``).
    M : int
        Sliced-Wasserstein directions (``distances.M``).
    attempt : int, default 1
        Snakemake's attempt number.

    Returns
    -------
    int

    Examples
    --------
    >>> cross_mem_mb(2, {"a": (4, 32, 32), "b": (8, 16, 16)}, ["a", "b"], 120, 50)
    2000
    """
    K = n_models * len(layers)
    channels = sum(c for name, (c, _, _) in shapes.items() if name in layers)
    sw = K * 2 * M * (1.5 * n_images + 1) * 8
    clouds = n_models * n_images * channels * 8
    return int(2000 + (sw + K * K * 8 + clouds) / 2**20) * attempt


def persistence_mem_mb(n_images: int, attempt: int = 1) -> int:
    """MB of a persistence job: one cloud at a time, 64 bytes per pair of its points.

    A job computes its layers' diagrams one after the other and writes each before the
    next, so its memory is that of one cloud (Ripser's distance matrix, edge list and
    reduction), whatever the number of layers.

    Parameters
    ----------
    n_images : int
        Points per cloud (``activations.n_images``).
    attempt : int, default 1
        Snakemake's attempt number.

    Returns
    -------
    int

    Examples
    --------
    >>> persistence_mem_mb(1000), persistence_mem_mb(1000, attempt=2)
    (4061, 8122)
    """
    return (4000 + 64 * n_images**2 // 2**20) * attempt


def persistence_runtime(n_layers: int, n_images: int, attempt: int = 1) -> int:
    """Minutes of a persistence job of ``n_layers`` clouds, generously.

    2 minutes per cloud of 1000 points (an activation cloud takes about 0.3 s, a cloud
    with a prominent noisy loop about 10 s), growing as the cube of the points, plus 10
    minutes of start-up; a job that runs out of time asks for more on each retry.

    Parameters
    ----------
    n_layers : int
        Clouds of the job (the analysed layers).
    n_images : int
        Points per cloud (``activations.n_images``).
    attempt : int, default 1
        Snakemake's attempt number.

    Returns
    -------
    int

    Examples
    --------
    >>> persistence_runtime(17, 1000), persistence_runtime(17, 1000, attempt=2)
    (44, 88)
    >>> persistence_runtime(17, 120)
    11
    """
    return math.ceil(10 + n_layers * 2 * (n_images / 1000) ** 3) * attempt


def sensitivity_runtime(shapes: Shapes, layers: Collection[str], step: int, n_images: int) -> int:
    """Minutes of one network's sensitivity test, generously.

    About 0.5 s per persistence computation of ``n_images`` points, and
    ``c // step + 1`` of them per layer of ``c`` channels.

    Parameters
    ----------
    shapes : mapping of str to (int, int, int)
        ``(c, h, w)`` of every layer's output.
    layers : collection of str
        The tested layers.
    step : int
        ``sensitivity.step``.
    n_images : int
        Points per cloud (``activations.n_images``).

    Returns
    -------
    int

    Examples
    --------
    >>> sensitivity_runtime({"a": (64, 32, 32), "b": (512, 4, 4)}, ["a", "b"], 4, 1000)
    14
    """
    runs = sum(c // step + 1 for name, (c, _, _) in shapes.items() if name in layers)
    return int(10 + runs * n_images / 1000 * 2 / 60)


def gram_images(n_images: int, max_images: int | None) -> int:
    """Images of the similarity measures' Gram matrices: the first ``max_images`` of them.

    >>> gram_images(1000, 300), gram_images(1000, None), gram_images(120, 300)
    (300, 1000, 120)
    """
    return n_images if max_images is None else min(int(max_images), n_images)


def gram_mb(n_models: int, n_layers: int, n_gram: int) -> int:
    """MB of the float64 ``N x N`` Gram matrices of ``n_models x n_layers`` and their two
    prepared forms (``N = n_gram``, :func:`gram_images`).

    >>> gram_mb(1, 17, 1000), gram_mb(1, 17, 300)
    (389, 35)
    """
    return 3 * n_models * n_layers * n_gram**2 * 8 // 2**20


def similarity_mem_mb(n_layers: int, n_gram: int, attempt: int = 1) -> int:
    """MB of a representations or sensitivity-table job: one model's Gram matrices and a
    channel block.

    Parameters
    ----------
    n_layers : int
        The analysed layers.
    n_gram : int
        Images of the Gram matrices (:func:`gram_images`).
    attempt : int, default 1
        Snakemake's attempt number.

    Returns
    -------
    int

    Examples
    --------
    >>> similarity_mem_mb(17, 1000), similarity_mem_mb(17, 300, attempt=2)
    (1889, 3070)
    """
    return (1500 + gram_mb(1, n_layers, n_gram)) * attempt


def similarity_cross_mem_mb(
    n_models: int,
    n_layers: int,
    n_gram: int,
    widest: int,
    measures: Collection[str],
    representation: str,
    max_mem_mb: int,
    attempt: int = 1,
) -> int:
    """MB of a cross-model similarity job (one representation, every measure).

    Linear CKA alone on a narrow representation (``topl2``, ``pool``) holds the
    ``N x c`` features of every (model, layer) in float64 (three forms); otherwise the
    job is blocked over models (:func:`cnntopo.stages.ph.similarity.seed_blocks`):
    ``max_mem_mb`` bounds the request, but one model's Gram matrices must fit; PWCCA on
    ``flat`` has no Gram form and holds every model's principal coordinates at once.

    Parameters
    ----------
    n_models : int
        Networks (``len(model.seeds)``).
    n_layers : int
        The analysed layers.
    n_gram : int
        Images of the representations (:func:`gram_images`).
    widest : int
        Vector length of the widest layer.
    measures : collection of str
        ``similarity.measures``.
    representation : {"topl2", "flat", "pool"}
    max_mem_mb : int
        ``similarity.max_mem_mb``.
    attempt : int, default 1
        Snakemake's attempt number.

    Returns
    -------
    int

    Examples
    --------
    >>> similarity_cross_mem_mb(10, 17, 1000, 512, ["cka_linear"], "topl2", 16000)
    2992
    >>> similarity_cross_mem_mb(10, 17, 1000, 512, ["cka_linear", "svcca"], "flat", 16000)
    4890
    >>> similarity_cross_mem_mb(10, 17, 300, 512, ["cka_linear", "svcca"], "flat", 16000)
    1350
    """
    if representation != "flat" and set(measures) <= {"cka_linear"}:
        features_mb = 3 * n_models * n_layers * n_gram * widest * 8 // 2**20
        return (1000 + features_mb) * attempt
    need = 1000 + gram_mb(n_models, n_layers, n_gram)
    if representation == "flat" and "pwcca" in measures:
        return need * attempt
    floor = 1000 + gram_mb(1, n_layers, n_gram)
    return max(floor, min(need, max_mem_mb)) * attempt


def similarity_tests_mem_mb(n_models: int, n_layers: int, attempt: int = 1) -> int:
    """MB of the similarity tests: a few ``K x K`` float64 matrices (``K = models x layers``).

    >>> similarity_tests_mem_mb(100, 17)
    1088
    """
    n = n_models * n_layers
    return (1000 + n * n * 8 * 4 // 2**20) * attempt
