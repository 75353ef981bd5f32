"""Cross-architecture comparison: depth fractions, nearest-layer matching, the figure."""

from __future__ import annotations

import numpy as np
import pytest

from cnntopo.ph.cross_arch import cross_architecture_figure, depth_fractions, depth_matching
from cnntopo.ph.figures import save_figure


def test_depth_fractions():
    assert depth_fractions(1).tolist() == [0.0]
    assert depth_fractions(3).tolist() == [0.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="n_layers"):
        depth_fractions(0)


def test_depth_matching_of_a_network_with_itself_and_a_shifted_one():
    # distances that grow with the difference in relative depth: the nearest layer of B
    # is the one at the same relative depth, error 0
    da, db = depth_fractions(5), depth_fractions(9)
    match = depth_matching(np.abs(da[:, None] - db[None, :]) + 0.1)
    assert match["nearest"].tolist() == [0, 2, 4, 6, 8]
    assert np.allclose(match["depth_error"], 0)
    # chance: mean |depth_a - depth_b| over B's layers, by hand for the first row
    assert match["chance_error"][0] == pytest.approx(db.mean())
    # every layer of A closest to B's last layer: errors 1, 0.75, ..., 0
    last = np.ones((5, 9))
    last[:, -1] = 0
    assert np.allclose(depth_matching(last)["depth_error"], [1, 0.75, 0.5, 0.25, 0])
    with pytest.raises(ValueError, match="NaN"):
        depth_matching([[np.nan]])


def test_figure(tmp_path):
    rng = np.random.default_rng(0)
    fig = cross_architecture_figure(
        rng.random((4, 6)), [f"a{i}" for i in range(4)], [f"b{i}" for i in range(6)], "A", "B"
    )
    save_figure(fig, [tmp_path / "x.png"])
    assert (tmp_path / "x.png").stat().st_size > 5000
