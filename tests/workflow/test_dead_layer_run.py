"""The tiny DAG on a network with a dead layer: undefined is a result on every machine.

The shipped tiny config once failed on an AMD EPYC and passed on a Xeon: the same seeds
trained another network there, and seed 0's ``block_seq.0.0.conv1`` top-l2 cloud had
57.5 % zero pairwise distances (RBF CKA: median distance 0). Whether a layer dies
depends on the CPU's floating-point rounding during training, so that run tested the
degenerate path only by chance. Here the layer is dead by construction: a user network
(``model.arch: python:<file>:build``) whose last convolution has zero, frozen weights
and no bias and is added residually (``x + dead(x)``), so the network still trains and
that convolution's output is exactly 0 for every image on every machine.

The run (2 seeds, 4 convolutions, 40 images, mapper off, sensitivity on, every built-in
measure on ``topl2`` and ``flat``) must finish, and:

- ``analysis/specificity.csv`` has a row per (measure, representation) and per PH
  distance; every row whose matrix has undefined entries names the dead layer and the
  reason in its ``note``; every number that is not undefined is finite;
- every similarity matrix is NaN exactly on the rows / columns its ``meta["notes"]``
  names, and finite elsewhere; the dead layer of both seeds is noted (constant
  representation: zero variance, or no RBF bandwidth) for every measure;
- the PH distances of the dead layer (an empty H1 diagram, one essential H0 bar) are
  finite: a diagram distance is defined on empty diagrams.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from cnntopo.artifacts import read_array
from cnntopo.stages.common import load_cross
from conftest import REPO, run_snakemake

DEAD_NET = '''
"""A small CNN whose last convolution is dead: zero, frozen weights, no bias, residual."""

import torch.nn as nn


class DeadLayerNet(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1)
        self.dead = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        nn.init.zeros_(self.dead.weight)
        self.dead.weight.requires_grad_(False)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))  # 32 -> 16 px
        x = self.relu(self.conv2(x))
        x = self.pool(self.relu(self.conv3(x)))  # 16 -> 8 px
        x = x + self.dead(x)  # dead(x) == 0: the network trains as if it were absent
        return self.head(x)


def build(num_classes):
    return DeadLayerNet(num_classes)
'''

DEAD = "dead"
LAYERS = ["conv1", "conv2", "conv3", DEAD]
SEEDS = [0, 1]
MEASURES = ["cka_linear", "cka_rbf", "cka_debiased", "procrustes", "cca", "svcca", "pwcca"]
#: What a note of a constant representation says (cnntopo.ph.similarity: ZERO_VARIANCE
#: and RBF CKA's "all pairwise distances are 0 ...").
CONSTANT = ("zero variance", "constant representation")


def _config(tmp_path):
    net = tmp_path / "dead_net.py"
    net.write_text(DEAD_NET)
    config = yaml.safe_load((REPO / "config/tiny.yaml").read_text())
    config.update(
        experiment="deadlayer",
        results_dir=str(tmp_path / "results"),
        model={"arch": f"python:{net}:build", "seeds": SEEDS},
        training={**config["training"], "epochs": 1, "lr_peak_epoch": 1, "max_train_images": 128},
        activations={"n_images": 40, "batch_size": 40, "layers": ["type:Conv2d"]},
        persistence={"backend": "giotto"},
        # the width of a user network is its own: step 2 of 8 channels removes 2, 4, 6
        sensitivity={"enabled": True, "step": 2},
        distances={"within_metrics": ["sliced_wasserstein"], "bootstrap": 0},
        similarity={
            "measures": MEASURES,
            "representations": ["topl2", "flat"],
            "rbf_sigmas": [0.4],
            "diagram_distances": ["sliced_wasserstein_H0", "sliced_wasserstein_H1"],
            "bootstrap": 20,
            "permutations": 20,
        },
        mapper={"enabled": False},
    )
    cfg = tmp_path / "deadlayer.yaml"
    cfg.write_text(yaml.safe_dump(config))
    return cfg, tmp_path / "results/deadlayer"


def _labels() -> list[str]:
    return [f"{s}/{layer}" for s in SEEDS for layer in LAYERS]


@pytest.mark.slow
def test_dead_layer_runs_and_every_undefined_value_says_why(tmp_path):
    pytest.importorskip("torch")
    cfg, out = _config(tmp_path)
    proc = run_snakemake("--cores", "2", "--configfile", str(cfg), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-8000:]
    check_outputs(out)


def check_outputs(out) -> None:
    """The assertions on a finished run's folder ``out`` (``results/deadlayer``)."""
    # the layer is really dead, and the rest is not
    for seed in SEEDS:
        manifest = json.loads((out / f"activations/seed{seed}/manifest.json").read_text())
        assert [e["name"] for e in manifest["layers"]] == LAYERS
        acts = {layer: read_array(out / f"activations/seed{seed}/{layer}.npy") for layer in LAYERS}
        assert not acts[DEAD].any()
        assert all(acts[layer].std() > 0 for layer in LAYERS[:-1])

    # the similarity matrices: NaN exactly where the notes say, finite elsewhere
    dead_rows = [i for i, label in enumerate(_labels()) if label.endswith(f"/{DEAD}")]
    labels = [*MEASURES[:1], "cka_rbf_0.4", *MEASURES[2:]]
    noted_by: dict = {}
    for rep in ("topl2", "flat"):
        for label in labels:
            matrix, _, layers, meta = load_cross(out / f"similarity/{rep}/cross_{label}.npz")
            assert layers == LAYERS
            notes = meta["notes"]
            noted_by[(label, rep)] = notes
            noted = [i for i, lab in enumerate(_labels()) if lab in notes]
            assert set(dead_rows) <= set(noted), (rep, label, notes)
            for where in (f"{s}/{DEAD}" for s in SEEDS):
                assert any(word in notes[where] for word in CONSTANT), (rep, label, notes)
            assert np.isnan(matrix[noted]).all() and np.isnan(matrix[:, noted]).all()
            keep = [i for i in range(len(_labels())) if i not in noted]
            assert np.isfinite(matrix[np.ix_(keep, keep)]).all(), (rep, label, notes)
            # only the CCA family may be undefined on live layers (flat spans all n - 1
            # directions: trivial correlations), and then it says so
            for where in set(notes) - {f"{s}/{DEAD}" for s in SEEDS}:
                assert label in ("cca", "pwcca", "svcca") and "trivially 1" in notes[where]

    # the tests' table: a row per (measure, representation) and PH distance
    spec = pd.read_csv(out / "analysis/specificity.csv")
    spec["note"] = spec["note"].fillna("")
    rows = {(r.measure, r.representation): r for r in spec.itertuples()}
    for rep in ("topl2", "flat"):
        for label in labels:
            row = rows[(label, rep)]
            # the note counts the matrix's undefined (model, layer)s and gives the reasons
            notes = noted_by[(label, rep)]
            assert f"undefined for {len(notes)} (model, layer)" in row.note, (label, rep, row.note)
            assert all(reason in row.note for reason in notes.values()), (label, rep, row.note)
            if len(notes) <= 3:
                assert all(where in row.note for where in notes), (label, rep, row.note)
            # cases whose nearest layer involves a NaN entry are dropped and counted
            assert row.n_dropped > 0 and f"{row.n_dropped} of" in row.note
            if row.n_cases > 0:
                assert np.isfinite([row.exact, row.ci_low, row.ci_high]).all(), (label, rep)
                assert 0.0 <= row.ci_low <= row.ci_high <= 1.0 and 0.0 <= row.exact <= 1.0
            else:  # every case undefined (the CCA family on flat): NaN, and said why
                assert np.isnan(row.exact) and "trivially 1" in row.note
    for dim in (0, 1):
        row = rows[(f"sliced_wasserstein_H{dim}", "topl2")]
        # a diagram distance is defined on the dead layer's (empty H1) diagrams
        assert row.n_dropped == 0 and row.n_cases == len(SEEDS) * (len(SEEDS) - 1) * len(LAYERS)
        assert np.isfinite([row.exact, row.within1, row.ci_low, row.ci_high]).all()
        matrix, _, _, _ = load_cross(out / f"distances/topl2/sliced_wasserstein_H{dim}/cross.npz")
        assert np.isfinite(matrix).all()
    # the other tables were written, with the same notes
    depth = pd.read_csv(out / "analysis/layer_depth.csv")
    assert len(depth) == len(spec)
    assert (out / "analysis/stage_permutation.csv").is_file()
    # the sensitivity test on seed 0: the measures say the dead layer is undefined, the
    # PH distance (empty H1 diagrams: distance 0 after every removal) is defined
    sens = pd.read_csv(out / "analysis/sensitivity.csv")
    sens["note"] = sens["note"].fillna("")
    for row in sens.itertuples():
        if row.measure.startswith("sliced_wasserstein"):
            assert row.note == "" and np.isfinite(row.rho), row
        else:
            assert f"0/{DEAD} (" in row.note or "undefined for 4 of 4" in row.note, row
            assert np.isfinite(row.rho) or row.n_cases == 0, row
    print(spec[["measure", "representation", "exact", "n_cases", "n_dropped"]].to_string())
