"""Tests for cnntopo.nets.datasets: file formats, layouts, splits and error messages.

Every format is tested on tiny files written here; the real Fashion-MNIST test runs
only where Debian's ``dataset-fashion-mnist`` is installed.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnntopo.nets import datasets
from cnntopo.nets.datasets import (
    CIFAR10_CLASSES,
    DATASETS,
    FASHION_MNIST_CLASSES,
    SPLIT_CLASS_COUNTS,
    DatasetNotFoundError,
    ImageSet,
    check_available,
    class_counts,
    class_names,
    load_dataset,
    split_size,
)

DEBIAN_FMNIST = Path("/usr/share/datasets/fashion-mnist")


# ---------------------------------------------------------------------------
# helpers writing tiny files in the original formats
# ---------------------------------------------------------------------------


def _cifar_rows(images: np.ndarray) -> np.ndarray:
    """(n, 32, 32, 3) -> (n, 3072): R plane, G plane, B plane, each row-major."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), 3072)


def write_cifar(root: Path, n: int = 3, seed: int = 0, names=CIFAR10_CLASSES, meta=True):
    """Write CIFAR-10 python batches with ``n`` images each; return {file: (images, labels)}."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    written = {}
    for fname in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).tolist()
        batch = {b"batch_label": fname.encode(), b"labels": labels, b"data": _cifar_rows(images)}
        (folder / fname).write_bytes(pickle.dumps(batch, protocol=2))
        written[fname] = (images, np.asarray(labels))
    if meta:
        m = {b"label_names": [s.encode() for s in names], b"num_vis": 3072}
        (folder / "batches.meta").write_bytes(pickle.dumps(m, protocol=2))
    return written


def idx_bytes(arr: np.ndarray) -> bytes:
    """Serialise a uint8 array in IDX format (magic 0x0000 08 ndim, big-endian sizes)."""
    header = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def write_fmnist(folder: Path, n_train=5, n_test=3, seed=0, gz=True):
    """Write the four Fashion-MNIST IDX files; return {split: (images, labels)}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        for stem, arr in (
            (f"{prefix}-images-idx3-ubyte", images),
            (f"{prefix}-labels-idx1-ubyte", labels),
        ):
            data = idx_bytes(arr)
            if gz:
                (folder / f"{stem}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / stem).write_bytes(data)
        out[split] = (images, labels)
    return out


@pytest.fixture
def no_system_fmnist(monkeypatch, tmp_path):
    """Point the Debian Fashion-MNIST folder at an empty place."""
    monkeypatch.setattr(datasets, "FASHION_MNIST_SYSTEM_DIR", str(tmp_path / "no-system-dir"))


def write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def solid(h: int, w: int, rgb) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, dtype=np.uint8), (h, w, 3)).copy()


# ---------------------------------------------------------------------------
# generic
# ---------------------------------------------------------------------------


def test_unknown_dataset_lists_choices():
    for fn in (lambda: load_dataset("mnist", "train"), lambda: check_available("mnist"),
               lambda: class_names("mnist")):  # fmt: skip
        with pytest.raises(ValueError, match="mnist") as err:
            fn()
        assert all(name in str(err.value) for name in DATASETS)


def test_unknown_split():
    with pytest.raises(ValueError, match="split"):
        load_dataset("digits", "validation")


def test_imageset_contract_unchanged():
    s = ImageSet(np.zeros((4, 2, 2, 1), np.uint8), [0, 1, 0, 1], ["a", "b"], "x", "train")
    sub = s.subset(np.array([3, 1]))
    assert sub.indices.tolist() == [3, 1] and sub.labels.dtype == np.int64 and len(sub) == 2


# ---------------------------------------------------------------------------
# CIFAR-10
# ---------------------------------------------------------------------------


def test_cifar_pixel_layout(tmp_path):
    write_cifar(tmp_path, n=2)
    folder = tmp_path / "cifar-10-batches-py"
    # one known pixel: green plane (channel 1), row 5, column 7 -> value 200
    row = np.zeros((1, 3072), np.uint8)
    row[0, 1 * 1024 + 5 * 32 + 7] = 200
    batch = {b"batch_label": b"test", b"labels": [4], b"data": row}
    (folder / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    ds = load_dataset("cifar10", "test", root=str(tmp_path))
    assert ds.images.shape == (1, 32, 32, 3) and ds.images.dtype == np.uint8
    assert ds.images[0, 5, 7, 1] == 200
    assert int(ds.images.sum()) == 200
    assert ds.labels.tolist() == [4] and ds.split == "test" and ds.name == "cifar10"


def test_cifar_train_concatenates_batches_in_order(tmp_path):
    written = write_cifar(tmp_path, n=3)
    ds = load_dataset("cifar10", "train", root=tmp_path)
    expect_img = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)])
    expect_lab = np.concatenate([written[f"data_batch_{i}"][1] for i in range(1, 6)])
    np.testing.assert_array_equal(ds.images, expect_img)
    np.testing.assert_array_equal(ds.labels, expect_lab)
    assert ds.indices.tolist() == list(range(15))
    assert ds.classes == list(CIFAR10_CLASSES)
    assert ds.images.flags.c_contiguous


def test_cifar_classes_from_meta(tmp_path):
    names = [f"c{i}" for i in range(10)]
    write_cifar(tmp_path, names=names)
    assert load_dataset("cifar10", "test", root=tmp_path).classes == names
    assert class_names("cifar10", root=tmp_path) == names
    assert class_names("cifar10", root=tmp_path / "nowhere") == list(CIFAR10_CLASSES)


def test_cifar_missing_files(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("cifar10", "test", root=tmp_path)
    msg = str(err.value)
    assert "test_batch" in msg and str(tmp_path) in msg and "download" in msg
    with pytest.raises(DatasetNotFoundError):
        check_available("cifar10", root=tmp_path)
    check_available("cifar10", root=tmp_path, download=True)  # will download: no error
    write_cifar(tmp_path)
    check_available("cifar10", root=tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetNotFoundError, match="data_batch_3"):
        check_available("cifar10", root=tmp_path)


def test_cifar_download_hook_called_only_when_missing(tmp_path, monkeypatch):
    calls = []

    def fake_download(name, root, split):
        calls.append((name, split))
        write_cifar(root, n=2)

    monkeypatch.setattr(datasets, "_download", fake_download)
    ds = load_dataset("cifar10", "test", root=tmp_path, download=True)
    assert len(ds) == 2 and calls == [("cifar10", "test")]
    load_dataset("cifar10", "train", root=tmp_path, download=True)
    assert len(calls) == 1


def test_cifar_corrupt_pickle(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="test_batch"):
        load_dataset("cifar10", "test", root=tmp_path)


# ---------------------------------------------------------------------------
# Fashion-MNIST
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_fmnist_idx_roundtrip(tmp_path, no_system_fmnist, gz):
    written = write_fmnist(tmp_path / "FashionMNIST" / "raw", gz=gz)
    for split in ("train", "test"):
        ds = load_dataset("fashion-mnist", split, root=tmp_path)
        images, labels = written[split]
        assert ds.images.shape == (len(images), 28, 28, 1) and ds.images.dtype == np.uint8
        np.testing.assert_array_equal(ds.images[..., 0], images)
        np.testing.assert_array_equal(ds.labels, labels)
        assert ds.labels.dtype == np.int64 and ds.classes == list(FASHION_MNIST_CLASSES)
        assert ds.images.flags.writeable


def test_fmnist_search_order(tmp_path, no_system_fmnist):
    flat = write_fmnist(tmp_path, n_test=2, seed=1, gz=False)  # files directly in root
    ds = load_dataset("fashion-mnist", "test", root=tmp_path)
    np.testing.assert_array_equal(ds.images[..., 0], flat["test"][0])
    tv_layout = write_fmnist(tmp_path / "FashionMNIST" / "raw", n_test=4, seed=2)
    ds = load_dataset("fashion-mnist", "test", root=tmp_path)  # torchvision layout wins
    np.testing.assert_array_equal(ds.images[..., 0], tv_layout["test"][0])


def test_fmnist_system_dir_fallback(tmp_path, monkeypatch):
    written = write_fmnist(tmp_path / "system")
    monkeypatch.setattr(datasets, "FASHION_MNIST_SYSTEM_DIR", str(tmp_path / "system"))
    ds = load_dataset("fashion-mnist", "train", root=tmp_path / "empty")
    np.testing.assert_array_equal(ds.labels, written["train"][1])
    check_available("fashion-mnist", root=tmp_path / "empty")


def test_fmnist_not_found_message(tmp_path, no_system_fmnist):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("fashion-mnist", "train", root=tmp_path)
    msg = str(err.value)
    for needle in (str(tmp_path / "FashionMNIST" / "raw"), str(tmp_path), "no-system-dir",
                   "apt-get install dataset-fashion-mnist", "dataset.root",
                   "dataset.download: true", "train-images-idx3-ubyte"):  # fmt: skip
        assert needle in msg, needle
    with pytest.raises(DatasetNotFoundError):
        check_available("fashion-mnist", root=tmp_path)
    assert isinstance(err.value, FileNotFoundError)


@pytest.mark.parametrize(
    "corrupt, match",
    [
        (lambda d: b"\x00\x00\x08\x01" + d[4:], "magic"),  # 1-D header on an image file
        (lambda d: d[:-7], "data bytes"),  # truncated
        (lambda d: b"\x1f\x8b garbage", "cannot read"),  # broken gzip
    ],
)
def test_fmnist_corrupt_files(tmp_path, no_system_fmnist, corrupt, match):
    folder = tmp_path / "FashionMNIST" / "raw"
    write_fmnist(folder)
    path = folder / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    bad = corrupt(raw)
    path.write_bytes(bad if bad.startswith(b"\x1f\x8b") else gzip.compress(bad))
    with pytest.raises(ValueError, match=match) as err:
        load_dataset("fashion-mnist", "test", root=tmp_path)
    assert "t10k-images-idx3-ubyte.gz" in str(err.value)


def test_fmnist_count_mismatch(tmp_path, no_system_fmnist):
    folder = tmp_path / "FashionMNIST" / "raw"
    write_fmnist(folder)
    labels = np.zeros(7, np.uint8)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    with pytest.raises(ValueError, match="do not belong together"):
        load_dataset("fashion-mnist", "test", root=tmp_path)


@pytest.mark.skipif(
    not DEBIAN_FMNIST.is_dir(),
    reason=f"{DEBIAN_FMNIST} absent; `apt-get install dataset-fashion-mnist` to run this test",
)
def test_fmnist_real_debian_files(tmp_path):
    train = load_dataset("fashion-mnist", "train", root=tmp_path)  # empty root -> system dir
    test = load_dataset("fashion-mnist", "test", root=tmp_path)
    assert train.images.shape == (60000, 28, 28, 1) and test.images.shape == (10000, 28, 28, 1)
    assert np.bincount(train.labels).tolist() == [6000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    # published pixel statistics of the Fashion-MNIST train set: mean 0.2860, std 0.3530
    pixels = train.images.astype(np.float64) / 255.0
    assert abs(pixels.mean() - 0.2860) < 1e-3 and abs(pixels.std() - 0.3530) < 1e-3


# ---------------------------------------------------------------------------
# scikit-learn digits
# ---------------------------------------------------------------------------


def test_digits_split_and_scaling():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    assert train.images.shape == (1347, 8, 8, 1) and test.images.shape == (450, 8, 8, 1)
    assert train.classes == [str(d) for d in range(10)]
    # disjoint and complete, indices point into load_digits()
    both = np.concatenate([train.indices, test.indices])
    assert sorted(both.tolist()) == list(range(1797))
    for ds in (train, test):
        np.testing.assert_array_equal(ds.labels, bunch.target[ds.indices])
        expect = np.rint(bunch.images[ds.indices] * 255 / 16).astype(np.uint8)
        np.testing.assert_array_equal(ds.images[..., 0], expect)
    assert train.images.max() == 255 and train.images.min() == 0
    # stratified: exactly round(25 %) of every class in test
    n_class = np.bincount(bunch.target)
    assert np.bincount(test.labels).tolist() == [round(0.25 * n) for n in n_class]
    # deterministic
    np.testing.assert_array_equal(load_dataset("digits", "test").indices, test.indices)
    check_available("digits", root="/nonexistent", download=True)


def test_digits_known_class_counts_are_those_of_the_loader():
    for split in ("train", "test"):
        loaded = load_dataset("digits", split)
        expected = dict(zip(loaded.classes, np.bincount(loaded.labels).tolist(), strict=True))
        assert class_counts("digits", split) == expected
        assert split_size("digits", split) == len(loaded)


def test_known_sizes_of_the_downloaded_datasets():
    # the official files: CIFAR-10 50,000 / 10,000, Fashion-MNIST 60,000 / 10,000, balanced
    sizes = {name: {s: sum(c) for s, c in v.items()} for name, v in SPLIT_CLASS_COUNTS.items()}
    assert sizes["cifar10"] == {"train": 50000, "test": 10000}
    assert sizes["fashion-mnist"] == {"train": 60000, "test": 10000}
    assert class_counts("fashion-mnist", "test") == dict.fromkeys(FASHION_MNIST_CLASSES, 1000)
    assert list(class_counts("cifar10", "train", root="/nonexistent")) == list(CIFAR10_CLASSES)


@pytest.mark.skipif(not DEBIAN_FMNIST.is_dir(), reason="dataset-fashion-mnist not installed")
def test_fmnist_known_sizes_match_the_real_files():
    for split in ("train", "test"):
        loaded = load_dataset("fashion-mnist", split, root=str(DEBIAN_FMNIST))
        assert np.bincount(loaded.labels).tolist() == list(
            SPLIT_CLASS_COUNTS["fashion-mnist"][split]
        )


# ---------------------------------------------------------------------------
# image folders
# ---------------------------------------------------------------------------

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "imgs"
    write_png(root / "train" / "cat" / "a.png", solid(40, 64, RED))  # downscaled + cropped
    write_png(root / "train" / "cat" / "b.PNG", solid(16, 20, RED))  # upscaled
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    stripes = np.concatenate([solid(32, 16, RED), solid(32, 32, GREEN), solid(32, 16, BLUE)], 1)
    write_png(root / "train" / "dog" / "stripes.png", stripes)  # 32x64: crop = green middle
    write_png(root / "test" / "cat" / "c.png", solid(32, 32, BLUE))
    grey = Image.fromarray(np.full((50, 32), 77, np.uint8))  # grey "L" image -> RGB
    (root / "test" / "dog").mkdir(parents=True)
    grey.save(root / "test" / "dog" / "d.bmp")
    return root


def test_imagefolder_load(folder):
    train = load_dataset("imagefolder", "train", root=folder)
    assert train.classes == ["cat", "dog"] and train.labels.tolist() == [0, 0, 1]
    assert train.images.shape == (3, 32, 32, 3) and train.images.dtype == np.uint8
    np.testing.assert_array_equal(train.images[0], solid(32, 32, RED))
    np.testing.assert_array_equal(train.images[1], solid(32, 32, RED))
    np.testing.assert_array_equal(train.images[2], solid(32, 32, GREEN))
    test = load_dataset("imagefolder", "test", root=folder)
    assert test.labels.tolist() == [0, 1] and test.indices.tolist() == [0, 1]
    np.testing.assert_array_equal(test.images[1], np.full((32, 32, 3), 77, np.uint8))
    assert class_names("imagefolder", root=folder) == ["cat", "dog"]
    check_available("imagefolder", root=folder)


def test_imagefolder_class_counts_list_the_files_the_loader_reads(folder):
    assert class_counts("imagefolder", "train", root=folder) == {"cat": 2, "dog": 1}  # no .txt
    assert class_counts("imagefolder", "test", root=folder) == {"cat": 1, "dog": 1}
    assert split_size("imagefolder", "train", folder) == len(
        load_dataset("imagefolder", "train", folder)
    )


def test_imagefolder_of_one_class_is_refused(folder):
    import shutil

    shutil.rmtree(folder / "train" / "dog")
    shutil.rmtree(folder / "test" / "dog")
    for check in (
        lambda: check_available("imagefolder", root=folder),
        lambda: load_dataset("imagefolder", "train", root=folder),
        lambda: class_counts("imagefolder", "test", root=folder),
    ):
        with pytest.raises(ValueError, match="1 class folder .*at least two classes"):
            check()


def test_imagefolder_val_fallback(folder):
    (folder / "test").rename(folder / "val")
    assert len(load_dataset("imagefolder", "test", root=folder)) == 2


def test_imagefolder_errors(folder, tmp_path):
    with pytest.raises(ValueError, match="dataset.root"):
        load_dataset("imagefolder", "train")
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset("imagefolder", "train", root=tmp_path / "missing")
    (folder / "test").rename(folder / "elsewhere")
    with pytest.raises(DatasetNotFoundError, match="val") as err:
        load_dataset("imagefolder", "test", root=folder)
    assert str(folder / "test") in str(err.value)
    with pytest.raises(DatasetNotFoundError):
        check_available("imagefolder", root=folder)
    (folder / "elsewhere").rename(folder / "test")
    (folder / "test" / "bird").mkdir()
    write_png(folder / "test" / "bird" / "x.png", solid(32, 32, RED))
    with pytest.raises(ValueError, match="same class folders"):
        load_dataset("imagefolder", "test", root=folder)
    (folder / "train" / "bird").mkdir()
    with pytest.raises(DatasetNotFoundError, match="no images") as err:
        load_dataset("imagefolder", "train", root=folder)
    assert str(folder / "train" / "bird") in str(err.value)
    with pytest.raises(DatasetNotFoundError, match="no images"):  # found before any job
        check_available("imagefolder", root=folder)
