"""The registry of built-in networks, the arch names derived from it, and the one layer_shapes."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from cnntopo.nets import models
from cnntopo.nets.arch import check_arch
from cnntopo.nets.discovery import default_layers, describe_modules
from cnntopo.nets.layers import layer_shapes
from cnntopo.nets.registry import REGISTRY, build_builtin, builtin_archs, static_module_table

torch.set_num_threads(1)


def test_arch_names_derive_from_the_registry():
    assert builtin_archs() == tuple(REGISTRY)
    assert models.ARCHITECTURES == builtin_archs() == tuple(models.BUILTINS)
    for name in builtin_archs():
        assert check_arch(name).kind == "builtin"
    with pytest.raises(ValueError, match="resnet18_cifar, resnet18_mapper, plain_cnn, tiny10"):
        check_arch("resnet19_cifar")


@pytest.mark.parametrize("name", builtin_archs())
def test_every_builtin_builds_and_classifies(name):
    torch.manual_seed(0)
    model = build_builtin(name, width=4, num_classes=3)
    assert isinstance(model, torch.nn.Module) and model.training
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
    assert type(models.BUILTINS[name](4, 3)) is type(model)


@pytest.mark.parametrize("name", [n for n, net in REGISTRY.items() if net.table])
@pytest.mark.parametrize(("width", "size", "classes"), [(4, 32, 10), (8, 24, 5)])
def test_static_tables_are_the_built_networks(name, width, size, classes):
    model = models.init_model(name, width=width, num_classes=classes, seed=0)
    measured = {"modules": describe_modules(model, size), "default": default_layers(name, model)}
    assert static_module_table(name, width, size, classes) == measured


def test_a_network_without_static_table_has_none():
    assert REGISTRY["resnet18_mapper"].table is None
    assert static_module_table("resnet18_mapper", 4, 32, 10) is None
    with pytest.raises(ValueError, match="unknown model arch 'nope'"):
        static_module_table("nope", 4, 32, 10)


def test_mapper_network_refuses_option_a():
    with pytest.raises(ValueError, match="option-B shortcuts only"):
        models.build_model("resnet18_mapper", 4, shortcut="A")
    assert models.build_model("resnet18_mapper", 4, shortcut="B").layer1 is not None


@pytest.mark.parametrize(("width", "size"), [(4, 32), (6, 16)])
def test_one_layer_shapes_for_names_and_networks(width, size):
    """By arch name (static table, no torch) and by built network (measured): the same."""
    model = models.build_model("resnet18_cifar", width)
    by_name = layer_shapes("resnet18_cifar", width, size)
    assert by_name == layer_shapes(model, image_size=size) == models.layer_shapes(model, 99, size)
    assert list(by_name) == models.conv_layer_names(model)
    assert by_name["block_seq.3.1.conv2"] == (8 * width, size // 8, size // 8)
    picked = layer_shapes(model, image_size=size, layers=["linear", "bn1"])
    assert picked == {"linear": (10,), "bn1": (width, size, size)}
    with pytest.raises(ValueError, match="not modules of the network"):
        layer_shapes("resnet18_cifar", width, size, layers=["block_seq.9"])


def test_layer_api_stays_torch_free():
    code = (
        "import sys, cnntopo.nets.layers as L; L.layer_shapes('plain_cnn', 4);"
        " L.layer_shapes('resnet18_cifar', 4); L.check_arch('tiny10');"
        " print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
