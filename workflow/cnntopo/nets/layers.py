"""Architectures by name and layers by name, pattern or type, without importing torch.

This module gathers the torch-free layer API; each concept lives in its own module:

- :mod:`cnntopo.nets.arch`: ``model.arch`` parsed and checked (:func:`parse_arch`,
  :func:`check_arch`, :func:`torchvision_builders`);
- :mod:`cnntopo.nets.registry`: the built-in networks (:func:`builtin_archs`);
- :mod:`cnntopo.nets.layers_option_a`: the PH network's static layer names and module
  table (:func:`paper_layer_names`, :func:`paper_module_table`);
- :mod:`cnntopo.nets.module_table`: the module table of any network (:func:`module_table`,
  :func:`cache_dir`), static or computed once in a subprocess and cached;
- :mod:`cnntopo.nets.selection`: ``activations.layers`` as names (:func:`select_layers`,
  :func:`resolve_layers`);
- :mod:`cnntopo.nets.shapes`: :func:`layer_shapes`, :func:`cloud_shape`;
- :mod:`cnntopo.nets.layer_config`: the layers of a validated config
  (:func:`config_layers`, :func:`mapper_config_layers`, :func:`model_settings`,
  :func:`is_option_b`, :data:`MAPPER_ARCH`);
- :mod:`cnntopo.nets.batching`: :func:`bounded_batch_size`.
"""

from __future__ import annotations

from cnntopo.nets.arch import ARCH_FORMS, ArchSpec, check_arch, parse_arch, torchvision_builders
from cnntopo.nets.batching import bounded_batch_size
from cnntopo.nets.layer_config import (
    MAPPER_ARCH,
    config_layers,
    is_option_b,
    mapper_config_layers,
    model_settings,
)
from cnntopo.nets.layers_option_a import paper_layer_names, paper_module_table
from cnntopo.nets.module_table import cache_dir, module_table
from cnntopo.nets.registry import builtin_archs
from cnntopo.nets.selection import TYPE_PREFIX, resolve_layers, select_layers
from cnntopo.nets.shapes import cloud_shape, layer_shapes

__all__ = [
    "ArchSpec",
    "ARCH_FORMS",
    "TYPE_PREFIX",
    "parse_arch",
    "check_arch",
    "torchvision_builders",
    "builtin_archs",
    "paper_layer_names",
    "paper_module_table",
    "module_table",
    "select_layers",
    "resolve_layers",
    "layer_shapes",
    "cloud_shape",
    "cache_dir",
    "model_settings",
    "config_layers",
    "MAPPER_ARCH",
    "is_option_b",
    "mapper_config_layers",
    "bounded_batch_size",
]
