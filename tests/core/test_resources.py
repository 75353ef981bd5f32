"""Job sizing of the nets and PH rules: hand-computed values, growth with retries, GPUs."""

from __future__ import annotations

import pytest

from cnntopo import resources
from cnntopo.nets.layers import layer_shapes, paper_layer_names

PAPER = layer_shapes("resnet18_cifar", 64)  # the paper's width-64 network
LAYERS = paper_layer_names()


def test_gpus_are_requested_unless_the_job_is_pinned_to_the_cpu():
    assert resources.gpus("cpu") == 0
    assert resources.gpus("auto") == resources.gpus("cuda") == 1


def test_training_memory_and_runtime():
    # 4000 MB + 16 MB per 64 (width x batch): 16 * 64 * 1024 / 64 = 16384
    assert resources.train_mem_mb(64, 1024) == 20384
    assert resources.train_mem_mb(4, 64) == 4000 + 64
    assert resources.train_runtime(24) == 240 and resources.train_runtime(1) == 30


def test_activation_shards_on_disk():
    # conv1 of the width-64 network: 64 x 32 x 32 floats per image
    assert PAPER["conv1"] == (64, 32, 32)
    one = 1000 * 64 * 32 * 32 * 4 / 2**20  # 250 MB for 1000 images in float32
    assert resources.shard_mb(PAPER, ["conv1"], 1000, "float32") == int(one) + 1 == 251
    assert resources.shard_mb(PAPER, ["conv1"], 1000, "float16") == int(one / 2) + 1
    floats = sum(c * h * w for c, h, w in PAPER.values())
    assert resources.shard_mb(PAPER, LAYERS, 1000, "float32") == 1000 * floats * 4 // 2**20 + 1


def test_extraction_memory_counts_every_layer_of_one_batch_twice():
    floats = sum(c * h * w for c, h, w in PAPER.values())
    per_batch = 2 * 250 * floats * 4 // 2**20
    assert resources.extract_mem_mb(PAPER, 250) == 2000 + per_batch
    # only the forward pass matters, not which layers are recorded
    assert resources.extract_mem_mb({"a": (64, 32, 32)}, 256) == 2000 + 128


def test_cross_model_memory():
    # the paper: 100 models x 17 layers, 1000 images, M = 50
    K = 1700
    channels = sum(c for c, _, _ in PAPER.values())
    sw = K * 2 * 50 * 1501 * 8
    clouds = 100 * 1000 * channels * 8
    expected = int(2000 + (sw + K * K * 8 + clouds) / 2**20)
    assert resources.cross_mem_mb(100, PAPER, LAYERS, 1000, 50) == expected
    assert expected == 6947  # 1947 MB of projections, 2979 MB of clouds
    # only the analysed layers count
    assert resources.cross_mem_mb(2, PAPER, ["conv1"], 10, 1) == 2000


def test_sensitivity_runtime():
    # width 64, step 4: the paper's 976 reduced clouds, counted as c // 4 + 1 per layer
    runs = sum(c // 4 + 1 for c, _, _ in PAPER.values())
    assert runs == 976 + 17
    assert resources.sensitivity_runtime(PAPER, LAYERS, 4, 1000) == int(10 + runs * 2 / 60) == 43
    assert resources.sensitivity_runtime(PAPER, ["conv1"], 4, 1000) == 10


def test_persistence_job_of_one_model():
    # one cloud at a time: memory of the largest cloud (64 bytes per pair of points)
    assert resources.persistence_mem_mb(1000) == 4000 + 64 * 1000**2 // 2**20 == 4061
    assert resources.persistence_mem_mb(120) == 4000
    # run time: 2 minutes per 1000-point cloud (as the cube of the points) plus 10
    assert resources.persistence_runtime(17, 1000) == 10 + 17 * 2 == 44
    assert resources.persistence_runtime(1, 1000) == 12
    assert resources.persistence_runtime(17, 2000) == 10 + 17 * 16
    assert resources.persistence_runtime(17, 120) == 11  # 17 * 2 * 0.12**3 = 0.06, rounded up
    assert resources.persistence_runtime(17, 1000, attempt=3) == 3 * 44


@pytest.mark.parametrize(
    ("size", "args"),
    [
        (resources.train_mem_mb, (64, 1024)),
        (resources.extract_mem_mb, (PAPER, 250)),
        (resources.cross_mem_mb, (100, PAPER, LAYERS, 1000, 50)),
        (resources.persistence_mem_mb, (1000,)),
        (resources.persistence_runtime, (17, 1000)),
    ],
)
def test_memory_grows_with_each_attempt(size, args):
    first = size(*args)
    assert [size(*args, attempt=a) for a in (1, 2, 3)] == [first, 2 * first, 3 * first]


def test_dataset_sizes():
    assert resources.DATASET_SIZES["cifar10"] == {"train": 50000, "test": 10000}
    assert resources.DATASET_SIZES["digits"] == {"train": 1347, "test": 450}


def test_gram_matrices_hold_the_compared_images():
    """similarity.max_images bounds the Gram matrices' N (never beyond the images)."""
    assert resources.gram_images(1000, 300) == 300
    assert resources.gram_images(1000, None) == 1000
    assert resources.gram_images(120, 300) == 120
    # 3 float64 N x N matrices per (model, layer)
    assert resources.gram_mb(2, 17, 300) == 3 * 2 * 17 * 300**2 * 8 // 2**20
    assert resources.similarity_mem_mb(17, 300) == 1500 + resources.gram_mb(1, 17, 300)
    assert resources.similarity_mem_mb(17, 300, attempt=3) == 3 * resources.similarity_mem_mb(
        17, 300
    )


def test_similarity_cross_memory_cases():
    args = dict(n_models=100, n_layers=17, n_gram=1000, widest=512, max_mem_mb=16000)
    cka = resources.similarity_cross_mem_mb(measures=["cka_linear"], representation="topl2", **args)
    assert cka == 1000 + 3 * 100 * 17 * 1000 * 512 * 8 // 2**20
    need = 1000 + resources.gram_mb(100, 17, 1000)
    assert need > 16000
    flat = resources.similarity_cross_mem_mb(measures=["cka_linear"], representation="flat", **args)
    assert flat == 16000  # blocked over models: the cap
    pwcca = resources.similarity_cross_mem_mb(measures=["pwcca"], representation="flat", **args)
    assert pwcca == need  # no Gram form: every model at once
    small = dict(args, n_models=2, n_gram=100)
    one = 1000 + resources.gram_mb(1, 17, 100)
    got = resources.similarity_cross_mem_mb(measures=["svcca"], representation="pool", **small)
    assert got == max(one, min(1000 + resources.gram_mb(2, 17, 100), 16000))
    assert resources.similarity_tests_mem_mb(100, 17) == 1000 + (1700**2 * 32) // 2**20
