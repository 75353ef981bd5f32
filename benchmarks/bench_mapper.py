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
        [--overlap 0.3] [--threads 2] [--eps EPS] [--seed 0] [--device cpu]
    .venv/bin/python benchmarks/bench_mapper.py --paper-scale [--check-intervals 2]
        [--check-max-points 30000] [--check-subsample 50000] [--check-subsample-eps 20]
        [--skip-graph] [--no-knee]
    .venv/bin/python benchmarks/bench_mapper.py --explorer

``--quick`` runs 2,000 x 512 only; the default runs 5,000 x 512 and 50,000 x 512;
``--large`` adds 200,000 x 512 (KeplerMapper too, in the same run; minutes).

``--paper-scale`` is the paper's full cloud, 800,000 x 512 (``--points`` overrides it),
cnntopo alone with the paper's cover (40 intervals, 30 % overlap, l2-norm lens, eps from
the knee rule on a 5,000-point subsample): the graph is built in a subprocess that
reports its wall and CPU time and peak resident memory (the cloud included; skipped with
``--skip-graph``). Then ``dbscan_labels`` is compared with scikit-learn's DBSCAN
(:func:`sklearn_dbscan`: on scikit-learn's radius-neighbour graph built in chunks, which
bounds its memory) on the ``--check-intervals`` largest intervals of at most
``--check-max-points`` points, with the graph's eps (mapper_graph's nodes in an interval
are these labels), and on a random ``--check-subsample``-point subsample with
``--check-subsample-eps`` (with the graph's eps a point of it has ~13,000 neighbours,
too many for scikit-learn's memory); last, unless ``--no-knee``, the knee rule's
approximate search is timed on the whole cloud (``bench_knee.py --no-exact --cloud
classes``: the same cloud). The machine's yardstick (``ripser`` on a 1000 x 256
Gaussian cloud, maxdim 1) is measured in the same run.

``--explorer`` measures the explorer page of one paper-scale cloud: 7 layers' graphs of
800,000 points (40 intervals x 5 clusters, 30 % overlap, random members) with 50,000
32 x 32 thumbnails of random pixels (which compress worst), written with node details
in side files as the workflow does; it prints the page's size, the side files' and the
time headless Chromium takes to render the page (``--dump-dom``, ``data-rendered``
checked) against the same for a minimal page in the same run (the browser's start-up).
Never assert timings in tests; this script only prints them.
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

import numpy as np

from cnntopo.mapper.graph import graph_stats, knee_eps, l2norm_lens, mapper_graph

HERE = Path(__file__).resolve().parent


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


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cloud_and_eps(n: int, dim: int, seed: int, eps: float | None, threads: int):
    """The benchmark cloud, its labels and eps (knee rule on a 5,000-point subsample)."""
    rng = np.random.default_rng(seed)
    X, y = activation_cloud(n, dim, rng)
    sub = X[rng.choice(n, size=min(n, 5000), replace=False)]
    return X, y, (eps if eps is not None else knee_eps(sub, n_jobs=threads))


def paper_worker(args) -> None:
    """Build the paper-scale graph in this process; print time and peak RSS as JSON."""
    X, y, eps = _cloud_and_eps(args.points, args.dim, args.seed, args.eps, args.threads)
    base = _rss_mb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    t = time.perf_counter()
    graph = mapper_graph(
        X,
        y,
        n_intervals=args.intervals,
        overlap=args.overlap,
        eps=eps,
        cover="paper",
        n_jobs=args.threads,
        device=None if args.device == "cpu" else args.device,
    )
    seconds = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_SELF)
    Path(args.graph_out).write_text(json.dumps(graph))
    out = {"seconds": seconds, "eps": eps, "cloud_mb": base, "peak_mb": _rss_mb()}
    out["cpu_seconds"] = usage.ru_utime + usage.ru_stime - cpu0
    print(json.dumps({**out, **graph_stats(graph)}))


def sklearn_dbscan(X: np.ndarray, eps: float, min_samples: int = 5, chunk: int = 2048):
    """``sklearn.cluster.DBSCAN(eps, min_samples)`` labels with bounded memory.

    ``DBSCAN(eps).fit_predict(X)`` holds every neighbour list at once (about 17 GB for
    40,000 x 512 points with 4,000 neighbours each); the same algorithm on scikit-learn's
    radius-neighbour graph, built in chunks of queries (the same brute-force distances),
    needs about 12 bytes per neighbour pair.
    """
    from scipy import sparse
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(radius=eps, algorithm="brute").fit(X)
    parts = [
        nn.radius_neighbors_graph(X[s : s + chunk], mode="distance")
        for s in range(0, len(X), chunk)
    ]
    graph = sparse.vstack(parts).tocsr()
    del parts
    return DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(graph)


def paper_scale(args) -> None:
    """The paper's 800,000 x 512 cloud: time, peak memory, identity checks, knee search."""
    from bench_knee import main as bench_knee_main
    from bench_knee import yardstick

    from cnntopo.mapper.dbscan import dbscan_labels
    from cnntopo.mapper.graph import _interval_members, cover_intervals

    print(f"yardstick: ripser 1000 x 256 Gaussian, maxdim 1: {yardstick():.2f} s", flush=True)
    eps = args.eps
    if not args.skip_graph:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "graph.json"
            cmd = [sys.executable, __file__, "--paper-worker", "--graph-out", str(out)]
            for flag in ("points", "dim", "intervals", "overlap", "threads", "seed", "device"):
                cmd += [f"--{flag}", str(getattr(args, flag))]
            if args.eps is not None:
                cmd += ["--eps", str(args.eps)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            res = json.loads(proc.stdout.strip().splitlines()[-1])
        eps = res["eps"]
        print(
            f"cnntopo mapper_graph {args.points:,} x {args.dim}, {args.intervals} intervals, "
            f"{args.overlap:.0%} overlap, eps {eps:.3f} (knee of a 5,000-point subsample), "
            f"{args.threads} threads, device {args.device}: {res['seconds']:.1f} s "
            f"(CPU {res['cpu_seconds']:.1f} s), peak RSS {res['peak_mb'] / 1024:.2f} GiB "
            f"({res['cloud_mb'] / 1024:.2f} GiB with the cloud and labels only); "
            f"{res['n_nodes']} nodes, {res['n_edges']} edges",
            flush=True,
        )
    X, _, eps = _cloud_and_eps(args.points, args.dim, args.seed, eps, args.threads)
    # The graph's nodes in an interval are dbscan_labels of its points (mapper_graph).
    intervals = cover_intervals(l2norm_lens(X), args.intervals, args.overlap, "paper")
    members = _interval_members(l2norm_lens(X), intervals)
    fit = [k for k in range(len(members)) if members[k].size <= args.check_max_points]
    checks = [(f"interval {k}", X[members[k]], eps) for k in fit]
    checks = sorted(checks, key=lambda c: -len(c[1]))[: args.check_intervals]
    if args.check_subsample:
        rows = np.random.default_rng(args.seed + 1).choice(len(X), args.check_subsample, False)
        checks.append(("random subsample", X[np.sort(rows)], args.check_subsample_eps))
    for name, P, e in checks:
        t = time.perf_counter()
        theirs = sklearn_dbscan(P, e)
        t_ref = time.perf_counter() - t
        t = time.perf_counter()
        ours = dbscan_labels(P, e, 5, n_jobs=args.threads)
        t_ours = time.perf_counter() - t
        print(
            f"{name} ({len(P):,} points, eps {e}): sklearn {t_ref:.1f} s, cnntopo {t_ours:.1f} s;"
            f" {ours.max() + 1} clusters, {np.sum(ours < 0)} noise; labels identical: "
            f"{'yes' if np.array_equal(ours, theirs) else 'NO'}",
            flush=True,
        )
    if not args.no_knee:
        del X, checks
        print("knee rule, approximate search on the whole cloud (bench_knee.py):", flush=True)
        knee_args = ["--n", str(args.points), "--dim", str(args.dim), "--cloud", "classes"]
        bench_knee_main([*knee_args, "--seed", str(args.seed), "--no-exact"])


def _synthetic_graph(n: int, n_intervals: int, clusters: int, rng) -> dict:
    """A Mapper-like graph of ``n`` points: consecutive overlapping intervals of a random
    order, each split into ``clusters`` nodes; nodes of neighbouring intervals that share
    points are linked."""
    order = rng.permutation(n)
    width = n / (n_intervals * 0.7 + 0.3)
    nodes, prev, edges = {}, [], {}
    for i in range(n_intervals):
        a = int(i * width * 0.7)
        part = np.array_split(np.sort(order[a : int(a + width)]), clusters)
        ids = [f"cube{i}_cluster{j}" for j in range(clusters)]
        for k, v in zip(ids, part, strict=True):
            counts = np.bincount(v % 10, minlength=10)
            nodes[k] = {
                "vertices": v.tolist(),
                "categorical_cols_summary": {"label": {str(c): int(counts[c]) for c in range(10)}},
                "avgs": {"lens": (i + 0.5) / n_intervals},
            }
        for p_id in prev:
            edges[p_id] = [ids[j] for j in range(clusters) if rng.random() < 0.4] or ids[:1]
        prev = ids
    return {"nodes": nodes, "edges": edges}


def _chromium_seconds(url: str, tmp: Path) -> float:
    import shutil

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    cmd = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    cmd += [f"--user-data-dir={tmp / 'profile'}", "--dump-dom", url]
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
    seconds = time.perf_counter() - t
    if 'data-rendered="true"' not in out:
        raise RuntimeError(f"{url} did not render")
    return seconds


def explorer_scale(args) -> None:
    """The explorer page of one paper-scale cloud: size, side files, Chromium render time."""
    from cnntopo.mapper.explorer import write_explorer

    rng = np.random.default_rng(args.seed)
    n = args.points
    graphs = {f"layer{k}": _synthetic_graph(n, args.intervals, 5, rng) for k in range(7)}
    thumbs = rng.integers(0, 256, (50_000, 32, 32, 3), dtype=np.uint8)
    point_images = {k: np.arange(n) % len(thumbs) for k in graphs}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        page = tmp / "full.html"
        t = time.perf_counter()
        write_explorer(
            page,
            graphs,
            [str(c) for c in range(10)],
            point_images=point_images,
            thumbnails=thumbs,
            details_dir=tmp / "full_files",
        )
        t_write = time.perf_counter() - t
        sizes = [f.stat().st_size for f in (tmp / "full_files").iterdir()]
        page_mb = page.stat().st_size / 2**20
        small = tmp / "small.html"
        write_explorer(small, {"g": _synthetic_graph(100, 2, 1, rng)}, None)
        ref = min(_chromium_seconds(small.as_uri(), tmp) for _ in range(3))
        full = min(_chromium_seconds(page.as_uri(), tmp) for _ in range(3))
        node = next(iter(graphs["layer0"]["nodes"]))
        t_node = _chromium_seconds(f"{page.as_uri()}#graph=0&node={node}", tmp)
    print(
        f"explorer of 7 graphs x {len(graphs['layer0']['nodes'])} nodes, {n:,} points each, "
        f"written in {t_write:.1f} s: page {page_mb:.2f} MB; {len(sizes)} side files, "
        f"{sum(sizes) / 2**20:.1f} MB in all, largest {max(sizes) / 2**20:.2f} MB"
    )
    print(
        f"Chromium --dump-dom (best of 3, browser start-up included): minimal page {ref:.2f} s, "
        f"paper-scale page {full:.2f} s (+{full - ref:.2f} s); with a node selected "
        f"(its side file loaded): {t_node:.2f} s"
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2,000 x 512 only")
    ap.add_argument("--large", action="store_true", help="add 200,000 x 512")
    ap.add_argument("--paper-scale", action="store_true", help="800,000 x 512, cnntopo only")
    ap.add_argument("--points", type=int, default=800_000, help="points of --paper-scale")
    ap.add_argument("--check-intervals", type=int, default=2)
    ap.add_argument("--check-max-points", type=int, default=30_000, help="largest interval checked")
    ap.add_argument("--check-subsample", type=int, default=50_000, help="0: none")
    ap.add_argument("--check-subsample-eps", type=float, default=20.0)
    ap.add_argument("--skip-graph", action="store_true", help="only the identity checks")
    ap.add_argument("--no-knee", action="store_true", help="skip the knee search timing")
    ap.add_argument("--device", default="cpu", help="cpu (numpy) or a torch device")
    ap.add_argument("--explorer", action="store_true", help="the explorer page at paper scale")
    ap.add_argument("--paper-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--graph-out", help=argparse.SUPPRESS)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--intervals", type=int, default=40)
    ap.add_argument("--overlap", type=float, default=0.3, help="fraction, e.g. 0.3")
    ap.add_argument("--threads", type=int, default=2, help="cnntopo n_jobs (BLAS threads)")
    ap.add_argument("--eps", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.paper_worker:
        paper_worker(args)
        return
    if args.paper_scale:
        paper_scale(args)
        return
    if args.explorer:
        explorer_scale(args)
        return

    sizes = [(2000, True)] if args.quick else [(5000, True), (50000, True)]
    if args.large:
        sizes.append((200000, True))

    header = (
        f"{'points':>8} {'dim':>4} {'eps':>7} {'nodes':>6} {'edges':>6} {'largest cube':>12} "
        f"{'kmapper':>9} {'cnntopo':>9} {'cnntopo 1 thr':>13} {'ratio':>6} identical"
    )
    print(f"intervals={args.intervals} overlap={args.overlap} min_samples=5 cover=kmapper")
    print(header)
    print("-" * len(header))
    device = None if args.device == "cpu" else args.device
    for n, with_ref in sizes:
        X, y, eps = _cloud_and_eps(n, args.dim, args.seed, args.eps, args.threads)
        lens = l2norm_lens(X)
        kw = dict(lens=lens, n_intervals=args.intervals, overlap=args.overlap, eps=eps)
        kw.update(cover="kmapper", device=device)

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
