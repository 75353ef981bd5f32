"""Headline numbers of one experiment, and their table and figure across a sweep.

:func:`experiment_summary` condenses an experiment's outputs into a flat JSON of
scalars (test accuracy, mean within-model distance, specificity, Mapper graph size
and purity); :func:`sweep_summary` joins those of every sweep variant with the
variant's swept parameters into one CSV and draws one panel per number.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cnntopo import artifacts

log = logging.getLogger("cnntopo")

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
        m = artifacts.read_npz(path, keys=["matrix"])[0]["matrix"]
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
    depth_tables: Sequence[str | Path] = (),
    pairs: Sequence[Sequence[int]] = (),
    depth_measures: Mapping[str, Sequence[str]] | None = None,
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
    depth_tables : sequence of path
        The depth-matching tables of the cross-architecture pairs
        (``out_depth`` of :func:`cross_architecture`), one per entry of ``pairs``.
    pairs : sequence of (int, int)
        The variants (indices) A and B of each table.
    depth_measures : mapping of str to (measure, representation), optional
        The matrices of the tables that enter the summary, by column name: a variant's
        ``depth_match_<name>_exact`` / ``_within1`` are the rates of its layers (the
        other network's closest layer is the one at the nearest depth fraction),
        averaged over its layers in every pair it is part of.
    """
    if not (len(summaries) == len(variants) == len(paths)):
        raise ValueError("summaries, variants and paths must have the same length")
    if len(depth_tables) != len(pairs):
        raise ValueError(f"{len(depth_tables)} depth-matching tables for {len(pairs)} pairs")
    matching = _depth_match_columns(depth_tables, pairs, depth_measures or {}, len(variants))
    rows = []
    for path, p, variant, extra in zip(summaries, variants, paths, matching, strict=True):
        numbers = artifacts.read_json(path)
        row = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in p.items()}
        row["variant"] = variant
        row.update(numbers)
        row.update(extra)
        rows.append(row)
    table = pd.DataFrame(rows)
    with artifacts.atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    if figure_outputs:
        figure_sweep_summary(table, list(variants[0]) if variants else [], figure_outputs)
    return table


def _depth_match_columns(
    depth_tables: Sequence[str | Path],
    pairs: Sequence[Sequence[int]],
    depth_measures: Mapping[str, Sequence[str]],
    n_variants: int,
) -> list[dict[str, float]]:
    """Per variant: layer-weighted exact / within-1 depth-matching rates over its pairs."""
    sums: list[dict[str, list[float]]] = [{} for _ in range(n_variants)]
    for path, (a, b) in zip(depth_tables, pairs, strict=True):
        table = pd.read_csv(path)
        for name, (measure, rep) in depth_measures.items():
            rows = table[(table["measure"] == measure) & (table["representation"] == rep)]
            for _, row in rows.iterrows():
                acc = sums[a if row["from"] == "A" else b].setdefault(name, [0.0, 0.0, 0.0])
                acc[0] += row["exact"] * row["n_layers"]
                acc[1] += row["within1"] * row["n_layers"]
                acc[2] += row["n_layers"]
    return [
        {
            f"depth_match_{name}_{col}": acc[k] / acc[2]
            for name, acc in per.items()
            for k, col in ((0, "exact"), (1, "within1"))
        }
        for per in sums
    ]


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

    from cnntopo.figures_io import save_figure

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
    if outputs:  # constrained layout: keep the figure's size (no tight bounding box)
        save_figure(fig, outputs, dpi=150, bbox_inches=None)
    else:
        plt.close(fig)


#: Columns of the per-layer table of :func:`cross_architecture` (one row per layer, matrix
#: and direction).
_MATCH_COLUMNS = ("exact", "within1", "chance_exact", "chance_within1")


def _cross_matrices(
    diagrams_a: Sequence[str | Path],
    diagrams_b: Sequence[str | Path],
    reps_a: Sequence[str | Path],
    reps_b: Sequence[str | Path],
    *,
    dim: int,
    M: int,
    infinite: str,
    measures: Sequence[Mapping],
    representations: Sequence[str],
    threads: int,
) -> list[dict]:
    """SW between the diagrams, then every measure on every representation: (n_a, n_b) each."""
    from cnntopo.ph.distances import pairwise
    from cnntopo.ph.persistence import load_diagrams
    from cnntopo.ph.representations import load_representation
    from cnntopo.ph.similarity import compare

    dgms_a = [load_diagrams(p)[0][dim] for p in diagrams_a]
    dgms_b = [load_diagrams(p)[0][dim] for p in diagrams_b]
    D = pairwise(
        dgms_a, dgms_b, metric="sliced_wasserstein", M=M, infinite=infinite, n_jobs=threads
    )
    sw = f"sliced_wasserstein_H{dim}"
    out = [{"measure": sw, "representation": "topl2", "kind": "distance", "matrix": D}]
    for rep, file_a, file_b in zip(representations, reps_a, reps_b, strict=True):
        layers_a, layers_b = load_representation(file_a), load_representation(file_b)
        if (len(layers_a), len(layers_b)) != (len(diagrams_a), len(diagrams_b)):
            raise ValueError(f"{rep}: the representation files do not hold one entry per layer")
        cache: dict = {}
        for spec in measures:
            result = compare(spec, layers_a, layers_b, n_jobs=threads, cache=cache)
            out.append(
                {
                    "measure": spec["label"],
                    "representation": rep,
                    "kind": result.kind,
                    "matrix": result.matrix,
                }
            )
    return out


def _depth_rows(
    entry: Mapping, side: str, layers: Sequence[str], others: Sequence[str], D: np.ndarray
) -> list[dict]:
    """Per-layer depth matching of one matrix in one direction (rows of ``layers``)."""
    from cnntopo.ph.cross_arch import depth_matching, same_depth_layers

    match = depth_matching(D, entry["kind"])
    target = same_depth_layers(*D.shape)
    ident = {k: entry[k] for k in ("measure", "representation", "kind")}
    return [
        {
            **ident,
            "from": side,
            "layer": layer,
            "depth": match["depth_a"][i],
            "closest": others[match["nearest"][i]],
            "closest_depth": match["depth_b"][i],
            "same_depth": "+".join(others[j] for j in target[i].nonzero()[0]),
            "depth_error": match["depth_error"][i],
            "chance_error": match["chance_error"][i],
            **{c: match[c][i] for c in _MATCH_COLUMNS},
        }
        for i, layer in enumerate(layers)
    ]


def cross_architecture(
    diagrams_a: Sequence[str | Path],
    diagrams_b: Sequence[str | Path],
    out_npz: str | Path,
    out_csv: str | Path,
    out_depth: str | Path,
    figure_outputs: Sequence[str | Path],
    *,
    reps_a: Sequence[str | Path] = (),
    reps_b: Sequence[str | Path] = (),
    layers_a: Sequence[str],
    layers_b: Sequence[str],
    label_a: str,
    label_b: str,
    dim: int,
    M: int,
    infinite: str,
    measures: Sequence[Mapping] = (),
    representations: Sequence[str] = (),
    threads: int = 1,
) -> list[dict]:
    """Every layer of network A against every layer of network B (two sweep variants).

    The sliced Wasserstein distance between the H``dim`` diagrams of each pair of layers
    (:func:`cnntopo.ph.distances.pairwise`) and each similarity measure on each
    representation (:func:`cnntopo.ph.similarity.compare`, the same
    computation as the within-architecture comparison); for each matrix and each layer
    of either network, the other network's closest layer, matched by depth fraction
    (:func:`cnntopo.ph.cross_arch.depth_matching`); the figure
    (:func:`cnntopo.ph.cross_arch.cross_architecture_figure`).

    Parameters
    ----------
    diagrams_a, diagrams_b : sequence of path
        The diagram files of A's and B's layers (one seed each), network order.
    out_npz : path
        Output: ``matrix`` ``(n_a, n_b)`` (the SW matrix), ``matrices`` ``(K, n_a, n_b)``
        (SW first, then every measure and representation), ``measures``,
        ``representations`` and ``kinds`` (length K), ``layers_a``, ``layers_b``,
        ``labels``.
    out_csv : path
        Output: one row per matrix, direction (``from`` A: A's layers against B; ``from``
        B: B's layers against A) and layer: its depth fraction, the other network's
        closest layer and its depth fraction, the layers at the nearest depth fraction
        (``same_depth``, ``+``-joined), the depth error and its chance level, ``exact``
        and ``within1`` (the closest layer is, or is within one layer of, one at the
        nearest depth fraction) and their chance levels.
    out_depth : path
        Output: the same per matrix and direction, averaged over the layers: ``measure,
        representation, kind, from, network, other, n_layers, exact, within1,
        chance_exact, chance_within1, depth_error, chance_error``.
    figure_outputs : sequence of path
        Output figures.
    reps_a, reps_b : sequence of path
        The representation files of A's and B's first seed
        (:func:`cnntopo.stages.ph.similarity.similarity_representations`), one per entry
        of ``representations``; empty without measures.
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
    measures : sequence of mapping
        ``{"label", "name", "params"}`` of every measure
        (:func:`cnntopo.names.similarity_measures`).
    representations : sequence of str
        ``similarity.representations`` (the order of ``reps_a`` and ``reps_b``).
    threads : int, default 1
        Worker threads (the result does not depend on them).

    Returns
    -------
    list of dict
        Per matrix: ``measure``, ``representation``, ``kind`` and ``matrix``.
    """
    from cnntopo.ph.cross_arch import cross_architecture_figure
    from cnntopo.ph.figures import save_figure

    if len(diagrams_a) != len(layers_a) or len(diagrams_b) != len(layers_b):
        raise ValueError("one diagram file per layer is needed")
    entries = _cross_matrices(
        diagrams_a,
        diagrams_b,
        reps_a,
        reps_b,
        dim=dim,
        M=M,
        infinite=infinite,
        measures=measures,
        representations=representations,
        threads=threads,
    )
    artifacts.write_npz(
        out_npz,
        matrix=entries[0]["matrix"],
        matrices=np.stack([e["matrix"] for e in entries]),
        measures=np.array([e["measure"] for e in entries]),
        representations=np.array([e["representation"] for e in entries]),
        kinds=np.array([e["kind"] for e in entries]),
        layers_a=np.array(layers_a),
        layers_b=np.array(layers_b),
        labels=np.array([label_a, label_b]),
    )
    rows = []
    for e in entries:
        rows += _depth_rows(e, "A", layers_a, layers_b, e["matrix"])
        rows += _depth_rows(e, "B", layers_b, layers_a, e["matrix"].T)
    table = pd.DataFrame(rows)
    with artifacts.atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    keys = ["measure", "representation", "kind", "from"]
    depth = table.groupby(keys, sort=False)[[*_MATCH_COLUMNS, "depth_error", "chance_error"]].mean()
    depth.insert(0, "n_layers", table.groupby(keys, sort=False).size())
    depth = depth.reset_index()
    depth.insert(4, "network", depth["from"].map({"A": label_a, "B": label_b}))
    depth.insert(5, "other", depth["from"].map({"A": label_b, "B": label_a}))
    with artifacts.atomic_path(out_depth) as tmp:
        depth.to_csv(tmp, index=False)
    sw = entries[0]["measure"].replace("sliced_wasserstein", "SW").replace("_", " ")
    panels = {
        (sw if i == 0 else f"{e['measure']} / {e['representation']}"): (e["matrix"], e["kind"])
        for i, e in enumerate(entries)
    }
    save_figure(
        cross_architecture_figure(panels, layers_a, layers_b, label_a, label_b), figure_outputs
    )
    for _, row in depth.iterrows():
        log.info(
            "%s / %s, %s's layers: exact %.2f (chance %.2f), within 1 %.2f (chance %.2f)",
            row["measure"],
            row["representation"],
            row["network"],
            row["exact"],
            row["chance_exact"],
            row["within1"],
            row["chance_within1"],
        )
    return entries
