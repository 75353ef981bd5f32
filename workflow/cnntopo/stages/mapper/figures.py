"""Stages of ``rules/mapper/figures.smk``: Mapper figures and the interactive explorer
(docs/methods.md §14)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cnntopo import artifacts
from cnntopo.stages.common import load_mapper_images

__all__ = [
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
    for out in outputs:
        _panels(
            panels,
            classes,
            out,
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
    for out in outputs:
        figure_purity(table, out, title="Mapper purity per layer")


def figure_mapper_settings(stats_csv: str | Path, outputs: Sequence[str | Path]) -> None:
    """Graph size and node-wise purity across the Mapper settings of a parameter sweep."""
    import pandas as pd

    from cnntopo.mapper.draw import figure_settings

    table = pd.read_csv(stats_csv)
    for out in outputs:
        figure_settings(table, out)


def _point_images(titles: Sequence[str], cloud_files: Sequence[str | Path]) -> dict:
    """Graph title -> the Mapper image of every row of its cloud (``image_index``)."""
    point_images = {}
    for t, path in zip(titles, cloud_files, strict=True):
        with np.load(path, allow_pickle=False) as z:
            point_images[t] = z["image_index"]
    return point_images


def mapper_explorer(
    graph_files: Sequence[str | Path],
    cloud_files: Sequence[str | Path],
    images_npz: str | Path,
    out_html: str | Path,
    *,
    titles: Sequence[str],
    seed: int,
    thumbnails: bool,
    dataset: Mapping,
    split: str,
) -> None:
    """Self-contained interactive HTML page of several graphs of one cloud (layer selector).

    Parameters
    ----------
    graph_files, cloud_files : sequence of path-like
        The graphs, and the cloud of each (its rows' images, for the thumbnails).
    images_npz : path-like
        The Mapper images (:func:`cnntopo.stages.mapper.clouds.select_mapper_images`):
        the class names, and the images of the thumbnails.
    out_html : path-like
        Output page.
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
    """
    from cnntopo.mapper.explorer import write_explorer

    graphs = {t: artifacts.read_json(p) for t, p in zip(titles, graph_files, strict=True)}
    with np.load(images_npz, allow_pickle=False) as z:
        classes = [str(c) for c in z["classes"]]
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
    )
