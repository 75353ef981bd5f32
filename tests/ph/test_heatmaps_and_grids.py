"""Tests for cnntopo.ph.figures (paper-style heatmaps and diagram grids)."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnntopo.ph.figures import (
    diagram_grid,
    heatmap_figure,
    heatmap_grid,
    layer_heatmap,
    paper_style,
    save_figure,
    short_layer_label,
    training_curves,
)

PH_LAYERS = ["conv1"] + [
    f"block_seq.{s}.{b}.conv{k}" for s in range(4) for b in range(2) for k in (1, 2)
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _sym_matrix(k: int, seed: int = 0) -> np.ndarray:
    a = np.random.default_rng(seed).random((k, k))
    a = (a + a.T) / 2
    np.fill_diagonal(a, 0.0)
    return a


def _assert_written(path, magic: bytes) -> None:
    assert path.exists() and path.stat().st_size > 100
    assert path.read_bytes()[: len(magic)] == magic
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_short_labels_for_the_17_layers():
    labels = [short_layer_label(n) for n in PH_LAYERS]
    assert len(PH_LAYERS) == 17
    assert len(set(labels)) == 17
    assert labels[0] == "conv1"
    assert short_layer_label("block_seq.2.1.conv2") == "s3.b2.c2"
    assert short_layer_label("block_seq.0.0.conv1") == "s1.b1.c1"
    assert short_layer_label("block_seq.3.1.bn2") == "s4.b2.bn2"
    assert max(len(x) for x in labels) <= 8
    # other names are returned unchanged
    for name in ("layer4.1.bn2", "bn1", "fc", "block_seq.0"):
        assert short_layer_label(name) == name


def test_paper_style_restores_rcparams():
    before = mpl.rcParams["font.size"]
    with paper_style():
        assert mpl.rcParams["font.size"] == 8
        assert mpl.rcParams["savefig.dpi"] == 300
        assert mpl.rcParams["savefig.bbox"] == "tight"
    assert mpl.rcParams["font.size"] == before


def test_heatmap_figure_png_and_pdf(tmp_path):
    fig = heatmap_figure(_sym_matrix(17), PH_LAYERS, "model 0", "SW (H1)")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["conv1", "s1.b1.c1"]
    png, pdf = tmp_path / "out" / "h.png", tmp_path / "out" / "h.pdf"
    save_figure(fig, [png, pdf])
    _assert_written(png, PNG_MAGIC)
    _assert_written(pdf, b"%PDF")


def test_layer_heatmap_on_given_axes_with_annotations(tmp_path):
    fig = Figure()
    ax = fig.add_subplot()
    m = _sym_matrix(4)
    m[0, 1] = np.nan  # blank cell, no text
    out = layer_heatmap(m, ["a", "b", "c", "d"], ax=ax, annotate=True, vmin=0, vmax=1)
    assert out is ax
    assert len(ax.texts) == 15
    assert ax.images[0].get_clim() == (0, 1)
    save_figure(fig, str(tmp_path / "a.svg"))
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()[:500]


def test_heatmap_grid_shared_and_separate_scales(tmp_path):
    mats = {f"model {i}": _sym_matrix(17, seed=i) * (i + 1) for i in range(4)}
    fig = heatmap_grid(mats, PH_LAYERS, ncols=3, suptitle="SW, 4 models")
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == list(mats)
    clims = {ax.images[0].get_clim() for ax in panels}
    assert len(clims) == 1  # one shared scale
    assert clims.pop() == (0.0, max(m.max() for m in mats.values()))
    save_figure(fig, tmp_path / "grid.png")
    _assert_written(tmp_path / "grid.png", PNG_MAGIC)

    fig2 = heatmap_grid(mats, PH_LAYERS, ncols=2, shared_scale=False)
    clims2 = {ax.images[0].get_clim() for ax in fig2.axes if ax.images}
    assert len(clims2) == 4


def test_diagram_grid_with_essential_bars(tmp_path):
    rng = np.random.default_rng(0)
    dgms_by_layer = {}
    for name in PH_LAYERS[:5]:
        h0 = np.column_stack([np.zeros(20), rng.uniform(0.1, 2.0, 20)])
        h0[-1, 1] = np.inf
        b = rng.uniform(0.5, 1.5, 10)
        h1 = np.column_stack([b, b + rng.uniform(0, 0.5, 10)])
        dgms_by_layer[name] = [h0, h1]
    dgms_by_layer["empty"] = [np.zeros((0, 2)), np.zeros((0, 2))]
    fig = diagram_grid(dgms_by_layer, ncols=4, title="top-l2 diagrams")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["conv1", "s1.b1.c1", "s1.b1.c2", "s1.b2.c1", "s1.b2.c2", "empty"]
    first = fig.axes[0]
    assert first.get_yticklabels()[-1].get_text() == r"$\infty$"
    # the essential bar is drawn on the infinity line, inside the axes
    inf_level = first.get_yticks()[-1]
    offsets = first.collections[0].get_offsets()
    assert np.isclose(offsets[:, 1].max(), inf_level)
    assert inf_level < first.get_ylim()[1]
    save_figure(fig, [tmp_path / "d.png", tmp_path / "d.pdf"])
    _assert_written(tmp_path / "d.png", PNG_MAGIC)
    _assert_written(tmp_path / "d.pdf", b"%PDF")


def test_pdf_output_is_reproducible(tmp_path):
    for name in ("a.pdf", "b.pdf"):
        save_figure(heatmap_figure(_sym_matrix(5), list("abcde"), "t", "c"), tmp_path / name)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_validation_errors(tmp_path):
    with pytest.raises(ValueError, match=r"square \(K, K\)"):
        layer_heatmap(np.zeros((3, 4)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="3 labels were given"):
        layer_heatmap(np.zeros((4, 4)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="matrix 'm1'"):
        heatmap_grid({"m0": np.zeros((2, 2)), "m1": np.zeros((3, 3))}, ["a", "b"])
    with pytest.raises(ValueError, match="at least one panel"):
        heatmap_grid({}, ["a"])
    with pytest.raises(ValueError, match="ncols"):
        heatmap_grid({"m": np.zeros((1, 1))}, ["a"], ncols=0)
    with pytest.raises(ValueError, match="dims"):
        diagram_grid({"a": [np.zeros((0, 2))]}, dims=())
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        diagram_grid({"a": [np.zeros((3, 3))]}, dims=(0,))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        diagram_grid({"a": [np.zeros((0, 2)), np.ones(4)]})
    fig = heatmap_figure(np.zeros((2, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="suffix must be one of"):
        save_figure(fig, [tmp_path / "ok.png", tmp_path / "bad.jpg"])
    assert not (tmp_path / "ok.png").exists()  # nothing written on a bad path list
    with pytest.raises(ValueError, match="at least one output path"):
        save_figure(fig, [])


def test_training_curves(tmp_path):
    history = [
        {
            "epoch": e,
            "train_loss": 2.0 / e,
            "train_acc": 0.3 + 0.1 * e,
            "test_acc": (0.5 if e == 3 else None),
            "test_loss": None,
            "lr": 0.1,
            "seconds": 1.0,
        }
        for e in (1, 2, 3)
    ]
    records = [
        {"seed": 1, "history": history, "test_accuracy": 0.5},
        {"seed": 0, "history": history[:2], "test_accuracy": None},
        {"seed": 7, "history": [], "test_accuracy": 0.91},  # imported checkpoint
    ]
    fig = training_curves(records)
    ax_loss, ax_acc = fig.axes[:2]
    assert len(ax_loss.lines) == 2
    assert [t.get_text() for t in ax_acc.get_legend().get_texts()] == ["seed 1"]
    save_figure(fig, tmp_path / "training.png")
    _assert_written(tmp_path / "training.png", PNG_MAGIC)
    fig = training_curves([{"seed": 3, "history": [], "test_accuracy": 0.9}])
    assert "no training history" in fig.axes[0].texts[0].get_text()
    with pytest.raises(ValueError, match="at least one metrics record"):
        training_curves([])


def test_grid_with_constant_matrix(tmp_path):
    """A standard-deviation panel over one model is all zeros: still drawable."""
    mats = {"mean": _sym_matrix(3), "std": np.zeros((3, 3))}
    fig = heatmap_grid(mats, ["a", "b", "c"], ncols=2, shared_scale=False)
    save_figure(fig, tmp_path / "g.png")
    _assert_written(tmp_path / "g.png", PNG_MAGIC)
