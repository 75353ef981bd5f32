"""Job sizes of the Mapper branch, against values computed by hand."""

from __future__ import annotations

import pytest

from cnntopo.mapper.resources import (
    cloud_mem_mb,
    cloud_rows,
    graph_mem_mb,
    graph_runtime,
    n_images,
    train_mem_mb,
    train_runtime,
)


def test_training_job():
    # 4000 + 16 * 4 * 64 // 64 = 4064 MB, doubled on the second attempt
    assert train_mem_mb(4, 64) == 4064 and train_mem_mb(4, 64, attempt=2) == 8128
    assert train_mem_mb(64, 128) == 6048  # 4000 + 16 * 8192 // 64
    assert [train_runtime(e) for e in (2, 3, 4, 350)] == [30, 30, 40, 3500]


def test_number_of_images():
    assert n_images("digits", "train", None) == 1347
    assert n_images("digits", "test", None) == 450
    assert n_images("digits", "train", 20) == 200
    assert n_images("digits", "train", 500) == 1347  # 10 x 500 > the split
    assert n_images("cifar10", "train", 500) == 5000
    assert n_images("cifar10", "train", 500, n_classes=2) == 1000
    with pytest.raises(KeyError):
        n_images("mnist", "train", None)


@pytest.mark.parametrize(
    ("cloud", "shape", "n", "cap", "rows"),
    [
        ("full", (4, 32, 32), 1347, 20000, 20000),  # 1347 x 1024 rows, capped
        ("full", (4, 32, 32), 1347, 10**7, 1347 * 1024),
        ("full-noise0.5", (32, 4, 4), 1000, 20000, 16000),
        ("random", (32, 4, 4), 1347, 20000, 1347),
        ("fg1", (32, 4, 4), 1347, 20000, 1347),
        ("bg5", (32, 4, 4), 1347, 20000, 6735),
        ("fg5-noise1", (32, 4, 4), 100, 1, 500),  # the cap is for full clouds only
    ],
)
def test_cloud_rows(cloud, shape, n, cap, rows):
    assert cloud_rows(cloud, shape, n, cap) == rows


def test_cloud_memory():
    # 2 copies of 20000 x 32 float32 = 5,120,000 B; one batch: 500 x 32 x 4 x 4 x 16 B
    # = 4,096,000 B; 9,216,000 B = 8.789 MB on top of 3000 MB
    assert cloud_mem_mb(20000, (32, 4, 4), 500) == 3008
    assert cloud_mem_mb(20000, (32, 4, 4), 500, attempt=2) == 6017  # int(6017.58)


def test_graph_memory_and_runtime():
    # 20000 x 32 x 12 B = 7.32 MB, plus 20000 x 0.02 = 400 MB of neighbourhoods
    assert graph_mem_mb(20000, 32) == 2407
    assert graph_mem_mb(20000, 32, attempt=3) == 7221  # int(3 x 2407.32)
    assert graph_mem_mb(6735, 32) == 2137  # 2000 + 2.47 + 134.7
    # 10 min + 60 min x (rows / 800,000)^2 x (channels / 512) x 1.5
    assert graph_runtime(800_000, 512) == 100
    assert graph_runtime(400_000, 512) == 32  # 10 + 22.5
    assert graph_runtime(800_000, 256) == 55
    assert graph_runtime(20000, 32) == 10
