"""The paper's CIFAR ResNet-18 for the persistent-homology experiments.

This is the network of the official ``AAAI-code-PH/cifar_resnet.py`` (Purvine et al.
2023), a CIFAR-style ResNet-18 (He et al. 2016) with a 3x3 stride-1 stem, no max-pool,
four stages of two BasicBlocks and parameter-free "option A" shortcuts. Module and
parameter names are the official ones, so the official ``final_weights.pt`` state
dicts load unchanged (:func:`load_state_dict_compat`).

The only generalisation is ``width``: the stem / first-stage channel count (64 in the
paper); stages use ``width * (1, 2, 4, 8)`` channels.

References
----------
.. [1] He, K., Zhang, X., Ren, S., and Sun, J. 2016. Deep Residual Learning for Image
   Recognition. CVPR.
.. [2] Purvine, E., Brown, D., Jefferson, B., Joslyn, C., Praggastis, B., Rathore, A.,
   Shapiro, M., Wang, B., and Zhou, Y. 2023. Experimental Observations of the Topology
   of Convolutional Neural Network Activations. AAAI. arXiv:2212.00222.
"""

from __future__ import annotations

import json
import logging
import numbers
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnntopo.artifacts import atomic_path

log = logging.getLogger("cnntopo")

__all__ = [
    "ARCHITECTURES",
    "BUILTINS",
    "SHORTCUTS",
    "OptionAShortcut",
    "BasicBlock",
    "ResNet18CIFAR",
    "build_model",
    "pretrained_num_classes",
    "init_model",
    "conv_layer_names",
    "default_layers",
    "describe_modules",
    "layer_shapes",
    "count_parameters",
    "load_state_dict_compat",
    "save_state_dict",
]


#: Shortcut options of :class:`BasicBlock` (He et al. 2016, Sec. 3.3 / 4.2).
SHORTCUTS: tuple[str, ...] = ("A", "B")

#: Number of BasicBlocks in each of the four stages of ResNet-18.
_BLOCKS_PER_STAGE: tuple[int, ...] = (2, 2, 2, 2)

#: Channel multiplier of each stage relative to ``width``.
_STAGE_MULTIPLIERS: tuple[int, ...] = (1, 2, 4, 8)


class OptionAShortcut(nn.Module):
    """Parameter-free "option A" shortcut: spatial subsampling plus channel zero-padding.

    Computes ``F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))``, i.e.
    keeps every second row and column and pads ``planes // 4`` zero channels on each
    side. It replaces the official code's ``LambdaLayer(lambda x: ...)`` with a named
    class so that models pickle; it has no parameters or buffers, so state dicts are
    identical.

    Parameters
    ----------
    planes : int
        Output channels of the block; the input must have ``planes - 2 * (planes // 4)``
        channels (``planes // 2`` for even ``planes // 2``).
    """

    def __init__(self, planes: int) -> None:
        super().__init__()
        self.planes = int(planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, C, H, W)`` to ``(B, C + 2 * (planes // 4), ceil(H / 2), ceil(W / 2))``."""
        pad = self.planes // 4
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad), "constant", 0.0)

    def extra_repr(self) -> str:
        return f"planes={self.planes}"


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (He et al. 2016, Fig. 2).

    ``out = r2(bn2(conv2(r1(bn1(conv1(x))))) + shortcut(x))``. As in the official code,
    the shortcut is added in place to the BN2 output and ``r1``/``r2`` are in-place ReLUs.

    Parameters
    ----------
    in_planes : int
        Input channels.
    planes : int
        Output channels.
    stride : int, default 1
        Stride of ``conv1`` (2 at the start of stages 2-4).
    shortcut : {"A", "B"}, default "A"
        Shortcut used when the shape changes: "A" = :class:`OptionAShortcut`,
        "B" = 1x1 convolution with stride ``stride`` followed by BatchNorm.
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: str = "A") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(planes)
        self.r1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.r2 = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Sequential()
        if stride != 1 or in_planes != planes:
            if shortcut == "A":
                self.shortcut = OptionAShortcut(planes)
            elif shortcut == "B":
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes),
                )
            else:
                raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {shortcut!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, in_planes, H, W)`` to ``(B, planes, H / stride, W / stride)``."""
        out = self.r1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        out = self.r2(out)
        return out


class ResNet18CIFAR(nn.Module):
    """CIFAR ResNet-18 of the paper's PH experiments (official ``cifar_resnet.py``).

    Stem ``conv1`` (3x3, 3 -> width, stride 1, no bias), ``bn1``, ``relu``; then
    ``block_seq`` = 4 stages x 2 :class:`BasicBlock` with ``width * (1, 2, 4, 8)``
    channels, stages 2-4 starting with stride 2; then global average pooling and
    ``linear``.

    Parameters
    ----------
    width : int, default 64
        Channels of the stem and first stage (64 in the paper).
    num_classes : int, default 10
        Output logits.
    shortcut : {"A", "B"}, default "A"
        Shortcut option of the down-sampling blocks (the paper uses "A").

    Notes
    -----
    Input ``(B, 3, H, W)`` gives logits ``(B, num_classes)``. For 32x32 inputs the
    final feature map is ``(B, 8 * width, 4, 4)``; the official code pools with a fixed
    4x4 window, here the window is the feature map's width, which is the same for
    32x32 inputs and also works for other sizes.
    """

    def __init__(self, width: int = 64, num_classes: int = 10, shortcut: str = "A") -> None:
        super().__init__()
        _check_width(width, shortcut)
        width = int(width)
        self.width = width
        self.num_classes = int(num_classes)
        self.shortcut_option = shortcut
        self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.block_seq = nn.Sequential(*_make_stages(width, shortcut))
        self.linear = nn.Linear(width * _STAGE_MULTIPLIERS[-1] * BasicBlock.expansion, num_classes)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(B, 3, H, W)`` to logits ``(B, num_classes)``."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.block_seq(out)
        out = F.avg_pool2d(out, out.shape[-1])
        out = out.view(out.size(0), -1)
        return self.linear(out)


def _check_width(width: int, shortcut: str) -> None:
    if shortcut not in SHORTCUTS:
        raise ValueError(f"shortcut must be one of {SHORTCUTS}, got {shortcut!r}")
    if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 1:
        raise ValueError(f"model width must be a positive integer, got {width!r}")
    # Option A pads planes // 4 zero channels on each side of the planes // 2 input
    # channels; that restores ``planes`` channels only if planes = 2 * width is a
    # multiple of 4.
    if shortcut == "A" and (2 * width) % 4 != 0:
        raise ValueError(
            f"model width must be even for option-A shortcuts (they pad planes//4 zero "
            f"channels on each side and planes = 2 * width), got {width}"
        )


def _make_stages(width: int, shortcut: str) -> list[nn.Sequential]:
    """The four stages of BasicBlocks, as in the official ``_make_layer``."""
    stages = []
    in_planes = width
    for index, (mult, n_blocks) in enumerate(
        zip(_STAGE_MULTIPLIERS, _BLOCKS_PER_STAGE, strict=True)
    ):
        planes = width * mult
        strides = [1 if index == 0 else 2] + [1] * (n_blocks - 1)
        blocks = []
        for stride in strides:
            blocks.append(BasicBlock(in_planes, planes, stride, shortcut))
            in_planes = planes * BasicBlock.expansion
        stages.append(nn.Sequential(*blocks))
    return stages


def _paper_network(width: int, num_classes: int, shortcut: str | None = None) -> nn.Module:
    return ResNet18CIFAR(
        width=width, num_classes=num_classes, shortcut="A" if shortcut is None else shortcut
    )


def _mapper_network(width: int, num_classes: int, shortcut: str | None = None) -> nn.Module:
    from cnntopo.nets.resnet_option_b import MapperResNet18

    if shortcut not in (None, "B"):
        raise ValueError(
            f"the mapper network (arch 'resnet18_mapper') has option-B shortcuts only, "
            f"got shortcut {shortcut!r}"
        )
    return MapperResNet18(width=width, num_classes=num_classes)


def _plain_cnn(width: int, num_classes: int) -> nn.Module:
    from cnntopo.nets.plain_cnn import build_plain_cnn

    return build_plain_cnn(width=width, num_classes=num_classes)


def _tiny10(width: int, num_classes: int) -> nn.Module:
    from cnntopo.nets.plain_cnn import build_plain_cnn

    return build_plain_cnn(width=width, num_classes=num_classes, layout="tiny10")


#: Built-in networks: name -> ``builder(width, num_classes, **kwargs)``. A new network is
#: one entry here plus its name in the schema's ``model.arch`` list (its layers are then
#: read from the built model, see :func:`cnntopo.nets.layers.module_table`).
BUILTINS: dict[str, Callable[..., nn.Module]] = {
    "resnet18_cifar": _paper_network,
    "resnet18_mapper": _mapper_network,
    "plain_cnn": _plain_cnn,  # Kornblith et al. 2019's plain CNN (cnntopo.nets.plain_cnn)
    "tiny10": _tiny10,  # their Tiny-10 CNN (the same module)
}

#: Names of the built-in networks (:data:`BUILTINS`).
ARCHITECTURES: tuple[str, ...] = tuple(BUILTINS)


def _torchvision_network(
    name: str, num_classes: int, kwargs: Mapping[str, Any], pretrained: bool
) -> nn.Module:
    """A torchvision classification network, untrained or with torchvision's weights."""
    from cnntopo.nets.torchvision_shim import import_torchvision

    models = import_torchvision().models
    if not pretrained:
        return models.get_model(name, weights=None, num_classes=num_classes, **kwargs)
    weights = models.get_model_weights(name).DEFAULT
    try:
        return models.get_model(name, weights=weights, **kwargs)
    except (OSError, ValueError, RuntimeError) as err:  # URLError is an OSError
        if isinstance(err, ValueError) and "num_classes" in str(err):
            raise
        import torch.hub

        raise RuntimeError(
            f"model.pretrained: could not get torchvision's weights {weights} of {name!r} "
            f"from {weights.url} ({type(err).__name__}: {err}). This machine is probably "
            f"offline: download that file elsewhere and set model.checkpoint to it (with "
            f"model.pretrained: false), or put it in {torch.hub.get_dir()}/checkpoints/"
        ) from err


def pretrained_num_classes(arch: str) -> int:
    """Number of classes of torchvision's default weights of ``arch`` (no download)."""
    from cnntopo.nets.layers import parse_arch
    from cnntopo.nets.torchvision_shim import import_torchvision

    weights = import_torchvision().models.get_model_weights(parse_arch(arch).name).DEFAULT
    return len(weights.meta["categories"])


def _python_network(path: str, factory: str, num_classes: int, kwargs: Mapping) -> nn.Module:
    """``factory(num_classes, **kwargs)`` of a user's Python file."""
    import hashlib
    import importlib.util

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"model.arch: factory file {file} not found")
    module_name = (
        "cnntopo_user_model_" + hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:12]
    )
    spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, factory, None)):
        raise ValueError(f"model.arch: {file} defines no callable {factory!r}")
    model = getattr(module, factory)(num_classes, **kwargs)
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model.arch: {file}:{factory}({num_classes}) returned {type(model).__name__}, "
            "not a torch.nn.Module"
        )
    return model


def build_model(
    arch: str = "resnet18_cifar",
    width: int = 64,
    num_classes: int = 10,
    shortcut: str | None = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
    pretrained: bool = False,
) -> nn.Module:
    """Build a network by name (weights from torch's global RNG; see :func:`init_model`).

    Parameters
    ----------
    arch : str, default "resnet18_cifar"
        A built-in network (:data:`BUILTINS`: ``"resnet18_cifar"``, the PH network
        :class:`ResNet18CIFAR`; ``"resnet18_mapper"``, the mapper network
        :class:`cnntopo.nets.resnet_option_b.MapperResNet18`),
        ``"torchvision:<builder>"`` (any torchvision classification builder, e.g.
        ``"torchvision:resnet50"``, called with ``num_classes`` and ``kwargs``) or
        ``"python:<file.py>:<factory>"`` (``factory(num_classes, **kwargs)`` must return
        a :class:`torch.nn.Module`).
    width : int, default 64
        Stem / first-stage channels of the built-in networks; must be even for
        option-A shortcuts. Ignored (with a log line) for the other networks.
    num_classes : int, default 10
        Number of output logits.
    shortcut : {"A", "B"} or None, default None
        Shortcut option of the built-in networks; None = the architecture's own ("A"
        for the PH network, "B" for the mapper network, which supports only "B").
    kwargs : mapping, optional
        Extra keyword arguments of the builder (``model.kwargs``).
    pretrained : bool, default False
        torchvision networks only: load torchvision's default weights (downloads them
        when not cached; ``num_classes`` is then the weights' own unless ``kwargs``
        sets it).

    Returns
    -------
    torch.nn.Module
        The network, on the CPU, in training mode.

    Raises
    ------
    ValueError
        Unknown ``arch`` or ``shortcut``, or an invalid ``width``.
    RuntimeError
        ``pretrained`` weights cannot be downloaded (the message says what to do).
    """
    from cnntopo.nets.layers import parse_arch

    kwargs = dict(kwargs or {})
    explicit_classes = "num_classes" in kwargs  # model.kwargs overrides the dataset's
    num_classes = int(kwargs.pop("num_classes", num_classes))
    spec = parse_arch(arch)
    if pretrained and spec.kind != "torchvision":
        raise ValueError(
            f"model.pretrained applies to torchvision networks only, not {arch!r}; "
            "use model.checkpoint for the weights of other networks"
        )
    if spec.kind == "builtin":
        if arch not in BUILTINS:
            raise ValueError(f"unknown model arch {arch!r}; known: {', '.join(BUILTINS)}")
        if shortcut is not None:
            kwargs["shortcut"] = shortcut
        return BUILTINS[arch](width, num_classes, **kwargs)
    log.info("model.width applies to the built-in networks only; ignored for %s", arch)
    if spec.kind == "torchvision":
        if pretrained and explicit_classes:
            kwargs["num_classes"] = num_classes
        return _torchvision_network(spec.name, num_classes, kwargs, pretrained)
    return _python_network(spec.path, spec.name, num_classes, kwargs)


def init_model(
    arch: str = "resnet18_cifar",
    width: int = 64,
    num_classes: int = 10,
    seed: int = 0,
    shortcut: str | None = None,
    *,
    kwargs: Mapping[str, Any] | None = None,
) -> nn.Module:
    """Build a network whose initial weights depend only on ``seed``.

    PyTorch's default initialisation (Kaiming-uniform convolutions and linear layer,
    BN weight 1 / bias 0; torchvision's own initialisation for its networks) is drawn
    on the CPU from a generator seeded with ``seed`` inside
    :func:`torch.random.fork_rng`, so the caller's global RNG state is unchanged and
    the weights do not depend on the device used later.

    Parameters
    ----------
    arch, width, num_classes, shortcut, kwargs
        As in :func:`build_model`.
    seed : int, default 0
        Seed of the initialisation.

    Returns
    -------
    torch.nn.Module
        The network, on the CPU, in training mode.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build_model(
            arch, width=width, num_classes=num_classes, shortcut=shortcut, kwargs=kwargs
        )


def conv_layer_names(model: nn.Module) -> list[str]:
    """The paper's PH layers: Conv2d modules whose name contains "conv", in paper order.

    The official ``topL2_pointclouds.py`` sorts the layer names with "conv" deleted,
    which puts ``conv1`` first, then ``block_seq.0.0.conv1``, ``block_seq.0.0.conv2``,
    ..., ``block_seq.3.1.conv2``: the network order (17 layers for ResNet-18; option-B
    shortcut convolutions are named ``shortcut.0`` and are not included).

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`ResNet18CIFAR` (or any module with the same naming).

    Returns
    -------
    list of str
        Module names, usable with :func:`cnntopo.nets.activations.capture`.
    """
    names = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d) and "conv" in name
    ]
    return sorted(names, key=lambda name: name.replace("conv", ""))


def _public_types(module: nn.Module) -> list[str]:
    """The module's class and its public ``nn.Module`` base classes, most specific first."""
    return [
        cls.__name__
        for cls in type(module).__mro__
        if isinstance(cls, type)
        and issubclass(cls, nn.Module)
        and cls is not nn.Module
        and not cls.__name__.startswith("_")
    ]


def default_layers(arch: str, model: nn.Module) -> list[str]:
    """The layers of ``activations.layers: all``.

    The paper's 17 convolutions (:func:`conv_layer_names`) for the built-in networks,
    every :class:`torch.nn.Conv2d` in network order for the others.
    """
    from cnntopo.nets.layers import parse_arch

    if parse_arch(arch).kind == "builtin":
        return conv_layer_names(model)
    return [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]


@torch.no_grad()
def describe_modules(model: nn.Module, image_size: int = 32) -> list[dict[str, Any]]:
    """Name, types and per-image output shape of every module, in ``named_modules()`` order.

    Runs one all-zero ``(1, 3, image_size, image_size)`` image through the model in eval
    mode (the training flag is restored). A module called several times reports its
    last call (as :func:`cnntopo.nets.activations.capture` records it); a module with a
    tuple output reports its first tensor; one that returns no tensor or does not run
    has ``shape`` None.

    Returns
    -------
    list of dict
        ``{"name": str, "types": [class, public base classes], "shape": list of int or
        None}``; the root module is left out.
    """
    from cnntopo.nets.activations import output_tensor

    shapes: dict[str, list[int] | None] = {}
    handles = []

    def hook(name: str) -> Callable[..., None]:
        def record(_module: nn.Module, _inputs: Any, output: Any) -> None:
            tensor = output_tensor(output)
            shapes[name] = None if tensor is None else [int(s) for s in tensor.shape[1:]]

        return record

    named = [(name, m) for name, m in model.named_modules() if name]
    for name, module in named:
        handles.append(module.register_forward_hook(hook(name)))
    was_training = model.training
    model.eval()
    try:
        model(torch.zeros(1, 3, image_size, image_size))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return [{"name": n, "types": _public_types(m), "shape": shapes.get(n)} for n, m in named]


@torch.no_grad()
def layer_shapes(model: nn.Module, image_size: int = 32) -> dict[str, tuple[int, int, int]]:
    """Per-image activation shape ``(c, h, w)`` of every PH layer.

    Runs one all-zero ``(1, 3, image_size, image_size)`` image through the model in
    eval mode (the model's training flag is restored afterwards).

    Parameters
    ----------
    model : torch.nn.Module
        The network.
    image_size : int, default 32
        Side of the square input.

    Returns
    -------
    dict of str to (int, int, int)
        Ordered as :func:`conv_layer_names`. For width 64 and 32x32 inputs: 64x32x32
        (5 layers), 128x16x16, 256x8x8, 512x4x4 (4 layers each).
    """
    from cnntopo.nets.activations import capture

    names = conv_layer_names(model)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        with capture(model, names) as store:
            model(torch.zeros(1, 3, image_size, image_size, device=device))
        return {name: tuple(int(s) for s in store[name].shape[1:]) for name in names}
    finally:
        model.train(was_training)


def count_parameters(model: nn.Module) -> int:
    """Total number of trainable parameters (as the official ``test(net)``)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


# --------------------------------------------------------------------------- state dicts

_WRAPPER_PREFIXES: tuple[str, ...] = ("module.", "_orig_mod.")
_NESTED_KEYS: tuple[str, ...] = ("model_state_dict", "state_dict")


def _unwrap_state_dict(obj: Any) -> dict[str, torch.Tensor]:
    """Return the tensor mapping inside a checkpoint, with wrapper prefixes stripped."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise ValueError(f"checkpoint must be a state dict (a mapping), got {type(obj).__name__}")
    for key in _NESTED_KEYS:
        if key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    state = {}
    for key, value in obj.items():
        stripped = str(key)
        changed = True
        while changed:  # DataParallel inside torch.compile, or vice versa
            changed = False
            for prefix in _WRAPPER_PREFIXES:
                if stripped.startswith(prefix):
                    stripped = stripped[len(prefix) :]
                    changed = True
        state[stripped] = value
    return state


def _load_checkpoint_file(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors come in many types
        raise ValueError(
            f"could not read checkpoint {path} as tensors only (torch.load weights_only=True): {err}"
        ) from err


def _mismatch_hints(model_state: Mapping[str, torch.Tensor], state: Mapping[str, Any]) -> list[str]:
    """Likely causes of a mismatch (width, number of classes, shortcut option)."""
    hints = []
    if "conv1.weight" in state and "conv1.weight" in model_state:
        ckpt_w, model_w = state["conv1.weight"].shape[0], model_state["conv1.weight"].shape[0]
        if ckpt_w != model_w:
            hints.append(f"checkpoint width {ckpt_w} vs config model.width {model_w}")
    if "linear.weight" in state and "linear.weight" in model_state:
        ckpt_k, model_k = state["linear.weight"].shape[0], model_state["linear.weight"].shape[0]
        if ckpt_k != model_k:
            hints.append(f"checkpoint has {ckpt_k} classes vs {model_k} in the model/dataset")
    ckpt_b = any(".shortcut." in key for key in state)
    model_b = any(".shortcut." in key for key in model_state)
    if ckpt_b != model_b:
        hints.append(
            "checkpoint has option-B shortcut convolutions (the mapper network?) but the model uses option A"
            if ckpt_b
            else "model has option-B shortcut convolutions but the checkpoint has none (option A)"
        )
    if any(key.startswith("layer1.") for key in state) and not any(
        key.startswith("layer1.") for key in model_state
    ):
        hints.append(
            "checkpoint uses 'layer1..layer4' names: it is the kuangliu mapper ResNet-18, "
            "not the PH network (block_seq)"
        )
    if any(key.startswith("block_seq.") for key in state) and any(
        key.startswith("layer1.") for key in model_state
    ):
        hints.append(
            "checkpoint uses 'block_seq' names: it is the PH network (arch 'resnet18_cifar'), "
            "not the mapper ResNet-18 (arch 'resnet18_mapper')"
        )
    return hints


def _short_list(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def load_state_dict_compat(
    model: nn.Module, state_dict_or_path: Mapping[str, Any] | str | os.PathLike
) -> nn.Module:
    """Load weights saved by this package, the official code, DataParallel or torch.compile.

    Accepts a raw state dict, a checkpoint dict holding it under ``model_state_dict``
    (Catalyst) or ``state_dict``, or a path to either (read with ``weights_only=True``).
    The prefixes ``module.`` (DataParallel) and ``_orig_mod.`` (torch.compile) are
    stripped. Loading is strict.

    Parameters
    ----------
    model : torch.nn.Module
        Target network; modified in place.
    state_dict_or_path : mapping or path-like
        The weights.

    Returns
    -------
    torch.nn.Module
        ``model``.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    ValueError
        Missing, unexpected or differently shaped keys; the message names them and
        the likely cause (e.g. ``checkpoint width 64 vs config model.width 16``).
    """
    obj = state_dict_or_path
    if isinstance(obj, str | os.PathLike):
        obj = _load_checkpoint_file(obj)
    state = _unwrap_state_dict(obj)
    model_state = model.state_dict()
    missing = [key for key in model_state if key not in state]
    unexpected = [key for key in state if key not in model_state]
    shapes = [
        f"{key}: checkpoint {tuple(state[key].shape)} vs model {tuple(model_state[key].shape)}"
        for key in model_state
        if key in state
        and hasattr(state[key], "shape")
        and tuple(state[key].shape) != tuple(model_state[key].shape)
    ]
    if missing or unexpected or shapes:
        parts = ["checkpoint does not match the model"]
        hints = _mismatch_hints(model_state, state)
        if hints:
            parts.append("likely cause: " + "; ".join(hints))
        if missing:
            parts.append(f"missing keys ({len(missing)}): {_short_list(missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {_short_list(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches ({len(shapes)}): {_short_list(shapes, 4)}")
        raise ValueError("; ".join(parts))
    model.load_state_dict(state, strict=True)
    return model


def save_state_dict(model: nn.Module, path: str | os.PathLike) -> None:
    """Save ``model.state_dict()`` (CPU tensors) atomically with :func:`torch.save`.

    The file is a plain state dict, like the official ``final_weights.pt``, and can be
    read back with :func:`load_state_dict_compat`.
    """
    state = {key: value.detach().cpu() for key, value in _unwrap_state_dict(model).items()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _main(argv: list[str]) -> None:
    """``python -m cnntopo.nets.models '<json request>'``: print a network's module table.

    Used by :func:`cnntopo.nets.layers.module_table`, so that building the DAG never
    imports torch itself.
    """
    request = json.loads(argv[0])
    torch.set_num_threads(1)
    model = init_model(
        request["arch"], request["width"], request["num_classes"], kwargs=request["kwargs"]
    )
    table = {
        "modules": describe_modules(model, request["image_size"]),
        "default": default_layers(request["arch"], model),
    }
    print(json.dumps(table))


if __name__ == "__main__":
    _main(sys.argv[1:])
