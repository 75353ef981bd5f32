"""The plain CNN of the Kornblith benchmark: its torch-free layer table against the network."""

from __future__ import annotations

import pytest
import torch

from cnntopo.nets import models
from cnntopo.nets.discovery import default_layers, describe_modules
from cnntopo.nets.layers import layer_shapes as named_layer_shapes
from cnntopo.nets.plain_cnn import LAYER_NAMES, conv_shapes, plain_module_table


@pytest.mark.parametrize("width", [4, 16])
def test_layer_table_matches_the_network(width):
    model = models.init_model("plain_cnn", width=width, num_classes=10, seed=0)
    assert models.conv_layer_names(model) == list(LAYER_NAMES)
    assert models.layer_shapes(model) == conv_shapes(width)
    assert conv_shapes(64)["conv8"] == (512, 4, 4) and conv_shapes(64)["conv1"] == (64, 32, 32)
    logits = model(torch.zeros(2, 3, 32, 32))
    assert logits.shape == (2, 10)


@pytest.mark.parametrize("width", [4, 16])
def test_tiny10_layer_table_matches_the_network(width):
    model = models.init_model("tiny10", width=width, num_classes=10, seed=0)
    assert models.conv_layer_names(model) == list(LAYER_NAMES)
    assert models.layer_shapes(model) == conv_shapes(width, layout="tiny10")
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_tiny10_is_kornblith_et_al_s_table_at_width_16():
    # Tiny-10: 3x3 conv 16 x2; 3x3 conv 32 stride 2; 3x3 conv 32 x2; 3x3 conv 64 stride 2;
    # 3x3 conv 64 valid padding; 1x1 conv 64 (each with BN and ReLU); GAP; logits.
    assert conv_shapes(16, layout="tiny10") == {
        "conv1": (16, 32, 32),
        "conv2": (16, 32, 32),
        "conv3": (32, 16, 16),
        "conv4": (32, 16, 16),
        "conv5": (32, 16, 16),
        "conv6": (64, 8, 8),
        "conv7": (64, 6, 6),
        "conv8": (64, 6, 6),
    }
    model = models.init_model("tiny10", width=16, num_classes=10, seed=0)
    assert model.conv7.padding == (0, 0) and model.conv8.kernel_size == (1, 1)
    assert [type(m).__name__ for m in model][-6:] == [
        "Conv2d",
        "BatchNorm2d",
        "ReLU",
        "AdaptiveAvgPool2d",
        "Flatten",
        "Linear",
    ]


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="layout must be one of"):
        conv_shapes(16, layout="tiny11")


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = (models.init_model("plain_cnn", width=4, seed=s) for s in (1, 1, 2))
    wa, wb, wc = (m.conv1.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_bad_width_is_refused():
    with pytest.raises(ValueError, match="positive integer"):
        conv_shapes(0)


@pytest.mark.parametrize("arch", ["plain_cnn", "tiny10"])
@pytest.mark.parametrize(("width", "size", "classes"), [(4, 32, 10), (6, 20, 3)])
def test_static_module_table_is_the_networks(arch, width, size, classes):
    """The torch-free table equals the one measured on the built network."""
    model = models.init_model(arch, width=width, num_classes=classes, seed=0)
    measured = {"modules": describe_modules(model, size), "default": default_layers(arch, model)}
    assert plain_module_table(width, size, classes, layout=arch) == measured
    # the named layer_shapes reads the static table (no subprocess) and agrees
    assert named_layer_shapes(arch, width, size, num_classes=classes) == models.layer_shapes(
        model, image_size=size
    )
