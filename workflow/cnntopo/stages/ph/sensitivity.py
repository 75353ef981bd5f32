"""Stage of ``rules/ph/sensitivity.smk``: the PC-removal sensitivity test of one network."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import load_points

__all__ = ["sensitivity_test", "eval_labels", "sensitivity_table"]

log = logging.getLogger("cnntopo")


def eval_labels(eval_set_json: str | Path) -> np.ndarray:
    """Classes of the evaluation images, in the order of the activation shards."""
    with open(eval_set_json) as fh:
        return np.asarray(json.load(fh)["labels"], dtype=np.int64)


def sensitivity_test(
    cloud_files: Sequence[str | Path],
    out_csvs: Sequence[str | Path],
    eval_set: str | Path | None = None,
    *,
    layers: Sequence[str],
    step: int,
    backend: str,
    maxdim: int,
    coeff: int,
    dim: int,
    M: int,
) -> None:
    """PC-removal sensitivity of one model's layers (docs/methods.md §8): SW of H``dim`` and CKA.

    For each layer, the ``k`` singular directions of smallest singular value of its
    cloud are removed, ``k`` over the distinct values of ``np.linspace(step, c, c //
    step, endpoint=False)`` (:func:`cnntopo.ph.sensitivity.pc_removal_counts`; one row
    per ``k``), and the reduced cloud is compared with the original
    (:func:`cnntopo.ph.sensitivity.sensitivity_curve`). Every 30 s at most a line with
    the reduced clouds done and an ETA is logged.

    Parameters
    ----------
    cloud_files : sequence of path-like
        The top-l2 point cloud of every layer, in the order of ``layers``.
    out_csvs : sequence of path-like
        Output per layer: columns ``k, fraction_removed, sw, cka`` and, with
        ``eval_set``, ``accuracy`` and ``accuracy_drop``: the held-out accuracy of a
        logistic-regression probe on the reduced cloud and its drop from the
        original cloud's (:func:`cnntopo.ph.sensitivity.linear_probe_accuracy`).
    eval_set : path-like, optional
        The evaluation-set record (``eval_set.json``, its ``labels``) for the probe.
    layers : sequence of str
        The layer names (logged).
    step : int
        ``sensitivity.step``.
    backend : {"ripser", "giotto"}
        ``persistence.backend``.
    maxdim : int
        ``persistence.maxdim``.
    coeff : int
        ``persistence.coeff``.
    dim : int
        Homology dimension of the SW distance (``distances.dim``).
    M : int
        Directions of the SW distance (``distances.M``).
    """
    from cnntopo.ph.sensitivity import (
        cka_sensitivity_curve,
        left_singular_vectors,
        linear_probe_accuracy,
        pc_removal_counts,
        probe_split,
        remove_low_variance_directions,
        sensitivity_curve,
    )
    from cnntopo.progress import progress_lines

    labels = None if eval_set is None else eval_labels(eval_set)
    split = None if labels is None else probe_split(labels)
    clouds = [load_points(f) for f in cloud_files]
    lines = progress_lines(sum(len(pc_removal_counts(p.shape[1], step)) for p in clouds), "clouds")
    done = 0

    def counted(k: int, layer: str) -> None:
        nonlocal done
        done += 1
        lines.update(done, layer=layer, k=k)

    for points, layer, out_csv in zip(clouds, layers, out_csvs, strict=True):
        t0 = time.perf_counter()
        sw = sensitivity_curve(
            points,
            step=step,
            maxdim=maxdim,
            backend=backend,
            dim=dim,
            M=M,
            coeff=coeff,
            on_count=lambda k, layer=layer: counted(k, layer),
        )
        cka = cka_sensitivity_curve(points, step=step)
        table = sw.merge(cka, on=["k", "fraction_removed"], validate="one_to_one")
        if labels is not None:
            X = points.astype(np.float64)
            U, _ = left_singular_vectors(X)
            base = linear_probe_accuracy(X, labels, *split)
            acc = [
                linear_probe_accuracy(remove_low_variance_directions(X, k, basis=U), labels, *split)
                for k in table["k"]
            ]
            table["accuracy"] = acc
            table["accuracy_drop"] = base - np.asarray(acc)
        with artifacts.atomic_path(out_csv) as tmp:
            table.to_csv(tmp, index=False)
        log.info(
            "sensitivity of %s (%d x %d): %d reduced clouds in %.1f s",
            layer,
            *points.shape,
            len(table),
            time.perf_counter() - t0,
        )


def _undefined_note(undefined: Mapping[str, str], n_layers: int) -> str:
    """``"undefined for 2 of 34 (model, layer): 0/a (reason); ..."``, or "" if none."""
    if not undefined:
        return ""
    parts = [f"{where} ({reason})" for where, reason in list(undefined.items())[:3]]
    more = ", ..." if len(undefined) > 3 else ""
    return (
        f"undefined for {len(undefined)} of {n_layers} (model, layer): " + "; ".join(parts) + more
    )


def sensitivity_table(
    ph_tables: Sequence[str | Path],
    rep_files: Sequence[str | Path],
    eval_set: str | Path,
    out_csv: str | Path,
    *,
    seeds: Sequence[int],
    layers: Sequence[str],
    representations: Sequence[str],
    measures: Sequence[Mapping],
    ph_measure: str,
    n_boot: int,
    seed: int = 0,
    diagram_representations: Sequence[str] = (),
    diagram_measures: Sequence[Mapping] = (),
    persistence: Mapping | None = None,
) -> None:
    """Ding et al.'s grounded sensitivity test for every (measure, representation) and PH.

    For each tested model and layer, principal components are deleted (lowest variance
    first, :func:`cnntopo.ph.sensitivity.deletion_curve`); each measure's dissimilarity
    to the original is set against the drop in a linear probe's held-out accuracy. The
    PH row uses the per-layer tables of :func:`sensitivity_test` (the paper's
    removal on the top-l2 cloud, its SW distance and probe). The table gives Spearman's
    rho over all (layer, deletion) points of the tested models, with a bootstrap
    interval over layers (:func:`cnntopo.ph.sensitivity.spearman_interval`). Every 30 s
    at most a line with the deletion curves done and an ETA is logged.

    Parameters
    ----------
    ph_tables : sequence of path-like
        :func:`sensitivity_test` tables (with ``accuracy_drop``), seed-major, layer-minor.
    rep_files : sequence of path-like
        Representation files (:func:`cnntopo.stages.ph.similarity.similarity_representations`),
        seed-major, in the order of ``representations``.
    eval_set : path-like
        ``eval_set.json`` (the image labels).
    out_csv : path-like
        Output: ``measure, representation, dim, rho, ci_low, ci_high, n_cases, note``.
        Undefined comparisons (NaN, e.g. RBF CKA or CCA on a degenerate layer) are
        left out of rho; ``n_cases`` counts the points used and ``note`` names the
        (model, layer)s with undefined values and why (empty when complete). Each is
        logged once as a warning.
    seeds : sequence of int
        The tested models.
    layers : sequence of str
    representations : sequence of str
    measures : sequence of mapping
        ``{"label", "name", "params"}`` as :func:`cnntopo.stages.ph.similarity.similarity_cross`
        (built-in or user measures).
    ph_measure : str
        Label of the PH row, e.g. ``"sliced_wasserstein_H1"``.
    n_boot : int
        ``similarity.bootstrap``.
    seed : int, default 0
    diagram_representations : sequence of str, default ()
        Representations (among ``representations``, not ``topl2``) that also get PH
        rows: the diagram distances ``diagram_measures`` between the Vietoris-Rips
        diagrams of the original and of each reduced representation
        (:func:`cnntopo.ph.sensitivity.deletion_curve`), the same deletions as the
        measures. ``topl2``'s PH row is the paper's test above.
    diagram_measures : sequence of mapping, default ()
        ``{"label", "metric", "dim", "params"}`` each (``similarity.diagram_distances``).
    persistence : mapping, optional
        ``{"maxdim", "backend", "coeff"}`` of those diagrams.
    """
    import pandas as pd

    from cnntopo.ph.representations import layer_gram, load_representation
    from cnntopo.ph.sensitivity import deletion_curve, spearman_interval
    from cnntopo.progress import progress_lines

    labels = eval_labels(eval_set)
    L, R = len(layers), len(representations)
    if len(ph_tables) != len(seeds) * L or len(rep_files) != len(seeds) * R:
        raise ValueError("expected one PH table per (seed, layer) and one file per (seed, rep)")
    rows = []
    ph = pd.concat(
        [
            pd.read_csv(f).assign(group=f"{s}/{layer}")
            for f, (s, layer) in zip(
                ph_tables, [(s, x) for s in seeds for x in layers], strict=True
            )
        ]
    )
    rho, lo, hi, n = spearman_interval(ph["sw"], ph["accuracy_drop"], ph["group"], n_boot=n_boot)
    dim = int(ph_measure.rsplit("_H", 1)[1])
    rows.append(
        {
            "measure": ph_measure,
            "representation": "topl2",
            "dim": dim,
            "rho": rho,
            "ci_low": lo,
            "ci_high": hi,
            "n_cases": n,
            "note": "",
        }
    )
    specs = [(m["label"], m["name"], dict(m["params"])) for m in measures]
    allowed = set(representations) - {"topl2"}
    unknown = sorted(set(diagram_representations) - allowed)
    if unknown:
        raise ValueError(
            f"diagram_representations {unknown}: PH rows need a representation among "
            f"{list(representations)} other than topl2 (whose PH row is the paper's test)"
        )
    lines = progress_lines(len(seeds) * L * R, "curves")
    for r, rep in enumerate(representations):
        t0 = time.perf_counter()
        curves = []
        dms = list(diagram_measures) if rep in diagram_representations else []
        columns = [label for label, _, _ in specs] + [m["label"] for m in dms]
        undefined: dict[str, dict[str, str]] = {label: {} for label in columns}
        for i, s in enumerate(seeds):
            layer_reps = load_representation(rep_files[i * R + r])
            for layer, rep_ in zip(layers, layer_reps, strict=True):
                gram = layer_gram(rep_)
                notes: dict = {}
                # similarity.max_images: the representations hold the first N images
                curve = deletion_curve(
                    gram,
                    labels[: gram.shape[0]],
                    specs,
                    features=rep_[1],
                    notes=notes,
                    diagram_measures=dms,
                    persistence=persistence,
                )
                for label, reason in notes.items():
                    undefined[label][f"{s}/{layer}"] = reason
                    log.warning(
                        "sensitivity: %s on %s undefined for %s/%s: %s (left out)",
                        label,
                        rep,
                        s,
                        layer,
                        reason,
                    )
                curves.append(curve.assign(group=f"{s}/{layer}"))
                lines.update(r * len(seeds) * L + len(curves), representation=rep, layer=layer)
        table = pd.concat(curves)
        dims = {m["label"]: int(m["dim"]) for m in dms}
        for label in columns:
            values = pd.to_numeric(table[label], errors="coerce")
            drop = pd.to_numeric(table["accuracy_drop"], errors="coerce")
            rho, lo, hi, n = spearman_interval(
                values, drop, table["group"], n_boot=n_boot, seed=seed
            )
            rows.append(
                {
                    "measure": label,
                    "representation": rep,
                    "dim": dims.get(label),
                    "rho": rho,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_cases": n,
                    "note": _undefined_note(undefined[label], len(seeds) * L),
                }
            )
        log.info(
            "sensitivity on %s: %d curves in %.1f s", rep, len(curves), time.perf_counter() - t0
        )
    out = pd.DataFrame(rows)
    out["dim"] = out["dim"].astype("Int64")
    with artifacts.atomic_path(out_csv) as tmp:
        out.to_csv(tmp, index=False)
