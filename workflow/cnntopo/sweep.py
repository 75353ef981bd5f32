"""Parameter sweeps: a config's ``sweep`` section expanded into variant configs.

A sweep maps dotted config keys to lists of values::

    sweep:
      model.width: [4, 8]
      persistence.maxdim: [1, 2]

Every combination (the Cartesian product, in the order written) is a *variant*: the
base configuration with those keys replaced. Each variant is a complete experiment
whose outputs go to a folder that encodes its parameters, Paramspace-style
(``<results_dir>/<experiment>/model.width~4/persistence.maxdim~1/``). Variants that
share the keys which determine a trained network (``dataset``, ``model``,
``training`` for the PH networks; ``dataset``, ``mapper.model``, ``mapper.training``
for the Mapper network) share the trained weights: only the first of them trains.

``workflow/rules/sweep.smk`` registers one Snakemake module per variant (rules
prefixed ``v0_``, ``v1_``, ...) and a summary rule that aggregates them
(:func:`cnntopo.stages.summary.sweep_summary`).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from cnntopo.config import ConfigError, load_schema, validate_config
from cnntopo.names import similarity_measures
from cnntopo.nets.layers import config_layers
from cnntopo.paths import Layout

__all__ = [
    "Variant",
    "expand_sweep",
    "encode_value",
    "get_dotted",
    "set_dotted",
    "PH_MODEL_KEYS",
    "MAPPER_MODEL_KEYS",
    "sweep_targets",
    "cross_architecture_pairs",
    "cross_architecture_diagrams",
    "cross_architecture_reps",
    "cross_architecture_settings",
    "depth_match_measures",
]

#: Config keys (prefixes) that determine the trained PH networks.
PH_MODEL_KEYS = ("dataset", "model", "training")
#: Config keys (prefixes) that determine the trained Mapper network.
MAPPER_MODEL_KEYS = ("dataset", "mapper.model", "mapper.training")
#: Keys a sweep may not vary (they define where the sweep itself lives).
_FORBIDDEN = ("experiment", "results_dir", "models_dir", "sweep", "mapper.model.dir")
_SAFE = re.compile(r"[^A-Za-z0-9_.+=-]")


@dataclass(frozen=True)
class Variant:
    """One point of a sweep.

    Attributes
    ----------
    name : str
        Rule-name prefix (``"v0"``, ``"v1"``, ...).
    path : str
        Folder of the variant below ``<results_dir>/<experiment>``, e.g.
        ``"model.width~4/persistence.maxdim~1"``.
    params : dict
        Dotted key -> value of the swept keys.
    config : dict
        The variant's complete, validated configuration.
    trains_models : bool
        Whether this variant's rules train the PH networks (the first variant of each
        distinct PH-model setting does; the others reuse its weights).
    trains_mapper_model : bool
        The same for the Mapper network.
    """

    name: str
    path: str
    params: dict
    config: dict
    trains_models: bool
    trains_mapper_model: bool


def get_dotted(config: dict, key: str) -> Any:
    """Value of a dotted key (``"model.width"``) in a nested dict."""
    node: Any = config
    for part in key.split("."):
        node = node[part]
    return node


def set_dotted(config: dict, key: str, value: Any) -> None:
    """Set a dotted key in a nested dict, creating intermediate dicts."""
    parts = key.split(".")
    node = config
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = copy.deepcopy(value)


def encode_value(value: Any) -> str:
    """Folder-name form of a swept value.

    Scalars as text (``None`` -> ``"null"``, booleans lower case); lists joined by
    ``"+"``; ``*`` (layer patterns) becomes ``"ALL"``; other characters outside
    ``[A-Za-z0-9_.+=-]`` become ``"_"``.

    Examples
    --------
    >>> encode_value(4), encode_value(["conv1", "block_seq.3.*"]), encode_value(None)
    ('4', 'conv1+block_seq.3.ALL', 'null')
    """
    if isinstance(value, bool):
        text = str(value).lower()
    elif value is None:
        text = "null"
    elif isinstance(value, list | tuple):
        text = "+".join(encode_value(v) for v in value)
    elif isinstance(value, dict):
        text = "+".join(f"{k}={encode_value(v)}" for k, v in value.items())
    else:
        text = str(value)
    return _SAFE.sub("_", text.replace("*", "ALL")) or "empty"


def _schema_has_key(schema: dict, key: str) -> bool:
    node = schema
    for part in key.split("."):
        props = node.get("properties", {})
        if part not in props:
            return False
        node = props[part]
        if "$ref" in node:
            target: Any = schema
            for ref_part in node["$ref"].lstrip("#/").split("/"):
                target = target[ref_part]
            node = target
    return True


def _model_params(params: dict, prefixes: tuple[str, ...]) -> dict:
    """The swept keys among ``params`` that fall under one of ``prefixes``."""
    return {
        k: v for k, v in params.items() if any(k == p or k.startswith(p + ".") for p in prefixes)
    }


def _params_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _params_path(params: dict) -> str:
    return "/".join(f"{k}~{encode_value(v)}" for k, v in params.items())


def expand_sweep(config: dict, schema: dict | None = None) -> list[Variant]:
    """Expand ``config["sweep"]`` into validated variant configurations.

    Parameters
    ----------
    config : dict
        A validated configuration (defaults filled, see
        :func:`cnntopo.config.validate_config`).
    schema : dict, optional
        The config schema (default: the workflow's).

    Returns
    -------
    list of Variant
        Empty when the sweep section is empty (a plain, single experiment).

    Raises
    ------
    ConfigError
        A swept key is not a config key or may not be swept, a list is empty, a
        variant's configuration is invalid (the message names the variant), or two
        variants would share a folder.
    """
    sweep = config.get("sweep") or {}
    if not sweep:
        return []
    schema = schema or load_schema()
    problems = []
    for key, values in sweep.items():
        if key in _FORBIDDEN or any(key.startswith(f + ".") for f in _FORBIDDEN):
            problems.append(f"config key 'sweep.{key}': {key!r} cannot be swept")
        elif not _schema_has_key(schema, key):
            problems.append(
                f"config key 'sweep.{key}': {key!r} is not a config key; "
                "write dotted keys such as 'model.width' or 'persistence.maxdim'"
            )
        if not isinstance(values, list) or not values:
            problems.append(f"config key 'sweep.{key}' must be a non-empty list of values")
    if problems:
        raise ConfigError("invalid sweep:\n  - " + "\n  - ".join(problems))

    base = copy.deepcopy(config)
    base["sweep"] = {}
    root = f"{config['results_dir']}/{config['experiment']}"
    keys = list(sweep)
    variants: list[Variant] = []
    seen_paths: dict[str, dict] = {}
    seen_ph: set[str] = set()
    seen_mapper: set[str] = set()
    for i, combo in enumerate(itertools.product(*(sweep[k] for k in keys))):
        params = dict(zip(keys, combo, strict=True))
        path = _params_path(params)
        if path in seen_paths:
            raise ConfigError(
                f"invalid sweep: variants {seen_paths[path]} and {params} map to the same "
                f"folder {path!r}; use values that differ after encoding"
            )
        seen_paths[path] = params
        cfg = copy.deepcopy(base)
        for k, v in params.items():
            set_dotted(cfg, k, v)
        ph_params = _model_params(params, PH_MODEL_KEYS)
        mapper_params = _model_params(params, MAPPER_MODEL_KEYS)
        ph_key, mapper_key = _params_key(ph_params), _params_key(mapper_params)
        cfg["results_dir"] = root
        cfg["experiment"] = path
        if config.get("models_dir") is None:
            cfg["models_dir"] = f"{root}/models/{_params_path(ph_params) or 'shared'}"
        elif ph_params:
            raise ConfigError(
                f"invalid sweep: 'models_dir' is set ({config['models_dir']!r}) but the sweep "
                f"varies the trained networks ({', '.join(ph_params)}); remove "
                "models_dir so each network setting gets its own folder"
            )
        if "mapper" in cfg and cfg["mapper"].get("model", {}).get("dir") is None:
            set_dotted(
                cfg,
                "mapper.model.dir",
                f"{root}/mapper_models/{_params_path(mapper_params) or 'shared'}",
            )
        try:
            validate_config(cfg, schema)  # resolves the layer selections against the networks
        except (ConfigError, ValueError) as err:
            raise ConfigError(f"sweep variant {path!r} is invalid: {err}") from err
        variants.append(
            Variant(
                name=f"v{i}",
                path=path,
                params=params,
                config=cfg,
                trains_models=ph_key not in seen_ph,
                trains_mapper_model=mapper_key not in seen_mapper,
            )
        )
        seen_ph.add(ph_key)
        seen_mapper.add(mapper_key)
    return variants


def cross_architecture_pairs(variants: list[Variant]) -> dict[str, tuple[Variant, Variant]]:
    """Pairs of variants that differ only in ``model.arch``: ``"v0-v1"`` -> (A, B).

    Their layers are compared across the two networks (rule ``cross_architecture``).
    """
    pairs = {}
    for i, a in enumerate(variants):
        for b in variants[i + 1 :]:
            rest_a = {k: v for k, v in a.params.items() if k != "model.arch"}
            rest_b = {k: v for k, v in b.params.items() if k != "model.arch"}
            arch_a, arch_b = a.config["model"]["arch"], b.config["model"]["arch"]
            if rest_a == rest_b and arch_a != arch_b:
                pairs[f"{a.name}-{b.name}"] = (a, b)
    return pairs


def cross_architecture_diagrams(variant: Variant, root: str) -> list[str]:
    """Diagram files of every recorded layer of a variant's network (its first seed)."""
    layers, _ = config_layers(variant.config)
    seed = variant.config["model"]["seeds"][:1]
    return Layout(f"{root}/{variant.path}").expand("diagram", seed=seed, layer=layers)


def cross_architecture_reps(variant: Variant, root: str) -> list[str]:
    """Representation files (``similarity.representations``) of a variant's first seed.

    None without ``similarity.measures``: the comparison is then SW only.
    """
    similarity = variant.config["similarity"]
    if not similarity["measures"]:
        return []
    return Layout(f"{root}/{variant.path}").expand(
        "similarity_rep",
        seed=variant.config["model"]["seeds"][:1],
        representation=similarity["representations"],
    )


def cross_architecture_settings(a: Variant, b: Variant) -> dict[str, Any]:
    """Params of a ``cross_architecture`` job: layer names, labels, distance settings and
    similarity measures (A's; the variants differ only in ``model.arch``)."""
    dist, similarity = a.config["distances"], a.config["similarity"]
    return {
        "layers_a": config_layers(a.config)[0],
        "layers_b": config_layers(b.config)[0],
        "label_a": a.config["model"]["arch"],
        "label_b": b.config["model"]["arch"],
        "dim": dist["dim"],
        "M": dist["M"],
        "infinite": dist["infinite"],
        "measures": similarity_measures(similarity) if similarity["measures"] else [],
        "representations": similarity["representations"] if similarity["measures"] else [],
    }


def depth_match_measures(config: dict) -> dict[str, list[str]]:
    """Matrices whose depth matching enters the sweep summary, as the specificity does:
    the SW distance (``sliced_wasserstein_H<dim>``) and, when configured, linear CKA on
    the top-l2 clouds (``cka``). Column name -> [measure, representation]."""
    sw = f"sliced_wasserstein_H{config['distances']['dim']}"
    out = {sw: [sw, "topl2"]}
    similarity = config["similarity"]
    if "cka_linear" in similarity["measures"] and "topl2" in similarity["representations"]:
        out["cka"] = ["cka_linear", "topl2"]
    return out


def sweep_targets(rules: Any, variants: list[Variant], root: str) -> list[str]:
    """Files the workflow's ``all`` rule asks for.

    Parameters
    ----------
    rules : snakemake.rules.Rules
        The workflow's ``rules`` (after the experiment or the variants are registered).
    variants : list of Variant
        From :func:`expand_sweep`.
    root : str
        ``<results_dir>/<experiment>`` of the sweep.

    Returns
    -------
    list of str
        Without variants, the inputs of the single experiment's ``experiment`` rule;
        with variants, the sweep summary (``<root>/sweep/summary.{csv,png}``), the
        cross-architecture comparisons (``<root>/sweep/cross_architecture/<pair>.*``,
        :func:`cross_architecture_pairs`) and every variant's ``<name>_experiment``
        inputs.
    """
    if not variants:
        return list(rules.experiment.input)
    targets = Layout(root).expand("sweep_summary", ext=["csv", "png"])
    pairs = list(cross_architecture_pairs(variants))
    targets += Layout(root).expand("cross_architecture", pair=pairs, ext=["npz", "csv", "png"])
    targets += Layout(root).expand("cross_architecture_depth", pair=pairs)
    for v in variants:
        targets += list(getattr(rules, f"{v.name}_experiment").input)
    return targets
