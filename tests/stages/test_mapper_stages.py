"""Mapper-branch stages: the training recipe, graphs, statistics and the settings figure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cnntopo import artifacts
from cnntopo.config import validate_config
from cnntopo.mapper.graph import knee_eps
from cnntopo.nets.training import TrainRecipe
from cnntopo.stages.mapper.clouds import mapper_clouds, select_mapper_images
from cnntopo.stages.mapper.figures import (
    figure_mapper_knn,
    figure_mapper_knns,
    figure_mapper_settings,
)
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
        channels_last=True,  # a speed setting (mapper.training.channels_last)
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


def test_mapper_clouds_build_each_layer_as_a_job_of_its_own_would(tmp_path, digits_section):
    """One job builds several layers of a cloud (GrabCut once); every layer's file is
    identical to the one a job for that layer alone writes (own generator per layer)."""
    import torch

    from cnntopo.nets.models import build_model

    torch.manual_seed(0)
    torch.save(build_model(ARCH, 4, 10).state_dict(), tmp_path / "w.pt")
    select_mapper_images(
        tmp_path / "images.npz", dataset=digits_section, split="train", per_class=3, seed=1
    )
    kw = dict(
        dataset=digits_section,
        split="train",
        batch_size=8,
        width=4,
        device="cpu",
        seed=5,
        construction={
            "grabcut": "paper",
            "grabcut_iters": 1,
            "empty_mask": "random",
            "ties": "paper",
        },
        threads=1,
    )
    layers = ["layer1.1.bn2", "layer4.1.bn2"]
    both = [tmp_path / f"both_{i}.npz" for i in range(2)]
    metas = mapper_clouds("fg1", layers, tmp_path / "w.pt", tmp_path / "images.npz", both, **kw)
    assert [m["layer"] for m in metas] == layers and [m["shape"][0] for m in metas] == [4, 32]
    alone = tmp_path / "alone.npz"
    mapper_clouds("fg1", layers[1:], tmp_path / "w.pt", tmp_path / "images.npz", [alone], **kw)
    with np.load(both[1]) as a, np.load(alone) as b:
        assert a["points"].shape == (30, 32)
        for key in ("points", "labels", "image_index", "position", "correct"):
            np.testing.assert_array_equal(a[key], b[key])
    with pytest.raises(ValueError, match="2 layers but 1 output"):
        mapper_clouds("fg1", layers, tmp_path / "w.pt", tmp_path / "images.npz", both[:1], **kw)


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


def _write_noisy_fg_cloud(path, n: int = 60, seed: int = 0):
    """A cloud with per-image correctness, as a noisy foreground cloud: one point per
    image, the first half of the images correctly classified."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n // 3)
    meta = {"cloud": "fg1-noise0.5", "layer": "layer4.1.bn2", "classes": CLASSES}
    artifacts.write_npz(
        path,
        points=rng.normal(size=(n, 4)).astype(np.float32),
        labels=labels,
        image_index=np.arange(n),
        correct=np.arange(n) < n // 2,
        meta=np.asarray(artifacts.json_dumps(meta)),
    )


def test_mapper_graph_predictions_feature_is_a_zero_one_column(tmp_path):
    _write_noisy_fg_cloud(tmp_path / "cloud.npz")
    kw = dict(intervals=3, overlap=30.0, eps=1.5, min_samples=3, cover="paper")
    plain = mapper_graph(tmp_path / "cloud.npz", "s", tmp_path / "a.json", **kw)
    extra = mapper_graph(tmp_path / "cloud.npz", "s", tmp_path / "b.json", predictions=True, **kw)
    assert plain["dim"] == 4 and extra["dim"] == 5
    assert extra["predictions_feature"] and not plain["predictions_feature"]
    # the lens of a correct point is sqrt(|a|^2 + 1), of a wrong one |a|
    with np.load(tmp_path / "cloud.npz") as z:
        norms = np.linalg.norm(z["points"].astype(np.float64), axis=1)
        expected = np.sqrt(norms**2 + z["correct"][z["image_index"]])
    assert extra["lens_min"] == pytest.approx(expected.min())
    assert extra["lens_max"] == pytest.approx(expected.max())


def test_figure_mapper_knn_marks_each_graph_eps(tmp_path):
    _write_cloud(tmp_path / "cloud.npz", n=90)
    graphs = []
    for i, eps in enumerate([0.2, None, 0.2]):
        graphs.append(tmp_path / f"g{i}.json")
        mapper_graph(
            tmp_path / "cloud.npz",
            f"setting{i}",
            graphs[-1],
            intervals=4,
            overlap=30.0,
            eps=eps,
            min_samples=3,
            cover="paper",
        )
    outputs = [tmp_path / "knn.png", tmp_path / "knn.pdf"]
    meta = figure_mapper_knn(
        tmp_path / "cloud.npz", graphs, tmp_path / "knn.npz", outputs, k=5, queries=40, seed=3
    )
    assert all(p.stat().st_size > 0 for p in outputs)
    with np.load(tmp_path / "knn.npz") as z:
        d, rows, saved = z["distances"], z["rows"], json.loads(str(z["meta"]))
    assert saved == meta and meta["k"] == 5 and meta["seed"] == 3 and meta["sampled"]
    assert meta["n_points"] == 90 and meta["n_queries"] == 40 == d.size == rows.size
    assert [m["eps"] for m in meta["eps"]][0::2] == [0.2, 0.2]
    sources = [m["source"] for m in meta["eps"]]
    assert sources[0::2] == ["given", "given"] and sources[1] in ("knee", "median")
    with np.load(tmp_path / "cloud.npz") as z:
        assert meta["eps"][1]["eps"] == knee_eps(z["points"])
    assert [m["setting"] for m in meta["eps"]] == ["setting0", "setting1", "setting2"]
    assert np.all(np.diff(d) >= 0)
    # every point queried (the official plot): the distances are the oracle's
    figure_mapper_knn(
        tmp_path / "cloud.npz", graphs[:1], tmp_path / "all.npz", [], k=5, queries=None, seed=3
    )
    with np.load(tmp_path / "cloud.npz") as z:
        X = z["points"].astype(np.float64)
    full = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    with np.load(tmp_path / "all.npz") as z:
        np.testing.assert_allclose(z["distances"], np.sort(np.sort(full, 1)[:, 4]), atol=1e-5)
        assert not json.loads(str(z["meta"]))["sampled"]


def test_figure_mapper_knns_gives_each_layer_its_own_graphs(tmp_path):
    """One job per cloud: each layer's plot marks the eps of that layer's graphs only."""
    clouds, graphs = [], []
    for layer, eps in (("layer1.1.bn2", [0.3]), ("layer4.1.bn2", [0.1, 0.2])):
        clouds.append(tmp_path / f"{layer}.npz")
        _write_cloud(clouds[-1], n=60)
        z = dict(np.load(clouds[-1]))
        meta = json.loads(str(z["meta"]))
        artifacts.write_npz(
            clouds[-1], **{**z, "meta": np.asarray(json.dumps({**meta, "layer": layer}))}
        )
        for i, e in enumerate(eps):
            graphs.append(tmp_path / f"{layer}_{i}.json")
            mapper_graph(
                clouds[-1],
                f"s{i}",
                graphs[-1],
                intervals=3,
                overlap=30.0,
                eps=e,
                min_samples=3,
                cover="paper",
            )
    npzs = [tmp_path / f"knn{i}.npz" for i in range(2)]
    pngs = [tmp_path / f"knn{i}.png" for i in range(2)]
    pdfs = [tmp_path / f"knn{i}.pdf" for i in range(2)]
    metas = figure_mapper_knns(
        clouds, graphs, npzs, pngs, pdfs, graph_counts=[1, 2], k=3, queries=None, seed=0
    )
    assert [m["layer"] for m in metas] == ["layer1.1.bn2", "layer4.1.bn2"]
    assert [m["eps"] for m in metas[0]["eps"]] == [0.3]
    assert sorted(m["eps"] for m in metas[1]["eps"]) == [0.1, 0.2]
    assert all(p.stat().st_size > 0 for p in [*npzs, *pngs, *pdfs])
    with pytest.raises(ValueError, match="do not pair up"):
        figure_mapper_knns(
            clouds, graphs, npzs, pngs[:1], graph_counts=[1, 2], k=3, queries=None, seed=0
        )
    with pytest.raises(ValueError, match="do not pair up"):
        figure_mapper_knns(clouds, graphs, npzs, pngs, graph_counts=[2, 2], k=3, seed=0)


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


def test_knn_method_auto_picks_by_cloud_size_and_is_recorded(tmp_path):
    _write_cloud(tmp_path / "cloud.npz", n=300)
    kw = dict(intervals=4, overlap=30.0, eps=None, min_samples=3, cover="paper", seed=2)
    small = mapper_graph(
        tmp_path / "cloud.npz",
        "s",
        tmp_path / "a.json",
        knn_method="auto",
        knn_approx_above=300,
        **kw,
    )
    large = mapper_graph(
        tmp_path / "cloud.npz",
        "s",
        tmp_path / "b.json",
        knn_method="auto",
        knn_approx_above=299,
        **kw,
    )
    assert (small["knn_method"], small["knn_method_config"]) == ("exact", "auto")
    assert (large["knn_method"], large["knn_seed"]) == ("approx", 2)
    with np.load(tmp_path / "cloud.npz") as z:
        assert small["eps"] == knee_eps(z["points"])
        assert large["eps"] == knee_eps(z["points"], method="approx", seed=2)
    meta = figure_mapper_knn(
        tmp_path / "cloud.npz",
        [tmp_path / "b.json"],
        tmp_path / "knn.npz",
        [],
        k=5,
        queries=None,
        seed=2,
        knn_method="auto",
        knn_approx_above=299,
    )
    with np.load(tmp_path / "knn.npz") as z:
        saved = json.loads(str(z["meta"]))
    assert saved["knn_method"] == meta["knn_method"] == "approx"
    assert saved["knn_method_config"] == "auto"
