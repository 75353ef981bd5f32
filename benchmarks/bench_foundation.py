"""Benchmark the foundation's TDA kernels against the reference libraries, in one run.

Measures, on activation-like point clouds (``relu(Z W + b) + noise``, float32, as the
paper's top-l2 clouds):

- persistence: ``cnntopo.ph.persistence.diagrams`` with the giotto backend vs
  ``ripser.ripser(X)`` (the paper's call), and checks the diagrams are identical;
- sliced Wasserstein: ``cnntopo.ph.distances.sliced_wasserstein`` vs
  ``persim.sliced_wasserstein`` (M=50) on pairs of the resulting H1 diagrams, and
  checks the values agree to 1e-9 relative.

Usage: ``.venv/bin/python benchmarks/bench_foundation.py [--n 1000] [--repeats 3]``.
Timings are medians; ratios are reference time / cnntopo time (higher is better).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _clouds import activation_like


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="points per cloud (paper: 1000)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import persim
    import ripser

    from cnntopo.ph.distances import sliced_wasserstein
    from cnntopo.ph.persistence import diagrams

    print(f"{'cloud':<18}{'ripser.ripser':>14}{'cnntopo giotto':>16}{'ratio':>8}  identical")
    h1 = []
    for d, k in [(64, 16), (256, 8), (512, 12)]:
        x = activation_like(args.n, d, k, seed=d)
        t_ref, ref = median_time(lambda x=x: ripser.ripser(x, maxdim=1)["dgms"], args.repeats)
        t_new, new = median_time(lambda x=x: diagrams(x, maxdim=1, backend="giotto"), args.repeats)
        same = all(
            np.array_equal(
                np.asarray(a)[np.lexsort(np.asarray(a).T[::-1])], b[np.lexsort(b.T[::-1])]
            )
            for a, b in zip(ref, new, strict=True)
        )
        print(
            f"{f'{args.n}x{d} (k={k})':<18}{t_ref:>13.3f}s{t_new:>15.3f}s{t_ref / t_new:>7.2f}x  {same}"
        )
        h1.append(new[1])

    print(
        f"\n{'H1 pair (points)':<18}{'persim SW':>14}{'cnntopo SW':>16}{'ratio':>8}  max rel diff"
    )
    for i in range(len(h1)):
        for j in range(i + 1, len(h1)):
            a, b = h1[i], h1[j]
            t_ref, v_ref = median_time(
                lambda a=a, b=b: persim.sliced_wasserstein(a, b, M=50), args.repeats
            )
            t_new, v_new = median_time(
                lambda a=a, b=b: sliced_wasserstein(a, b, M=50), args.repeats
            )
            rel = abs(v_new - v_ref) / abs(v_ref)
            label = f"{len(a)}+{len(b)}"
            print(
                f"{label:<18}{t_ref * 1e3:>12.1f}ms{t_new * 1e3:>14.2f}ms{t_ref / t_new:>7.0f}x  {rel:.1e}"
            )


if __name__ == "__main__":
    main()
