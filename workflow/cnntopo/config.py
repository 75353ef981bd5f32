"""Configuration: JSON-schema validation with defaults and readable errors.

The schema is the package data file ``cnntopo/schema.yaml``. Every object in it has
``additionalProperties: false``, so a misspelt key is an error, and every key has a
default, which :func:`validate_config` fills in (recursively) before the workflow
builds any job.
"""

from __future__ import annotations

import copy
import difflib
import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

__all__ = [
    "SCHEMA_PATH",
    "ConfigError",
    "load_schema",
    "validate_config",
    "load_config",
    "config_hash",
]

SCHEMA_PATH = Path(__file__).resolve().parent / "schema.yaml"


class ConfigError(ValueError):
    """The configuration does not match the schema; the message lists every problem."""


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    """Load the config schema (YAML); a fresh copy on each call.

    The file is parsed once per process and modification time (a DAG build validates
    the config once per experiment and sweep variant); each call returns a deep copy,
    so callers may change it.
    """
    path = Path(path).resolve()
    if not path.exists():
        raise FileNotFoundError(f"config schema not found at {path}; is the repository complete?")
    return copy.deepcopy(_parse_schema(path, path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _parse_schema(path: Path, mtime_ns: int) -> dict:
    """The parsed schema file (``mtime_ns`` only keys the cache), registries resolved."""
    schema = yaml.load(path.read_text(), Loader=_YAML_LOADER)
    _resolve_registries(schema)
    return schema


#: The user door of the extension points: ``python:<file.py>:<function>``.
USER_SPEC_PATTERN = r"^python:.+\.py:[A-Za-z_][A-Za-z0-9_]*$"


def registry_names(kind: str) -> list[str]:
    """The built-in names of an extension point: measures, constructions or networks.

    The registries, not the schema file, hold the names: adding a built-in measure
    (:mod:`cnntopo.ph.similarity.registry`), point-cloud construction
    (:mod:`cnntopo.mapper.constructions`) or network (:mod:`cnntopo.nets.registry`) is
    one module and its test.
    """
    if kind == "measures":
        from cnntopo.ph.similarity.registry import builtin_names
    elif kind == "constructions":
        from cnntopo.mapper.constructions import builtin_names
    elif kind == "networks":
        from cnntopo.nets.registry import builtin_archs as builtin_names
    else:
        raise ValueError(
            f"unknown registry {kind!r}; expected 'measures', 'constructions' or 'networks'"
        )
    return list(builtin_names())


def _resolve_registries(node: Any) -> None:
    """Replace every ``{x-registry: <kind>}`` node by its built-in names or the user door."""
    if isinstance(node, list):
        for item in node:
            _resolve_registries(item)
        return
    if not isinstance(node, dict):
        return
    enum_kind = node.pop("x-registry-enum", None)
    if enum_kind is not None:  # one branch of an anyOf: the built-in names only
        exclude = set(node.pop("x-exclude", []))
        node["enum"] = [n for n in registry_names(enum_kind) if n not in exclude]
    kind = node.pop("x-registry", None)
    if kind is not None:
        names = registry_names(kind)
        node["anyOf"] = [
            {"enum": names},
            {"type": "string", "pattern": USER_SPEC_PATTERN},
        ]
        node["x-error"] = (
            f"expected one of {names} or your own as python:<file.py>:<function> "
            "(docs/extending.md)"
        )
    for value in node.values():
        _resolve_registries(value)


#: libyaml's parser when PyYAML has it (5-6x faster, same result), else the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _fill_defaults(instance: Any, schema: dict, root: dict) -> None:
    """Insert ``default`` values of ``schema``'s properties into ``instance`` (in place, recursive)."""
    if "$ref" in schema:
        ref = schema["$ref"]
        node: Any = root
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        schema = node
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance and isinstance(instance[key], dict):
            _fill_defaults(instance[key], sub, root)


def _path_of(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _allowed_keys(schema: dict, error: jsonschema.ValidationError) -> list[str]:
    node = error.schema
    return sorted(node.get("properties", {}))


def _describe(error: jsonschema.ValidationError, schema: dict) -> str:
    where = _path_of(error)
    if error.validator == "additionalProperties":
        allowed = _allowed_keys(schema, error)
        extras = sorted(set(error.instance) - set(allowed))
        msgs = []
        for key in extras:
            full = key if where == "<top level>" else f"{where}.{key}"
            hint = difflib.get_close_matches(key, allowed, n=1)
            fix = (
                f"did you mean '{hint[0]}'?" if hint else f"allowed keys here: {', '.join(allowed)}"
            )
            msgs.append(f"unknown config key '{full}': {fix} (see config/README.md)")
        return "\n".join(msgs)
    if error.validator in ("oneOf", "anyOf") and "x-error" in error.schema:
        return f"config key '{where}': {error.instance!r} is not valid; {error.schema['x-error']}"
    if error.validator == "oneOf" and error.context:
        best = min(error.context, key=lambda e: len(e.message))
        return f"config key '{where}': {error.instance!r} is not valid ({best.message})"
    return f"config key '{where}': {error.message}"


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """Validate ``config`` against the schema and fill in defaults.

    Parameters
    ----------
    config : dict
        Parsed configuration (for example Snakemake's ``config``). Modified in place.
    schema : dict, optional
        Schema to use; defaults to :data:`SCHEMA_PATH`.

    Returns
    -------
    dict
        The same ``config`` object, with every default filled in.

    Raises
    ------
    ConfigError
        If any key is unknown or has a wrong type or value. The message names each
        offending key (as ``section.key``) and how to fix it.
    """
    schema = load_schema() if schema is None else schema
    if not isinstance(config, dict):
        raise ConfigError(f"the configuration must be a mapping, got {type(config).__name__}")
    _check_replaced_keys(config)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema)
    errors = sorted(
        validator.iter_errors(config), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )
    if errors:
        lines = [_describe(e, schema) for e in errors]
        raise ConfigError(
            "invalid configuration:\n  - "
            + "\n  - ".join("\n  - ".join(x.split("\n")) for x in lines)
        )
    _fill_defaults(config, schema, schema)
    _check_semantics(config)
    return config


def _check_replaced_keys(config: dict) -> None:
    """Keys of earlier versions: say what replaced them instead of "unknown key"."""
    sim = config.get("similarity")
    if isinstance(sim, dict) and "cka" in sim:
        raise ConfigError(
            "invalid configuration:\n  - config key 'similarity.cka' was replaced by "
            "'similarity.measures' and 'similarity.representations': for the old baseline "
            "write 'similarity: {measures: [cka_linear], representations: [topl2]}', to switch "
            "the measures off 'similarity: {measures: []}' (see config/README.md)"
        )


def _check_semantics(config: dict) -> None:
    """Cross-key checks that a JSON schema cannot express."""
    problems = []
    ckpt = config["model"]["checkpoint"]
    if ckpt is not None and "{seed}" not in ckpt and len(config["model"]["seeds"]) > 1:
        problems.append(
            f"config key 'model.checkpoint': {ckpt!r} must contain '{{seed}}' with several "
            "'model.seeds' (one checkpoint per seed, e.g. "
            "'weights/resnet18_cifar_large_{seed}/final_weights.pt'), or list one seed"
        )
    if config["distances"]["dim"] > config["persistence"]["maxdim"]:
        problems.append(
            f"config key 'distances.dim' = {config['distances']['dim']} exceeds "
            f"'persistence.maxdim' = {config['persistence']['maxdim']}: raise maxdim or compare a lower dimension"
        )
    too_high = [
        d
        for d in config["similarity"]["diagram_distances"]
        if int(d.rsplit("_H", 1)[1]) > config["persistence"]["maxdim"]
    ]
    if too_high:
        problems.append(
            f"config key 'similarity.diagram_distances': {too_high} exceed 'persistence.maxdim' = "
            f"{config['persistence']['maxdim']}: raise maxdim or drop them"
        )
    if (
        config["training"]["schedule"] == "triangular"
        and config["training"]["lr_peak_epoch"] > config["training"]["epochs"]
    ):
        problems.append("config key 'training.lr_peak_epoch' must not exceed 'training.epochs'")
    problems += _model_problems(config)
    problems += _model_problems(config, "mapper.model")
    problems += _mapper_fgbg_problems(config)
    builtin = ":" not in config["model"]["arch"]
    if (
        builtin
        and config["sensitivity"]["enabled"]
        and config["sensitivity"]["step"] >= config["model"]["width"]
    ):
        problems.append(
            f"config key 'sensitivity.step' = {config['sensitivity']['step']} must be smaller than "
            f"the narrowest layer ('model.width' = {config['model']['width']} channels), or every "
            "direction of it would be removed; lower the step or disable the test"
        )
    sens = config["sensitivity"]["seeds"]
    if sens != "first" and not set(sens) <= set(config["model"]["seeds"]):
        missing = sorted(set(sens) - set(config["model"]["seeds"]))
        problems.append(
            f"config key 'sensitivity.seeds': seeds {missing} are not in 'model.seeds'; "
            "test only models that are trained"
        )
    problems += _user_code_problems(config)
    if not problems:  # the layers can only be resolved for a valid network
        problems += _layer_problems(config)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))


def _user_code_problems(config: dict) -> list[str]:
    """User measures and constructions (``python:<file.py>:<function>``) load and run.

    Checked here, before any job: a missing file or function, or a function that fails on
    a small seeded example, stops the workflow with a message naming the file and the
    function (:func:`cnntopo.ph.similarity.registry.check_user_measure`,
    :func:`cnntopo.mapper.constructions.check_user_construction`).
    """
    problems = []
    measures = [m for m in config["similarity"]["measures"] if m.startswith("python:")]
    if measures:
        from cnntopo.ph.similarity.registry import check_user_measure

        for spec in measures:
            try:
                check_user_measure(spec)
            except (ValueError, TypeError) as err:
                problems.append(f"config key 'similarity.measures': {err}")
    mapper = config["mapper"]
    clouds = [c for c in mapper["constructions"] if c.startswith("python:")]
    if clouds and mapper["enabled"]:
        from cnntopo.mapper.constructions import check_user_construction, resolve_all

        for spec in clouds:
            try:
                check_user_construction(spec)
            except (ValueError, TypeError) as err:
                problems.append(f"config key 'mapper.constructions': {err}")
        if not problems:
            try:  # two entries must not name the same cloud
                resolve_all(mapper["constructions"])
            except ValueError as err:
                problems.append(f"config key 'mapper.constructions': {err}")
    return problems


def _model_problems(config: dict, key: str = "model") -> list[str]:
    """The network must exist (without importing torch); pretrained weights are torchvision's.

    ``key`` is the model section: ``"model"`` (PH) or ``"mapper.model"``.
    """
    from cnntopo.nets.layers import check_arch

    model = config["mapper"]["model"] if key == "mapper.model" else config["model"]
    try:
        spec = check_arch(model["arch"], builtins=_builtin_archs(key))
    except ValueError as err:
        return [str(err).replace("config key 'model.arch'", f"config key '{key}.arch'")]
    problems = []
    if model["pretrained"] and spec.kind != "torchvision":
        problems.append(
            f"config key '{key}.pretrained': torchvision's weights exist only for "
            f"torchvision networks, not {model['arch']!r}; set {key}.checkpoint to a weights "
            "file instead"
        )
    if model["pretrained"] and model["checkpoint"] is not None:
        problems.append(
            f"config keys '{key}.pretrained' and '{key}.checkpoint' both replace training; "
            "set only one of them"
        )
    return problems


def _builtin_archs(key: str = "model") -> list[str]:
    """The built-in network names of the schema's ``model.arch`` (or ``mapper.model.arch``)."""
    node = load_schema()
    for part in key.split("."):
        node = node["properties"][part]
    arch = node["properties"]["arch"]
    return [name for branch in arch["anyOf"] for name in branch.get("enum", [])]


def _mapper_fgbg_problems(config: dict) -> list[str]:
    """The foreground / background clouds exist for the option-B network only."""
    from cnntopo.nets.layers import MAPPER_ARCH, is_option_b

    mapper = config["mapper"]
    arch = mapper["model"]["arch"]
    if not mapper["enabled"] or is_option_b(mapper["model"]):
        return []
    noisy = mapper["noise"]["constructions"] if mapper["noise"]["sigmas"] else []
    problems = []
    for key, constructions, fix in (
        ("constructions", mapper["constructions"], "mapper: {constructions: [random, full]}"),
        ("noise.constructions", noisy, "mapper: {noise: {constructions: [full]}}"),
    ):
        fgbg = [c for c in constructions if c[:2] in ("fg", "bg")]
        if fgbg:
            problems.append(
                f"config key 'mapper.{key}': {fgbg} need the receptive-field table of the "
                f"option-B ResNet-18 (mapper.model.arch: {MAPPER_ARCH}); "
                f"{arch!r} takes the random and full clouds, e.g. '{fix}'"
            )
    return problems


def _layer_problems(config: dict) -> list[str]:
    """Layer selections must name existing layers; the PH branch needs two or more."""
    from cnntopo.nets.layers import config_layers, mapper_config_layers

    problems = []
    try:
        layers, _ = config_layers(config)
        if len(layers) < 2:
            problems.append(
                f"config key 'activations.layers' selects {layers}: layer distances need at "
                "least two layers"
            )
    except ValueError as err:
        problems.append(str(err))
    mapper = config["mapper"]
    keys = ["layers"]  # the layers of the clouds that are built
    noisy = mapper["noise"]["constructions"] if mapper["noise"]["sigmas"] else []
    if any(c[:2] in ("fg", "bg") for c in mapper["constructions"]):
        keys.append("fgbg_layers")
    if noisy:
        keys.append("noise.layers")
    for key in keys:
        try:
            mapper_config_layers(config, key)
        except ValueError as err:
            problems.append(str(err))
    return problems


def load_config(path: str | Path) -> dict:
    """Read a YAML config file and validate it (see :func:`validate_config`)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    return validate_config(data)


def config_hash(section: Any) -> str:
    """Short stable hash (sha256, 12 hex digits) of a config section, for provenance metadata."""
    blob = json.dumps(section, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
