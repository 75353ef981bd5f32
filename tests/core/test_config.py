"""Config schema: defaults, unknown keys, wrong types, and the shipped configs."""

from __future__ import annotations

import copy

import pytest
import yaml

from cnntopo.config import ConfigError, config_hash, load_config, load_schema, validate_config


def _walk_objects(schema, path="<root>"):
    if schema.get("type") == "object" or "properties" in schema:
        yield path, schema
        for key, sub in schema.get("properties", {}).items():
            yield from _walk_objects(sub, f"{path}.{key}")
    for sub in schema.get("oneOf", []):
        yield from _walk_objects(sub, path)


def test_every_object_forbids_unknown_keys_and_every_key_has_a_default():
    schema = load_schema()
    for path, node in _walk_objects(schema):
        extra = node.get("additionalProperties")
        if "propertyNames" in node:
            # a map (sweep, per-layer settings): free keys, but a constrained key pattern
            # and a schema for every value
            assert isinstance(extra, dict) and extra, f"{path} must type its values"
            continue
        assert extra is False, f"{path} must set additionalProperties: false"
        if path == "<root>" or "required" in node:
            continue
        for key, sub in node.get("properties", {}).items():
            assert "default" in sub, f"{path}.{key} has no default"


def test_defaults_are_filled_recursively():
    cfg = validate_config({})
    assert cfg["model"]["width"] == 64
    assert cfg["training"]["epochs"] == 24 and cfg["training"]["lr"] == 1.0
    assert cfg["persistence"]["coeff"] == 2 and cfg["distances"]["M"] == 50
    assert cfg["activations"]["n_images"] == 1000 and cfg["activations"]["layers"] == "all"
    # a default never overrides a given value
    cfg = validate_config({"training": {"epochs": 6}})
    assert cfg["training"]["epochs"] == 6 and cfg["training"]["batch_size"] == 1024


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (
            {"training": {"epoch": 3}},
            r"unknown config key 'training\.epoch': did you mean 'epochs'",
        ),
        ({"persistance": {}}, r"unknown config key 'persistance': did you mean 'persistence'"),
        ({"model": {"width": "wide"}}, r"'model\.width': 'wide' is not of type 'integer'"),
        ({"model": {"width": 18}}, r"'model\.width': 18 is not a multiple of 4"),
        ({"dataset": {"name": "mnist"}}, r"'dataset\.name': 'mnist' is not one of"),
        ({"persistence": {"backend": "gudhi"}}, r"'persistence\.backend'"),
        ({"model": {"seeds": [1, 1]}}, r"'model\.seeds'"),
        ({"activations": {"layers": ["conv1"]}}, r"'activations\.layers'"),
        ({"model": {"checkpoint": "weights.pt", "seeds": [0, 1]}}, r"must contain '\{seed\}'"),
        ({"distances": {"dim": 2}}, r"'distances\.dim' = 2 exceeds 'persistence\.maxdim' = 1"),
        ({"model": {"width": 4}}, r"'sensitivity\.step' = 4 must be smaller"),
        ({"sensitivity": {"seeds": [3]}}, r"'sensitivity\.seeds': seeds \[3\] are not in"),
        (
            {"similarity": {"cka": True}},
            r"'similarity\.cka' was replaced by 'similarity\.measures'.*measures: \[cka_linear\]",
        ),
        (
            {"similarity": {"diagram_distances": ["bottleneck_H2"]}},
            r"'similarity\.diagram_distances': \['bottleneck_H2'\] exceed 'persistence\.maxdim'",
        ),
        ({"similarity": {"measures": ["cka"]}}, r"'similarity\.measures\.0'"),
    ],
)
def test_bad_configs_name_the_key(bad, match):
    with pytest.raises(ConfigError, match=match):
        validate_config(copy.deepcopy(bad))


def test_all_problems_reported_at_once():
    with pytest.raises(ConfigError) as err:
        validate_config({"training": {"epoch": 1}, "model": {"width": "x"}})
    assert "training.epoch" in str(err.value) and "model.width" in str(err.value)


SHIPPED = {
    "config.yaml": "demo",
    "tiny.yaml": "tiny",
    "paper.yaml": "paper",
    "sweep.yaml": "sweep",
    "kornblith.yaml": "kornblith",
    "kornblith_rtd.yaml": "kornblith_rtd",  # an overlay of kornblith.yaml
    "imagenet10.yaml": "imagenet10",
}


def test_every_shipped_config_is_listed(repo):
    assert sorted(p.name for p in (repo / "config").glob("*.yaml")) == sorted(SHIPPED)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_configs_are_valid(repo, name):
    cfg = load_config(repo / "config" / name)
    assert cfg["experiment"] == SHIPPED[name]


def test_kornblith_config_is_their_setting(repo):
    """Tiny-10 at their widths, 10 seeds, the whole training set (what reaches >= 90 %)."""
    cfg = load_config(repo / "config" / "kornblith.yaml")
    assert (cfg["model"]["arch"], cfg["model"]["width"]) == ("tiny10", 16)
    assert cfg["model"]["seeds"] == list(range(10))
    assert cfg["training"]["max_train_images"] is None and cfg["training"]["epochs"] >= 10
    assert {"cka_linear", "procrustes"} <= set(cfg["similarity"]["measures"])
    assert "flat" in cfg["similarity"]["representations"]


def test_paper_config_matches_the_paper(repo):
    cfg = load_config(repo / "config" / "paper.yaml")
    assert cfg["dataset"]["name"] == "cifar10"
    assert cfg["model"]["seeds"] == list(range(100)) and cfg["model"]["width"] == 64
    t = cfg["training"]
    assert (t["epochs"], t["batch_size"], t["lr"], t["momentum"], t["weight_decay"]) == (
        24,
        1024,
        1.0,
        0.9,
        5e-4,
    )
    assert (t["schedule"], t["lr_peak_epoch"], t["translate"], t["cutout"], t["flip"]) == (
        "triangular",
        5,
        2,
        8,
        True,
    )
    assert cfg["activations"]["n_images"] == 1000 and cfg["activations"]["split"] == "test"
    assert (cfg["persistence"]["maxdim"], cfg["persistence"]["coeff"]) == (1, 2)
    assert (cfg["distances"]["metric"], cfg["distances"]["dim"], cfg["distances"]["M"]) == (
        "sliced_wasserstein",
        1,
        50,
    )


def test_config_readme_documents_every_key(repo):
    readme = (repo / "config" / "README.md").read_text()
    schema = load_schema()

    def keys(node, prefix=""):
        for k, sub in node.get("properties", {}).items():
            yield prefix + k
            yield from keys(sub, prefix + k + ".")
            for alt in sub.get("oneOf", []):
                yield from keys(alt, prefix + k + ".")

    missing = [k for k in keys(schema) if f"`{k}`" not in readme]
    assert not missing, f"config/README.md does not document: {missing}"


def test_config_hash_is_stable_and_sensitive():
    a = validate_config({})
    b = validate_config(yaml.safe_load(yaml.safe_dump(a)))
    assert config_hash(a) == config_hash(b)
    b["training"]["epochs"] = 23
    assert config_hash(a) != config_hash(b)
