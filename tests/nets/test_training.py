"""The training recipe: schedule, config parsing, determinism, learning, evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from cnntopo.nets.datasets import ImageSet
from cnntopo.nets.models import init_model
from cnntopo.nets.training import (
    TrainRecipe,
    evaluate,
    lr_multiplier,
    select_device,
    steps_per_epoch,
    train_model,
)

torch.set_num_threads(1)

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)


def bright_dark(n: int, size: int = 16, seed: int = 0, split: str = "train") -> ImageSet:
    """Class 0 = dark noisy images (pixels 0-99), class 1 = bright ones (156-255)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    base = np.where(labels == 1, 156, 0).reshape(n, 1, 1, 1)
    images = (base + rng.integers(0, 100, size=(n, size, size, 3))).astype(np.uint8)
    return ImageSet(images, labels, ["dark", "bright"], "synthetic", split)


def small_recipe(**kw) -> TrainRecipe:
    defaults = dict(epochs=2, batch_size=16, lr=0.05, lr_peak_epoch=1, eval_batch_size=64)
    return TrainRecipe(**{**defaults, **kw})


def test_paper_defaults():
    r = TrainRecipe()
    assert (r.epochs, r.batch_size, r.lr, r.momentum, r.weight_decay) == (24, 1024, 1.0, 0.9, 5e-4)
    assert (r.schedule, r.lr_peak_epoch, r.flip, r.translate, r.cutout) == (
        "triangular",
        5,
        True,
        2,
        8,
    )
    assert r.drop_last and not r.nesterov and r.label_smoothing == 0.0
    assert steps_per_epoch(50_000, 1024) == 48  # the paper's iters_per_epoch


def test_triangular_schedule_values():
    r = TrainRecipe()
    spe = 48
    values = [lr_multiplier(s, spe, r) for s in range(25 * spe)]
    assert values[0] == 0.0
    assert values[5 * spe] == 1.0
    assert values[24 * spe] == 0.0 and values[-1] == 0.0
    assert values[5 * spe // 2] == pytest.approx(0.5)
    # linear pieces: constant first differences on each side of the peak
    up, down = np.diff(values[: 5 * spe + 1]), np.diff(values[5 * spe : 24 * spe + 1])
    assert np.allclose(up, 1 / (5 * spe)) and np.allclose(down, -1 / (19 * spe))
    # identical to the official np.interp table
    table = np.interp(np.arange(25 * spe), [0, 5 * spe, 24 * spe], [0, 1, 0])
    assert np.allclose(values[: 25 * spe], table, rtol=0, atol=1e-12)


def test_other_schedules():
    r = TrainRecipe(schedule="multistep", epochs=300, milestones=(150, 250), gamma=0.1)
    assert lr_multiplier(149 * 10 + 9, 10, r) == 1.0
    assert lr_multiplier(150 * 10, 10, r) == pytest.approx(0.1)
    assert lr_multiplier(250 * 10, 10, r) == pytest.approx(0.01)
    assert lr_multiplier(123, 10, TrainRecipe(schedule="constant")) == 1.0
    assert lr_multiplier(0, 10, TrainRecipe(lr_peak_epoch=0)) == 1.0


def test_from_dict_rejects_unknown_keys():
    r = TrainRecipe.from_dict(
        {"epochs": 3, "lr_peak_epoch": 1, "milestones": [1, 2], "tta": "paper"}
    )
    assert r.epochs == 3 and r.milestones == (1, 2) and r.tta == "paper"
    with pytest.raises(
        ValueError, match=r"unknown training recipe key\(s\): epoch, lrr; allowed: epochs"
    ):
        TrainRecipe.from_dict({"epoch": 3, "lrr": 1.0})
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainRecipe(schedule="cosine")
    with pytest.raises(ValueError, match="lr_peak_epoch"):
        TrainRecipe(epochs=3, lr_peak_epoch=5)
    assert TrainRecipe.from_dict(TrainRecipe().to_dict()) == TrainRecipe()


def test_select_device():
    assert select_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            select_device("cuda")
    with pytest.raises(ValueError, match="invalid device"):
        select_device("gpu0")


def test_training_learns_bright_vs_dark():
    train, test = bright_dark(96, seed=0), bright_dark(64, seed=1, split="test")
    model = init_model("resnet18_cifar", 4, 2, seed=0)
    lines = []
    result = train_model(
        model,
        train,
        test,
        small_recipe(epochs=3),
        seed=0,
        mean=MEAN,
        std=STD,
        device="cpu",
        image_size=16,
        log=lines.append,
        progress_every=math.inf,  # only the epoch lines
    )
    assert result["test_acc"] >= 0.9
    assert result["steps"] == 3 * (96 // 16) and result["steps_per_epoch"] == 6
    assert result["n_train_images"] == 96 and result["device"] == "cpu"
    assert not model.training
    assert [h["epoch"] for h in result["history"]] == [1, 2, 3]
    assert set(result["history"][0]) == {
        "epoch",
        "train_loss",
        "train_acc",
        "test_acc",
        "test_loss",
        "lr",
        "seconds",
    }
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3 loss ")
    assert " train_acc " in lines[0] and " test_acc " in lines[0] and " eta " in lines[0]
    assert lines[-1].endswith(" eta 0s")
    # lr of the last step of epoch 1 (peak at the end of epoch 1 of 3): multiplier 5/6
    assert result["history"][0]["lr"] == pytest.approx(0.05 * 5 / 6)


def test_progress_lines_inside_epochs_leave_training_unchanged():
    """With progress_every=0 a line follows every step; the weights are those of a silent run."""
    lines = []
    model = init_model("resnet18_cifar", 4, 2, seed=0)
    train_model(
        model,
        bright_dark(64),
        None,
        small_recipe(epochs=2),
        seed=5,
        mean=MEAN,
        std=STD,
        device="cpu",
        image_size=16,
        log=lines.append,
        progress_every=0,
    )
    # 4 steps per epoch: four progress lines, then the epoch's line
    assert len(lines) == 2 * (4 + 1)
    assert lines[0].startswith("epoch 1 step 1/4 loss ") and " train_acc " in lines[0]
    assert " | 1/8 steps (12.5%) elapsed " in lines[0] and " eta " in lines[0]
    assert lines[6].startswith("epoch 2 step 2/4 ") and " | 6/8 steps (75.0%) " in lines[6]
    assert lines[4].startswith("epoch 1/2 loss ") and lines[9].startswith("epoch 2/2 loss ")
    silent = _train_weights(seed=5, epochs=2)
    assert all(torch.equal(v, silent[k]) for k, v in model.state_dict().items())


def _train_weights(seed: int, init_seed: int = 0, **kw) -> dict[str, torch.Tensor]:
    model = init_model("resnet18_cifar", 4, 2, seed=init_seed)
    train_model(
        model,
        bright_dark(64),
        None,
        small_recipe(**kw),
        seed=seed,
        mean=MEAN,
        std=STD,
        device="cpu",
        image_size=16,
        log=None,
    )
    return model.state_dict()


def test_same_seed_identical_weights_different_seed_differs():
    torch.manual_seed(0)
    rng_before = torch.random.get_rng_state()
    a, b, c = _train_weights(1), _train_weights(1), _train_weights(2)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # global RNG untouched
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_max_train_images_subset_and_no_full_batch():
    model = init_model("resnet18_cifar", 4, 2, seed=0)
    result = train_model(
        model,
        bright_dark(64),
        None,
        small_recipe(epochs=1, max_train_images=32),
        seed=0,
        mean=MEAN,
        std=STD,
        device="cpu",
        image_size=16,
        log=None,
    )
    assert result["n_train_images"] == 32 and result["steps"] == 2 and result["test_acc"] is None
    with pytest.raises(ValueError, match="no full batch"):
        train_model(
            model,
            bright_dark(8),
            None,
            small_recipe(),
            seed=0,
            mean=MEAN,
            std=STD,
            device="cpu",
            image_size=16,
            log=None,
        )


class _Spy(nn.Module):
    """Records its inputs; logits = per-channel means (so RGB order matters)."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.inputs: list[torch.Tensor] = []

    def forward(self, x):
        self.inputs.append(x.clone())
        return x.mean(dim=(2, 3))


def _rgb_images(n: int = 4) -> ImageSet:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 16, 16, 3)).astype(np.uint8)
    images[..., 0] = 250  # red channel bright: class 0 = argmax of the red-first logits
    return ImageSet(images, np.zeros(n, dtype=np.int64), ["r", "g", "b"], "synthetic", "test")


def test_tta_paper_flips_channels_and_flip_flips_width():
    data = _rgb_images()
    spy = _Spy()
    out = evaluate(spy, data, mean=MEAN, std=STD, device="cpu", tta="paper", image_size=16)
    x, flipped = spy.inputs
    assert torch.equal(flipped, torch.flip(x, dims=[1]))  # channel axis: RGB -> BGR
    assert torch.equal(flipped[:, 0], x[:, 2])
    assert out["n"] == 4
    spy.inputs.clear()
    evaluate(spy, data, mean=MEAN, std=STD, device="cpu", tta="flip", image_size=16)
    x, flipped = spy.inputs
    assert torch.equal(flipped, x.flip(3))  # width axis


def test_evaluate_accuracy_and_loss():
    data = _rgb_images(6)
    spy = _Spy()
    spy.train()
    result = evaluate(spy, data, mean=MEAN, std=STD, device="cpu", batch_size=4, image_size=16)
    assert result["accuracy"] == 1.0  # red channel always largest
    logits = torch.cat(spy.inputs).mean(dim=(2, 3))
    expected = nn.functional.cross_entropy(logits, torch.zeros(6, dtype=torch.int64)).item()
    assert result["loss"] == pytest.approx(expected, rel=1e-6)
    assert spy.training  # mode restored


def test_channels_last_and_mixed_precision_switches_on_cpu():
    model = init_model("resnet18_cifar", 4, 2, seed=0)
    recipe = small_recipe(epochs=1, channels_last="on", mixed_precision="on")
    result = train_model(
        model,
        bright_dark(32),
        None,
        recipe,
        seed=0,
        mean=MEAN,
        std=STD,
        device="cpu",
        image_size=16,
        log=None,
    )
    assert result["channels_last"] is True
    assert result["mixed_precision"] is False  # fp16 autocast is CUDA-only
    assert model.conv1.weight.is_contiguous()  # back to the default format
    assert all(torch.isfinite(p).all() for p in model.parameters())
    with pytest.raises(ValueError, match="mixed_precision must be"):
        TrainRecipe(mixed_precision="fp16")


def test_on_epoch_sees_the_weights_after_every_epoch():
    # with a constant rate, the weights after epoch 1 of 2 are those of a 1-epoch run
    snapshots = {}
    model = init_model("resnet18_cifar", 4, 2, seed=0)
    train_model(
        model,
        bright_dark(64),
        None,
        small_recipe(epochs=2, schedule="constant"),
        seed=3,
        mean=MEAN,
        std=STD,
        device="cpu",
        image_size=16,
        log=None,
        on_epoch=lambda e, m: snapshots.setdefault(
            e, {k: v.detach().clone() for k, v in m.state_dict().items()}
        ),
    )
    assert sorted(snapshots) == [1, 2]
    one = _train_weights(seed=3, epochs=1, schedule="constant")
    assert all(torch.equal(v, snapshots[1][k]) for k, v in one.items())
    assert all(torch.equal(v, snapshots[2][k]) for k, v in model.state_dict().items())
    assert not all(torch.equal(v, snapshots[1][k]) for k, v in snapshots[2].items())


# ---------------------------------------------------------------------------
# a non-finite loss stops training
# ---------------------------------------------------------------------------


class _NaNAfter(nn.Module):
    """A tiny classifier whose forward returns ``logits * nan`` from its ``bad_call``-th call on."""

    def __init__(self, bad_call: int, size: int = 16):
        super().__init__()
        self.fc = nn.Linear(3 * size * size, 2)
        self.bad_call, self.calls = bad_call, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        out = self.fc(x.flatten(1))
        return out * float("nan") if self.calls >= self.bad_call else out


def _train(model, recipe, test=None):
    return train_model(
        model,
        bright_dark(96),
        test,
        recipe,
        seed=0,
        mean=MEAN,
        std=STD,
        device="cpu",
        image_size=16,
        log=None,
    )


def test_a_forward_that_gives_nan_stops_training_at_the_first_batch():
    from cnntopo.nets.training import NonFiniteLossError

    model = _NaNAfter(bad_call=1)
    with pytest.raises(NonFiniteLossError, match="epoch 1, batch 1 of 6") as err:
        _train(model, small_recipe(epochs=3), test=bright_dark(32, split="test"))
    assert (err.value.epoch, err.value.batch, err.value.lr) == (1, 1, 0.0)  # triangular: 0 first
    assert math.isnan(err.value.loss)
    assert "before any weight update" in str(err.value) and "forward" in str(err.value)
    assert model.calls == 6  # one epoch's steps (checked at its end), no evaluation, no epoch 2


def test_a_later_nan_names_its_epoch_batch_and_learning_rate():
    from cnntopo.nets.training import NonFiniteLossError, lr_multiplier

    recipe = small_recipe(epochs=5, lr_peak_epoch=2)
    model = _NaNAfter(bad_call=20)  # 6 steps per epoch: call 20 = epoch 4, batch 2
    with pytest.raises(NonFiniteLossError) as err:
        _train(model, recipe)
    assert (err.value.epoch, err.value.batch) == (4, 2)
    assert err.value.lr == pytest.approx(0.05 * lr_multiplier(19, 6, recipe))
    message = str(err.value)
    assert "epoch 4, batch 2 of 6" in message and "diverged" in message
    assert "training.lr" in message and f"{err.value.lr:.4g}" in message
    assert model.calls == 24  # stopped at the end of epoch 4, epoch 5 never ran


def test_a_learning_rate_that_diverges_stops_training():
    from cnntopo.nets.training import NonFiniteLossError

    model = init_model("resnet18_cifar", 4, 2, seed=0)
    with pytest.raises(NonFiniteLossError, match="lower the learning rate") as err:
        _train(model, small_recipe(epochs=3, lr=1e12, schedule="constant"))
    assert (err.value.epoch, err.value.batch) != (1, 1)  # the first step is finite
    assert err.value.lr == 1e12
