"""Mapper clouds: one job per (cloud, layer) against one job per cloud, in the same run.

Before, the workflow ran one job per (cloud, layer): each started Python, imported
torch, loaded the network and the images, ran GrabCut on every image (foreground and
background clouds) and a forward pass, for one layer. Now one job per cloud builds all
its layers (``cnntopo.stages.mapper.clouds.mapper_clouds``): the network, the images
and the GrabCut masks are loaded or computed once. This script times both as whole
child processes, alternating, for one construction over the demo's six layers:

- ``per layer``: one process per layer, each calling ``mapper_clouds`` with that
  layer alone (what the old per-(cloud, layer) job did);
- ``per cloud``: one process calling it with all six layers.

The clouds are checked to be identical between the two. The network is a randomly
initialised option-B ResNet-18 (the timing does not depend on its training); the
images are the demo's (``mapper.images.per_class`` of Fashion-MNIST's training split,
or scikit-learn's digits with ``--dataset digits``). Wall and CPU (user + system)
seconds of the child processes, medians over the repeats, and a yardstick line
(``ripser`` on a 1000 x 256 Gaussian cloud, maxdim 1) that names the machine's speed.

Run: ``.venv/bin/python benchmarks/bench_mapper_clouds.py [--cloud fg1] [--width 8]
[--per-class 300] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_knee import yardstick  # the shared yardstick (benchmarks/ is on sys.path)

from cnntopo.nets.layers_option_b import FGBG_LAYERS

LAYERS = list(FGBG_LAYERS)  # the paper's six figure layers, as the demo
CONSTRUCTIONS = {
    "random": {"low": 1},
    "full": {"cap": 20000, "replace": True},
    "fg1": {"grabcut": "paper", "grabcut_iters": 5, "empty_mask": "random", "ties": "paper"},
}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def worker(args) -> None:
    """One job: the clouds of ``args.layers`` (comma-separated) into ``args.folder``."""
    from cnntopo.stages.mapper.clouds import mapper_clouds

    spec = json.loads(Path(args.folder, "spec.json").read_text())
    layers = args.layers.split(",")
    mapper_clouds(
        spec["cloud"],
        layers,
        Path(args.folder, "weights.pt"),
        Path(args.folder, "images.npz"),
        [Path(args.folder, f"{args.tag}_{layer}.npz") for layer in layers],
        dataset=spec["dataset"],
        split="train",
        batch_size=500,
        width=spec["width"],
        device="cpu",
        seed=0,
        construction=CONSTRUCTIONS[spec["cloud"]],
        threads=args.threads,
    )


def prepare(folder: Path, args) -> None:
    import torch

    from cnntopo.config import validate_config
    from cnntopo.nets.models import build_model
    from cnntopo.stages.mapper.clouds import select_mapper_images
    from cnntopo.stages.mapper.model import ARCH

    dataset = validate_config({"dataset": {"name": args.dataset}})["dataset"]
    select_mapper_images(
        folder / "images.npz", dataset=dataset, split="train", per_class=args.per_class, seed=0
    )
    torch.manual_seed(0)
    torch.save(build_model(ARCH, args.width, 10).state_dict(), folder / "weights.pt")
    spec = {"cloud": args.cloud, "width": args.width, "dataset": dataset}
    (folder / "spec.json").write_text(json.dumps(spec))


def _run(folder: Path, layers: list[str], tag: str, threads: int) -> tuple[float, float]:
    cmd = [sys.executable, __file__, "--worker", "--folder", str(folder)]
    cmd += ["--layers", ",".join(layers), "--tag", tag, "--threads", str(threads)]
    cpu0, t0 = _child_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, _child_cpu() - cpu0


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cloud", choices=sorted(CONSTRUCTIONS), default="fg1")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--width", type=int, default=8)
    p.add_argument("--per-class", type=int, default=300)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    p.add_argument("--layers", help=argparse.SUPPRESS)
    p.add_argument("--tag", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return

    print(f"yardstick: ripser 1000 x 256 Gaussian, maxdim 1: {yardstick():.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepare(folder, args)
        n = 10 * args.per_class
        print(
            f"{args.cloud} clouds of {len(LAYERS)} layers, {n} {args.dataset} images, width "
            f"{args.width}, {args.threads} threads, {args.repeats} repeats"
        )
        times = {"per layer": [], "per cloud": []}
        for _ in range(args.repeats):
            wall = cpu = 0.0
            for layer in LAYERS:
                w, c = _run(folder, [layer], "layer", args.threads)
                wall, cpu = wall + w, cpu + c
            times["per layer"].append((wall, cpu))
            times["per cloud"].append(_run(folder, LAYERS, "cloud", args.threads))
        for layer in LAYERS:
            with (
                np.load(folder / f"layer_{layer}.npz") as a,
                np.load(folder / f"cloud_{layer}.npz") as b,
            ):
                assert all(np.array_equal(a[k], b[k]) for k in a.files if k != "meta"), layer
        print("| jobs | processes | wall (median) | CPU (median) |")
        print("|---|---|---|---|")
        for name, runs in times.items():
            walls, cpus = zip(*runs, strict=True)
            k = len(LAYERS) if name == "per layer" else 1
            print(
                f"| {name} | {k} | {statistics.median(walls):.1f} s | {statistics.median(cpus):.1f} s |"
            )
        before = statistics.median(w for w, _ in times["per layer"])
        after = statistics.median(w for w, _ in times["per cloud"])
        print(
            f"per cloud / per layer wall: {after / before:.2f} ({before / after:.1f}x faster); "
            "clouds identical"
        )


if __name__ == "__main__":
    main()
