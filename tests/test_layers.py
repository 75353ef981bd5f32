"""The torch-free layer list used by the Snakefile matches the real network."""

from __future__ import annotations

import pytest

from cnntopo.nets.layers import layer_shapes, paper_layer_names, resolve_layers


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


def test_matches_the_torch_model():
    torch = pytest.importorskip("torch")
    from cnntopo.nets.models import build_model, conv_layer_names
    from cnntopo.nets.models import layer_shapes as model_shapes

    for width in (8, 64):
        model = build_model("resnet18_cifar", width=width, num_classes=10)
        assert conv_layer_names(model) == paper_layer_names()
        with torch.no_grad():
            assert model_shapes(model, image_size=32) == layer_shapes(width=width)


def test_resolve_layers_keeps_network_order_and_rejects_unknown():
    assert resolve_layers(["block_seq.1.0.conv1", "conv1"]) == ["conv1", "block_seq.1.0.conv1"]
    with pytest.raises(ValueError, match=r"match\(es\) no layer"):
        resolve_layers(["conv9", "conv1"])
