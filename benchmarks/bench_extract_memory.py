"""Peak memory of an activation extraction of a big network (224 px ResNet-50).

Extracts the selected layers of torchvision's ResNet-50 (random weights: the memory does
not depend on them) for N random 224 x 224 images with
:func:`cnntopo.nets.activations.extract_activations`, then reads the largest shard back
as the top-l2 point cloud (:func:`cnntopo.ph.pointclouds.top_l2`, memory-mapped), and
prints the peak resident memory of the process (``ru_maxrss``) after each step, the
shard sizes on disk and the times. The shards are written to a temporary folder and
deleted at the end.

    .venv/bin/python benchmarks/bench_extract_memory.py --layers type:Conv2d --dtype float16
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def peak_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="torchvision:resnet50")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--layers", nargs="+", default=["type:Conv2d"])
    parser.add_argument("--dtype", default="float16", choices=["float32", "float16"])
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--max-batch-mb", type=float, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dir", default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()

    import torch

    from cnntopo.nets.activations import extract_activations, load_activations
    from cnntopo.nets.datasets import ImageSet
    from cnntopo.nets.layers import resolve_layers
    from cnntopo.nets.models import build_model
    from cnntopo.ph.pointclouds import top_l2

    torch.set_num_threads(args.threads)
    layers = resolve_layers(args.layers, args.arch, image_size=args.image_size, num_classes=1000)
    rng = np.random.default_rng(0)
    size = args.image_size
    images = ImageSet(
        rng.integers(0, 256, size=(args.images, size, size, 3), dtype=np.uint8),
        rng.integers(0, 1000, size=args.images),
        [str(i) for i in range(1000)],
        "random",
        "test",
    )
    model = build_model(args.arch, num_classes=1000)
    print(f"{args.arch}: {len(layers)} layers, {args.images} images of {size} px, {args.dtype}")
    print(f"peak RSS after building the model and the images: {peak_mb():.0f} MB")
    scratch = Path(tempfile.mkdtemp(dir=args.dir, prefix="cnntopo-extract-"))
    try:
        t0 = time.perf_counter()
        manifest = extract_activations(
            model,
            images,
            layers,
            scratch,
            mean=(0.485, 0.456, 0.406),
            std=(0.229, 0.224, 0.225),
            batch_size=args.batch_size,
            device="cpu",
            dtype=args.dtype,
            image_size=size,
            max_batch_mb=args.max_batch_mb,
            log=print,
        )
        seconds = time.perf_counter() - t0
        sizes = {p.stem: p.stat().st_size for p in scratch.glob("*.npy")}
        print(
            f"extraction: {seconds:.0f} s, batch size used {manifest['batch_size']}, "
            f"{sum(sizes.values()) / 2**30:.2f} GiB of shards ({len(sizes)} files), "
            f"peak RSS {peak_mb():.0f} MB"
        )
        largest = max(sizes, key=sizes.get)
        t0 = time.perf_counter()
        points, _ = top_l2(load_activations(scratch, largest))
        print(
            f"top-l2 cloud of the largest shard {largest} {manifest['layers'][layers.index(largest)]['shape']} "
            f"({sizes[largest] / 2**30:.2f} GiB): {points.shape}, "
            f"{time.perf_counter() - t0:.0f} s, peak RSS {peak_mb():.0f} MB"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
