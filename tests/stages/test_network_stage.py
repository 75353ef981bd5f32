"""The one network stage: both branches' recipes, and what make_network records."""

from __future__ import annotations

import pytest
import torch

from cnntopo import artifacts
from cnntopo.config import config_hash, validate_config
from cnntopo.nets.models import init_model, save_state_dict
from cnntopo.stages.mapper.model import mapper_recipe
from cnntopo.stages.nets.models import NetworkRecipe, make_network, ph_recipe

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cfg():
    return validate_config(
        {
            "dataset": {"name": "digits"},
            "model": {"width": 4, "seeds": [0]},
            "sensitivity": {"step": 2},
        }
    )


def test_ph_train_recipe_keeps_the_settings_hash(cfg):
    m, t = cfg["model"], cfg["training"]
    recipe = ph_recipe(
        seed=2, dataset=cfg["dataset"], arch=m["arch"], width=4, kwargs={}, training=t
    )
    assert recipe.trains and recipe.source == "trained" and recipe.device == t["device"]
    # the settings hashed before the stage was shared (config_hash of the job's params)
    planted = {
        "dataset": cfg["dataset"],
        "arch": m["arch"],
        "width": 4,
        "kwargs": {},
        "training": t,
    }
    assert config_hash(dict(recipe.settings)) == config_hash(planted)
    assert recipe.training["mixed_precision"] in ("auto", "off")
    assert recipe.recorded_training is t


def test_a_recipe_trains_or_imports_not_both(cfg):
    base = {"arch": "resnet18_cifar", "width": 4, "dataset": cfg["dataset"], "seed": 0}
    base |= {"device": "cpu", "settings": {}}
    with pytest.raises(ValueError, match="trained or imported, not both"):
        NetworkRecipe(**base, training={"epochs": 1}, checkpoint="w.pt")
    with pytest.raises(ValueError, match="mapper.model.checkpoint"):
        NetworkRecipe(**base, section="mapper.model")


def test_both_branches_import_through_the_one_stage(tmp_path, cfg):
    """The same weights imported by the PH and the Mapper recipe: same evaluation."""
    model = init_model("resnet18_mapper", 4, 10, seed=1)
    save_state_dict(model, tmp_path / "w.pt")
    ph = ph_recipe(
        seed=1,
        dataset=cfg["dataset"],
        arch="resnet18_mapper",
        width=4,
        checkpoint=tmp_path / "w.pt",
        device="cpu",
        eval_batch_size=1000,
        tta="none",
    )
    mp = mapper_recipe(
        dataset=cfg["dataset"], width=4, seed=1, checkpoint=tmp_path / "w.pt", device="cpu"
    )
    a = make_network(ph, tmp_path / "a.pt", tmp_path / "a.json", threads=1)
    b = make_network(mp, tmp_path / "b.pt", tmp_path / "b.json", threads=1)
    assert a["test_accuracy"] == b["test_accuracy"] and a["test_loss"] == b["test_loss"]
    assert a["source"] == b["source"] == str(tmp_path / "w.pt")
    assert a["config_hash"] != b["config_hash"]  # each branch hashes its own settings
    assert artifacts.read_json(tmp_path / "b.json")["epochs"] is None
    saved = torch.load(tmp_path / "b.pt", weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())


def test_a_missing_checkpoint_names_the_config_key(tmp_path, cfg):
    recipe = mapper_recipe(
        dataset=cfg["dataset"], width=4, seed=0, checkpoint=tmp_path / "none.pt", device="cpu"
    )
    with pytest.raises(FileNotFoundError, match="'mapper.model.checkpoint'"):
        make_network(recipe, tmp_path / "w.pt", tmp_path / "m.json", threads=1)
