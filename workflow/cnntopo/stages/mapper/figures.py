"""Stages of ``rules/mapper/figures.smk``: Mapper figures and the interactive explorer."""

from __future__ import annotations

import logging
from collections.abc import Sequence
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


def _class_names(graphs: Sequence[dict]) -> list[str]:
    """Class names recorded in the graphs' ``meta`` (the first that has them), else 0-9."""
    for graph in graphs:
        names = graph.get("meta", {}).get("label_names")
        if names:
            return list(names)
    return [str(k) for k in range(10)]


def figure_mapper_panels(
    graph_files: Sequence[str | Path],
    titles: Sequence[str],
    outputs: Sequence[str | Path],
    *,
    seed: int = 0,
    suptitle: str | None = None,
    ncols: int = 3,
) -> None:
    """A grid of Mapper graphs (pie-chart nodes by class, sized by point count)."""
    from cnntopo.mapper.draw import figure_mapper_panels as _panels

    panels = [(t, artifacts.read_json(p)) for t, p in zip(titles, graph_files, strict=True)]
    classes = _class_names([g for _, g in panels])
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
    """Graph size and purity across the Mapper settings of a parameter sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    table = pd.read_csv(stats_csv)
    table["graph"] = table["cloud"] + " " + table["layer"]
    settings = list(dict.fromkeys(table["setting"]))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for name, rows in table.groupby("graph", sort=False):
        x = [settings.index(s) for s in rows["setting"]]
        axes[0].plot(x, rows["n_nodes"], marker="o", label=name)
        axes[1].plot(x, rows["nodewise"], marker="o", label=name)
    labels = [s.replace("_", "\n") for s in settings]
    for ax, title in zip(axes, ("nodes", "node-wise purity"), strict=True):
        ax.set_xticks(range(len(settings)), labels, fontsize=7)
        ax.set_title(title)
    axes[1].legend(fontsize=7, loc="best")
    fig.suptitle("Mapper graphs across settings")
    for out in outputs:
        with artifacts.atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=150, format=Path(out).suffix.lstrip("."))
    plt.close(fig)


def mapper_explorer(
    cfg: dict,
    graph_files: Sequence[str | Path],
    titles: Sequence[str],
    cloud_files: Sequence[str | Path],
    images_npz: str | Path,
    out_html: str | Path,
) -> None:
    """Self-contained interactive HTML page of several graphs of one cloud (layer selector)."""
    from cnntopo.mapper.explorer import write_explorer

    graphs = {t: artifacts.read_json(p) for t, p in zip(titles, graph_files, strict=True)}
    classes = _class_names(list(graphs.values()))
    point_images = None
    thumbnails = None
    fig_cfg = cfg["mapper"]["figures"]
    if fig_cfg["thumbnails"]:
        images, _ = load_mapper_images(cfg, images_npz)
        thumbnails = images.images
        if thumbnails.shape[-1] == 1:
            thumbnails = np.repeat(thumbnails, 3, axis=-1)
        # every cloud of one explorer page comes from the same image list; the graphs of
        # different layers have different rows, so map rows -> images per graph
        point_images = {}
        for t, cpath in zip(titles, cloud_files, strict=True):
            with np.load(cpath, allow_pickle=False) as z:
                point_images[t] = z["image_index"]
    write_explorer(
        out_html,
        graphs,
        classes,
        seed=fig_cfg["layout_seed"],
        point_images=point_images,
        thumbnails=thumbnails,
        title=f"cnntopo Mapper explorer: {cfg['dataset']['name']}",
    )
