"""Stages of ``rules/ph/similarity.smk``: representations, cross matrices, the tests.

docs/methods.md §9: every (model, layer) is summarised once per representation
(``topl2``, ``flat``, ``pool``) by its centred linear Gram matrix (and, when narrow,
its features); each measure of :mod:`cnntopo.ph.similarity` then compares every
(model, layer) with every other; the same tests (specificity, layer depth, stage
permutation) run on those matrices and on the PH cross-distance matrices.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.ph.representations import layer_gram, load_representation
from cnntopo.progress import progress_lines
from cnntopo.stages.common import load_cross, write_cross

__all__ = [
    "similarity_representations",
    "load_representation",
    "layer_gram",
    "measure_cross",
    "note_labels",
    "similarity_cross",
    "similarity_tests",
    "figure_similarity",
    "progress_lines",
]

log = logging.getLogger("cnntopo")

#: Representations whose features are stored next to the Gram matrix (narrow: N x c).
_WITH_FEATURES = ("topl2", "pool")


def similarity_representations(
    shards: Sequence[str | Path],
    outputs: Sequence[str | Path],
    *,
    seed: int,
    layers: Sequence[str],
    representations: Sequence[str],
    max_images: int | None = None,
) -> None:
    """Centred Gram matrices of every layer of one model, one file per representation.

    Each shard is read memory-mapped; ``flat`` accumulates its Gram matrix over channel
    blocks (:func:`cnntopo.ph.representations.centred_gram`), so memory stays bounded
    by one block plus the ``N x N`` matrices, whatever the layer width.

    Parameters
    ----------
    shards : sequence of path-like
        The activation shards ``(N, c, h, w)`` of ``layers``, in the same order.
    outputs : sequence of path-like
        One ``.npz`` per representation (in the order of ``representations``): for
        ``flat``, ``grams`` (L, N, N) float64, the centred linear Gram matrix of every
        layer; for ``topl2`` and ``pool``, ``features_<l>`` (N, c) float64 of every
        layer (N x c is smaller than N x N); ``layers``; ``meta``.
    seed : int
        The network's seed (recorded).
    layers : sequence of str
        The layer names.
    representations : sequence of {"topl2", "flat", "pool"}
        ``similarity.representations``.
    max_images : int, optional
        ``similarity.max_images``: use the first this many images of every shard (with
        ``activations.selection: random`` the shards hold a seeded random order);
        None = all.
    """
    from cnntopo.ph.representations import representation, representation_gram

    t0 = time.perf_counter()
    grams = {rep: [] for rep in representations}
    features = {rep: {} for rep in representations}
    shapes = []
    for i, (shard, layer) in enumerate(zip(shards, layers, strict=True)):
        acts = artifacts.read_array(shard, mmap=True)
        if max_images is not None:
            acts = acts[: int(max_images)]
        shapes.append(list(acts.shape))
        for rep in representations:
            if rep in _WITH_FEATURES:  # N x c: the Gram matrix is cheap to rebuild
                features[rep][f"features_{i}"] = np.asarray(
                    representation(acts, rep), dtype=np.float64
                )
            else:
                grams[rep].append(representation_gram(acts, rep))
        log.info("%s seed %d: %s -> %s", layer, seed, acts.shape, ", ".join(representations))
    for rep, out in zip(representations, outputs, strict=True):
        meta = {
            "representation": rep,
            "seed": int(seed),
            "shapes": shapes,
            "max_images": max_images,
        }
        stacked = {"grams": np.stack(grams[rep])} if grams[rep] else {}
        artifacts.write_npz(
            out,
            **stacked,
            layers=np.array(list(layers)),
            meta=np.array(artifacts.json_dumps(meta)),
            **features[rep],
        )
    log.info("representations of seed %d in %.1f s", seed, time.perf_counter() - t0)


def measure_cross(
    spec: Mapping,
    reps: Sequence[tuple[np.ndarray | None, np.ndarray | None]],
    others: Sequence[tuple[np.ndarray | None, np.ndarray | None]] | None = None,
    *,
    threads: int = 1,
    cache: dict | None = None,
    notes: dict | None = None,
) -> np.ndarray:
    """One measure between every layer of ``reps`` and every other (or every one of ``others``).

    :func:`cnntopo.ph.similarity.compare` (the router) decides how; undefined entries
    are NaN.

    Parameters
    ----------
    spec : mapping
        ``{"name", "params"}``: a built-in measure of
        :data:`cnntopo.ph.similarity.MEASURES` or a user measure spec.
    reps : sequence of (gram, features)
        Layers as :func:`load_representation` reads them, K1 of them.
    others : sequence of (gram, features), optional
        K2 further layers over the same images (e.g. another network's); None = the
        matrix within ``reps``.
    threads : int, default 1
        Threads over the rows of the matrix (values do not depend on it).
    cache : dict, optional
        Keeps the Gram matrices between calls on the same layers.
    notes : dict, optional
        Filled with the reasons of the NaN entries (:attr:`cnntopo.ph.similarity.Comparison.notes`).

    Returns
    -------
    np.ndarray, shape (K1, K1) or (K1, K2), float64
    """
    from cnntopo.ph.similarity import compare

    result = compare(spec, reps, others, n_jobs=threads, cache=cache)
    if notes is not None:
        notes.update(result.notes)
    return result.matrix


def note_labels(notes: Mapping, seeds: Sequence[int], layers: Sequence[str]) -> dict[str, str]:
    """Reasons of the NaN entries of a model-major cross matrix, keyed by ``"<seed>/<layer>"``.

    Parameters
    ----------
    notes : mapping
        :attr:`cnntopo.ph.similarity.Comparison.notes` of the ``(S*L, S*L)`` matrix.
    seeds, layers : sequence
        The models (S) and layers (L).

    Returns
    -------
    dict
        ``"<seed>/<layer>"`` -> reason for an undefined (model, layer);
        ``"<seed>/<layer> ~ <seed>/<layer>"`` -> reason for an undefined pair.
    """
    L = len(layers)

    def name(k: int) -> str:
        return f"{seeds[k // L]}/{layers[k % L]}"

    return {
        (" ~ ".join(name(k) for k in key) if isinstance(key, tuple) else name(key)): reason
        for key, reason in notes.items()
    }


def seed_blocks(
    rep_files: Sequence[str | Path], n_layers: int, mem_mb: int | None
) -> list[list[str | Path]]:
    """The models' representation files in blocks that a cross job of ``mem_mb`` MB holds.

    A blocked cross matrix keeps at most three blocks of ``N x N`` float64 matrices in
    memory (one block's Gram matrices while they are prepared, two blocks' prepared
    forms while their pairs are computed); 1,000 MB are left for everything else.

    Parameters
    ----------
    rep_files : sequence of path-like
        One representation file per model (:func:`similarity_representations`).
    n_layers : int
        Layers per model.
    mem_mb : int or None
        The job's memory; None = every model in one block.

    Returns
    -------
    list of list of path-like
        Consecutive blocks of ``rep_files``, each of at least one model.
    """
    files = list(rep_files)
    if mem_mb is None or not files:
        return [files]
    _, meta = artifacts.read_npz(files[0], keys=["meta"])
    n = int(meta["shapes"][0][0])  # images (after max_images)
    per_model_mb = n_layers * n * n * 8 / 2**20
    per_block = max(1, int((mem_mb - 1000) // (3 * per_model_mb)))
    return [files[i : i + per_block] for i in range(0, len(files), per_block)]


def similarity_cross(
    rep_files: Sequence[str | Path],
    outputs: Sequence[str | Path],
    *,
    seeds: Sequence[int],
    layers: Sequence[str],
    representation: str,
    measures: Sequence[Mapping],
    threads: int = 1,
    mem_mb: int | None = None,
) -> None:
    """Every measure between every (model, layer) and every other, for one representation.

    Parameters
    ----------
    rep_files : sequence of path-like
        The representation file of every model (:func:`similarity_representations`),
        in the order of ``seeds``.
    outputs : sequence of path-like
        One cross matrix per measure (:func:`cnntopo.stages.common.write_cross`),
        model-major ``(S*L, S*L)``, NaN where the measure is undefined; ``meta``
        records ``measure`` (the label), ``name``, ``params``, ``representation``,
        ``kind``, ``route`` (:func:`cnntopo.ph.similarity.route`), ``notes``
        (:func:`note_labels`: ``"<seed>/<layer>"`` -> why its row and column are NaN;
        each also logged once as a warning) and seconds.
    seeds : sequence of int
        The models, length S.
    layers : sequence of str
        The layers, length L.
    representation : str
        The representation of the files (recorded).
    measures : sequence of mapping
        ``{"label", "name", "params"}`` per output
        (:func:`cnntopo.ph.similarity.measure_specs`): a built-in measure with its
        parameters or a user measure ``"python:<file.py>:<function>"``.
    threads : int, default 1
        Threads over the rows of each matrix (values do not depend on it).
    mem_mb : int, optional
        The job's memory (``resources.mem_mb``): the Gram-form measures run over blocks
        of models whose Gram matrices fit in it (:func:`seed_blocks`,
        :func:`cnntopo.ph.similarity.blocked_matrix_from_grams`); None = one block.

    Every 30 s at most a line with the pairs done over all measures and an ETA is
    logged (:func:`progress_lines`).
    """
    from cnntopo.ph.similarity import RepBlocks, compare

    narrow = representation in _WITH_FEATURES
    n_reps = len(rep_files) * len(layers)
    n_pairs = n_reps * (n_reps - 1) // 2
    blocks = seed_blocks(rep_files, len(layers), mem_mb)
    lines = progress_lines(len(measures) * n_pairs, "pairs")
    loaded: dict = {}

    def load_block(b: int) -> list:
        if narrow:  # N x c features: small, kept for every measure
            if b not in loaded:
                loaded[b] = [r for f in blocks[b] for r in load_representation(f)]
            return loaded[b]
        return [r for f in blocks[b] for r in load_representation(f)]

    for m, (spec, out) in enumerate(zip(measures, outputs, strict=True)):
        t0 = time.perf_counter()

        def progress(done: int, _total: int, m: int = m, label: str = spec["label"]) -> None:
            lines.update(m * n_pairs + done, measure=label)

        result = compare(
            spec,
            RepBlocks(load_block, len(blocks), narrow),
            n_jobs=threads,
            progress=progress,
            scratch=Path(out).parent,
        )
        notes = note_labels(result.notes, seeds, layers)
        for where, reason in notes.items():
            log.warning(
                "%s on %s undefined for %s: %s (NaN in the matrix)",
                spec["label"],
                representation,
                where,
                reason,
            )
        meta = {
            "measure": spec["label"],
            "name": spec["name"],
            "params": dict(spec["params"]),
            "representation": representation,
            "kind": result.kind,
            "route": result.route,
            "notes": notes,
            "seconds": time.perf_counter() - t0,
        }
        write_cross(out, result.matrix, seeds, layers, meta)
        log.info(
            "%s on %s: %s in %.1f s",
            spec["label"],
            representation,
            result.matrix.shape,
            meta["seconds"],
        )


def _row_identity(meta: Mapping) -> dict:
    """measure / representation / dim of a cross matrix (similarity or diagram distance).

    A diagram distance's matrix (:func:`cnntopo.stages.ph.distances.cross_distances`)
    has ``metric`` and ``dim`` and records its ``representation`` (files written before
    ``persistence.representations`` existed hold top-l2 diagrams and lack it).
    """
    if "metric" in meta:
        return {
            "measure": f"{meta['metric']}_H{meta['dim']}",
            "representation": meta.get("representation", "topl2"),
            "dim": int(meta["dim"]),
        }
    return {"measure": meta["measure"], "representation": meta["representation"], "dim": None}


def _undefined_note(meta: Mapping) -> str:
    """The cross matrix's undefined (model, layer)s as one sentence ("" if none)."""
    notes = meta.get("notes") or {}
    if not notes:
        return ""
    reasons = sorted(set(notes.values()))
    where = ", ".join(list(notes)[:3]) + (", ..." if len(notes) > 3 else "")
    return f"undefined for {len(notes)} (model, layer) ({where}): " + "; ".join(reasons)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _dropped_note(n_dropped: int, n_total: int, what: str) -> str:
    return f"{n_dropped} of {n_total} {what} dropped (NaN entries)" if n_dropped else ""


def similarity_tests(
    cross_files: Sequence[str | Path],
    out_specificity: str | Path,
    out_depth: str | Path,
    out_permutation: str | Path,
    *,
    stages: Sequence,
    n_boot: int,
    n_permutations: int,
    seed: int = 0,
) -> None:
    """The same tests on every cross matrix: specificity, layer depth, stage permutation.

    Undefined comparisons (NaN entries of a cross matrix, see :func:`similarity_cross`)
    are left out of every test (``missing="drop"`` of :mod:`cnntopo.ph.specificity`),
    and how many cases that cost is recorded. A test that cannot apply to the design
    (one model; one layer; a ±1 window that covers every layer; stage labels without
    two stages of which one has two layers, e.g. one conv layer per resolution) gives a
    row of NaN whose ``note`` says why; the other tests and matrices are still written.

    Parameters
    ----------
    cross_files : sequence of path-like
        Cross matrices of :func:`similarity_cross` and of
        :func:`cnntopo.stages.ph.distances.cross_distances` (PH rows, one per
        diagram distance and ``persistence.representations`` entry, each with its
        representation), over the same models and layers.
    out_specificity : path-like
        Output: ``measure, representation, dim, exact, within1, ci_low, ci_high,
        within1_ci_low, within1_ci_high, seed_ci_low, seed_ci_high, n_cases, n_dropped,
        note`` (``ci_*``: bootstrap over model pairs, conditional on the networks trained;
        ``seed_ci_*``: of the exact rate, bootstrap over the networks themselves, so it
        includes training randomness (:func:`cnntopo.ph.specificity.
        seed_bootstrap_identification`); ``dim`` empty for non-PH rows; ``n_cases`` the
        decided cases, ``n_dropped`` those left out for NaN entries).
    out_depth : path-like
        Output: ``measure, representation, dim, rho, ci_low, ci_high, n_pairs, note``
        (Spearman correlation of dissimilarity and depth difference).
    out_permutation : path-like
        Output: ``measure, representation, dim, model, mean_within, mean_between,
        statistic, p_value, n_dropped, n_permutations, note``, one row per model and a
        ``pooled`` row. Similarities enter as dissimilarities (their negative).
    stages : sequence, length L
        Stage label of every layer (its spatial resolution).
    n_boot : int
        ``similarity.bootstrap``.
    n_permutations : int
        ``similarity.permutations``.
    seed : int, default 0
        Seed of the resampling.

    ``note`` is empty when the row is complete; otherwise it names the undefined
    (model, layer)s of the matrix (its ``meta["notes"]``), the dropped cases, or why
    the test does not apply.
    """
    import pandas as pd

    from cnntopo.ph.specificity import (
        DROPPED,
        NotApplicableError,
        bootstrap_identification,
        depth_correlation,
        nearest_layers,
        seed_bootstrap_identification,
        stage_permutation_test,
    )

    nan = float("nan")
    spec_rows, depth_rows, perm_rows = [], [], []
    for f in cross_files:
        D, seeds, layers, meta = load_cross(f)
        S, L, kind = len(seeds), len(layers), meta["kind"]
        ident = _row_identity(meta)
        undefined = _undefined_note(meta)
        if undefined:
            log.warning("%s (%s): %s", ident["measure"], ident["representation"], undefined)

        # specificity
        row = {
            "exact": nan,
            "within1": nan,
            "ci_low": nan,
            "ci_high": nan,
            "within1_ci_low": nan,
            "within1_ci_high": nan,
            "seed_ci_low": nan,
            "seed_ci_high": nan,
            "n_cases": 0,
            "n_dropped": 0,
        }
        try:
            if L < 2:
                raise NotApplicableError(
                    f"{L} layer per model: identifying the same layer is trivial"
                )
            nearest = nearest_layers(D, S, L, kind, missing="drop")
            dropped = int((nearest == DROPPED).sum())
            exact, lo, hi, n = bootstrap_identification(nearest, 0, n_boot=n_boot, seed=seed)
            row.update(exact=exact, ci_low=lo, ci_high=hi, n_cases=n, n_dropped=dropped)
            # the interval over networks (training randomness), beside the pair interval
            _, slo, shi, _ = seed_bootstrap_identification(nearest, 0, n_boot=n_boot, seed=seed)
            row.update(seed_ci_low=slo, seed_ci_high=shi)
            spec_note = _dropped_note(dropped, L * S * (S - 1), "cases")
            if L <= 2:
                spec_note = _join(
                    spec_note, f"within1 not applicable: a +-1 window covers all {L} layers"
                )
            else:
                within, wlo, whi, _ = bootstrap_identification(nearest, 1, n_boot=n_boot, seed=seed)
                row.update(within1=within, within1_ci_low=wlo, within1_ci_high=whi)
        except NotApplicableError as err:
            spec_note = f"not applicable: {err}"
        spec_rows.append({**ident, **row, "note": _join(undefined, spec_note)})

        # layer depth
        try:
            rho, rlo, rhi, pairs = depth_correlation(
                D, S, L, kind, n_boot=n_boot, seed=seed, missing="drop"
            )
            depth_note = _dropped_note(S * (S - 1) - pairs, S * (S - 1), "model pairs")
        except NotApplicableError as err:
            rho, rlo, rhi, pairs, depth_note = nan, nan, nan, 0, f"not applicable: {err}"
        depth_rows.append(
            {
                **ident,
                "rho": rho,
                "ci_low": rlo,
                "ci_high": rhi,
                "n_pairs": pairs,
                "note": _join(undefined, depth_note),
            }
        )

        # stage permutation
        sign = 1.0 if kind == "distance" else -1.0
        within_blocks = [sign * D[s * L : (s + 1) * L, s * L : (s + 1) * L] for s in range(S)]
        try:
            per_model, pooled = stage_permutation_test(
                within_blocks, stages, n_permutations=n_permutations, seed=seed, missing="drop"
            )
            perm_note = ""
        except NotApplicableError as err:
            empty = {
                "mean_within": nan,
                "mean_between": nan,
                "statistic": nan,
                "p_value": nan,
                "n_dropped": 0,
            }
            per_model, pooled = [dict(empty) for _ in seeds], dict(empty)
            perm_note = f"not applicable: {err}"
        for model, res in [*zip(seeds, per_model, strict=True), ("pooled", pooled)]:
            pairs_total = L * (L - 1) // 2 * (S if model == "pooled" else 1)
            note = perm_note or _dropped_note(res["n_dropped"], pairs_total, "layer pairs")
            perm_rows.append(
                {
                    **ident,
                    "model": model,
                    **res,
                    "n_permutations": n_permutations,
                    "note": _join(undefined, note),
                }
            )
        log.info(
            "%s (%s): %.3f exact [%.3f, %.3f], %.3f within 1; depth rho %.2f; pooled p %.4f",
            ident["measure"],
            ident["representation"],
            row["exact"],
            row["ci_low"],
            row["ci_high"],
            row["within1"],
            rho,
            pooled["p_value"],
        )
        for what, note in (("specificity", spec_note), ("depth", depth_note), ("perm", perm_note)):
            if note.startswith("not applicable"):
                log.warning("%s (%s) %s: %s", ident["measure"], ident["representation"], what, note)
    for rows, out in (
        (spec_rows, out_specificity),
        (depth_rows, out_depth),
        (perm_rows, out_permutation),
    ):
        table = pd.DataFrame(rows)
        table["dim"] = table["dim"].astype("Int64")
        with artifacts.atomic_path(out) as tmp:
            table.to_csv(tmp, index=False)


def figure_similarity(
    specificity_csv: str | Path,
    outputs: Sequence[str],
    sensitivity_csv: str | Path | None = None,
    *,
    n_layers: int,
) -> None:
    """The comparison figure (:func:`cnntopo.ph.cross_figures.measures_figure`).

    Parameters
    ----------
    specificity_csv : path-like
        ``analysis/specificity.csv`` of :func:`similarity_tests`.
    outputs : sequence of str
        The figure, one file per format.
    sensitivity_csv : path-like, optional
        ``analysis/sensitivity.csv`` (a second panel).
    n_layers : int
        Layers per model (the chance level).
    """
    import pandas as pd

    from cnntopo.ph import figures as plotting
    from cnntopo.ph.cross_figures import measures_figure

    spec = pd.read_csv(specificity_csv)
    sens = None if sensitivity_csv is None else pd.read_csv(sensitivity_csv)
    fig = measures_figure(spec, sens, n_layers=n_layers)
    plotting.save_figure(fig, outputs)
