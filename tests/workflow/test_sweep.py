"""Sweeps: expansion of the `sweep` section, its errors, the DAG and a tiny end-to-end run."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
import yaml

from cnntopo.config import ConfigError, validate_config
from cnntopo.stages.summary import experiment_summary, sweep_summary
from cnntopo.sweep import (
    cross_architecture_diagrams,
    cross_architecture_pairs,
    cross_architecture_reps,
    cross_architecture_settings,
    depth_match_measures,
    encode_value,
    expand_sweep,
    get_dotted,
    set_dotted,
)
from conftest import run_snakemake


def _base(**sweep):
    cfg = yaml.safe_load(open("config/tiny.yaml"))
    cfg["sweep"] = sweep
    return validate_config(cfg)


def test_encode_value():
    assert encode_value(4) == "4"
    assert encode_value(None) == "null" and encode_value(True) == "true"
    assert encode_value(0.5) == "0.5"
    assert encode_value(["conv1", "block_seq.3.*"]) == "conv1+block_seq.3.ALL"
    assert encode_value("a b/c") == "a_b_c"


def test_dotted_helpers():
    cfg = {"a": {"b": 1}}
    set_dotted(cfg, "a.c.d", [1, 2])
    assert get_dotted(cfg, "a.c.d") == [1, 2] and get_dotted(cfg, "a.b") == 1


def test_no_sweep_is_a_single_experiment(repo, monkeypatch):
    monkeypatch.chdir(repo)
    assert expand_sweep(_base()) == []


def test_cartesian_product_paths_and_configs(repo, monkeypatch):
    monkeypatch.chdir(repo)
    base = _base(**{"model.width": [4, 8], "persistence.maxdim": [1, 2]})
    variants = expand_sweep(base)
    assert [v.name for v in variants] == ["v0", "v1", "v2", "v3"]
    assert [v.path for v in variants] == [
        "model.width~4/persistence.maxdim~1",
        "model.width~4/persistence.maxdim~2",
        "model.width~8/persistence.maxdim~1",
        "model.width~8/persistence.maxdim~2",
    ]
    for v in variants:
        assert v.config["model"]["width"] == v.params["model.width"]
        assert v.config["persistence"]["maxdim"] == v.params["persistence.maxdim"]
        assert v.config["sweep"] == {}
        assert v.config["results_dir"] == f"{base['results_dir']}/tiny"
        assert v.config["experiment"] == v.path
        # untouched keys are the base's
        assert v.config["training"] == base["training"]
    # networks are shared between variants that differ only in the PH settings
    assert [v.trains_models for v in variants] == [True, False, True, False]
    assert variants[0].config["models_dir"] == variants[1].config["models_dir"]
    assert variants[0].config["models_dir"] != variants[2].config["models_dir"]
    assert variants[0].config["models_dir"].endswith("/models/model.width~4")
    # the Mapper network does not depend on either key: trained once for all four
    assert [v.trains_mapper_model for v in variants] == [True, False, False, False]
    assert len({v.config["mapper"]["model"]["dir"] for v in variants}) == 1
    # the base config is not modified
    assert base["model"]["width"] == 4 and base["sweep"]


def test_sweep_over_a_mapper_network_key_retrains_only_the_mapper_network(repo, monkeypatch):
    monkeypatch.chdir(repo)
    variants = expand_sweep(_base(**{"mapper.model.width": [4, 8]}))
    assert [v.trains_models for v in variants] == [True, False]
    assert [v.trains_mapper_model for v in variants] == [True, True]


@pytest.mark.parametrize(
    ("sweep", "match"),
    [
        ({"model.widht": [4]}, "'model.widht' is not a config key"),
        ({"results_dir": ["a"]}, "cannot be swept"),
        ({"model.width": []}, "should be non-empty"),
        ({"model.width": [4, 6]}, "sweep variant 'model.width~6' is invalid"),
        (
            {"activations.layers": [["conv1", "nope"]]},
            r"(?s)conv1\+nope.+.nope. matches no layer",
        ),
    ],
)
def test_bad_sweeps_are_rejected(repo, monkeypatch, sweep, match):
    monkeypatch.chdir(repo)
    cfg = yaml.safe_load(open("config/tiny.yaml"))
    cfg["sweep"] = sweep
    with pytest.raises(ConfigError, match=match):
        expand_sweep(validate_config(copy.deepcopy(cfg)))


def test_colliding_folders_are_rejected(repo, monkeypatch):
    monkeypatch.chdir(repo)
    with pytest.raises(ConfigError, match="same folder"):
        expand_sweep(
            _base(
                **{"activations.layers": [["conv1", "block_seq.3.*"], ["conv1", "block_seq.3.ALL"]]}
            )
        )


def test_experiment_summary_numbers(tmp_path):
    import numpy as np

    models = tmp_path / "models.csv"
    pd.DataFrame({"test_accuracy": [0.5, 0.7]}).to_csv(models, index=False)
    m = np.array([[0.0, 1.0], [3.0, 0.0]])
    mats = []
    for i in range(2):
        path = tmp_path / f"m{i}.npz"
        np.savez(path, matrix=m * (i + 1))
        mats.append(path)
    spec = tmp_path / "spec.csv"
    pd.DataFrame(
        {"layer": ["a", "b"], "exact": [1.0, 0.0], "within_1": [1.0, 0.5], "n_pairs": [3, 1]}
    ).to_csv(spec, index=False)
    cka = tmp_path / "cka.csv"
    pd.DataFrame({"layer": ["a"], "exact": [0.5], "within_1": [1.0], "n_pairs": [2]}).to_csv(
        cka, index=False
    )
    out = experiment_summary(
        tmp_path / "s.json",
        models=models,
        within=mats,
        within_label="sw",
        specificity=[cka, spec],
        measures=["cka", "sw"],
    )
    assert out["test_accuracy_mean"] == pytest.approx(0.6) and out["n_models"] == 2
    assert out["within_sw_mean"] == pytest.approx((2.0 + 4.0) / 2)
    assert out["specificity_sw_exact"] == pytest.approx(0.75)
    assert out["specificity_sw_within1"] == pytest.approx((3 + 0.5) / 4)
    assert out["specificity_cka_exact"] == 0.5 and out["specificity_cka_within1"] == 1.0
    assert json.loads((tmp_path / "s.json").read_text()) == out
    with pytest.raises(ValueError, match="2 specificity tables for 1 measures"):
        experiment_summary(
            tmp_path / "t.json",
            models=models,
            within=mats,
            within_label="sw",
            specificity=[cka, spec],
            measures=["sw"],
        )


def test_sweep_summary_table(tmp_path):
    summaries = []
    for i, acc in enumerate((0.5, 0.7)):
        summaries.append(tmp_path / f"s{i}.json")
        summaries[-1].write_text(json.dumps({"n_models": 2, "test_accuracy_mean": acc}))
    variants = [{"model.width": 4, "activations.layers": ["conv1"]}, {"model.width": 8}]
    paths = ["model.width~4", "model.width~8"]
    table = sweep_summary(summaries, tmp_path / "t.csv", variants=variants, paths=paths)
    assert table.columns.tolist()[:3] == ["model.width", "activations.layers", "variant"]
    assert table["test_accuracy_mean"].tolist() == [0.5, 0.7]
    assert table["activations.layers"].tolist()[0] == '["conv1"]'  # lists as JSON
    assert pd.read_csv(tmp_path / "t.csv")["variant"].tolist() == paths
    with pytest.raises(ValueError, match="same length"):
        sweep_summary(summaries, tmp_path / "u.csv", variants=variants[:1], paths=paths)


def test_sweep_dry_run_registers_one_module_per_variant():
    proc = run_snakemake("-n", "--quiet", "rules", "--configfile", "config/sweep.yaml", timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = proc.stdout + proc.stderr
    for i in range(4):
        assert f"v{i}_persistence_diagrams" in out
    # networks: width 4 trained by v0, width 8 by v2; the Mapper network once, by v0
    assert "v0_train_model" in out and "v2_train_model" in out
    assert "v1_train_model" not in out and "v3_train_model" not in out
    assert "v0_train_mapper_model" in out and "v1_train_mapper_model" not in out
    assert "sweep_summary" in out


@pytest.mark.slow
def test_sweep_runs_end_to_end(tmp_path):
    proc = run_snakemake(
        "--cores", "2", "--configfile", "config/sweep.yaml", "--config", f"results_dir={tmp_path}"
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    root = tmp_path / "sweep"
    table = pd.read_csv(root / "sweep/summary.csv")
    assert len(table) == 4
    assert list(table["model.width"]) == [4, 4, 8, 8]
    assert list(table["persistence.maxdim"]) == [1, 2, 1, 2]
    assert table["test_accuracy_mean"].between(0, 1).all()
    assert table["within_sliced_wasserstein_H1_mean"].gt(0).all()
    assert (root / "sweep/summary.png").stat().st_size > 10_000
    for path in table["variant"]:
        assert (root / path / "summary.json").exists()
        assert (root / path / "figures/heatmap_mean_sliced_wasserstein_H1.png").exists()
    # maxdim 2 computed H2 (the diagrams hold three dimensions), maxdim 1 did not
    import numpy as np

    with np.load(root / "model.width~4/persistence.maxdim~2/diagrams/topl2/seed0/conv1.npz") as z:
        two = z.files
    with np.load(root / "model.width~4/persistence.maxdim~1/diagrams/topl2/seed0/conv1.npz") as z:
        one = z.files
    assert len(two) > len(one)
    # the width-4 networks were trained once and shared by both maxdim variants
    assert (root / "models/model.width~4/seed0/weights.pt").exists()
    assert not (root / "model.width~4/persistence.maxdim~1/models").exists()
    # identical networks give identical within-model matrices for H1 in both variants
    a = np.load(
        root / "model.width~8/persistence.maxdim~1/distances/topl2/sliced_wasserstein_H1/seed1.npz"
    )
    b = np.load(
        root / "model.width~8/persistence.maxdim~2/distances/topl2/sliced_wasserstein_H1/seed1.npz"
    )
    assert np.allclose(a["matrix"], b["matrix"])


def test_cross_architecture_pairs_differ_only_in_the_network():
    cfg = yaml.safe_load(open("config/tiny.yaml"))
    cfg["sweep"] = {"model.arch": ["resnet18_cifar", "torchvision:resnet18"], "model.width": [4, 8]}
    variants = expand_sweep(validate_config(cfg))
    pairs = cross_architecture_pairs(variants)
    # (arch, width): v0 = (cifar, 4), v1 = (cifar, 8), v2 = (tv, 4), v3 = (tv, 8)
    assert {k: (a.name, b.name) for k, (a, b) in pairs.items()} == {
        "v0-v2": ("v0", "v2"),
        "v1-v3": ("v1", "v3"),
    }
    a, b = pairs["v0-v2"]
    files = cross_architecture_diagrams(b, "results/tiny")
    assert len(files) == 20 and files[0].endswith(
        "model.arch~torchvision_resnet18/model.width~4/diagrams/topl2/seed0/conv1.npz"
    )
    settings = cross_architecture_settings(a, b)
    assert settings["layers_a"][0] == "conv1" and len(settings["layers_a"]) == 17
    assert (settings["label_a"], settings["label_b"]) == ("resnet18_cifar", "torchvision:resnet18")
    # the similarity measures of the config, on the first seed's representation files
    assert [m["label"] for m in settings["measures"]][:3] == [
        "cka_linear",
        "cka_rbf_0.2",
        "cka_rbf_0.4",
    ]
    assert settings["representations"] == ["topl2", "flat", "pool"]
    reps = cross_architecture_reps(b, "results/tiny")
    assert reps == [
        f"results/tiny/model.arch~torchvision_resnet18/model.width~4/similarity/{r}/seed0.npz"
        for r in ("topl2", "flat", "pool")
    ]
    assert depth_match_measures(a.config) == {
        "sliced_wasserstein_H1": ["sliced_wasserstein_H1", "topl2"],
        "cka": ["cka_linear", "topl2"],
    }
