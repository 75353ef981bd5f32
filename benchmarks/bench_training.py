"""Where a CPU training step of the demo networks spends its time, and what makes it faster.

For each network of the default run (the PH network ``resnet18_cifar`` and the Mapper
network ``resnet18_mapper``, both at the demo's width 16, batch 256, 32 x 32 inputs)
and each variant (``contiguous``: NCHW tensors; ``channels_last``: NHWC; optionally
``compile``: ``torch.compile`` of the channels_last model), the script times ``--steps``
SGD steps of the real training loop pieces (:func:`cnntopo.nets.transforms.prepare`,
:class:`~cnntopo.nets.transforms.Augment`, :func:`~cnntopo.nets.transforms.normalize`,
forward, backward, optimizer step) on Fashion-MNIST images (offline Debian package; a
seeded random uint8 batch when it is absent), interleaving the variants ``--repeats``
times so machine noise hits them alike. It prints the milliseconds per step of each
part, the variant's speed-up over ``contiguous`` measured in the same run, and the
machine's yardstick (``ripser`` on a 1000 x 256 Gaussian cloud, maxdim 1).

Run: ``.venv/bin/python benchmarks/bench_training.py [--threads 2] [--compile]``.
To see how a CPU without AVX-512 fares, run it again with
``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`` in the environment (PyTorch's
and oneDNN's kernels are then limited to AVX2).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from bench_knee import yardstick  # the shared yardstick (benchmarks/ is on sys.path)

from cnntopo.nets.models import init_model
from cnntopo.nets.transforms import Augment, normalization, normalize, prepare

PARTS = ("data", "forward", "backward", "optimizer")


def training_images(n: int = 4096) -> tuple[torch.Tensor, torch.Tensor, str]:
    """uint8 ``(n, H, W, C)`` images and int64 labels: Fashion-MNIST, else random."""
    try:
        from cnntopo.nets.datasets import load_dataset

        ds = load_dataset("fashion-mnist", "train")
        return (
            torch.from_numpy(np.ascontiguousarray(ds.images[:n])),
            torch.from_numpy(ds.labels[:n].astype(np.int64)),
            "fashion-mnist",
        )
    except (FileNotFoundError, OSError, ValueError):
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8)
        return torch.from_numpy(images), torch.from_numpy(rng.integers(0, 10, n)), "random"


class Variant:
    """One network in one memory format (optionally compiled), with its optimizer."""

    def __init__(self, arch: str, width: int, fmt: str, seed: int = 0) -> None:
        self.fmt = fmt
        self.memory_format = torch.contiguous_format if fmt == "contiguous" else torch.channels_last
        model = init_model(arch, width=width, num_classes=10, seed=seed)
        model.to(memory_format=self.memory_format).train()
        self.model = torch.compile(model) if fmt == "compile" else model
        self.optimizer = torch.optim.SGD(
            model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4
        )
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.times: dict[str, list[float]] = {p: [] for p in PARTS}

    def step(self, images, labels, idx, augment, mean, std, generator, record: bool) -> None:
        t0 = time.perf_counter()
        x = normalize(augment(prepare(images[idx], 32), generator), mean, std)
        x = x.contiguous(memory_format=self.memory_format)
        t1 = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(x), labels[idx])
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        self.optimizer.step()
        t4 = time.perf_counter()
        if record:
            for part, dt in zip(PARTS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                self.times[part].append(dt)

    def ms(self) -> dict[str, float]:
        return {p: 1000 * statistics.median(v) for p, v in self.times.items()}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6, help="timed steps per variant and repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    ap.add_argument(
        "--archs", nargs="+", default=["resnet18_cifar", "resnet18_mapper"], help="networks"
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"yardstick: ripser 1000 x 256 Gaussian, maxdim 1: {yardstick():.2f} s")
    print(
        f"torch {torch.__version__}, {args.threads} threads, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}"
    )
    images, labels, source = training_images()
    mean, std = (torch.tensor(v) for v in normalization("fashion-mnist"))
    augment = Augment(True, 2, 8, tuple(float(int(255 * m) / 255) for m in mean))
    fmts = ["contiguous", "channels_last"] + (["compile"] if args.compile else [])
    print(f"images: {source}, batch {args.batch_size}, width {args.width}")
    for arch in args.archs:
        variants = {}
        for fmt in fmts:
            t = time.perf_counter()
            variants[fmt] = Variant(arch, args.width, fmt)
            g = torch.Generator().manual_seed(0)
            for _ in range(2):  # warm-up (and compilation)
                idx = torch.randint(0, len(images), (args.batch_size,), generator=g)
                variants[fmt].step(images, labels, idx, augment, mean, std, g, record=False)
            if fmt == "compile":
                print(f"{arch}: compile + 2 warm-up steps took {time.perf_counter() - t:.1f} s")
        g = torch.Generator().manual_seed(1)
        for _ in range(args.repeats):
            for fmt in fmts:
                for _ in range(args.steps):
                    idx = torch.randint(0, len(images), (args.batch_size,), generator=g)
                    variants[fmt].step(images, labels, idx, augment, mean, std, g, record=True)
        base = sum(variants["contiguous"].ms().values())
        print(f"\n{arch} (median ms per step)")
        print(f"| variant | {' | '.join(PARTS)} | step | speed-up |")
        print("|---|" + "---|" * (len(PARTS) + 2))
        for fmt, v in variants.items():
            ms = v.ms()
            total = sum(ms.values())
            cells = " | ".join(f"{ms[p]:.1f}" for p in PARTS)
            print(f"| {fmt} | {cells} | {total:.1f} | {base / total:.2f}x |")


if __name__ == "__main__":
    main()
