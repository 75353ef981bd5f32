"""Tests for cnntopo.ph.cross_figures (specificity, sensitivity and comparison figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from cnntopo.nets.layers import layer_shapes, paper_layer_names
from cnntopo.ph.cross_figures import comparison_figure, sensitivity_figure, specificity_figure
from cnntopo.ph.figures import save_figure, short_layer_label
from cnntopo.ph.specificity import mean_cross_block, specificity_table

LAYERS = paper_layer_names()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF"


def _assert_saved(fig: Figure, tmp_path, stem: str) -> None:
    png, pdf = tmp_path / f"{stem}.png", tmp_path / f"{stem}.pdf"
    save_figure(fig, [png, pdf])
    for path, magic in ((png, PNG_MAGIC), (pdf, PDF_MAGIC)):
        assert path.stat().st_size > 1000
        assert path.read_bytes()[: len(magic)] == magic


def _cross_matrix(S: int = 3, L: int = 17, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    layers = np.tile(np.arange(L), S)
    D = np.abs(layers[:, None] - layers[None, :]) + 1.5 * rng.random((S * L, S * L))
    D = (D + D.T) / 2
    np.fill_diagonal(D, 0.0)
    return D


def _curve(c: int, scale: float, value: str) -> pd.DataFrame:
    k = np.linspace(4, c, c // 4, endpoint=False).astype(int)
    frac = k / c
    y = scale * frac**2 if value == "sw" else 1.0 - 0.3 * frac**3
    return pd.DataFrame({"k": k, "fraction_removed": frac, value: y})


@pytest.fixture(scope="module")
def specificity_inputs():
    D = _cross_matrix()
    return mean_cross_block(D, 3, 17), specificity_table(D, LAYERS, 3)


def test_specificity_figure(tmp_path, specificity_inputs):
    block, table = specificity_inputs
    fig = specificity_figure(
        block, table, LAYERS, metric_label="sliced Wasserstein (H1)", kind="distance"
    )
    assert isinstance(fig, Figure)
    heat, bars = fig.axes[0], fig.axes[1]
    assert heat.images[0].get_array().shape == (17, 17)
    assert len(bars.patches) == 2 * 17
    assert [t.get_text() for t in bars.get_xticklabels()] == [short_layer_label(n) for n in LAYERS]
    assert "overall" in bars.get_title()
    _assert_saved(fig, tmp_path, "specificity")


def test_specificity_figure_similarity_without_overall_row(tmp_path, specificity_inputs):
    block, table = specificity_inputs
    per_layer = table[table["layer"] != "overall"]
    fig = specificity_figure(
        1.0 - block / block.max(), per_layer, LAYERS, metric_label="linear CKA", kind="similarity"
    )
    assert "higher = closer" in fig.axes[0].get_title()
    _assert_saved(fig, tmp_path, "specificity_cka")


def test_specificity_figure_validation(specificity_inputs):
    block, table = specificity_inputs
    with pytest.raises(ValueError, match="kind"):
        specificity_figure(block, table, LAYERS, metric_label="x", kind="kernel")
    with pytest.raises(ValueError, match="within_1"):
        specificity_figure(block, table.drop(columns="within_1"), LAYERS, metric_label="x")
    with pytest.raises(ValueError, match="no row"):
        specificity_figure(block, table.iloc[3:], LAYERS, metric_label="x")
    with pytest.raises(TypeError, match="DataFrame"):
        specificity_figure(block, table.to_dict(), LAYERS, metric_label="x")
    with pytest.raises(ValueError, match="square"):
        specificity_figure(block[:, :5], table, LAYERS, metric_label="x")


@pytest.mark.parametrize("value", ["sw", "cka"])
def test_sensitivity_figure(tmp_path, value):
    widths = {name: shape[0] for name, shape in layer_shapes().items()}
    curves = {name: _curve(c, 1.0 + i, value) for i, (name, c) in enumerate(widths.items())}
    fig = sensitivity_figure(curves, value=value)
    ax = fig.axes[0]
    assert len(ax.lines) == 17
    colors = [to_hex(line.get_color()) for line in ax.lines]
    assert len(set(colors)) == 17  # one colour per depth
    assert ax.get_xlabel().startswith("fraction of directions removed")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [short_layer_label(n) for n in LAYERS]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), curves["conv1"]["fraction_removed"])
    _assert_saved(fig, tmp_path, f"sensitivity_{value}")


def test_sensitivity_figure_custom_label_and_validation(tmp_path):
    curves = {"conv1": _curve(64, 2.0, "sw")}
    fig = sensitivity_figure(curves, value="sw", ylabel="SW to original")
    assert fig.axes[0].get_ylabel() == "SW to original"
    with pytest.raises(ValueError, match="value"):
        sensitivity_figure(curves, value="procrustes")
    with pytest.raises(ValueError, match="empty"):
        sensitivity_figure({})
    with pytest.raises(ValueError, match="lacks"):
        sensitivity_figure(curves, value="cka")


def test_comparison_figure(tmp_path):
    rng = np.random.default_rng(1)
    sw = rng.random((17, 17))
    sw = (sw + sw.T) / 2
    np.fill_diagonal(sw, 0.0)
    cka = 1.0 - sw
    fig = comparison_figure(
        sw,
        cka,
        LAYERS,
        left_title="sliced Wasserstein (H1)",
        right_title="linear CKA",
        left_label="SW",
        right_label="CKA",
        right_cmap="viridis_r",
    )
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert len(heatmaps) == 2
    assert [ax.get_title() for ax in heatmaps] == ["sliced Wasserstein (H1)", "linear CKA"]
    _assert_saved(fig, tmp_path, "comparison")
    with pytest.raises(ValueError, match="labels"):
        comparison_figure(
            sw,
            cka[:5, :5],
            LAYERS,
            left_title="a",
            right_title="b",
            left_label="a",
            right_label="b",
        )
