"""Peak memory and time of a similarity_cross job, whole vs blocked over models.

``similarity_cross`` (docs/performance.md §6) runs the Gram-form measures over blocks of
models that fit in the job's memory (``cnntopo.stages.ph.similarity.seed_blocks``,
``cnntopo.ph.similarity.blocked_matrix_from_grams``). This script writes the ``flat``
representation files of ``--seeds`` synthetic models of ``--layers`` layers (N =
``--n`` images, activations of shape (N, 8, 4, 4)) with the workflow's own
``similarity_representations``, then runs ``similarity_cross`` on them in a fresh
process for each setting: as before blocking (every Gram matrix and its prepared form
in memory), as one block (no memory bound) and in blocks of ``--mem-mb``, and prints each run's peak resident memory (``ru_maxrss``) and seconds.
The Gram matrices in memory scale with the models per block, so the whole run's peak
extrapolates to the paper's 100 models x 17 layers as ``100/S`` times its Gram part.

The yardstick is timed in the same run (ripser on a 1000 x 256 Gaussian cloud, maxdim
1: 0.83 s on the 2-core build machine).

Usage::

    .venv/bin/python benchmarks/bench_similarity_blocks.py [--seeds 6] [--layers 17]
        [--n 1000] [--mem-mb 1500] [--measures cka_linear procrustes]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(folder: Path, n_seeds: int, layers: list[str], measures: list[str], mem_mb) -> None:
    """One similarity_cross job (in this process); prints JSON with peak RSS and seconds.

    ``mem_mb == "memory"``: the route before blocking, every Gram matrix and its
    prepared form in memory at once (``measure_matrix_from_grams`` on all of them).
    """
    import numpy as np

    from cnntopo.ph.similarity import measure_matrix_from_grams
    from cnntopo.stages.ph.similarity import layer_gram, load_representation, similarity_cross

    reps = [folder / f"rep{s}.npz" for s in range(n_seeds)]
    specs = [{"label": m, "name": m, "params": {}} for m in measures]
    outs = [folder / f"cross_{m}_{mem_mb}.npz" for m in measures]
    t0 = time.perf_counter()
    if mem_mb == "memory":
        grams = [layer_gram(r) for f in reps for r in load_representation(f)]
        for m, out in zip(measures, outs, strict=True):
            np.savez(out, matrix=measure_matrix_from_grams(m, grams))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"peak_mb": peak, "seconds": time.perf_counter() - t0}))
        return
    similarity_cross(
        reps,
        outs,
        seeds=list(range(n_seeds)),
        layers=layers,
        representation="flat",
        measures=specs,
        mem_mb=mem_mb,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MB (Linux)
    print(json.dumps({"peak_mb": peak, "seconds": time.perf_counter() - t0}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--layers", type=int, default=17)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--mem-mb", type=int, default=1500)
    parser.add_argument("--measures", nargs="+", default=["cka_linear", "procrustes"])
    parser.add_argument("--run", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    layers = [f"layer{i}" for i in range(args.layers)]
    if args.run is not None:
        modes = {"whole": None, "memory": "memory"}
        mem = modes[args.run] if args.run in modes else int(args.run)
        _run(Path(args.folder), args.seeds, layers, args.measures, mem)
        return

    import numpy as np
    from bench_knee import yardstick

    from cnntopo.stages.ph.similarity import similarity_representations

    ys = yardstick()
    print(f"yardstick (ripser 1000x256 Gaussian, maxdim 1): {ys:.2f} s")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for s in range(args.seeds):
            shards = []
            for i in range(args.layers):
                shards.append(folder / f"s{s}_{i}.npy")
                np.save(shards[-1], rng.normal(size=(args.n, 8, 4, 4)).astype(np.float32))
            similarity_representations(
                shards, [folder / f"rep{s}.npz"], seed=s, layers=layers, representations=["flat"]
            )
            for f in shards:
                f.unlink()
        grams_mb = args.seeds * args.layers * args.n**2 * 8 / 2**20
        print(
            f"{args.seeds} models x {args.layers} layers, N = {args.n}: "
            f"{grams_mb:.0f} MB of Gram matrices; measures {', '.join(args.measures)}"
        )
        results = {}
        labels = {"memory": "all in memory", "whole": "one block", "None": "one block"}
        for run in ("memory", "whole", str(args.mem_mb)):
            cmd = [sys.executable, __file__, "--run", run, "--folder", tmp]
            cmd += ["--seeds", str(args.seeds), "--layers", str(args.layers), "--n", str(args.n)]
            cmd += ["--measures", *args.measures]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            results[run] = json.loads(out.stdout.strip().splitlines()[-1])
            r = results[run]
            label = labels.get(run, f"mem_mb {run}")
            print(
                f"{label:>14}: peak {r['peak_mb']:.0f} MB, {r['seconds']:.1f} s "
                f"({r['seconds'] / ys:.0f} yardsticks)"
            )
        for k in ("None", args.mem_mb):
            a = np.load(folder / f"cross_{args.measures[-1]}_memory.npz")["matrix"]
            b = np.load(folder / f"cross_{args.measures[-1]}_{k}.npz")["matrix"]
            print(
                f"largest difference, all in memory vs {labels.get(str(k), k)}: {np.abs(a - b).max():.2e}"
            )


if __name__ == "__main__":
    main()
