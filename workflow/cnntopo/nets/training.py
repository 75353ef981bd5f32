"""The paper's training recipe (official ``ffcv_cifar10_train.py``), evaluation, devices.

Purvine et al. (2023) train 100 CIFAR ResNet-18s with the FFCV CIFAR-10 example
recipe (Leclerc et al. 2022): SGD (lr 1.0, momentum 0.9, weight decay 5e-4 on all
parameters), batch 1024 with ``drop_last``, a per-iteration triangular learning-rate
multiplier (0 -> 1 over 5 epochs, back to 0 at epoch 24), random flip, translate (2 px)
and Cutout (8 px, mean colour) before normalisation, fp16 autocast with ``GradScaler``
and ``channels_last`` on the GPU. :class:`TrainRecipe` holds these values as defaults;
every one is configurable.

Unlike the original (which sets no seed), all randomness of a run -- the optional
training subset, the data order and the augmentation -- comes from one
:class:`torch.Generator` seeded with ``seed``; the initial weights come from
:func:`cnntopo.nets.models.init_model`. The global RNG is never used, so on the CPU two
runs with the same seeds give bit-identical weights.

References
----------
.. [1] He, K., Zhang, X., Ren, S., and Sun, J. 2016. Deep Residual Learning for Image
   Recognition. CVPR.
.. [2] Leclerc, G., Ilyas, A., Engstrom, L., Park, S. M., Salman, H., and Madry, A.
   2022. FFCV: Accelerating Training by Removing Data Bottlenecks.
   https://github.com/libffcv/ffcv (CIFAR-10 example).
.. [3] Purvine, E., et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI. arXiv:2212.00222.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.nets.datasets import ImageSet
from cnntopo.nets.devices import select_device
from cnntopo.progress import Progress, format_duration

__all__ = [
    "NonFiniteLossError",
    "KEEP_MODES",
    "SCHEDULES",
    "TTA_MODES",
    "TrainRecipe",
    "lr_multiplier",
    "steps_per_epoch",
    "evaluate",
    "train_model",
]

#: Learning-rate schedules understood by :func:`lr_multiplier`.
SCHEDULES: tuple[str, ...] = ("triangular", "multistep", "constant")

#: Test-time augmentation modes of :func:`evaluate`.
TTA_MODES: tuple[str, ...] = ("none", "flip", "paper")

#: Checkpoint choices of :class:`TrainRecipe` ``keep``.
KEEP_MODES: tuple[str, ...] = ("final", "best_loss")

_SWITCHES: tuple[Any, ...] = ("auto", "on", "off", True, False)

#: Optimizer steps between two checks of the loss for NaN / inf (each check waits for
#: the device; the first non-finite step is recorded on the device, so the report names
#: it exactly whatever the interval).
FINITE_CHECK_EVERY = 16


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; training stopped.

    Attributes
    ----------
    epoch : int
        1-based epoch of the first non-finite loss.
    batch : int
        1-based batch of that epoch.
    lr : float
        Learning rate of that step.
    loss : float
        The loss value (``nan``, ``inf`` or ``-inf``).
    """

    def __init__(self, message: str, *, epoch: int, batch: int, lr: float, loss: float) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.lr, self.loss = epoch, batch, lr, loss


@dataclass(frozen=True)
class TrainRecipe:
    """Hyper-parameters of one training run; the defaults are the paper's (docs/methods.md §2).

    Attributes
    ----------
    epochs : int, default 24
    batch_size : int, default 1024
    lr : float, default 1.0
        Peak learning rate (the schedule multiplies it).
    momentum : float, default 0.9
    weight_decay : float, default 5e-4
        Applied to all parameters (BN and biases included), as in the original.
    nesterov : bool, default False
    label_smoothing : float, default 0.0
    schedule : {"triangular", "multistep", "constant"}, default "triangular"
        See :func:`lr_multiplier`.
    lr_peak_epoch : float, default 5
        Epoch at which the triangular schedule peaks.
    milestones : tuple of int, default (150, 250)
        Epochs at which the multistep schedule multiplies the rate by ``gamma``.
    gamma : float, default 0.1
    flip : bool, default True
        Random horizontal flip.
    translate : int, default 2
        Padding of the random translation (0 disables it).
    cutout : int, default 8
        Side of the Cutout square (0 disables it); filled with the mean colour.
    drop_last : bool, default True
        Drop the last incomplete batch of every epoch.
    mixed_precision : {"auto", "on", "off"} or bool, default "auto"
        fp16 autocast + GradScaler. "auto"/"on"/True use it on CUDA only (the CPU
        always trains in float32); "off"/False never.
    channels_last : {"auto", "on", "off"} or bool, default "auto"
        ``channels_last`` memory format; "auto" = on CUDA only, "on"/True = always,
        "off"/False = never.
    eval_batch_size : int, default 1000
    tta : {"none", "flip", "paper"}, default "none"
        Test-time augmentation of the recorded test accuracy (see :func:`evaluate`).
    max_train_images : int or None, default None
        Train on a seeded random subset of this many images (quick demos).
    eval_every : int, default 1
        Evaluate on the test set every this many epochs (0 = only after the last
        epoch, which is always evaluated).
    keep : {"final", "best_loss"}, default "final"
        Which weights :func:`train_model` leaves in the model: those after the last
        epoch (the PH recipe), or those of the epoch with the lowest test loss (the
        mapper recipe: Catalyst's ``best.pth`` with the test set as "valid" loader).
        ``"best_loss"`` evaluates after every epoch, whatever ``eval_every``.

    Notes
    -----
    The mapper model's recipe (official ``cifar_train.py``, docs/methods.md §10) is
    ``epochs=350, batch_size=128, lr=0.1, schedule="multistep", milestones=(150, 250),
    gamma=0.1, flip=True, translate=4, cutout=0, drop_last=False, keep="best_loss"``.
    torchvision's ``RandomCrop(32, padding=4)`` (zero fill, before normalisation) has
    the same distribution as ``translate=4``: both zero-pad 4 px and crop at an offset
    uniform in ``{0, ..., 8}`` per axis, and a horizontal flip commutes in
    distribution with that crop.
    """

    epochs: int = 24
    batch_size: int = 1024
    lr: float = 1.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = False
    label_smoothing: float = 0.0
    schedule: str = "triangular"
    lr_peak_epoch: float = 5
    milestones: tuple[int, ...] = (150, 250)
    gamma: float = 0.1
    flip: bool = True
    translate: int = 2
    cutout: int = 8
    drop_last: bool = True
    mixed_precision: str | bool = "auto"
    channels_last: str | bool = "auto"
    eval_batch_size: int = 1000
    tta: str = "none"
    max_train_images: int | None = None
    eval_every: int = 1
    keep: str = "final"

    def __post_init__(self) -> None:
        object.__setattr__(self, "milestones", tuple(int(m) for m in self.milestones))
        problems = []
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("translate", "cutout", "eval_every"):
            if int(getattr(self, name)) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not self.lr > 0:
            problems.append(f"lr must be > 0, got {self.lr!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.schedule == "triangular" and not 0 <= self.lr_peak_epoch <= self.epochs:
            problems.append(
                f"lr_peak_epoch must be in [0, epochs={self.epochs}], got {self.lr_peak_epoch!r}"
            )
        if self.keep not in KEEP_MODES:
            problems.append(f"keep must be one of {KEEP_MODES}, got {self.keep!r}")
        if self.tta not in TTA_MODES:
            problems.append(f"tta must be one of {TTA_MODES}, got {self.tta!r}")
        for name in ("mixed_precision", "channels_last"):
            if getattr(self, name) not in _SWITCHES:
                problems.append(
                    f"{name} must be 'auto', 'on', 'off' or a bool, got {getattr(self, name)!r}"
                )
        if self.max_train_images is not None and self.max_train_images < 1:
            problems.append(f"max_train_images must be >= 1 or None, got {self.max_train_images!r}")
        if problems:
            raise ValueError("invalid training recipe: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainRecipe:
        """Build a recipe from a mapping (e.g. the config's ``training`` section).

        Raises
        ------
        ValueError
            A key is not a recipe field (the message lists the unknown and allowed keys).
        """
        allowed = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(allowed))
        if unknown:
            raise ValueError(
                f"unknown training recipe key(s): {', '.join(unknown)}; allowed: {', '.join(allowed)}"
            )
        return cls(**dict(d))

    def to_dict(self) -> dict[str, Any]:
        """The recipe as a JSON-friendly dict."""
        out = dataclasses.asdict(self)
        out["milestones"] = list(self.milestones)
        return out


def steps_per_epoch(n_images: int, batch_size: int, drop_last: bool = True) -> int:
    """Optimizer steps per epoch: ``n // batch_size`` with ``drop_last``, else ``ceil``."""
    return n_images // batch_size if drop_last else math.ceil(n_images / batch_size)


def lr_multiplier(step: int, steps_per_epoch: int, recipe: TrainRecipe) -> float:
    """Factor applied to ``recipe.lr`` at optimizer step ``step`` (0-based).

    - ``"triangular"`` (per iteration, the paper's):
      ``np.interp(step, [0, peak * spe, epochs * spe], [0, 1, 0])``, i.e. 0 at step 0,
      1 at the peak, linearly back to 0 at the end (and 0 beyond).
    - ``"multistep"`` (per epoch): ``gamma ** (number of milestones <= step // spe)``.
    - ``"constant"``: 1.

    Parameters
    ----------
    step : int
        Optimizer step, counted from 0 over the whole run.
    steps_per_epoch : int
        ``spe``, optimizer steps per epoch (see :func:`steps_per_epoch`).
    recipe : TrainRecipe

    Returns
    -------
    float
    """
    if recipe.schedule == "constant":
        return 1.0
    if recipe.schedule == "multistep":
        epoch = step // steps_per_epoch
        return float(recipe.gamma ** sum(epoch >= m for m in recipe.milestones))
    peak = recipe.lr_peak_epoch * steps_per_epoch
    end = recipe.epochs * steps_per_epoch
    if step <= peak:
        return float(step / peak) if peak > 0 else 1.0
    if step >= end:
        return 0.0
    return float((end - step) / (end - peak))


def _switch(value: str | bool, device: torch.device, cpu_allowed: bool) -> bool:
    """Resolve an "auto"/"on"/"off"/bool option for ``device``."""
    if value in ("off", False):
        return False
    if value == "auto" or not cpu_allowed:
        return device.type == "cuda"
    return True


def _forward_tta(model: nn.Module, x: torch.Tensor, tta: str) -> torch.Tensor:
    """Logits ``(B, K)`` of ``x`` ``(B, 3, H, W)`` with test-time augmentation."""
    if tta == "none":
        return model(x)
    if tta == "flip":
        return (model(x) + model(x.flip(3))) / 2.0
    # "paper": the official code (copied from the FFCV example) calls torch.fliplr on the
    # NCHW batch; fliplr flips dim 1, which is the CHANNEL axis (RGB -> BGR), not width.
    return (model(x) + model(torch.fliplr(x))) / 2.0


@torch.no_grad()
def evaluate(
    model: nn.Module,
    imageset: ImageSet,
    *,
    mean: Sequence[float],
    std: Sequence[float],
    batch_size: int = 1000,
    device: str | torch.device | None = None,
    tta: str = "none",
    image_size: int = 32,
) -> dict[str, float | int]:
    """Accuracy and mean cross-entropy of ``model`` on ``imageset`` (float32, no grad).

    The model is moved to ``device`` (in place) and run in eval mode; its previous
    train/eval mode is restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
    imageset : cnntopo.nets.datasets.ImageSet
        ``N`` images, uint8 ``(N, H, W, C)``.
    mean, std : sequence of 3 floats
        Normalisation on the [0, 1] scale.
    batch_size : int, default 1000
    device : str or torch.device, optional
        ``None`` = CUDA when available, else CPU.
    tta : {"none", "flip", "paper"}, default "none"
        "flip" averages the logits of ``x`` and of ``x`` mirrored along the width.
        "paper" reproduces the official code, which averages with ``torch.fliplr(x)``;
        on an NCHW batch that reverses the channel order (RGB -> BGR) instead.
    image_size : int, default 32

    Returns
    -------
    dict
        ``accuracy`` (fraction in [0, 1]), ``loss`` (mean cross-entropy of the possibly
        averaged logits) and ``n``.
    """
    from cnntopo.nets.transforms import to_model_input

    if tta not in TTA_MODES:
        raise ValueError(f"tta must be one of {TTA_MODES}, got {tta!r}")
    device = select_device(device)
    was_training = model.training
    model.to(device).eval()
    correct = torch.zeros((), dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    n = len(imageset)
    try:
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            x = to_model_input(
                imageset.images[start:stop], mean, std, size=image_size, device=device
            )
            y = torch.from_numpy(imageset.labels[start:stop]).to(device)
            logits = _forward_tta(model, x, tta).float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum").double()
            correct += (logits.argmax(dim=1) == y).sum()
    finally:
        model.train(was_training)
    return {
        "accuracy": float(correct.item()) / max(n, 1),
        "loss": float(loss_sum.item()) / max(n, 1),
        "n": n,
    }


def _training_subset(
    train_set: ImageSet, max_images: int | None, generator: torch.Generator
) -> ImageSet:
    """A seeded random subset of ``max_images`` images (kept in original order)."""
    if max_images is None or max_images >= len(train_set):
        return train_set
    pick = torch.randperm(len(train_set), generator=generator)[:max_images]
    return train_set.subset(np.sort(pick.numpy()))


def _cutout_fill(mean: Sequence[float]) -> tuple[float, float, float]:
    """The official Cutout fill: ``int(mean * 255)`` per channel, back on the [0, 1] scale."""
    return tuple(math.floor(float(m) * 255.0) / 255.0 for m in mean)  # type: ignore[return-value]


def _log_line(entry: Mapping[str, Any], epochs: int) -> str:
    test = "-" if entry["test_acc"] is None else f"{entry['test_acc']:.3f}"
    return (
        f"epoch {entry['epoch']}/{epochs} loss {entry['train_loss']:.3f} "
        f"train_acc {entry['train_acc']:.3f} test_acc {test} lr {entry['lr']:.2f} "
        f"time {entry['seconds']:.1f}s"
    )


def _make_optimizer(
    model: nn.Module, recipe: TrainRecipe, spe: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """SGD on all parameters with a per-iteration LambdaLR schedule."""
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=recipe.lr,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        nesterov=recipe.nesterov,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_multiplier(step, spe, recipe)
    )
    return optimizer, scheduler


def train_model(
    model: nn.Module,
    train_set: ImageSet,
    test_set: ImageSet | None,
    recipe: TrainRecipe,
    *,
    seed: int,
    mean: Sequence[float],
    std: Sequence[float],
    device: str | torch.device | None = None,
    image_size: int = 32,
    log: Callable[[str], None] | None = print,
    progress_every: float = 30.0,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` in place with ``recipe``; evaluate on ``test_set`` along the way.

    Every step: a batch of the epoch's random permutation is prepared
    (:func:`cnntopo.nets.transforms.prepare`), augmented (:class:`cnntopo.nets.transforms.Augment`:
    flip, translate, Cutout filled with the mean colour ``int(255 * mean) / 255`` as in
    the official code), normalised, and fed to SGD with cross-entropy; the learning rate
    follows :func:`lr_multiplier` per iteration (``torch.optim.lr_scheduler.LambdaLR``,
    so the first step uses multiplier 0 as in the original).

    Parameters
    ----------
    model : torch.nn.Module
        Network to train (e.g. from :func:`cnntopo.nets.models.init_model`); moved to
        ``device`` in place. It is in eval mode, contiguous memory format, on return.
    train_set : cnntopo.nets.datasets.ImageSet
        Training images, uint8 ``(N, H, W, C)``.
    test_set : cnntopo.nets.datasets.ImageSet or None
        Evaluated every ``recipe.eval_every`` epochs and after the last one (with
        ``recipe.tta``); ``None`` skips evaluation.
    recipe : TrainRecipe
    seed : int
        Seeds the :class:`torch.Generator` behind the subset choice, the data order
        and the augmentation.
    mean, std : sequence of 3 floats
        Normalisation on the [0, 1] scale (also the Cutout colour).
    device : str or torch.device, optional
        ``None`` = CUDA when available, else CPU.
    image_size : int, default 32
    log : callable or None, default print
        Receives one line per epoch, e.g.
        ``epoch 3/24 loss 1.234 train_acc 0.567 test_acc 0.612 lr 0.80 time 12.3s eta 4m12s``,
        and inside an epoch a progress line whenever ``progress_every`` seconds have
        passed since the last line, e.g. ``epoch 3 step 20/48 loss 1.301 train_acc
        0.534 lr 0.812 | 116/1152 steps (10.1%) elapsed 31s eta 4m37s`` (the loss and
        accuracy so far in the epoch; :class:`cnntopo.progress.Progress`).
    progress_every : float, default 30.0
        Seconds between two lines at most, while an epoch runs (``0``: after every
        step).
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, model)`` after every epoch (after its evaluation),
        e.g. to save a checkpoint per epoch (``benchmarks/bench_kornblith_curve.py``).
        The model may be in eval mode when it returns; training continues in train mode.

    Returns
    -------
    dict
        ``seed``, ``epochs``, ``steps`` (optimizer steps), ``steps_per_epoch``,
        ``history`` (per epoch: ``epoch``, ``train_loss``, ``train_acc``, ``test_acc``,
        ``test_loss`` (None when not evaluated), ``lr`` (of the epoch's last step),
        ``seconds``), ``test_acc``, ``test_loss`` (of the returned weights, i.e. of
        epoch ``kept_epoch``; None without ``test_set``), ``keep`` (``recipe.keep``),
        ``kept_epoch`` (the epoch whose weights the model holds: ``epochs`` for
        ``keep="final"``, the lowest-test-loss epoch for ``"best_loss"``, the earliest
        on ties), ``final_test_acc``, ``final_test_loss`` (after the last epoch),
        ``train_seconds``, ``device``, ``n_train_images``, ``mixed_precision``,
        ``channels_last``, ``recipe``.

    Raises
    ------
    ValueError
        The training set gives no full batch (``drop_last`` with fewer images than
        ``batch_size``).
    NonFiniteLossError
        A batch's loss is NaN or infinite: training stops (within
        :data:`FINITE_CHECK_EVERY` steps) and the message names the first such epoch,
        batch and learning rate, with a hint (a non-finite loss on the very first batch,
        before any update, means the model's forward gives NaN / inf; a later one, that
        training diverged: lower the learning rate).
    """
    from cnntopo.nets.transforms import Augment

    device = select_device(device)
    generator = torch.Generator().manual_seed(int(seed))
    train_set = _training_subset(train_set, recipe.max_train_images, generator)
    n = len(train_set)
    spe = steps_per_epoch(n, recipe.batch_size, recipe.drop_last)
    if spe < 1:
        raise ValueError(
            f"{n} training images give no full batch of {recipe.batch_size} with drop_last; "
            "lower training.batch_size or set drop_last false"
        )
    use_amp = _switch(recipe.mixed_precision, device, cpu_allowed=False)
    use_cl = _switch(recipe.channels_last, device, cpu_allowed=True)
    memory_format = torch.channels_last if use_cl else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    optimizer, scheduler = _make_optimizer(model, recipe, spe)
    loop = _EpochLoop(
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=torch.amp.GradScaler(device.type, enabled=use_amp),
        loss_fn=nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing),
        augment=Augment(recipe.flip, recipe.translate, recipe.cutout, _cutout_fill(mean)),
        images=torch.from_numpy(np.ascontiguousarray(train_set.images)).to(device),
        labels=torch.from_numpy(train_set.labels).to(device),
        mean=torch.as_tensor(mean, dtype=torch.float32, device=device),
        std=torch.as_tensor(std, dtype=torch.float32, device=device),
        batch_size=recipe.batch_size,
        image_size=image_size,
        memory_format=memory_format,
        use_amp=use_amp,
        peak_lr=float(recipe.lr),
    )

    keep_best = recipe.keep == "best_loss"
    if keep_best and test_set is None:
        raise ValueError("training.keep 'best_loss' needs a test (validation) set to evaluate")
    best: dict[str, Any] = {"epoch": None, "loss": math.inf, "accuracy": None, "state": None}
    history: list[dict[str, Any]] = []
    evaluation: dict[str, Any] = {"accuracy": None, "loss": None}
    t_start = time.perf_counter()
    progress = None
    if log is not None:
        progress = Progress(recipe.epochs * spe, log, every=progress_every, clock=time.perf_counter)
    for epoch in range(1, recipe.epochs + 1):
        t_epoch = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        entry = {"epoch": epoch, **loop.run(order, spe, generator, progress, epoch)}
        evaluate_now = test_set is not None and (
            keep_best
            or epoch == recipe.epochs
            or (recipe.eval_every > 0 and epoch % recipe.eval_every == 0)
        )
        if evaluate_now:
            evaluation = evaluate(
                model,
                test_set,
                mean=mean,
                std=std,
                batch_size=recipe.eval_batch_size,
                device=device,
                tta=recipe.tta,
                image_size=image_size,
            )
        entry["test_acc"] = evaluation["accuracy"] if evaluate_now else None
        entry["test_loss"] = evaluation["loss"] if evaluate_now else None
        if keep_best and evaluation["loss"] < best["loss"]:  # strict: earliest epoch wins ties
            best = {
                "epoch": epoch,
                "loss": evaluation["loss"],
                "accuracy": evaluation["accuracy"],
                "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
            }
        entry["seconds"] = time.perf_counter() - t_epoch
        history.append(entry)
        if on_epoch is not None:
            on_epoch(epoch, model)
        if progress is not None:
            eta = format_duration(progress.eta(epoch * spe))
            log(f"{_log_line(entry, recipe.epochs)} eta {eta}")
            progress.logged()
    train_seconds = time.perf_counter() - t_start
    final = {"accuracy": evaluation["accuracy"], "loss": evaluation["loss"]}
    kept_epoch = recipe.epochs
    if keep_best and best["state"] is not None:
        model.load_state_dict(best["state"])
        kept_epoch = best["epoch"]
        evaluation = {"accuracy": best["accuracy"], "loss": best["loss"]}
        if log is not None:
            log(f"kept epoch {kept_epoch} (lowest test loss {best['loss']:.4f})")
    model.to(memory_format=torch.contiguous_format)
    model.eval()
    return {
        "seed": int(seed),
        "epochs": recipe.epochs,
        "steps": recipe.epochs * spe,
        "steps_per_epoch": spe,
        "history": history,
        "test_acc": evaluation["accuracy"],
        "test_loss": evaluation["loss"],
        "keep": recipe.keep,
        "kept_epoch": kept_epoch,
        "final_test_acc": final["accuracy"],
        "final_test_loss": final["loss"],
        "train_seconds": train_seconds,
        "device": str(device),
        "n_train_images": n,
        "mixed_precision": use_amp,
        "channels_last": use_cl,
        "recipe": recipe.to_dict(),
    }


@dataclass
class _EpochLoop:
    """Everything an optimizer step needs; :meth:`run` trains one epoch."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    loss_fn: nn.Module
    augment: Any  # cnntopo.nets.transforms.Augment
    images: torch.Tensor  # uint8 (N, H, W, C) on the device
    labels: torch.Tensor  # int64 (N,) on the device
    mean: torch.Tensor  # (3,)
    std: torch.Tensor  # (3,)
    batch_size: int
    image_size: int
    memory_format: torch.memory_format
    use_amp: bool
    peak_lr: float = 1.0  # the recipe's lr (named in the non-finite loss report)
    check_every: int = FINITE_CHECK_EVERY

    def batch(self, idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Prepared, augmented, normalised batch ``(B, 3, size, size)`` of images ``idx``."""
        from cnntopo.nets.transforms import normalize, prepare

        x = self.augment(prepare(self.images[idx], self.image_size), generator)
        return normalize(x, self.mean, self.std).contiguous(memory_format=self.memory_format)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One SGD step; returns the loss (scalar) and the logits ``(B, K)``, detached."""
        self.optimizer.zero_grad(set_to_none=True)
        device_type = x.device.type
        with torch.autocast(device_type, dtype=torch.float16, enabled=self.use_amp):
            out = self.model(x)
            loss = self.loss_fn(out, y)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return loss.detach(), out.detach()

    def run(
        self,
        order: torch.Tensor,
        n_steps: int,
        generator: torch.Generator,
        progress: Progress | None = None,
        epoch: int = 1,
    ) -> dict[str, float]:
        """Train on the first ``n_steps`` batches of the permutation ``order``.

        Returns ``train_loss`` and ``train_acc`` (on the augmented batches, as the
        original logs them) and ``lr``, the learning rate of the epoch's last step.
        After each step, ``progress`` (if given) is told the steps done since training
        began (``epoch`` is 1-based, every epoch ``n_steps`` long); when it writes a
        line, the loss and accuracy so far in the epoch are read from the device.
        """
        self.model.train()
        device = self.labels.device
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        first_bad = torch.full((), -1, dtype=torch.int64, device=device)  # batch index
        bad_loss = torch.zeros((), dtype=torch.float32, device=device)
        seen, lr, lrs = 0, 0.0, []
        for b in range(n_steps):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size].to(device)
            y = self.labels[idx]
            lr = float(self.optimizer.param_groups[0]["lr"])
            lrs.append(lr)
            loss, out = self.step(self.batch(idx, generator), y)
            new_bad = (first_bad < 0) & ~torch.isfinite(loss)  # no device sync here
            first_bad = torch.where(new_bad, b, first_bad)
            bad_loss = torch.where(new_bad, loss.float(), bad_loss)
            if (b + 1) % self.check_every == 0 or b + 1 == n_steps:
                self._check_finite(first_bad, bad_loss, epoch, n_steps, lrs)
            loss_sum += loss.double() * y.shape[0]
            correct += (out.argmax(dim=1) == y).sum()
            seen += int(y.shape[0])
            if progress is not None and progress.due():
                progress.update(
                    (epoch - 1) * n_steps + b + 1,
                    {
                        "epoch": epoch,
                        "step": f"{b + 1}/{n_steps}",
                        "loss": float(loss_sum.item()) / seen,
                        "train_acc": float(correct.item()) / seen,
                        "lr": lr,
                    },
                )
        return {
            "train_loss": float(loss_sum.item()) / seen,
            "train_acc": float(correct.item()) / seen,
            "lr": lr,
        }

    def _check_finite(
        self,
        first_bad: torch.Tensor,
        bad_loss: torch.Tensor,
        epoch: int,
        n_steps: int,
        lrs: Sequence[float],
    ) -> None:
        """Raise :class:`NonFiniteLossError` if a batch of this epoch had a NaN / inf loss.

        ``first_bad`` is the 0-based batch index of the first non-finite loss (-1 = none),
        ``bad_loss`` its value, ``lrs`` the learning rate of every batch so far.
        """
        b = int(first_bad.item())
        if b < 0:
            return
        loss, lr = float(bad_loss.item()), lrs[b]
        where = (
            f"the training loss is {loss} at epoch {epoch}, batch {b + 1} of {n_steps} "
            f"(learning rate {lr:.4g}; the recipe's peak lr = {self.peak_lr:g})"
        )
        if epoch == 1 and b == 0:
            hint = (
                "on the first batch, before any weight update: the model's forward gives "
                "NaN or inf (check its forward, e.g. a python: factory's module, and the "
                "input normalisation)"
            )
        else:
            hint = (
                "training diverged: lower the learning rate (training.lr; mapper.training.lr "
                "for the Mapper network) or check the model's forward"
            )
        if self.use_amp:
            hint += "; fp16 may overflow: try training.mixed_precision: false"
        raise NonFiniteLossError(
            f"{where}; {hint}. Training stopped", epoch=epoch, batch=b + 1, lr=lr, loss=loss
        )
