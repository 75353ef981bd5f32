"""The plan of one experiment: a validated configuration turned into what the rules ask.

Examples
--------
>>> from cnntopo.config import load_config
>>> plan = Plan(load_config("config/tiny.yaml"))        # doctest: +SKIP
>>> plan.paths("summary")                                # doctest: +SKIP
'results/tiny/summary.json'
"""

from __future__ import annotations

from cnntopo.nets.layers import cloud_shape, config_layers
from cnntopo.paths import Layout
from cnntopo.plan.cycles import CyclesPlan
from cnntopo.plan.mapper import MapperPlan
from cnntopo.plan.ph import PHPlan
from cnntopo.plan.resources import PHResources
from cnntopo.plan.wildcards import wildcard_constraints

__all__ = ["Plan"]


class Plan(PHPlan, PHResources):
    """Everything the rule files ask of one validated configuration (torch-free).

    Parameters
    ----------
    config : dict
        A configuration validated by :func:`cnntopo.config.validate_config` (defaults
        filled in).

    Attributes
    ----------
    config : dict
    out : str
        The experiment folder, ``<results_dir>/<experiment>``.
    paths : cnntopo.paths.Layout
        Every output path (unset fields stay wildcards).
    layers : list of str
        The recorded layers, in network order.
    layer_shapes : dict of str to tuple of int
        Per-image output shape of every recorded layer.
    shapes : dict of str to (int, int, int)
        Each layer as ``(vector length, positions, 1)``: the ``(c, h, w)`` of the sizes.
    seeds : list of int
    n_images : int
        ``activations.n_images``.
    dim, metric, dist : int, str, str
        The main diagram distance: ``distances.dim``, ``distances.metric`` and their
        name ``<metric>_H<dim>`` (a ``{measure}`` of the cross rules).
    within_metrics : list of str
        The main metric, then ``distances.within_metrics`` (no repeats).
    fig_extra : list of str
        ``figures.extra_formats``.
    fig_seeds : list of int
        The seeds plotted per model (``figures.per_model``).
    similarity : dict
        The ``similarity`` section.
    representations, diagram_measures : list of str
        ``similarity.representations`` and ``similarity.diagram_distances``.
    mapper : cnntopo.plan.mapper.MapperPlan
        The Mapper branch.
    wildcard_constraints : dict of str to str
        Wildcard name -> regular expression (:mod:`cnntopo.plan.wildcards`).
    """

    def __init__(self, config: dict):
        self.config = config
        self.out = f"{config['results_dir']}/{config['experiment']}"
        models = config["models_dir"] or f"{self.out}/models"
        self.paths = Layout(self.out, models, config["mapper"]["model"]["dir"])
        self.arch = config["model"]["arch"]
        self.seeds = list(config["model"]["seeds"])
        self.layers, self.layer_shapes = config_layers(config)
        self.shapes = {k: (*cloud_shape(s), 1) for k, s in self.layer_shapes.items()}
        self.n_images = config["activations"]["n_images"]
        self.fig_extra = list(config["figures"]["extra_formats"])
        self.fig_seeds = self.seeds[: config["figures"]["per_model"] or len(self.seeds)]
        dist = config["distances"]
        self.dim, self.metric = dist["dim"], dist["metric"]
        self.dist = f"{self.metric}_H{self.dim}"
        self.within_metrics = list(dict.fromkeys([self.metric, *dist["within_metrics"]]))
        self.similarity = config["similarity"]
        self.representations = list(self.similarity["representations"])
        self.diagram_measures = list(self.similarity["diagram_distances"])
        self.wildcard_constraints = wildcard_constraints()
        self.mapper = MapperPlan(self)

    # -------------------------------------------------------------- targets

    @property
    def ext(self) -> list[str]:
        """Every figure format: the report's png, then ``figures.extra_formats``."""
        return list(dict.fromkeys(["png", *self.fig_extra]))

    @property
    def final_outputs(self) -> list[str]:
        """Everything the default target builds (every figure in every format)."""
        P, ext, seeds = self.paths, self.ext, self.fig_seeds
        out = [P("model_summary"), *P.expand("fig_training", ext=ext)]
        metrics = {"metric": self.within_metrics, "dim": self.dim}
        out += P.expand("fig_heatmap_mean", **metrics, ext=ext)
        out += P.expand("fig_heatmap", **metrics, seed=seeds, ext=ext)
        if self.config["distances"]["bootstrap"]:
            out += P.expand("within_bootstrap", metric=self.metric, dim=self.dim, seed=seeds)
        out += P.expand("fig_diagrams", seed=seeds, ext=ext)
        out += self.representation_diagram_outputs
        out += CyclesPlan(self).outputs  # representative cycles: ring figures, page
        measures = self.specificity_measures
        out += P.expand("fig_specificity", measure=measures, ext=ext)
        if "cka" in measures:
            out += P.expand("fig_vs_cka", measure=self.dist, ext=ext)
        if self.config["sensitivity"]["enabled"]:
            seeds = self.sensitivity_seeds
            out += P.expand("fig_sensitivity", measure=self.dist, seed=seeds, ext=ext)
            out.append(P("sensitivity_table"))
        if self.is_cross_enabled:
            out += [P("specificity_table"), P("layer_depth"), P("stage_permutation")]
            out += P.expand("fig_measures", ext=ext)
        return out + self.mapper.outputs + [P("summary")]

    def summary_inputs(self, wildcards) -> dict:
        """Inputs of experiment_summary: what this configuration computes."""
        P = self.paths
        inputs = {
            "models": P("model_summary"),
            "within": P.expand("within_matrix", metric=self.metric, dim=self.dim, seed=self.seeds),
            "specificity": P.expand("specificity", measure=self.specificity_measures),
        }
        if self.mapper.enabled:
            inputs["mapper_stats"] = [P("mapper_stats")]
        return inputs
