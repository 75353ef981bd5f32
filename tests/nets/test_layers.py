"""Architectures and layer selections resolved without torch agree with the real networks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cnntopo.config import ConfigError, validate_config
from cnntopo.nets import layers as layers_mod
from cnntopo.nets import module_table as module_table_mod
from cnntopo.nets.layers import (
    check_arch,
    layer_shapes,
    module_table,
    paper_layer_names,
    paper_module_table,
    parse_arch,
    resolve_layers,
    select_layers,
    torchvision_builders,
)

TINY_NET = """
import torch.nn as nn

def build(num_classes, hidden=6):
    return nn.Sequential(
        nn.Conv2d(3, hidden, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(4 * hidden, num_classes),
    )
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A fresh module-table cache folder, shared by this file's tests (one build per network)."""
    folder = tmp_path_factory.mktemp("cache")
    saved = os.environ.get("CNNTOPO_CACHE")
    os.environ["CNNTOPO_CACHE"] = str(folder)
    yield folder / "modules"
    if saved is None:
        del os.environ["CNNTOPO_CACHE"]
    else:
        os.environ["CNNTOPO_CACHE"] = saved


def test_seventeen_layers_in_network_order():
    names = paper_layer_names()
    assert len(names) == 17 and names[0] == "conv1" and names[-1] == "block_seq.3.1.conv2"
    # the official code orders layers by name with "conv" deleted
    assert names == sorted(names, key=lambda n: n.replace("conv", ""))


def test_paper_shapes():
    shapes = layer_shapes(width=64)
    assert (
        list(shapes.values())
        == [(64, 32, 32)] * 5 + [(128, 16, 16)] * 4 + [(256, 8, 8)] * 4 + [(512, 4, 4)] * 4
    )


@pytest.mark.parametrize("width,size,classes", [(8, 32, 10), (4, 28, 7)])
def test_static_module_table_is_the_real_networks(width, size, classes):
    pytest.importorskip("torch")
    from cnntopo.nets.models import build_model, default_layers, describe_modules

    model = build_model("resnet18_cifar", width=width, num_classes=classes)
    real = {
        "modules": describe_modules(model, size),
        "default": default_layers("resnet18_cifar", model),
    }
    assert paper_module_table(width, size, classes) == real
    assert real["default"] == paper_layer_names()


def test_each_selection_form_on_the_paper_network():
    table = paper_module_table(4)
    assert select_layers(table, "all") == paper_layer_names()
    # exact names, in network order whatever the order written
    assert select_layers(table, ["block_seq.1.0.conv1", "conv1"]) == [
        "conv1",
        "block_seq.1.0.conv1",
    ]
    # a glob over module names
    assert select_layers(table, ["block_seq.3.*.conv?"]) == [
        f"block_seq.3.{b}.conv{i}" for b in (0, 1) for i in (1, 2)
    ]
    # a module type: the 17 BN layers; type:Conv2d = the 17 conv layers here
    bns = select_layers(table, ["type:BatchNorm2d"])
    assert bns == [n.replace("conv", "bn") for n in paper_layer_names()]
    assert select_layers(table, ["type:Conv2d"]) == paper_layer_names()
    # union of forms, no duplicates
    both = select_layers(table, ["type:ReLU", "conv1", "*.conv1"])
    assert both[:4] == ["conv1", "block_seq.0.0.conv1", "block_seq.0.0.r1", "block_seq.0.0.r2"]
    assert both[-1] == "relu" and len(both) == len(set(both)) == 1 + 8 + 17


def test_unknown_layers_and_types_name_the_valid_ones():
    with pytest.raises(ValueError, match=r"'conv9' matches no layer; e\.g\. conv1, block_seq"):
        resolve_layers(["conv9", "conv1"])
    with pytest.raises(
        ValueError, match=r"'type:LayerNorm' matches no module; types here: .*Conv2d"
    ):
        resolve_layers(["type:LayerNorm"])


def test_arch_forms_and_errors(tmp_path):
    assert parse_arch("resnet18_cifar").kind == "builtin"
    assert parse_arch("torchvision:vit_b_16") == layers_mod.ArchSpec("torchvision", "vit_b_16")
    assert parse_arch("python:models/my net.py:build").path == "models/my net.py"
    for bad in ("torchvision:", "python:net.txt:f", "a:b", ""):
        with pytest.raises(ValueError, match="valid: resnet18_cifar"):
            parse_arch(bad)
    with pytest.raises(ValueError, match="built-in: resnet18_cifar"):
        check_arch("resnet19_cifar")
    with pytest.raises(ValueError, match="no classification builder 'resnet19'; valid: .*resnet18"):
        check_arch("torchvision:resnet19")
    with pytest.raises(ValueError, match="factory file .* not found"):
        check_arch(f"python:{tmp_path}/none.py:build")
    (tmp_path / "net.py").write_text(TINY_NET)
    assert check_arch(f"python:{tmp_path}/net.py:build").name == "build"
    with pytest.raises(ValueError, match="defines no top-level 'make'"):
        check_arch(f"python:{tmp_path}/net.py:make")


def test_torchvision_builders_are_torchvisions_classification_models():
    pytest.importorskip("torch")
    from cnntopo.nets.torchvision_shim import import_torchvision

    tv = import_torchvision()
    assert list(torchvision_builders()) == sorted(tv.models.list_models(module=tv.models))


def test_torchvision_table_is_computed_once_and_cached(cache, monkeypatch):
    table = module_table("torchvision:resnet18", image_size=32, num_classes=10)
    cached = [json.loads(p.read_text()) for p in cache.glob("*.json")]
    assert [c["table"] for c in cached if c["request"]["arch"] == "torchvision:resnet18"] == [table]
    names = [m["name"] for m in table["modules"]]
    assert table["default"] == [
        n for n in names if n == "conv1" or ".conv" in n or "downsample.0" in n
    ]
    assert len(table["default"]) == 20
    convs = select_layers(table, ["type:Conv2d"])
    assert convs == table["default"]
    shapes = {m["name"]: m["shape"] for m in table["modules"]}
    # torchvision's stem (stride 2) and max-pool take 32 px to 8 px; layer4 is 1x1
    assert shapes["conv1"] == [64, 16, 16] and shapes["layer4.1.conv2"] == [512, 1, 1]
    assert shapes["fc"] == [10] and shapes["avgpool"] == [512, 1, 1]

    def no_subprocess(*args, **kwargs):
        raise AssertionError("the cached table was not used")

    monkeypatch.setattr(module_table_mod.subprocess, "run", no_subprocess)
    assert module_table("torchvision:resnet18", image_size=32, num_classes=10) == table


def test_user_factory_table_follows_the_file(cache, tmp_path):
    net = tmp_path / "net.py"
    net.write_text(TINY_NET)
    table = module_table(f"python:{net}:build", kwargs={"hidden": 5}, num_classes=3)
    assert [(m["name"], m["types"][0], m["shape"]) for m in table["modules"]] == [
        ("0", "Conv2d", [5, 32, 32]),
        ("1", "ReLU", [5, 32, 32]),
        ("2", "AdaptiveAvgPool2d", [5, 2, 2]),
        ("3", "Flatten", [20]),
        ("4", "Linear", [3]),
    ]
    assert table["default"] == ["0"]
    # an edit of the file is a new table; errors of the factory are reported
    net.write_text(TINY_NET.replace("nn.ReLU()", "nn.ReLU(), nn.Conv2d(3, 3, 1)"))
    with pytest.raises(ValueError, match="could not build .*RuntimeError"):
        module_table(f"python:{net}:build", kwargs={"hidden": 5}, num_classes=3)


def test_config_check_fails_before_any_job_without_importing_torch():
    """Unknown networks and layers are config errors; the check never imports torch."""
    code = """
import sys
from cnntopo.config import ConfigError, validate_config
for model, layers in [({"arch": "torchvision:resnet19"}, "all"),
                      ({"arch": "resnet18"}, "all"),
                      ({"arch": "resnet18_cifar", "pretrained": True}, "all"),
                      ({"arch": "resnet18_cifar"}, ["type:Linear"])]:
    try:
        validate_config({"model": model, "activations": {"layers": layers}})
    except ConfigError as err:
        print(str(err).replace("\\n", " "))
print("torch" in sys.modules)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert len(out) == 5 and out[-1] == "False", out
    assert "no classification builder 'resnet19'; valid: alexnet," in out[0]
    assert "'resnet18' is not valid; valid: resnet18_cifar" in out[1]
    assert "model.pretrained" in out[2] and "model.checkpoint" in out[2]
    assert "selects ['linear']" in out[3]


def test_config_with_a_torchvision_network(cache):
    cfg = validate_config(
        {
            "model": {"arch": "torchvision:resnet18", "width": 4},
            "dataset": {"name": "digits"},
            "activations": {"layers": ["layer4.*.conv1", "fc"]},
        }
    )
    assert layers_mod.config_layers(cfg) == (
        ["layer4.0.conv1", "layer4.1.conv1", "fc"],
        {"layer4.0.conv1": (512, 1, 1), "layer4.1.conv1": (512, 1, 1), "fc": (10,)},
    )
    with pytest.raises(ConfigError, match="'layer9.*' matches no layer; e.g. conv1, layer1.0"):
        validate_config(
            {"model": {"arch": "torchvision:resnet18"}, "activations": {"layers": ["layer9.*"]}}
        )


def test_mapper_layers_of_any_network(cache):
    """mapper.model.arch takes model.arch's forms; mapper.layers is resolved against it."""
    torch = pytest.importorskip("torch")
    from cnntopo.nets.layers import mapper_config_layers
    from cnntopo.nets.layers_option_b import mapper_layer_names, mapper_layer_shapes
    from cnntopo.nets.models import build_model

    # the default: the option-B network's static names and shapes (no module table)
    cfg = validate_config({"mapper": {"layers": ["layer4.*"]}})
    layers, shapes = mapper_config_layers(cfg)
    assert layers == [n for n in mapper_layer_names() if n.startswith("layer4.")]
    assert shapes == {n: mapper_layer_shapes(64, 32)[n] for n in layers}
    # a torchvision network at 32 px: its layer4 maps are 1x1; layers by type
    mapper = {
        "model": {"arch": "torchvision:resnet18"},
        "layers": ["type:BatchNorm2d", "fc"],
        "constructions": ["random", "full"],
    }
    cfg = validate_config({"dataset": {"name": "digits"}, "mapper": mapper})
    layers, shapes = mapper_config_layers(cfg)
    net = build_model("torchvision:resnet18", num_classes=10)
    bns = [n for n, m in net.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert layers == [*bns, "fc"] and len(bns) == 20
    assert shapes["layer4.1.bn2"] == (512, 1, 1) and shapes["fc"] == (10,)
    # the fg/bg clouds need the option-B receptive fields: a config error before any job
    bad = {**mapper, "constructions": ["random", "fg1"]}
    with pytest.raises(ConfigError, match=r"'mapper.constructions': \['fg1'\] need the recep"):
        validate_config({"dataset": {"name": "digits"}, "mapper": bad})
    with pytest.raises(ConfigError, match="config key 'mapper.layers': 'bn9' matches no layer"):
        validate_config({"dataset": {"name": "digits"}, "mapper": {**mapper, "layers": ["bn9"]}})
    with pytest.raises(ConfigError, match="'mapper.model.arch': torchvision has no"):
        validate_config({"mapper": {**mapper, "model": {"arch": "torchvision:resnet19"}}})
    with pytest.raises(ConfigError, match="'mapper.model.pretrained': torchvision's weights"):
        validate_config({"mapper": {"model": {"pretrained": True}}})
