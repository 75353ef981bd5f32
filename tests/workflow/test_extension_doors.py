"""The three user doors through the tiny DAG: a network, a measure and a construction.

One small Snakemake run of config/tiny.yaml with everything from user files the test
writes: ``model.arch: python:<file>:build`` (three convolutions, one per resolution, so
the stage permutation test cannot apply), ``similarity.measures: [cka_linear,
python:<file>:rsa]`` (representational similarity analysis, a correlation of distance
matrices) and ``mapper.constructions: [random, python:<file>:gap]`` (global average pooling,
one point per image). Their rows and files must appear like the built-ins'.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO, run_snakemake

USER_NET = """
import torch.nn as nn


def build(num_classes):
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes),
    )
"""

USER_MEASURE = """
import numpy as np
from scipy.spatial.distance import pdist


def rsa(x, y):
    \"\"\"Pearson correlation of the two representations' pairwise distances.\"\"\"
    return float(np.corrcoef(pdist(x), pdist(y))[0, 1])
"""

USER_CLOUD = """
import numpy as np


def gap(activations, labels):
    \"\"\"Global average pooling: one point per image, its channels' spatial means.\"\"\"
    a = np.asarray(activations, dtype=np.float64)
    return a.reshape(a.shape[0], a.shape[1], -1).mean(axis=2)
"""


@pytest.mark.slow
def test_user_network_measure_and_construction_run_end_to_end(tmp_path):
    files = {}
    for name, text in (
        ("user_net", USER_NET),
        ("user_measure", USER_MEASURE),
        ("user_cloud", USER_CLOUD),
    ):
        files[name] = tmp_path / f"{name}.py"
        files[name].write_text(text)
    config = yaml.safe_load((REPO / "config/tiny.yaml").read_text())
    config.update(
        experiment="doors",
        results_dir=str(tmp_path / "results"),
        model={"arch": f"python:{files['user_net']}:build", "seeds": [0, 1]},
        training={**config["training"], "epochs": 1, "lr_peak_epoch": 1, "max_train_images": 256},
        activations={"n_images": 60, "batch_size": 60},
        # PH of the flattened activations too, and the topological / neighbourhood
        # measures that use the pairing, next to the user's measure
        persistence={**config.get("persistence", {}), "representations": ["topl2", "flat"]},
        similarity={
            "measures": [
                "cka_linear",
                "rtd",
                "knn_jaccard",
                "mutual_knn",
                f"python:{files['user_measure']}:rsa",
            ],
            "representations": ["topl2", "flat"],
            "diagram_distances": ["sliced_wasserstein_H1"],
            "bootstrap": 20,
            "permutations": 50,
        },
        distances={"within_metrics": ["sliced_wasserstein"]},
    )
    mapper = config["mapper"]
    mapper.update(
        constructions=["random", f"python:{files['user_cloud']}:gap"],
        noise={"sigmas": []},
        graph={"intervals": [8]},
        figures={"panel_layers": mapper["layers"]},
    )
    cfg = tmp_path / "doors.yaml"
    cfg.write_text(yaml.safe_dump(config))
    root = tmp_path / "results/doors"
    targets = [
        root / "analysis/specificity.csv",
        root / "analysis/stage_permutation.csv",
        root / "mapper/stats.csv",
    ]
    proc = run_snakemake(*map(str, targets), "--cores", "2", "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

    spec = pd.read_csv(root / "analysis/specificity.csv")
    rows_of = set(zip(spec["measure"], spec["representation"], strict=True))
    for measure in ("cka_linear", "rtd", "knn_jaccard", "mutual_knn", "sliced_wasserstein_H1"):
        assert {(measure, "topl2"), (measure, "flat")} <= rows_of, measure
        assert spec.loc[spec["measure"] == measure, "exact"].notna().all(), measure
    rows = spec[spec["measure"] == "rsa"]
    assert sorted(rows["representation"]) == ["flat", "topl2"]
    assert rows["exact"].between(0, 1).all() and (rows["n_cases"] > 0).all()
    # the user measure's matrix is the function itself on the two layers' representations
    from cnntopo.stages.common import load_cross

    D, seeds, layers, meta = load_cross(root / "similarity/topl2/cross_rsa.npz")
    assert meta["kind"] == "similarity" and layers == ["0", "3", "6"] and seeds == [0, 1]
    from scipy.spatial.distance import pdist

    from cnntopo.ph.pointclouds import top_l2

    a = top_l2(np.load(root / "activations/seed0/3.npy"))[0]
    b = top_l2(np.load(root / "activations/seed1/6.npy"))[0]
    expected = np.corrcoef(pdist(a), pdist(b))[0, 1]
    assert D[1, 3 + 2] == pytest.approx(expected, rel=1e-6)
    # three layers at three resolutions: no stage holds two layers, so the permutation test
    # cannot apply; its rows say so, and the rest of the analysis is written
    perm = pd.read_csv(root / "analysis/stage_permutation.csv")
    assert perm["p_value"].isna().all() and perm["note"].notna().all()
    assert set(perm["measure"]) >= {"cka_linear", "rsa", "sliced_wasserstein_H1"}
    assert spec["exact"].notna().any()
    # the user construction: a cloud of one point per image, with graphs and statistics
    stats = pd.read_csv(root / "mapper/stats.csv")
    assert {"random", "gap"} <= set(stats["cloud"])
    for layer in mapper["layers"]:
        cloud = root / f"mapper/clouds/gap/{layer}.npz"
        with np.load(cloud, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            assert z["points"].ndim == 2
            assert z["points"].shape[0] == len(z["labels"])
        assert "user_cloud.py" in json.dumps(meta)
