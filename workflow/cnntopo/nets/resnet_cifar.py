"""The paper's CIFAR ResNet-18 for the persistent-homology experiments.

This is the network of the official ``AAAI-code-PH/cifar_resnet.py`` (Purvine et al.
2023), a CIFAR-style ResNet-18 (He et al. 2016) with a 3x3 stride-1 stem, no max-pool,
four stages of two BasicBlocks and parameter-free "option A" shortcuts. Module and
parameter names are the official ones, so the official ``final_weights.pt`` state
dicts load unchanged (:func:`cnntopo.nets.checkpoints.load_state_dict_compat`).

The only generalisation is ``width``: the stem / first-stage channel count (64 in the
paper); stages use ``width * (1, 2, 4, 8)`` channels. The network is the built-in
``resnet18_cifar`` (:mod:`cnntopo.nets.registry`); its module table is written down,
torch-free, in :mod:`cnntopo.nets.layers_option_a`.

References
----------
.. [1] He, K., Zhang, X., Ren, S., and Sun, J. 2016. Deep Residual Learning for Image
   Recognition. CVPR.
.. [2] Purvine, E., Brown, D., Jefferson, B., Joslyn, C., Praggastis, B., Rathore, A.,
   Shapiro, M., Wang, B., and Zhou, Y. 2023. Experimental Observations of the Topology
   of Convolutional Neural Network Activations. AAAI. arXiv:2212.00222.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SHORTCUTS", "OptionAShortcut", "BasicBlock", "ResNet18CIFAR"]

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

