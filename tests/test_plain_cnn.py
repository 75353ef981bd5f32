"""The plain CNN of the Kornblith benchmark: its torch-free layer table against the network."""

from __future__ import annotations

import pytest
import torch

from cnntopo.nets import models
from cnntopo.nets.plain_cnn import LAYER_NAMES, layer_shapes


@pytest.mark.parametrize("width", [4, 16])
def test_layer_table_matches_the_network(width):
    model = models.init_model("plain_cnn", width=width, num_classes=10, seed=0)
    assert models.conv_layer_names(model) == list(LAYER_NAMES)
    assert models.layer_shapes(model) == layer_shapes(width)
    assert layer_shapes(64)["conv8"] == (512, 4, 4) and layer_shapes(64)["conv1"] == (64, 32, 32)
    logits = model(torch.zeros(2, 3, 32, 32))
    assert logits.shape == (2, 10)


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = (models.init_model("plain_cnn", width=4, seed=s) for s in (1, 1, 2))
    wa, wb, wc = (m.conv1.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_bad_width_is_refused():
    with pytest.raises(ValueError, match="positive integer"):
        layer_shapes(0)
