"""config/imagenet10.yaml on a tiny image folder and torchvision weights made by the test."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from cnntopo.config import validate_config
from conftest import REPO, run_snakemake


def _image_folder(root, n_classes=10, per_split=(2, 2), size=(40, 30)):
    """``root/{train,val}/<class>/*.png`` of random RGB images of different sizes."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in zip(("train", "val"), per_split, strict=True):
        for c in range(n_classes):
            folder = root / split / f"n0{c:07d}"
            folder.mkdir(parents=True)
            for i in range(n):
                w, h = size[0] + 3 * i, size[1] + 2 * c
                pixels = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")


def test_shipped_config_is_valid():
    cfg = validate_config(yaml.safe_load((REPO / "config/imagenet10.yaml").read_text()))
    assert cfg["dataset"]["image_size"] == 224 and cfg["model"]["arch"] == "torchvision:resnet18"
    assert cfg["model"]["kwargs"] == {"num_classes": 1000}
    # the Mapper branch on the same network and weights: random and full clouds
    assert {k: cfg["mapper"]["model"][k] for k in ("arch", "kwargs", "checkpoint")} == {
        k: cfg["model"][k] for k in ("arch", "kwargs", "checkpoint")
    }
    assert cfg["mapper"]["enabled"] and cfg["mapper"]["constructions"] == ["random", "full"]


@pytest.mark.slow
def test_imagenet10_runs_on_a_tiny_image_folder(tmp_path):
    torch = pytest.importorskip("torch")
    from cnntopo.nets.models import init_model, save_state_dict
    from cnntopo.nets.transforms import NORMALIZATION

    _image_folder(tmp_path / "imagenet10")
    weights = init_model("torchvision:resnet18", num_classes=1000, seed=7)
    save_state_dict(weights, tmp_path / "resnet18.pth")
    config = yaml.safe_load((REPO / "config/imagenet10.yaml").read_text())
    config["results_dir"] = str(tmp_path / "results")
    config["dataset"].update(root=str(tmp_path / "imagenet10"), image_size=64)
    config["model"]["checkpoint"] = str(tmp_path / "resnet18.pth")
    config["activations"].update(n_images=20, batch_size=10, layers=["layer4.*.conv?"])
    config["mapper"]["model"]["checkpoint"] = str(tmp_path / "resnet18.pth")
    config["mapper"]["images"].update(per_class=2, batch_size=10)
    config["mapper"]["layers"] = ["layer4.1.bn2"]  # 2x2 at 64 px
    config["mapper"]["graph"] = {"intervals": [4], "overlaps": [30]}
    cfg = tmp_path / "imagenet10.yaml"
    cfg.write_text(yaml.safe_dump(config))
    out = tmp_path / "results/imagenet10"
    target = out / "distances/topl2/sliced_wasserstein_H1/seed0.npz"
    stats = out / "mapper/stats.csv"
    proc = run_snakemake(str(target), str(stats), "--cores", "2", "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

    manifest = json.loads((out / "activations/seed0/manifest.json").read_text())
    layers = ["layer4.0.conv1", "layer4.0.conv2", "layer4.1.conv1", "layer4.1.conv2"]
    assert [e["name"] for e in manifest["layers"]] == layers
    assert manifest["image_size"] == 64 and manifest["dataset"] == "imagefolder"
    assert manifest["classes"] == [f"n0{c:07d}" for c in range(10)]
    assert [manifest["mean"], manifest["std"]] == [list(v) for v in NORMALIZATION["imagefolder"]]
    # the shards are the imported network's outputs on the folder's images, read at 64 px
    from cnntopo.nets.activations import capture
    from cnntopo.nets.datasets import load_dataset
    from cnntopo.nets.transforms import to_model_input

    images = load_dataset("imagefolder", "test", root=tmp_path / "imagenet10", image_size=64)
    order = np.argsort(images.indices)[np.searchsorted(images.indices, manifest["image_indices"])]
    x = to_model_input(images.images[order], manifest["mean"], manifest["std"], size=64)
    weights.eval()
    with torch.no_grad(), capture(weights, layers, clone=True) as store:
        weights(x)
    shard = np.load(out / "activations/seed0/layer4.1.conv2.npy")
    assert shard.shape == (20, 512, 2, 2) and shard.dtype == np.float16
    np.testing.assert_allclose(shard, store["layer4.1.conv2"].numpy(), rtol=2e-3, atol=2e-3)
    assert np.load(target)["matrix"].shape == (4, 4)

    # Mapper: the full cloud of the imported network's layer4.1.bn2 on the Mapper images
    # (the 20 validation images, class-major), every position after ReLU; graphs of both
    # constructions, nodes coloured by class
    with np.load(out / "mapper/images.npz") as z:
        idx, labels = z["indices"], z["labels"]
    assert labels.tolist() == np.repeat(np.arange(10), 2).tolist()
    x = to_model_input(images.images[idx], manifest["mean"], manifest["std"], size=64)
    with torch.no_grad(), capture(weights, ["layer4.1.bn2"], clone=True) as store:
        weights(x)
    act = torch.relu(store["layer4.1.bn2"]).numpy()  # (20, 512, 2, 2)
    with np.load(out / "mapper/clouds/full/layer4.1.bn2.npz") as z:
        points, image_index, position = z["points"], z["image_index"], z["position"]
    assert points.shape == (20 * 4, 512)
    expected = act[image_index, :, position // 2, position % 2]
    np.testing.assert_allclose(points, expected, rtol=1e-4, atol=1e-4)
    table = pd.read_csv(stats)
    assert sorted(zip(table["cloud"], table["layer"], strict=True)) == [
        ("full", "layer4.1.bn2"),
        ("random", "layer4.1.bn2"),
    ]
    graph = json.loads(next((out / "mapper/graphs/full/layer4.1.bn2").glob("*.json")).read_text())
    assert graph["nodes"] and all(
        "label" in n["categorical_cols_summary"] for n in graph["nodes"].values()
    )
