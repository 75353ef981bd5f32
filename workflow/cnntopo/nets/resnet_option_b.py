"""The paper's mapper network: the "kuangliu" CIFAR ResNet-18 with option-B shortcuts.

This is the network of the official ``AAAI-code-mapper/cifar_train.py`` (Purvine et al.
2023), the widely used CIFAR ResNet-18 of the ``kuangliu/pytorch-cifar`` repository
(He et al. 2016): a 3x3 stride-1 stem, no max-pool, ``layer1..layer4`` of two
BasicBlocks each, 1x1-convolution + BN ("option B") shortcuts where the shape changes,
global average pooling and ``linear``. Module and parameter names are the official ones
(``layer1.0.conv1.weight``, ``layer2.0.shortcut.0.weight``, ``linear.weight``, ...), so
the official Catalyst checkpoint (``best.pth``, key ``model_state_dict``) loads with
:func:`cnntopo.nets.checkpoints.load_state_dict_compat`.

**What a forward hook on a BN layer sees** (docs/methods.md §10). The forward pass is written exactly as in the official code::

    out = F.relu(self.bn1(self.conv1(x)))   # out-of-place ReLU
    out = self.bn2(self.conv2(out))
    out += self.shortcut(x)                 # in place, on the tensor bn2 returned
    out = F.relu(out)                       # out-of-place ReLU

so a hook that stores a *reference* to a module's output
(:func:`cnntopo.nets.activations.capture` with ``clone=False``, as the official
extraction does) records, for ``*.bn1`` and the stem ``bn1``, the BN output before ReLU,
and for ``*.bn2`` the **BN2 output plus the shortcut** (the pre-ReLU block output).
``clone=True`` records the BN2 output alone instead.

The only generalisation is ``width`` (64 in the paper): stages use
``width * (1, 2, 4, 8)`` channels.

References
----------
.. [1] He, K., Zhang, X., Ren, S., and Sun, J. 2016. Deep Residual Learning for Image
   Recognition. CVPR.
.. [2] Purvine, E., et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI. arXiv:2212.00222.
.. [3] Liu, K. pytorch-cifar, ``models/resnet.py``. https://github.com/kuangliu/pytorch-cifar
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MapperBasicBlock", "MapperResNet18", "build_mapper_resnet18"]

_STAGE_MULTIPLIERS: tuple[int, ...] = (1, 2, 4, 8)
_BLOCKS_PER_STAGE: tuple[int, ...] = (2, 2, 2, 2)


class MapperBasicBlock(nn.Module):
    """kuangliu BasicBlock: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Parameters
    ----------
    in_planes : int
        Input channels.
    planes : int
        Output channels.
    stride : int, default 1
        Stride of ``conv1`` and of the shortcut convolution.

    Notes
    -----
    ``shortcut`` is an empty ``nn.Sequential`` (identity) when the shape is kept, else
    ``nn.Sequential(Conv2d(in_planes, planes, 1, stride, bias=False), BatchNorm2d(planes))``
    (state-dict keys ``shortcut.0.weight``, ``shortcut.1.*``). The shortcut is added
    *in place* to the output of ``bn2`` (see the module docstring).
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(self.expansion * planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, in_planes, H, W)`` to ``(B, planes, ceil(H / stride), ceil(W / stride))``."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        out = F.relu(out)
        return out


class MapperResNet18(nn.Module):
    """CIFAR ResNet-18 of the paper's mapper experiments (official ``cifar_train.py``).

    ``conv1`` (3x3, 3 -> width, stride 1) -> ``bn1`` -> ReLU -> ``layer1..layer4``
    (2 :class:`MapperBasicBlock` each, ``width * (1, 2, 4, 8)`` channels, stages 2-4
    start with stride 2) -> average pooling -> ``linear``.

    Parameters
    ----------
    width : int, default 64
        Channels of the stem and of ``layer1`` (64 in the paper).
    num_classes : int, default 10
        Output logits.

    Notes
    -----
    Input ``(B, 3, H, W)`` gives logits ``(B, num_classes)``. The official head is
    ``F.avg_pool2d(out, 4, stride=1)``, which for 32x32 inputs (a 4x4 final map) is a
    global average; here the window is the final map's size, identical for 32x32 inputs
    and also valid for other sizes. The 17 hookable layers are
    :func:`cnntopo.nets.layers_option_b.mapper_layer_names`.
    """

    def __init__(self, width: int = 64, num_classes: int = 10) -> None:
        super().__init__()
        if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 1:
            raise ValueError(f"model width must be a positive integer, got {width!r}")
        width = int(width)
        self.width = width
        self.num_classes = int(num_classes)
        self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        in_planes = width
        for stage, (mult, n_blocks) in enumerate(
            zip(_STAGE_MULTIPLIERS, _BLOCKS_PER_STAGE, strict=True), start=1
        ):
            planes = width * mult
            blocks = []
            for b in range(n_blocks):
                stride = 2 if (stage > 1 and b == 0) else 1
                blocks.append(MapperBasicBlock(in_planes, planes, stride))
                in_planes = planes * MapperBasicBlock.expansion
            self.add_module(f"layer{stage}", nn.Sequential(*blocks))
        self.linear = nn.Linear(in_planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(B, 3, H, W)`` to logits ``(B, num_classes)``."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.layer3(out)
        out = self.layer4(out)
        out = F.avg_pool2d(out, tuple(out.shape[-2:]), stride=1)
        out = out.view(out.size(0), -1)
        return self.linear(out)


def build_mapper_resnet18(
    width: int = 64, num_classes: int = 10, shortcut: str | None = "B"
) -> MapperResNet18:
    """The built-in ``resnet18_mapper`` (:mod:`cnntopo.nets.registry`).

    Parameters
    ----------
    width : int, default 64
        Stem channels.
    num_classes : int, default 10
        Output logits.
    shortcut : {"B"} or None, default "B"
        The network has option-B shortcuts only; accepted so that ``model.kwargs``
        ``shortcut: B`` (or :func:`cnntopo.nets.factories.build_model`'s ``shortcut``)
        may name it.

    Returns
    -------
    MapperResNet18

    Raises
    ------
    ValueError
        ``shortcut`` is not "B".
    """
    if shortcut not in (None, "B"):
        raise ValueError(
            f"the mapper network (arch 'resnet18_mapper') has option-B shortcuts only, "
            f"got shortcut {shortcut!r}"
        )
    return MapperResNet18(width=width, num_classes=num_classes)
