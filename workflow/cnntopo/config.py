"""Configuration: JSON-schema validation with defaults and readable errors.

The schema is the package data file ``cnntopo/schema.yaml``. Every object in it has
``additionalProperties: false``, so a misspelt key is an error, and every key has a
default, which :func:`validate_config` fills in (recursively) before the workflow
builds any job.

Every problem is reported with the key it concerns and the constraint it breaks. A
value that fails a ``oneOf`` / ``anyOf`` is judged by the branch it was meant for (the
one that takes its JSON type: ``eps: 0`` by the number branch, "must be > 0", not the
null branch), with the other forms named after it; an ``x-error`` annotation replaces
the message of such a key, an ``x-hint`` is appended to it.
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
    if error.validator in ("oneOf", "anyOf") and error.context:
        hint = f"; {error.schema['x-hint']}" if "x-hint" in error.schema else ""
        return (
            f"config key '{where}': {error.instance!r} is not valid: {_alternatives(error)}{hint}"
        )
    if error.validator == "enum":
        hint = _did_you_mean(error.instance, error.validator_value)
        return f"config key '{where}': {error.message}" + (f"; {hint}" if hint else "")
    return f"config key '{where}': {error.message}"


# ---------------------------------------------------------------------------
# oneOf / anyOf: the branch the value was meant for
# ---------------------------------------------------------------------------

#: Keywords that imply the JSON type of a branch without a ``type`` keyword.
_IMPLIED_TYPES = (
    ("string", ("pattern", "minLength", "maxLength")),
    ("array", ("items", "minItems", "maxItems", "uniqueItems")),
    ("object", ("properties", "required", "additionalProperties", "propertyNames")),
    ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
)


def _kind(value: Any) -> str:
    """The JSON type of a YAML value (``integer`` and ``number`` are one kind: ``number``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _branch_kinds(branch: dict) -> set[str] | None:
    """The JSON kinds a oneOf / anyOf branch accepts; None = any (no type information)."""
    if "type" in branch:
        types = branch["type"] if isinstance(branch["type"], list) else [branch["type"]]
        return {"number" if t == "integer" else t for t in types}
    if "const" in branch:
        return {_kind(branch["const"])}
    if "enum" in branch:
        return {_kind(v) for v in branch["enum"]}
    for kind, keywords in _IMPLIED_TYPES:
        if any(k in branch for k in keywords):
            return {kind}
    return None


def _meant_branch(error: jsonschema.ValidationError) -> int | None:
    """Index of the branch of a failed oneOf / anyOf that the value was meant for.

    A branch is meant when it accepts the value's JSON type (a number for a
    ``null | number > 0`` key is meant for the number branch, a list for an
    ``"all" | list`` key for the list branch); among several such branches, the one with
    the fewest violations (the first on ties). None when no branch accepts the type.
    """
    branches = error.validator_value
    kind = _kind(error.instance)
    meant = [
        i for i, b in enumerate(branches) if (_branch_kinds(b) is None or kind in _branch_kinds(b))
    ]
    if not meant:
        return None
    counts = {i: 0 for i in meant}
    for sub in error.context:
        if sub.relative_schema_path and sub.relative_schema_path[0] in counts:
            counts[sub.relative_schema_path[0]] += 1
    return min(meant, key=lambda i: (counts[i], i))


def _alternatives(error: jsonschema.ValidationError) -> str:
    """Why a value fails a oneOf / anyOf: the meant branch's violations, then the other forms.

    ``0`` for ``eps: {oneOf: [null, number > 0]}`` gives ``"it must be > 0
    (exclusiveMinimum 0), or else null"``; a value of a type no branch takes gives
    ``"expected null or a number > 0"``.
    """
    branches = error.validator_value
    i = _meant_branch(error)
    if i is None:
        return "expected " + " or ".join(_summary(b) for b in branches)
    subs = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == i]
    reasons = "; ".join(_constraint(e) for e in subs) or f"it is not {_summary(branches[i])}"
    others = [_summary(b) for j, b in enumerate(branches) if j != i]
    return reasons + (f", or else {' or '.join(others)}" if others else "")


#: Violations of a bound, in words (``{val}`` the keyword's value, ``{s}`` a plural s).
_BOUND_WORDS = {
    "minimum": "must be >= {val}",
    "exclusiveMinimum": "must be > {val}",
    "maximum": "must be <= {val}",
    "exclusiveMaximum": "must be < {val}",
    "multipleOf": "must be a multiple of {val}",
    "minItems": "must have at least {val} item{s}",
    "maxItems": "must have at most {val} item{s}",
    "uniqueItems": "must not repeat an item",
    "minLength": "must have at least {val} character{s}",
    "maxLength": "must have at most {val} character{s}",
    "pattern": "must match the pattern {val!r}",
}


def _constraint(error: jsonschema.ValidationError) -> str:
    """One violation in words, naming the schema keyword and its value.

    The subject is ``it`` (the key's value) or the part of it that fails (``'mean'``,
    ``item 0``), relative to the oneOf / anyOf value.
    """
    path = list(error.relative_path)
    subject = (
        "it"
        if not path
        else ", ".join(f"item {p}" if isinstance(p, int) else repr(p) for p in path)
        + f" = {error.instance!r}"
    )
    v, val = error.validator, error.validator_value
    if v in _BOUND_WORDS:
        plural = "s" if v in ("minItems", "maxItems", "minLength") and val != 1 else ""
        words = _BOUND_WORDS[v].format(val=val, s=plural)
        return f"{subject} {words}" + ("" if v == "pattern" else f" ({v} {val!r})")
    if v == "const":
        return f"{subject} must be {val!r}"
    if v == "type":
        return f"{subject} must be {_type_words(val)}"
    if v == "enum":
        hint = _did_you_mean(error.instance, val)
        return f"{subject} must be one of {val}" + (f" ({hint})" if hint else "")
    if v == "required":
        missing = [k for k in val if isinstance(error.instance, dict) and k not in error.instance]
        return f"{subject} needs the key(s) {missing} (required {val})"
    if v == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extras = sorted(set(error.instance) - set(allowed))
        return f"{subject} has unknown key(s) {extras}; allowed: {allowed}"
    if v in ("oneOf", "anyOf") and error.context:
        return f"{subject}: {_alternatives(error)}"
    return f"{subject}: {error.message}"


def _type_words(types: Any) -> str:
    """``"number"`` -> ``"a number"``; ``["string", "null"]`` -> ``"a string or null"``."""
    names = {
        "null": "null",
        "boolean": "true or false",
        "integer": "an integer",
        "number": "a number",
        "string": "a string",
        "array": "a list",
        "object": "a mapping",
    }
    types = types if isinstance(types, list) else [types]
    return " or ".join(names.get(t, t) for t in types)


def _summary(branch: dict) -> str:
    """A oneOf / anyOf branch in a few words: ``null``, ``a number > 0``, ``'all'``, ..."""
    if "const" in branch:
        return repr(branch["const"])
    if "enum" in branch:
        return f"one of {branch['enum']}"
    kinds = branch.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    if kinds == ["null"]:
        return "null"
    if set(kinds) <= {"number", "integer"} and kinds:
        bounds = [
            f"{op} {branch[k]}"
            for k, op in (
                ("minimum", ">="),
                ("exclusiveMinimum", ">"),
                ("maximum", "<="),
                ("exclusiveMaximum", "<"),
            )
            if k in branch
        ]
        return " ".join([_type_words(kinds[0]), " and ".join(bounds)]).strip()
    if kinds == ["array"] or "items" in branch:
        n = branch.get("minItems")
        return "a list" + (f" of at least {n} item{'s' if n != 1 else ''}" if n else "")
    if kinds == ["object"] or "properties" in branch:
        keys = branch.get("required")
        return "a mapping" + (f" with the keys {', '.join(keys)}" if keys else "")
    if "pattern" in branch:
        return f"a string matching {branch['pattern']!r}"
    return _type_words(kinds) if kinds else "another form"


def _did_you_mean(value: Any, allowed: Any) -> str:
    """``"did you mean 'cifar10'?"`` for a string close to one allowed value, else ``""``."""
    if not isinstance(value, str):
        return ""
    names = [a for a in allowed if isinstance(a, str)]
    hint = difflib.get_close_matches(value, names, n=1)
    return f"did you mean {hint[0]!r}?" if hint else ""


def validate_config(config: dict, schema: dict | None = None, *, check_data: bool = False) -> dict:
    """Validate ``config`` against the schema and fill in defaults.

    Parameters
    ----------
    config : dict
        Parsed configuration (for example Snakemake's ``config``). Modified in place.
    schema : dict, optional
        Schema to use; defaults to :data:`SCHEMA_PATH`.
    check_data : bool, default False
        Also check the config against the dataset, reading no image (the workflow's
        start-up does, so that no job starts on a request the data cannot meet):
        ``activations.n_images`` within its split (the built-in datasets' known sizes,
        an image folder's counted files), and an image folder's layout (two or more
        class folders, the same in both splits, none empty). Off by default: a config
        that only supplies some sections (a stage's ``dataset``) is still valid as a
        config.

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
    _check_semantics(config, check_data)
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


def _check_semantics(config: dict, check_data: bool = False) -> None:
    """Cross-key checks that a JSON schema cannot express (and the data's, see ``check_data``)."""
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
    if check_data:
        problems += _dataset_problems(config)
    if not problems:  # the layers can only be resolved for a valid network
        problems += _layer_problems(config)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))


def _dataset_problems(config: dict) -> list[str]:
    """The dataset holds what the config asks of it (``validate_config(check_data=True)``).

    The split sizes come from :func:`cnntopo.nets.datasets.class_counts`, which reads no
    image: the built-in datasets have fixed sizes, an image folder's class folders are
    listed. ``activations.n_images`` may not exceed its split; an image folder needs two
    or more class folders, the same in both splits, each with images. An image folder
    root that does not exist (yet) is left to the data check of the run
    (:func:`cnntopo.nets.datasets.check_available`, with how to get the data); the
    built-in datasets need no files here.
    """
    from cnntopo.nets.datasets import class_counts

    ds = config["dataset"]
    name, root = ds["name"], ds["root"]
    if name == "imagefolder" and not Path(root).expanduser().is_dir():
        return []
    splits = {"train", config["activations"]["split"]}
    if config["mapper"]["enabled"]:
        splits.add(config["mapper"]["images"]["split"])
    try:
        sizes = {split: sum(class_counts(name, split, root).values()) for split in sorted(splits)}
    except (ValueError, FileNotFoundError) as err:  # the image folder's layout
        return [f"config key 'dataset.root': {err}"]
    split, n_images = config["activations"]["split"], config["activations"]["n_images"]
    if n_images <= sizes[split]:
        return []
    other = "test" if split == "train" else "train"
    if other not in sizes:
        sizes[other] = sum(class_counts(name, other, root).values())
    fix = (
        f" or use activations.split: {other} ({sizes[other]} images)"
        if sizes[other] >= n_images
        else ""
    )
    return [
        f"config key 'activations.n_images' = {n_images} exceeds the {sizes[split]} images of "
        f"the {name} {split} split (activations.split); lower it to at most {sizes[split]}{fix}"
    ]


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
