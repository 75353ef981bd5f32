"""Cross-architecture comparison: depth fractions, depth matching, the stage, the figure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cnntopo.ph.cross_arch import (
    cross_architecture_figure,
    depth_fractions,
    depth_matching,
    same_depth_layers,
)
from cnntopo.ph.figures import save_figure


def test_depth_fractions():
    assert depth_fractions(1).tolist() == [0.0]
    assert depth_fractions(3).tolist() == [0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="n_layers"):
        depth_fractions(0)


def test_same_depth_layers_by_hand():
    # 3 layers (0, .5, 1) against 5 (0, .25, .5, .75, 1): layers 0, 2, 4 of B
    assert same_depth_layers(3, 5).nonzero()[1].tolist() == [0, 2, 4]
    # 4 layers (0, 1/3, 2/3, 1) against 3 (0, .5, 1): 1/3 is nearer .5 than 0
    assert same_depth_layers(4, 3).nonzero()[1].tolist() == [0, 1, 1, 2]
    # the middle of 3 layers is as near the first as the last of 2: both count
    assert same_depth_layers(3, 2).tolist() == [[True, False], [True, True], [False, True]]


def test_depth_matching_of_a_network_with_itself_and_a_shifted_one():
    # distances that grow with the difference in relative depth: the nearest layer of B
    # is the one at the same relative depth, error 0
    da, db = depth_fractions(5), depth_fractions(9)
    match = depth_matching(np.abs(da[:, None] - db[None, :]) + 0.1)
    assert match["nearest"].tolist() == [0, 2, 4, 6, 8]
    assert np.allclose(match["depth_error"], 0) and match["exact"].all()
    # chance: mean |depth_a - depth_b| over B's layers, by hand for the first row
    assert match["chance_error"][0] == pytest.approx(db.mean())
    # every layer of A closest to B's last layer: errors 1, 0.75, ..., 0
    last = np.ones((5, 9))
    last[:, -1] = 0
    match = depth_matching(last)
    assert np.allclose(match["depth_error"], [1, 0.75, 0.5, 0.25, 0])
    # targets 0, 2, 4, 6, 8: only the last row hits; the one before is 2 layers away
    assert match["exact"].tolist() == [False] * 4 + [True]
    assert match["within1"].tolist() == [False] * 4 + [True]
    with pytest.raises(ValueError, match="NaN"):
        depth_matching([[np.nan]])
    with pytest.raises(ValueError, match="kind"):
        depth_matching([[1.0]], "closeness")


def test_depth_matching_exact_within1_and_chance_on_a_hand_made_matrix():
    # A: 3 layers, B: 5 layers; the layers at the same depth are B's 0, 2, 4
    D = np.full((3, 5), 5.0)
    D[0, 0] = D[1, 3] = D[2, 1] = 1.0  # closest: 0 (target 0), 3 (target 2), 1 (target 4)
    match = depth_matching(D)
    assert match["nearest"].tolist() == [0, 3, 1]
    assert match["exact"].tolist() == [True, False, False]
    assert match["within1"].tolist() == [True, True, False]
    # a random column of B: 1 of 5 is the target; within one: {0,1}, {1,2,3}, {3,4}
    assert np.allclose(match["chance_exact"], 0.2)
    assert np.allclose(match["chance_within1"], [0.4, 0.6, 0.4])
    # a similarity: the largest entry is the closest
    sim = depth_matching(-D, "similarity")
    assert sim["nearest"].tolist() == [0, 3, 1]
    assert sim["exact"].tolist() == match["exact"].tolist()


def test_figure(tmp_path):
    rng = np.random.default_rng(0)
    fig = cross_architecture_figure(
        {"SW H1": (rng.random((4, 6)), "distance"), "cka": (rng.random((4, 6)), "similarity")},
        [f"a{i}" for i in range(4)],
        [f"b{i}" for i in range(6)],
        "A",
        "python:/x/net.py:build",
    )
    save_figure(fig, [tmp_path / "x.png"])
    assert (tmp_path / "x.png").stat().st_size > 5000
    with pytest.raises(ValueError, match="shape"):
        cross_architecture_figure({"x": (np.zeros((2, 2)), "distance")}, ["a"], ["b"], "A", "B")


def _network(tmp_path, name, widths, rng):
    """Diagram files and (topl2, flat) representation files of a made-up network."""
    from cnntopo.ph.persistence import save_diagrams
    from cnntopo.stages.ph.similarity import similarity_representations

    dgms, shards, acts = [], [], []
    for i, c in enumerate(widths):
        birth = rng.uniform(0, 1, 6)
        h1 = np.column_stack([birth, birth + rng.exponential(0.5, 6)])
        dgms.append(tmp_path / f"{name}_d{i}.npz")
        save_diagrams(dgms[-1], [np.array([[0.0, np.inf]]), h1], {"index": i})
        acts.append(rng.normal(size=(20, c, 2, 2)).astype(np.float32))
        shards.append(tmp_path / f"{name}_s{i}.npy")
        np.save(shards[-1], acts[-1])
    reps = [tmp_path / f"{name}_{r}.npz" for r in ("topl2", "flat")]
    layers = [f"{name}{i}" for i in range(len(widths))]
    similarity_representations(
        shards, reps, seed=0, layers=layers, representations=["topl2", "flat"]
    )
    return dgms, reps, acts, layers


def test_cross_architecture_stage_against_the_measures_applied_by_hand(tmp_path):
    from cnntopo.ph.distances import sliced_wasserstein
    from cnntopo.ph.persistence import load_diagrams
    from cnntopo.ph.pointclouds import top_l2
    from cnntopo.ph.representations import flat
    from cnntopo.ph.similarity import linear_cka, procrustes
    from cnntopo.stages.summary import cross_architecture, sweep_summary

    rng = np.random.default_rng(1)
    dgm_a, rep_a, acts_a, layers_a = _network(tmp_path, "a", (3, 5, 4), rng)
    dgm_b, rep_b, acts_b, layers_b = _network(tmp_path, "b", (4, 2, 6, 3), rng)
    out = {k: tmp_path / f"v0-v1{k}" for k in (".npz", ".csv", "_depth.csv", ".png")}
    measures = [
        {"label": "cka_linear", "name": "cka_linear", "params": {}},
        {"label": "procrustes", "name": "procrustes", "params": {}},
    ]
    cross_architecture(
        dgm_a,
        dgm_b,
        *out.values(),
        reps_a=rep_a,
        reps_b=rep_b,
        layers_a=layers_a,
        layers_b=layers_b,
        label_a="torchvision:resnet18",
        label_b="python:net.py:build",
        dim=1,
        M=50,
        infinite="strip",
        measures=measures,
        representations=["topl2", "flat"],
        threads=2,
    )
    with np.load(out[".npz"]) as z:
        matrices, names = z["matrices"], list(zip(z["measures"], z["representations"], strict=True))
        assert np.array_equal(z["matrix"], matrices[0]) and list(z["layers_b"]) == layers_b
        assert list(z["kinds"]) == ["distance", "similarity", "distance", "similarity", "distance"]
    assert names == [
        ("sliced_wasserstein_H1", "topl2"),
        ("cka_linear", "topl2"),
        ("procrustes", "topl2"),
        ("cka_linear", "flat"),
        ("procrustes", "flat"),
    ]
    h1 = [[load_diagrams(p)[0][1] for p in dgms] for dgms in (dgm_a, dgm_b)]
    reps = {
        "topl2": [[top_l2(a)[0] for a in acts] for acts in (acts_a, acts_b)],
        "flat": [[flat(a) for a in acts] for acts in (acts_a, acts_b)],
    }
    oracles = [
        ([[sliced_wasserstein(x, y, M=50) for y in h1[1]] for x in h1[0]]),
        *(
            [[fn(x, y) for y in reps[r][1]] for x in reps[r][0]]
            for r in ("topl2", "flat")
            for fn in (linear_cka, procrustes)
        ),
    ]
    for matrix, expected in zip(matrices, oracles, strict=True):
        np.testing.assert_allclose(matrix, expected, rtol=1e-7, atol=1e-9)

    # the per-layer table: both directions of every matrix, as depth_matching gives them
    table = pd.read_csv(out[".csv"])
    assert len(table) == 5 * (3 + 4)
    cka = table[(table["measure"] == "cka_linear") & (table["representation"] == "topl2")]
    for side, C, others in (("A", matrices[1], layers_b), ("B", matrices[1].T, layers_a)):
        rows = cka[cka["from"] == side]
        match = depth_matching(C, "similarity")
        assert rows["closest"].tolist() == [others[j] for j in match["nearest"]]
        assert rows["exact"].tolist() == match["exact"].tolist()
        assert rows["within1"].tolist() == match["within1"].tolist()
    # A's 3 layers sit at the depth of B's 0, 1-or-2 (tie at 0.5: 1/3 and 2/3), 3
    assert cka[cka["from"] == "A"]["same_depth"].tolist() == ["b0", "b1+b2", "b3"]
    depth = pd.read_csv(out["_depth.csv"])
    assert len(depth) == 10 and set(depth["network"]) == {
        "torchvision:resnet18",
        "python:net.py:build",
    }
    row = depth[(depth["measure"] == "cka_linear") & (depth["representation"] == "topl2")]
    row = row[row["from"] == "A"].iloc[0]
    assert row["n_layers"] == 3
    assert row["exact"] == pytest.approx(depth_matching(matrices[1], "similarity")["exact"].mean())
    assert out[".png"].stat().st_size > 10_000

    # the sweep summary: each variant's rates over its layers in every pair
    summaries = []
    for i in range(2):
        summaries.append(tmp_path / f"summary{i}.json")
        summaries[-1].write_text(json.dumps({"n_models": 1, "test_accuracy_mean": 0.5}))
    summary = sweep_summary(
        summaries,
        tmp_path / "sweep.csv",
        variants=[{"model.arch": "a"}, {"model.arch": "b"}],
        paths=["model.arch~a", "model.arch~b"],
        depth_tables=[out["_depth.csv"]],
        pairs=[[0, 1]],
        depth_measures={"cka": ["cka_linear", "topl2"], "sw": ["sliced_wasserstein_H1", "topl2"]},
    )
    for i, side in enumerate("AB"):
        match = depth_matching(matrices[1] if side == "A" else matrices[1].T, "similarity")
        assert summary["depth_match_cka_exact"][i] == pytest.approx(match["exact"].mean())
        assert summary["depth_match_cka_within1"][i] == pytest.approx(match["within1"].mean())
        sw = depth_matching(matrices[0] if side == "A" else matrices[0].T)
        assert summary["depth_match_sw_within1"][i] == pytest.approx(sw["within1"].mean())
