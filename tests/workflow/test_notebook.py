"""The example notebook runs top to bottom on the tiny run's results."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.mark.slow
def test_notebook_executes_on_tiny_results(repo, tiny_run, monkeypatch):
    nb = json.loads((repo / "notebooks" / "explore_results.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 4
    monkeypatch.setenv("CNNTOPO_RESULTS", str(tiny_run))
    namespace: dict = {}
    figures: list = []  # every figure a cell left in ``fig``
    try:
        for cell in code:
            exec(compile(cell, "explore_results.ipynb", "exec"), namespace)  # noqa: S102
            fig = namespace.get("fig")
            if fig is not None and all(fig is not f for f in figures):
                figures.append(fig)
    finally:
        plt.close("all")
    assert namespace["RESULTS"] == tiny_run  # the run named by CNNTOPO_RESULTS, not the default

    # the models table holds the accuracies the workflow's experiment summary reports
    record = json.loads((tiny_run / "summary.json").read_text())
    summary = namespace["summary"]
    assert summary.shape[0] == record["n_models"] == 2
    assert summary["test_accuracy"].mean() == pytest.approx(record["test_accuracy_mean"])

    # one diagram list per layer, H0 with its essential bar
    layers = namespace["LAYERS"]
    assert list(namespace["dgms"]) == layers and len(layers) == 17
    assert all(np.isinf(dg[0][:, 1]).sum() == 1 for dg in namespace["dgms"].values())

    # the seed matrices and their mean are the workflow's own
    assert set(namespace["mats"]) == {"seed 0", "seed 1"}
    with np.load(tiny_run / "distances/topl2/sliced_wasserstein_H1/mean.npz") as z:
        np.testing.assert_allclose(namespace["mean"], z["mean"], rtol=1e-12)
    corr = namespace["corr"].to_numpy()
    assert corr.shape == (2, 2)
    np.testing.assert_allclose(np.diag(corr), 1.0)

    # three figures drawn: the diagram grid (a panel per layer), the seed heatmaps, the mean
    assert len(figures) == 3
    assert len(figures[0].axes) >= len(layers)
    assert len(figures[1].axes) >= 2 and figures[2].axes
