"""Paper-style figures: layer-distance heatmaps, persistence diagrams, training curves.

Figures are built on :class:`matplotlib.figure.Figure` objects directly (no
pyplot, no GUI backend, no global figure registry), so this module works on
headless machines and in Snakemake jobs; saving uses the Agg/PDF/SVG canvases
chosen by file suffix. Every builder applies :func:`paper_style` itself.

Layer tick labels come from :func:`short_layer_label`, which shortens the 17 conv
layer names of the paper's CIFAR ResNet-18 (``conv1``,
``block_seq.{stage}.{block}.conv{k}``).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnntopo import figures_io

__all__ = [
    "PAPER_RC",
    "paper_style",
    "short_layer_label",
    "layer_heatmap",
    "heatmap_figure",
    "heatmap_grid",
    "diagram_grid",
    "training_curves",
    "save_figure",
]

#: rcParams applied by :func:`paper_style`.
PAPER_RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"],
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 7,
    "figure.titlesize": 9,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "lines.linewidth": 1.0,
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    "pdf.fonttype": 42,  # embed TrueType: text stays editable in the PDF
    "svg.fonttype": "none",
    "svg.hashsalt": "cnntopo",  # deterministic element ids in SVG output
    "image.interpolation": "nearest",
}

#: Output formats of :func:`save_figure` (by file suffix).
PAPER_FORMATS = ("png", "pdf", "svg")

_DIM_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")

_BLOCK_SEQ = re.compile(r"^block_seq\.(\d+)\.(\d+)\.(conv|bn)(\d+)$")


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Temporarily apply the paper's figure style (:data:`PAPER_RC`).

    Small (8 pt) sans-serif text, thin axes, 300 dpi and a tight bounding box when
    saving, TrueType fonts in PDF and text kept as text in SVG. The previous
    rcParams are restored on exit.

    Yields
    ------
    None
    """
    with mpl.rc_context(PAPER_RC):
        yield


def short_layer_label(name: str) -> str:
    """Short, readable tick label for a layer name.

    Scheme (stage and block numbers become 1-based, as in He et al.'s tables):

    - ``"conv1"`` (the stem) stays ``"conv1"``;
    - ``"block_seq.{s}.{b}.conv{k}"`` becomes ``"s{s+1}.b{b+1}.c{k}"``, e.g.
      ``"block_seq.2.1.conv2"`` -> ``"s3.b2.c2"``;
    - ``"block_seq.{s}.{b}.bn{k}"`` becomes ``"s{s+1}.b{b+1}.bn{k}"``;
    - any other name is returned unchanged.

    Parameters
    ----------
    name : str
        Module name as in ``model.named_modules()``.

    Returns
    -------
    str
        The label; distinct PH layer names give distinct labels.
    """
    match = _BLOCK_SEQ.match(name)
    if match is None:
        return name
    stage, block, kind, k = match.groups()
    return f"s{int(stage) + 1}.b{int(block) + 1}.{'c' if kind == 'conv' else 'bn'}{k}"


def _check_square(matrix: Any, labels: Sequence[str], what: str = "matrix") -> np.ndarray:
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{what} must be a square (K, K) array, got shape {arr.shape}")
    if len(labels) != arr.shape[0]:
        raise ValueError(
            f"{what} is {arr.shape[0]}x{arr.shape[1]} but {len(labels)} labels were given; "
            "pass one label per row (layer)"
        )
    return arr


def _finite_range(arrays: Sequence[np.ndarray]) -> tuple[float, float]:
    """Min and max over the finite entries of all arrays, (0, 1) if there are none."""
    vals = [a[np.isfinite(a)] for a in arrays]
    vals = [v for v in vals if v.size]
    if not vals:
        return 0.0, 1.0
    return float(min(v.min() for v in vals)), float(max(v.max() for v in vals))


def layer_heatmap(
    matrix: Any,
    labels: Sequence[str],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    cbar_label: str | None = "sliced Wasserstein (H1)",
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    annotate: bool = False,
    hatch: Any = None,
) -> Axes:
    """Draw a layer-by-layer distance matrix as a heatmap.

    Parameters
    ----------
    matrix : array_like, shape (K, K)
        Distances; row/column ``i`` is layer ``labels[i]`` (network order).
        Non-finite entries are left blank.
    labels : sequence of str, length K
        Layer names; shortened with :func:`short_layer_label` for the ticks.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into. By default a new single-panel figure is created.
    title : str, optional
        Panel title.
    cbar_label : str or None, default "sliced Wasserstein (H1)"
        Colour-bar label; ``None`` draws no colour bar (e.g. for a shared one).
    cmap : str, default "viridis"
        Matplotlib colour map.
    vmin, vmax : float, optional
        Colour limits; default to the finite data range.
    annotate : bool, default False
        Write each value (3 significant digits) in its cell.
    hatch : array_like of bool, shape (K, K), optional
        Cells to hatch (e.g. the differences that are not significant,
        :func:`cnntopo.ph.bootstrap.significance`); one ``Rectangle`` patch each.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into; the image is ``ax.images[0]``.

    Raises
    ------
    ValueError
        If ``matrix`` is not square or ``len(labels)`` differs from its size.
    """
    arr = _check_square(matrix, labels)
    with paper_style():
        if ax is None:
            fig = Figure(figsize=(3.4, 3.0), layout="constrained")
            ax = fig.add_subplot()
        lo, hi = _finite_range([arr])
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
        im = ax.imshow(np.ma.masked_invalid(arr), cmap=cmap, vmin=vmin, vmax=vmax, aspect="equal")
        ticks = np.arange(len(labels))
        short = [short_layer_label(str(name)) for name in labels]
        ax.set_xticks(ticks, short, rotation=90)
        ax.set_yticks(ticks, short)
        ax.tick_params(length=0)
        if title:
            ax.set_title(title)
        if hatch is not None:
            _hatch_cells(ax, hatch, arr.shape)
        if annotate:
            cm = mpl.colormaps[cmap]
            span = vmax - vmin if vmax > vmin else 1.0
            for (i, j), value in np.ndenumerate(arr):
                if not np.isfinite(value):
                    continue
                r, g, b, _ = cm(np.clip((value - vmin) / span, 0.0, 1.0))
                luminance = 0.299 * r + 0.587 * g + 0.114 * b
                ax.text(
                    j,
                    i,
                    f"{value:.3g}",
                    ha="center",
                    va="center",
                    fontsize=4,
                    color="black" if luminance > 0.5 else "white",
                )
        if cbar_label is not None:
            cbar = ax.figure.colorbar(im, ax=ax, shrink=0.85, pad=0.02)
            cbar.set_label(cbar_label)
            cbar.outline.set_linewidth(0.5)
    return ax


def _hatch_cells(ax: Axes, hatch: Any, shape: tuple[int, int]) -> None:
    from matplotlib.patches import Rectangle

    mask = np.asarray(hatch, dtype=bool)
    if mask.shape != shape:
        raise ValueError(f"hatch must have the matrix's shape {shape}, got {mask.shape}")
    for i, j in zip(*np.nonzero(mask), strict=True):
        ax.add_patch(
            Rectangle(
                (j - 0.5, i - 0.5), 1, 1, fill=False, hatch="////", linewidth=0, color="white"
            )
        )


def heatmap_figure(
    matrix: Any,
    labels: Sequence[str],
    title: str | None = None,
    cbar_label: str | None = "sliced Wasserstein (H1)",
    hatch: Any = None,
) -> Figure:
    """Single-panel figure with one layer-by-layer heatmap.

    Parameters
    ----------
    matrix : array_like, shape (K, K)
    labels : sequence of str, length K
    title : str, optional
    cbar_label : str or None, default "sliced Wasserstein (H1)"
    hatch : array_like of bool, shape (K, K), optional
        Cells to hatch (:func:`layer_heatmap`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        As :func:`layer_heatmap`.
    """
    return layer_heatmap(matrix, labels, title=title, cbar_label=cbar_label, hatch=hatch).figure


def _grid_shape(n_panels: int, ncols: int) -> tuple[int, int]:
    if isinstance(ncols, bool) or not isinstance(ncols, int | np.integer) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    if n_panels < 1:
        raise ValueError("nothing to plot: pass at least one panel")
    ncols = min(int(ncols), n_panels)
    return math.ceil(n_panels / ncols), ncols


def heatmap_grid(
    matrices: Mapping[str, Any],
    labels: Sequence[str],
    ncols: int = 3,
    shared_scale: bool = True,
    suptitle: str | None = None,
    cbar_label: str = "sliced Wasserstein (H1)",
    cmap: str = "viridis",
) -> Figure:
    """One heatmap panel per model (or per summary), in the mapping's order.

    Parameters
    ----------
    matrices : mapping of str to array_like, each shape (K, K)
        Panel title -> layer-by-layer matrix.
    labels : sequence of str, length K
        Layer names shared by all panels.
    ncols : int, default 3
        Panels per row.
    shared_scale : bool, default True
        One colour scale (the finite range over all panels) and one colour bar;
        otherwise every panel gets its own range and colour bar.
    suptitle : str, optional
        Figure title.
    cbar_label : str, default "sliced Wasserstein (H1)"
    cmap : str, default "viridis"

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``matrices`` is empty, any matrix is not square or does not match
        ``labels``, or ``ncols < 1``.
    """
    arrays = {str(k): _check_square(v, labels, what=f"matrix {k!r}") for k, v in matrices.items()}
    nrows, ncols = _grid_shape(len(arrays), ncols)
    lo, hi = _finite_range(list(arrays.values())) if shared_scale else (None, None)
    with paper_style():
        fig = Figure(figsize=(2.5 * ncols + 0.6, 2.4 * nrows + 0.3), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, (name, arr) in zip(axes.flat, arrays.items(), strict=False):
            layer_heatmap(
                arr,
                labels,
                ax=ax,
                title=name,
                cbar_label=None if shared_scale else cbar_label,
                cmap=cmap,
                vmin=lo,
                vmax=hi,
            )
        for ax in axes.flat[len(arrays) :]:
            ax.set_axis_off()
        if shared_scale:
            used = list(axes.flat[: len(arrays)])
            cbar = fig.colorbar(used[0].images[0], ax=used, shrink=0.8, pad=0.02)
            cbar.set_label(cbar_label)
            cbar.outline.set_linewidth(0.5)
        if suptitle:
            fig.suptitle(suptitle)
    return fig


def _diagram_panel(ax: Axes, dgms: Sequence[Any], dims: Sequence[int], title: str) -> list:
    """Draw one persistence-diagram panel; return the scatter handles for a legend."""
    arrays = {}
    for dim in dims:
        if dim >= len(dgms):
            continue
        arr = np.asarray(dgms[dim], dtype=np.float64)
        if arr.size == 0:
            arr = arr.reshape(0, 2)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"diagram H{dim} of {title!r} must have shape (n, 2), got {arr.shape}")
        arrays[dim] = arr
    finite = [a[np.all(np.isfinite(a), axis=1)] for a in arrays.values()]
    lo, hi = _finite_range(finite)
    lo = min(lo, 0.0)
    hi = hi if hi > lo else lo + 1.0
    inf_level = hi + 0.1 * (hi - lo)
    top = hi + 0.18 * (hi - lo)
    ax.plot([lo, top], [lo, top], color="0.5", linewidth=0.6, zorder=0)
    handles = []
    for dim, arr in arrays.items():
        color = _DIM_COLORS[dim % len(_DIM_COLORS)]
        births = arr[:, 0]
        deaths = np.where(np.isposinf(arr[:, 1]), inf_level, arr[:, 1])
        ok = np.isfinite(births) & np.isfinite(deaths)
        handles.append(
            ax.scatter(
                births[ok],
                deaths[ok],
                s=3,
                color=color,
                alpha=0.7,
                linewidths=0,
                label=f"$H_{dim}$",
                rasterized=True,
            )
        )
    ax.axhline(inf_level, color="0.3", linewidth=0.5, linestyle="--", zorder=0)
    ax.set_xlim(lo - 0.02 * (top - lo), top)
    ax.set_ylim(lo - 0.02 * (top - lo), top)
    ax.set_aspect("equal")
    ticks = [t for t in ax.get_yticks() if lo <= t < hi]
    ax.set_yticks([*ticks, inf_level], [f"{t:g}" for t in ticks] + [r"$\infty$"])
    ax.set_title(title)
    return handles


def diagram_grid(
    dgms_by_layer: Mapping[str, Sequence[Any]],
    dims: Sequence[int] = (0, 1),
    ncols: int = 6,
    title: str | None = None,
) -> Figure:
    """Small persistence-diagram panels, one per layer, in the mapping's order.

    Each panel shows the (birth, death) points of the requested homology
    dimensions in distinct colours, the diagonal, and a dashed "∞" line at the top
    on which essential bars (death ``inf``, e.g. H0's ``[0, inf)``) are drawn.

    Parameters
    ----------
    dgms_by_layer : mapping of str to sequence of array_like
        Layer name -> diagrams indexed by dimension (as returned by
        :func:`cnntopo.ph.persistence.diagrams`); dimensions a layer lacks are skipped.
    dims : sequence of int, default (0, 1)
        Homology dimensions to draw.
    ncols : int, default 6
        Panels per row.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If there are no layers, ``dims`` is empty or negative, ``ncols < 1``, or a
        diagram is not of shape ``(n, 2)``.
    """
    dims = tuple(int(d) for d in dims)
    if not dims or min(dims) < 0:
        raise ValueError(f"dims must be a non-empty sequence of dimensions >= 0, got {dims}")
    nrows, ncols = _grid_shape(len(dgms_by_layer), ncols)
    with paper_style():
        fig = Figure(figsize=(1.55 * ncols, 1.6 * nrows + 0.35), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
        handles: dict[str, Any] = {}
        for ax, (layer, dgms) in zip(axes.flat, dgms_by_layer.items(), strict=False):
            for h in _diagram_panel(ax, dgms, dims, short_layer_label(str(layer))):
                handles.setdefault(h.get_label(), h)
        for ax in axes.flat[len(dgms_by_layer) :]:
            ax.set_axis_off()
        for ax in axes[-1]:
            ax.set_xlabel("birth")
        for ax in axes[:, 0]:
            ax.set_ylabel("death")
        if handles:
            fig.legend(
                list(handles.values()),
                list(handles),
                loc="outside lower center",
                ncols=len(handles),
                markerscale=3,
                frameon=False,
            )
        if title:
            fig.suptitle(title)
    return fig


def _history_series(history: Sequence[Mapping[str, Any]], key: str) -> tuple[list, list]:
    """(epochs, values) of one history key, skipping epochs where it is missing/None."""
    xs, ys = [], []
    for entry in history:
        value = entry.get(key)
        if value is not None and entry.get("epoch") is not None:
            xs.append(entry["epoch"])
            ys.append(value)
    return xs, ys


def training_curves(records: Sequence[Mapping[str, Any]]) -> Figure:
    """Training loss and test accuracy per epoch, one line per model (seed).

    Parameters
    ----------
    records : sequence of mapping
        Per-model metrics as written by the training stage: ``seed``, ``history``
        (list of per-epoch dicts with ``epoch``, ``train_loss``, ``train_acc``,
        ``test_acc``; ``test_acc`` may be None on epochs without evaluation) and
        the final ``test_accuracy``. Models without a history (imported
        checkpoints) appear only as a marker of their final test accuracy.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: training loss (left) and accuracy (right; test solid, training
        dashed, final test accuracy as a dot at the last epoch).

    Raises
    ------
    ValueError
        If ``records`` is empty.
    """
    if not records:
        raise ValueError("training_curves needs at least one metrics record")
    ordered = sorted(records, key=lambda r: (r.get("seed") is None, r.get("seed")))
    colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.9, max(len(ordered), 1)))
    with paper_style():
        fig = Figure(figsize=(6.0, 2.4), layout="constrained")
        ax_loss, ax_acc = fig.subplots(1, 2)
        no_history = []
        for color, rec in zip(colors, ordered, strict=True):
            history = rec.get("history") or []
            label = f"seed {rec.get('seed')}"
            ep, loss = _history_series(history, "train_loss")
            if ep:
                ax_loss.plot(ep, loss, color=color, label=label)
            ep, acc = _history_series(history, "train_acc")
            if ep:
                ax_acc.plot(ep, acc, color=color, linestyle="--", linewidth=0.7)
            ep, acc = _history_series(history, "test_acc")
            if ep:
                ax_acc.plot(
                    ep,
                    acc,
                    color=color,
                    marker="o" if len(ep) < 3 else None,
                    markersize=2,
                    label=label,
                )
            final = rec.get("test_accuracy")
            if final is not None:
                x = history[-1]["epoch"] if history else 0
                ax_acc.plot([x], [final], "o", color=color, markersize=3)
                if not history:
                    no_history.append(label)
        for ax in (ax_loss, ax_acc):
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
        ax_loss.set_ylabel("training loss")
        ax_acc.set_ylabel("accuracy (test solid, train dashed)")
        if not ax_loss.lines:
            ax_loss.text(
                0.5,
                0.5,
                "no training history\n(imported checkpoints)",
                ha="center",
                va="center",
                transform=ax_loss.transAxes,
            )
        if len(ordered) <= 10 and ax_acc.get_legend_handles_labels()[0]:
            ax_acc.legend(frameon=False, loc="lower right")
        if no_history:
            ax_acc.set_title("dots at epoch 0: imported checkpoints", fontsize=6.5)
    return fig


def save_figure(fig: Figure, paths: str | os.PathLike | Sequence[str | os.PathLike]) -> None:
    """Save a figure in the paper style to one or more files, atomically, then close it.

    :func:`cnntopo.figures_io.save_figure` with :data:`PAPER_RC` active (300 dpi, tight
    bounding box) and the formats PNG, PDF and SVG.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; it is closed (released from pyplot, if pyplot manages it)
        after the last file is written, also when writing fails.
    paths : path-like or sequence of path-like
        Destinations; each suffix (``.png``, ``.pdf``, ``.svg``) selects the format.
        Each file is written to a temporary name and renamed into place
        (:func:`cnntopo.artifacts.atomic_path`; the temporary file is removed on any
        error or interrupt), without creation dates, so reruns give the same bytes
        for PDF and SVG.

    Raises
    ------
    ValueError
        If no path is given or a suffix is not one of ``.png``, ``.pdf``, ``.svg``
        (checked for all paths before anything is written).
    """
    figures_io.save_figure(fig, paths, style=PAPER_RC, formats=PAPER_FORMATS)
