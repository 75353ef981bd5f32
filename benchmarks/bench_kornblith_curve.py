"""Layer identification by linear CKA against training epochs (config/kornblith.yaml).

Kornblith et al. 2019 (Table 2) report that linear CKA on flattened activations picks
the corresponding layer of another seed's network in 99.3 % of cases. This script finds
what the offline Fashion-MNIST setting of ``config/kornblith.yaml`` needs to get close to
that, without running the workflow: it trains ``--seeds`` networks of the plain CNN
(:mod:`cnntopo.nets.plain_cnn`) per ``--widths`` entry with the config's recipe (its
``training`` section; ``--epochs`` and ``--train-images`` override two keys), keeps the
weights after every epoch (:func:`cnntopo.nets.training.train_model`'s ``on_epoch``),
records each checkpoint's activations of the first ``max(--eval-images)`` images of a
seeded random order of the test split (:func:`cnntopo.nets.activations.extract_activations`,
the workflow's extraction), at the raw convolutions (``conv``, what the config records)
and after each block's ReLU (``relu``), and reports for every (width, epoch, hook point,
number of evaluation images N) the linear-CKA identification rate on ``flat`` (exact and
within one layer, :mod:`cnntopo.ph.specificity`, with the bootstrap interval over model
pairs) and the mean test accuracy.

The Gram matrix of N images is the top-left N x N block of the uncentred Gram matrix of
the largest N, centred again (:func:`cnntopo.ph.similarity.centre_gram`), so every N
uses the same images' prefixes, as ``activations.selection: random`` does.

The yardstick is timed in the same run (ripser on a 1000 x 256 Gaussian cloud, maxdim
1: 0.83 s on the 2-core build machine); training and analysis times are printed as
multiples of it.

Usage::

    nice .venv/bin/python benchmarks/bench_kornblith_curve.py [--seeds 5] [--widths 8]
        [--epochs 6] [--train-images 15000] [--eval-images 300 1000 2000]
        [--config config/kornblith.yaml] [--workdir /tmp/kornblith-curve] [--threads 1]

Prints one table (Markdown) of width, epoch, hook, N, test accuracy, exact [95 % CI]
and within one layer; the checkpoints stay in ``--workdir`` (rerunning reuses them).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np


def _config(path: str) -> dict:
    import yaml

    from cnntopo.config import validate_config

    with open(path) as fh:
        return validate_config(yaml.safe_load(fh))


def train_seed(
    cfg: dict,
    arch: str,
    width: int,
    seed: int,
    epochs: int,
    n_train: int,
    ckpt_dir: Path,
    threads: int = 1,
):
    """Train one network; write ``e<epoch>.pt`` after every epoch; return the test accuracies."""
    import torch

    torch.set_num_threads(threads)

    from cnntopo.nets.models import init_model
    from cnntopo.nets.training import train_model
    from cnntopo.stages.common import dataset_normalization, load_split
    from cnntopo.stages.nets.models import _recipe

    done = [ckpt_dir / f"e{e}.pt" for e in range(1, epochs + 1)]
    acc_file = ckpt_dir / "accuracy.npy"
    if all(p.exists() for p in done) and acc_file.exists():
        return np.load(acc_file)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    training = dict(cfg["training"], epochs=epochs, max_train_images=n_train)
    train_set = load_split(cfg["dataset"], "train")
    test_set = load_split(cfg["dataset"], "test")
    mean, std = dataset_normalization(cfg["dataset"], arch)
    model = init_model(arch, width, len(train_set.classes), seed)

    def save(epoch: int, net) -> None:
        torch.save(net.state_dict(), ckpt_dir / f"e{epoch}.pt")

    result = train_model(
        model,
        train_set,
        test_set,
        _recipe(training),
        seed=seed,
        mean=mean,
        std=std,
        device="cpu",
        log=None,
        on_epoch=save,
    )
    acc = np.array([h["test_acc"] for h in result["history"]], dtype=float)
    np.save(acc_file, acc)
    return acc


def checkpoint_grams(
    cfg, arch, width, ckpt: Path, images, layers, workdir: Path, threads: int = 1
) -> dict[str, np.ndarray]:
    """Uncentred linear Gram matrix (N, N) of every recorded layer's flattened activations."""
    import torch

    torch.set_num_threads(threads)

    from cnntopo.nets.activations import extract_activations, load_activations
    from cnntopo.nets.models import init_model
    from cnntopo.stages.common import dataset_normalization

    mean, std = dataset_normalization(cfg["dataset"], arch)
    model = init_model(arch, width, len(images.classes), 0)
    model.load_state_dict(torch.load(ckpt, map_location="cpu"))
    grams = {}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        extract_activations(model, images, layers, tmp, mean=mean, std=std, device="cpu")
        for layer in layers:
            X = np.asarray(load_activations(tmp, layer), dtype=np.float64).reshape(len(images), -1)
            grams[layer] = X @ X.T
    return grams


def identification(grams: list[np.ndarray], n: int, S: int, L: int, n_boot: int):
    """(exact, low, high, within1, n_cases) of linear CKA on the first n images."""
    from cnntopo.ph.similarity import centre_gram, cka_matrix_from_grams
    from cnntopo.ph.specificity import bootstrap_identification, nearest_layers

    C = cka_matrix_from_grams([centre_gram(G[:n, :n]) for G in grams])
    nearest = nearest_layers(C, S, L, kind="similarity")
    exact, low, high, cases = bootstrap_identification(nearest, 0, n_boot=n_boot)
    within1 = bootstrap_identification(nearest, 1, n_boot=10)[0]
    return exact, low, high, within1, cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="config/kornblith.yaml")
    parser.add_argument("--seeds", type=int, default=5, help="networks per width (seeds 0..)")
    parser.add_argument("--widths", type=int, nargs="+", default=[8])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--train-images", type=int, default=15000)
    parser.add_argument("--eval-images", type=int, nargs="+", default=[300, 1000, 2000])
    parser.add_argument("--hooks", nargs="+", default=["conv", "relu"], choices=["conv", "relu"])
    parser.add_argument("--workdir", default="/tmp/kornblith-curve")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--jobs", type=int, default=1, help="networks trained at once")
    parser.add_argument(
        "--eval-epochs", type=int, nargs="+", default=None, help="checkpoints analysed (all)"
    )
    parser.add_argument(
        "--arch", default=None, help="plain_cnn or tiny10 (default: the config's model.arch)"
    )
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()

    import torch
    from bench_knee import yardstick

    from cnntopo.nets.plain_cnn import LAYER_NAMES
    from cnntopo.stages.common import load_split

    torch.set_num_threads(args.threads)
    ys = yardstick()
    print(f"yardstick (ripser 1000x256 Gaussian, maxdim 1): {ys:.2f} s")
    cfg = _config(args.config)
    arch = args.arch or cfg["model"]["arch"]
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    test = load_split(cfg["dataset"], "test")
    order = np.random.default_rng(cfg["activations"]["seed"]).permutation(len(test))
    images = test.subset(order[: max(args.eval_images)])
    seeds = list(range(args.seeds))
    S, L = len(seeds), len(LAYER_NAMES)
    hooks = {h: [name.replace("conv", h) for name in LAYER_NAMES] for h in args.hooks}
    layers = [n for names in hooks.values() for n in names]
    rows = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for width in args.widths:
            run_dir = workdir / f"{arch}-w{width}-n{args.train_images}-E{args.epochs}"
            t0 = time.perf_counter()
            futures = [
                pool.submit(
                    train_seed,
                    cfg,
                    arch,
                    width,
                    s,
                    args.epochs,
                    args.train_images,
                    run_dir / f"seed{s}",
                    args.threads,
                )
                for s in seeds
            ]
            acc = np.array([f.result() for f in futures])
            t_train = time.perf_counter() - t0
            t0 = time.perf_counter()
            for epoch in args.eval_epochs or range(1, args.epochs + 1):
                futures = [
                    pool.submit(
                        checkpoint_grams,
                        cfg,
                        arch,
                        width,
                        run_dir / f"seed{s}" / f"e{epoch}.pt",
                        images,
                        layers,
                        workdir,
                        args.threads,
                    )
                    for s in seeds
                ]
                per_seed = [f.result() for f in futures]
                for hook, names in hooks.items():
                    grams = [g[name] for g in per_seed for name in names]  # model-major
                    for n in args.eval_images:
                        exact, low, high, within1, cases = identification(
                            grams, n, S, L, args.bootstrap
                        )
                        rows.append(
                            (
                                width,
                                epoch,
                                hook,
                                n,
                                acc[:, epoch - 1].mean(),
                                exact,
                                low,
                                high,
                                within1,
                                cases,
                            )
                        )
                        print(
                            f"{arch} width {width} epoch {epoch} {hook} N={n}: exact {exact:.3f} "
                            f"[{low:.3f}, {high:.3f}] within1 {within1:.3f} "
                            f"(acc {acc[:, epoch - 1].mean():.3f})",
                            flush=True,
                        )
            t_eval = time.perf_counter() - t0
            print(
                f"{arch} width {width}: training {t_train:.0f} s ({t_train / ys:.0f} yardsticks) for "
                f"{S} seeds x {args.epochs} epochs x {args.train_images} images; "
                f"analysis {t_eval:.0f} s ({t_eval / ys:.0f} yardsticks)"
            )
    print()
    print("| width | epoch | hook | N | test acc | exact [95 % CI] | within ±1 | cases |")
    print("|---:|---:|---|---:|---:|---|---:|---:|")
    for width, epoch, hook, n, acc_m, exact, low, high, within1, cases in rows:
        print(
            f"| {width} | {epoch} | {hook} | {n} | {acc_m:.3f} | "
            f"{100 * exact:.1f} % [{100 * low:.1f}, {100 * high:.1f}] | {100 * within1:.1f} % | {cases} |"
        )


if __name__ == "__main__":
    main()
