"""The Mapper branch through Snakemake: eps values that 6-digit names lost reach the graphs.

One small run of config/tiny.yaml's Mapper network, restricted to one construction and
one layer, with a noisy copy of its cloud and two eps values whose old names were wrong
(``5e-05`` was rejected by the wildcard pattern, ``0.1234567`` was rounded to
``0.123457``). Only the Mapper statistics are asked for, so no PH job runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cnntopo.names import format_cloud, format_setting
from conftest import REPO, run_snakemake

EPS = [5e-05, 0.1234567]
SIGMA = 1.5e-05
LAYER = "layer4.1.bn2"


def _config(tmp_path: Path, **graph) -> Path:
    cfg = yaml.safe_load((REPO / "config/tiny.yaml").read_text())
    cfg["results_dir"] = str(tmp_path / "results")
    cfg["mapper"].update(
        layers=[LAYER],
        constructions=["random"],
        noise={"sigmas": [SIGMA], "constructions": ["random"], "layers": [LAYER]},
        graph={"intervals": [8], "eps": EPS, **graph},
    )
    path = tmp_path / f"config{len(graph)}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _snakemake(config: Path, *args: str):
    out = yaml.safe_load(config.read_text())["results_dir"]
    stats = f"{out}/tiny/mapper/stats.csv"
    return run_snakemake(*args, "--configfile", str(config), "--", stats, timeout=1800)


@pytest.mark.slow
def test_graphs_get_the_configured_eps_exactly(tmp_path):
    config = _config(tmp_path)
    proc = _snakemake(config, "--cores", "2")
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    out = tmp_path / "results/tiny/mapper"
    clouds = ["random", format_cloud("random", SIGMA)]
    assert clouds[1] == "random-noise1.5e-05"
    for cloud in clouds:
        assert (out / "clouds" / cloud / f"{LAYER}.npz").exists()
        for eps in EPS:
            path = out / "graphs" / cloud / LAYER / f"{format_setting(8, 30, eps)}.json"
            meta = json.loads(path.read_text())["meta"]
            assert meta["eps"] == eps and meta["eps_source"] == "given", meta
    stats = pd.read_csv(out / "stats.csv")
    assert sorted(stats["eps"]) == sorted(EPS * 2)
    assert not (tmp_path / "results/tiny/models").exists()  # no PH job ran

    # the params are stable: nothing to redo; a graph parameter redoes the graphs only
    proc = _snakemake(config, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]
    proc = _snakemake(_config(tmp_path, min_samples=4), "-n", "--quiet", "rules")
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = {
        parts[0]
        for parts in map(str.split, (proc.stdout + proc.stderr).splitlines())
        if len(parts) == 2 and parts[1].isdigit()
    }
    assert {"mapper_graph", "mapper_stats"} <= jobs
    assert not jobs & {"mapper_clouds", "train_mapper_model", "select_mapper_images"}
