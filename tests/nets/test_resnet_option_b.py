"""The mapper ResNet-18: naming, shapes, capture semantics, layer selection, best-epoch keeping."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.nets.activations import capture
from cnntopo.nets.datasets import ImageSet
from cnntopo.nets.layers_option_b import (
    FGBG_LAYERS,
    NOISE_LAYERS,
    PANEL_LAYERS,
    mapper_conv_name,
    mapper_layer_names,
    mapper_layer_shapes,
    resolve_mapper_layers,
)
from cnntopo.nets.models import (
    ARCHITECTURES,
    build_model,
    count_parameters,
    init_model,
    load_state_dict_compat,
)
from cnntopo.nets.resnet_option_b import MapperResNet18
from cnntopo.nets.training import TrainRecipe, train_model
from cnntopo.nets.transforms import Augment
from synthetic import randomized_mapper_net

torch.set_num_threads(1)


def randomized(width: int = 4, seed: int = 0) -> nn.Module:
    """The shared randomised Mapper network (eval mode, random BN statistics)."""
    return randomized_mapper_net(width, seed, 10)


def official_keys(width_blocks=((1, False), (2, True), (3, True), (4, True))) -> set[str]:
    """State-dict keys of the official kuangliu ResNet-18 (cifar_train.py)."""
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    keys = {"conv1.weight", "linear.weight", "linear.bias"} | {f"bn1.{k}" for k in bn}
    for stage, has_shortcut in width_blocks:
        for block in (0, 1):
            p = f"layer{stage}.{block}"
            keys |= {f"{p}.conv1.weight", f"{p}.conv2.weight"}
            keys |= {f"{p}.bn1.{k}" for k in bn} | {f"{p}.bn2.{k}" for k in bn}
            if has_shortcut and block == 0:
                keys |= {f"{p}.shortcut.0.weight"} | {f"{p}.shortcut.1.{k}" for k in bn}
    return keys


# --------------------------------------------------------------------------- network


def test_state_dict_keys_and_parameter_count_match_official():
    model = build_model("resnet18_mapper", width=64)
    assert set(model.state_dict()) == official_keys()
    assert count_parameters(model) == 11_173_962  # the well-known kuangliu ResNet-18 count
    assert isinstance(model.layer2[0].shortcut[0], nn.Conv2d)
    assert model.layer2[0].shortcut[0].stride == (2, 2)
    assert len(model.layer1[0].shortcut) == 0  # identity


def test_registered_arch_and_init_model():
    assert "resnet18_mapper" in ARCHITECTURES and "resnet18_cifar" in ARCHITECTURES
    a = init_model("resnet18_mapper", 8, 10, seed=1)
    b = init_model("resnet18_mapper", 8, 10, seed=1)
    c = init_model("resnet18_mapper", 8, 10, seed=2)
    assert isinstance(a, MapperResNet18) and a.conv1.out_channels == 8
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not torch.equal(a.conv1.weight, c.conv1.weight)
    assert build_model("resnet18_mapper", 4, shortcut="B").layer4[0].shortcut[0].out_channels == 32
    with pytest.raises(ValueError, match="option-B"):
        build_model("resnet18_mapper", 4, shortcut="A")
    with pytest.raises(ValueError, match="width"):
        build_model("resnet18_mapper", 0)
    # the PH network is unchanged by default
    assert not any("shortcut" in k for k in build_model("resnet18_cifar", 4).state_dict())


def test_catalyst_checkpoint_loads_and_ph_checkpoint_is_explained():
    src = randomized(4, seed=3)
    ckpt = {"model_state_dict": {f"module.{k}": v for k, v in src.state_dict().items()}}
    dst = load_state_dict_compat(build_model("resnet18_mapper", 4), ckpt)
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(dst.eval()(x), src(x))
    with pytest.raises(ValueError, match="PH network"):
        load_state_dict_compat(build_model("resnet18_mapper", 4), build_model("resnet18_cifar", 4))


@pytest.mark.parametrize("size", [32, 28, 24])
def test_layer_shapes_match_the_network(size):
    model = randomized(4)
    names = mapper_layer_names()
    with torch.no_grad(), capture(model, names) as store:
        logits = model(torch.zeros(1, 3, size, size))
    assert logits.shape == (1, 10)
    got = {name: tuple(store[name].shape[1:]) for name in names}
    assert got == mapper_layer_shapes(4, size)


def test_paper_shapes():
    shapes = mapper_layer_shapes()
    assert shapes["bn1"] == (64, 32, 32) and shapes["layer1.1.bn2"] == (64, 32, 32)
    assert shapes["layer2.0.bn1"] == (128, 16, 16) and shapes["layer3.1.bn2"] == (256, 8, 8)
    assert shapes["layer4.1.bn2"] == (512, 4, 4)
    assert sum(c * h * w for c, h, w in shapes.values()) == 557_056  # §7.6: floats per image


def test_head_is_the_official_avg_pool_for_32px():
    model = randomized(4)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        out = F.relu(model.bn1(model.conv1(x)))
        for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
            out = stage(out)
        ref = model.linear(F.avg_pool2d(out, 4, stride=1).view(3, -1))
        assert torch.allclose(model(x), ref, atol=1e-6)


def explicit_activations(model: MapperResNet18, x: torch.Tensor):
    """Hand-computed BN outputs: (reference semantics, clone semantics)."""
    ref, cloned = {}, {}
    s = model.bn1(model.conv1(x))
    ref["bn1"] = cloned["bn1"] = s.clone()
    a = F.relu(s)
    for stage in range(1, 5):
        for b, block in enumerate(getattr(model, f"layer{stage}")):
            p = f"layer{stage}.{b}"
            h1 = block.bn1(block.conv1(a))
            ref[f"{p}.bn1"] = cloned[f"{p}.bn1"] = h1.clone()
            o = block.bn2(block.conv2(F.relu(h1)))
            cloned[f"{p}.bn2"] = o.clone()
            o = o + block.shortcut(a)
            ref[f"{p}.bn2"] = o.clone()
            a = F.relu(o)
    logits = model.linear(F.avg_pool2d(a, a.shape[-1]).flatten(1))
    return ref, cloned, logits


def test_capture_semantics_match_explicit_computation():
    model = randomized(4, seed=5)
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    names = mapper_layer_names()
    with torch.no_grad():
        ref, cloned, logits = explicit_activations(model, x)
        with capture(model, names, clone=False) as by_ref:
            out = model(x)
        with capture(model, names, clone=True) as by_copy:
            model(x)
    assert torch.allclose(out, logits, atol=1e-5)
    assert len(names) == 17
    for name in names:
        assert torch.allclose(by_ref[name], ref[name], atol=1e-5), name
        assert torch.allclose(by_copy[name], cloned[name], atol=1e-5), name
        if name.endswith("bn2") and name != "bn1":
            # clone=True stores BN2 alone, which differs from BN2 + shortcut
            assert not torch.allclose(by_copy[name], by_ref[name], atol=1e-3), name
            assert (by_ref[name] < 0).any()  # pre-ReLU
        else:
            assert torch.equal(by_copy[name], by_ref[name]), name
            assert (by_ref[name] < 0).any()  # pre-ReLU BN output


# --------------------------------------------------------------------------- layer lists


def test_layer_names_and_constants():
    names = mapper_layer_names()
    model = build_model("resnet18_mapper", 4)
    official = [
        n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d) and "shortcut" not in n
    ]
    assert names == official
    assert names[0] == "bn1" and names[-1] == "layer4.1.bn2"
    assert list(FGBG_LAYERS) == [n for n in names if n in FGBG_LAYERS] and len(FGBG_LAYERS) == 6
    assert set(FGBG_LAYERS) == {
        "layer4.1.bn2",
        "layer4.1.bn1",
        "layer4.0.bn2",
        "layer3.1.bn2",
        "layer2.1.bn2",
        "layer1.1.bn2",
    }
    assert list(NOISE_LAYERS) == ["layer4.1.bn2"] and list(PANEL_LAYERS) == list(FGBG_LAYERS)
    assert mapper_conv_name("bn1") == "conv1"
    assert mapper_conv_name("layer3.1.bn2") == "layer3.1.conv2"
    with pytest.raises(ValueError):
        mapper_conv_name("layer3.1.conv2")


def test_resolve_mapper_layers():
    names = mapper_layer_names()
    assert resolve_mapper_layers("all") == names
    assert resolve_mapper_layers("layer4.*") == [n for n in names if n.startswith("layer4.")]
    assert resolve_mapper_layers(["layer4.1.bn2", "bn1", "layer4.1.bn2"]) == ["bn1", "layer4.1.bn2"]
    assert resolve_mapper_layers(["layer?.1.bn2"]) == [
        "layer1.1.bn2",
        "layer2.1.bn2",
        "layer3.1.bn2",
        "layer4.1.bn2",
    ]
    with pytest.raises(ValueError, match="valid names: bn1, layer1.0.bn1"):
        resolve_mapper_layers(["layer5.*"])
    with pytest.raises(ValueError, match="empty"):
        resolve_mapper_layers([])


def test_mapper_layers_does_not_import_torch():
    code = "import sys, cnntopo.nets.layers_option_b as m; m.mapper_layer_shapes(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- training support


def tiny_sets(n_train: int = 64, n_test: int = 32) -> tuple[ImageSet, ImageSet]:
    """Train: bright = 1, dark = 0; test: the same rule with *swapped* labels, so the test
    loss tends to grow while training makes progress (the best epoch is then not the last)."""
    rng = np.random.default_rng(0)

    def make(n, swap):
        labels = np.arange(n) % 2
        base = np.where(labels == 1, 156, 0).reshape(n, 1, 1, 1)
        images = (base + rng.integers(0, 100, size=(n, 8, 8, 3))).astype(np.uint8)
        return ImageSet(images, (1 - labels) if swap else labels, ["a", "b"], "synthetic", "x")

    return make(n_train, False), make(n_test, True)


def test_mapper_recipe_fields_and_validation():
    recipe = TrainRecipe(
        epochs=350,
        batch_size=128,
        lr=0.1,
        schedule="multistep",
        milestones=(150, 250),
        gamma=0.1,
        translate=4,
        cutout=0,
        drop_last=False,
        keep="best_loss",
    )
    assert recipe.to_dict()["keep"] == "best_loss"
    assert TrainRecipe().keep == "final"
    with pytest.raises(ValueError, match="keep"):
        TrainRecipe(keep="best_acc")


def test_keep_best_loss_restores_that_epochs_weights():
    train, test = tiny_sets()
    model = init_model("resnet18_mapper", 2, 2, seed=0)
    snapshots = []

    def log(_line):
        if len(snapshots) < 3:
            snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    recipe = TrainRecipe(
        epochs=3,
        batch_size=16,
        lr=0.05,
        schedule="constant",
        translate=0,
        cutout=0,
        keep="best_loss",
        eval_every=0,  # best_loss evaluates every epoch anyway
        eval_batch_size=64,
    )
    result = train_model(
        model, train, test, recipe, seed=0, mean=(0.5,) * 3, std=(0.25,) * 3, device="cpu", log=log
    )
    losses = [entry["test_loss"] for entry in result["history"]]
    assert all(loss is not None for loss in losses)
    kept = result["kept_epoch"]
    assert kept == int(np.argmin(losses)) + 1 and result["keep"] == "best_loss"
    assert result["test_loss"] == pytest.approx(min(losses))
    assert result["final_test_loss"] == pytest.approx(losses[-1])
    state = model.state_dict()
    assert all(torch.equal(state[k], snapshots[kept - 1][k]) for k in state)
    assert kept < 3  # the swapped-label test set makes a later epoch worse
    assert not all(torch.equal(state[k], snapshots[2][k]) for k in state)


def test_keep_final_is_unchanged_and_best_loss_needs_a_test_set():
    train, test = tiny_sets(32, 16)
    recipe = TrainRecipe(
        epochs=1, batch_size=16, lr=0.05, schedule="constant", translate=0, cutout=0, eval_every=0
    )
    model = init_model("resnet18_mapper", 2, 2, seed=0)
    result = train_model(
        model, train, test, recipe, seed=0, mean=(0.5,) * 3, std=(0.25,) * 3, log=None
    )
    assert result["kept_epoch"] == 1 and result["test_loss"] == result["final_test_loss"]
    with pytest.raises(ValueError, match="best_loss"):
        train_model(
            model,
            train,
            None,
            TrainRecipe(epochs=1, batch_size=16, schedule="constant", keep="best_loss"),
            seed=0,
            mean=(0.5,) * 3,
            std=(0.25,) * 3,
            log=None,
        )


def test_translate_4_is_random_crop_32_padding_4():
    """Augment(translate=4) = torchvision RandomCrop(32, padding=4): a crop of the zero-padded
    image at an offset uniform in {0..8}^2 (all 81 offsets occur)."""
    img = torch.rand(1, 3, 32, 32) + 0.1  # no zeros inside the image
    padded = F.pad(img, (4, 4, 4, 4))
    batch = img.expand(600, -1, -1, -1).contiguous()
    out = Augment(flip=False, translate=4, cutout=0)(batch, torch.Generator().manual_seed(0))
    seen = set()
    for k in range(out.shape[0]):
        match = [
            (dy, dx)
            for dy in range(9)
            for dx in range(9)
            if torch.equal(out[k], padded[0, :, dy : dy + 32, dx : dx + 32])
        ]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) == 81
