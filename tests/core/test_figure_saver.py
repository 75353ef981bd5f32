"""The one figure saver: every format, atomic, no temporary file left on any error."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnntopo.figures_io import figure_format, save_figure


def _figure() -> Figure:
    fig = Figure(figsize=(2, 2), dpi=50)
    ax = fig.subplots()
    ax.plot(np.arange(5), np.arange(5) ** 2)
    ax.set_title("t")
    return fig


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def test_every_suffix_gives_its_format_and_pdf_svg_are_byte_reproducible(tmp_path):
    written = save_figure(_figure(), [tmp_path / "a.png", tmp_path / "a.pdf", tmp_path / "a.svg"])
    assert [p.name for p in written] == ["a.png", "a.pdf", "a.svg"]
    assert (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    assert b"<svg" in (tmp_path / "a.svg").read_bytes()
    save_figure(_figure(), [tmp_path / "b.pdf", tmp_path / "b.svg"])
    for ext in ("pdf", "svg"):
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes()
    assert _leftovers(tmp_path) == []


def test_dpi_sets_the_raster_size_and_style_applies_while_saving(tmp_path):
    import matplotlib.image as mpimg

    before = dict(mpl.rcParams)
    save_figure(_figure(), tmp_path / "lo.png", dpi=50, bbox_inches=None)
    save_figure(
        _figure(), tmp_path / "hi.png", bbox_inches=None, style={"savefig.dpi": 100}
    )  # dpi from the style
    assert mpimg.imread(tmp_path / "lo.png").shape[:2] == (100, 100)  # 2 in x 50 dpi
    assert mpimg.imread(tmp_path / "hi.png").shape[:2] == (200, 200)
    assert dict(mpl.rcParams) == before  # the style is undone


def test_suffixes_are_checked_before_anything_is_written(tmp_path):
    fig = _figure()
    with pytest.raises(ValueError, match=r"'.*bad\.xyz'.*suffix must be one of"):
        save_figure(fig, [tmp_path / "ok.png", tmp_path / "bad.xyz"])
    with pytest.raises(ValueError, match=r"suffix must be one of \['\.pdf', '\.png'\]"):
        save_figure(fig, [tmp_path / "ok.png", tmp_path / "x.svg"], formats=("png", "pdf"))
    with pytest.raises(ValueError, match="at least one output path"):
        save_figure(fig, [])
    assert list(tmp_path.iterdir()) == []
    assert fig.axes  # a refused call leaves the figure to the caller
    assert figure_format(fig, "A.PDF", None) == "pdf"


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_an_error_while_writing_leaves_no_temporary_file(tmp_path, monkeypatch, error):
    fig = _figure()
    real = fig.savefig
    calls = []

    def failing(fname, **kwargs):
        calls.append(kwargs["format"])
        if kwargs["format"] == "pdf":  # the second file: write a little, then fail
            with open(fname, "wb") as fh:
                fh.write(b"%PDF-1.4 half")
            raise error
        real(fname, **kwargs)

    monkeypatch.setattr(fig, "savefig", failing)
    with pytest.raises(type(error)):
        save_figure(fig, [tmp_path / "f.png", tmp_path / "f.pdf", tmp_path / "f.svg"])
    assert calls == ["png", "pdf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png"]  # no f.pdf, no .tmp
    assert not fig.axes  # released also on failure


def test_close_false_keeps_the_figure(tmp_path):
    fig = _figure()
    save_figure(fig, tmp_path / "a.png", close=False)
    assert len(fig.axes) == 1
    save_figure(fig, tmp_path / "b.png")
    assert not fig.axes


def test_pyplot_figures_are_closed(tmp_path):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.subplots().plot([0, 1])
    assert plt.fignum_exists(fig.number)
    save_figure(fig, tmp_path / "p.png")
    assert not plt.fignum_exists(fig.number)


def test_the_three_callers_write_through_it(tmp_path, monkeypatch):
    # PH (paper style, three formats), Mapper (any format, figure kept), sweep summary
    import pandas as pd

    import cnntopo.figures_io as fio
    from cnntopo.mapper.draw import figure_purity
    from cnntopo.ph.figures import heatmap_figure
    from cnntopo.ph.figures import save_figure as paper_save
    from cnntopo.stages.summary import figure_sweep_summary

    seen = []
    real = fio.save_figure

    def spy(fig, paths, **kwargs):
        seen.append(kwargs)
        return real(fig, paths, **kwargs)

    monkeypatch.setattr(fio, "save_figure", spy)
    import cnntopo.mapper.draw as draw

    monkeypatch.setattr(draw, "save_figure", spy)

    paper_save(heatmap_figure(np.eye(2), ["a", "b"]), tmp_path / "h.pdf")
    with pytest.raises(ValueError, match="suffix must be one of"):
        paper_save(heatmap_figure(np.eye(2), ["a", "b"]), tmp_path / "h.eps")
    table = pd.DataFrame(
        {"construction": ["r", "r"], "layer": ["a", "b"], "nodewise": [1.0, 0.5],
         "classwise_mean": [0.9, 0.4]}
    )  # fmt: skip
    fig = figure_purity(table, [tmp_path / "p.png", tmp_path / "p.eps"], dpi=40)
    assert fig.axes  # the Mapper figures are returned intact
    summary = pd.DataFrame({"k": [1, 2], "variant": ["k~1", "k~2"], "x": [0.1, 0.2]})
    figure_sweep_summary(summary, ["k"], [tmp_path / "s.png"])
    paper, refused, mapper, sweep = seen
    assert paper["formats"] == ("png", "pdf", "svg") and paper["style"]["savefig.dpi"] == 300
    assert refused == paper
    assert mapper["close"] is False and mapper["dpi"] == 40
    assert sweep == {"dpi": 150, "bbox_inches": None}
    for name in ("h.pdf", "p.png", "p.eps", "s.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert not (tmp_path / "h.eps").exists() and _leftovers(tmp_path) == []
