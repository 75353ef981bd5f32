"""The nets and PH branch of the plan: inputs and params of its jobs (a mixin of Plan)."""

from __future__ import annotations

from typing import Any

from cnntopo.names import metric_label
from cnntopo.nets.layers import parse_arch
from cnntopo.ph.similarity.registry import measure_specs
from cnntopo.stages.ph.distances import metric_params

__all__ = ["PHPlan"]


class PHPlan:
    """Inputs and params of the nets and PH jobs; mixed into :class:`cnntopo.plan.Plan`.

    Methods taking ``wildcards`` are Snakemake input or param functions; the others are
    evaluated once, when the rules are defined. The attributes they read (``config``,
    ``paths``, ``layers``, ``seeds``, ...) are set by :class:`cnntopo.plan.Plan`.
    """

    config: dict
    paths: Any
    layers: list[str]
    seeds: list[int]

    # -------------------------------------------------------------- nets

    @property
    def dataset_source(self) -> dict:
        """The dataset keys that locate its images (not its normalisation)."""
        return {k: self.config["dataset"][k] for k in ("name", "root", "download")}

    @property
    def is_trained(self) -> bool:
        """Networks are trained unless weights are imported (model.checkpoint / pretrained)."""
        model = self.config["model"]
        return model["checkpoint"] is None and not model["pretrained"]

    @property
    def factory_files(self) -> list[str]:
        """The user's model file of a ``python:<file.py>:<factory>`` arch (an input)."""
        spec = parse_arch(self.config["model"]["arch"])
        return [spec.path] if spec.kind == "python" else []

    def checkpoint(self, wildcards) -> str | list:
        """The weights file of one seed (none for torchvision's pretrained weights)."""
        template = self.config["model"]["checkpoint"]
        return [] if template is None else template.format(seed=wildcards.seed)

    @property
    def shards(self) -> list[str]:
        """Activation shards of one model (``{seed}`` kept), layer by layer."""
        return self.paths.expand("shard", layer=self.layers)

    @property
    def temp_shards(self) -> bool:
        """Whether the shards are temporary (``activations.keep`` false)."""
        return not self.config["activations"]["keep"]

    # -------------------------------------------------------------- persistence

    #: Representations whose diagrams come from the distances of a ``similarity_rep`` file
    #: (``topl2``'s come from its point clouds, rule topl2_pointclouds).
    DISTANCE_REPRESENTATIONS: tuple[str, ...] = ("flat", "pool")

    @property
    def persistence_representations(self) -> list[str]:
        """``persistence.representations``: those with diagrams and PH rows in the tests."""
        return list(self.config["persistence"]["representations"])

    @property
    def distance_diagram_representations(self) -> list[str]:
        """The ``persistence.representations`` diagrammed from distance matrices (flat, pool)."""
        return [r for r in self.persistence_representations if r in self.DISTANCE_REPRESENTATIONS]

    @property
    def stored_representations(self) -> list[str]:
        """Representations of the ``similarity_rep`` files: ``similarity.representations``,
        then those only ``persistence.representations`` needs (flat or pool diagrams read
        their Gram matrices or features from these files)."""
        extra = self.distance_diagram_representations
        return list(dict.fromkeys([*self.representations, *extra]))

    @property
    def distance_representation_pattern(self) -> str:
        """Wildcard constraint of ``{representation}`` in rule representation_diagrams."""
        return "|".join(self.DISTANCE_REPRESENTATIONS)

    @property
    def representation_diagram_outputs(self) -> list[str]:
        """The flat / pool diagram files of every model and layer (default target)."""
        return self.paths.expand(
            "representation_diagram",
            representation=self.distance_diagram_representations,
            seed=self.seeds,
            layer=self.layers,
        )

    # -------------------------------------------------------------- distances

    def metric_params(self, wildcards) -> dict:
        """The parameters of the ``{metric}`` of a within-model distance job."""
        return metric_params(self.config["distances"], wildcards.metric)

    @staticmethod
    def cross_metric(wildcards) -> str:
        """The metric of a cross job's ``{measure}`` (``sliced_wasserstein_H0`` -> its metric)."""
        return wildcards.measure.rsplit("_H", 1)[0]

    @staticmethod
    def cross_dim(wildcards) -> int:
        """The homology dimension of a cross job's ``{measure}``."""
        return int(wildcards.measure.rsplit("_H", 1)[1])

    def cross_metric_params(self, wildcards) -> dict:
        """The parameters of a cross job's metric."""
        return metric_params(self.config["distances"], self.cross_metric(wildcards))

    def cross_matrix(self, wildcards) -> str:
        """Cross-model matrix of a ``{measure}``: a diagram distance or ``cka`` (linear,
        top-l2)."""
        if wildcards.measure == "cka":
            return self.paths("similarity_cross", representation="topl2", measure="cka_linear")
        return self.paths("cross_matrix", measure=wildcards.measure)

    @staticmethod
    def measure_label(wildcards) -> str:
        """Readable name of a specificity ``{measure}``."""
        if wildcards.measure == "cka":
            return "linear CKA"
        metric, dim = wildcards.measure.rsplit("_H", 1)
        return metric_label(metric, dim)

    def heatmap_bootstrap(self, wildcards) -> dict:
        """The bootstrap of a heatmap's matrix (main metric, distances.bootstrap > 0)."""
        if self.config["distances"]["bootstrap"] and wildcards.metric == self.metric:
            path = self.paths(
                "within_bootstrap", dim=self.dim, metric=self.metric, seed=wildcards.seed
            )
            return {"bootstrap": path}
        return {}

    # -------------------------------------------------------------- similarity

    @property
    def similarity_measures(self) -> list[dict]:
        """``similarity.measures`` as jobs read them: ``{"label", "name", "params"}`` each."""
        return measure_specs(self.similarity)

    @property
    def measure_files(self) -> list[str]:
        """The files of the user measures (``python:<file.py>:<function>``): inputs of the
        jobs that run the measures."""
        from cnntopo.ph.similarity.registry import user_files

        return user_files(self.similarity)

    @property
    def similarity_labels(self) -> list[str]:
        return [m["label"] for m in self.similarity_measures]

    @property
    def similarity_test_inputs(self) -> list[str]:
        """Cross matrices of the comparison: every (measure, representation), then every
        diagram distance on every ``persistence.representations`` entry (representation-major).
        """
        out = [
            self.paths("similarity_cross", representation=r, measure=m)
            for m in self.similarity_labels
            for r in self.representations
        ]
        return out + [
            self.paths("representation_cross", representation=r, measure=m)
            for r in self.persistence_representations
            for m in self.diagram_measures
        ]

    def figure_similarity_inputs(self, wildcards) -> dict:
        inputs = {"specificity": self.paths("specificity_table")}
        if self.config["sensitivity"]["enabled"]:
            inputs["sensitivity"] = self.paths("sensitivity_table")
        return inputs

    @property
    def stages(self) -> list[int]:
        """The positions of every layer (its stage, for the permutation test)."""
        return [self.shapes[layer][1] for layer in self.layers]

    # -------------------------------------------------------------- sensitivity

    @property
    def sensitivity_seeds(self) -> list[int]:
        seeds = self.config["sensitivity"]["seeds"]
        return self.seeds[:1] if seeds == "first" else list(seeds)

    @property
    def sensitivity_representations(self) -> list[str]:
        return list(self.representations) if self.similarity["measures"] else []

    @property
    def sensitivity_diagram_representations(self) -> list[str]:
        """Representations whose PH also enters the sensitivity table: the
        ``persistence.representations`` diagrammed from distances (flat, pool) that the
        table reads (``similarity.representations``)."""
        tested = self.sensitivity_representations
        return [r for r in self.distance_diagram_representations if r in tested]

    @property
    def sensitivity_diagram_measures(self) -> list[dict]:
        """``similarity.diagram_distances`` as the sensitivity table computes them on
        flat / pool: ``{"label", "metric", "dim", "params"}`` each."""
        if not self.sensitivity_diagram_representations:
            return []
        out = []
        for label in self.diagram_measures:
            metric, dim = label.rsplit("_H", 1)
            params = metric_params(self.config["distances"], metric)
            out.append({"label": label, "metric": metric, "dim": int(dim), "params": params})
        return out

    @property
    def sensitivity_persistence(self) -> dict:
        """The diagram settings of the flat / pool PH rows of the sensitivity table (those of
        rule representation_diagrams); empty without such rows."""
        if not self.sensitivity_diagram_representations:
            return {}
        return {k: self.config["persistence"][k] for k in ("maxdim", "backend", "coeff")}

    @property
    def sensitivity_reps(self) -> list[str]:
        """Representation files of the tested models, seed-major (none without measures)."""
        return [
            self.paths("similarity_rep", seed=s, representation=r)
            for s in self.sensitivity_seeds
            for r in self.sensitivity_representations
        ]

    # -------------------------------------------------------------- across models

    @property
    def is_cross_enabled(self) -> bool:
        """Cross-model analyses need distances.cross and at least two models."""
        return bool(self.config["distances"]["cross"]) and len(self.seeds) >= 2

    @property
    def specificity_measures(self) -> list[str]:
        """Measures of the specificity figures: linear CKA on top-l2 (if among the measures
        and representations), the main distance."""
        if not self.is_cross_enabled:
            return []
        cka = "cka_linear" in self.similarity["measures"] and "topl2" in self.representations
        return ["cka", self.dist] if cka else [self.dist]
