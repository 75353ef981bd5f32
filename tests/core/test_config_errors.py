"""Config errors say the real violation: oneOf / anyOf keys, enums, and the dataset's sizes.

Every oneOf / anyOf key of the schema has a bad value here (a test checks that none is
missing); each message must name the key and the constraint of the branch the value was
meant for, not the shortest message of any branch (``0 is not of type 'null'``).
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from PIL import Image

from cnntopo.config import ConfigError, load_schema, validate_config
from cnntopo.nets.datasets import check_available, class_counts, load_dataset, split_size


def _choice_keys(node, path=()):
    """Dotted paths of every oneOf / anyOf node (``<i>`` = a list item, ``*`` = a map key)."""
    if not isinstance(node, dict):
        return
    if "oneOf" in node or "anyOf" in node:
        yield ".".join(path)
    for key, sub in node.get("properties", {}).items():
        yield from _choice_keys(sub, (*path, key))
    if isinstance(node.get("items"), dict):
        yield from _choice_keys(node["items"], (*path, "<i>"))
    if isinstance(node.get("additionalProperties"), dict):
        yield from _choice_keys(node["additionalProperties"], (*path, "*"))
    for branch in node.get("oneOf", []) + node.get("anyOf", []):
        yield from _choice_keys(branch, path)


def _nest(dotted: str, value):
    """``"a.b"``, 1 -> ``{"a": {"b": 1}}``."""
    for key in reversed(dotted.split(".")):
        value = {key: value}
    return value


_PER_LAYER = "mapper.graph.per_layer"
_FULL_LAYER1 = {"full": {"layer1": {"intervals": 10, "overlap": 30, "eps": -1}}}

#: schema path -> (the config, the key named in the message, what the message must say)
CASES = {
    "cycles.representations": (
        _nest("cycles.representations", ["flat2"]),
        "cycles.representations",
        r"item 0 = 'flat2' must be one of \['topl2', 'flat', 'pool'\] \(did you mean 'flat'\?\), "
        r"or else null",
    ),
    "dataset.normalization": (
        _nest("dataset.normalization", {"mean": [0.5]}),
        "dataset.normalization",
        r"needs the key\(s\) \['std'\].*'mean' = \[0\.5\] must have at least 3 items "
        r"\(minItems 3\), or else null",
    ),
    "model.arch": (
        _nest("model.arch", "resnet99"),
        "model.arch",
        r"'resnet99' is not valid; valid: resnet18_cifar .* torchvision:<builder>",
    ),
    "activations.layers": (
        _nest("activations.layers", []),
        "activations.layers",
        r"\[\] is not valid: it must have at least 1 item \(minItems 1\), or else 'all'; "
        r"the list must select at least two layers",
    ),
    "distances.internal_p": (
        _nest("distances.internal_p", 0.5),
        "distances.internal_p",
        r"0\.5 is not valid: it must be >= 1 \(minimum 1\), or else 'inf'",
    ),
    "sensitivity.seeds": (
        _nest("sensitivity.seeds", []),
        "sensitivity.seeds",
        r"it must have at least 1 item \(minItems 1\), or else 'first'",
    ),
    "similarity.measures.<i>": (
        _nest("similarity.measures", ["cka"]),
        "similarity.measures.0",
        r"'cka' is not valid; expected one of \['cka_linear', .*python:<file\.py>:<function>",
    ),
    "mapper.model.arch": (
        _nest("mapper.model.arch", "resnet99"),
        "mapper.model.arch",
        r"'resnet99' is not valid; valid: resnet18_mapper",
    ),
    "mapper.constructions.<i>": (
        _nest("mapper.constructions", ["fg2"]),
        "mapper.constructions.0",
        r"'fg2' is not valid; expected one of \['random', 'full', 'fg1', 'fg5', 'bg1', 'bg5'\]",
    ),
    "mapper.layers": (
        _nest("mapper.layers", []),
        "mapper.layers",
        r"it must have at least 1 item \(minItems 1\), or else 'all'",
    ),
    "mapper.graph.eps.<i>": (
        _nest("mapper.graph.eps", [0]),
        "mapper.graph.eps.0",
        r"0 is not valid: it must be > 0 \(exclusiveMinimum 0\), or else null",
    ),
    f"{_PER_LAYER}.*.*.eps": (
        _nest(_PER_LAYER, _FULL_LAYER1),
        f"{_PER_LAYER}.full.layer1.eps",
        r"-1 is not valid: it must be > 0 \(exclusiveMinimum 0\), or else null",
    ),
}


def _message(config) -> str:
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(config))
    return str(err.value)


def test_every_choice_key_of_the_schema_has_a_case():
    assert sorted(set(_choice_keys(load_schema()))) == sorted(CASES)


@pytest.mark.parametrize("path", sorted(CASES))
def test_a_choice_key_names_the_key_and_the_real_constraint(path):
    config, key, expected = CASES[path]
    message = _message(config)
    assert f"config key '{key}'" in message, message
    assert re.search(expected, message), message
    assert "is not of type 'null'" not in message and "was expected" not in message


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # a type that no branch takes: every form is named
        (
            _nest("mapper.graph.eps", ["knee"]),
            r"'knee' is not valid: expected null or a number > 0",
        ),
        (
            _nest("dataset.normalization", "imagenet"),
            r"expected null or a mapping with the keys mean, std",
        ),
        # a string is meant for the const branch
        (_nest("activations.layers", "some"), r"it must be 'all', or else a list of at least 1"),
        (_nest("distances.internal_p", "infinity"), r"it must be 'inf', or else a number >= 1"),
        # the violation inside the list branch, with the item
        (_nest("sensitivity.seeds", [2, -1]), r"item 1 = -1 must be >= 0 \(minimum 0\)"),
        (_nest("sensitivity.seeds", [1, 1]), r"it must not repeat an item \(uniqueItems"),
        (_nest("activations.layers", ["conv 1"]), r"item 0 = 'conv 1' must match the pattern"),
        (
            _nest("dataset.normalization", {"mean": [0, 0, 0], "std": [1, 1, 1], "x": 1}),
            r"it has unknown key\(s\) \['x'\]; allowed: \['mean', 'std'\]",
        ),
        # a boolean is none of the forms (YAML's true is no number)
        (
            _nest("distances.internal_p", True),
            r"True is not valid: expected a number >= 1 or 'inf'",
        ),
    ],
)
def test_the_meant_branch_is_the_one_of_the_values_type(config, expected):
    assert re.search(expected, _message(config)), _message(config)


@pytest.mark.parametrize(
    ("config", "key", "suggestion"),
    [
        (_nest("dataset.name", "cifar100"), "dataset.name", "cifar10"),
        (_nest("persistence.backend", "giota"), "persistence.backend", "giotto"),
        (_nest("distances.metric", "wasserstien"), "distances.metric", "wasserstein"),
    ],
)
def test_a_wrong_enum_value_lists_the_allowed_values_and_the_closest(config, key, suggestion):
    message = _message(config)
    allowed = load_schema()
    for part in key.split("."):
        allowed = allowed["properties"][part]
    assert f"config key '{key}'" in message
    assert str(allowed["enum"]) in message  # every allowed value
    assert f"did you mean '{suggestion}'?" in message


def test_a_far_enum_value_gets_no_suggestion():
    message = _message(_nest("dataset.name", "zzzz"))
    assert "is not one of ['cifar10'" in message and "did you mean" not in message


# ---------------------------------------------------------------------------
# the dataset's sizes, before any job (validate_config(check_data=True))
# ---------------------------------------------------------------------------


def _data_message(config) -> str:
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(config), check_data=True)
    return str(err.value)


def test_n_images_beyond_the_digits_split_is_an_error_before_any_job():
    config = {"dataset": {"name": "digits"}, "activations": {"n_images": 5000}}
    message = _data_message(config)
    assert "config key 'activations.n_images' = 5000 exceeds the 450 images" in message
    assert "digits test split" in message and "at most 450" in message
    assert "activations.split: train" not in message  # 1,347 would not do either
    validate_config(copy.deepcopy(config))  # a config check only: the data are not asked


def test_the_other_split_is_suggested_where_it_is_big_enough():
    message = _data_message({"dataset": {"name": "digits"}, "activations": {"n_images": 1000}})
    assert "lower it to at most 450 or use activations.split: train (1347 images)" in message
    ok = {"dataset": {"name": "digits"}, "activations": {"n_images": 1000, "split": "train"}}
    validate_config(ok, check_data=True)


@pytest.mark.parametrize(
    ("name", "split", "size"),
    [("digits", "train", 1347), ("fashion-mnist", "test", 10000), ("cifar10", "test", 10000)],
)
def test_the_known_sizes_need_no_files(name, split, size, tmp_path):
    assert split_size(name, split, root=str(tmp_path / "nothing")) == size
    config = {
        "dataset": {"name": name, "root": str(tmp_path / "nothing")},
        "activations": {"n_images": size + 1, "split": split},
    }
    assert f"exceeds the {size} images of the {name} {split} split" in _data_message(config)
    config["activations"]["n_images"] = size
    validate_config(config, check_data=True)


def _write_folder(root, per_split):
    """``{"train": {"cat": 3}, ...}`` -> that many 4x4 PNGs per class folder."""
    for split, classes in per_split.items():
        for cls, n in classes.items():
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(np.full((4, 4, 3), 10 * i, np.uint8)).save(
                    root / split / cls / f"{i}.png"
                )
    return root


def _folder_config(root, n_images):
    return {
        "dataset": {"name": "imagefolder", "root": str(root)},
        "activations": {"n_images": n_images},
    }


def test_an_image_folder_is_counted_not_read(tmp_path):
    root = _write_folder(
        tmp_path / "imgs", {"train": {"cat": 3, "dog": 4}, "test": {"cat": 2, "dog": 3}}
    )
    (root / "test" / "dog" / "readme.txt").write_text("not an image")
    assert class_counts("imagefolder", "test", root=str(root)) == {"cat": 2, "dog": 3}
    assert split_size("imagefolder", "test", str(root)) == len(
        load_dataset("imagefolder", "test", str(root))
    )
    message = _data_message(_folder_config(root, 6))
    assert (
        "'activations.n_images' = 6 exceeds the 5 images of the imagefolder test split" in message
    )
    assert "or use activations.split: train (7 images)" in message
    validate_config(_folder_config(root, 5), check_data=True)


def test_an_image_folder_of_one_class_is_an_error(tmp_path):
    root = _write_folder(tmp_path / "imgs", {"train": {"cat": 3}, "test": {"cat": 2}})
    message = _data_message(_folder_config(root, 2))
    assert "config key 'dataset.root'" in message and "at least two classes" in message
    assert "1 class folder (['cat'])" in message
    with pytest.raises(ValueError, match="at least two classes"):
        check_available("imagefolder", root=str(root))  # the run's data check
    with pytest.raises(ValueError, match="at least two classes"):
        load_dataset("imagefolder", "train", root=str(root))  # and the job's loader


def test_image_folder_layout_errors_are_config_errors(tmp_path):
    root = _write_folder(tmp_path / "imgs", {"train": {"cat": 2, "dog": 2}, "test": {"cat": 1}})
    (root / "test" / "bird").mkdir()
    message = _data_message(_folder_config(root, 2))
    assert "config key 'dataset.root'" in message and "same class folders" in message


def test_a_missing_image_folder_is_left_to_the_runs_data_check(tmp_path):
    validate_config(_folder_config(tmp_path / "not-yet", 2), check_data=True)
