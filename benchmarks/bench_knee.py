"""Benchmark the knee rule's nearest-neighbour search: exact vs approximate, on clustered ReLU clouds.

``cnntopo.mapper.graph.knee_eps(X, method="exact")`` (scikit-learn, the official
``elbow_eps``) against ``method="approx"`` (``knn_method: auto`` above
``knn_approx_above`` points: the exact tail of the sorted 1-NN curve, found through
bucketed upper bounds, plus a seeded sample of ``APPROX_SAMPLE`` points for its bulk;
docs/methods.md §12) on the same clouds. Clouds: ``benchmarks/_clouds.clustered_relu``
(12 ReLU'd clusters of Dirichlet(0.5) sizes and log-uniform scales 0.2-2, float32), one
per (points, dimension, seed). Per cloud and method the table gives eps, the relative
error ``|approx - exact| / exact``, the seconds (a warm-up on a tiny cloud runs first,
so imports are not counted; nothing is compiled), the ratio exact / approx, and for
``approx`` the exact searches it made and whether Kneedle read only the exact tail
(``certified``). ``--naive`` adds the plain estimate the method replaces: Kneedle on the
exact 1-NN distances of a uniform sample of 2,000-50,000 points (mean and worst error over
10 sample seeds). ``--no-exact`` times ``approx`` alone, at ``--samples`` sizes of its
bulk sample, for clouds too large for the exact search. The machine's yardstick, in the
same run: ``ripser`` on a 1000 x 256 Gaussian cloud, maxdim 1, coeff 2.

Usage::

    .venv/bin/python benchmarks/bench_knee.py [--n 50000 ...] [--dim 128 ...]
        [--seeds 0 1 2] [--threads 2] [--naive] [--no-exact] [--samples 5000 20000]

Never assert timings in tests; this script only prints them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "workflow"))


def yardstick(repeats: int = 3) -> float:
    """Median seconds of ``ripser`` on a 1000 x 256 Gaussian cloud, maxdim 1, coeff 2."""
    import ripser

    X = np.random.default_rng(0).normal(size=(1000, 256))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        ripser.ripser(X, maxdim=1, coeff=2, thresh=np.inf)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def naive_errors(d: np.ndarray, exact: float, sizes=(2000, 5000, 10000, 20000, 50000)):
    """Relative errors of Kneedle on uniform samples of the exact 1-NN distances ``d``."""
    from cnntopo.mapper.graph import _knee_of

    out = {}
    for s in sizes:
        if s >= d.size:
            continue
        errs = [
            _knee_of(d[np.random.default_rng(q).choice(d.size, s, replace=False)])[0] / exact - 1
            for q in range(10)
        ]
        out[s] = (float(np.mean(errs)), float(np.max(np.abs(errs))))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[50000], help="points")
    ap.add_argument("--dim", type=int, nargs="+", default=[128])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="cloud seeds")
    ap.add_argument("--threads", type=int, default=2, help="n_jobs of the exact searches")
    ap.add_argument("--naive", action="store_true", help="errors of plain uniform samples")
    ap.add_argument("--no-exact", action="store_true", help="approx only (large clouds)")
    ap.add_argument("--samples", type=int, nargs="+", help="APPROX_SAMPLE values (approx)")
    args = ap.parse_args(argv)

    from _clouds import clustered_relu

    from cnntopo.mapper import graph

    graph.knee_eps(clustered_relu(500, 16, 1), method="exact")  # warm-up: imports
    print(f"yardstick: ripser 1000 x 256 Gaussian, maxdim 1: {yardstick():.2f} s", flush=True)
    samples = args.samples or [graph.APPROX_SAMPLE]
    head = f"{'cloud':<18}{'method':<14}{'eps':>9}{'rel err':>10}{'seconds':>9}{'speedup':>9}"
    print(head + f"{'resolved':>10}  certified", flush=True)
    for n in args.n:
        for dim in args.dim:
            for seed in args.seeds:
                X = clustered_relu(n, dim, seed)
                name = f"{n}x{dim} s{seed}"
                exact = t_exact = None
                if not args.no_exact:
                    t = time.perf_counter()
                    d = graph._nn_distances(X, "exact", 0, args.threads)
                    exact, t_exact = graph._knee_of(d)[0], time.perf_counter() - t
                    print(
                        f"{name:<18}{'exact':<14}{exact:>9.3f}{'':>10}{t_exact:>9.1f}", flush=True
                    )
                for s in samples:
                    graph.APPROX_SAMPLE = s
                    t = time.perf_counter()
                    curve, info = graph._approx_nn_curve(X, 0, args.threads)
                    eps, secs = graph._knee_of(curve)[0], time.perf_counter() - t
                    err = f"{abs(eps - exact) / exact:>10.2e}" if exact else f"{'-':>10}"
                    speed = f"{t_exact / secs:>9.1f}" if exact else f"{'-':>9}"
                    print(
                        f"{name:<18}{'approx ' + str(s):<14}{eps:>9.3f}{err}{secs:>9.1f}{speed}"
                        f"{info['resolved']:>10}  {info['certified']}",
                        flush=True,
                    )
                if args.naive and exact:
                    for s, (mean, worst) in naive_errors(d, exact).items():
                        print(f"{name:<18}naive {s:<8} mean error {mean:+.3f}, worst {worst:.3f}")


if __name__ == "__main__":
    main()
