"""Headline numbers of one experiment, and their table and figure across a sweep.

:func:`experiment_summary` condenses an experiment's outputs into a flat JSON of
scalars (test accuracy, mean within-model distance, specificity, Mapper graph size
and purity); :func:`sweep_summary` joins those of every sweep variant with the
variant's swept parameters into one CSV and draws one panel per number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cnntopo import artifacts

__all__ = ["experiment_summary", "sweep_summary", "figure_sweep_summary", "cross_architecture"]


def _specificity(path: str | Path) -> tuple[float, float]:
    """Pair-weighted exact and within-one-layer identification rates of a specificity CSV."""
    table = pd.read_csv(path)
    weights = table["n_pairs"].to_numpy(dtype=float)
    total = weights.sum()
    if total == 0:
        return float("nan"), float("nan")
    return (
        float((table["exact"] * weights).sum() / total),
        float((table["within_1"] * weights).sum() / total),
    )


def _mean_offdiagonal(paths: Sequence[str | Path]) -> float:
    """Mean over models of the mean off-diagonal entry of a within-model matrix."""
    means = []
    for path in paths:
        with np.load(path, allow_pickle=False) as z:
            m = z["matrix"]
        off = m[~np.eye(len(m), dtype=bool)]
        means.append(float(off.mean()) if off.size else float("nan"))
    return float(np.mean(means)) if means else float("nan")


def experiment_summary(
    out_json: str | Path,
    *,
    models: str | Path,
    within: Sequence[str | Path],
    within_label: str,
    specificity: Sequence[str | Path] = (),
    measures: Sequence[str] = (),
    mapper_stats: Sequence[str | Path] = (),
) -> dict:
    """Write the headline numbers of one experiment as a flat JSON object.

    Parameters
    ----------
    out_json : path
        Output file.
    models : path
        ``models/summary.csv`` (one row per trained network, ``test_accuracy``).
    within : sequence of path
        The within-model matrices (L, L) (``.npz`` with ``matrix``) of every model.
    within_label : str
        Their metric label (e.g. ``"sliced_wasserstein_H1"``).
    specificity : sequence of path
        Specificity CSVs (columns ``layer, exact, within_1, n_pairs``), one per measure.
    measures : sequence of str
        The measure of each specificity CSV (e.g. ``"cka"``, ``"sliced_wasserstein_H1"``).
    mapper_stats : sequence of path
        Mapper statistics CSVs (columns ``cloud, layer, n_nodes, n_edges, nodewise``,
        optionally ``classwise_mean``); the summary keeps their means per cloud.

    Returns
    -------
    dict
        Keys ``test_accuracy_mean``, ``test_accuracy_std``, ``n_models``,
        ``within_<within_label>_mean``,
        ``specificity_<measure>_exact`` / ``_within1``,
        ``mapper_<cloud>_nodes`` / ``_nodewise_purity`` / ``_classwise_purity``.
    """
    if len(specificity) != len(measures):
        raise ValueError(
            f"{len(specificity)} specificity tables for {len(measures)} measures {list(measures)}"
        )
    acc = pd.read_csv(models)["test_accuracy"].to_numpy(dtype=float)
    summary: dict[str, float | int] = {
        "n_models": int(len(acc)),
        "test_accuracy_mean": float(acc.mean()),
        "test_accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
    }
    summary[f"within_{within_label}_mean"] = _mean_offdiagonal(within)
    for measure, path in zip(measures, specificity, strict=True):
        exact, near = _specificity(path)
        summary[f"specificity_{measure}_exact"] = exact
        summary[f"specificity_{measure}_within1"] = near
    for path in mapper_stats:
        table = pd.read_csv(path)
        for cloud, rows in table.groupby("cloud", sort=False):
            summary[f"mapper_{cloud}_nodes"] = float(rows["n_nodes"].mean())
            summary[f"mapper_{cloud}_nodewise_purity"] = float(rows["nodewise"].mean())
            if "classwise_mean" in rows and rows["classwise_mean"].notna().any():
                summary[f"mapper_{cloud}_classwise_purity"] = float(rows["classwise_mean"].mean())
    artifacts.write_json(out_json, summary)
    return summary


def sweep_summary(
    summaries: Sequence[str | Path],
    out_csv: str | Path,
    figure_outputs: Sequence[str | Path] = (),
    *,
    variants: Sequence[Mapping[str, object]],
    paths: Sequence[str],
) -> pd.DataFrame:
    """Join the variants' summaries into one table (and figure).

    Parameters
    ----------
    summaries : sequence of path
        ``summary.json`` of every variant, in sweep order.
    out_csv : path
        Output table: one row per variant, the swept keys first, then ``variant``
        and every summary number (missing ones empty).
    figure_outputs : sequence of path
        Where to draw :func:`figure_sweep_summary` (e.g. PNG and PDF).
    variants : sequence of mapping
        The swept values of every variant (dotted key -> value).
    paths : sequence of str
        Every variant's folder (its ``key~value/...`` path).
    """
    if not (len(summaries) == len(variants) == len(paths)):
        raise ValueError("summaries, variants and paths must have the same length")
    rows = []
    for path, p, variant in zip(summaries, variants, paths, strict=True):
        with open(path) as fh:
            numbers = json.load(fh)
        row = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in p.items()}
        row["variant"] = variant
        row.update(numbers)
        rows.append(row)
    table = pd.DataFrame(rows)
    with artifacts.atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    if figure_outputs:
        figure_sweep_summary(table, list(variants[0]) if variants else [], figure_outputs)
    return table


def figure_sweep_summary(
    table: pd.DataFrame, keys: Sequence[str], outputs: Sequence[str | Path]
) -> None:
    """One panel per summary number: its value in every variant (bars, variants on x).

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`sweep_summary`.
    keys : sequence of str
        The swept keys (their columns label the variants).
    outputs : sequence of path
        Files to write (format from the extension).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    skip = {*keys, "variant", "n_models"}
    numbers = [
        c for c in table.columns if c not in skip and pd.api.types.is_numeric_dtype(table[c])
    ]
    numbers = [c for c in numbers if table[c].notna().any()]
    labels = [
        "\n".join(f"{k.rsplit('.', 1)[-1]}={row[k]}" for k in keys) for _, row in table.iterrows()
    ]
    ncols = min(3, max(1, len(numbers)))
    nrows = max(1, -(-len(numbers) // ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False, constrained_layout=True
    )
    x = np.arange(len(table))
    for ax, col in zip(axes.flat, numbers, strict=False):
        values = table[col].to_numpy(dtype=float)
        ax.bar(x, values, color="#4c72b0")
        if col == "test_accuracy_mean" and "test_accuracy_std" in table:
            ax.errorbar(x, values, yerr=table["test_accuracy_std"], fmt="none", color="k")
        ax.set_title(col.replace("_", " "), fontsize=9)
        ax.set_xticks(x, labels, fontsize=7)
    for ax in list(axes.flat)[len(numbers) :]:
        ax.axis("off")
    if not numbers:
        axes.flat[0].text(0.5, 0.5, "no numbers to compare", ha="center", va="center")
    fig.suptitle(f"Sweep over {', '.join(keys)}")
    for out in outputs:
        with artifacts.atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=150, format=Path(out).suffix.lstrip("."))
    plt.close(fig)


def cross_architecture(
    diagrams_a: Sequence[str | Path],
    diagrams_b: Sequence[str | Path],
    out_npz: str | Path,
    out_csv: str | Path,
    figure_outputs: Sequence[str | Path],
    *,
    layers_a: Sequence[str],
    layers_b: Sequence[str],
    label_a: str,
    label_b: str,
    dim: int,
    M: int,
    infinite: str,
    threads: int = 1,
) -> np.ndarray:
    """Every layer of network A against every layer of network B (two sweep variants).

    The sliced Wasserstein distance between the H``dim`` diagrams of each pair of layers
    (:func:`cnntopo.ph.distances.pairwise`), the nearest layer of B for each layer of A
    matched by depth fraction (:func:`cnntopo.ph.cross_arch.depth_matching`), and
    the figure (:func:`cnntopo.ph.cross_arch.cross_architecture_figure`).

    Parameters
    ----------
    diagrams_a, diagrams_b : sequence of path
        The diagram files of A's and B's layers (one seed each), network order.
    out_npz : path
        Output: ``matrix`` ``(n_a, n_b)``, ``layers_a``, ``layers_b``, ``labels``.
    out_csv : path
        Output: per layer of A its depth fraction, nearest layer of B, that layer's
        depth fraction, the depth error and its chance level.
    figure_outputs : sequence of path
        Output figures.
    layers_a, layers_b : sequence of str
        Layer names (the order of the diagram files).
    label_a, label_b : str
        The networks' ``model.arch``.
    dim : int
        Homology dimension (``distances.dim``).
    M : int
        Sliced Wasserstein directions (``distances.M``).
    infinite : {"strip", "error"}
        Infinite bars (``distances.infinite``).
    threads : int, default 1
        Worker threads (the result does not depend on them).
    """
    from cnntopo.ph.cross_arch import cross_architecture_figure, depth_matching
    from cnntopo.ph.distances import pairwise
    from cnntopo.ph.figures import save_figure
    from cnntopo.ph.persistence import load_diagrams

    if len(diagrams_a) != len(layers_a) or len(diagrams_b) != len(layers_b):
        raise ValueError("one diagram file per layer is needed")
    dgms_a = [load_diagrams(p)[0][dim] for p in diagrams_a]
    dgms_b = [load_diagrams(p)[0][dim] for p in diagrams_b]
    D = pairwise(
        dgms_a, dgms_b, metric="sliced_wasserstein", M=M, infinite=infinite, n_jobs=threads
    )
    match = depth_matching(D)
    with artifacts.atomic_path(out_npz) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                matrix=D,
                layers_a=np.array(layers_a),
                layers_b=np.array(layers_b),
                labels=np.array([label_a, label_b]),
            )
    table = pd.DataFrame(
        {
            "layer_a": list(layers_a),
            "depth_a": match["depth_a"],
            "nearest_b": [layers_b[j] for j in match["nearest"]],
            "depth_b": match["depth_b"],
            "depth_error": match["depth_error"],
            "chance_error": match["chance_error"],
        }
    )
    with artifacts.atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    measure = f"SW distance (H{dim})"
    fig = cross_architecture_figure(D, layers_a, layers_b, label_a, label_b, measure)
    save_figure(fig, figure_outputs)
    return D
