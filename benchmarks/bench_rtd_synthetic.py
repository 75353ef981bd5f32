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
(n, 64) representations at n = 120, 300, 1000 (the defaults of ``similarity.knn_k``,
``knn_metric`` and ``similarity.rtd``, RTD with both backends; the Gram route the
engines take: one preparation per representation, then every pair), and the
Vietoris-Rips diagrams of one flat / pool layer from its distances; then extrapolates to
the cross matrices of the demo (68 representations of 300 images), the Kornblith run
(80 of 300) and the paper's scale (1,700 of 1,000), on one core, with the machine's
yardstick timed in the same run.

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


#: Cross matrices the costs are extrapolated to: (name, representations, images).
SCALES = (
    ("demo (4 x 17 layers)", 68, 300),
    ("Kornblith (10 x 8 layers)", 80, 300),
    ("paper (100 x 17 layers)", 1700, 1000),
)


def cost(sizes: tuple[int, ...] = (120, 300, 1000), width: int = 64, rtd_batches: int = 10) -> None:
    """Seconds per representation (preparation) and per pair, one core, then per cross matrix."""
    from bench_knee import yardstick

    from cnntopo.ph.persistence import distance_matrix_diagrams
    from cnntopo.ph.representations import representation_distances

    ys = yardstick()
    print(f"\nyardstick (ripser 1000 x 256 Gaussian, maxdim 1): {ys:.2f} s")
    print(f"cost on one core, random (n, {width}) representations (the Gram route of the engines)")
    print(f"{'measure':22s} {'n':>5s} {'prep s':>8s} {'pair s':>8s}")
    rng = np.random.default_rng(0)
    per_pair: dict[tuple[str, int], tuple[float, float]] = {}
    for n in sizes:
        X = rng.normal(size=(n, width))
        Y = np.tanh(X @ rng.normal(size=(width, width))) + 0.3 * rng.normal(size=(n, width))
        K, L = linear_gram(X), linear_gram(Y)
        whole = n <= 500  # the authors' batch of 500 covers the whole set
        specs = {
            "knn_jaccard": {"k": 10, "metric": "cosine"},
            "mutual_knn": {"k": 10, "metric": "cosine"},
            "rtd (ripser)": {"batch_size": 500, "n_batches": rtd_batches, "seed": 0},
            "rtd (giotto)": {
                "batch_size": 500,
                "n_batches": rtd_batches,
                "seed": 0,
                "backend": "giotto",
            },
        }
        for label, params in specs.items():
            name = label.split()[0]
            prepare, pair = GRAM_PREPARATIONS[name](params)
            t0 = time.perf_counter()
            a, b = prepare(K, "K"), prepare(L, "L")
            prep = (time.perf_counter() - t0) / 2
            pair(a, b)  # imports and first-call set-up out of the timing
            repeats = (3 if whole else 1) if name == "rtd" else 20
            t0 = time.perf_counter()
            for _ in range(repeats):
                value = pair(a, b)
            seconds = (time.perf_counter() - t0) / repeats
            if name == "rtd" and not whole:  # timed on rtd_batches subsets, scaled to 10
                seconds *= 10 / rtd_batches
            per_pair[(label, n)] = (prep, seconds)
            print(f"{label:22s} {n:5d} {prep:8.4f} {seconds:8.4f}  (value {value:.4g})")
        # PH of flat / pool: one Vietoris-Rips reduction per layer from its distances
        D = representation_distances((K, None))
        for backend in ("giotto", "ripser"):
            label = f"PH H0+H1 ({backend})"
            t0 = time.perf_counter()
            distance_matrix_diagrams(D, maxdim=1, backend=backend, coeff=2)
            per_pair[(label, n)] = (time.perf_counter() - t0, 0.0)
            print(f"{label:22s} {n:5d} {per_pair[(label, n)][0]:8.4f} {'-':>8s}  (per layer)")
    print("\nextrapolated to one cross matrix (every pair of layer representations), one core:")
    print(f"{'measure':22s}" + "".join(f"  {name:>26s}" for name, _, _ in SCALES))
    for label in dict.fromkeys(k[0] for k in per_pair):
        cells = []
        for _, reps, n in SCALES:
            if (label, n) not in per_pair:
                cells.append("-")
                continue
            prep, seconds = per_pair[(label, n)]
            total = reps * prep + reps * (reps - 1) // 2 * seconds
            cells.append(f"{total / 3600:.2f} h" if total > 600 else f"{total:.1f} s")
        print(f"{label:22s}" + "".join(f"  {c:>26s}" for c in cells))
    print(f"(yardsticks: divide by {ys:.2f} s to compare machines)")


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
