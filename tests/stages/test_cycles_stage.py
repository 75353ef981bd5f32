"""Stages and plan of the representative cycles (rules/ph/cycles.smk).

Planted data through the real file formats: two circles as a layer's point cloud (and
as a flat Gram matrix), their diagrams, a recorded eval set of real digits images; the
JSON must map loop rows to those images, the figure and the page must be written with
the loops' thumbnails, and the plan must ask for exactly the files the rules make.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from ripser import ripser

from cnntopo import artifacts
from cnntopo.config import load_config
from cnntopo.cycles import winding_number
from cnntopo.ph.persistence import save_diagrams
from cnntopo.plan import Plan
from cnntopo.plan.cycles import CyclesPlan
from cnntopo.stages.common import load_split
from cnntopo.stages.ph.cycles import cycles, cycles_page, figure_cycles

DATASET = {"name": "digits", "root": "data", "download": False, "normalization": None}


def planted(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t1, t2 = rng.uniform(0, 2 * np.pi, 40), rng.uniform(0, 2 * np.pi, 30)
    pts = np.zeros((70, 6))
    pts[:40, :2] = 2.0 * np.c_[np.cos(t1), np.sin(t1)]
    pts[40:, 2:4] = np.c_[np.cos(t2), np.sin(t2)]
    pts[40:, 0] = 6.0
    return pts + 0.03 * rng.normal(size=pts.shape)


@pytest.fixture
def layer_files(tmp_path):
    """Two layers' clouds and diagrams, and an eval set of 70 real digits test images."""
    images = load_split(DATASET, "test")
    pick = np.sort(np.random.default_rng(0).choice(len(images), 70, replace=False))
    eval_set = tmp_path / "eval_set.json"
    artifacts.write_json(
        eval_set,
        {
            "dataset": "digits",
            "split": "test",
            "classes": list(images.classes),
            "indices": images.indices[pick].tolist(),
            "labels": images.labels[pick].tolist(),
        },
    )
    clouds, dgms, points = [], [], []
    for i in range(2):
        X = planted(i).astype(np.float32)
        points.append(X)
        clouds.append(tmp_path / f"cloud{i}.npz")
        artifacts.write_npz(clouds[-1], points=X)
        dgms.append(tmp_path / f"dgm{i}.npz")
        save_diagrams(dgms[-1], ripser(X, maxdim=1)["dgms"], {"layer": f"l{i}"})
    return {"eval_set": eval_set, "clouds": clouds, "diagrams": dgms, "points": points,
            "indices": images.indices[pick], "labels": images.labels[pick]}  # fmt: skip


def test_cycles_json_maps_loops_to_the_recorded_images(tmp_path, layer_files):
    outs = [tmp_path / "out" / f"l{i}.json" for i in range(2)]
    cycles(
        outs,
        diagrams=layer_files["diagrams"],
        eval_set=layer_files["eval_set"],
        clouds=layer_files["clouds"],
        seed=3,
        representation="topl2",
        layers=["l0", "l1"],
        top_k=2,
        maxdim=1,
        coeff=2,
    )
    for i, out in enumerate(outs):
        rec = json.loads(out.read_text())
        assert (rec["seed"], rec["layer"], rec["representation"], rec["n_points"]) == (
            3,
            f"l{i}",
            "topl2",
            70,
        )
        assert set(rec["provenance"]) >= {"config_hash", "code_version", "host", "time_utc"}
        assert len(rec["cycles"]) == 2
        big, small = rec["cycles"]
        X = layer_files["points"][i]
        assert set(big["rows"]) <= set(range(40)) and set(small["rows"]) <= set(range(40, 70))
        assert abs(winding_number(X[big["rows"], :2], [0, 0])) == pytest.approx(1)
        assert abs(winding_number(X[small["rows"], 2:4], [0, 0])) == pytest.approx(1)
        for c in rec["cycles"]:
            rows = np.array(c["rows"])
            assert c["images"] == layer_files["indices"][rows].tolist()
            assert c["labels"] == layer_files["labels"][rows].tolist()
            assert c["classes"] == [rec["classes"][k] for k in c["labels"]]
            assert rec["h1"][c["bar"]] == pytest.approx([c["birth"], c["death"]])
            assert max(c["edge_lengths"]) == pytest.approx(c["birth"], rel=1e-5)
    # the rows of a flat representation file: the same loops from a Gram matrix
    X = layer_files["points"][0].astype(np.float64)
    Xc = X - X.mean(axis=0)
    rep = tmp_path / "flat.npz"
    artifacts.write_npz(rep, grams=np.stack([Xc @ Xc.T]), layers=np.array(["l0"]))
    flat_out = tmp_path / "flat_l0.json"
    cycles(
        [flat_out], diagrams=layer_files["diagrams"][:1], eval_set=layer_files["eval_set"],
        rep=rep, seed=3, representation="flat", layers=["l0"], top_k=2, maxdim=1, coeff=2,
    )  # fmt: skip
    flat = json.loads(flat_out.read_text())
    topl2 = json.loads(outs[0].read_text())
    assert [set(c["rows"]) for c in flat["cycles"]] == [set(c["rows"]) for c in topl2["cycles"]]
    with pytest.raises(ValueError, match="not both"):
        cycles([flat_out], diagrams=[], eval_set=layer_files["eval_set"], seed=0,
               representation="flat", layers=[], top_k=1, maxdim=1, coeff=2)  # fmt: skip


def test_figure_and_page_show_the_loops_images(tmp_path, layer_files):
    outs = [tmp_path / f"l{i}.json" for i in range(2)]
    cycles(
        outs, diagrams=layer_files["diagrams"], eval_set=layer_files["eval_set"],
        clouds=layer_files["clouds"], seed=0, representation="topl2", layers=["l0", "l1"],
        top_k=2, maxdim=1, coeff=2,
    )  # fmt: skip
    figs = [tmp_path / "rings.png", tmp_path / "rings.svg"]
    figure_cycles(outs, figs, dataset=DATASET, layers=["l0", "l1"], top_k=2, title="topl2 seed 0")
    assert figs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b"<svg" in figs[1].read_bytes()
    page = tmp_path / "index.html"
    cycles_page(outs, page, dataset=DATASET, title="t", links=[["Mapper", "../m.html"]])
    text = page.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # no external URLs
    data = json.loads(re.search(r'id="cnntopo-cycles-data">(.*?)</script>', text, re.S).group(1))
    on_loops = {i for r in data["entries"] for c in r["cycles"] for i in c["images"]}
    assert {int(k) for k in data["thumbs"]} == on_loops  # every loop image, no other
    assert all(u.startswith("data:image/png;base64,") for u in data["thumbs"].values())
    assert [e["layer"] for e in data["entries"]] == ["l0", "l1"]
    assert '<a href="../m.html">Mapper</a>' in text
    assert "window.cnntopoCycles" in text and "page.js" not in text.split("<script>")[0]


def test_plan_asks_for_the_files_the_rules_write(tmp_path):
    config = load_config("config/tiny.yaml")
    config["results_dir"] = str(tmp_path)
    plan = Plan(config)
    cyc = CyclesPlan(plan)
    assert cyc.enabled and cyc.top_k == 3
    assert cyc.representations == list(config["persistence"].get("representations", ["topl2"]))
    out = plan.final_outputs
    assert cyc.path("cycles_page") in out
    for rep in cyc.representations:
        for s in plan.fig_seeds:
            assert set(cyc.figure_files(rep, s)) <= set(out)
    assert len(cyc.page_inputs) == len(cyc.representations) * len(plan.seeds) * len(plan.layers)

    class W:
        representation, seed = "topl2", "0"

    inputs = cyc.inputs(W)
    assert inputs["clouds"] == plan.paths.expand("pointcloud", seed="0", layer=plan.layers)
    assert inputs["diagrams"] == plan.paths.expand("diagram", seed="0", layer=plan.layers)

    config["cycles"] = {"enabled": True, "top_k": 2, "representations": ["pool"]}
    config["persistence"]["representations"] = ["topl2"]
    with pytest.raises(ValueError, match="cycles.representations"):
        CyclesPlan(Plan(config))
    config["cycles"] = {"enabled": False, "top_k": 2, "representations": None}
    assert CyclesPlan(Plan(config)).outputs == []
    assert not any("/cycles" in f for f in Plan(config).final_outputs)
