"""Truths about the paper's CIFAR ResNet-18 (official ``AAAI-code-PH/cifar_resnet.py``)."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from cnntopo.nets.models import (
    ARCHITECTURES,
    OptionAShortcut,
    ResNet18CIFAR,
    build_model,
    conv_layer_names,
    count_parameters,
    init_model,
    layer_shapes,
    load_state_dict_compat,
    save_state_dict,
)

torch.set_num_threads(1)

PAPER_LAYERS = ["conv1"] + [
    f"block_seq.{s}.{b}.conv{i}" for s in range(4) for b in range(2) for i in (1, 2)
]


def expected_shapes(width: int, size: int = 32) -> dict[str, tuple[int, int, int]]:
    """Stem + stage 1 at full resolution, then channels x2 and resolution /2 per stage."""
    shapes = {"conv1": (width, size, size)}
    for s in range(4):
        for b in range(2):
            for i in (1, 2):
                shapes[f"block_seq.{s}.{b}.conv{i}"] = (width * 2**s, size // 2**s, size // 2**s)
    return shapes


def hand_count_parameters(width: int, num_classes: int, shortcut: str = "A") -> int:
    """Parameter count from the architecture description.

    3x3 convs without bias (k*k*in*out), BatchNorm weight+bias (2*c), a linear head
    (8w*K + K); option-B adds a 1x1 conv + BN on the three down-sampling blocks.
    """
    total = 9 * 3 * width + 2 * width  # stem conv1 + bn1
    in_planes = width
    for s in range(4):
        planes = width * 2**s
        for b in range(2):
            total += 9 * in_planes * planes + 2 * planes  # conv1 + bn1
            total += 9 * planes * planes + 2 * planes  # conv2 + bn2
            if shortcut == "B" and (s > 0 and b == 0):
                total += in_planes * planes + 2 * planes
            in_planes = planes
    return total + 8 * width * num_classes + num_classes


def test_paper_layer_names_and_order():
    model = build_model(width=4)
    names = conv_layer_names(model)
    assert names == PAPER_LAYERS
    assert len(names) == 17


def test_layer_order_is_execution_order():
    model = build_model(width=4).eval()
    executed = []
    modules = dict(model.named_modules())
    handles = [
        modules[n].register_forward_hook(lambda *_args, n=n: executed.append(n))
        for n in conv_layer_names(model)
    ]
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    for h in handles:
        h.remove()
    assert executed == conv_layer_names(model)


def test_option_b_shortcut_convs_are_not_ph_layers():
    model = build_model(width=4, shortcut="B")
    assert conv_layer_names(model) == PAPER_LAYERS
    assert isinstance(model.block_seq[1][0].shortcut[0], nn.Conv2d)


@pytest.mark.parametrize("width", [64, 8])
def test_layer_shapes(width):
    model = build_model(width=width)
    model.train()
    shapes = layer_shapes(model)
    assert shapes == expected_shapes(width)
    assert model.training  # restored
    assert list(shapes) == PAPER_LAYERS


def test_layer_shapes_width64_counts():
    shapes = list(layer_shapes(build_model(width=64)).values())
    assert (
        shapes == [(64, 32, 32)] * 5 + [(128, 16, 16)] * 4 + [(256, 8, 8)] * 4 + [(512, 4, 4)] * 4
    )


def test_logits_shape_and_other_image_size():
    model = build_model(width=4, num_classes=7).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 7)
        assert model(torch.randn(2, 3, 28, 28)).shape == (2, 7)
    assert layer_shapes(model, image_size=16)["block_seq.3.1.conv2"] == (32, 2, 2)


def test_option_a_shortcut_is_parameter_free_subsample_and_pad():
    model = build_model(width=8)
    shortcut = model.block_seq[1][0].shortcut
    assert isinstance(shortcut, OptionAShortcut)
    assert sum(p.numel() for p in shortcut.parameters()) == 0
    assert len(list(shortcut.buffers())) == 0
    x = torch.randn(2, 8, 32, 32)
    y = shortcut(x)
    assert y.shape == (2, 16, 16, 16)
    expected = torch.zeros(2, 16, 16, 16)
    expected[:, 4:12] = x[:, :, ::2, ::2]
    assert torch.equal(y, expected)
    # identity shortcut where the shape is kept
    x1 = torch.randn(1, 8, 8, 8)
    assert torch.equal(model.block_seq[0][0].shortcut(x1), x1)


def test_no_shortcut_parameters_in_option_a():
    names = [n for n, _ in build_model(width=4).named_parameters()]
    assert not any("shortcut" in n for n in names)


@pytest.mark.parametrize("width,shortcut", [(64, "A"), (8, "A"), (8, "B")])
def test_parameter_count_matches_formula(width, shortcut):
    model = build_model(width=width, num_classes=10, shortcut=shortcut)
    assert count_parameters(model) == hand_count_parameters(width, 10, shortcut)


def test_parameter_count_differs_from_kuangliu_by_shortcuts():
    # The well-known option-B ResNet-18 count minus its three shortcut (conv+BN) blocks.
    a = count_parameters(build_model(width=64))
    b = count_parameters(build_model(width=64, shortcut="B"))
    shortcut_params = sum(64 * 2**s * 64 * 2 ** (s + 1) + 2 * 64 * 2 ** (s + 1) for s in range(3))
    assert b - a == shortcut_params


def test_state_dict_keys_match_official_naming():
    keys = set(build_model(width=4).state_dict())
    assert {
        "conv1.weight",
        "bn1.weight",
        "bn1.running_mean",
        "linear.weight",
        "linear.bias",
    } <= keys
    for s in range(4):
        for b in range(2):
            for m in ("conv1", "conv2"):
                assert f"block_seq.{s}.{b}.{m}.weight" in keys
            for m in ("bn1", "bn2"):
                assert f"block_seq.{s}.{b}.{m}.running_var" in keys
    module_names = dict(build_model(width=4).named_modules())
    for name in ("relu", "block_seq.0.0.r1", "block_seq.0.0.r2", "block_seq.2.1.shortcut"):
        assert name in module_names


def test_unknown_arch_and_bad_width():
    assert "resnet18_cifar" in ARCHITECTURES
    with pytest.raises(ValueError, match="unknown model arch 'vgg'"):
        build_model("vgg")
    with pytest.raises(ValueError, match="must be even"):
        build_model(width=5)
    with pytest.raises(ValueError, match="positive integer"):
        build_model(width=0)
    with pytest.raises(ValueError, match="shortcut"):
        build_model(width=4, shortcut="C")


def test_init_model_deterministic_and_leaves_global_rng():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = init_model("resnet18_cifar", 4, 10, seed=1)
    assert torch.equal(torch.random.get_rng_state(), before)
    b = init_model("resnet18_cifar", 4, 10, seed=1)
    c = init_model("resnet18_cifar", 4, 10, seed=2)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["conv1.weight"], sc["conv1.weight"])


def test_model_pickles():
    model = build_model(width=4)
    clone = pickle.loads(pickle.dumps(model))
    assert isinstance(clone, ResNet18CIFAR)
    x = torch.randn(1, 3, 32, 32)
    model.eval()
    clone.eval()
    with torch.no_grad():
        assert torch.equal(model(x), clone(x))


def test_load_state_dict_compat_prefixes_and_nesting(tmp_path):
    src = init_model("resnet18_cifar", 4, 10, seed=3)
    target = init_model("resnet18_cifar", 4, 10, seed=4)
    wrapped = {"module." + k: v for k, v in src.state_dict().items()}
    load_state_dict_compat(target, wrapped)
    assert torch.equal(target.conv1.weight, src.conv1.weight)

    target = init_model("resnet18_cifar", 4, 10, seed=4)
    compiled = {"_orig_mod." + k: v for k, v in src.state_dict().items()}
    torch.save({"epoch": 3, "model_state_dict": compiled}, tmp_path / "best.pth")
    load_state_dict_compat(target, tmp_path / "best.pth")
    assert torch.equal(target.linear.weight, src.linear.weight)


def test_save_state_dict_roundtrip(tmp_path):
    src = init_model("resnet18_cifar", 4, 10, seed=3)
    path = tmp_path / "final_weights.pt"
    save_state_dict(src, path)
    assert [p.name for p in tmp_path.iterdir()] == ["final_weights.pt"]
    state = torch.load(path, weights_only=True)
    assert set(state) == set(src.state_dict())
    target = load_state_dict_compat(build_model(width=4), path)
    assert torch.equal(target.block_seq[3][1].conv2.weight, src.block_seq[3][1].conv2.weight)


def test_load_state_dict_width_mismatch_message():
    state = build_model(width=8).state_dict()
    with pytest.raises(ValueError, match=r"checkpoint width 8 vs config model.width 4") as err:
        load_state_dict_compat(build_model(width=4), state)
    assert "shape mismatches" in str(err.value)


def test_load_state_dict_missing_unexpected_and_option_b_hint(tmp_path):
    state = build_model(width=4, shortcut="B").state_dict()
    with pytest.raises(
        ValueError, match="unexpected keys .*block_seq.1.0.shortcut.0.weight"
    ) as err:
        load_state_dict_compat(build_model(width=4), state)
    assert "option-B" in str(err.value)
    partial = build_model(width=4).state_dict()
    del partial["linear.bias"]
    with pytest.raises(ValueError, match=r"missing keys \(1\): linear.bias"):
        load_state_dict_compat(build_model(width=4), partial)
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        load_state_dict_compat(build_model(width=4), tmp_path / "nope.pt")


# --------------------------------------------------------------------------- any network

USER_NET = """
import torch.nn as nn

class Tiny(nn.Module):
    def __init__(self, num_classes, hidden):
        super().__init__()
        self.conv = nn.Conv2d(3, hidden, 3, padding=1)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x):
        return self.head(self.conv(x).mean(dim=(2, 3)))

def build(num_classes, hidden=4):
    return Tiny(num_classes, hidden)
"""


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_torchvision_network_is_torchvisions_builder(caplog):
    from cnntopo.nets.torchvision_shim import import_torchvision

    tv = import_torchvision()
    with caplog.at_level("INFO", logger="cnntopo"):
        model = init_model("torchvision:resnet18", 4, 7, seed=3)
    assert "model.width applies to the built-in networks only" in caplog.text
    torch.manual_seed(3)
    oracle = tv.models.resnet18(num_classes=7)
    assert type(model) is type(oracle) and _same_weights(model, oracle)
    # builder keyword arguments; num_classes in model.kwargs overrides the dataset's
    small = build_model("torchvision:mobilenet_v3_small", num_classes=3, kwargs={"dropout": 0.5})
    assert small.classifier[2].p == 0.5 and small.classifier[3].out_features == 3
    wide = build_model("torchvision:resnet18", num_classes=3, kwargs={"num_classes": 5})
    assert wide.fc.out_features == 5


def test_user_factory_network(tmp_path):
    (tmp_path / "net.py").write_text(USER_NET)
    arch = f"python:{tmp_path}/net.py:build"
    a = init_model(arch, num_classes=3, seed=0, kwargs={"hidden": 6})
    b = init_model(arch, num_classes=3, seed=0, kwargs={"hidden": 6})
    assert type(a).__name__ == "Tiny" and a.conv.out_channels == 6 and a.head.out_features == 3
    assert _same_weights(a, b)
    c = init_model(arch, num_classes=3, seed=1, kwargs={"hidden": 6})
    assert not torch.equal(a.conv.weight, c.conv.weight)
    (tmp_path / "bad.py").write_text("def build(num_classes):\n    return 'a network'\n")
    with pytest.raises(TypeError, match=r"bad.py:build\(3\) returned str, not a torch.nn.Module"):
        build_model(f"python:{tmp_path}/bad.py:build", num_classes=3)


def test_pretrained_weights_offline_give_a_clear_error(monkeypatch):
    """No download here: torch.hub's fetch fails as it does without a network."""
    import urllib.error

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(RuntimeError, match="model.pretrained: could not get torchvision's") as err:
        build_model("torchvision:resnet18", num_classes=10, pretrained=True)
    message = str(err.value)
    assert "https://download.pytorch.org/models/resnet18-" in message
    assert "offline" in message and "model.checkpoint" in message and "checkpoints/" in message
    with pytest.raises(ValueError, match="torchvision networks only"):
        build_model("resnet18_cifar", width=4, pretrained=True)


def test_torchvision_checkpoint_round_trip(tmp_path):
    """A torchvision network's weights saved by the workflow load back into the same outputs."""
    src = init_model("torchvision:mobilenet_v3_small", num_classes=5, seed=0).eval()
    with torch.no_grad():  # non-trivial BN statistics, as after training
        for module in src.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
    path = tmp_path / "seed0.pt"
    save_state_dict(src, path)
    dst = init_model("torchvision:mobilenet_v3_small", num_classes=5, seed=1)
    assert not _same_weights(src, dst)
    load_state_dict_compat(dst, path).eval()
    assert _same_weights(src, dst)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(src(x), dst(x))
    with pytest.raises(ValueError, match="shape mismatches .*classifier.3.weight"):
        load_state_dict_compat(build_model("torchvision:mobilenet_v3_small", num_classes=7), path)
