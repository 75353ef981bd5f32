"""Tests for cnntopo.nets.transforms: input preparation, normalisation, FFCV-style augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnntopo.nets.datasets import load_dataset
from cnntopo.nets.transforms import (
    NORMALIZATION,
    Augment,
    normalization,
    normalize,
    prepare,
    to_model_input,
)

DEBIAN_FMNIST = Path("/usr/share/datasets/fashion-mnist")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_batch(b=16, h=32, w=32, seed=0) -> torch.Tensor:
    """Random prepared batch (B, 3, H, W) in (0.1, 1]: never equal to a zero pad."""
    return torch.rand(b, 3, h, w, generator=gen(seed)) * 0.9 + 0.1


# ---------------------------------------------------------------------------
# prepare
# ---------------------------------------------------------------------------


def test_prepare_pads_28_to_32_centred():
    images = np.full((2, 28, 28, 1), 255, np.uint8)
    x = prepare(images)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32 and x.is_contiguous()
    inner = torch.zeros(32, 32, dtype=torch.bool)
    inner[2:30, 2:30] = True
    assert torch.all(x[:, :, inner] == 1.0) and torch.all(x[:, :, ~inner] == 0.0)


def test_prepare_odd_pad_puts_extra_pixel_bottom_right():
    x = prepare(np.full((1, 27, 29, 1), 255, np.uint8))
    rows = x[0, 0].sum(1) > 0
    cols = x[0, 0].sum(0) > 0
    assert rows.nonzero().flatten().tolist() == list(range(2, 29))  # top 2, bottom 3
    assert cols.nonzero().flatten().tolist() == list(range(1, 30))  # left 1, right 2


def test_prepare_grey_to_three_identical_channels_and_values():
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 1), dtype=np.uint8)
    x = prepare(images)
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
    np.testing.assert_allclose(x[:, 0].numpy(), images[..., 0] / 255.0, rtol=0, atol=1e-7)


def test_prepare_rgb_channel_order_and_tensor_input():
    images = np.zeros((1, 32, 32, 3), np.uint8)
    images[0, 4, 9, 2] = 255  # blue pixel at row 4, col 9
    for inp in (images, torch.from_numpy(images)):
        x = prepare(inp)
        assert x[0, 2, 4, 9] == 1.0 and x.sum() == 1.0


def test_prepare_resizes_small_images():
    images = np.random.default_rng(1).integers(0, 256, (5, 8, 8, 1), dtype=np.uint8)
    x = prepare(images)
    assert x.shape == (5, 3, 32, 32)
    assert x.min() >= 0.0 and x.max() <= 1.0
    ref = F.interpolate(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255, size=32,
                        mode="bilinear", align_corners=False)  # fmt: skip
    torch.testing.assert_close(x[:, :1], ref)
    const = prepare(np.full((1, 8, 8, 1), 128, np.uint8))
    torch.testing.assert_close(const, torch.full((1, 3, 32, 32), 128 / 255))


def test_prepare_shrinks_with_antialias():
    const = prepare(np.full((2, 100, 64, 3), 200, np.uint8))
    assert const.shape == (2, 3, 32, 32)
    torch.testing.assert_close(const, torch.full((2, 3, 32, 32), 200 / 255))
    # a 1-px checkerboard averages to grey when antialiased (not aliased to 0/1)
    board = ((np.indices((64, 64)).sum(0) % 2) * 255).astype(np.uint8)[None, ..., None]
    x = prepare(board)
    assert torch.all((x - 0.5).abs() < 0.05)


def test_prepare_rejects_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        prepare(np.zeros((1, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        prepare(np.zeros((32, 32, 3), np.uint8))


# ---------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------


def test_normalize_matches_hand_computation():
    x = random_batch(4, 5, 6)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    y = normalize(x, mean, std)
    for c in range(3):
        torch.testing.assert_close(y[:, c], (x[:, c] - mean[c]) / std[c])
    with pytest.raises(ValueError, match="positive"):
        normalize(x, mean, (1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match="channels"):
        normalize(x, (0.5, 0.5), std)


def test_to_model_input_equals_normalize_prepare():
    images = np.random.default_rng(2).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    mean, std = normalization("fashion-mnist")
    y = to_model_input(images, mean, std, device="cpu")
    torch.testing.assert_close(y, normalize(prepare(images), mean, std))
    assert y.shape == (3, 3, 32, 32) and y.dtype == torch.float32


def test_normalization_table():
    assert normalization("cifar10") == ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
    assert normalization("imagefolder") == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert set(NORMALIZATION) == {"cifar10", "fashion-mnist", "digits", "imagefolder"}
    with pytest.raises(ValueError, match="cifar10"):
        normalization("mnist")
    # the paper's 0-255 values / 255
    mean, std = normalization("cifar10")
    np.testing.assert_allclose(np.array(mean) * 255, [125.307, 122.961, 113.8575], atol=0.01)
    np.testing.assert_allclose(np.array(std) * 255, [51.5865, 50.847, 51.255], atol=0.02)


def _train_stats(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean / std of the prepared train split, in float64, in chunks."""
    images = load_dataset(name, "train").images
    total = np.zeros(3)
    total_sq = np.zeros(3)
    for start in range(0, len(images), 10000):
        x = prepare(images[start : start + 10000]).double()
        total += x.sum(dim=(0, 2, 3)).numpy()
        total_sq += (x * x).sum(dim=(0, 2, 3)).numpy()
    n = len(images) * 32 * 32
    mean = total / n
    return mean, np.sqrt(total_sq / n - mean**2)


@pytest.mark.parametrize(
    "name",
    [
        "digits",
        pytest.param(
            "fashion-mnist",
            marks=pytest.mark.skipif(
                not DEBIAN_FMNIST.is_dir(),
                reason=f"{DEBIAN_FMNIST} absent; `apt-get install dataset-fashion-mnist`",
            ),
        ),
    ],
)
def test_normalization_constants_match_data(name):
    mean, std = _train_stats(name)
    np.testing.assert_allclose(mean, NORMALIZATION[name][0], atol=1e-3)
    np.testing.assert_allclose(std, NORMALIZATION[name][1], atol=1e-3)


# ---------------------------------------------------------------------------
# Augment
# ---------------------------------------------------------------------------


def test_disabled_augment_is_identity():
    x = random_batch()
    y = Augment(flip=False, translate=0, cutout=0)(x, gen(0))
    assert torch.equal(x, y) and y is not x


def test_flip_mirrors_width_of_chosen_images():
    x = random_batch(b=64)
    y = Augment(flip=True, translate=0, cutout=0)(x, gen(3))
    flipped = torch.rand(64, generator=gen(3)) < 0.5  # documented: first B draws are the coins
    assert 0 < flipped.sum() < 64
    for i in range(64):
        expect = x[i].flip(-1) if flipped[i] else x[i]
        assert torch.equal(y[i], expect)
        # width (last axis) reversed: column 0 of the output is the input's last column
    i = int(flipped.nonzero()[0])
    assert torch.equal(y[i, :, :, 0], x[i, :, :, -1]) and torch.equal(
        y[i, :, 0, :], x[i, :, 0, :].flip(-1)
    )


def test_translate_is_shifted_copy_with_zero_fill():
    x = random_batch(b=32)
    p = 2
    y = Augment(flip=False, translate=p, cutout=0)(x, gen(5))
    g = gen(5)
    dy = torch.randint(0, 2 * p + 1, (32,), generator=g)
    dx = torch.randint(0, 2 * p + 1, (32,), generator=g)
    assert len(set(zip(dy.tolist(), dx.tolist(), strict=True))) > 5
    for i in range(32):
        manual = np.pad(x[i].numpy(), ((0, 0), (p, p), (p, p)))[
            :, dy[i] : dy[i] + 32, dx[i] : dx[i] + 32
        ]
        np.testing.assert_array_equal(y[i].numpy(), manual)
    # one image with a known shift, checked with roll: offset (0, 4) = content moves down 2, left 2
    j = next(i for i in range(32) if (dy[i], dx[i]) != (p, p))
    shift_y, shift_x = p - int(dy[j]), p - int(dx[j])
    rolled = torch.roll(x[j], shifts=(shift_y, shift_x), dims=(1, 2))
    valid = torch.zeros(32, 32, dtype=torch.bool)
    valid[max(shift_y, 0) : 32 + min(shift_y, 0), max(shift_x, 0) : 32 + min(shift_x, 0)] = True
    assert torch.equal(y[j][:, valid], rolled[:, valid])
    assert torch.all(y[j][:, ~valid] == 0.0) and (~valid).any()


@pytest.mark.parametrize("clip", [False, True])
def test_cutout_square_area_and_fill(clip):
    b, k, fill = 256, 8, (0.25, 0.5, 0.75)
    x = random_batch(b=b)
    y = Augment(flip=False, translate=0, cutout=k, cutout_fill=fill, cutout_clip=clip)(x, gen(7))
    changed = (y != x).any(dim=1)  # (B, H, W)
    assert torch.equal(changed, (y != x).all(dim=1))  # all channels change together
    areas = changed.sum(dim=(1, 2))
    corners_y = []
    for i in range(b):
        rows = changed[i].any(1).nonzero().flatten()
        cols = changed[i].any(0).nonzero().flatten()
        # a solid rectangle: every pixel in its bounding box changed
        assert areas[i] == len(rows) * len(cols)
        assert rows.tolist() == list(range(int(rows[0]), int(rows[-1]) + 1))
        for c in range(3):
            assert torch.all(y[i, c][changed[i]] == fill[c])
        corners_y.append(int(rows[0]))
    if clip:
        assert torch.all(areas <= k * k) and (areas < k * k).any()
    else:  # FFCV: always the full square, corner uniform over {0, ..., 32 - k}
        assert torch.all(areas == k * k)
        assert min(corners_y) == 0 and max(corners_y) == 32 - k


def test_augment_deterministic_given_generator():
    x = random_batch(b=8)
    aug = Augment(cutout_fill=(0.49, 0.48, 0.45))
    a, b = aug(x, gen(11)), aug(x, gen(11))
    assert torch.equal(a, b)
    assert not torch.equal(a, aug(x, gen(12)))
    assert a.shape == x.shape and a.dtype == x.dtype


def test_augment_does_not_modify_input_and_validates():
    x = random_batch(b=4)
    before = x.clone()
    Augment()(x, gen(0))
    assert torch.equal(x, before)
    with pytest.raises(ValueError, match="translate"):
        Augment(translate=-1)
    with pytest.raises(ValueError, match="cutout_fill"):
        Augment(cutout_fill=(0.5,))
    with pytest.raises(ValueError, match="B, 3, H, W"):
        Augment()(torch.zeros(2, 1, 32, 32), gen(0))
