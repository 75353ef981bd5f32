"""The results layout: one table of every output file of an experiment (torch-free).

The rules, the notebook and the tests all build paths from :data:`LAYOUT`, so the layout
is written once. A template's fields are the folders (``out``: the experiment folder,
``models``: the PH networks, ``mapper_model``: the Mapper network) and the wildcards
(``seed``, ``layer``, ``metric``, ``dim``, ``measure``, ``representation``, ``cloud``,
``setting``, ``ext``).
Fields that are not given stay as ``{name}``, i.e. as Snakemake wildcards.

Examples
--------
>>> layout = Layout("results/demo")
>>> layout("diagram", seed=0, layer="block_seq.0.0.conv1")
'results/demo/diagrams/topl2/seed0/block_seq.0.0.conv1.npz'
>>> layout("diagram", seed=3)
'results/demo/diagrams/topl2/seed3/{layer}.npz'
>>> layout.expand("weights", seed=[0, 1])
['results/demo/models/seed0/weights.pt', 'results/demo/models/seed1/weights.pt']
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LAYOUT", "Layout", "fill"]

#: Output file templates by name (the folders ``out``, ``models``, ``mapper_model`` and
#: the wildcards are the fields).
LAYOUT: dict[str, str] = {
    # nets
    "eval_set": "{out}/data/eval_set.json",
    "weights": "{models}/seed{seed}/weights.pt",
    "train_metrics": "{models}/seed{seed}/train.json",
    "model_summary": "{models}/summary.csv",
    "shard_dir": "{out}/activations/seed{seed}",
    "shard": "{out}/activations/seed{seed}/{layer}.npy",
    "manifest": "{out}/activations/seed{seed}/manifest.json",
    # PH branch
    "pointcloud": "{out}/pointclouds/topl2/seed{seed}/{layer}.npz",
    "diagram": "{out}/diagrams/topl2/seed{seed}/{layer}.npz",
    # diagrams of any persistence.representations entry (topl2: the same file as "diagram")
    "representation_diagram": "{out}/diagrams/{representation}/seed{seed}/{layer}.npz",
    "within_matrix": "{out}/distances/topl2/{metric}_H{dim}/seed{seed}.npz",
    "within_csv": "{out}/distances/topl2/{metric}_H{dim}/seed{seed}.csv",
    "within_bootstrap": "{out}/distances/topl2/{metric}_H{dim}/bootstrap_seed{seed}.npz",
    "mean_matrix": "{out}/distances/topl2/{metric}_H{dim}/mean.npz",
    "cross_matrix": "{out}/distances/topl2/{measure}/cross.npz",
    # a diagram distance across models on any representation (topl2: "cross_matrix")
    "representation_cross": "{out}/distances/{representation}/{measure}/cross.npz",
    "similarity_rep": "{out}/similarity/{representation}/seed{seed}.npz",
    "similarity_cross": "{out}/similarity/{representation}/cross_{measure}.npz",
    "specificity": "{out}/analysis/specificity_{measure}.csv",
    "specificity_table": "{out}/analysis/specificity.csv",
    "layer_depth": "{out}/analysis/layer_depth.csv",
    "stage_permutation": "{out}/analysis/stage_permutation.csv",
    "sensitivity": "{out}/sensitivity/seed{seed}/{layer}.csv",
    "sensitivity_table": "{out}/analysis/sensitivity.csv",
    "fig_training": "{out}/figures/training.{ext}",
    "fig_heatmap": "{out}/figures/heatmaps/{metric}_H{dim}_seed{seed}.{ext}",
    "fig_heatmap_mean": "{out}/figures/heatmap_mean_{metric}_H{dim}.{ext}",
    "fig_diagrams": "{out}/figures/diagrams/seed{seed}.{ext}",
    "fig_specificity": "{out}/figures/specificity_{measure}.{ext}",
    "fig_sensitivity": "{out}/figures/sensitivity/{measure}_seed{seed}.{ext}",
    "fig_vs_cka": "{out}/figures/{measure}_vs_cka.{ext}",
    "fig_measures": "{out}/figures/similarity_measures.{ext}",
    # Mapper branch
    "mapper_weights": "{mapper_model}/weights.pt",
    "mapper_train_metrics": "{mapper_model}/train.json",
    "mapper_images": "{out}/mapper/images.npz",
    "mapper_cloud": "{out}/mapper/clouds/{cloud}/{layer}.npz",
    "mapper_graph": "{out}/mapper/graphs/{cloud}/{layer}/{setting}.json",
    "mapper_stats": "{out}/mapper/stats.csv",
    "mapper_explorer": "{out}/mapper/explorer/{cloud}.html",
    "mapper_explorer_files": "{out}/mapper/explorer/{cloud}_files",
    "mapper_knn": "{out}/mapper/knn/{cloud}/{layer}.npz",
    "fig_mapper_purity": "{out}/figures/mapper/purity.{ext}",
    "fig_mapper_settings": "{out}/figures/mapper/settings.{ext}",
    "fig_mapper_layers": "{out}/figures/mapper/layers_{cloud}.{ext}",
    "fig_mapper_constructions": "{out}/figures/mapper/constructions_{layer}.{ext}",
    "fig_mapper_noise": "{out}/figures/mapper/noise_{cloud}_{layer}.{ext}",
    "fig_mapper_knn": "{out}/figures/mapper/knn/{cloud}/{layer}.{ext}",
    # representative cycles (the images behind each H1 loop)
    "cycles": "{out}/cycles/{representation}/seed{seed}/{layer}.json",
    "fig_cycles": "{out}/figures/cycles/{representation}_seed{seed}.{ext}",
    "cycles_page": "{out}/cycles/index.html",
    # the experiment and a sweep over experiments
    "summary": "{out}/summary.json",
    "sweep_summary": "{out}/sweep/summary.{ext}",
    "cross_architecture": "{out}/sweep/cross_architecture/{pair}.{ext}",
    "cross_architecture_depth": "{out}/sweep/cross_architecture/{pair}_depth.csv",
}


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, **fields) -> str:
    """Substitute the given fields of a template; every other field stays ``{name}``.

    Parameters
    ----------
    template : str
        A :meth:`str.format` template such as ``"{out}/seed{seed}/{layer}.npz"``.
    **fields
        Values of some of its fields.

    Returns
    -------
    str

    Examples
    --------
    >>> fill("{out}/seed{seed}/{layer}.npz", seed=1)
    '{out}/seed1/{layer}.npz'
    """
    return string.Formatter().vformat(template, (), _Keep(fields))


@dataclass(frozen=True)
class Layout:
    """The layout of one experiment's outputs.

    Parameters
    ----------
    out : str or Path
        The experiment folder (``<results_dir>/<experiment>``).
    models : str or Path, optional
        Folder of the PH networks; default ``<out>/models`` (config key ``models_dir``).
    mapper_model : str or Path, optional
        Folder of the Mapper network; default ``<out>/mapper/model``
        (config key ``mapper.model.dir``).
    """

    out: str | Path
    models: str | Path | None = None
    mapper_model: str | Path | None = None

    def _folders(self) -> dict[str, str]:
        out = str(self.out)
        return {
            "out": out,
            "models": str(self.models or f"{out}/models"),
            "mapper_model": str(self.mapper_model or f"{out}/mapper/model"),
        }

    def __call__(self, name: str, **fields) -> str:
        """The path of output ``name``; fields not given stay as ``{wildcards}``."""
        try:
            template = LAYOUT[name]
        except KeyError:
            raise KeyError(
                f"no output named {name!r} in the layout; known: {sorted(LAYOUT)}"
            ) from None
        return fill(template, **self._folders(), **fields)

    def expand(self, name: str, **fields: Iterable) -> list[str]:
        """Paths of ``name`` for every combination of the given field values (in order).

        Like Snakemake's ``expand(..., allow_missing=True)``: a field that is not given
        stays a wildcard. Scalars count as one value.
        """
        keys = list(fields)
        values = [
            list(v) if isinstance(v, Iterable) and not isinstance(v, str) else [v]
            for v in fields.values()
        ]
        return [
            self(name, **dict(zip(keys, combo, strict=True)))
            for combo in itertools.product(*values)
        ]
