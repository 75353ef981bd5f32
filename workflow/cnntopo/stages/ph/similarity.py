"""Stages of ``rules/ph/similarity.smk``: representations, cross matrices, the tests.

docs/methods.md §9: every (model, layer) is summarised once per representation
(``topl2``, ``flat``, ``pool``) by its centred linear Gram matrix (and, when narrow,
its features); each measure of :mod:`cnntopo.ph.similarity` then compares every
(model, layer) with every other; the same tests (specificity, layer depth, stage
permutation) run on those matrices and on the PH cross-distance matrices.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import load_cross, write_cross

__all__ = [
    "similarity_representations",
    "load_representation",
    "layer_gram",
    "measure_cross",
    "similarity_cross",
    "similarity_tests",
    "figure_similarity",
]

log = logging.getLogger("cnntopo")

#: Representations whose features are stored next to the Gram matrix (narrow: N x c).
_WITH_FEATURES = ("topl2", "pool")

#: Clock of the progress lines (tests replace it with a fake one).
_clock = time.perf_counter


def progress_lines(total: int, unit: str):
    """A :class:`cnntopo.progress.Progress` that logs ``total`` ``unit`` with an ETA every 30 s."""
    from cnntopo.progress import Progress

    return Progress(max(1, int(total)), log.info, unit=unit, clock=_clock)


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
        acts = np.load(shard, mmap_mode="r")
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


def load_representation(path: str | Path) -> list[tuple[np.ndarray | None, np.ndarray | None]]:
    """Read a file of :func:`similarity_representations`.

    Returns
    -------
    list of (gram, features), one per layer
        ``gram`` (N, N) for ``flat`` (else None), ``features`` (N, c) for ``topl2`` and
        ``pool`` (else None). :func:`layer_gram` gives the Gram matrix of either.
    """
    with np.load(path) as z:
        n_layers = len(z["layers"])
        grams = z["grams"] if "grams" in z.files else [None] * n_layers
        return [
            (grams[i], z[f"features_{i}"] if f"features_{i}" in z.files else None)
            for i in range(n_layers)
        ]


def layer_gram(rep: tuple[np.ndarray | None, np.ndarray | None]) -> np.ndarray:
    """The linear Gram matrix (N, N) of one layer of :func:`load_representation`."""
    from cnntopo.ph.similarity import linear_gram

    gram, features = rep
    return gram if gram is not None else linear_gram(features)


def measure_cross(
    spec: Mapping,
    reps: Sequence[tuple[np.ndarray | None, np.ndarray | None]],
    others: Sequence[tuple[np.ndarray | None, np.ndarray | None]] | None = None,
    *,
    threads: int = 1,
    cache: dict | None = None,
) -> np.ndarray:
    """One measure between every layer of ``reps`` and every other (or every one of ``others``).

    Linear CKA on narrow representations uses their features (no ``N x N`` matrices);
    measures with a Gram form use the Gram matrices; PWCCA, which weighs neurons, uses
    the features where stored, else the principal coordinates of the Gram matrices.

    Parameters
    ----------
    spec : mapping
        ``{"name", "params"}``: a measure of :data:`cnntopo.ph.similarity.MEASURES`.
    reps : sequence of (gram, features)
        Layers as :func:`load_representation` reads them, K1 of them.
    others : sequence of (gram, features), optional
        K2 further layers over the same images (e.g. another network's); None = the
        matrix within ``reps``.
    threads : int, default 1
        Threads over the rows of the matrix (values do not depend on it).
    cache : dict, optional
        Keeps the Gram matrices between calls on the same layers.

    Returns
    -------
    np.ndarray, shape (K1, K1) or (K1, K2), float64
    """
    from cnntopo.ph.similarity import (
        MEASURES,
        cka_matrix,
        measure_matrix,
        measure_matrix_from_grams,
        principal_coordinates,
    )

    name, params = spec["name"], dict(spec["params"])
    sides = [reps] if others is None else [reps, others]
    features = [[x for _, x in side] for side in sides]
    narrow = all(x is not None for side in features for x in side)
    cache = {} if cache is None else cache

    def grams() -> list[list[np.ndarray]]:
        if "grams" not in cache:
            cache["grams"] = [[layer_gram(r) for r in side] for side in sides]
        return cache["grams"]

    if name == "cka_linear" and narrow:  # the feature form: no N x N matrices
        return cka_matrix(*features)
    if MEASURES[name].from_grams is not None:
        return measure_matrix_from_grams(name, *grams(), n_jobs=threads, **params)
    neurons = features if narrow else [[principal_coordinates(g) for g in side] for side in grams()]
    return measure_matrix(name, *neurons, n_jobs=threads, **params)


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
    with np.load(files[0]) as z:
        n = int(json.loads(str(z["meta"]))["shapes"][0][0])  # images (after max_images)
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
        model-major ``(S*L, S*L)``; ``meta`` records ``measure`` (the label),
        ``name``, ``params``, ``representation``, ``kind`` and seconds.
    seeds : sequence of int
        The models, length S.
    layers : sequence of str
        The layers, length L.
    representation : str
        The representation of the files (recorded).
    measures : sequence of mapping
        ``{"label", "name", "params"}`` per output: a measure of
        :data:`cnntopo.ph.similarity.MEASURES` with its parameters.
    threads : int, default 1
        Threads over the rows of each matrix (values do not depend on it).
    mem_mb : int, optional
        The job's memory (``resources.mem_mb``): the Gram-form measures run over blocks
        of models whose Gram matrices fit in it (:func:`seed_blocks`,
        :func:`cnntopo.ph.similarity.blocked_matrix_from_grams`); None = one block.

    Every 30 s at most a line with the pairs done over all measures and an ETA is
    logged (:func:`progress_lines`).
    """
    from cnntopo.ph.similarity import (
        MEASURES,
        blocked_matrix_from_grams,
        cka_matrix,
        measure_matrix,
        principal_coordinates,
    )

    narrow = representation in _WITH_FEATURES
    features = [x for f in rep_files for _, x in load_representation(f)] if narrow else []
    n_reps = len(rep_files) * len(layers)
    n_pairs = n_reps * (n_reps - 1) // 2
    blocks = seed_blocks(rep_files, len(layers), mem_mb)
    lines = progress_lines(len(measures) * n_pairs, "pairs")
    for m, (spec, out) in enumerate(zip(measures, outputs, strict=True)):
        name, params = spec["name"], dict(spec["params"])
        t0 = time.perf_counter()

        def progress(done: int, _total: int, m: int = m, label: str = spec["label"]) -> None:
            lines.update(m * n_pairs + done, measure=label)

        if name == "cka_linear" and narrow:  # the feature form: no N x N matrices
            C = cka_matrix(features)
            progress(n_pairs, n_pairs)
        elif MEASURES[name].from_grams is not None:
            with tempfile.TemporaryDirectory(dir=Path(out).parent) as scratch:
                C = blocked_matrix_from_grams(
                    name,
                    lambda b: [layer_gram(r) for f in blocks[b] for r in load_representation(f)],
                    len(blocks),
                    scratch,
                    n_jobs=threads,
                    progress=progress,
                    **params,
                )
        else:
            # PWCCA weighs neurons: the features where stored, else principal coordinates
            if narrow:
                neurons = features
            else:
                neurons = [
                    principal_coordinates(layer_gram(r))
                    for f in rep_files
                    for r in load_representation(f)
                ]
            C = measure_matrix(name, neurons, n_jobs=threads, progress=progress, **params)
        meta = {
            "measure": spec["label"],
            "name": name,
            "params": params,
            "representation": representation,
            "kind": MEASURES[name].kind,
            "seconds": time.perf_counter() - t0,
        }
        write_cross(out, C, seeds, layers, meta)
        log.info("%s on %s: %s in %.1f s", spec["label"], representation, C.shape, meta["seconds"])


def _row_identity(meta: Mapping) -> dict:
    """measure / representation / dim of a cross matrix (similarity or diagram distance)."""
    if "representation" in meta:
        return {"measure": meta["measure"], "representation": meta["representation"], "dim": None}
    return {
        "measure": f"{meta['metric']}_H{meta['dim']}",
        "representation": "topl2",
        "dim": int(meta["dim"]),
    }


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

    Parameters
    ----------
    cross_files : sequence of path-like
        Cross matrices of :func:`similarity_cross` and of
        :func:`cnntopo.stages.ph.distances.cross_distances` (PH rows), over the same
        models and layers.
    out_specificity : path-like
        Output: ``measure, representation, dim, exact, within1, ci_low, ci_high,
        within1_ci_low, within1_ci_high, n_cases`` (intervals: bootstrap over model
        pairs; ``dim`` empty for non-PH rows).
    out_depth : path-like
        Output: ``measure, representation, dim, rho, ci_low, ci_high, n_pairs``
        (Spearman correlation of dissimilarity and depth difference).
    out_permutation : path-like
        Output: ``measure, representation, dim, model, mean_within, mean_between,
        statistic, p_value, n_permutations``, one row per model and a ``pooled`` row.
        Similarities enter as dissimilarities (their negative).
    stages : sequence, length L
        Stage label of every layer (its spatial resolution).
    n_boot : int
        ``similarity.bootstrap``.
    n_permutations : int
        ``similarity.permutations``.
    seed : int, default 0
        Seed of the resampling.
    """
    import pandas as pd

    from cnntopo.ph.specificity import (
        bootstrap_identification,
        depth_correlation,
        nearest_layers,
        stage_permutation_test,
    )

    spec_rows, depth_rows, perm_rows = [], [], []
    for f in cross_files:
        D, seeds, layers, meta = load_cross(f)
        S, L, kind = len(seeds), len(layers), meta["kind"]
        ident = _row_identity(meta)
        nearest = nearest_layers(D, S, L, kind)
        exact, lo, hi, n = bootstrap_identification(nearest, 0, n_boot=n_boot, seed=seed)
        within, wlo, whi, _ = bootstrap_identification(nearest, 1, n_boot=n_boot, seed=seed)
        spec_rows.append(
            {
                **ident,
                "exact": exact,
                "within1": within,
                "ci_low": lo,
                "ci_high": hi,
                "within1_ci_low": wlo,
                "within1_ci_high": whi,
                "n_cases": n,
            }
        )
        rho, rlo, rhi, pairs = depth_correlation(D, S, L, kind, n_boot=n_boot, seed=seed)
        depth_rows.append({**ident, "rho": rho, "ci_low": rlo, "ci_high": rhi, "n_pairs": pairs})
        sign = 1.0 if kind == "distance" else -1.0
        within_blocks = [sign * D[s * L : (s + 1) * L, s * L : (s + 1) * L] for s in range(S)]
        per_model, pooled = stage_permutation_test(
            within_blocks, stages, n_permutations=n_permutations, seed=seed
        )
        for model, res in [*zip(seeds, per_model, strict=True), ("pooled", pooled)]:
            perm_rows.append({**ident, "model": model, **res, "n_permutations": n_permutations})
        log.info(
            "%s (%s): %.3f exact [%.3f, %.3f], %.3f within 1; depth rho %.2f; pooled p %.4f",
            ident["measure"],
            ident["representation"],
            exact,
            lo,
            hi,
            within,
            rho,
            pooled["p_value"],
        )
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
