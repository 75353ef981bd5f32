"""The Mapper clouds' row gathering reads positions of any layer layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnntopo.mapper.clouds import _gather
from cnntopo.nets.transforms import to_model_input

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


class _Net(torch.nn.Module):
    """A conv map (B, 6, 4, 4), its tokens (B, 16, 6), a 1x1 map (B, 6, 1, 1), logits."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, kernel_size=8, stride=8)
        self.tokens = torch.nn.Identity()
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.head = torch.nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.conv(x)
        self.tokens(maps.flatten(2).transpose(1, 2))
        return self.head(self.pool(maps).flatten(1))


@pytest.mark.parametrize("layer", ["conv", "tokens", "pool"])
def test_rows_are_the_vectors_at_the_planned_positions(layer):
    torch.manual_seed(0)
    net = _Net().eval()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    labels = np.array([0, 1, 2, 0, 1])
    n_pos = 1 if layer == "pool" else 16
    img_idx = np.array([4, 0, 2, 2, 1])
    pos_idx = rng.integers(0, n_pos, size=5)
    rows, correct = _gather(
        net, images, labels, layer, img_idx, pos_idx, relu=False, c=6, seed=0, sigma=0.0,
        mean=MEAN, std=STD, batch_size=2, device=torch.device("cpu"), image_size=32, log=None,
    )  # fmt: skip
    with torch.no_grad():
        maps = net.conv(to_model_input(images, MEAN, STD)).numpy()  # (5, 6, 4, 4)
        logits = net(to_model_input(images, MEAN, STD))
    vectors = maps.reshape(5, 6, 16) if layer != "pool" else maps.mean((2, 3))[:, :, None]
    np.testing.assert_allclose(rows, vectors[img_idx, :, pos_idx], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(correct, logits.argmax(1).numpy() == labels)
