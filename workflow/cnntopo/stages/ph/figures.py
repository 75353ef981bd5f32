"""Stages of ``rules/ph/figures.smk``: the PH branch's figures (docs/methods.md §14).

Every figure is written once per format: ``outputs`` lists the same figure as PNG and
as each of ``figures.extra_formats``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.names import metric_label
from cnntopo.stages.common import load_bootstrap, load_cross, load_matrix

__all__ = [
    "figure_layer_heatmap",
    "figure_mean_heatmap",
    "figure_diagram_grid",
    "figure_training",
    "figure_sensitivity",
    "figure_sw_vs_cka",
]

log = logging.getLogger("cnntopo")


def figure_layer_heatmap(
    matrix_npz: str | Path,
    outputs: Sequence[str],
    *,
    title: str,
    bootstrap_npz: str | Path | None = None,
) -> None:
    """Heatmap of one model's layer-distance matrix.

    Parameters
    ----------
    matrix_npz : path-like
        A within-model matrix (L, L) of ``layer_distances``.
    outputs : sequence of str
        The figure, one file per format.
    title : str
        Title of the figure (e.g. ``"seed 0"``).
    bootstrap_npz : path-like, optional
        Its image bootstrap (``layer_bootstrap``): the layer pairs whose distance is
        not significant (within the two layers' 95 % resampling radii) are hatched.
    """
    from cnntopo.ph import figures as plotting

    D, layers, meta = load_matrix(matrix_npz)
    hatch, label = None, metric_label(meta["metric"], meta["dim"])
    if bootstrap_npz is not None:
        boot = load_bootstrap(bootstrap_npz)
        if boot["layers"] != list(layers):
            raise ValueError(f"{bootstrap_npz} holds other layers than {matrix_npz}")
        hatch = ~boot["significant"] & ~np.eye(len(layers), dtype=bool)
        label += f"\nhatched: not significant ({boot['meta']['n_boot']} image resamples)"
    with plotting.paper_style():
        fig = plotting.heatmap_figure(D, layers, title=title, cbar_label=label, hatch=hatch)
        plotting.save_figure(fig, outputs)


def figure_mean_heatmap(
    matrix_files: Sequence[str | Path], outputs: Sequence[str], out_npz: str | Path
) -> None:
    """Mean and standard deviation of the layer-distance matrices over all seeds.

    Parameters
    ----------
    matrix_files : sequence of path-like
        The within-model matrices (L, L) of every model, all over the same layers.
    outputs : sequence of str
        The figure (mean and standard deviation side by side), one file per format.
    out_npz : path-like
        Output: ``mean`` and ``std`` (L, L; ``ddof = 1`` for two or more models),
        ``layers`` and ``n_models``.
    """
    from cnntopo.ph import figures as plotting

    mats, layers, metas = zip(*(load_matrix(f) for f in matrix_files), strict=True)
    if any(lay != layers[0] for lay in layers):
        raise ValueError("the distance matrices have different layer lists; rerun with one config")
    stack = np.stack(mats)
    mean, std = stack.mean(axis=0), stack.std(axis=0, ddof=1 if len(stack) > 1 else 0)
    artifacts.write_npz(
        out_npz, mean=mean, std=std, layers=np.array(layers[0]), n_models=np.array(len(stack))
    )
    label = metric_label(metas[0]["metric"], metas[0]["dim"])
    with plotting.paper_style():
        fig = plotting.heatmap_grid(
            {f"mean over {len(stack)} models": mean, "standard deviation": std},
            layers[0],
            ncols=2,
            shared_scale=False,
            suptitle=label + " between layers",
            cbar_label=label,
        )
        plotting.save_figure(fig, outputs)


def figure_diagram_grid(
    diagram_files: Sequence[str | Path],
    outputs: Sequence[str],
    *,
    layers: Sequence[str],
    title: str,
    maxdim: int,
) -> None:
    """Grid of per-layer persistence diagrams of one model (H0 and, if computed, H1).

    Parameters
    ----------
    diagram_files : sequence of path-like
        One diagram file per layer, in the order of ``layers``.
    outputs : sequence of str
        The figure, one file per format.
    layers : sequence of str
        Panel titles.
    title : str
        Title of the figure.
    maxdim : int
        Highest dimension in the files (``persistence.maxdim``).
    """
    from cnntopo.ph import figures as plotting
    from cnntopo.ph.persistence import load_diagrams

    by_layer = {layer: load_diagrams(f)[0] for layer, f in zip(layers, diagram_files, strict=True)}
    with plotting.paper_style():
        fig = plotting.diagram_grid(by_layer, dims=tuple(range(min(maxdim, 1) + 1)), title=title)
        plotting.save_figure(fig, outputs)


def figure_training(metric_files: Sequence[str | Path], outputs: Sequence[str]) -> None:
    """Test accuracy and training loss per epoch, one line per seed.

    Parameters
    ----------
    metric_files : sequence of path-like
        The metrics JSON of every network (with its per-epoch ``history``).
    outputs : sequence of str
        The figure, one file per format.
    """
    from cnntopo.ph import figures as plotting

    records = [artifacts.read_json(f) for f in metric_files]
    with plotting.paper_style():
        fig = plotting.training_curves(records)
        plotting.save_figure(fig, outputs)


def figure_sensitivity(
    csv_files: Sequence[str | Path],
    sw_outputs: Sequence[str],
    cka_outputs: Sequence[str],
    *,
    layers: Sequence[str],
    dim: int,
) -> None:
    """One line per layer: SW (and CKA) to the original cloud vs fraction of directions removed.

    Parameters
    ----------
    csv_files : sequence of path-like
        One table of ``sensitivity_test`` per layer (columns ``k, fraction_removed,
        sw, cka``), in the order of ``layers``.
    sw_outputs : sequence of str
        The SW figure, one file per format.
    cka_outputs : sequence of str
        The CKA figure, one file per format.
    layers : sequence of str
        Line labels.
    dim : int
        Homology dimension of the SW distance (``distances.dim``; axis label).
    """
    import pandas as pd

    from cnntopo.ph import figures as plotting
    from cnntopo.ph.cross_figures import sensitivity_figure

    curves = {layer: pd.read_csv(f) for layer, f in zip(layers, csv_files, strict=True)}
    with plotting.paper_style():
        fig = sensitivity_figure(curves, value="sw", ylabel=f"SW (H{dim}) to original")
        plotting.save_figure(fig, sw_outputs)
        fig = sensitivity_figure(curves, value="cka", ylabel="linear CKA to original")
        plotting.save_figure(fig, cka_outputs)


def figure_sw_vs_cka(
    dist_cross_npz: str | Path, cka_cross_npz: str | Path, outputs: Sequence[str]
) -> None:
    """Within-model layer similarity by the PH distance and by CKA, averaged over models.

    Parameters
    ----------
    dist_cross_npz : path-like
        The cross-model distance matrix (of ``cross_distances``).
    cka_cross_npz : path-like
        The cross-model CKA matrix (of ``cka_cross``), over the same models and layers.
    outputs : sequence of str
        The figure (the two mean within-model matrices side by side), one file per format.
    """
    from cnntopo.ph import figures as plotting
    from cnntopo.ph.cross_figures import comparison_figure

    D, seeds, layers, meta = load_cross(dist_cross_npz)
    C, cseeds, clayers, _ = load_cross(cka_cross_npz)
    if (seeds, layers) != (cseeds, clayers):
        raise ValueError("the distance and CKA matrices cover different models or layers")
    L = len(layers)
    blocks = range(len(seeds))
    d_mean = np.mean([D[s * L : (s + 1) * L, s * L : (s + 1) * L] for s in blocks], axis=0)
    c_mean = np.mean([C[s * L : (s + 1) * L, s * L : (s + 1) * L] for s in blocks], axis=0)
    name = metric_label(meta["metric"], meta["dim"])
    with plotting.paper_style():
        fig = comparison_figure(
            d_mean,
            c_mean,
            layers,
            left_title=f"{name}, mean over {len(seeds)} models",
            right_title=f"linear CKA, mean over {len(seeds)} models",
            left_label=name,
            right_label="linear CKA",
        )
        plotting.save_figure(fig, outputs)
