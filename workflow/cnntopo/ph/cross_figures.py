"""Figures for the PH comparison analyses: specificity, sensitivity, metric comparison.

Companions of :mod:`cnntopo.ph.specificity`, :mod:`cnntopo.ph.sensitivity` and
:mod:`cnntopo.ph.similarity`, in the paper style of :mod:`cnntopo.ph.figures` (built
on :class:`matplotlib.figure.Figure` without pyplot; save with
:func:`cnntopo.ph.figures.save_figure`). Layer labels are shortened with
:func:`cnntopo.ph.figures.short_layer_label`.

References
----------
.. [1] Ding, F.; Denain, J.-S.; Steinhardt, J. 2021. Grounding Representation
   Similarity Through Statistical Testing. NeurIPS 2021. arXiv:2108.01661.
.. [2] Kornblith, S.; Norouzi, M.; Lee, H.; Hinton, G. 2019. Similarity of Neural
   Network Representations Revisited. ICML 2019. arXiv:1905.00414.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cnntopo.ph.figures import layer_heatmap, paper_style, short_layer_label
from cnntopo.ph.specificity import OVERALL, check_kind

__all__ = [
    "specificity_figure",
    "sensitivity_figure",
    "comparison_figure",
    "measures_figure",
]

_SENSITIVITY_VALUES = ("sw", "cka")
_DEFAULT_YLABELS = {
    "sw": "sliced Wasserstein (H1) to original",
    "cka": "linear CKA with original",
}
_EXACT_COLOR = "#1f77b4"
_WITHIN_COLOR = "#9ecae1"


def _rates_by_layer(table: pd.DataFrame, layer_names: Sequence[str]) -> pd.DataFrame:
    """Rows of a :func:`cnntopo.ph.specificity.specificity_table` for ``layer_names`` (in order)."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    missing = [col for col in ("layer", "exact", "within_1") if col not in table.columns]
    if missing:
        raise ValueError(
            f"table lacks column(s) {missing}; pass the output of specificity_table "
            f"(columns layer, exact, within_1, n_pairs), got {list(table.columns)}"
        )
    indexed = table.assign(layer=table["layer"].astype(str)).set_index("layer")
    absent = [name for name in layer_names if name not in indexed.index]
    if absent:
        raise ValueError(f"table has no row for layer(s) {absent}")
    return indexed.loc[list(layer_names)]


def specificity_figure(
    mean_block: Any,
    table: pd.DataFrame,
    layer_names: Sequence[str],
    *,
    metric_label: str,
    kind: str = "distance",
) -> Figure:
    """Cross-seed specificity: mean cross-model matrix and per-layer identification rates.

    Parameters
    ----------
    mean_block : array_like, shape (L, L)
        Mean over model pairs ``s != t`` of the cross blocks
        (:func:`cnntopo.ph.specificity.mean_cross_block`); rows are the query model's
        layers, columns the other model's.
    table : pandas.DataFrame
        Output of :func:`cnntopo.ph.specificity.specificity_table`: columns ``layer``,
        ``exact``, ``within_1`` (``n_pairs`` optional), one row per layer and
        optionally an ``"overall"`` row, reported in the title.
    layer_names : sequence of str, length L
        Layer names in network order.
    metric_label : str
        Name of the compared quantity, e.g. ``"sliced Wasserstein (H1)"`` or
        ``"linear CKA"``; used for the colour bar and titles.
    kind : {"distance", "similarity"}, default "distance"
        Whether smaller (distance) or larger (similarity) values mean closer; noted
        in the heatmap title.

    Returns
    -------
    matplotlib.figure.Figure
        Left: the ``L x L`` heatmap. Right: grouped bars of the exact and within-one
        identification rates per layer, with the chance level ``1/L`` of an exact
        match as a dashed line.

    Raises
    ------
    TypeError
        If ``table`` is not a DataFrame.
    ValueError
        If ``mean_block`` is not ``L x L``, ``table`` lacks columns or layers, or
        ``kind`` is unknown.
    """
    kind = check_kind(kind)
    names = [str(n) for n in layer_names]
    rates = _rates_by_layer(table, names)
    labels = table["layer"].astype(str)
    overall = table[labels == OVERALL]
    L = len(names)
    with paper_style():
        fig = Figure(figsize=(7.0, 3.0), layout="constrained")
        ax_heat, ax_bar = fig.subplots(1, 2, width_ratios=[1.0, 1.25])
        closer = "lower" if kind == "distance" else "higher"
        layer_heatmap(
            mean_block,
            names,
            ax=ax_heat,
            title=f"mean across seed pairs ({closer} = closer)",
            cbar_label=metric_label,
        )
        ax_heat.set_xlabel("layer of other model")
        ax_heat.set_ylabel("layer of query model")
        x = np.arange(L)
        width = 0.4
        ax_bar.bar(x - width / 2, rates["exact"], width, color=_EXACT_COLOR, label="exact layer")
        ax_bar.bar(x + width / 2, rates["within_1"], width, color=_WITHIN_COLOR, label="within ±1")
        ax_bar.axhline(1.0 / L, color="0.4", linestyle="--", linewidth=0.6, label="chance (exact)")
        ax_bar.set_xticks(x, [short_layer_label(n) for n in names], rotation=90)
        ax_bar.set_xlim(-0.6, L - 0.4)
        ax_bar.set_ylim(0.0, 1.22)  # headroom for the legend above the bars
        ax_bar.set_yticks(np.linspace(0.0, 1.0, 6))
        ax_bar.set_ylabel("fraction of seed pairs")
        ax_bar.legend(frameon=False, loc="upper center", ncols=3)
        title = f"same-layer identification, {metric_label}"
        if len(overall):
            row = overall.iloc[0]
            title += f"\noverall: exact {row['exact']:.0%}, within ±1 {row['within_1']:.0%}"
        ax_bar.set_title(title)
    return fig


def sensitivity_figure(
    curves: Mapping[str, pd.DataFrame],
    *,
    value: str = "sw",
    ylabel: str | None = None,
    cmap: str = "viridis",
) -> Figure:
    """Sensitivity curves: comparison value vs fraction of directions removed, per layer.

    Parameters
    ----------
    curves : mapping of str to pandas.DataFrame
        Layer name -> output of :func:`cnntopo.ph.sensitivity.sensitivity_curve`
        (``value="sw"``) or :func:`cnntopo.ph.sensitivity.cka_sensitivity_curve`
        (``value="cka"``), **in network order**: colours run along a sequential
        colour map in the mapping's order (shallow = dark, deep = light for
        viridis).
    value : {"sw", "cka"}, default "sw"
        Column plotted on the y axis.
    ylabel : str, optional
        Y-axis label; a default naming the measure is used otherwise.
    cmap : str, default "viridis"
        Sequential colour map for depth.

    Returns
    -------
    matplotlib.figure.Figure
        One line (with small markers) per layer; x = ``fraction_removed`` (k/c),
        the legend uses short layer labels.

    Raises
    ------
    ValueError
        If ``curves`` is empty, ``value`` is unknown, or a curve lacks the
        ``fraction_removed`` or ``value`` column.
    """
    if value not in _SENSITIVITY_VALUES:
        raise ValueError(f"value must be one of {_SENSITIVITY_VALUES}, got {value!r}")
    if not curves:
        raise ValueError("curves is empty; pass at least one layer's sensitivity curve")
    for name, curve in curves.items():
        missing = [c for c in ("fraction_removed", value) if c not in curve.columns]
        if missing:
            raise ValueError(
                f"curve of layer {name!r} lacks column(s) {missing}; has {list(curve.columns)}"
            )
    colors = mpl.colormaps[cmap](np.linspace(0.0, 0.9, len(curves)))
    with paper_style():
        fig = Figure(figsize=(4.6, 2.8), layout="constrained")
        ax = fig.add_subplot()
        for color, (name, curve) in zip(colors, curves.items(), strict=True):
            ordered = curve.sort_values("fraction_removed")
            ax.plot(
                ordered["fraction_removed"],
                ordered[value],
                color=color,
                marker="o",
                markersize=1.5,
                label=short_layer_label(str(name)),
            )
        ax.set_xlabel("fraction of directions removed (k / c)")
        ax.set_ylabel(ylabel if ylabel is not None else _DEFAULT_YLABELS[value])
        ax.set_xlim(0.0, 1.0)
        if value == "cka":
            ax.set_ylim(top=1.01)
        fig.legend(
            frameon=False,
            loc="outside right upper",
            ncols=1 if len(curves) <= 9 else 2,
            fontsize=6,
            handlelength=1.2,
        )
    return fig


def comparison_figure(
    left: Any,
    right: Any,
    layer_names: Sequence[str],
    *,
    left_title: str,
    right_title: str,
    left_label: str,
    right_label: str,
    left_cmap: str = "viridis",
    right_cmap: str = "viridis",
) -> Figure:
    """Two layer-by-layer matrices side by side (e.g. SW distance vs CKA of one model).

    Parameters
    ----------
    left, right : array_like, shape (L, L)
        The two matrices over the same layers; each gets its own colour scale.
    layer_names : sequence of str, length L
        Layer names in network order.
    left_title, right_title : str
        Panel titles.
    left_label, right_label : str
        Colour-bar labels.
    left_cmap, right_cmap : str, default "viridis"
        Colour maps (e.g. a reversed map for a similarity, so that dark = close
        on both sides).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a matrix is not square or does not match ``layer_names``.
    """
    names = [str(n) for n in layer_names]
    with paper_style():
        fig = Figure(figsize=(7.0, 3.1), layout="constrained")
        ax_left, ax_right = fig.subplots(1, 2)
        layer_heatmap(
            left, names, ax=ax_left, title=left_title, cbar_label=left_label, cmap=left_cmap
        )
        layer_heatmap(
            right, names, ax=ax_right, title=right_title, cbar_label=right_label, cmap=right_cmap
        )
    return fig


def _row_labels(table: pd.DataFrame) -> list[str]:
    return [f"{m} ({r})" for m, r in zip(table["measure"], table["representation"], strict=True)]


def measures_figure(
    specificity: pd.DataFrame,
    sensitivity: pd.DataFrame | None = None,
    *,
    n_layers: int | None = None,
) -> Figure:
    """Every measure side by side: identification rate and sensitivity, with intervals.

    Parameters
    ----------
    specificity : pandas.DataFrame
        ``analysis/specificity.csv``: ``measure, representation, exact, within1,
        ci_low, ci_high`` (one row per measure and representation).
    sensitivity : pandas.DataFrame, optional
        ``analysis/sensitivity.csv``: ``measure, representation, rho, ci_low,
        ci_high``; a second panel when given.
    n_layers : int, optional
        Number of layers; draws the chance level ``1 / n_layers`` of exact
        identification.

    Returns
    -------
    matplotlib.figure.Figure
        Left: exact identification (bars, 95 % bootstrap interval over model pairs)
        and within one layer (open marks). Right: Spearman rho of dissimilarity with
        the probe-accuracy drop (interval over layers).
    """
    spec = specificity.reset_index(drop=True)
    panels = 1 if sensitivity is None else 2
    height = 0.9 + 0.22 * max(len(spec), 0 if sensitivity is None else len(sensitivity))
    with paper_style():
        fig = Figure(figsize=(3.6 * panels + 0.8, height), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, panels))
        ax = axes[0]
        y = np.arange(len(spec))
        ax.barh(y, spec["exact"], color=_EXACT_COLOR, label="exact")
        err = np.vstack([spec["exact"] - spec["ci_low"], spec["ci_high"] - spec["exact"]])
        ax.errorbar(spec["exact"], y, xerr=np.clip(err, 0, None), fmt="none", color="k", lw=0.8)
        ax.plot(spec["within1"], y, "o", mfc="none", color="k", ms=3.5, label="within ±1")
        if n_layers:
            ax.axvline(1.0 / n_layers, color="0.5", ls=":", lw=0.8, label="chance")
        ax.set_yticks(y, _row_labels(spec))
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("layer identified across seeds")
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.1),
            ncol=3,
            fontsize="small",
            frameon=False,
        )
        if sensitivity is not None:
            sens = sensitivity.reset_index(drop=True)
            ax = axes[1]
            y = np.arange(len(sens))
            err = np.vstack([sens["rho"] - sens["ci_low"], sens["ci_high"] - sens["rho"]])
            ax.errorbar(
                sens["rho"],
                y,
                xerr=np.nan_to_num(np.clip(err, 0, None)),
                fmt="o",
                color="k",
                ms=3.5,
                lw=0.8,
            )
            ax.axvline(0.0, color="0.5", ls=":", lw=0.8)
            ax.set_yticks(y, _row_labels(sens))
            ax.invert_yaxis()
            ax.set_xlim(-1, 1)
            ax.set_xlabel("Spearman ρ with probe-accuracy drop")
    return fig
