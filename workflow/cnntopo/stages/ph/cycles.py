"""Stages of ``rules/ph/cycles.smk``: representative cycles, their ring figures, the page.

docs/methods.md, "Representative cycles": for every (representation, model, layer)
one loop of images per top H1 bar (:func:`cnntopo.cycles.representative_cycles`),
written as JSON with each image's dataset index and class; every layer's loops drawn as
rings of thumbnails; one page with all of them.
"""

from __future__ import annotations

import importlib
import logging
import platform
import socket
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.config import config_hash
from cnntopo.stages.common import load_points, load_split

__all__ = ["cycles", "figure_cycles", "cycles_page", "cycle_images"]

log = logging.getLogger("cnntopo")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _provenance(settings: Mapping) -> dict:
    """Host, versions, time and the hash of the job's settings (torch-free, for the tda env)."""
    return {
        "config_hash": config_hash(dict(settings)),
        "code_version": _version("cnntopo"),
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "ripser": _version("ripser"),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _closest_bar(h1: np.ndarray, birth: float, death: float) -> int:
    return int(np.argmin(np.abs(h1[:, 0] - birth) + np.abs(h1[:, 1] - death)))


def cycles(
    outputs: Sequence[str | Path],
    *,
    diagrams: Sequence[str | Path],
    eval_set: str | Path,
    clouds: Sequence[str | Path] | None = None,
    rep: str | Path | None = None,
    seed: int,
    representation: str,
    layers: Sequence[str],
    top_k: int,
    maxdim: int,
    coeff: int,
) -> None:
    """Representative cycles of the ``top_k`` longest H1 bars of every layer of one model.

    Parameters
    ----------
    outputs : sequence of path-like
        One JSON per layer (order of ``layers``): ``representation``, ``seed``,
        ``layer``, ``n_points``, ``split``, ``classes``, ``h1`` (the layer's finite H1
        bars, ``[[birth, death], ...]``, from its diagram file), ``cycles`` (each:
        ``rank``, ``birth``, ``death``, ``bar`` (its index in ``h1``), ``rows`` (cloud
        rows in loop order), ``images`` (their dataset indices), ``labels`` and
        ``classes`` (their classes), ``edge_lengths``, ``birth_edge`` (rows),
        ``pairing`` (null when found from the birth edge alone)), ``seconds``,
        ``settings`` and ``provenance`` (config hash of the settings, code version,
        host, versions, time).
    diagrams : sequence of path-like
        The layers' diagram files (:func:`cnntopo.ph.persistence.save_diagrams`).
    eval_set : path-like
        ``data/eval_set.json``: the dataset index and label of every cloud row.
    clouds : sequence of path-like, optional
        ``topl2``: the point clouds (``points`` (N, c)).
    rep : path-like, optional
        ``flat`` / ``pool``: the similarity representation file of the model; its
        distances by :func:`cnntopo.ph.representations.representation_distances`
        (rows: the first ``similarity.max_images`` recorded images).
    seed : int
    representation : {"topl2", "flat", "pool"}
    layers : sequence of str
    top_k : int
        ``cycles.top_k``.
    maxdim, coeff : int
        ``persistence.maxdim`` and ``persistence.coeff`` (those of the diagrams).

    Raises
    ------
    ValueError
        If neither or both of ``clouds`` and ``rep`` are given, or the counts differ.
    """
    from cnntopo.cycles import representative_cycles
    from cnntopo.ph.persistence import load_diagram_dim

    if (clouds is None) == (rep is None):
        raise ValueError("give the point clouds (topl2) or a representation file, not both")
    if not len(outputs) == len(diagrams) == len(layers):
        raise ValueError(
            f"expected one diagram and one output per layer: {len(diagrams)} diagrams, "
            f"{len(outputs)} outputs, {len(layers)} layers"
        )
    sel = artifacts.read_json(eval_set)
    indices = np.asarray(sel["indices"], dtype=np.int64)
    labels = np.asarray(sel["labels"], dtype=np.int64)
    classes = list(sel["classes"])
    reps = None
    if rep is not None:
        from cnntopo.ph.representations import load_representation, representation_distances

        reps = load_representation(rep)
    settings = {
        "representation": representation,
        "seed": int(seed),
        "layers": list(layers),
        "top_k": int(top_k),
        "maxdim": int(maxdim),
        "coeff": int(coeff),
    }
    for module in ("ripser", "scipy.sparse.csgraph", "scipy.spatial.distance"):
        importlib.import_module(module)  # keep import time out of the timings
    t_all = time.perf_counter()
    for i, (layer, dgm_file, out) in enumerate(zip(layers, diagrams, outputs, strict=True)):
        if reps is not None:
            data, is_d = representation_distances(reps[i]), True
        else:
            data, is_d = load_points(clouds[i]), False
        h1 = load_diagram_dim(dgm_file, 1)
        h1 = h1[np.isfinite(h1[:, 1])]
        n = int(data.shape[0])
        if n > len(indices):
            raise ValueError(
                f"{layer}: {n} rows but {eval_set} records {len(indices)} images; rerun the workflow"
            )
        t0 = time.perf_counter()
        found = representative_cycles(
            data, top_k, distance_matrix=is_d, maxdim=maxdim, coeff=coeff, diagram=h1
        )
        seconds = time.perf_counter() - t0
        rows = []
        for c in found:
            v = np.asarray(c.vertices, dtype=np.int64)
            rows.append(
                {
                    "rank": c.rank,
                    "birth": c.birth,
                    "death": c.death,
                    "bar": _closest_bar(h1, c.birth, c.death),
                    "rows": v.tolist(),
                    "images": indices[v].tolist(),
                    "labels": labels[v].tolist(),
                    "classes": [classes[k] for k in labels[v]],
                    "edge_lengths": list(c.edge_lengths),
                    "birth_edge": list(c.birth_edge),
                    "pairing": c.pairing,
                }
            )
        record = {
            "representation": representation,
            "seed": int(seed),
            "layer": layer,
            "n_points": n,
            "split": sel["split"],
            "dataset": sel["dataset"],
            "classes": classes,
            "h1": h1.tolist(),
            "cycles": rows,
            "seconds": seconds,
            "settings": settings,
            "provenance": _provenance(settings),
        }
        artifacts.write_json(out, record)
        log.info(
            "%s %s seed %d: %d cycles of %d points in %.2f s (lengths %s)",
            layer,
            representation,
            seed,
            len(rows),
            n,
            seconds,
            [len(r["rows"]) for r in rows],
        )
    log.info("cycles of %d layers in %.1f s", len(layers), time.perf_counter() - t_all)


def cycle_images(dataset: Mapping, split: str, wanted: Sequence[int]) -> dict[int, np.ndarray]:
    """The images of some dataset indices of one split (uint8, as the loader gives them).

    Parameters
    ----------
    dataset : mapping
        The config section ``dataset``.
    split : {"train", "test"}
    wanted : sequence of int
        Dataset indices (``ImageSet.indices``).

    Returns
    -------
    dict of int to numpy.ndarray
        Index -> image ``(H, W, C)``.

    Raises
    ------
    ValueError
        If an index is not in the split (the dataset changed since the run).
    """
    images = load_split(dataset, split)
    pos = {int(k): i for i, k in enumerate(images.indices)}
    missing = sorted({int(w) for w in wanted} - set(pos))
    if missing:
        raise ValueError(
            f"the {dataset['name']} {split} split has no images {missing[:5]}; it changed since "
            "the cycles were computed: rerun the workflow"
        )
    return {int(w): images.images[pos[int(w)]] for w in wanted}


def figure_cycles(
    cycle_files: Sequence[str | Path],
    outputs: Sequence[str | Path],
    *,
    dataset: Mapping,
    layers: Sequence[str],
    top_k: int,
    title: str,
) -> None:
    """Every layer's cycles of one model as rings of their images: one figure, a row per layer.

    Parameters
    ----------
    cycle_files : sequence of path-like
        The ``cycles`` JSON of every layer (order of ``layers``).
    outputs : sequence of path-like
        The figure, one file per format.
    dataset : mapping
        The config section ``dataset`` (the thumbnails' images).
    layers : sequence of str
        The rows' labels.
    top_k : int
        ``cycles.top_k``: the columns.
    title : str
        The figure's title (the model), e.g. ``"topl2 seed 0"``.
    """
    from cnntopo.cycles.figure import ring_figure
    from cnntopo.figures_io import save_figure

    records = [artifacts.read_json(f) for f in cycle_files]
    wanted = sorted({i for r in records for c in r["cycles"] for i in c["images"]})
    images = cycle_images(dataset, records[0]["split"], wanted) if wanted else {}
    rows = [(layer, rec["cycles"]) for layer, rec in zip(layers, records, strict=True)]
    fig = ring_figure(rows, images, records[0]["classes"], title=title, top_k=top_k)
    save_figure(fig, list(outputs))


def cycles_page(
    cycle_files: Sequence[str | Path],
    out_html: str | Path,
    *,
    dataset: Mapping,
    title: str,
    links: Sequence[Sequence[str]] = (),
) -> None:
    """The cycles page (:func:`cnntopo.cycles.page.write_cycles_page`) of every cycle file.

    Parameters
    ----------
    cycle_files : sequence of path-like
        Every ``cycles`` JSON of the experiment.
    out_html : path-like
        The page.
    dataset : mapping
        The config section ``dataset`` (the thumbnails' images).
    title : str
    links : sequence of (text, href)
        Header links, relative to the page.
    """
    from cnntopo.cycles.page import write_cycles_page

    records = [artifacts.read_json(f) for f in cycle_files]
    wanted = sorted({i for r in records for c in r["cycles"] for i in c["images"]})
    images = cycle_images(dataset, records[0]["split"], wanted) if wanted else {}
    data = write_cycles_page(
        out_html,
        records,
        records[0]["classes"] if records else [],
        images,
        title=title,
        links=[(str(t), str(u)) for t, u in links],
    )
    log.info("cycles page: %d layers, %d thumbnails", len(data["entries"]), len(data["thumbs"]))
