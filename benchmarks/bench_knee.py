"""Benchmark the knee rule's nearest-neighbour search: exact vs approximate, in one run.

``cnntopo.mapper.graph.knee_eps(X, method="exact")`` (scikit-learn, the official
``elbow_eps``) against ``method="approx"`` (pynndescent NN-descent, 30 neighbours, one
thread, seeded) on the same cloud. Each method runs in its own subprocess on the same
saved cloud, so its peak resident memory is its own: the table gives the time (and in
units of the yardstick), the ratio approx / exact, the peak RSS above the loaded cloud, the eps of each and the relative eps error
``|approx - exact| / exact``, plus the recall (share of points whose approximate 1-NN
distance is the exact one). numba compiles pynndescent on first use; a warm-up call on a
tiny cloud runs first in each subprocess and its time is printed apart (a fresh job pays
it once: about 35 CPU seconds for the approximate search). The yardstick of the machine, measured in the same run: ``ripser`` on a
1000 x 256 Gaussian cloud, maxdim 1.

Clouds (float32, as CNN activations): ``latent`` = ``benchmarks/_clouds.activation_like``
(``relu(Z W + b)`` with a ``--latent``-dimensional Z, plus 0.05 noise; low intrinsic
dimension, like real activations), ``classes`` = ``bench_mapper.activation_cloud`` (10
class centres plus unit Gaussian noise in every dimension: full intrinsic dimension, the
hard case for an approximate index).

Usage::

    .venv/bin/python benchmarks/bench_knee.py [--n 50000] [--dim 512] [--cloud latent]
        [--latent 32] [--threads 2] [--seed 0] [--paper] [--no-exact]

``--paper`` is the paper's largest cloud, 800,000 x 512 (the exact search takes about
an hour on 2 cores; ``--no-exact`` times the approximate one alone). Never assert
timings in tests; this script only prints them.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def make_cloud(kind: str, n: int, dim: int, latent: int, seed: int) -> np.ndarray:
    """The benchmark cloud, shape (n, dim), float32."""
    sys.path.insert(0, str(HERE))
    if kind == "latent":
        from _clouds import activation_like

        return activation_like(n, dim, latent, seed)
    from bench_mapper import activation_cloud

    return activation_cloud(n, dim, np.random.default_rng(seed))[0]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(args) -> None:
    """One method on one cloud, in this process: prints a JSON line."""
    from cnntopo.mapper import graph

    X = np.load(args.cloud_file)
    out = {}
    # Warm-up on a tiny cloud: imports, and numba's compilation of pynndescent.
    t = time.perf_counter()
    graph.knee_eps(make_cloud("latent", 500, 16, 4, 1), method=args.worker)
    out["warmup_s"] = time.perf_counter() - t
    base = _rss_mb()
    t = time.perf_counter()
    X = graph._checked_knee_points(X)
    d = graph._nn_distances(X, args.worker, args.seed, args.threads)
    eps, source = graph._knee_of(d)
    out.update(seconds=time.perf_counter() - t, eps=eps, source=source)
    out["peak_mb"] = _rss_mb() - base
    np.save(args.dist_out, d)
    print(json.dumps(out))


def yardstick(repeats: int = 3) -> float:
    """Median seconds of ``ripser`` on a 1000 x 256 Gaussian cloud, maxdim 1."""
    import ripser

    X = np.random.default_rng(0).normal(size=(1000, 256))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        ripser.ripser(X, maxdim=1)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50000, help="points")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--cloud", choices=["latent", "classes"], default="latent")
    ap.add_argument("--latent", type=int, default=32, help="latent dimension (latent cloud)")
    ap.add_argument("--threads", type=int, default=2, help="exact search n_jobs")
    ap.add_argument("--seed", type=int, default=0, help="cloud seed and the index's seed")
    ap.add_argument("--paper", action="store_true", help="800,000 x 512")
    ap.add_argument("--no-exact", action="store_true", help="time the approximate search only")
    ap.add_argument("--worker", choices=["exact", "approx"], help=argparse.SUPPRESS)
    ap.add_argument("--dist-out", help=argparse.SUPPRESS)
    ap.add_argument("--cloud-file", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.paper:
        args.n, args.dim = 800_000, 512
    if args.worker:
        worker(args)
        return

    import tempfile

    ruler = yardstick()
    print(f"yardstick: ripser 1000 x 256 Gaussian, maxdim 1: {ruler:.2f} s")
    print(f"cloud: {args.cloud}, {args.n:,} x {args.dim}, seed {args.seed}")
    methods = ["approx"] if args.no_exact else ["exact", "approx"]
    res, dist = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        cloud_file = Path(tmp) / "cloud.npy"
        np.save(cloud_file, make_cloud(args.cloud, args.n, args.dim, args.latent, args.seed))
        for m in methods:
            path = Path(tmp) / f"{m}.npy"
            cmd = [sys.executable, __file__, "--worker", m, "--dist-out", str(path)]
            cmd += ["--cloud-file", str(cloud_file), "--threads", str(args.threads)]
            cmd += ["--seed", str(args.seed)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            res[m] = json.loads(proc.stdout.strip().splitlines()[-1])
            dist[m] = np.load(path)
    print(f"{'method':<8}{'seconds':>10}{'x ripser':>10}{'peak MB':>10}{'eps':>10}  source")
    for m in methods:
        r = res[m]
        print(
            f"{m:<8}{r['seconds']:>10.1f}{r['seconds'] / ruler:>10.1f}{r['peak_mb']:>10.0f}"
            f"{r['eps']:>10.3f}  {r['source']}"
        )
    warm = ", ".join(f"{m} {res[m]['warmup_s']:.1f} s" for m in methods)
    print(f"warm-up (imports; numba compiling pynndescent for approx): {warm}")
    if not args.no_exact:
        e, a = res["exact"], res["approx"]
        recall = float(np.mean(np.isclose(dist["approx"], dist["exact"], rtol=1e-5, atol=1e-6)))
        print(f"time approx / exact: {a['seconds'] / e['seconds']:.3f}")
        print(f"relative eps error: {abs(a['eps'] - e['eps']) / e['eps']:.2e}")
        print(f"1-NN recall: {recall:.4f}")


if __name__ == "__main__":
    main()
