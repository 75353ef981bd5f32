"""The RTD paper's two synthetic experiments, and the cost of the topology / neighbourhood measures.

Barannikov et al. 2022 (Representation Topology Divergence, ICML 2022, arXiv:2201.00058,
§5.1 and their notebooks ``experiments/Clusters.ipynb`` and ``experiments/Rings.ipynb``
in IlyaTrofimov/RTD) compare a base point cloud in the plane with modified copies whose
topology changes step by step, and report the Kendall tau between each measure's values
and the step. The data are generated here as they describe them:

- **clusters**: 60 clusters of 5 points, each drawn from N(0, I_2) (legacy
  ``numpy.random`` seeded 7, one ``multivariate_normal(0, I, 5)`` per cluster), all
  centred at the origin in the base cloud (300 points); the modified cloud with ``k``
  groups moves cluster ``i`` by ``10 (cos t, sin t)``, ``t = 2 pi (i mod k) / k``,
  for ``k`` in 2, 3, 4, 5, 6, 10, 12. Truth: ``k``.
- **rings**: 5 concentric rings of 100 evenly spaced points each (noise 0); with
  ``m`` rings of radius 1, the others (index ``j = i - m``) get radius
  ``1 + 0.25 (j + 2) / 2`` for even ``j`` and ``1 - 0.25 (j + 1) / 2`` for odd ``j``.
  The base cloud has ``m = 1`` (radii 1, 1.25, 0.75, 1.5, 0.5); the modified ones
  ``m = 1 ... 5`` (rings merged onto the unit circle one by one; ``m = 1`` is the base
  itself). Truth: ``m - 1`` (0 ... 4).

RTD is computed on the whole set (``batch_size=None``, as the notebooks call
``calc_embed_dist`` on all points), symmetrised. Each tau is ``kendalltau(values,
truth)`` with the measure's raw values, as published: a distance that tracks the
change has tau 1; a similarity that tracks it has tau -1 (the paper's CKA 0.24 on the
clusters means CKA *rises* as the clusters split). Published values (the paper's
Table / the notebooks' outputs): clusters RTD 1.00, IMD 0.43, CKA 0.24, SVCCA 0.14;
rings RTD 0.80, IMD 0.80, CKA -0.20, SVCCA -0.20. IMD is not implemented here. The
authors' SVCCA keeps the directions holding 99 % of the sum of singular values, ours
99 % of the variance; on 2-D clouds both keep both directions.

``--cost`` times ``rtd``, ``knn_jaccard`` and ``mutual_knn`` per pair of random
(n, 64) representations at n = 120, 300, 1000 (the defaults of ``similarity.rtd``,
``similarity.knn_k`` and ``knn_metric``; the Gram route the engines take: one
preparation per representation, then every pair) and extrapolates to a cross matrix of
17 layers x 4 seeds = 68 representations, 2,278 pairs, on one core.

Usage::

    .venv/bin/python benchmarks/bench_rtd_synthetic.py [--cost] [--no-experiments]
        [--only clusters|rings] [--ring-points 100] [--cost-batches 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import kendalltau

from cnntopo.ph.similarity import GRAM_PREPARATIONS, linear_gram
from cnntopo.similarity import cka_linear, knn_jaccard, mutual_knn, rtd, svcca

PUBLISHED = {
    "clusters": {"rtd": 1.00, "imd": 0.43, "cka_linear": 0.24, "svcca": 0.14},
    "rings": {"rtd": 0.80, "imd": 0.80, "cka_linear": -0.20, "svcca": -0.20},
}


def cluster_clouds() -> tuple[np.ndarray, list[np.ndarray], list[int]]:
    """The base cloud (300, 2), the modified clouds, and their numbers of groups."""
    rng = np.random.RandomState(7)  # the notebook's np.random.seed(7)
    clusters = [rng.multivariate_normal(np.zeros(2), np.eye(2), 5) for _ in range(60)]
    base = np.concatenate(clusters)
    groups = [2, 3, 4, 5, 6, 10, 12]

    def split(k: int) -> np.ndarray:
        shifts = [
            10.0 * np.array([np.cos(2 * np.pi * (i % k) / k), np.sin(2 * np.pi * (i % k) / k)])
            for i in range(60)
        ]
        return np.concatenate([c + s for c, s in zip(clusters, shifts, strict=True)])

    return base, [split(k) for k in groups], groups


def ring(n_points: int, radius: float) -> np.ndarray:
    """``n_points`` evenly spaced points on the circle of ``radius`` (noise 0)."""
    theta = 2 * np.pi * np.arange(n_points) / n_points
    return radius * np.column_stack([np.cos(theta), np.sin(theta)])


def ring_radii(n_unit: int, n_total: int = 5) -> list[float]:
    """Radii of the rings: ``n_unit`` of radius 1, the others alternately out and in."""
    radii = []
    for i in range(n_total):
        j = i - n_unit
        if j < 0:
            radii.append(1.0)
        elif j % 2 == 0:
            radii.append(1.0 + 0.25 * (j + 2) / 2)
        else:
            radii.append(1.0 - 0.25 * (j + 1) / 2)
    return radii


def ring_clouds(points: int = 100) -> tuple[np.ndarray, list[np.ndarray], list[int]]:
    """The base cloud (5 * points, 2), the modified clouds (m = 1..5), and the truth m - 1."""
    base = np.concatenate([ring(points, r) for r in ring_radii(1)])
    mods = [np.concatenate([ring(points, r) for r in ring_radii(m)]) for m in range(1, 6)]
    return base, mods, list(range(5))


MEASURES = {
    "rtd": lambda a, b: rtd(a, b, batch_size=None),
    "cka_linear": cka_linear,
    "svcca": svcca,
    "knn_jaccard": knn_jaccard,
    "knn_jaccard_euclidean": lambda a, b: knn_jaccard(a, b, metric="euclidean"),
    "mutual_knn": mutual_knn,
}


def experiment(name: str, base: np.ndarray, mods: list[np.ndarray], truth: list[int]) -> None:
    print(f"\n{name}: base {base.shape}, {len(mods)} modified clouds, truth {truth}")
    print(f"{'measure':24s} {'tau':>6s} {'published':>9s} {'s':>6s}  values")
    for measure, f in MEASURES.items():
        t0 = time.perf_counter()
        values = [f(base, m) for m in mods]
        seconds = time.perf_counter() - t0
        tau = kendalltau(values, truth).statistic
        published = PUBLISHED[name].get(measure)
        pub = "" if published is None else f"{published:.2f}"
        shown = " ".join(f"{v:.4g}" for v in values)
        print(f"{measure:24s} {tau:6.2f} {pub:>9s} {seconds:6.1f}  {shown}")
    print(f"{'imd':24s} {'-':>6s} {PUBLISHED[name]['imd']:9.2f}  (not implemented)")


def cost(sizes: tuple[int, ...] = (120, 300, 1000), width: int = 64, rtd_batches: int = 10) -> None:
    reps, pairs = 68, 68 * 67 // 2
    print(f"\ncost per pair on one core, random (n, {width}) representations (Gram route)")
    print(f"{'measure':12s} {'n':>5s} {'prep s':>8s} {'pair s':>8s} {'68 reps, 2278 pairs':>20s}")
    rng = np.random.default_rng(0)
    for n in sizes:
        X = rng.normal(size=(n, width))
        Y = np.tanh(X @ rng.normal(size=(width, width))) + 0.3 * rng.normal(size=(n, width))
        K, L = linear_gram(X), linear_gram(Y)
        specs = {
            "knn_jaccard": {"k": 10, "metric": "cosine"},
            "mutual_knn": {"k": 10, "metric": "cosine"},
            "rtd": {"batch_size": 500, "n_batches": rtd_batches, "seed": 0},
        }
        for name, params in specs.items():
            prepare, pair = GRAM_PREPARATIONS[name](params)
            t0 = time.perf_counter()
            a, b = prepare(K, "K"), prepare(L, "L")
            prep = (time.perf_counter() - t0) / 2
            repeats = 1 if name == "rtd" else 20
            t0 = time.perf_counter()
            for _ in range(repeats):
                value = pair(a, b)
            per_pair = (time.perf_counter() - t0) / repeats
            if name == "rtd" and n > 500:  # timed on rtd_batches subsets, scaled to 10
                per_pair *= 10 / rtd_batches
            total = reps * prep + pairs * per_pair
            hours = f"{total / 3600:.2f} h" if total > 600 else f"{total:.1f} s"
            print(
                f"{name:12s} {n:5d} {prep:8.4f} {per_pair:8.4f} {hours:>20s}  (value {value:.4g})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost", action="store_true", help="also time the measures per pair")
    parser.add_argument("--no-experiments", action="store_true", help="skip the two experiments")
    parser.add_argument("--only", choices=["clusters", "rings"], help="run one experiment")
    parser.add_argument(
        "--ring-points", type=int, default=100, help="points per ring (the paper's 100)"
    )
    parser.add_argument(
        "--cost-batches",
        type=int,
        default=10,
        help="RTD subsets timed at n = 1000 (the time is scaled to the default 10)",
    )
    args = parser.parse_args()
    if not args.no_experiments:
        if args.only in (None, "clusters"):
            experiment("clusters", *cluster_clouds())
        if args.only in (None, "rings"):
            experiment("rings", *ring_clouds(args.ring_points))
    if args.cost:
        cost(rtd_batches=args.cost_batches)


if __name__ == "__main__":
    main()
