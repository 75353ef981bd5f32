"""Image datasets as in-memory uint8 arrays.

Four sources are supported (see :data:`DATASETS`):

``"cifar10"``
    CIFAR-10 (Krizhevsky 2009) read from the original *python pickle* batches in
    ``<root>/cifar-10-batches-py/``. The paper's dataset: its PH experiments use
    the test split, its mapper experiments the train split (Purvine et al. 2023,
    official code; see docs/methods.md §1).
``"fashion-mnist"``
    Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) read from the original IDX files,
    e.g. the Debian package ``dataset-fashion-mnist`` (works offline).
``"digits"``
    scikit-learn's 8x8 handwritten digits (ships inside scikit-learn; works offline),
    with a fixed stratified 75/25 train/test split.
``"imagefolder"``
    ``<root>/<split>/<class>/<image>`` folders, e.g. a 10-class ImageNet subset as in
    the paper's ImageNet mapper experiment. Images are resized and centre-cropped
    to ``image_size`` (``dataset.image_size``, default 32) square RGB.

All loaders return an :class:`ImageSet` of raw uint8 pixels; resizing to the model
input, normalisation and augmentation live in :mod:`cnntopo.nets.transforms`.

References
----------
.. [1] E. Purvine, D. Brown, B. Jefferson, C. Joslyn, B. Praggastis, A. Rathore,
   M. Shapiro, B. Wang, Y. Zhou, "Experimental Observations of the Topology of
   Convolutional Neural Network Activations", AAAI 2023, arXiv:2212.00222.
.. [2] A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009.
   File format: https://www.cs.toronto.edu/~kriz/cifar.html
.. [3] H. Xiao, K. Rasul, R. Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
   Benchmarking Machine Learning Algorithms", arXiv:1708.07747, 2017.
.. [4] Y. LeCun et al., IDX file format, http://yann.lecun.com/exdb/mnist/
"""

from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_CLASSES",
    "DATASETS",
    "DEFAULT_ROOT",
    "DIGITS_TEST_FRACTION",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_SYSTEM_DIR",
    "IMAGEFOLDER_EXTENSIONS",
    "IMAGEFOLDER_SIZE",
    "DatasetNotFoundError",
    "ImageSet",
    "SPLIT_CLASS_COUNTS",
    "check_available",
    "class_counts",
    "class_names",
    "load_dataset",
    "split_size",
]

#: Names accepted by :func:`load_dataset`.
DATASETS = ("cifar10", "fashion-mnist", "digits", "imagefolder")

#: Splits accepted by :func:`load_dataset`.
SPLITS = ("train", "test")

#: Data directory used when ``root`` is ``None`` (relative to the working directory).
DEFAULT_ROOT = "data"

#: CIFAR-10 class names, in label order (identical to ``batches.meta``).
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

#: Fashion-MNIST class names, in label order (Xiao et al. 2017).
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

#: Where Debian's ``dataset-fashion-mnist`` package installs the IDX files.
FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"

#: Fraction of every digits class put into the ``"test"`` split.
DIGITS_TEST_FRACTION = 0.25

#: Seed of the ``np.random.default_rng`` that draws the digits test split.
DIGITS_SPLIT_SEED = 0

#: Image file name extensions read by the ``"imagefolder"`` loader (case-insensitive).
IMAGEFOLDER_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")

#: Default side length of the square RGB images of the ``"imagefolder"`` loader.
IMAGEFOLDER_SIZE = 32

#: Images per class of every split of the built-in datasets, in label order, without
#: reading them: CIFAR-10 (5,000 / 1,000 of each class), Fashion-MNIST (6,000 / 1,000),
#: and the digits split of :func:`_digits_split` (1,347 / 450; checked against the loader
#: in tests/nets/test_datasets.py).
SPLIT_CLASS_COUNTS: dict[str, dict[str, tuple[int, ...]]] = {
    "cifar10": {"train": (5000,) * 10, "test": (1000,) * 10},
    "fashion-mnist": {"train": (6000,) * 10, "test": (1000,) * 10},
    "digits": {
        "train": (134, 136, 133, 137, 136, 136, 136, 134, 130, 135),
        "test": (44, 46, 44, 46, 45, 46, 45, 45, 44, 45),
    },
}

_CIFAR_DIR = "cifar-10-batches-py"
_CIFAR_FILES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
_CIFAR_META = "batches.meta"

_FMNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_FMNIST_HOWTO = (
    "To get it: `apt-get install dataset-fashion-mnist` (Debian/Ubuntu, offline-capable "
    f"mirror; installs into {FASHION_MNIST_SYSTEM_DIR}), or put the four IDX files "
    "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], "
    "t10k-labels-idx1-ubyte[.gz]) into a folder and set `dataset.root` to it, or set "
    "`dataset.download: true` on a machine with internet access."
)
_CIFAR_HOWTO = (
    "To get it: download and extract https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz "
    "into the dataset root (it creates cifar-10-batches-py/) and set `dataset.root`, or set "
    "`dataset.download: true` on a machine with internet access. CIFAR-10 is not available "
    "from any offline package; use `fashion-mnist` or `digits` on offline machines."
)


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
        if (
            self.images.dtype != np.uint8
            or self.images.ndim != 4
            or self.images.shape[3] not in (1, 3)
        ):
            raise ValueError(
                f"ImageSet.images must be uint8 of shape (N, H, W, C) with C in {{1, 3}}, "
                f"got {self.images.dtype} {self.images.shape}"
            )
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"labels shape {self.labels.shape} does not match {self.images.shape[0]} images"
            )
        if self.indices is None:
            self.indices = np.arange(len(self.labels), dtype=np.int64)
        self.indices = np.asarray(self.indices, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, idx: np.ndarray) -> ImageSet:
        """Return the images at positions ``idx`` (original indices are carried along)."""
        idx = np.asarray(idx, dtype=np.int64)
        return ImageSet(
            self.images[idx],
            self.labels[idx],
            list(self.classes),
            self.name,
            self.split,
            self.indices[idx],
        )


class DatasetNotFoundError(FileNotFoundError):
    """The files of a dataset are missing; the message lists where we looked and the fix."""


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def check_available(name: str, root: str | None = None, download: bool = False) -> None:
    """Cheap pre-flight check that a dataset can be loaded (file existence only).

    Nothing is read or downloaded. Both splits are checked; an image folder's layout
    too (two or more classes, the same class folders in both splits, images in each:
    the files are listed, not read).

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    root : str or None
        Dataset root folder; ``None`` means :data:`DEFAULT_ROOT`. Ignored for
        ``"digits"``; required for ``"imagefolder"``.
    download : bool
        If true, missing CIFAR-10 / Fashion-MNIST files are not an error, because
        :func:`load_dataset` will download them.

    Raises
    ------
    ValueError
        If ``name`` is unknown; ``"imagefolder"``: ``root`` is missing, or its class
        folders are fewer than two or differ between the splits.
    DatasetNotFoundError
        If files are missing (for ``"imagefolder"``: a class folder holds no images);
        the message lists every path looked at and how to get the data.
    """
    _check_name(name)
    if name == "digits":
        return
    if name == "imagefolder":
        base = _imagefolder_root(root)
        for split in SPLITS:
            _imagefolder_counts(base, split)
        return
    if download:
        return
    for split in SPLITS:
        if name == "cifar10":
            _cifar_paths(_root(root), split)
        else:
            _fmnist_paths(_root(root), split)


def class_counts(name: str, split: str, root: str | None = None) -> dict[str, int]:
    """Images of each class of one split, without reading (or downloading) any image.

    Cheap enough for the workflow's start-up checks: the built-in datasets have fixed
    sizes (:data:`SPLIT_CLASS_COUNTS`); an ``"imagefolder"`` is counted by listing the
    image files (extensions :data:`IMAGEFOLDER_EXTENSIONS`) of each class folder, as
    :func:`load_dataset` will read them.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    split : {"train", "test"}
        Which split (``"test"`` of an image folder: ``<root>/test``, else ``<root>/val``).
    root : str or None
        Dataset root; used (and required) for ``"imagefolder"`` only.

    Returns
    -------
    dict of str to int
        Class name -> number of images, in label order (``len`` = the number of classes).

    Raises
    ------
    ValueError
        Unknown ``name`` or ``split``; ``"imagefolder"``: no ``root``, fewer than two
        class folders, or other class folders than the train split's.
    DatasetNotFoundError
        ``"imagefolder"``: the root or the split folder is missing, or a class folder
        holds no images.
    """
    _check_name(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if name != "imagefolder":
        counts = SPLIT_CLASS_COUNTS[name][split]
        return dict(zip(class_names(name, root), counts, strict=True))
    return _imagefolder_counts(_imagefolder_root(root), split)


def split_size(name: str, split: str, root: str | None = None) -> int:
    """Number of images of one split (the sum of :func:`class_counts`), reading no image.

    Examples
    --------
    >>> split_size("digits", "test"), split_size("cifar10", "train")
    (450, 50000)
    """
    return sum(class_counts(name, split, root).values())


def load_dataset(
    name: str,
    split: str,
    root: str | None = None,
    download: bool = False,
    image_size: int = IMAGEFOLDER_SIZE,
) -> ImageSet:
    """Load one split of a dataset into memory as raw uint8 pixels.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    split : {"train", "test"}
        Which split. For ``"imagefolder"``, ``"test"`` reads ``<root>/test`` or, if
        that is absent, ``<root>/val``.
    root : str or None
        Dataset root folder; ``None`` means :data:`DEFAULT_ROOT`. Ignored for
        ``"digits"``; required for ``"imagefolder"``.
    download : bool
        Download CIFAR-10 / Fashion-MNIST through torchvision into ``root`` when no
        local copy is found (needs internet). Ignored for ``"digits"`` and
        ``"imagefolder"``.
    image_size : int, default 32
        ``"imagefolder"`` only: side of the square images read (shorter side resized to
        it, bicubic, then centre-cropped; ``dataset.image_size``). The other datasets
        keep their native size.

    Returns
    -------
    ImageSet
        ``images`` (N, H, W, C) uint8 with, per dataset: cifar10 (N, 32, 32, 3) with
        N = 50000 / 10000; fashion-mnist (N, 28, 28, 1) with N = 60000 / 10000;
        digits (N, 8, 8, 1) with N = 1347 / 450; imagefolder (N, S, S, 3),
        ``S = image_size``.
        ``indices`` are positions in the original split (for digits: in
        ``sklearn.datasets.load_digits()``; for imagefolder: in the split's
        class-major, name-sorted file list).

    Raises
    ------
    ValueError
        Unknown ``name`` or ``split``, or a corrupt / inconsistent data file.
    DatasetNotFoundError
        The data files are missing (the message says where we looked and the fix).
    """
    _check_name(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if name == "cifar10":
        return _load_cifar10(_root(root), split, download)
    if name == "fashion-mnist":
        return _load_fashion_mnist(_root(root), split, download)
    if name == "digits":
        return _load_digits(split)
    return _load_imagefolder(_imagefolder_root(root), split, image_size)


def class_names(name: str, root: str | None = None) -> list[str]:
    """Return the class names of a dataset, index-aligned with its labels.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    root : str or None
        Dataset root. Used for ``"imagefolder"`` (sorted class folders of
        ``<root>/train``) and for ``"cifar10"`` (``batches.meta`` if present,
        otherwise :data:`CIFAR10_CLASSES`).

    Returns
    -------
    list of str
    """
    _check_name(name)
    if name == "cifar10":
        meta = _root(root) / _CIFAR_DIR / _CIFAR_META
        return _read_cifar_meta(meta) if meta.is_file() else list(CIFAR10_CLASSES)
    if name == "fashion-mnist":
        return list(FASHION_MNIST_CLASSES)
    if name == "digits":
        return [str(d) for d in range(10)]
    return _imagefolder_classes(_imagefolder_split_dir(_imagefolder_root(root), "train"))


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {DATASETS}")


def _root(root: str | os.PathLike | None) -> Path:
    return Path(DEFAULT_ROOT if root is None else root).expanduser()


def _download(name: str, root: Path, split: str) -> None:
    """Download ``name`` into ``root`` with torchvision (needs internet)."""
    from cnntopo.nets.torchvision_shim import import_torchvision

    tv = import_torchvision()
    cls = {"cifar10": tv.datasets.CIFAR10, "fashion-mnist": tv.datasets.FashionMNIST}[name]
    root.mkdir(parents=True, exist_ok=True)
    try:
        cls(str(root), train=(split == "train"), download=True)
    except Exception as err:  # URLError, RuntimeError (md5 / mirror failures), OSError
        raise DatasetNotFoundError(
            f"downloading {name} into {root} failed: {err!r}. This machine may have no "
            f"internet access; get the files another way (see `check_available`) and set "
            f"`dataset.root`, or use `dataset.download: false` with a local copy."
        ) from err


# ---------------------------------------------------------------------------
# CIFAR-10 (python pickle batches)
# ---------------------------------------------------------------------------


def _cifar_paths(root: Path, split: str) -> list[Path]:
    folder = root / _CIFAR_DIR
    paths = [folder / f for f in (*_CIFAR_FILES[split], _CIFAR_META)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"CIFAR-10 ({split} split) not found: looked for {', '.join(missing)} "
            f"(missing) under the dataset root {root.resolve()}. {_CIFAR_HOWTO}"
        )
    return paths


def _unpickle(path: Path) -> dict:
    """Read one CIFAR pickle (``encoding="bytes"``); keys are returned as ``str``.

    Only open files you trust: unpickling can run arbitrary code.
    """
    try:
        with open(path, "rb") as fh:
            obj = pickle.load(fh, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise ValueError(
            f"{path} is not a valid CIFAR-10 python pickle ({err!r}); delete "
            f"{path.parent} and download/extract cifar-10-python.tar.gz again"
        ) from err
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _read_cifar_meta(path: Path) -> list[str]:
    meta = _unpickle(path)
    if "label_names" not in meta:
        raise ValueError(f"{path}: no 'label_names' entry; not a CIFAR-10 batches.meta file")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in meta["label_names"]]


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch -> images (n, 32, 32, 3) uint8 and labels (n,) int64.

    Each row of ``b"data"`` holds 3072 bytes: the 1024 red, then 1024 green, then
    1024 blue values of a 32x32 image, each plane row-major.
    """
    batch = _unpickle(path)
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path}: missing 'data' or 'labels'; not a CIFAR-10 batch file")
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (data.shape[0],):
        raise ValueError(
            f"{path}: expected data (n, 3072) and labels (n,), got {data.shape} and {labels.shape}"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _load_cifar10(root: Path, split: str, download: bool) -> ImageSet:
    try:
        paths = _cifar_paths(root, split)
    except DatasetNotFoundError:
        if not download:
            raise
        _download("cifar10", root, split)
        paths = _cifar_paths(root, split)
    batches = [_read_cifar_batch(p) for p in paths[:-1]]
    classes = _read_cifar_meta(paths[-1])
    images = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    _check_labels(labels, len(classes), paths[0].parent)
    return ImageSet(images, labels, classes, "cifar10", split)


# ---------------------------------------------------------------------------
# Fashion-MNIST (IDX files)
# ---------------------------------------------------------------------------


def _fmnist_dirs(root: Path) -> list[Path]:
    """Folders searched for Fashion-MNIST, in order of preference."""
    return [root / "FashionMNIST" / "raw", root, Path(FASHION_MNIST_SYSTEM_DIR)]


def _find_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _fmnist_paths(root: Path, split: str) -> tuple[Path, Path]:
    """Return (images, labels) paths from the first folder that holds both."""
    looked = []
    for folder in _fmnist_dirs(root):
        found = [_find_file(folder, stem) for stem in _FMNIST_FILES[split]]
        if all(found):
            return found[0], found[1]  # type: ignore[return-value]
        looked.append(str(folder))
    names = " and ".join(f"{s}[.gz]" for s in _FMNIST_FILES[split])
    raise DatasetNotFoundError(
        f"Fashion-MNIST ({split} split) not found: looked for {names} in "
        f"{'; '.join(looked)}. {_FMNIST_HOWTO}"
    )


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Parse an unsigned-byte IDX file (optionally gzip-compressed).

    Format: 2 zero bytes, type code 0x08 (uint8), number of dimensions, then that
    many big-endian uint32 sizes, then the row-major data.

    Returns
    -------
    np.ndarray, dtype uint8, with ``ndim`` dimensions
    """
    fix = f"delete or replace {path} (reinstall `dataset-fashion-mnist` or download again)"
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"cannot read IDX file {path}: {err!r}; {fix}") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != ndim:
        raise ValueError(
            f"{path} is not a uint8 IDX file with {ndim} dimension(s): bad magic number "
            f"{raw[:4].hex()} (expected 000008{ndim:02x}); {fix}"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header; {fix}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(dims))
    if len(raw) - header != count:
        raise ValueError(
            f"{path}: IDX header says shape {dims} ({count} bytes) but the file holds "
            f"{len(raw) - header} data bytes; {fix}"
        )
    return np.frombuffer(raw, dtype=np.uint8, count=count, offset=header).reshape(dims).copy()


def _load_fashion_mnist(root: Path, split: str, download: bool) -> ImageSet:
    try:
        img_path, lab_path = _fmnist_paths(root, split)
    except DatasetNotFoundError:
        if not download:
            raise
        _download("fashion-mnist", root, split)
        img_path, lab_path = _fmnist_paths(root, split)
    images = _read_idx(img_path, 3)
    labels = _read_idx(lab_path, 1).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{img_path} holds {images.shape[0]} images but {lab_path} holds "
            f"{labels.shape[0]} labels; the files do not belong together"
        )
    _check_labels(labels, len(FASHION_MNIST_CLASSES), img_path.parent)
    return ImageSet(images[..., None], labels, list(FASHION_MNIST_CLASSES), "fashion-mnist", split)


def _check_labels(labels: np.ndarray, n_classes: int, where: Path) -> None:
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels in {where} lie in [{labels.min()}, {labels.max()}], outside "
            f"[0, {n_classes - 1}]; the data files are corrupt or of another dataset"
        )


# ---------------------------------------------------------------------------
# scikit-learn digits
# ---------------------------------------------------------------------------


def _digits_split(target: np.ndarray) -> np.ndarray:
    """Boolean test mask: ``DIGITS_TEST_FRACTION`` of each class, stratified, seeded.

    For each class c = 0..9 in order, ``round(0.25 * n_c)`` of its indices are drawn
    without replacement by one ``np.random.default_rng(DIGITS_SPLIT_SEED)``.

    Parameters
    ----------
    target : np.ndarray, shape (N,), int

    Returns
    -------
    np.ndarray, shape (N,), bool
    """
    rng = np.random.default_rng(DIGITS_SPLIT_SEED)
    test = np.zeros(target.shape[0], dtype=bool)
    for c in np.unique(target):
        members = np.flatnonzero(target == c)
        n_test = int(round(DIGITS_TEST_FRACTION * members.size))
        test[rng.choice(members, size=n_test, replace=False)] = True
    return test


def _load_digits(split: str) -> ImageSet:
    """scikit-learn digits: values 0..16 mapped to uint8 by ``rint(v * 255 / 16)``."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = np.rint(np.asarray(bunch.images, dtype=np.float64) * (255.0 / 16.0))
    images = pixels.astype(np.uint8)[..., None]
    target = np.asarray(bunch.target, dtype=np.int64)
    test = _digits_split(target)
    idx = np.flatnonzero(test if split == "test" else ~test)
    return ImageSet(images[idx], target[idx], [str(d) for d in range(10)], "digits", split, idx)


# ---------------------------------------------------------------------------
# image folders
# ---------------------------------------------------------------------------


def _imagefolder_root(root: str | os.PathLike | None) -> Path:
    if root is None:
        raise ValueError(
            "dataset 'imagefolder' needs a root folder: set `dataset.root` to a folder "
            "holding train/<class>/*.png|jpg and test/<class>/... (or val/<class>/...)"
        )
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DatasetNotFoundError(
            f"image folder root {base.resolve()} does not exist; set `dataset.root` to a "
            f"folder holding train/<class>/<images> and test/<class>/<images> (or val/)"
        )
    return base


def _imagefolder_split_dir(base: Path, split: str) -> Path:
    names = ("train",) if split == "train" else ("test", "val")
    for n in names:
        if (base / n).is_dir():
            return base / n
    looked = " or ".join(str(base / n) for n in names)
    raise DatasetNotFoundError(
        f"image folder split {split!r} not found: no folder {looked}. Expected layout "
        f"<root>/train/<class>/<images> and <root>/test/<class>/<images> (or val/)."
    )


def _imagefolder_classes(split_dir: Path) -> list[str]:
    classes = sorted(
        p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    if not classes:
        raise DatasetNotFoundError(
            f"{split_dir} has no class sub-folders; put each class's images into "
            f"{split_dir}/<class name>/"
        )
    return classes


def _count_images(class_dir: Path) -> int:
    """Image files of one class folder (the files :func:`_imagefolder_files` would read)."""
    with os.scandir(class_dir) as entries:
        return sum(
            1
            for e in entries
            if e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGEFOLDER_EXTENSIONS
        )


def _imagefolder_files(class_dir: Path) -> list[Path]:
    files = sorted(
        p for p in class_dir.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGEFOLDER_EXTENSIONS
    )  # fmt: skip
    if not files:
        raise DatasetNotFoundError(
            f"class folder {class_dir} holds no images with extension in "
            f"{IMAGEFOLDER_EXTENSIONS}; add images or remove the folder"
        )
    return files


def _read_image(path: Path, size: int) -> np.ndarray:
    """Open -> RGB -> resize shorter side to ``size`` (bicubic) -> centre crop.

    Returns
    -------
    np.ndarray, shape (size, size, 3), dtype uint8
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"cannot read image {path}: {err}; delete or replace the file") from err
    w, h = rgb.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    if (nw, nh) != (w, h):
        rgb = rgb.resize((nw, nh), resample=Image.Resampling.BICUBIC)
    left, top = int(round((nw - size) / 2.0)), int(round((nh - size) / 2.0))
    return np.asarray(rgb.crop((left, top, left + size, top + size)), dtype=np.uint8)


def _imagefolder_counts(base: Path, split: str) -> dict[str, int]:
    """Images per class folder of one split, in label order; the layout is checked.

    The class folders are those of ``<root>/train`` (sorted names); there must be at
    least two (one class trains a network that is always right: accuracy 1.0), the
    split must have the same ones, and each must hold an image. Files are listed,
    not read.

    Returns
    -------
    dict of str to int
        Class name -> number of image files (:data:`IMAGEFOLDER_EXTENSIONS`).
    """
    train_dir = _imagefolder_split_dir(base, "train")
    classes = _imagefolder_classes(train_dir)
    if len(classes) < 2:
        raise ValueError(
            f"image folder {train_dir} has {len(classes)} class folder ({classes}); a "
            "classifier needs at least two classes: put each class's images into a folder "
            f"of its own, {train_dir}/<class>/<images> (and the same under test/ or val/)"
        )
    split_dir = _imagefolder_split_dir(base, split)
    if split != "train":
        found = _imagefolder_classes(split_dir)
        if found != classes:
            raise ValueError(
                f"class folders of {split_dir} {found} differ from those of "
                f"{train_dir} {classes}; both splits must have the same class folders"
            )
    counts = {cls: _count_images(split_dir / cls) for cls in classes}
    empty = [cls for cls, n in counts.items() if n == 0]
    if empty:
        raise DatasetNotFoundError(
            f"class folder {split_dir / empty[0]} holds no images with extension in "
            f"{IMAGEFOLDER_EXTENSIONS} (empty class folders of {split_dir}: {empty}); add "
            "images or remove the folder"
        )
    return counts


def _load_imagefolder(base: Path, split: str, size: int = IMAGEFOLDER_SIZE) -> ImageSet:
    classes = list(_imagefolder_counts(base, split))
    split_dir = _imagefolder_split_dir(base, split)
    files, labels = [], []
    for label, cls in enumerate(classes):
        cls_files = _imagefolder_files(split_dir / cls)
        files.extend(cls_files)
        labels.extend([label] * len(cls_files))
    images = np.empty((len(files), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(files):
        images[i] = _read_image(path, size)
    return ImageSet(images, np.asarray(labels, dtype=np.int64), classes, "imagefolder", split)
