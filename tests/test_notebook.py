"""The example notebook runs top to bottom on the tiny run's results."""

from __future__ import annotations

import json
import os

import matplotlib

matplotlib.use("Agg")


def test_notebook_executes_on_tiny_results(repo, tiny_run, monkeypatch):
    nb = json.loads((repo / "notebooks" / "explore_results.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 4
    monkeypatch.setenv("CNNTOPO_RESULTS", str(tiny_run))
    namespace: dict = {}
    for cell in code:
        exec(compile(cell, "explore_results.ipynb", "exec"), namespace)  # noqa: S102
    assert namespace["summary"].shape[0] == 2
    assert set(namespace["mats"]) == {"seed 0", "seed 1"}
    assert namespace["corr"].shape == (2, 2)
    assert os.environ["CNNTOPO_RESULTS"] == str(tiny_run)
