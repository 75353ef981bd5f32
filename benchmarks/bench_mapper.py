"""Benchmark ``cnntopo.mapper.graph.mapper_graph`` against KeplerMapper 2.1.0, in one run.

Both build the same graph: the same l2-norm lens (``cnntopo.mapper.graph.l2norm_lens``),
KeplerMapper's cover (``cover="kmapper"`` vs ``km.Cover(n_cubes, perc_overlap)``),
DBSCAN with the same ``eps`` and ``min_samples=5``, and the nerve with
``min_intersection=1``. The reference is ``km.KeplerMapper().map(lens, X, cover=...,
clusterer=sklearn.cluster.DBSCAN(eps, min_samples))``; cnntopo is timed with the
BLAS thread limit ``--threads`` (kmapper's scikit-learn neighbour search uses its
own OpenMP threads, i.e. all cores). "identical" means the same node ids with the
same member sets and the same edge dict.

Data: activation-like clouds, ``relu(s_i * (C[y_i] + noise))`` with 10 class centres
``C = relu(N(0, 1)) * 1.5`` in ``d`` dimensions, unit Gaussian noise and a
per-point scale ``s_i ~ U(0.6, 1.4)`` (spreads the l2 lens), float32, as CNN
activations are. ``eps`` is ``knee_eps`` of a random 5,000-point subsample
(``--eps`` overrides it); it is printed with the graph sizes.

Usage::

    .venv/bin/python benchmarks/bench_mapper.py [--quick] [--large] [--intervals 40]
        [--overlap 0.3] [--threads 2] [--eps EPS] [--seed 0]

``--quick`` runs 2,000 x 512 only; the default runs 5,000 x 512 and 50,000 x 512;
``--large`` adds 200,000 x 512 for cnntopo alone (kmapper would take minutes).
Never assert timings in tests; this script only prints them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cnntopo.mapper.graph import graph_stats, knee_eps, l2norm_lens, mapper_graph


def activation_cloud(n: int, d: int, rng: np.random.Generator, n_classes: int = 10):
    """Activation-like float32 cloud (n, d) and its class labels (n,)."""
    centres = np.maximum(rng.normal(size=(n_classes, d)), 0) * 1.5
    y = rng.integers(0, n_classes, n)
    X = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 20000):
        e = min(n, s + 20000)
        scale = rng.uniform(0.6, 1.4, size=(e - s, 1))
        X[s:e] = np.maximum(scale * (centres[y[s:e]] + rng.normal(size=(e - s, d))), 0)
    return X, y


def run_kmapper(X, lens, n_intervals, overlap, eps):
    import kmapper as km
    from sklearn.cluster import DBSCAN

    return km.KeplerMapper().map(
        lens[:, None],
        X,
        cover=km.Cover(n_cubes=n_intervals, perc_overlap=overlap),
        clusterer=DBSCAN(eps=eps, min_samples=5),
    )


def same_graph(ours: dict, theirs: dict) -> bool:
    a = {k: v["vertices"] for k, v in ours["nodes"].items()}
    b = {k: sorted(v) for k, v in theirs["nodes"].items()}
    return a == b and ours["edges"] == dict(theirs["links"])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2,000 x 512 only")
    ap.add_argument("--large", action="store_true", help="add 200,000 x 512 (cnntopo only)")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--intervals", type=int, default=40)
    ap.add_argument("--overlap", type=float, default=0.3, help="fraction, e.g. 0.3")
    ap.add_argument("--threads", type=int, default=2, help="cnntopo n_jobs (BLAS threads)")
    ap.add_argument("--eps", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    sizes = [(2000, True)] if args.quick else [(5000, True), (50000, True)]
    if args.large:
        sizes.append((200000, False))

    header = (
        f"{'points':>8} {'dim':>4} {'eps':>7} {'nodes':>6} {'edges':>6} {'largest cube':>12} "
        f"{'kmapper':>9} {'cnntopo':>9} {'cnntopo 1 thr':>13} {'ratio':>6} identical"
    )
    print(f"intervals={args.intervals} overlap={args.overlap} min_samples=5 cover=kmapper")
    print(header)
    print("-" * len(header))
    for n, with_ref in sizes:
        rng = np.random.default_rng(args.seed)
        X, y = activation_cloud(n, args.dim, rng)
        lens = l2norm_lens(X)
        sub = X[rng.choice(n, size=min(n, 5000), replace=False)]
        eps = args.eps if args.eps is not None else knee_eps(sub, n_jobs=args.threads)
        kw = dict(lens=lens, n_intervals=args.intervals, overlap=args.overlap, eps=eps)
        kw["cover"] = "kmapper"

        t = time.perf_counter()
        ours = mapper_graph(X, y, n_jobs=args.threads, **kw)
        t_ours = time.perf_counter() - t
        t_one = float("nan")
        if n <= 50000:
            t = time.perf_counter()
            mapper_graph(X, y, n_jobs=1, **kw)
            t_one = time.perf_counter() - t
        sl = np.sort(lens)
        largest = max(
            int(np.searchsorted(sl, hi, "right") - np.searchsorted(sl, lo, "left"))
            for lo, hi in ours["meta"]["intervals"]
        )
        if with_ref:
            t = time.perf_counter()
            theirs = run_kmapper(X, lens, args.intervals, args.overlap, eps)
            t_ref = time.perf_counter() - t
            ratio, ident = f"{t_ref / t_ours:5.2f}x", "yes" if same_graph(ours, theirs) else "NO"
            ref = f"{t_ref:8.2f}s"
        else:
            ratio, ident, ref = "", "-", f"{'-':>9}"
        s = graph_stats(ours)
        one = f"{t_one:12.2f}s" if t_one == t_one else f"{'-':>13}"
        print(
            f"{n:>8} {args.dim:>4} {eps:>7.3f} {s['n_nodes']:>6} {s['n_edges']:>6} "
            f"{largest:>12} {ref} {t_ours:8.2f}s {one} {ratio:>6} {ident}",
            flush=True,
        )


if __name__ == "__main__":
    main()
