"""The tiny run's representative cycles: every layer's JSON, the ring figures, the page.

Checked against the run's own files: the loops' edges are the clouds' distances, the
bars are the top bars of the layers' diagram files, the images and classes are those
the eval set records for the loop's rows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from cnntopo.artifacts import read_json
from cnntopo.config import load_config
from cnntopo.cycles import top_bars
from cnntopo.ph.persistence import load_diagram_dim
from cnntopo.plan import Plan
from cnntopo.plan.cycles import CyclesPlan
from cnntopo.stages.common import load_points


@pytest.fixture(scope="module")
def plan(tiny_run):
    config = load_config("config/tiny.yaml")
    config["results_dir"] = str(tiny_run.parent)
    p = Plan(config)
    return p, CyclesPlan(p)


def test_every_layer_has_its_cycles_file(tiny_run, plan):
    p, cyc = plan
    assert cyc.enabled and cyc.representations
    eval_set = read_json(tiny_run / "data" / "eval_set.json")
    n_cycles = 0
    for rep in cyc.representations:
        for seed in p.seeds:
            for layer, path in zip(p.layers, cyc.json_files(rep, seed), strict=True):
                rec = read_json(path)
                assert (rec["representation"], rec["seed"], rec["layer"]) == (rep, seed, layer)
                assert rec["provenance"]["config_hash"]
                diagram = "diagram" if rep == "topl2" else "representation_diagram"
                h1 = load_diagram_dim(
                    p.paths(diagram, representation=rep, seed=seed, layer=layer), 1
                )
                h1 = h1[np.isfinite(h1[:, 1])]
                np.testing.assert_allclose(np.reshape(rec["h1"], (-1, 2)), h1.reshape(-1, 2))
                top = h1[top_bars(h1, cyc.top_k)]
                assert len(rec["cycles"]) == len(top)
                for c, (b, d) in zip(rec["cycles"], top, strict=True):
                    n_cycles += 1
                    assert (c["birth"], c["death"]) == pytest.approx((b, d))
                    rows = c["rows"]
                    assert len(rows) >= 3 and len(set(rows)) == len(rows)
                    assert max(rows) < rec["n_points"]
                    assert c["images"] == [eval_set["indices"][r] for r in rows]
                    assert c["labels"] == [eval_set["labels"][r] for r in rows]
                    assert max(c["edge_lengths"]) == pytest.approx(c["birth"], rel=1e-5)
                    if rep == "topl2":  # the edges are the cloud's own distances
                        X = load_points(p.paths("pointcloud", seed=seed, layer=layer))
                        X = X.astype(np.float32).astype(np.float64)
                        D = cdist(X[rows], X[rows])
                        ring = [D[i, (i + 1) % len(rows)] for i in range(len(rows))]
                        np.testing.assert_allclose(c["edge_lengths"], ring, rtol=1e-6)
    assert n_cycles > 0


def test_figures_and_page_are_written(tiny_run, plan):
    p, cyc = plan
    for f in cyc.outputs:
        assert Path(f).is_file(), f
    text = open(cyc.path("cycles_page"), encoding="utf-8").read()
    data = json.loads(re.search(r'id="cnntopo-cycles-data">(.*?)</script>', text, re.S).group(1))
    assert len(data["entries"]) == len(cyc.page_inputs)
    on_loops = {str(i) for e in data["entries"] for c in e["cycles"] for i in c["images"]}
    assert set(data["thumbs"]) == on_loops


def test_the_mapper_explorer_links_to_the_cycles_page(tiny_run, plan):
    _, cyc = plan
    page = Path(cyc.path("cycles_page"))
    for explorer in sorted((tiny_run / "mapper" / "explorer").glob("*.html")):
        href = re.search(
            r'<a class="info" href="([^"]+)">representative cycles</a>',
            explorer.read_text(encoding="utf-8"),
        )
        assert href, explorer
        assert (explorer.parent / href.group(1)).resolve() == page.resolve()
