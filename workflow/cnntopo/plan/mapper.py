"""The Mapper branch of the plan: clouds, their rules, the setting table, inputs, targets.

Per-construction facts (which rule builds a cloud, which ``mapper`` key lists its
layers, the settings its job reads, the user files it needs) come from one function,
:func:`construction`, backed by :mod:`cnntopo.mapper.constructions` where that module
exists and by the built-in table :func:`builtin_construction` otherwise.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from cnntopo.names import format_cloud, format_number, format_setting, parse_cloud
from cnntopo.nets.layers import cloud_shape, is_option_b, mapper_config_layers, parse_arch
from cnntopo.nets.layers_option_b import mapper_layer_names
from cnntopo.paths import Layout
from cnntopo.plan.resources import MapperResources

__all__ = ["BuiltinConstruction", "builtin_construction", "construction", "MapperPlan"]

NOISE_RULE = "mapper_clouds_noise"


@dataclass(frozen=True)
class BuiltinConstruction:
    """The facts of a built-in cloud construction (the fields of
    ``cnntopo.mapper.constructions.Construction``).

    Attributes
    ----------
    name : str
        The cloud name (``random``, ``full``, ``fg1``, ...).
    rule : str
        ``mapper_clouds`` (random, full) or ``mapper_clouds_fgbg`` (foreground, background).
    layers_key : str
        The ``mapper`` key that lists its layers (``layers`` or ``fgbg_layers``).
    files : tuple of str
        User files its job reads (none for a built-in).
    """

    name: str
    rule: str
    layers_key: str
    files: tuple[str, ...] = field(default=())

    def settings(self, mapper: dict) -> dict:
        """The config values the construction's job reads (from the ``mapper`` section)."""
        method = parse_cloud(self.name)["method"]
        if method == "random":
            return {"low": mapper["random_low"]}
        if method == "full":
            return {"cap": mapper["full"]["cap"], "replace": mapper["full"]["replace"]}
        grabcut, fgbg = mapper["grabcut"], mapper["fgbg"]
        return {
            "grabcut": grabcut["input"],
            "grabcut_iters": grabcut["iterations"],
            "empty_mask": fgbg["empty_mask"],
            "ties": fgbg["ties"],
        }


def builtin_construction(spec: str) -> BuiltinConstruction:
    """The facts of a built-in construction name (``random``, ``full``, ``fg1``, ...)."""
    method = parse_cloud(spec)["method"]
    if method in ("random", "full"):
        return BuiltinConstruction(spec, "mapper_clouds", "layers")
    return BuiltinConstruction(spec, "mapper_clouds_fgbg", "fgbg_layers")


def construction(spec: str) -> Any:
    """The facts of one ``mapper.constructions`` entry: ``name``, ``rule``, ``layers_key``,
    ``files`` and ``settings(mapper_config)``.

    :func:`cnntopo.mapper.constructions.resolve` (built-ins and ``python:`` user
    constructions) where that module exists, else :func:`builtin_construction`.
    """
    try:
        from cnntopo.mapper.constructions import resolve
    except ImportError:
        return builtin_construction(spec)
    return resolve(spec)


class MapperPlan(MapperResources):
    """Everything the Mapper rules ask, for one validated configuration.

    Parameters
    ----------
    plan : cnntopo.plan.Plan
        The experiment's plan (its config, output folder and figure formats).

    Attributes
    ----------
    config : dict
        The ``mapper`` section.
    paths : cnntopo.paths.Layout
        The experiment's layout (Mapper network in ``mapper.model.dir``).
    layers : list of str
        ``mapper.layers`` resolved against the Mapper network.
    layer_shapes : dict of str to tuple of int
        Per-image output shape of every layer a cloud is built of.
    shapes : dict of str to (int, int, int)
        Each layer as ``(vector length, positions, 1)`` (the job sizes' ``(c, h, w)``).
    clouds : dict of str to list of str
        Cloud name -> its layers: the constructions, then their noisy versions.
    """

    def __init__(self, plan: Any):
        config = plan.config
        self.root = config
        self.config = mapper = config["mapper"]
        self.paths = Layout(plan.out, mapper_model=mapper["model"]["dir"])
        self.fig_extra = plan.fig_extra
        self.enabled = bool(mapper["enabled"])
        self.layers, self.layer_shapes = mapper_config_layers(config)
        resolved = [construction(spec) for spec in mapper["constructions"]]
        self.constructions = {c.name: c for c in resolved}
        keys = {c.layers_key for c in self.constructions.values()} - {"layers"}
        if mapper["noise"]["sigmas"]:
            keys.add("noise.layers")
        for key in sorted(keys):
            self.layer_shapes.update(mapper_config_layers(config, key)[1])
        self.shapes = {k: (*cloud_shape(s), 1) for k, s in self.layer_shapes.items()}
        self.clouds = self._clouds()

    # -------------------------------------------------------------- clouds

    def _layers_of(self, key: str) -> list[str]:
        if key == "layers":
            return self.layers
        node: Any = self.config
        for part in key.split("."):
            node = node[part]
        return list(node)

    def _clouds(self) -> dict[str, list[str]]:
        clouds = {name: self._layers_of(c.layers_key) for name, c in self.constructions.items()}
        noise = self.config["noise"]
        for sigma in noise["sigmas"]:
            for c in noise["constructions"]:
                clouds[format_cloud(c, sigma)] = list(noise["layers"])
        return clouds

    def _facts(self, cloud: str) -> Any | None:
        """The construction of a noise-free cloud; None for a noisy one."""
        return self.constructions.get(cloud)

    @property
    def cloud_rules(self) -> dict[str, tuple[list[str], list[str]]]:
        """Rule name -> (clouds, layers): the clouds that share one rule and list of layers.

        ``mapper_clouds`` (random, full), ``mapper_clouds_fgbg`` (foreground and
        background), ``mapper_clouds_noise`` (the noisy clouds); empty groups are left out.
        """
        groups: dict[str, tuple[list[str], list[str]]] = {}
        for cloud, layers in self.clouds.items():
            facts = self._facts(cloud)
            name = NOISE_RULE if facts is None else facts.rule
            groups.setdefault(name, ([], layers))[0].append(cloud)
        return groups

    @staticmethod
    def cloud_pattern(clouds: list[str]) -> str:
        """The ``cloud`` wildcard constraint of a cloud rule: exactly its clouds."""
        return "|".join(re.escape(c) for c in clouds)

    def construction_settings(self, wildcards) -> dict:
        """The settings of a cloud's construction that its job reads."""
        facts = self._facts(wildcards.cloud) or construction(parse_cloud(wildcards.cloud)["base"])
        return facts.settings(self.config)

    def cloud_files(self, rule: str) -> list[str]:
        """User files the jobs of one cloud rule read (user constructions, model file)."""
        files = [f for c in self.constructions.values() if c.rule == rule for f in c.files]
        return list(dict.fromkeys(files + self.factory_files))

    @property
    def factory_files(self) -> list[str]:
        """The user's model file of a ``python:`` Mapper network (an input)."""
        spec = parse_arch(self.config["model"]["arch"])
        return [spec.path] if spec.kind == "python" else []

    @property
    def is_trained(self) -> bool:
        """The Mapper network is trained unless weights are imported."""
        model = self.config["model"]
        return model["checkpoint"] is None and not model["pretrained"]

    def cloud_shapes(self, layers: list[str]) -> dict[str, list[int] | None]:
        """Shapes a cloud job passes to build_cloud: None for the option-B network's own
        mapper layers (its static table), the module table's shape otherwise."""
        static = is_option_b(self.config["model"])
        own = set(mapper_layer_names()) if static else set()
        return {layer: None if layer in own else list(self.layer_shapes[layer]) for layer in layers}

    def predictions_feature(self, wildcards) -> bool:
        """Whether a graph's features carry the 0/1 predictions column: only noisy
        foreground clouds, as the official noise scripts (docs/methods.md §12)."""
        if self._facts(wildcards.cloud) is not None:
            return False
        spec = parse_cloud(wildcards.cloud)
        return spec["method"] == "foreground" and self.config["noise"]["predictions_feature"]

    # -------------------------------------------------------------- settings

    def setting_table(self, cloud: str, layer: str) -> dict[str, dict]:
        """Setting name -> the configured intervals, overlap (percent) and eps of one graph.

        The per-layer table entry, else every combination of the lists; names are
        lossless, and the values are the configured ones (never re-read from a name).

        Parameters
        ----------
        cloud, layer : str
            The graph's cloud and layer.

        Returns
        -------
        dict of str to dict
            ``{format_setting(...): {"intervals": int, "overlap": float, "eps": float or None}}``
            in configured order; the first is the primary setting.
        """
        g = self.config["graph"]
        fixed = g["per_layer"].get(cloud, {}).get(layer)
        if fixed is not None:
            combos = [(fixed["intervals"], fixed["overlap"], fixed["eps"])]
        else:
            combos = list(itertools.product(g["intervals"], g["overlaps"], g["eps"]))
        return {
            format_setting(n, p, e): {
                "intervals": int(n),
                "overlap": float(p),
                "eps": None if e is None else float(e),
            }
            for n, p, e in combos
        }

    def settings(self, cloud: str, layer: str) -> list[str]:
        return list(self.setting_table(cloud, layer))

    def graph_setting(self, wildcards) -> dict:
        """The configured values of the ``{setting}`` of one graph job."""
        table = self.setting_table(wildcards.cloud, wildcards.layer)
        if wildcards.setting not in table:
            raise ValueError(
                f"{wildcards.setting} is not a configured Mapper setting of "
                f"{wildcards.cloud}/{wildcards.layer}; configured: {', '.join(table)}"
            )
        return table[wildcards.setting]

    def graph(self, cloud: str, layer: str, setting: str | None = None) -> str:
        """Path of a graph (the primary, i.e. first, setting unless one is given)."""
        setting = setting or self.settings(cloud, layer)[0]
        return self.paths("mapper_graph", cloud=cloud, layer=layer, setting=setting)

    @property
    def has_setting_sweep(self) -> bool:
        return any(
            len(self.settings(c, layer)) > 1
            for c, layers in self.clouds.items()
            for layer in layers
        )

    @property
    def primary(self) -> list[str]:
        """``"cloud/layer/setting"`` of the primary graph of every (cloud, layer)."""
        return [
            f"{cloud}/{layer}/{self.settings(cloud, layer)[0]}"
            for cloud, layers in self.clouds.items()
            for layer in layers
        ]

    # -------------------------------------------------------------- inputs

    def stats_inputs(self, wildcards) -> dict[str, list[str]]:
        """Every (cloud, layer, setting) graph, with the cloud file of each."""
        graphs, clouds = [], []
        for cloud, layers in self.clouds.items():
            for layer in layers:
                for setting in self.settings(cloud, layer):
                    graphs.append(self.graph(cloud, layer, setting))
                    clouds.append(self.paths("mapper_cloud", cloud=cloud, layer=layer))
        return {"graphs": graphs, "clouds": clouds}

    def cloud_layers(self, wildcards) -> list[str]:
        return self.clouds[wildcards.cloud]

    def panel_layers(self, wildcards) -> list[str]:
        layers = self.clouds[wildcards.cloud]
        return [x for x in layers if x in self.config["figures"]["panel_layers"]] or layers

    def panel_graphs(self, wildcards) -> list[str]:
        return [self.graph(wildcards.cloud, x) for x in self.panel_layers(wildcards)]

    @property
    def comparison_clouds(self) -> list[str]:
        """Noise-free clouds that contain the comparison layer."""
        layer = self.config["figures"]["comparison_layer"]
        return [
            c for c, layers in self.clouds.items() if self._facts(c) is not None and layer in layers
        ]

    def comparison_graphs(self, wildcards) -> list[str]:
        return [self.graph(c, wildcards.layer) for c in self.comparison_clouds]

    def noise_clouds(self, wildcards) -> list[str]:
        """The noise-free cloud and its noisy versions, by increasing sigma."""
        noisy = sorted(
            (c for c in self.clouds if c.startswith(f"{wildcards.cloud}-noise")),
            key=lambda c: parse_cloud(c)["sigma"],
        )
        base = [wildcards.cloud] if wildcards.layer in self.clouds.get(wildcards.cloud, []) else []
        return base + noisy

    def noise_graphs(self, wildcards) -> list[str]:
        return [self.graph(c, wildcards.layer) for c in self.noise_clouds(wildcards)]

    def noise_titles(self, wildcards) -> list[str]:
        return [
            f"sigma = {format_number(parse_cloud(c)['sigma'])}"
            for c in self.noise_clouds(wildcards)
        ]

    def cloud_graphs(self, wildcards) -> list[str]:
        """Every configured graph of every layer of one cloud."""
        cloud = wildcards.cloud
        return [
            self.graph(cloud, x, s) for x in self.clouds[cloud] for s in self.settings(cloud, x)
        ]

    def cloud_graph_counts(self, wildcards) -> list[int]:
        """Graphs of each layer of one cloud, in the order of :meth:`cloud_graphs`."""
        return [len(self.settings(wildcards.cloud, x)) for x in self.clouds[wildcards.cloud]]

    def explorer_inputs(self, wildcards) -> dict:
        layers = self.clouds[wildcards.cloud]
        return {
            "graphs": [self.graph(wildcards.cloud, x) for x in layers],
            "clouds": [self.paths("mapper_cloud", cloud=wildcards.cloud, layer=x) for x in layers],
            "images": self.paths("mapper_images"),
        }

    # -------------------------------------------------------------- targets

    @property
    def outputs(self) -> list[str]:
        """Final outputs of the Mapper branch (none when it is switched off)."""
        if not self.enabled:
            return []
        P, ext = self.paths, ["png", *self.fig_extra]
        out = [P("mapper_stats"), *P.expand("fig_mapper_purity", ext=ext)]
        for cloud, layers in self.clouds.items():
            out += P.expand("fig_mapper_knn", cloud=cloud, layer=layers, ext=ext)
            if self._facts(cloud) is not None:
                out += P.expand("fig_mapper_layers", cloud=cloud, ext=ext)
            if self.config["figures"]["explorer"]:
                out.append(P("mapper_explorer", cloud=cloud))
        if self.comparison_clouds:
            layer = self.config["figures"]["comparison_layer"]
            out += P.expand("fig_mapper_constructions", layer=layer, ext=ext)
        noise = self.config["noise"]
        if noise["sigmas"]:
            out += P.expand(
                "fig_mapper_noise", cloud=noise["constructions"], layer=noise["layers"], ext=ext
            )
        if self.has_setting_sweep:
            out += P.expand("fig_mapper_settings", ext=ext)
        return out
