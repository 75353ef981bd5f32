"""Stage entry points that the end-to-end run does not exercise: selection rules and imported checkpoints."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from cnntopo import artifacts
from cnntopo.config import validate_config
from cnntopo.stages.nets.data import select_eval_images
from cnntopo.stages.nets.models import import_checkpoint
from cnntopo.stages.ph.distances import layer_distances, metric_params
from cnntopo.stages.ph.figures import figure_layer_heatmap, figure_mean_heatmap
from conftest import run_snakemake


def _cfg(**sections):
    cfg = {
        "dataset": {"name": "digits"},
        "model": {"width": 4, "seeds": [0]},
        "sensitivity": {"step": 2},
    }
    for key, value in sections.items():
        cfg.setdefault(key, {}).update(value)
    return validate_config(cfg)


def _select(out, **activations):
    """select_eval_images with the params its rule passes for these activations settings."""
    cfg = _cfg(activations=activations)
    a = cfg["activations"]
    return select_eval_images(
        out,
        dataset=cfg["dataset"],
        split=a["split"],
        n_images=a["n_images"],
        selection=a["selection"],
        seed=a["seed"],
    )


def _import(cfg, seed, source, weights, metrics, **kwargs):
    """import_checkpoint with the params its rule passes for ``cfg``."""
    t = cfg["training"]
    return import_checkpoint(
        source,
        weights,
        metrics,
        seed=seed,
        dataset=cfg["dataset"],
        arch=cfg["model"]["arch"],
        width=cfg["model"]["width"],
        device=t["device"],
        eval_batch_size=t["eval_batch_size"],
        tta=t["tta"],
        **kwargs,
    )


def test_eval_selection_is_seeded_recorded_and_checked(tmp_path):
    a = _select(tmp_path / "a.json", n_images=50, seed=3)
    b = _select(tmp_path / "b.json", n_images=50, seed=3)
    c = _select(tmp_path / "c.json", n_images=50, seed=4)
    assert a["indices"] == b["indices"] != c["indices"]
    assert a["indices"] == sorted(set(a["indices"])) and len(a["indices"]) == 50
    assert json.loads((tmp_path / "a.json").read_text())["labels"] == a["labels"]
    assert sum(a["class_counts"]) == 50
    first = _select(tmp_path / "f.json", n_images=7, selection="first")
    from cnntopo.nets.datasets import load_dataset

    assert first["indices"] == load_dataset("digits", "test").indices[:7].tolist()
    with pytest.raises(ValueError, match=r"'activations.n_images' = 5000 exceeds the 450 images"):
        _select(tmp_path / "x.json", n_images=5000)


def test_import_checkpoint_loads_foreign_state_dicts(tmp_path):
    from cnntopo.nets.models import build_model, init_model

    cfg = _cfg(training={"eval_batch_size": 200})
    model = init_model("resnet18_cifar", 4, 10, seed=5)
    # a DataParallel-style checkpoint, as written by multi-GPU training scripts
    src = tmp_path / "resnet18_cifar_large_5" / "final_weights.pt"
    src.parent.mkdir()
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, src)
    rec = _import(cfg, 5, src, tmp_path / "w.pt", tmp_path / "m.json", threads=1)
    assert rec["source"] == str(src) and rec["seed"] == 5 and 0.0 <= rec["test_accuracy"] <= 1.0
    assert rec["epochs"] is None and rec["history"] == [] and rec["tta"] == "none"
    assert rec == artifacts.read_json(tmp_path / "m.json")
    reloaded = build_model("resnet18_cifar", 4, 10)
    reloaded.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    for k, v in model.state_dict().items():
        assert torch.equal(v, reloaded.state_dict()[k])
    with pytest.raises(FileNotFoundError, match="model.checkpoint"):
        _import(cfg, 6, tmp_path / "nope.pt", tmp_path / "w.pt", tmp_path / "m.json")
    wide = _cfg(model={"width": 8})
    with pytest.raises(ValueError, match="width"):
        _import(wide, 5, src, tmp_path / "w2.pt", tmp_path / "m2.json", threads=1)


def test_checkpoint_config_replaces_training_in_the_dag(repo, tmp_path):
    cfg = yaml.safe_load((repo / "config/tiny.yaml").read_text())
    cfg["model"]["checkpoint"] = str(tmp_path / "ckpt_{seed}.pt")
    cfg["results_dir"] = str(tmp_path / "r")
    for seed in cfg["model"]["seeds"]:
        (tmp_path / f"ckpt_{seed}.pt").write_bytes(b"")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = run_snakemake("-n", "--quiet", "rules", "--configfile", str(path), timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "import_checkpoint" in out and "train_model" not in out


def test_heatmaps_are_labelled_with_their_own_metric(tmp_path, monkeypatch):
    import numpy as np

    from cnntopo.ph import figures as plotting
    from cnntopo.ph.persistence import save_diagrams

    rng = np.random.default_rng(0)
    files = []
    for i in range(3):
        birth = rng.uniform(0, 1, 5)
        dgm1 = np.column_stack([birth, birth + rng.uniform(0.1, 1, 5)])
        files.append(tmp_path / f"l{i}.npz")
        save_diagrams(files[-1], [np.array([[0.0, np.inf]]), dgm1], {"layer": f"l{i}"})
    dcfg = _cfg()["distances"]  # main metric: sliced_wasserstein
    layers = ["a", "b", "c"]
    mats = []
    for s in (0, 1):
        mats.append(tmp_path / f"w{s}.npz")
        layer_distances(
            files,
            mats[-1],
            tmp_path / f"w{s}.csv",
            layers=layers,
            metric="wasserstein",
            dim=dcfg["dim"],
            infinite=dcfg["infinite"],
            parameters=metric_params(dcfg, "wasserstein"),
        )
    seen = {}
    real_grid, real_single = plotting.heatmap_grid, plotting.heatmap_figure

    def grid(*args, **kwargs):
        seen["grid"] = (kwargs["suptitle"], kwargs["cbar_label"])
        return real_grid(*args, **kwargs)

    def single(*args, **kwargs):
        seen["single"] = kwargs["cbar_label"]
        return real_single(*args, **kwargs)

    monkeypatch.setattr(plotting, "heatmap_grid", grid)
    monkeypatch.setattr(plotting, "heatmap_figure", single)
    figure_mean_heatmap(mats, [str(tmp_path / "m.png")], tmp_path / "mean.npz")
    figure_layer_heatmap(mats[0], [str(tmp_path / "s.png")], title="seed 0")
    assert seen["grid"] == ("Wasserstein (H1) between layers", "Wasserstein (H1)")
    assert seen["single"] == "Wasserstein (H1)"
