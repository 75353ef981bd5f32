"""Every resource request of the plan's jobs (mixins of Plan and MapperPlan).

The formulas are the pure functions of :mod:`cnntopo.resources` (nets, PH, similarity)
and :mod:`cnntopo.mapper.resources`; these methods bind them to one configuration.
Methods taking ``(wildcards, attempt)`` are Snakemake resource functions (memory grows
with each retry); the properties are evaluated once.
"""

from __future__ import annotations

from cnntopo import resources as res
from cnntopo.mapper import resources as mres
from cnntopo.nets.layers import bounded_batch_size

__all__ = ["PHResources", "MapperResources"]


class PHResources:
    """Resources of the nets and PH jobs; mixed into :class:`cnntopo.plan.Plan`."""

    config: dict
    layers: list[str]
    seeds: list[int]
    shapes: dict[str, tuple[int, int, int]]
    n_images: int

    @property
    def gpus(self) -> int:
        """GPUs of a PH torch job (none when ``training.device`` is cpu)."""
        return res.gpus(self.config["training"]["device"])

    @property
    def torch_threads(self) -> int:
        return self.config["threads"]["torch"]

    @property
    def tda_threads(self) -> int:
        return self.config["threads"]["tda"]

    @property
    def persistence_threads(self) -> int:
        """Threads of a persistence job: those of a TDA job, or more for giotto."""
        return max(self.tda_threads, self.config["persistence"]["n_threads"])

    @property
    def gram_images(self) -> int:
        """Images of the similarity measures' Gram matrices (``similarity.max_images``)."""
        return res.gram_images(self.n_images, self.config["similarity"]["max_images"])

    def train_mem_mb(self, wildcards, attempt) -> int:
        return res.train_mem_mb(
            self.config["model"]["width"], self.config["training"]["batch_size"], attempt
        )

    @property
    def train_runtime(self) -> int:
        return res.train_runtime(self.config["training"]["epochs"])

    def extract_mem_mb(self, wildcards, attempt) -> int:
        act = self.config["activations"]
        batch = bounded_batch_size(self.shapes, act["batch_size"], act["max_batch_mb"])
        return res.extract_mem_mb(self.shapes, batch, attempt)

    @property
    def shard_mb(self) -> int:
        dtype = self.config["activations"]["dtype"]
        return res.shard_mb(self.shapes, self.layers, self.n_images, dtype)

    def persistence_mem_mb(self, wildcards, attempt) -> int:
        return res.persistence_mem_mb(self.n_images, attempt)

    def persistence_runtime(self, wildcards, attempt) -> int:
        return res.persistence_runtime(len(self.layers), self.n_images, attempt)

    def bootstrap_runtime(self, wildcards, attempt) -> int:
        """layer_bootstrap: the model's diagrams once per resample."""
        n_boot = self.config["distances"]["bootstrap"]
        return self.persistence_runtime(wildcards, attempt) * (1 + n_boot)

    @property
    def sensitivity_runtime(self) -> int:
        step = self.config["sensitivity"]["step"]
        return res.sensitivity_runtime(self.shapes, self.layers, step, self.n_images)

    def cross_mem_mb(self, wildcards, attempt) -> int:
        M = self.config["distances"]["M"]
        return res.cross_mem_mb(
            len(self.seeds), self.shapes, self.layers, self.n_images, M, attempt
        )

    def similarity_mem_mb(self, wildcards, attempt) -> int:
        """Representations / sensitivity table: one model's Gram matrices and a block."""
        return res.similarity_mem_mb(len(self.layers), self.gram_images, attempt)

    def similarity_cross_mem_mb(self, wildcards, attempt) -> int:
        sim = self.config["similarity"]
        widest = max(self.shapes[layer][0] for layer in self.layers)
        return res.similarity_cross_mem_mb(
            len(self.seeds),
            len(self.layers),
            self.gram_images,
            widest,
            sim["measures"],
            wildcards.representation,
            sim["max_mem_mb"],
            attempt,
        )

    def similarity_tests_mem_mb(self, wildcards, attempt) -> int:
        return res.similarity_tests_mem_mb(len(self.seeds), len(self.layers), attempt)


class MapperResources:
    """Resources of the Mapper jobs; mixed into :class:`cnntopo.plan.mapper.MapperPlan`."""

    root: dict
    config: dict
    clouds: dict[str, list[str]]
    shapes: dict[str, tuple[int, int, int]]

    @property
    def gpus(self) -> int:
        """GPUs of a Mapper torch job (none when ``mapper.training.device`` is cpu)."""
        return res.gpus(self.config["training"]["device"])

    @property
    def graph_gpus(self) -> int:
        return res.gpus(self.config["graph"]["device"])

    def train_mem_mb(self, wildcards, attempt) -> int:
        batch = self.config["training"]["batch_size"]
        return mres.train_mem_mb(self.config["model"]["width"], batch, attempt)

    @property
    def train_runtime(self) -> int:
        return mres.train_runtime(self.config["training"]["epochs"])

    @property
    def n_images(self) -> int:
        """Mapper images (the split, or ``mapper.images.per_class`` of each class)."""
        images = self.config["images"]
        return mres.n_images(self.root["dataset"]["name"], images["split"], images["per_class"])

    def cloud_rows(self, cloud: str, layer: str) -> int:
        """Points of the cloud ``cloud`` at ``layer``."""
        return mres.cloud_rows(cloud, self.shapes[layer], self.n_images, self.config["full"]["cap"])

    def cloud_mem_mb(self, wildcards, attempt) -> int:
        """The largest of the job's layers (they are built one after the other)."""
        batch = self.config["images"]["batch_size"]
        return max(
            mres.cloud_mem_mb(self.cloud_rows(wildcards.cloud, x), self.shapes[x], batch, attempt)
            for x in self.clouds[wildcards.cloud]
        )

    def cloud_runtime(self, wildcards) -> int:
        return mres.clouds_runtime(len(self.clouds[wildcards.cloud]))

    def _knn(self) -> tuple[str, int]:
        graph = self.config["graph"]
        return graph["knn_method"], graph["knn_approx_above"]

    def _graph_mem(self, cloud: str, layer: str, attempt: int) -> int:
        rows = self.cloud_rows(cloud, layer)
        return mres.graph_mem_mb(rows, self.shapes[layer][0], attempt, *self._knn())

    def _graph_runtime(self, cloud: str, layer: str) -> int:
        rows = self.cloud_rows(cloud, layer)
        return mres.graph_runtime(rows, self.shapes[layer][0], *self._knn())

    def graph_mem_mb(self, wildcards, attempt) -> int:
        return self._graph_mem(wildcards.cloud, wildcards.layer, attempt)

    def graph_runtime(self, wildcards) -> int:
        return self._graph_runtime(wildcards.cloud, wildcards.layer)

    def knn_mem_mb(self, wildcards, attempt) -> int:
        """The k-NN plots of a cloud's layers are drawn one after the other."""
        return max(
            self._graph_mem(wildcards.cloud, x, attempt) for x in self.clouds[wildcards.cloud]
        )

    def knn_runtime(self, wildcards) -> int:
        return sum(self._graph_runtime(wildcards.cloud, x) for x in self.clouds[wildcards.cloud])
