"""Mapper point clouds (docs/methods.md §11): random, full, foreground/background, noise."""

from __future__ import annotations

import tracemalloc
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.mapper.clouds import (
    build_cloud,
    class_blocks,
    layer_rng,
    layer_seed,
    region_weights,
    select_topk,
)
from cnntopo.mapper.grabcut import grabcut_masks, paper_grabcut_input, prepared_uint8, wrap_uint8
from cnntopo.mapper.receptive_field import receptive_field_table
from cnntopo.nets.activations import capture
from cnntopo.nets.layers_option_b import mapper_layer_names
from cnntopo.nets.models import build_model
from cnntopo.nets.transforms import to_model_input
from synthetic import randomized_mapper_net

torch.set_num_threads(1)

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


def randomized(width: int = 4, seed: int = 0) -> nn.Module:
    """The shared randomised Mapper network (eval mode, random BN statistics)."""
    return randomized_mapper_net(width, seed, 3)


@pytest.fixture(scope="module")
def model():
    return randomized(4)


@pytest.fixture(scope="module")
def data():
    """9 random RGB images, 3 classes in class-major order."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(9, 32, 32, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(3), 3)
    return images, labels


def square_images(n: int = 4, seed: int = 0) -> np.ndarray:
    """Dark noisy background with a bright off-centre rectangle (rows 4-15, cols 14-27)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, size=(n, 32, 32, 3)).astype(np.uint8)
    images[:, 4:16, 14:28] = rng.integers(200, 256, size=(n, 12, 14, 3))
    return images


def dense(model, images, layer, sigma=0.0, seed=0, size=32):
    """The captured (N, c, h, w) activations of a single forward pass (reference semantics)."""
    x = to_model_input(images, MEAN, STD, size)
    if sigma > 0:
        gen = torch.Generator().manual_seed(seed)
        x = x + sigma * torch.stack([torch.randn(x.shape[1:], generator=gen) for _ in x])
    with torch.no_grad(), capture(model, [layer]) as store:
        logits = model(x)
    return store[layer].numpy(), logits.argmax(1).numpy()


def cloud(model, images, labels, layer, method, **kw):
    kw.setdefault("seed", 0)
    return build_cloud(model, images, labels, layer, method, mean=MEAN, std=STD, device="cpu", **kw)


def oracle_rng(seed: int, layer: str) -> np.random.Generator:
    """The documented per-layer generator, written out independently of the package."""
    entropy = [seed, zlib.crc32(layer.encode("utf-8"))]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def assert_same_cloud(a, b, exact=True):
    """Identical clouds; with ``exact=False`` (e.g. another batch size, which changes the
    convolution's rounding) the points only agree to float32 precision."""
    for key in ("labels", "image_index", "position", "correct"):
        assert np.array_equal(a[key], b[key]), key
    if exact:
        assert np.array_equal(a["points"], b["points"])
    else:
        np.testing.assert_allclose(a["points"], b["points"], rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- P2 random


@pytest.mark.parametrize("layer", ["layer1.0.bn2", "layer3.1.bn1", "layer4.1.bn2"])
def test_random_one_position_per_image_after_relu(model, data, layer):
    images, labels = data
    out = cloud(model, images, labels, layer, "random", batch_size=4)
    act, pred = dense(model, images, layer)
    n, c, h, w = act.shape
    assert out["points"].shape == (n, c) and out["points"].dtype == np.float32
    assert np.array_equal(out["image_index"], np.arange(n))
    assert np.array_equal(out["labels"], labels)
    rows, cols = out["position"] // w, out["position"] % w
    assert rows.min() >= 1 and cols.min() >= 1 and rows.max() < h and cols.max() < w
    expected = np.maximum(act[np.arange(n), :, rows, cols], 0)
    np.testing.assert_allclose(out["points"], expected, rtol=1e-5, atol=1e-6)
    assert np.array_equal(out["correct"], pred == labels)
    assert out["meta"]["accuracy"] == pytest.approx(np.mean(pred == labels))
    assert out["meta"]["relu"] and out["meta"]["n_points"] == n


def test_random_positions_are_drawn_per_layer(model, data):
    """Same-shape layers get independent positions, each from (seed, crc32(layer))."""
    images, labels = data
    n = len(images)
    positions = {}
    for layer in ("layer4.0.bn2", "layer4.1.bn1", "layer4.1.bn2"):  # all 4 x 4
        out = cloud(model, images, labels, layer, "random", seed=5)
        draws = oracle_rng(5, layer).integers(1, [4, 4], size=(n, 2))
        assert np.array_equal(out["position"], draws[:, 0] * 4 + draws[:, 1]), layer
        assert out["meta"]["rng_seed"] == [5, zlib.crc32(layer.encode())]
        positions[layer] = tuple(out["position"])
    assert len(set(positions.values())) == 3
    assert layer_seed(5, "layer4.1.bn2") == [5, zlib.crc32(b"layer4.1.bn2")]
    a, b = layer_rng(5, "layer4.1.bn2").random(4), oracle_rng(5, "layer4.1.bn2").random(4)
    assert np.array_equal(a, b)


def test_random_low_parameter(model, data):
    images, labels = data
    out = cloud(model, images, labels, "layer4.0.bn1", "random", low=0, seed=3)
    assert out["position"].min() >= 0 and out["meta"]["low_axes"] == [0, 0]
    with pytest.raises(ValueError, match="low"):
        cloud(model, images, labels, "layer4.0.bn1", "random", low=4)


def test_random_low_on_a_1x1_layer(model):
    """8-px inputs: layer3 is 2 x 2, layer4 1 x 1; low=1 (the paper's) keeps working."""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(6, 8, 8, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(3), 2)
    for layer, (h, w) in (("layer4.1.bn2", (1, 1)), ("layer3.1.bn2", (2, 2))):
        out = cloud(model, images, labels, layer, "random", image_size=8, seed=2)
        act, _ = dense(model, images, layer, size=8)
        assert act.shape[2:] == (h, w)
        lows = [0, 0] if h == 1 else [1, 1]  # a single position has no boundary to avoid
        draws = oracle_rng(2, layer).integers(lows, [h, w], size=(6, 2))
        assert out["meta"]["low_axes"] == lows and out["meta"]["shape"][1:] == [h, w]
        assert np.array_equal(out["position"], draws[:, 0] * w + draws[:, 1])
        rows, cols = out["position"] // w, out["position"] % w
        expected = np.maximum(act[np.arange(6), :, rows, cols], 0)
        np.testing.assert_allclose(out["points"], expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="for a 2x2 layer"):
        cloud(model, images, labels, "layer3.1.bn2", "random", image_size=8, low=2)


# --------------------------------------------------------------------------- P3 full


def full_order(act, labels):
    """Rows class -> position (row-major) -> image, after ReLU, plus (image, position)."""
    n, c, h, w = act.shape
    rows, img, pos = [], [], []
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        for p in range(h * w):
            for i in members:
                rows.append(np.maximum(act[i, :, p // w, p % w], 0))
                img.append(i)
                pos.append(p)
    return np.array(rows), np.array(img), np.array(pos)


def test_full_without_subsampling_is_class_position_image_order(model, data):
    images, labels = data
    layer = "layer3.0.bn2"  # 16 x 8 x 8
    out = cloud(model, images, labels, layer, "full", batch_size=2)
    act, _ = dense(model, images, layer)
    rows, img, pos = full_order(act, labels)
    np.testing.assert_allclose(out["points"], rows, rtol=1e-5, atol=1e-6)
    assert np.array_equal(out["image_index"], img) and np.array_equal(out["position"], pos)
    assert np.array_equal(out["labels"], labels[img])
    assert out["meta"]["n_rows_total"] == 9 * 64 and not out["meta"]["subsampled"]


def test_full_subsample_draws_rows_with_default_rng(model, data):
    images, labels = data
    layer = "layer2.1.bn2"  # 8 x 16 x 16: 9 * 256 = 2304 rows
    out = cloud(model, images, labels, layer, "full", cap=500, seed=7, batch_size=4)
    act, _ = dense(model, images, layer)
    rows, img, pos = full_order(act, labels)
    drawn = oracle_rng(7, layer).choice(len(rows), size=500, replace=True)
    assert np.array_equal(out["image_index"], img[drawn])
    assert np.array_equal(out["position"], pos[drawn])
    np.testing.assert_allclose(out["points"], rows[drawn], rtol=1e-5, atol=1e-6)
    assert out["meta"]["subsampled"] and out["meta"]["n_points"] == 500
    # without replacement: distinct rows
    out = cloud(model, images, labels, layer, "full", cap=2000, seed=7, replace=False)
    keys = out["image_index"] * 256 + out["position"]
    assert len(np.unique(keys)) == 2000


def test_full_streaming_memory_is_bounded():
    """2,000 images at layer1 (4 x 32 x 32): the dense rows would take 32 MB, plus 16 MB
    of int64 row indices; with cap=1000 the NumPy-side peak stays far below that."""
    model = randomized(4)
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(2000, 32, 32, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(4), 500)
    dense_bytes = 2000 * 32 * 32 * 4 * 4
    tracemalloc.start()
    try:
        out = cloud(model, images, labels, "layer1.0.bn1", "full", cap=1000, batch_size=100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out["points"].shape == (1000, 4)
    assert peak < dense_bytes / 8, f"peak {peak / 1e6:.1f} MB"


# --------------------------------------------------------------------------- receptive field


def explicit_fake_tables(width: int, size: int) -> dict[str, np.ndarray]:
    """The official fake network, literally: conv weights 0.001, no BN, ReLU kept, hooks
    storing references (so conv2 outputs include the in-place shortcut add)."""
    fake = build_model("resnet18_mapper", width).double().eval()
    for module in list(fake.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                setattr(module, child_name, nn.Identity())
    with torch.no_grad():
        for module in fake.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.fill_(0.001)
    onehot = torch.eye(size * size, dtype=torch.float64).view(-1, 1, size, size).repeat(1, 3, 1, 1)
    names = mapper_layer_names()  # now nn.Identity modules right after each conv
    with torch.no_grad(), capture(fake, names) as store:
        fake(onehot)
    return {n: store[n].norm(dim=1).flatten(1).T.numpy() for n in names}  # (h*w, S*S)


def test_receptive_field_table_equals_explicit_fake_network():
    reference = explicit_fake_tables(4, 16)
    for layer in mapper_layer_names():
        table = receptive_field_table(layer, 16, width=4)
        np.testing.assert_allclose(table, reference[layer], rtol=1e-10, atol=0, err_msg=layer)


def test_receptive_field_support_and_shapes():
    size = 32
    pix_r, pix_c = np.divmod(np.arange(size * size), size)
    for layer, stride, radius in [
        ("bn1", 1, 1),  # the stem conv: 3x3 field
        ("layer1.0.bn1", 1, 2),
        ("layer1.1.bn2", 1, 5),
        ("layer2.0.bn1", 2, 6),
    ]:
        table = receptive_field_table(layer, size)
        n = size // stride
        assert table.shape == (n * n, size * size) and not table.flags.writeable
        q_r, q_c = np.divmod(np.arange(n * n), n)
        inside = (np.abs(pix_r[None] - stride * q_r[:, None]) <= radius) & (
            np.abs(pix_c[None] - stride * q_c[:, None]) <= radius
        )
        assert np.array_equal(table > 0, inside), layer
    assert receptive_field_table("layer4.1.bn2").shape == (16, 1024)
    with pytest.raises(ValueError, match="unknown mapper layer"):
        receptive_field_table("layer4.1.conv2")


def test_receptive_field_width_dependence():
    # a bn1 layer right after the stem is a pure rescaling across widths...
    a, b = receptive_field_table("layer1.0.bn1", 16, 4), receptive_field_table("layer1.0.bn1", 16)
    ratio = b[a > 0] / a[a > 0]
    assert np.allclose(ratio, ratio[0], rtol=1e-12)
    # ...but the identity shortcut of a bn2 layer is not scaled with the width
    a, b = receptive_field_table("layer1.0.bn2", 16, 4), receptive_field_table("layer1.0.bn2", 16)
    ratio = b[a > 0] / a[a > 0]
    assert not np.allclose(ratio, ratio[0], rtol=1e-6)


# --------------------------------------------------------------------------- GrabCut


def test_wrap_uint8_and_paper_input():
    x = np.array([-2.4, -1.5, -1.0, -0.99, 0.3, 1.7, 2.9, 256.7])
    assert wrap_uint8(x).tolist() == [254, 255, 255, 0, 0, 1, 2, 0]
    chw = np.zeros((3, 4, 6), dtype=np.float32)
    chw[2, 1, 5] = 1.5
    img = paper_grabcut_input(chw)
    assert img.shape == (6, 4, 3) and img.flags.c_contiguous and img[5, 1, 2] == 1


def test_prepared_uint8_roundtrip_and_grey():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    assert np.array_equal(prepared_uint8(rgb), rgb)
    grey = rng.integers(0, 256, size=(2, 28, 28, 1), dtype=np.uint8)
    out = prepared_uint8(grey)
    assert out.shape == (2, 32, 32, 3) and np.array_equal(out[:, 2:30, 2:30, 1], grey[..., 0])


def test_grabcut_masks_paper_is_transposed_corrected_is_not():
    images = square_images(2)
    corrected = grabcut_masks(images, mode="corrected", mean=MEAN, std=STD)
    paper = grabcut_masks(images, mode="paper", mean=MEAN, std=STD)
    truth = np.zeros((32, 32), bool)
    truth[4:16, 14:28] = True
    for masks, expected in ((corrected, truth), (paper, truth.T)):
        assert masks.errors == 0
        fg = masks.foreground[0]
        assert (fg & expected).sum() / expected.sum() > 0.8
        assert (fg & ~expected).sum() < 0.1 * expected.sum()
    assert np.array_equal(corrected.background, ~corrected.foreground)
    # paper mode: the grey test drops pixels whose normalised value is within (-1, 1) in
    # every channel (they become 0 in the uint8 cast): a mid-grey background vanishes
    grey = images.copy()
    grey[:, :, :] = 128
    grey[:, 4:16, 14:28] = 255
    paper_grey = grabcut_masks(grey, mode="paper", mean=MEAN, std=STD)
    assert not paper_grey.background.any()
    assert grabcut_masks(grey, mode="corrected", mean=MEAN, std=STD).background.any()
    again = grabcut_masks(images, mode="paper", mean=MEAN, std=STD)
    assert np.array_equal(again.foreground, paper.foreground)  # OpenCV RNG reseeded


def test_region_weights_and_select_topk():
    table = np.array([[1.0, 2.0, 0.0], [0.0, 3.0, 4.0]])
    masks = np.array([[True, True, False], [False, True, True]])
    w = region_weights(masks, table)
    np.testing.assert_allclose(w, [[np.sqrt(5), 3.0], [2.0, 5.0]])
    rng = np.random.default_rng(0)
    weights = np.array([[1.0, 3.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0], [4.0, 3.0, 2.0, 1.0]])
    top1, tied = select_topk(weights, 1, rng)
    assert top1[0, 0] in (1, 3) and top1[2, 0] == 0 and tied == 2
    top2, tied = select_topk(weights, 2, np.random.default_rng(0))
    assert top2[0].tolist() == [1, 3] and top2[2].tolist() == [0, 1] and tied == 1
    picks = {select_topk(weights[:1], 1, np.random.default_rng(s))[0][0, 0] for s in range(20)}
    assert picks == {1, 3}  # random among ties
    # strict: a strictly larger weight is always kept; only the tied places are random
    many = np.array([[2.0, 5.0, 2.0, 2.0, 1.0]])
    picks = set()
    for s in range(30):
        top2, tied = select_topk(many, 2, np.random.default_rng(s), ties="strict")
        assert 1 in top2[0] and tied == 1
        picks.add(tuple(top2[0]))
    assert picks == {(0, 1), (1, 2), (1, 3)}


def test_select_topk_paper_ties_draw_among_all_at_least_the_kth():
    """The official rule: k drawn among all positions >= the k-th largest weight."""
    many = np.array([[2.0, 5.0, 2.0, 2.0, 1.0]])  # 2nd largest 2.0: candidates 0, 1, 2, 3
    picks = set()
    for s in range(60):
        top2, tied = select_topk(many, 2, np.random.default_rng(s), ties="paper")
        expected = np.sort(np.random.default_rng(s).choice([0, 1, 2, 3], size=2, replace=False))
        assert top2[0].tolist() == expected.tolist() and tied == 1
        picks.add(tuple(top2[0]))
    assert picks == {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)}  # 1 can be dropped
    # the official expression: threshold = 5th of the ascending sort; keep >= it; if more
    # than 5, keep 5 of them -- the candidate set is the same as ours
    w = np.array([[0.0, 1.0, 3.0, 3.0, 3.0, 2.0, 3.0, 3.0, 3.0, 0.5]])
    threshold = w.flatten()[w.flatten().argsort()[-5:]][0]
    official = set(np.flatnonzero(w[0] >= threshold).tolist())
    assert official == {2, 3, 4, 6, 7, 8}
    for s in range(20):
        top5, _ = select_topk(w, 5, np.random.default_rng(s), ties="paper")
        assert set(top5[0].tolist()) <= official and len(set(top5[0].tolist())) == 5
    # no ties at the threshold: both rules keep the top k, no random draw
    exact = np.array([[4.0, 3.0, 2.0, 1.0], [1.0, 4.0, 4.0, 0.0]])
    for rule in ("paper", "strict"):
        top2, tied = select_topk(exact, 2, np.random.default_rng(0), ties=rule)
        assert top2.tolist() == [[0, 1], [1, 2]] and tied == 0
    # ties at the 2nd weight with one strictly larger: the two rules differ
    mixed = np.array([[5.0, 3.0, 3.0, 3.0]])
    strict = {
        tuple(select_topk(mixed, 2, np.random.default_rng(s), "strict")[0][0]) for s in range(40)
    }
    paper = {
        tuple(select_topk(mixed, 2, np.random.default_rng(s), "paper")[0][0]) for s in range(40)
    }
    assert strict == {(0, 1), (0, 2), (0, 3)}
    assert paper == {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)}
    with pytest.raises(ValueError, match="ties"):
        select_topk(mixed, 2, np.random.default_rng(0), ties="official")


# --------------------------------------------------------------------------- P4 / P5


@pytest.mark.parametrize("grabcut", ["corrected", "paper"])
def test_foreground_and_background_top1(model, grabcut):
    images = square_images(3)
    labels = np.zeros(3, dtype=np.int64)
    layer = "layer1.1.bn2"  # 32 x 32 positions, 11 x 11 receptive field
    fg = cloud(model, images, labels, layer, "foreground", grabcut=grabcut)
    bg = cloud(model, images, labels, layer, "background", grabcut=grabcut)
    rows, cols = np.divmod(fg["position"], 32)
    if grabcut == "paper":  # the official mask is transposed
        rows, cols = cols, rows
    assert np.all((rows >= 4) & (rows < 16) & (cols >= 14) & (cols < 28))
    b_rows, b_cols = np.divmod(bg["position"], 32)
    if grabcut == "paper":
        b_rows, b_cols = b_cols, b_rows
    assert not np.any((b_rows >= 4) & (b_rows < 16) & (b_cols >= 14) & (b_cols < 28))
    assert np.all(fg["position"] != bg["position"])
    # no ReLU: the points are the raw captured activations
    act, _ = dense(model, images, layer)
    for out in (fg, bg):
        expected = act[out["image_index"], :, out["position"] // 32, out["position"] % 32]
        np.testing.assert_allclose(out["points"], expected, rtol=1e-5, atol=1e-6)
        assert not out["meta"]["relu"] and out["meta"]["mask_fallbacks"] == 0


def test_paper_and_corrected_grabcut_differ_on_asymmetric_image(model):
    images = square_images(2)
    labels = np.zeros(2, dtype=np.int64)
    a = cloud(model, images, labels, "layer2.1.bn2", "foreground", grabcut="paper")
    b = cloud(model, images, labels, "layer2.1.bn2", "foreground", grabcut="corrected")
    assert not np.array_equal(a["position"], b["position"])
    assert a["meta"]["grabcut"] == "paper" and b["meta"]["grabcut"] == "corrected"


def test_top5_no_relu_and_reusable_masks(model, data):
    images, labels = data
    layer = "layer4.1.bn2"
    out = cloud(model, images, labels, layer, "foreground", topk=5, batch_size=4)
    assert out["points"].shape == (9 * 5, 32)
    assert np.array_equal(out["image_index"], np.repeat(np.arange(9), 5))
    for i in range(9):
        assert len(set(out["position"][out["image_index"] == i])) == 5
    assert (out["points"] < 0).any()  # pre-ReLU block output
    act, _ = dense(model, images, layer)
    expected = act[out["image_index"], :, out["position"] // 4, out["position"] % 4]
    np.testing.assert_allclose(out["points"], expected, rtol=1e-5, atol=1e-6)
    masks = grabcut_masks(images, mode="paper", mean=MEAN, std=STD)
    again = cloud(model, images, labels, layer, "foreground", topk=5, batch_size=4, masks=masks)
    assert_same_cloud(out, again)
    with pytest.raises(ValueError, match="do not match"):
        cloud(model, images, labels, layer, "foreground", grabcut="corrected", masks=masks)
    with pytest.raises(ValueError, match="topk"):
        cloud(model, images, labels, layer, "foreground", topk=17)


def test_empty_region_all_pixels_uses_the_largest_receptive_field(model):
    images = np.full((3, 32, 32, 3), 90, dtype=np.uint8)
    labels = np.zeros(3, dtype=np.int64)
    out = cloud(
        model,
        images,
        labels,
        "layer4.0.bn2",
        "foreground",
        grabcut="corrected",
        empty_mask="all_pixels",
    )
    assert out["meta"]["mask_fallbacks"] == 3 and out["points"].shape == (3, 32)
    table = receptive_field_table("layer4.0.bn2")
    best = np.argmax(np.sqrt((table**2).sum(axis=1)))
    assert np.all(out["position"] == best)
    assert out["meta"]["empty_mask"] == "all_pixels"


@pytest.mark.parametrize("topk", [1, 5])
@pytest.mark.parametrize("ties", ["paper", "strict"])
def test_empty_region_random_draws_uniform_positions(model, topk, ties):
    """Official: an empty region weighs every position 0, so the positions are random."""
    images = np.full((12, 32, 32, 3), 90, dtype=np.uint8)  # GrabCut finds no foreground
    labels = np.zeros(12, dtype=np.int64)
    layer = "layer4.0.bn2"  # 4 x 4 = 16 positions
    out = cloud(
        model,
        images,
        labels,
        layer,
        "foreground",
        grabcut="corrected",
        topk=topk,
        seed=3,
        ties=ties,
    )
    assert out["meta"]["mask_fallbacks"] == 12 and out["meta"]["empty_mask"] == "random"
    rng = oracle_rng(3, layer)  # one draw of k among all 16 positions per image, in order
    expected = [np.sort(rng.choice(np.arange(16), size=topk, replace=False)) for _ in range(12)]
    assert np.array_equal(out["position"], np.concatenate(expected))
    assert len(np.unique(out["position"])) > 1 and out["meta"]["n_ties"] == 12


# --------------------------------------------------------------------------- P6 noise


def test_noise_is_seeded_and_batch_independent(model, data):
    images, labels = data
    layer = "layer4.1.bn2"
    clean = cloud(model, images, labels, layer, "full")
    zero = cloud(model, images, labels, layer, "full", sigma=0.0)
    assert_same_cloud(clean, zero)
    a = cloud(model, images, labels, layer, "full", sigma=0.5, seed=1, batch_size=2)
    b = cloud(model, images, labels, layer, "full", sigma=0.5, seed=1, batch_size=5)
    c = cloud(model, images, labels, layer, "full", sigma=0.5, seed=2)
    assert_same_cloud(a, b, exact=False)
    assert_same_cloud(
        a, cloud(model, images, labels, layer, "full", sigma=0.5, seed=1, batch_size=2)
    )
    assert not np.array_equal(a["points"], c["points"])
    assert not np.array_equal(a["points"], clean["points"])
    act, pred = dense(model, images, layer, sigma=0.5, seed=1)
    rows, _, _ = full_order(act, labels)
    np.testing.assert_allclose(a["points"], rows, rtol=1e-5, atol=1e-6)
    assert np.array_equal(a["correct"], pred == labels)
    assert a["meta"]["sigma"] == 0.5
    # noise with the foreground method: GrabCut sees the clean images
    fg = cloud(model, images, labels, layer, "foreground", sigma=0.5, seed=1)
    fg_clean = cloud(model, images, labels, layer, "foreground", seed=1)
    assert np.array_equal(fg["position"], fg_clean["position"])
    assert not np.array_equal(fg["points"], fg_clean["points"])


# --------------------------------------------------------------------------- determinism, errors


@pytest.mark.parametrize(
    "method,kw",
    [
        ("random", {}),
        ("full", {"cap": 100}),
        ("foreground", {"topk": 5}),
        ("background", {"topk": 5}),
    ],
)
def test_deterministic_given_seed(model, data, method, kw):
    images, labels = data
    a = cloud(model, images, labels, "layer1.1.bn1", method, seed=11, **kw)
    assert_same_cloud(a, cloud(model, images, labels, "layer1.1.bn1", method, seed=11, **kw))
    b = cloud(model, images, labels, "layer1.1.bn1", method, seed=11, batch_size=2, **kw)
    assert_same_cloud(a, b, exact=False)
    meta = a["meta"]
    for key in ("method", "layer", "seed", "cap", "replace", "topk", "grabcut", "sigma"):
        assert key in meta
    assert meta["n_images"] == 9 and meta["n_rows_total"] == 9 * 32 * 32
    assert set(meta["per_class_accuracy"]) == {"0", "1", "2"}
    if method in ("random", "full"):
        c = cloud(model, images, labels, "layer1.1.bn1", method, seed=12, **kw)
        assert not np.array_equal(a["position"], c["position"])


def test_errors(model, data):
    images, labels = data
    with pytest.raises(ValueError, match="unknown point-cloud method"):
        cloud(model, images, labels, "bn1", "top_l2")
    with pytest.raises(ValueError, match="unknown mapper layer"):
        cloud(model, images, labels, "layer1.0.conv1", "random")
    with pytest.raises(ValueError, match="topk"):
        cloud(model, images, labels, "bn1", "foreground", topk=0)
    with pytest.raises(ValueError, match="cap"):
        cloud(model, images, labels, "bn1", "full", cap=0)
    with pytest.raises(ValueError, match="grabcut"):
        cloud(model, images, labels, "bn1", "foreground", grabcut="fixed")
    with pytest.raises(ValueError, match="class-major"):
        cloud(model, images, labels[::-1].copy(), "bn1", "random")
    with pytest.raises(ValueError, match="sigma"):
        cloud(model, images, labels, "bn1", "random", sigma=-1.0)
    with pytest.raises(ValueError, match="resnet18_mapper"):
        build_cloud(
            build_model("resnet18_cifar", 4),
            images,
            labels,
            "layer1.0.bn1",
            "random",
            seed=0,
            mean=MEAN,
            std=STD,
        )
    classes, starts, counts = class_blocks(np.array([0, 0, 2, 2, 2, 5]))
    assert classes.tolist() == [0, 2, 5] and starts.tolist() == [0, 2, 5]
    assert counts.tolist() == [2, 3, 1]


def test_model_mode_restored_and_relu_check(model, data):
    images, labels = data
    model.train()
    try:
        out = cloud(model, images, labels, "layer4.1.bn2", "random")
        assert model.training
    finally:
        model.eval()
    assert (out["points"] >= 0).all()
    assert F.relu(torch.from_numpy(out["points"])).equal(torch.from_numpy(out["points"]))


# --------------------------------------------------------------------------- any network


class _Tokens(nn.Module):
    """(N, c, h, w) -> (N, h*w, c): every position a token, as a vision transformer's."""

    def forward(self, x):
        return x.flatten(2).transpose(1, 2)


class _AnyNet(nn.Module):
    """Outputs of every shape: conv (6, 4, 4), tokens (16, 5), 1x1 map (6, 1, 1), vector (6,)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.tokens = _Tokens()
        self.mix = nn.Linear(6, 5)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(6, 3)
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        a = self.conv(x)
        return self.fc(self.flat(self.pool(a))) + self.head(self.mix(self.tokens(a)).mean(1))


ANY_SHAPES = {"conv": (6, 4, 4), "mix": (16, 5), "pool": (6, 1, 1), "flat": (6,)}


@pytest.mark.parametrize("layer", list(ANY_SHAPES))
def test_random_and_full_clouds_of_any_network_and_output_shape(layer):
    torch.manual_seed(0)
    net = _AnyNet().eval()
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, size=(6, 8, 8, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(3), 2)
    act, _ = dense(net, images, layer, size=8)
    assert act.shape[1:] == ANY_SHAPES[layer]
    # as (N, c, h, w): tokens are rows of one column, a vector is one position
    grid = {2: lambda a: a.transpose(0, 2, 1)[..., None], 1: lambda a: a[:, :, None, None]}
    act = grid.get(act.ndim - 1, lambda a: a)(act)
    n, c, h, w = act.shape
    kw = {"image_size": 8, "shape": ANY_SHAPES[layer], "batch_size": 4}
    out = cloud(net, images, labels, layer, "random", seed=1, **kw)
    lows = [0 if size == 1 else 1 for size in (h, w)]
    draws = oracle_rng(1, layer).integers(lows, [h, w], size=(n, 2))
    assert np.array_equal(out["position"], draws[:, 0] * w + draws[:, 1])
    expected = np.maximum(act[np.arange(n), :, draws[:, 0], draws[:, 1]], 0)
    np.testing.assert_allclose(out["points"], expected, rtol=1e-5, atol=1e-6)
    assert out["meta"]["shape"] == [c, h, w]
    full = cloud(net, images, labels, layer, "full", **kw)
    rows, img, pos = full_order(act, labels)
    np.testing.assert_allclose(full["points"], rows, rtol=1e-5, atol=1e-6)
    assert np.array_equal(full["image_index"], img) and np.array_equal(full["position"], pos)
    with pytest.raises(ValueError, match="receptive-field table of the option-B"):
        cloud(net, images, labels, layer, "foreground", **kw)
    with pytest.raises(ValueError, match="unknown mapper layer"):
        cloud(net, images, labels, layer, "random")  # without a shape: the mapper network's
