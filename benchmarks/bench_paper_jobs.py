"""Per-job cost of config/paper.yaml, measured at the paper's sizes on this machine.

Times one job of each heavy kind at full scale (width-64 networks, 1000-image top-l2
clouds, 50,000-point Mapper clouds) and multiplies by the paper DAG's job counts
(``snakemake -n --configfile config/paper.yaml``). GPU jobs (training, extraction)
cannot be timed on a CPU-only machine: their CPU time is measured per step and
extrapolated, and the table adds a GPU estimate from the measured FLOP count at a
stated sustained throughput (an assumption, printed as such).

Run: ``.venv/bin/python benchmarks/bench_paper_jobs.py [--threads 2] [--gpu-tflops 40]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from cnntopo.mapper.graph import knee_eps, mapper_graph
from cnntopo.nets.models import init_model
from cnntopo.ph.persistence import diagrams

# Job counts of the paper DAG (tests/workflow/test_tiny_run.py checks them).
N_PH_NETWORKS = 100
N_PH_CLOUDS = 1700  # persistence: 100 jobs (one per network) of 17 clouds each
N_P2_GRAPHS = 17  # random clouds: 50,000 points each
PH_EPOCHS, PH_BATCH, TRAIN_IMAGES = 24, 1024, 50_000
MAPPER_EPOCHS, MAPPER_BATCH = 350, 128


def _best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def sgd_step_seconds(arch: str, batch: int, threads: int) -> tuple[float, float]:
    """CPU seconds of one SGD step and its FLOPs (3x the forward's multiply-adds x 2)."""
    torch.set_num_threads(threads)
    model = init_model(arch, 64, 10, 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    step()
    seconds = _best(step, repeat=2)
    macs = 0

    def hook(module, inp, out):
        nonlocal macs
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels
            macs += out.numel() * k // module.groups
        elif isinstance(module, torch.nn.Linear):
            macs += out.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x[:1])
    for h in handles:
        h.remove()
    flops_per_image = 2 * macs * 3  # forward + backward ~ 3 forwards
    return seconds, flops_per_image


def activation_cloud(n: int, c: int, seed: int = 0) -> np.ndarray:
    """Non-negative, clustered, activation-like points (n, c) float32."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(10, c)) * 2
    labels = rng.integers(0, 10, n)
    pts = centres[labels] + rng.normal(size=(n, c))
    return np.maximum(pts, 0).astype(np.float32), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--gpu-tflops",
        type=float,
        default=40.0,
        help="assumed sustained training throughput of one GPU (TFLOP/s) for the estimate",
    )
    args = parser.parse_args()
    rows = []

    step_ph, flops_ph = sgd_step_seconds("resnet18_cifar", 128, args.threads)
    per_image_ph = step_ph / 128
    ph_net_cpu = per_image_ph * PH_EPOCHS * TRAIN_IMAGES
    ph_net_gpu = flops_ph * PH_EPOCHS * TRAIN_IMAGES / (args.gpu_tflops * 1e12)
    rows.append(("train one PH network (24 epochs)", ph_net_cpu, ph_net_gpu, N_PH_NETWORKS))

    step_m, flops_m = sgd_step_seconds("resnet18_mapper", 128, args.threads)
    mapper_cpu = step_m / 128 * MAPPER_EPOCHS * TRAIN_IMAGES
    mapper_gpu = flops_m * MAPPER_EPOCHS * TRAIN_IMAGES / (args.gpu_tflops * 1e12)
    rows.append(("train the Mapper network (350 epochs)", mapper_cpu, mapper_gpu, 1))

    ph = []
    for c in (64, 128, 256, 512):
        cloud, _ = activation_cloud(1000, c)
        ph.append(_best(lambda cloud=cloud: diagrams(cloud, maxdim=1, backend="giotto"), 2))
    ph_job = float(np.mean(ph))
    label = "persistence of one 1000-point cloud (mean over widths; 17 per job)"
    rows.append((label, ph_job, None, N_PH_CLOUDS))

    cloud, labels = activation_cloud(50_000, 512)
    t0 = time.perf_counter()
    eps = knee_eps(cloud, n_jobs=args.threads)
    t_knee = time.perf_counter() - t0
    t0 = time.perf_counter()
    g = mapper_graph(cloud, labels, n_intervals=40, overlap=0.25, eps=eps, n_jobs=args.threads)
    t_graph = time.perf_counter() - t0
    rows.append(("knee eps of a 50,000 x 512 random (P2) cloud", t_knee, None, N_P2_GRAPHS))
    rows.append(
        (
            f"Mapper graph of it (40 intervals, 25 %, {len(g['nodes'])} nodes)",
            t_graph,
            None,
            N_P2_GRAPHS,
        )
    )

    print(f"threads: {args.threads}; GPU estimate at {args.gpu_tflops:g} TFLOP/s sustained")
    print(
        f"FLOPs per training image: PH network {flops_ph / 1e9:.2f} G, Mapper network {flops_m / 1e9:.2f} G"
    )
    print(f"SGD step of 128 images on the CPU: PH {step_ph:.2f} s, Mapper {step_m:.2f} s")
    print()
    print("| job | this CPU, one job | GPU estimate, one job | jobs in the paper DAG | CPU total |")
    print("|---|---|---|---|---|")
    for name, cpu, gpu, count in rows:
        gpu_text = f"{gpu:,.0f} s" if gpu is not None else "–"
        print(f"| {name} | {cpu:,.1f} s | {gpu_text} | {count} | {cpu * count / 3600:,.1f} h |")


if __name__ == "__main__":
    main()
