"""Mapper-branch stages: the training recipe, graphs, statistics and the settings figure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cnntopo import artifacts
from cnntopo.config import validate_config
from cnntopo.nets.training import TrainRecipe
from cnntopo.stages.mapper.figures import figure_mapper_settings
from cnntopo.stages.mapper.graphs import mapper_graph, mapper_stats
from cnntopo.stages.mapper.model import (
    ARCH,
    CATALYST_FIXED,
    catalyst_recipe,
    import_mapper_model,
    train_mapper_model,
)

CLASSES = ["zero", "one", "two"]


def test_catalyst_recipe_is_the_papers():
    """The schema defaults give the official cifar_train.py recipe."""
    training = validate_config({})["mapper"]["training"]
    assert catalyst_recipe(training) == TrainRecipe(
        epochs=350,
        batch_size=128,
        lr=0.1,
        momentum=0.9,
        weight_decay=5e-4,
        nesterov=False,
        label_smoothing=0.0,
        schedule="multistep",
        lr_peak_epoch=5,
        milestones=(150, 250),
        gamma=0.1,
        flip=True,
        translate=4,
        cutout=0,
        drop_last=False,
        mixed_precision=False,
        channels_last=False,
        eval_batch_size=1000,
        tta="none",
        max_train_images=None,
        eval_every=1,
        keep="best_loss",
    )


def test_catalyst_recipe_takes_every_configured_value():
    training = validate_config({"mapper": {"training": {"epochs": 3, "milestones": [1, 2]}}})
    recipe = catalyst_recipe({**training["mapper"]["training"], "mixed_precision": True})
    assert recipe.epochs == 3 and recipe.milestones == (1, 2)
    assert recipe.mixed_precision is True  # fp16 on CUDA only, as "auto"
    for key, value in CATALYST_FIXED.items():
        assert getattr(recipe, key) == value


@pytest.fixture(scope="module")
def digits_section():
    return validate_config({"dataset": {"name": "digits"}})["dataset"]


def test_train_then_import_the_mapper_network(tmp_path, digits_section):
    training = validate_config(
        {"mapper": {"training": {"epochs": 1, "batch_size": 64, "max_train_images": 128}}}
    )["mapper"]["training"]
    trained = train_mapper_model(
        tmp_path / "w.pt",
        tmp_path / "train.json",
        dataset=digits_section,
        width=4,
        seed=3,
        training=training,
        threads=1,
    )
    record = artifacts.read_json(tmp_path / "train.json")
    assert record["arch"] == ARCH and record["width"] == 4 and record["seed"] == 3
    assert record["training"] == {**CATALYST_FIXED, **training}
    assert record["n_train_images"] == 128 and record["kept_epoch"] == 1
    assert record["epochs"] == 1 and len(record["history"]) == 1
    imported = import_mapper_model(
        tmp_path / "w.pt",
        tmp_path / "w2.pt",
        tmp_path / "import.json",
        dataset=digits_section,
        width=4,
        seed=3,
        device="cpu",
        threads=1,
    )
    # the kept epoch's test accuracy, evaluated again from the saved weights
    assert imported["test_accuracy"] == trained["test_accuracy"]
    assert imported["source"] == str(tmp_path / "w.pt") and imported["history"] == []
    assert imported["config_hash"] != trained["config_hash"]


def _write_cloud(path, n: int = 300, seed: int = 0):
    """A cloud of 3 well-separated blobs, one per class (classes 0, 1, 2)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n // 3)
    points = rng.normal(size=(n, 4)) * 0.1 + labels[:, None] * np.array([1.0, 0, 0, 0])
    meta = {"cloud": "random", "layer": "layer4.1.bn2", "classes": CLASSES}
    artifacts.write_npz(
        path,
        points=points.astype(np.float32),
        labels=labels,
        meta=np.asarray(artifacts.json_dumps(meta)),
    )
    return labels


def test_mapper_graph_uses_the_given_eps_unrounded(tmp_path):
    _write_cloud(tmp_path / "cloud.npz")
    meta = mapper_graph(
        tmp_path / "cloud.npz",
        "intervals~5_overlap~30_eps~0.1234567",
        tmp_path / "g.json",
        intervals=5,
        overlap=30.0,
        eps=0.1234567,
        min_samples=3,
        cover="paper",
    )
    graph = json.loads((tmp_path / "g.json").read_text())
    assert graph["meta"]["eps"] == meta["eps"] == 0.1234567
    assert graph["meta"]["n_intervals"] == 5 and graph["meta"]["overlap"] == 0.3
    assert graph["meta"]["setting"] == "intervals~5_overlap~30_eps~0.1234567"
    assert graph["meta"]["label_names"] == CLASSES
    assert (graph["meta"]["cloud"], graph["meta"]["layer"]) == ("random", "layer4.1.bn2")


def test_mapper_stats_columns_and_a_class_without_points(tmp_path):
    labels = _write_cloud(tmp_path / "cloud.npz")
    mapper_graph(
        tmp_path / "cloud.npz",
        "s",
        tmp_path / "g.json",
        intervals=4,
        overlap=30.0,
        eps=0.5,
        min_samples=3,
        cover="paper",
    )
    mapper_stats([tmp_path / "g.json"], [tmp_path / "cloud.npz"], tmp_path / "stats.csv")
    table = pd.read_csv(tmp_path / "stats.csv")
    assert list(table.columns) == [
        "cloud", "layer", "setting", "intervals", "overlap", "eps", "eps_source",
        "n_points", "n_nodes", "n_edges", "n_components", "nodewise", "classwise_mean",
        "classwise_zero", "classwise_one", "classwise_two",
    ]  # fmt: skip
    assert table["n_points"][0] == len(labels) and table["eps"][0] == 0.5
    # a fourth class with no points: nan for it, the mean over the classes that have points
    meta = {"cloud": "random", "layer": "layer4.1.bn2", "classes": [*CLASSES, "three"]}
    artifacts.write_npz(
        tmp_path / "cloud4.npz",
        points=np.zeros((len(labels), 4), np.float32),
        labels=labels,
        meta=np.asarray(artifacts.json_dumps(meta)),
    )
    mapper_stats([tmp_path / "g.json"], [tmp_path / "cloud4.npz"], tmp_path / "stats4.csv")
    four = pd.read_csv(tmp_path / "stats4.csv")
    assert np.isnan(four["classwise_three"][0])
    assert four["classwise_mean"][0] == table["classwise_mean"][0]


def test_figure_mapper_settings_writes_every_format(tmp_path):
    rows = [
        {"cloud": c, "layer": "layer4.1.bn2", "setting": f"intervals~{n}_overlap~30_eps~knee",
         "n_nodes": n * 2, "nodewise": 1 / n}
        for c in ("random", "full")
        for n in (8, 12)
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "stats.csv", index=False)
    outputs = [tmp_path / "settings.png", tmp_path / "settings.pdf"]
    figure_mapper_settings(tmp_path / "stats.csv", outputs)
    assert all(p.stat().st_size > 1000 for p in outputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "settings.pdf",
        "settings.png",
        "stats.csv",
    ]
