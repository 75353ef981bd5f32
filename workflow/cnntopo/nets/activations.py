"""Streamed capture of hidden-layer activations into memory-mappable shards.

The paper's PH pipeline (official ``topL2_pointclouds.py``, Purvine et al. 2023) takes
the raw outputs of the 17 convolutions of the CIFAR ResNet-18 (before BatchNorm and
ReLU, so they can be negative) for one batch of 1000 test images. Here every layer's
activations are written to ``<out_dir>/<layer>.npy`` of shape ``(N, c, h, w)`` batch by
batch, so memory is bounded by one batch, and a ``manifest.json`` that is written last
marks the directory as complete.

References
----------
.. [1] Purvine, E., et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI. arXiv:2212.00222.
.. [2] He, K., Zhang, X., Ren, S., and Sun, J. 2016. Deep Residual Learning for Image
   Recognition. CVPR.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch import nn

from cnntopo.artifacts import atomic_path, read_array, read_json, write_json
from cnntopo.nets.batching import bounded_batch_size
from cnntopo.nets.datasets import ImageSet
from cnntopo.nets.devices import select_device

__all__ = [
    "NonFiniteActivationsError",
    "MANIFEST",
    "MANIFEST_KEYS",
    "FORMAT",
    "capture",
    "output_tensor",
    "no_tf32",
    "extract_activations",
    "load_activations",
    "read_manifest",
    "shard_path",
]

#: File name of the manifest written after all shards.
MANIFEST = "manifest.json"

#: Format tag stored in every manifest.
FORMAT = "cnntopo-activations/1"

_DTYPES: tuple[str, ...] = ("float32", "float16")

#: Keys written by :func:`extract_activations` itself (``extra_meta`` may not reuse them).
MANIFEST_KEYS: tuple[str, ...] = (
    "format",
    "layers",
    "n_images",
    "dataset",
    "split",
    "classes",
    "image_indices",
    "labels",
    "predictions",
    "accuracy",
    "batch_size",
    "dtype",
    "image_size",
    "mean",
    "std",
    "seconds",
)


class NonFiniteActivationsError(FloatingPointError):
    """Recorded activations hold NaN or inf; no shard was written.

    Attributes
    ----------
    counts : dict of str to int
        Layer -> number of images with at least one non-finite value (layers with none
        left out), in the network order of the request.
    overflow : dict of str to int
        Layer -> how many of those images are finite in float32 but overflow the float16
        storage (``dtype="float16"`` only; values beyond +-65504).
    """

    def __init__(self, message: str, counts: Mapping[str, int], overflow: Mapping[str, int]):
        super().__init__(message)
        self.counts, self.overflow = dict(counts), dict(overflow)


@contextlib.contextmanager
def no_tf32() -> Iterator[None]:
    """Run float32 matrix products and convolutions in full float32 precision.

    Sets ``torch.backends.cuda.matmul.allow_tf32`` and
    ``torch.backends.cudnn.allow_tf32`` to False and restores both on exit, also when the
    block raises. PyTorch lets cuDNN run float32 convolutions in TF32 on Ampere and newer
    GPUs by default (about 1e-3 relative error); the official extraction ran on the CPU
    in float32 (docs/methods.md §3). A no-op for CPU arithmetic.

    Yields
    ------
    None
    """
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (matmul.allow_tf32, cudnn.allow_tf32)
    try:
        matmul.allow_tf32 = False
        cudnn.allow_tf32 = False
        yield
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = saved


def output_tensor(output: Any) -> torch.Tensor | None:
    """A module's output tensor: the output itself, or the first tensor of a tuple/list.

    Attention modules return ``(values, weights)``; the values are recorded. None when
    the output holds no tensor.
    """
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, tuple | list):
        return next((o for o in output if isinstance(o, torch.Tensor)), None)
    return None


@contextlib.contextmanager
def capture(
    model: nn.Module, layer_names: Sequence[str], *, clone: bool = False
) -> Iterator[dict[str, torch.Tensor]]:
    """Record the outputs of named modules during forward passes.

    Registers a forward hook on each module that stores ``output.detach()`` in the
    yielded dict under the module's name (a later forward overwrites it). Hooks are
    removed on exit, also when the block raises. Inside the block TF32 is off
    (:func:`no_tf32`), so captured activations are full float32 also on GPUs; the
    previous settings are restored on exit.

    For the convolutions of :class:`cnntopo.nets.models.ResNet18CIFAR` the stored tensor is
    the raw conv output (pre-BN, pre-ReLU, can be negative); nothing modifies it in
    place afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    layer_names : sequence of str
        Names as in ``model.named_modules()``, e.g. from
        :func:`cnntopo.nets.models.conv_layer_names`.
    clone : bool, default False
        Store a copy instead of a reference. ``output.detach()`` shares memory with the
        output, so for modules whose output is later modified in place (e.g. ``bn2``,
        to which the block adds the shortcut and applies an in-place ReLU) the stored
        value would be the modified tensor, as in the official mapper extraction.
        ``clone=True`` stores the value the module actually returned.

    Yields
    ------
    dict of str to torch.Tensor
        Layer name -> output of the latest forward pass, ``(B, c, h, w)`` for
        convolutions, ``(B, tokens, d)`` for transformer blocks, ``(B, c)`` for linear
        layers (the first tensor of a tuple output).

    Raises
    ------
    KeyError
        A name is not a module of ``model``.
    """
    modules = dict(model.named_modules())
    unknown = [name for name in layer_names if name not in modules]
    if unknown:
        convs = [name for name, m in modules.items() if isinstance(m, nn.Conv2d)]
        raise KeyError(
            f"layers not in the model: {', '.join(unknown)}; conv layers are: {', '.join(convs)}"
        )
    store: dict[str, torch.Tensor] = {}
    handles = []

    def make_hook(name: str) -> Callable[..., None]:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            tensor = output_tensor(output)
            if tensor is None:
                return
            out = tensor.detach()
            store[name] = out.clone() if clone else out

        return hook

    try:
        for name in layer_names:
            handles.append(modules[name].register_forward_hook(make_hook(name)))
        with no_tf32():
            yield store
    finally:
        for handle in handles:
            handle.remove()


def shard_path(out_dir: str | os.PathLike, layer: str) -> Path:
    """Path of the ``.npy`` shard of ``layer`` in ``out_dir``."""
    return Path(out_dir) / f"{layer}.npy"


def _check_extraction_args(
    model: nn.Module,
    images: ImageSet,
    layer_names: Sequence[str],
    batch_size: int,
    dtype: str,
    extra_meta: Mapping[str, Any],
) -> None:
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if len(images) == 0:
        raise ValueError("no images to extract activations from")
    if not layer_names:
        raise ValueError("no layers requested")
    if len(set(layer_names)) != len(layer_names):
        raise ValueError(f"duplicate layer names in {list(layer_names)}")
    modules = dict(model.named_modules())
    unknown = [name for name in layer_names if name not in modules]
    if unknown:
        raise KeyError(f"layers not in the model: {', '.join(unknown)}")
    bad = [name for name in layer_names if os.sep in name or name in ("", ".", "..")]
    if bad:
        raise ValueError(f"layer names cannot be used as file names: {bad}")
    clash = sorted(set(extra_meta) & set(MANIFEST_KEYS))
    if clash:
        raise ValueError(f"extra_meta keys clash with manifest keys: {clash}")


def _remove_stale(out_dir: Path, layer_names: Sequence[str]) -> None:
    """Remove an old manifest and old shards so a failed run never looks complete."""
    for path in [out_dir / MANIFEST, *(shard_path(out_dir, name) for name in layer_names)]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _base_manifest(
    images: ImageSet,
    layers: list[dict[str, Any]],
    predictions: np.ndarray,
    batch_size: int,
    dtype: str,
    mean: Sequence[float],
    std: Sequence[float],
    image_size: int,
    seconds: float,
) -> dict[str, Any]:
    labels = np.asarray(images.labels, dtype=np.int64)
    return {
        "format": FORMAT,
        "layers": layers,
        "n_images": len(images),
        "dataset": images.name,
        "split": images.split,
        "classes": list(images.classes),
        "image_indices": np.asarray(images.indices, dtype=np.int64).tolist(),
        "labels": labels.tolist(),
        "predictions": predictions.astype(np.int64).tolist(),
        "accuracy": float(np.mean(predictions == labels)),
        "batch_size": int(batch_size),
        "dtype": dtype,
        "image_size": int(image_size),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "seconds": round(float(seconds), 3),
    }


def extract_activations(
    model: nn.Module,
    images: ImageSet,
    layer_names: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int = 250,
    device: str | torch.device | None = None,
    dtype: str = "float32",
    image_size: int = 32,
    max_batch_mb: float | None = None,
    extra_meta: Mapping[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Forward ``images`` and stream each layer's activations into ``.npy`` shards.

    The model is put in eval mode (and moved to ``device``, in place) and run under
    :func:`torch.inference_mode`. For every layer, ``<out_dir>/<layer>.npy`` of shape
    ``(N, *layer shape)`` is written batch by batch: its ``.npy`` header first, then
    each batch's values appended to a temporary file in ``out_dir`` with plain file
    writes (no memory map, so the process holds one batch, however large the shard);
    all temporary files are renamed into place only after the last batch, and
    ``manifest.json`` is written (atomically) after that. An old manifest and old shards
    of the requested layers are deleted first, so an interrupted run leaves neither
    shards nor a manifest behind.

    Each module's recorded output is a copy of what it returned (later in-place
    operations such as an in-place ReLU do not change it); for a tuple output
    (attention) it is the first tensor.

    Parameters
    ----------
    model : torch.nn.Module
        Trained network.
    images : cnntopo.nets.datasets.ImageSet
        ``N`` images, uint8 ``(N, H, W, C)``.
    layer_names : sequence of str
        Layers to record (e.g. :func:`cnntopo.nets.models.conv_layer_names`); their order is
        kept in the manifest.
    out_dir : path-like
        Output directory (created if needed).
    mean, std : sequence of 3 floats
        Per-channel normalisation on the [0, 1] scale.
    batch_size : int, default 250
        Images per forward pass.
    device : str or torch.device, optional
        ``None`` = CUDA when available, else CPU.
    dtype : {"float32", "float16"}, default "float32"
        Storage type of the shards (the forward pass is always float32).
    image_size : int, default 32
        Images are padded/resized to this side by :func:`cnntopo.nets.transforms.to_model_input`.
    max_batch_mb : float, optional
        Upper bound on the float32 activations of all ``layer_names`` held for one batch:
        the batch is made smaller (down to one image) when ``batch_size`` images would
        exceed it. None = no bound. Peak memory is about the model, one batch of
        the network's own intermediate tensors and this.
    extra_meta : mapping, optional
        Extra JSON-serialisable entries merged into the manifest (e.g. seed, model
        path); they may not reuse the manifest's own keys.
    log : callable, optional
        Called with one progress line per batch.

    Returns
    -------
    dict
        The manifest: ``format``, ``layers`` (ordered list of ``{name, file, shape,
        dtype}``), ``n_images``, ``dataset``, ``split``, ``classes``, ``image_indices``,
        ``labels``, ``predictions`` (argmax of the logits), ``accuracy``, ``batch_size``
        (the one used), ``dtype``, ``image_size``, ``mean``, ``std``, ``seconds``, plus
        ``extra_meta``.

    Raises
    ------
    ValueError
        Invalid arguments, or ``extra_meta`` keys that clash with manifest keys.
    KeyError
        A layer name is not a module of ``model``.
    NonFiniteActivationsError
        A recorded layer gives NaN or inf for some image (or, with ``dtype="float16"``,
        a value beyond float16's range): all images are run to count them per layer,
        then nothing is kept (no shard, no manifest). The message names the model
        (``extra_meta``'s ``seed`` and ``weights`` when given), each affected layer and
        its number of affected images.
    """
    extra = dict(extra_meta or {})
    _check_extraction_args(model, images, layer_names, batch_size, dtype, extra)
    layer_names = list(layer_names)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale(out_dir, layer_names)
    device = select_device(device)
    model.to(device).eval()
    shapes = _output_shapes(model, layer_names, image_size, device)
    fits = bounded_batch_size(shapes, batch_size, max_batch_mb)
    if fits < batch_size and log is not None:
        per_image = 4 * sum(int(np.prod(shape)) for shape in shapes.values())
        log(
            f"batch size {batch_size} -> {fits}: {per_image / 2**20:.1f} MB of activations "
            f"per image, at most {max_batch_mb} MB per batch"
        )
    batch_size = fits
    start_time = time.perf_counter()
    with contextlib.ExitStack() as renames:  # renames all shards only if every batch succeeded
        tmp_paths = {
            name: renames.enter_context(atomic_path(shard_path(out_dir, name)))
            for name in layer_names
        }
        predictions, nonfinite, overflow = _stream_to_shards(
            model,
            images,
            tmp_paths,
            shapes,
            mean=mean,
            std=std,
            batch_size=batch_size,
            device=device,
            dtype=dtype,
            image_size=image_size,
            log=log,
        )
        if nonfinite:
            raise _nonfinite_error(nonfinite, overflow, len(images), dtype, extra)
    n = len(images)
    layers = [
        {
            "name": name,
            "file": shard_path(out_dir, name).name,
            "shape": [n, *shapes[name]],
            "dtype": dtype,
        }
        for name in layer_names
    ]
    manifest = _base_manifest(
        images,
        layers,
        predictions,
        batch_size,
        dtype,
        mean,
        std,
        image_size,
        time.perf_counter() - start_time,
    )
    manifest.update(extra)
    write_json(out_dir / MANIFEST, manifest)
    return manifest


def _output_shapes(
    model: nn.Module, layer_names: Sequence[str], image_size: int, device: torch.device
) -> dict[str, tuple[int, ...]]:
    """Per-image output shape of each layer, from one blank image."""
    with torch.inference_mode(), capture(model, list(layer_names)) as store:
        model(torch.zeros(1, 3, image_size, image_size, device=device))
        return {name: tuple(_captured(store, name).shape[1:]) for name in layer_names}


def _npy_writer(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> BinaryIO:
    """Open ``path`` and write the header of a C-order ``.npy`` array; values follow."""
    handle = open(path, "wb")  # noqa: SIM115 - closed by the caller
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False}
    np.lib.format.write_array_header_2_0(handle, {**header, "shape": shape})
    return handle


def _stream_to_shards(
    model: nn.Module,
    images: ImageSet,
    tmp_paths: Mapping[str, Path],
    shapes: Mapping[str, tuple[int, ...]],
    *,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int,
    device: torch.device,
    dtype: str,
    image_size: int,
    log: Callable[[str], None] | None,
) -> np.ndarray:
    """Forward ``images`` batch by batch, appending each layer's values to its ``.npy`` file.

    Returns the predictions ``(N,)`` (argmax of the logits), and per layer the number of
    images with a non-finite stored value and how many of them only overflow the
    storage dtype (both dicts hold the affected layers only). Once a non-finite value
    is seen, nothing more is written (the shards will not be kept) but every batch is
    still run, to count. The files are closed before returning, so they can be renamed.
    """
    from cnntopo.nets.transforms import to_model_input

    n = len(images)
    n_batches = -(-n // batch_size)
    predictions = np.empty(n, dtype=np.int64)
    nonfinite: dict[str, int] = {}
    overflow: dict[str, int] = {}
    np_dtype = np.dtype(dtype)
    start_time = time.perf_counter()
    with contextlib.ExitStack() as files:
        writers = {
            name: files.enter_context(_npy_writer(tmp, (n, *shapes[name]), np_dtype))
            for name, tmp in tmp_paths.items()
        }
        with torch.inference_mode(), capture(model, list(tmp_paths), clone=True) as store:
            for index, start in enumerate(range(0, n, batch_size)):
                stop = min(start + batch_size, n)
                x = to_model_input(
                    images.images[start:stop], mean, std, size=image_size, device=device
                )
                predictions[start:stop] = model(x).argmax(dim=1).cpu().numpy()
                for name, handle in writers.items():
                    batch = _captured(store, name)
                    if batch.shape[1:] != shapes[name]:
                        raise RuntimeError(
                            f"layer {name!r} gave shape {batch.shape[1:]}, expected "
                            f"{shapes[name]}: its output size depends on the batch"
                        )
                    with np.errstate(over="ignore"):  # float16 overflow: counted below
                        stored = np.ascontiguousarray(batch, dtype=np_dtype)
                    bad = ~np.isfinite(stored.reshape(len(stored), -1)).all(axis=1)  # (B,)
                    if bad.any():
                        nonfinite[name] = nonfinite.get(name, 0) + int(bad.sum())
                        finite32 = np.isfinite(batch[bad].reshape(int(bad.sum()), -1)).all(axis=1)
                        if finite32.any():
                            overflow[name] = overflow.get(name, 0) + int(finite32.sum())
                    if not nonfinite:
                        stored.tofile(handle)
                store.clear()
                if log is not None:
                    elapsed = time.perf_counter() - start_time
                    log(f"batch {index + 1}/{n_batches} ({stop}/{n} images) {elapsed:.1f}s")
    order = {name: i for i, name in enumerate(tmp_paths)}
    nonfinite = dict(sorted(nonfinite.items(), key=lambda item: order[item[0]]))
    return predictions, nonfinite, overflow


def _nonfinite_error(
    counts: Mapping[str, int],
    overflow: Mapping[str, int],
    n: int,
    dtype: str,
    extra: Mapping[str, Any],
) -> NonFiniteActivationsError:
    """The error of :func:`extract_activations` for NaN / inf activations."""
    model = ", ".join(f"{key} {extra[key]}" for key in ("seed", "weights") if key in extra)
    layers = "; ".join(
        f"{name}: {k} of {n} images"
        + (f" ({overflow[name]} only beyond float16's range)" if name in overflow else "")
        for name, k in counts.items()
    )
    first = next(iter(counts))
    hint = (
        "the activations are finite in float32 but exceed float16's range (+-65504): set "
        "activations.dtype: float32"
        if sum(overflow.values()) == sum(counts.values())
        else "the network's forward gives NaN / inf on these images: check the weights "
        "(their training log: did the loss diverge?) and the model's forward"
    )
    return NonFiniteActivationsError(
        f"non-finite activations (NaN or inf) of the model ({model or 'no seed given'}) in "
        f"{len(counts)} layer(s), first {first!r}: {layers}; {hint}. No shard was written",
        counts,
        overflow,
    )


def _captured(store: Mapping[str, torch.Tensor], name: str) -> np.ndarray:
    """The captured batch of ``name`` as a float32 CPU array ``(B, *layer shape)``."""
    if name not in store:
        raise RuntimeError(f"layer {name!r} produced no output in the forward pass")
    return store[name].to("cpu", torch.float32).numpy()


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Any]:
    """Read ``<out_dir>/manifest.json``.

    Raises
    ------
    FileNotFoundError
        No manifest: the extraction was not run or did not finish.
    """
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"no {MANIFEST} in {out_dir}: activations were not extracted there, or the "
            "extraction did not finish"
        )
    return read_json(path)


def load_activations(out_dir: str | os.PathLike, layer: str, mmap: bool = True) -> np.ndarray:
    """Load one layer's activations, shape ``(N, c, h, w)``.

    Parameters
    ----------
    out_dir : path-like
        Directory written by :func:`extract_activations`.
    layer : str
        Layer name listed in the manifest.
    mmap : bool, default True
        Memory-map the file read-only instead of reading it into memory.

    Returns
    -------
    numpy.ndarray
        ``np.memmap`` (read-only) when ``mmap`` is true.

    Raises
    ------
    FileNotFoundError
        No manifest, or the shard file is missing
        (:class:`cnntopo.artifacts.MissingArtifactError`).
    cnntopo.artifacts.CorruptArtifactError
        The shard is truncated or not an ``.npy`` file (a ValueError).
    KeyError
        ``layer`` is not in the manifest.
    """
    manifest = read_manifest(out_dir)
    entries = {entry["name"]: entry for entry in manifest["layers"]}
    if layer not in entries:
        raise KeyError(
            f"layer {layer!r} not in {out_dir}/{MANIFEST}; available: {', '.join(entries)}"
        )
    return read_array(Path(out_dir) / entries[layer]["file"], mmap=mmap)
