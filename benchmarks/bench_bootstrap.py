"""Cost of the image bootstrap of one model's layer-distance matrix (``distances.bootstrap``).

``layer_bootstrap`` (docs/methods.md §6) recomputes a model's L diagrams once per image
resample. This script times :func:`cnntopo.ph.bootstrap.bootstrap_layer_distances` on
L activation-like clouds of N points (widths of the paper's 17 layers, 64 ... 512, by
default) with the giotto backend, and extrapolates to B resamples of the plotted models.

The yardstick is timed in the same run (ripser on a 1000 x 256 Gaussian cloud, maxdim
1: 0.83 s on the 2-core build machine).

Usage::

    .venv/bin/python benchmarks/bench_bootstrap.py [--n 1000] [--layers 17] [--resamples 2]
        [--boot 20] [--models 4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

PAPER_CHANNELS = [64] * 5 + [128] * 4 + [256] * 4 + [512] * 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="images N")
    parser.add_argument("--layers", type=int, default=17)
    parser.add_argument("--resamples", type=int, default=2, help="resamples timed")
    parser.add_argument("--boot", type=int, default=20, help="B of the extrapolation")
    parser.add_argument("--models", type=int, default=4, help="plotted models")
    args = parser.parse_args()

    from _clouds import activation_like
    from bench_knee import yardstick

    from cnntopo.ph.bootstrap import bootstrap_layer_distances

    ys = yardstick()
    print(f"yardstick (ripser 1000x256 Gaussian, maxdim 1): {ys:.2f} s")
    widths = np.resize(PAPER_CHANNELS, args.layers)
    clouds = [activation_like(args.n, int(c), 8, seed=i) for i, c in enumerate(widths)]
    t0 = time.perf_counter()
    bootstrap_layer_distances(clouds, n_boot=args.resamples, params={"M": 50})
    seconds = time.perf_counter() - t0
    # one full-sample diagram per layer plus one per layer and resample
    per_resample = seconds / (args.resamples + 1)
    total = per_resample * (args.boot + 1) * args.models
    print(
        f"{args.layers} layers x N = {args.n}: {per_resample:.1f} s per resample "
        f"({per_resample / ys:.1f} yardsticks); B = {args.boot} for {args.models} models: "
        f"{total / 60:.1f} min on one core ({total / ys:.0f} yardsticks, "
        f"{total * 0.83 / ys / 60:.1f} min on the quiet machine)"
    )


if __name__ == "__main__":
    main()
