"""Any network through the PH branch: a torchvision ResNet-18 and a user's factory file.

One small Snakemake run of config/tiny.yaml (digits) as a sweep over two architectures,
``torchvision:resnet18`` and ``python:<file>:build``, with ``activations.layers:
["type:Conv2d"]``: every convolution of each network gets its shard and its persistence
diagrams, in network order, as the network itself lists them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cnntopo.sweep import encode_value
from conftest import REPO, run_snakemake

USER_NET = """
import torch.nn as nn


def build(num_classes):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, num_classes),
    )
"""


@pytest.mark.slow
def test_torchvision_and_user_networks_run_end_to_end(tmp_path):
    torch = pytest.importorskip("torch")
    from cnntopo.nets.models import build_model

    net = tmp_path / "user_net.py"
    net.write_text(USER_NET)
    user_arch = f"python:{net}:build"
    config = yaml.safe_load((REPO / "config/tiny.yaml").read_text())
    config.update(
        experiment="anymodel",
        results_dir=str(tmp_path / "results"),
        model={"seeds": [0]},
        training={**config["training"], "epochs": 1, "lr_peak_epoch": 1, "max_train_images": 128},
        activations={"n_images": 40, "batch_size": 40, "layers": ["type:Conv2d"]},
        sensitivity={"enabled": False},
        # linear CKA on the top-l2 clouds: the cross-architecture matrix's baseline
        similarity={
            "measures": ["cka_linear"],
            "representations": ["topl2"],
            "diagram_distances": [],
        },
        distances={"within_metrics": ["sliced_wasserstein"]},
        mapper={"enabled": False},
        sweep={"model.arch": ["torchvision:resnet18", user_arch]},
    )
    cfg = tmp_path / "anymodel.yaml"
    cfg.write_text(yaml.safe_dump(config))
    root = tmp_path / "results/anymodel"
    folders = {
        arch: root / f"model.arch~{encode_value(arch)}" for arch in config["sweep"]["model.arch"]
    }
    within = "distances/topl2/sliced_wasserstein_H1/seed0.npz"  # needs every diagram
    targets = [str(folder / within) for folder in folders.values()]
    cross = root / "sweep/cross_architecture/v0-v1"  # every layer of one against the other
    targets += [f"{cross}.npz", f"{cross}.png", f"{cross}_depth.csv"]
    targets.append(str(root / "sweep/summary.csv"))
    proc = run_snakemake(*targets, "--cores", "2", "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

    for arch, folder in folders.items():
        model = build_model(arch, num_classes=10)
        convs = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) == (20 if arch.startswith("torchvision") else 3)
        manifest = json.loads((folder / "activations/seed0/manifest.json").read_text())
        assert [entry["name"] for entry in manifest["layers"]] == convs
        assert manifest["arch"] == arch and manifest["image_size"] == 32
        for entry in manifest["layers"]:
            with np.load(folder / f"diagrams/topl2/seed0/{entry['name']}.npz") as dgms:
                assert len(dgms.files) >= 2  # H0 and H1
        matrix = np.load(folder / within)["matrix"]
        assert matrix.shape == (len(convs), len(convs)) and np.allclose(matrix, matrix.T)
    # torchvision's stem and max-pool take 32 px to 8 px; the last stage is 1x1
    manifest = json.loads(
        (folders["torchvision:resnet18"] / "activations/seed0/manifest.json").read_text()
    )
    shapes = {entry["name"]: entry["shape"] for entry in manifest["layers"]}
    assert shapes["conv1"] == [40, 64, 16, 16] and shapes["layer4.1.conv2"] == [40, 512, 1, 1]
    # the cross-architecture matrix: SW between the H1 diagrams of every pair of layers
    from cnntopo.ph.distances import sliced_wasserstein
    from cnntopo.ph.persistence import load_diagrams

    with np.load(f"{cross}.npz") as z:
        matrix, layers_a, layers_b = z["matrix"], list(z["layers_a"]), list(z["layers_b"])
    assert matrix.shape == (20, 3) and layers_a[0] == "conv1" and layers_b == ["0", "3", "6"]
    h1 = [
        load_diagrams(folders[arch] / f"diagrams/topl2/seed0/{layer}.npz")[0][1]
        for arch, layer in (("torchvision:resnet18", "layer2.0.conv1"), (user_arch, "3"))
    ]
    assert matrix[layers_a.index("layer2.0.conv1"), 1] == pytest.approx(sliced_wasserstein(*h1))
    assert (Path(f"{cross}.png")).stat().st_size > 10_000
    # linear CKA between the top-l2 clouds of every pair of layers (the first seed's)
    from cnntopo.ph.cross_arch import depth_matching
    from cnntopo.ph.pointclouds import top_l2
    from cnntopo.ph.similarity import linear_cka

    with np.load(f"{cross}.npz") as z:
        assert [*z["measures"]] == ["sliced_wasserstein_H1", "cka_linear"]
        cka = z["matrices"][1]
    clouds = [
        top_l2(np.load(folders[arch] / f"activations/seed0/{layer}.npy"))[0]
        for arch, layer in (("torchvision:resnet18", "layer3.1.conv2"), (user_arch, "6"))
    ]
    assert cka[layers_a.index("layer3.1.conv2"), 2] == pytest.approx(linear_cka(*clouds))
    # depth matching: per measure and direction, the rates over the layers; the sweep
    # summary carries each network's rates
    depth = pd.read_csv(f"{cross}_depth.csv").set_index(["measure", "from"])
    for (measure, side), C, kind in (
        (("cka_linear", "A"), cka, "similarity"),
        (("sliced_wasserstein_H1", "B"), matrix.T, "distance"),
    ):
        match = depth_matching(C, kind)
        assert depth.loc[(measure, side), "exact"] == pytest.approx(match["exact"].mean())
        assert depth.loc[(measure, side), "within1"] == pytest.approx(match["within1"].mean())
    summary = pd.read_csv(root / "sweep/summary.csv")
    assert summary["depth_match_cka_exact"].tolist() == pytest.approx(
        [depth.loc[("cka_linear", s), "exact"] for s in "AB"]
    )
    print(depth.to_string())  # the measured numbers (pytest -s)
