"""Job sizes of the Mapper branch, against values computed by hand."""

from __future__ import annotations

import pytest

from cnntopo.mapper.resources import (
    DBSCAN_PAPER_MIN,
    KNEE_PAPER_MIN,
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
    # 2000 MB + rows x channels x 10.4 B (two float32 copies, a tenth of the rows in
    # float32 + float64 per interval) + 1000 B per row for the approximate index
    assert graph_mem_mb(20000, 32) == 2006  # 2000 + 6.35; 20,000 rows: exact search
    assert graph_mem_mb(800_000, 512) == 6825  # 2000 + 4062.5 + 762.9
    assert graph_mem_mb(800_000, 512, knn_method="exact") == 6062
    assert graph_mem_mb(800_000, 512, knn_method="auto", approx_above=10**6) == 6062
    assert graph_mem_mb(800_000, 512, attempt=2) == 13650  # int(2 x 6825.4)
    # 10 min + 2 x (DBSCAN (rows / 800,000)^2 + knee search) x channels / 512
    d, knee = DBSCAN_PAPER_MIN, KNEE_PAPER_MIN
    assert graph_runtime(800_000, 512) == int(10 + 2 * (d + knee["approx"]))
    assert graph_runtime(800_000, 512, "exact") == int(10 + 2 * (d + knee["exact"]))
    assert graph_runtime(400_000, 512) == int(10 + 2 * (d / 4 + knee["approx"] / 2))
    assert graph_runtime(400_000, 256, "exact") == int(10 + (d / 4 + knee["exact"] / 4))
    assert graph_runtime(800_000, 512, "auto", 10**6) == graph_runtime(800_000, 512, "exact")
    assert graph_runtime(20000, 32) == 10
