"""Hooks capture the right tensors; streamed shards equal one full forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnntopo.nets.activations import (
    MANIFEST_KEYS,
    capture,
    extract_activations,
    load_activations,
    read_manifest,
)
from cnntopo.nets.datasets import ImageSet
from cnntopo.nets.models import conv_layer_names, init_model
from cnntopo.nets.transforms import to_model_input

torch.set_num_threads(1)

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)


def random_images(n: int = 7, size: int = 32, seed: int = 0) -> ImageSet:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, size, size, 3)).astype(np.uint8)
    labels = rng.integers(0, 10, size=n)
    return ImageSet(
        images,
        labels,
        [str(i) for i in range(10)],
        "synthetic",
        "test",
        indices=np.arange(100, 100 + n),
    )


@pytest.fixture(scope="module")
def model():
    m = init_model("resnet18_cifar", 4, 10, seed=0)
    # non-trivial BN statistics so that BN is not the identity in eval mode
    with torch.no_grad():
        for module in m.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(1))
                module.running_var.uniform_(0.5, 2.0, generator=torch.Generator().manual_seed(2))
    return m.eval()


def test_capture_conv1_is_raw_conv_output(model):
    x = to_model_input(random_images(3).images, MEAN, STD)
    with torch.no_grad(), capture(model, ["conv1"]) as store:
        model(x)
        expected = model.conv1(x)
    assert torch.equal(store["conv1"], expected)
    assert (store["conv1"] < 0).any()  # pre-BN, pre-ReLU
    assert not model.conv1._forward_hooks  # removed on exit


def test_capture_block_conv_equals_recomputation(model):
    x = to_model_input(random_images(2).images, MEAN, STD)
    name = "block_seq.1.0.conv2"
    with torch.no_grad(), capture(model, ["block_seq.1.0.conv1", name]) as store:
        model(x)
        h = model.relu(model.bn1(model.conv1(x)))
        h = model.block_seq[0](h)
        block = model.block_seq[1][0]
        c1 = block.conv1(h)
        c2 = block.conv2(block.r1(block.bn1(c1)))
    assert torch.allclose(store["block_seq.1.0.conv1"], c1, atol=1e-6)
    assert torch.allclose(store[name], c2, atol=1e-6)
    assert store[name].shape == (2, 8, 16, 16)


def test_capture_removes_hooks_on_error_and_rejects_unknown(model):
    with pytest.raises(RuntimeError, match="boom"), capture(model, ["conv1"]):
        raise RuntimeError("boom")
    assert not model.conv1._forward_hooks
    with pytest.raises(KeyError, match="layers not in the model: nope"):
        with capture(model, ["nope"]):
            pass


@pytest.mark.parametrize("before", [(True, True), (False, True), (True, False)])
def test_capture_turns_tf32_off_and_restores_it(model, before):
    """TF32 is off while activations are captured; the caller's flags come back after,
    also when the block raises."""
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (matmul.allow_tf32, cudnn.allow_tf32)
    try:
        matmul.allow_tf32, cudnn.allow_tf32 = before
        seen = []

        def spy(*_):
            seen.append((matmul.allow_tf32, cudnn.allow_tf32))

        handle = model.conv1.register_forward_hook(spy)
        try:
            with capture(model, ["conv1"]) as store:
                assert (matmul.allow_tf32, cudnn.allow_tf32) == (False, False)
                model(to_model_input(random_images(2).images, MEAN, STD))
        finally:
            handle.remove()
        assert seen == [(False, False)] and "conv1" in store
        assert (matmul.allow_tf32, cudnn.allow_tf32) == before
        with pytest.raises(RuntimeError, match="boom"), capture(model, ["conv1"]):
            assert (matmul.allow_tf32, cudnn.allow_tf32) == (False, False)
            raise RuntimeError("boom")
        assert (matmul.allow_tf32, cudnn.allow_tf32) == before
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = saved


def test_streamed_extraction_equals_full_forward(model, tmp_path):
    images = random_images(7)
    layers = conv_layer_names(model)
    logs = []
    manifest = extract_activations(
        model,
        images,
        layers,
        tmp_path,
        mean=MEAN,
        std=STD,
        batch_size=3,
        device="cpu",
        extra_meta={"seed": 5},
        log=logs.append,
    )
    x = to_model_input(images.images, MEAN, STD)
    with torch.no_grad(), capture(model, layers) as store:
        logits = model(x)
    for name in layers:
        shard = np.load(tmp_path / f"{name}.npy", mmap_mode="r")
        assert shard.dtype == np.float32 and shard.shape == tuple(store[name].shape)
        np.testing.assert_allclose(shard, store[name].numpy(), rtol=1e-5, atol=1e-6)
        assert isinstance(load_activations(tmp_path, name), np.memmap)
    assert [entry["name"] for entry in manifest["layers"]] == layers
    assert manifest["layers"][0] == {
        "name": "conv1",
        "file": "conv1.npy",
        "shape": [7, 4, 32, 32],
        "dtype": "float32",
    }
    assert manifest["n_images"] == 7 and manifest["batch_size"] == 3
    assert manifest["image_indices"] == list(range(100, 107))
    assert manifest["labels"] == images.labels.tolist()
    predictions = logits.argmax(1).numpy()
    assert manifest["predictions"] == predictions.tolist()
    assert manifest["accuracy"] == pytest.approx(np.mean(predictions == images.labels))
    assert manifest["seed"] == 5
    assert set(MANIFEST_KEYS) | {"seed"} == set(manifest)
    assert read_manifest(tmp_path) == manifest
    assert len(logs) == 3 and logs[-1].startswith("batch 3/3 (7/7 images)")
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == sorted([f"{n}.npy" for n in layers] + ["manifest.json"])


def test_float16_shards(model, tmp_path):
    manifest = extract_activations(
        model,
        random_images(4),
        ["conv1", "block_seq.3.1.conv2"],
        tmp_path,
        mean=MEAN,
        std=STD,
        batch_size=4,
        device="cpu",
        dtype="float16",
    )
    arr = load_activations(tmp_path, "block_seq.3.1.conv2", mmap=False)
    assert arr.dtype == np.float16 and arr.shape == (4, 32, 4, 4)
    assert manifest["dtype"] == "float16"


class _Boom(RuntimeError):
    pass


def test_failure_midway_leaves_nothing(model, tmp_path):
    (tmp_path / "manifest.json").write_text("{}")  # stale outputs of an earlier run
    (tmp_path / "conv1.npy").write_text("old")
    calls = {"n": 0}

    def fail_on_second_batch(_module, _inputs, _output):
        calls["n"] += 1
        if calls["n"] == 2:
            raise _Boom("disk on fire")

    handle = model.linear.register_forward_hook(fail_on_second_batch)
    try:
        with pytest.raises(_Boom):
            extract_activations(
                model,
                random_images(7),
                ["conv1", "block_seq.0.0.conv1"],
                tmp_path,
                mean=MEAN,
                std=STD,
                batch_size=3,
                device="cpu",
            )
    finally:
        handle.remove()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        load_activations(tmp_path, "conv1")


def test_bad_args_touch_nothing_and_rerun_replaces(model, tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "conv1.npy").write_text("old")
    with pytest.raises(ValueError, match="clash"):
        extract_activations(
            model,
            random_images(2),
            ["conv1"],
            tmp_path,
            mean=MEAN,
            std=STD,
            device="cpu",
            extra_meta={"labels": []},
        )
    with pytest.raises(KeyError, match="layers not in the model"):
        extract_activations(
            model, random_images(2), ["conv9"], tmp_path, mean=MEAN, std=STD, device="cpu"
        )
    with pytest.raises(ValueError, match="dtype"):
        extract_activations(
            model,
            random_images(2),
            ["conv1"],
            tmp_path,
            mean=MEAN,
            std=STD,
            device="cpu",
            dtype="int8",
        )
    assert (tmp_path / "conv1.npy").read_text() == "old"  # validation errors touch nothing
    extract_activations(
        model, random_images(2), ["conv1"], tmp_path, mean=MEAN, std=STD, device="cpu"
    )
    assert load_activations(tmp_path, "conv1").shape == (2, 4, 32, 32)
    assert read_manifest(tmp_path)["n_images"] == 2
    with pytest.raises(KeyError, match="not in .*available: conv1"):
        load_activations(tmp_path, "block_seq.0.0.conv1")


class _TokenNet(torch.nn.Module):
    """Patches -> tokens -> one transformer block (tuple-returning attention inside) -> logits."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = torch.nn.Conv2d(3, 8, kernel_size=8, stride=8)
        self.attn = torch.nn.MultiheadAttention(8, 2, batch_first=True)
        self.block = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        self.head = torch.nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)  # (B, 16, 8)
        tokens = tokens + self.attn(tokens, tokens, tokens)[0]
        return self.head(self.block(tokens).mean(dim=1))


def test_token_and_tuple_outputs_and_memory_bound(tmp_path):
    """Transformer outputs (N, tokens, d), tuple outputs and (N, c) heads; a batch bound
    that forces single-image batches gives the same shards as one full forward pass."""
    torch.manual_seed(0)
    net = _TokenNet().eval()
    images = random_images(5)
    layers = ["patch", "attn", "block", "head"]
    x = to_model_input(images.images, MEAN, STD)
    with torch.no_grad():
        tokens = net.patch(x).flatten(2).transpose(1, 2)
        oracle = {
            "patch": net.patch(x),
            "attn": net.attn(tokens, tokens, tokens)[0],
        }
        oracle["block"] = net.block(tokens + oracle["attn"])
        oracle["head"] = net(x)
    per_image_mb = 4 * (8 * 4 * 4 + 16 * 8 + 16 * 8 + 10) / 2**20
    logs = []
    manifest = extract_activations(
        net,
        images,
        layers,
        tmp_path,
        mean=MEAN,
        std=STD,
        batch_size=4,
        device="cpu",
        max_batch_mb=1.5 * per_image_mb,
        log=logs.append,
    )
    assert manifest["batch_size"] == 1 and logs[0].startswith("batch size 4 -> 1")
    shapes = {e["name"]: e["shape"] for e in manifest["layers"]}
    assert shapes == {
        "patch": [5, 8, 4, 4],
        "attn": [5, 16, 8],
        "block": [5, 16, 8],
        "head": [5, 10],
    }
    for name in layers:
        np.testing.assert_allclose(
            load_activations(tmp_path, name), oracle[name].numpy(), rtol=1e-5, atol=1e-6
        )


# ---------------------------------------------------------------------------
# non-finite activations are refused
# ---------------------------------------------------------------------------


class _Gate(torch.nn.Module):
    """Multiplies the images marked in ``mask`` by ``factor`` (NaN, or a float16 overflow)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor, self.mask = factor, None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        scale = torch.where(self.mask, self.factor, 1.0).to(h.dtype)
        return h * scale[:, None, None, None]


class _Planted(torch.nn.Module):
    """conv -> gate (bright images: ``factor``) -> pool -> head; bright = all pixels 255."""

    def __init__(self, factor: float):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3, padding=1)
        self.gate = _Gate(factor)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.head = torch.nn.Linear(2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.gate.mask = x.mean(dim=(1, 2, 3)) > 2.0  # (255/255 - 0.49) / 0.2 = 2.5
        h = self.pool(self.gate(self.conv(x)))
        return self.head(h.flatten(1))


def _planted_images(bright=(1, 4, 5), n: int = 7) -> ImageSet:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 100, size=(n, 8, 8, 3)).astype(np.uint8)  # normalised: < 0.1
    images[list(bright)] = 255
    return ImageSet(images, np.zeros(n, dtype=np.int64), [str(i) for i in range(10)], "s", "test")


@pytest.mark.parametrize("batch_size", [2, 7])
def test_nan_activations_are_refused_per_layer_with_counts(tmp_path, batch_size):
    from cnntopo.nets.activations import NonFiniteActivationsError

    torch.manual_seed(0)
    model = _Planted(float("nan"))
    with pytest.raises(NonFiniteActivationsError) as err:
        extract_activations(
            model,
            _planted_images(),
            ["conv", "gate", "pool"],
            tmp_path,
            mean=(0.49,) * 3,
            std=(0.2,) * 3,
            batch_size=batch_size,
            image_size=8,
            device="cpu",
            extra_meta={"seed": 3, "weights": "models/seed3/weights.pt"},
        )
    assert err.value.counts == {"gate": 3, "pool": 3}  # conv (before the gate) is finite
    assert err.value.overflow == {}
    message = str(err.value)
    assert "seed 3" in message and "models/seed3/weights.pt" in message
    assert "gate: 3 of 7 images" in message and "pool: 3 of 7 images" in message
    assert "'conv'" not in message and "first 'gate'" in message
    assert not list(tmp_path.iterdir())  # no shard, no manifest, no temporary file


def test_float16_overflow_is_refused_with_the_dtype_hint(tmp_path):
    from cnntopo.nets.activations import NonFiniteActivationsError

    torch.manual_seed(0)
    model = _Planted(1e7)  # finite in float32, beyond float16's 65504
    kwargs = dict(mean=(0.49,) * 3, std=(0.2,) * 3, batch_size=4, image_size=8, device="cpu")
    images = _planted_images(bright=(2, 6))
    with pytest.raises(NonFiniteActivationsError, match="activations.dtype: float32") as err:
        extract_activations(model, images, ["gate"], tmp_path, dtype="float16", **kwargs)
    assert err.value.counts == {"gate": 2} and err.value.overflow == {"gate": 2}
    # the same activations stored as float32 are finite and kept
    manifest = extract_activations(model, images, ["gate"], tmp_path, dtype="float32", **kwargs)
    assert manifest["n_images"] == 7
    stored = load_activations(tmp_path, "gate")
    assert np.isfinite(stored).all() and np.abs(stored[[2, 6]]).max() > 65504
