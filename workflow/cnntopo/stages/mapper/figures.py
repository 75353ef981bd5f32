"""Stages of ``rules/mapper/figures.smk``: Mapper figures and the interactive explorer
(docs/methods.md §14)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import load_features, load_mapper_images

__all__ = [
    "figure_mapper_knn",
    "figure_mapper_knns",
    "figure_mapper_panels",
    "figure_mapper_purity",
    "figure_mapper_settings",
    "mapper_explorer",
]

log = logging.getLogger("cnntopo")


def figure_mapper_panels(
    graph_files: Sequence[str | Path],
    outputs: Sequence[str | Path],
    *,
    titles: Sequence[str],
    seed: int = 0,
    suptitle: str | None = None,
    ncols: int = 3,
) -> None:
    """A grid of Mapper graphs (pie-chart nodes by class, sized by point count).

    Parameters
    ----------
    graph_files : sequence of path-like
        One graph per panel; the class names are the ones the graphs record (from
        their clouds).
    outputs : sequence of path-like
        The figure in each format (by suffix).
    titles : sequence of str
        Title of each panel.
    seed : int, default 0
        Layout seed.
    suptitle : str, optional
        Figure title.
    ncols : int, default 3
        Panels per row (fewer with fewer panels).
    """
    from cnntopo.mapper.draw import figure_mapper_panels as _panels
    from cnntopo.mapper.draw import resolve_class_names

    panels = [(t, artifacts.read_json(p)) for t, p in zip(titles, graph_files, strict=True)]
    classes = resolve_class_names([g for _, g in panels], None)
    if outputs:  # drawn once, saved in every format
        _panels(
            panels,
            classes,
            list(outputs),
            ncols=min(ncols, max(1, len(panels))),
            seed=seed,
            suptitle=suptitle,
        )


def figure_mapper_purity(
    stats_csv: str | Path, primary: Sequence[str], outputs: Sequence[str | Path]
) -> None:
    """Node-wise and mean class-wise purity per layer, one line per cloud (primary settings).

    ``primary`` lists ``"<cloud>/<layer>/<setting>"`` of the graphs to plot (one per
    cloud and layer).
    """
    import pandas as pd

    from cnntopo.mapper.draw import figure_purity

    table = pd.read_csv(stats_csv)
    key = table["cloud"] + "/" + table["layer"] + "/" + table["setting"]
    table = table[key.isin(set(primary))].rename(columns={"cloud": "construction"})
    if outputs:
        figure_purity(table, list(outputs), title="Mapper purity per layer")


def figure_mapper_settings(stats_csv: str | Path, outputs: Sequence[str | Path]) -> None:
    """Graph size and node-wise purity across the Mapper settings of a parameter sweep."""
    import pandas as pd

    from cnntopo.mapper.draw import figure_settings

    table = pd.read_csv(stats_csv)
    if outputs:
        figure_settings(table, list(outputs))


def figure_mapper_knn(
    cloud_npz: str | Path,
    graph_files: Sequence[str | Path],
    out_npz: str | Path,
    outputs: Sequence[str | Path],
    *,
    k: int,
    queries: int | None,
    seed: int,
    knn_method: str = "exact",
    knn_approx_above: int = 100000,
    predictions: bool = False,
    threads: int = 1,
) -> dict:
    """Sorted k-NN distances of one cloud, with the eps of its graphs marked.

    The official eps plot (``get_knn.get_knn``; docs/methods.md §12):
    :func:`cnntopo.mapper.graph.knn_distances` and :func:`cnntopo.mapper.draw.figure_knn`.

    Parameters
    ----------
    cloud_npz : path-like
        The point cloud (``points`` (P, c), ``meta`` with ``cloud`` and ``layer``).
    graph_files : sequence of path-like
        The cloud's graphs; the eps each used (``meta.eps``, ``meta.eps_source``,
        ``meta.setting``) is marked.
    out_npz : path-like
        Output ``.npz``: ``distances`` (Q,) ascending, ``rows`` (Q,) the queried rows,
        ``meta`` (JSON: cloud, layer, k, queries, seed, knn_method, n_points, eps marks).
    outputs : sequence of path-like
        The figure in each format (by suffix).
    k : int
        Neighbours per query, the point itself included (official: 5).
    queries : int or None
        None = every point (official); else a seeded sample of this many query points.
    seed : int
        Seed of the query sample and of the approximate index (recorded).
    knn_method : {"exact", "approx", "auto"}, default "exact"
        Neighbour search; ``"auto"`` = ``"approx"`` above ``knn_approx_above`` points
        (:func:`cnntopo.mapper.graph.resolve_knn_method`). The method used is recorded.
    knn_approx_above : int, default 100000
        Threshold of ``"auto"``.
    predictions : bool, default False
        Use the features of the cloud's graphs with the 0/1 ``predictions`` column
        (:func:`cnntopo.stages.common.load_features`).
    threads : int, default 1
        Threads of the neighbour search (the result does not depend on them).

    Returns
    -------
    dict
        The ``meta`` record.
    """
    from cnntopo.mapper.draw import figure_knn
    from cnntopo.mapper.graph import knn_distances, resolve_knn_method

    points, _, cloud_meta = load_features(cloud_npz, predictions)
    method = resolve_knn_method(knn_method, points.shape[0], knn_approx_above)
    log.info(
        "%s %s: %s %d-NN search of %s of %d points",
        cloud_meta.get("cloud"),
        cloud_meta.get("layer"),
        method,
        k,
        "all" if queries is None else f"{min(queries, points.shape[0])} sampled",
        points.shape[0],
    )
    distances, rows = knn_distances(
        points, k, queries=queries, seed=seed, method=method, n_jobs=threads
    )
    marks = []
    for path in graph_files:
        g = artifacts.read_json(path).get("meta", {})
        marks.append(
            {"eps": float(g["eps"]), "source": g.get("eps_source"), "setting": g.get("setting")}
        )
    cloud, layer = cloud_meta.get("cloud"), cloud_meta.get("layer")
    meta = {
        "cloud": cloud,
        "layer": layer,
        "k": int(k),
        "queries": None if queries is None else int(queries),
        "seed": int(seed),
        "knn_method": method,
        "knn_method_config": knn_method,
        "predictions_feature": bool(predictions),
        "sampled": bool(rows.size < points.shape[0]),
        "n_points": int(points.shape[0]),
        "n_queries": int(rows.size),
        "eps": marks,
    }
    artifacts.write_npz(
        out_npz, distances=distances, rows=rows, meta=np.asarray(artifacts.json_dumps(meta))
    )
    eps = [(m["eps"], str(m["source"])) for m in marks]
    if outputs:
        figure_knn(
            distances,
            list(outputs),
            k=k,
            eps=eps,
            n_points=points.shape[0],
            title=f"{cloud} {layer}: sorted {k}-NN distances",
        )
    log.info(
        "%s %s: %d-NN distances of %d of %d points, median %.4g",
        cloud,
        layer,
        k,
        rows.size,
        points.shape[0],
        float(np.median(distances)),
    )
    return meta


def figure_mapper_knns(
    cloud_files: Sequence[str | Path],
    graph_files: Sequence[str | Path],
    out_npzs: Sequence[str | Path],
    pngs: Sequence[str | Path],
    extras: Sequence[str | Path] = (),
    *,
    graph_counts: Sequence[int],
    **kwargs,
) -> list[dict]:
    """:func:`figure_mapper_knn` for every layer of one cloud, in one job.

    Parameters
    ----------
    cloud_files : sequence of path-like
        The cloud at each of its layers.
    graph_files : sequence of path-like
        All graphs of those layers, layer-major (the first layer's, then the next's).
    out_npzs, pngs : sequence of path-like
        Per layer (same order as ``cloud_files``): the distances file and the PNG.
    extras : sequence of path-like, default ()
        The figures in the other formats, layer-major (every format of the first
        layer, then the next).
    graph_counts : sequence of int
        Graphs of each layer in ``graph_files`` (same order as ``cloud_files``).
    **kwargs
        The keyword arguments of :func:`figure_mapper_knn`.

    Returns
    -------
    list of dict
        The ``meta`` record of each layer.
    """
    n = len(cloud_files)
    if (
        not (len(out_npzs) == len(pngs) == len(graph_counts) == n)
        or len(extras) % max(n, 1)
        or sum(graph_counts) != len(graph_files)
    ):
        raise ValueError(
            f"{n} clouds, {len(out_npzs)} distance files, {len(pngs)} PNGs, "
            f"{len(extras)} other figures and {len(graph_files)} graphs (per layer: "
            f"{list(graph_counts)}) do not pair up"
        )
    per_layer = len(extras) // max(n, 1)
    starts = np.concatenate([[0], np.cumsum(graph_counts)]).astype(int)
    return [
        figure_mapper_knn(
            cloud_npz,
            graph_files[starts[i] : starts[i + 1]],
            out_npzs[i],
            [pngs[i], *extras[i * per_layer : (i + 1) * per_layer]],
            **kwargs,
        )
        for i, cloud_npz in enumerate(cloud_files)
    ]


def _point_images(titles: Sequence[str], cloud_files: Sequence[str | Path]) -> dict:
    """Graph title -> the Mapper image of every row of its cloud (``image_index``)."""
    point_images = {}
    for t, path in zip(titles, cloud_files, strict=True):
        point_images[t] = artifacts.read_npz(path, keys=["image_index"])[0]["image_index"]
    return point_images


def mapper_explorer(
    graph_files: Sequence[str | Path],
    cloud_files: Sequence[str | Path],
    images_npz: str | Path,
    out_html: str | Path,
    details_dir: str | Path,
    *,
    titles: Sequence[str],
    seed: int,
    thumbnails: bool,
    dataset: Mapping,
    split: str,
    links: Sequence[Sequence[str]] = (),
) -> None:
    """Interactive HTML page of several graphs of one cloud (layer selector), node details aside.

    Parameters
    ----------
    graph_files, cloud_files : sequence of path-like
        The graphs, and the cloud of each (its rows' images, for the thumbnails).
    images_npz : path-like
        The Mapper images (:func:`cnntopo.stages.mapper.clouds.select_mapper_images`):
        the class names, and the images of the thumbnails.
    out_html : path-like
        Output page.
    details_dir : path-like
        Folder next to the page for each node's members and thumbnails, loaded when
        the node is clicked (:func:`cnntopo.mapper.explorer.write_explorer`), so the
        page stays small at the paper's scale.
    titles : sequence of str
        Name of each graph in the page's selector.
    seed : int
        Layout seed.
    thumbnails : bool
        Embed image thumbnails.
    dataset : mapping
        The config section ``dataset`` (its name titles the page; its images give the
        thumbnails).
    split : {"train", "test"}
        Split of the Mapper images.
    links : sequence of (label, href), default ()
        Header links to the experiment's other pages (the representative cycles page),
        relative to the explorer page.
    """
    from cnntopo.mapper.explorer import write_explorer

    graphs = {t: artifacts.read_json(p) for t, p in zip(titles, graph_files, strict=True)}
    classes = [str(c) for c in artifacts.read_npz(images_npz, keys=["classes"])[0]["classes"]]
    point_images = pictures = None
    if thumbnails:
        images, _ = load_mapper_images(dataset, split, images_npz)
        pictures = images.images
        if pictures.shape[-1] == 1:
            pictures = np.repeat(pictures, 3, axis=-1)
        # the graphs of different layers have different rows: map rows -> images per graph
        point_images = _point_images(titles, cloud_files)
    write_explorer(
        out_html,
        graphs,
        classes,
        seed=seed,
        point_images=point_images,
        thumbnails=pictures,
        title=f"cnntopo Mapper explorer: {dataset['name']}",
        details_dir=details_dir,
        links=[(str(label), str(href)) for label, href in links],
    )
