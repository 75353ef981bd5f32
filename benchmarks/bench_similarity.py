"""Cost of every representational-similarity measure, extrapolated to the paper's scale.

The comparison (docs/methods.md §9) computes, per representation, each measure between
every pair of (model, layer) representations. Each measure has a per-representation
preparation (normalised Gram, RBF kernel, eigendecomposition, SVD basis) and a per-pair
cost; both depend on N (images) and on the rank r of the representation (``topl2`` and
``pool``: r = c, the channels, 64 ... 512 in the paper's network; ``flat``: r = N - 1,
since c*h*w >= N for every layer). This script times both on synthetic Gram matrices of
rank r at N = ``--n`` and extrapolates, by the counts and by the complexity in r, to a
configuration of S seeds x L layers (default the paper's 100 x 17 = 1,700
representations, 1.44 M pairs), on one core and on ``--threads`` threads.

The yardstick is timed in the same run: ripser on a 1000 x 256 Gaussian cloud, maxdim 1
(0.83 s on the 2-core build machine); every time is also printed as a multiple of it.

Usage::

    .venv/bin/python benchmarks/bench_similarity.py [--n 1000] [--pairs 12] [--seeds 100]
        [--layers 17] [--threads 2]

Prints one table: measure, representation, preparation seconds per representation,
seconds per pair, and the extrapolated hours for the whole cross matrix.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

# The paper's 17 layers: channels per layer (stem + 4 stages of 4 convolutions).
PAPER_CHANNELS = [64] * 5 + [128] * 4 + [256] * 4 + [512] * 4


def gram_of_rank(n: int, r: int, rng: np.random.Generator) -> np.ndarray:
    X = rng.normal(size=(n, r)) * np.linspace(2.0, 0.05, r)
    return X @ X.T


def _time_prepared(prepare, pair, items: list) -> tuple[float, float]:
    """(seconds per preparation, seconds per pair) over all pairs of ``items``."""
    t0 = time.perf_counter()
    prepared = [prepare(x, f"rep{i}") for i, x in enumerate(items)]
    prep = (time.perf_counter() - t0) / len(items)
    pairs = [(a, b) for i, a in enumerate(prepared) for b in prepared[i + 1 :]]
    t0 = time.perf_counter()
    for a, b in pairs:
        pair(a, b)
    return prep, (time.perf_counter() - t0) / len(pairs)


def time_measure(name: str, params: dict, grams: list[np.ndarray]) -> tuple[float, float]:
    """The Gram form as ``measure_matrix_from_grams`` runs it: preparation, then pairs."""
    from cnntopo.ph import similarity as sim

    prepare, pair = sim._gram_preparation(name, dict(params))
    return _time_prepared(prepare, pair, grams)


def time_pwcca(X: list[np.ndarray]) -> tuple[float, float]:
    """PWCCA as ``measure_matrix`` runs it: basis and centred neurons, then pairs."""
    from cnntopo.ph import similarity as sim

    return _time_prepared(lambda x, nm: (sim._basis(x, nm), sim._centred(x)), sim._pwcca_pair, X)


def time_cka_features(X: list[np.ndarray]) -> tuple[float, float]:
    """Linear CKA in the feature form (the stage's route for topl2 / pool)."""
    from cnntopo.ph import similarity as sim

    return _time_prepared(
        lambda x, nm: sim._feature_normalised(x, nm),
        lambda a, b: float(np.linalg.norm(b.T @ a) ** 2),
        X,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="images N")
    parser.add_argument("--pairs", type=int, default=12, help="representations timed (K)")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--layers", type=int, default=17)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(args.seed)
    from bench_knee import yardstick

    ys = yardstick()
    print(f"yardstick (ripser 1000x256 Gaussian, maxdim 1): {ys:.2f} s")
    S, L = args.seeds, args.layers
    n_reps = S * L
    n_pairs = n_reps * (n_reps - 1) // 2
    channels = np.resize(PAPER_CHANNELS, L)
    # rank-r timing points: the narrow representations at their mean width, flat at N - 1
    widths = {"topl2/pool": int(round(np.mean(channels))), "flat": args.n - 1}
    specs = [
        ("cka_linear", {}),
        ("cka_rbf", {"sigma_frac": 0.4}),
        ("cka_debiased", {}),
        ("procrustes", {}),
        ("cca", {}),
        ("svcca", {"keep": 0.99}),
    ]
    print(
        f"N = {args.n}; extrapolated to {S} seeds x {L} layers = {n_reps} representations, "
        f"{n_pairs:,} pairs per (measure, representation)"
    )
    header = f"{'measure':<22}{'repr':<12}{'r':>5}{'prep s':>9}{'pair ms':>9}"
    header += f"{'total h (1 core)':>18}{f'h ({args.threads} thr)':>11}{'x yardstick':>13}"
    print(header)
    with threadpool_limits(1):
        for rep, r in widths.items():
            grams = [gram_of_rank(args.n, r, rng) for _ in range(args.pairs)]
            rows = [(name, *time_measure(name, params, grams)) for name, params in specs]
            rows[0] = ("cka_linear (Gram)", *rows[0][1:])
            if rep != "flat":  # stored features: PWCCA and feature-form linear CKA on them
                X = [rng.normal(size=(args.n, r)) for _ in range(args.pairs)]
                rows.insert(1, ("cka_linear (features)", *time_cka_features(X)))
            else:  # PWCCA on the principal coordinates (same rank)
                from cnntopo.ph.similarity import principal_coordinates

                X = [principal_coordinates(g) for g in grams]
            rows.append(("pwcca", *time_pwcca(X)))
            for name, prep, pair in rows:
                total = prep * n_reps + pair * n_pairs
                print(
                    f"{name:<22}{rep:<12}{r:>5}{prep:>9.3f}{pair * 1e3:>9.2f}"
                    f"{total / 3600:>18.2f}{total / 3600 / args.threads:>11.2f}"
                    f"{total / ys:>13.0f}"
                )
    # memory of one cross job: every representation's N x N float64 Gram and its prepared form
    print(
        f"memory of a cross job holding all Grams: {2 * n_reps * args.n**2 * 8 / 2**30:.1f} GiB "
        f"(N = {args.n})"
    )


if __name__ == "__main__":
    main()
