"""Mapper-branch stage helpers: cloud and setting names, the network's config view."""

from __future__ import annotations

import pytest

from cnntopo.config import validate_config
from cnntopo.names import format_setting, parse_cloud, parse_setting
from cnntopo.nets.training import TrainRecipe
from cnntopo.stages.mapper.model import mapper_view


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [
        ("random", {"method": "random", "topk": 1, "sigma": 0.0, "base": "random"}),
        ("full", {"method": "full", "topk": 1, "sigma": 0.0, "base": "full"}),
        ("fg5", {"method": "foreground", "topk": 5, "sigma": 0.0, "base": "fg5"}),
        ("bg1", {"method": "background", "topk": 1, "sigma": 0.0, "base": "bg1"}),
        ("full-noise0.25", {"method": "full", "topk": 1, "sigma": 0.25, "base": "full"}),
    ],
)
def test_parse_cloud(cloud, expected):
    assert parse_cloud(cloud) == expected


@pytest.mark.parametrize("bad", ["fg2", "full-noise", "topl2", "random-noiseX"])
def test_parse_cloud_rejects_unknown(bad):
    with pytest.raises(ValueError, match="unknown point cloud"):
        parse_cloud(bad)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((40, 30, None), "intervals~40_overlap~30_eps~knee"),
        ((40, 25.0, 8.5), "intervals~40_overlap~25_eps~8.5"),
        ((10, 12.5, 0.125), "intervals~10_overlap~12.5_eps~0.125"),
    ],
)
def test_setting_names_round_trip(args, name):
    assert format_setting(*args) == name
    back = parse_setting(name)
    assert (back["intervals"], back["overlap"], back["eps"]) == (
        args[0],
        float(args[1]),
        None if args[2] is None else float(args[2]),
    )


def test_parse_setting_rejects_malformed():
    with pytest.raises(ValueError, match="malformed Mapper setting"):
        parse_setting("n40_p30")


def test_mapper_view_is_a_valid_recipe_of_the_mapper_network():
    cfg = validate_config({"mapper": {"model": {"width": 8, "seed": 3}}})
    view = mapper_view(cfg)
    assert view["model"] == {
        "arch": "resnet18_mapper",
        "width": 8,
        "seeds": [3],
        "checkpoint": None,
    }
    t = dict(view["training"])
    t.pop("device")
    t["mixed_precision"] = "off"
    t["channels_last"] = "off"
    recipe = TrainRecipe.from_dict(t)
    # the paper's Catalyst recipe (paper-methods 1.4)
    assert (recipe.epochs, recipe.batch_size, recipe.lr, recipe.schedule) == (
        350,
        128,
        0.1,
        "multistep",
    )
    assert recipe.milestones == (150, 250) and recipe.keep == "best_loss"
    assert recipe.translate == 4 and recipe.cutout == 0 and recipe.tta == "none"
    # the PH sections are untouched
    assert cfg["model"]["arch"] == "resnet18_cifar"
