"""Benchmark cnntopo's diagram-distance matrices against persim, in one run.

Test set (docs/performance.md §2): 17 "layer" H1 diagrams of
activation-like clouds (``relu(Z W + b) + noise``, n=1000 points, d in
{64, 128, 256, 512}, float32, giotto-ph H1 = Ripser's), then K copies that each
keep a random 80--100 % of one layer's points and get a +-5 % scale and +-3 %
jitter on birth and persistence (so deaths stay above births). Mean size ~900.

Measured, each with the reference in the same run (ratios = reference / cnntopo):

(a) sliced Wasserstein (M=50) all pairs, K = ``--k-sw`` (200): ``pairwise(dgms)``
    with 1 and ``--threads`` threads, against a loop of ``persim.sliced_wasserstein``
    (1 core). The persim loop is NOT run in full: it is timed on ``--sample``
    random pairs and extrapolated to all K(K-1)/2 pairs (the output says so); the
    sampled pairs are also checked against the matrix (max relative difference).
    The numpy per-pair reference ``cnntopo.ph.distances.sliced_wasserstein`` is
    timed and extrapolated the same way.
(b) sliced Wasserstein all pairs, K = ``--k-large`` (default 400; the paper's
    cross-model matrix is 1700): wall time of ``pairwise(dgms, n_jobs=threads)``,
    presort included, with the persim loop extrapolated from (a)'s per-step time.
(c) exact Wasserstein (W1, Euclidean ground metric) and bottleneck matrices,
    K = ``--k-exact`` (20) diagrams subsampled to ``--exact-points`` (400) points
    each so that the full persim loops stay short (``--exact-points 0`` keeps
    the ~900 points; the loops then take minutes), against full loops of
    ``persim.wasserstein`` and ``persim.bottleneck``, with the max abs difference.

Usage::

    .venv/bin/python benchmarks/bench_distances.py [--k-sw 200] [--k-large 1700]
        [--threads 2] [--sample 30] [--k-exact 20] [--exact-points 400] [--seed 0]
        [--skip-sw] [--skip-large]

Timings on the shared build machine vary by ~15 % between runs; the ratios are
taken within one run. Peak memory of (b) is ~0.75 MB per diagram (presorted
projections), 1.3 GB at K=1700.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _clouds import activation_like

LAYERS = [(64, 3), (64, 4), (64, 6), (64, 8), (64, 12), (128, 16), (128, 3), (128, 4)]
LAYERS += [(128, 6), (256, 8), (256, 12), (256, 16), (256, 3), (512, 4), (512, 6)]
LAYERS += [(512, 8), (512, 12)]  # 17 (d, latent k) "layers"


def layer_diagrams(n: int, seed: int) -> list[np.ndarray]:
    """H1 diagrams of the 17 activation-like layer clouds."""
    from cnntopo.ph.persistence import diagrams

    return [
        diagrams(activation_like(n, d, k, seed + 100 + i), maxdim=1, backend="giotto")[1]
        for i, (d, k) in enumerate(LAYERS)
    ]


def perturbed_copies(base: list[np.ndarray], K: int, rng: np.random.Generator) -> list[np.ndarray]:
    """K diagrams: copy i keeps 80-100 % of layer i % 17, +-5 % scale, +-3 % jitter."""
    out = []
    for i in range(K):
        dgm = base[i % len(base)]
        keep = dgm[rng.random(len(dgm)) < rng.uniform(0.8, 1.0)]
        birth, pers = keep[:, 0], keep[:, 1] - keep[:, 0]
        scale = rng.uniform(0.95, 1.05)
        birth = birth * scale * (1 + rng.uniform(-0.03, 0.03, len(keep)))
        pers = pers * scale * (1 + rng.uniform(-0.03, 0.03, len(keep)))
        out.append(np.column_stack([birth, birth + pers]))
    return out


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def sample_pairs(K: int, n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    pairs = set()
    while len(pairs) < min(n, K * (K - 1) // 2):
        i, j = sorted(rng.choice(K, size=2, replace=False))
        pairs.add((int(i), int(j)))
    return sorted(pairs)


def steps_of(dgms: list[np.ndarray], pairs=None) -> float:
    """Merge steps M*(m+n) summed over pairs (all pairs if None), per direction."""
    sizes = np.array([len(d) for d in dgms], dtype=np.float64)
    if pairs is None:
        return float(sizes.sum() * (len(sizes) - 1))
    return float(sum(sizes[i] + sizes[j] for i, j in pairs))


def bench_sw(dgms, threads, n_sample, rng):
    import persim

    from cnntopo.ph.distances import pairwise, sliced_wasserstein

    K = len(dgms)
    n_pairs = K * (K - 1) // 2
    t1, D1 = timed(lambda: pairwise(dgms, n_jobs=1))
    tn, Dn = timed(lambda: pairwise(dgms, n_jobs=threads))
    assert np.array_equal(D1, Dn), "n_jobs changed the result"
    pairs = sample_pairs(K, n_sample, rng)
    t_ref, ref = timed(
        lambda: [persim.sliced_wasserstein(dgms[i], dgms[j], M=50) for i, j in pairs]
    )
    t_np, _ = timed(lambda: [sliced_wasserstein(dgms[i], dgms[j]) for i, j in pairs])
    rel = max(abs(D1[i, j] - r) / r for (i, j), r in zip(pairs, ref, strict=True))
    # extrapolate by merge-step count (cost is linear in m + n), not by pair count
    scale = steps_of(dgms) / steps_of(dgms, pairs)
    persim_all, numpy_all = t_ref * scale, t_np * scale
    print(f"(a) sliced Wasserstein, M=50, K={K} ({n_pairs:,} pairs), mean n={mean_n(dgms):.0f}")
    print(
        f"    persim loop, 1 core: {persim_all:,.0f} s  (EXTRAPOLATED from {len(pairs)} random "
        f"pairs timed in {t_ref:.1f} s, by merge steps)"
    )
    print(f"    numpy per-pair reference: {numpy_all:,.1f} s  (extrapolated the same way)")
    print(f"    cnntopo pairwise, 1 thread:  {t1:8.2f} s   ratio {persim_all / t1:8,.0f}x")
    print(f"    cnntopo pairwise, {threads} threads: {tn:8.2f} s   ratio {persim_all / tn:8,.0f}x")
    print(f"    numpy reference / cnntopo (1 thread): {numpy_all / t1:.0f}x")
    core_ns = t1 / (50 * steps_of(dgms)) * 1e9
    print(f"    {core_ns:.2f} core-ns per merge step (1 thread, presort included)")
    print(f"    max relative difference to persim on the sampled pairs: {rel:.1e}")
    return t_ref / (50 * steps_of(dgms, pairs))


def bench_sw_large(dgms, threads, persim_per_step):
    from cnntopo.ph.distances import pairwise
    from cnntopo.ph.sw_kernel import presort

    K = len(dgms)
    t_pre, pre = timed(lambda: presort(dgms, 50, threads))
    del pre  # ~0.75 MB per diagram; pairwise() builds its own
    t_all, D = timed(lambda: pairwise(dgms, n_jobs=threads))
    steps = 50 * steps_of(dgms)
    persim_all = persim_per_step * steps
    print(
        f"(b) sliced Wasserstein all pairs, K={K} ({K * (K - 1) // 2:,} pairs), mean n={mean_n(dgms):.0f}"
    )
    print(
        f"    cnntopo pairwise, {threads} threads: {t_all:.1f} s wall (presort alone {t_pre:.1f} s); "
        f"{t_all * threads / steps * 1e9:.2f} core-ns per merge step"
    )
    print(
        f"    persim loop EXTRAPOLATED from (a): {persim_all:,.0f} s = {persim_all / 3600:.1f} h "
        f"on 1 core; ratio {persim_all / t_all:,.0f}x"
    )
    assert np.all(np.diag(D) == 0) and np.array_equal(D, D.T)


def bench_exact(dgms, threads):
    import persim

    from cnntopo.ph.distances import pairwise

    K = len(dgms)
    pairs = [(i, j) for i in range(K) for j in range(i + 1, K)]
    print(f"(c) exact distances, K={K} ({len(pairs)} pairs), mean n={mean_n(dgms):.0f}; full loops")
    for name, ref_fn, metric in (
        ("Wasserstein W1 (L2 ground)", persim.wasserstein, "wasserstein"),
        ("bottleneck", persim.bottleneck, "bottleneck"),
    ):
        t_ref, ref = timed(lambda f=ref_fn: [f(dgms[i], dgms[j]) for i, j in pairs])
        t1, D1 = timed(lambda m=metric: pairwise(dgms, metric=m, n_jobs=1))
        tn, Dn = timed(lambda m=metric: pairwise(dgms, metric=m, n_jobs=threads))
        assert np.array_equal(D1, Dn), "n_jobs changed the result"
        diff = max(abs(D1[i, j] - r) for (i, j), r in zip(pairs, ref, strict=True))
        scale = max(ref)
        print(f"    {name}: persim loop {t_ref:.1f} s")
        print(
            f"      cnntopo 1 thread {t1:.2f} s (ratio {t_ref / t1:.1f}x), {threads} threads "
            f"{tn:.2f} s (ratio {t_ref / tn:.1f}x); max abs diff {diff:.1e} (values up to {scale:.2f})"
        )


def mean_n(dgms) -> float:
    return float(np.mean([len(d) for d in dgms]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k-sw", type=int, default=200, help="K for (a) (default 200)")
    parser.add_argument(
        "--k-large", type=int, default=400, help="K for (b); the paper's matrix is 1700"
    )
    parser.add_argument("--threads", type=int, default=2, help="threads for n_jobs (default 2)")
    parser.add_argument(
        "--sample", type=int, default=30, help="persim pairs timed in (a) (default 30)"
    )
    parser.add_argument("--k-exact", type=int, default=20, help="K for (c) (default 20)")
    parser.add_argument(
        "--exact-points",
        type=int,
        default=400,
        help="subsample (c)'s diagrams to this many points (default 400; 0: keep all)",
    )
    parser.add_argument("--n", type=int, default=1000, help="points per cloud (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-large", action="store_true", help="skip (b)")
    parser.add_argument("--skip-sw", action="store_true", help="skip (a) and (b)")
    args = parser.parse_args()

    from cnntopo.ph.distances import pairwise

    # one generator per part, so skipping a part does not change the others' data
    rng_a, rng_b, rng_c = (np.random.default_rng([args.seed, part]) for part in range(3))
    t_ph, base = timed(lambda: layer_diagrams(args.n, args.seed))
    sizes = [len(d) for d in base]
    print(
        f"17 layer H1 diagrams in {t_ph:.1f} s: {min(sizes)}-{max(sizes)} points "
        f"(mean {np.mean(sizes):.0f})"
    )
    warm = perturbed_copies(base[:2], 9, np.random.default_rng(1))
    t_jit, _ = timed(lambda: pairwise(warm))
    print(f"warm-up (numba cache load or compile): {t_jit:.2f} s, not counted below\n")

    if not args.skip_sw:
        dgms = perturbed_copies(base, args.k_sw, rng_a)
        persim_per_step = bench_sw(dgms, args.threads, args.sample, rng_a)
        print()
        if not args.skip_large:
            dgms = perturbed_copies(base, args.k_large, rng_b)
            bench_sw_large(dgms, args.threads, persim_per_step)
            print()
    exact = []
    for dgm in perturbed_copies(base, args.k_exact, rng_c):
        if 0 < args.exact_points < len(dgm):
            dgm = dgm[np.sort(rng_c.choice(len(dgm), args.exact_points, replace=False))]
        exact.append(dgm)
    bench_exact(exact, args.threads)


if __name__ == "__main__":
    main()
