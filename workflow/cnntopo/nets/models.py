"""Networks, built and loaded: the torch side of :mod:`cnntopo.nets`, gathered in one place.

Each concept lives in its own module; this one re-exports them:

- :mod:`cnntopo.nets.resnet_cifar`: the paper's PH network :class:`ResNet18CIFAR`
  (official ``AAAI-code-PH/cifar_resnet.py``) with :class:`BasicBlock` and
  :class:`OptionAShortcut`;
- :mod:`cnntopo.nets.registry`: the built-in networks (:data:`BUILTINS`,
  :data:`ARCHITECTURES`, :func:`cnntopo.nets.registry.builtin_archs`);
- :mod:`cnntopo.nets.factories`: any network by ``model.arch`` (:func:`build_model`,
  :func:`init_model`, :func:`pretrained_num_classes`);
- :mod:`cnntopo.nets.checkpoints`: :func:`load_state_dict_compat`,
  :func:`save_state_dict`;
- :mod:`cnntopo.nets.discovery`: layers and modules of a built network
  (:func:`conv_layer_names`, :func:`default_layers`, :func:`describe_modules`,
  :func:`count_parameters`);
- :mod:`cnntopo.nets.shapes`: :func:`layer_shapes` (of a built network or an arch name).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

from torch import nn

from cnntopo.nets.checkpoints import load_state_dict_compat, save_state_dict
from cnntopo.nets.discovery import (
    conv_layer_names,
    count_parameters,
    default_layers,
    describe_modules,
)
from cnntopo.nets.factories import build_model, init_model, pretrained_num_classes
from cnntopo.nets.registry import build_builtin, builtin_archs
from cnntopo.nets.resnet_cifar import SHORTCUTS, BasicBlock, OptionAShortcut, ResNet18CIFAR
from cnntopo.nets.shapes import layer_shapes

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

#: Built-in networks: name -> ``builder(width, num_classes, **kwargs)``, derived from
#: :data:`cnntopo.nets.registry.REGISTRY` (add a network there).
BUILTINS: dict[str, Callable[..., nn.Module]] = {
    name: functools.partial(build_builtin, name) for name in builtin_archs()
}

#: Names of the built-in networks (:func:`cnntopo.nets.registry.builtin_archs`).
ARCHITECTURES: tuple[str, ...] = builtin_archs()


if __name__ == "__main__":  # the former entry point of the module-table subprocess
    from cnntopo.nets.discovery import main

    main(sys.argv[1:])
