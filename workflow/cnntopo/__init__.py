"""cnntopo: topological data analysis of convolutional-network activations.

Reproduces Purvine et al., "Experimental Observations of the Topology of
Convolutional Neural Network Activations" (AAAI 2023, arXiv:2212.00222); the
method is described in docs/methods.md.

The torch-free entry points are importable from here and loaded on first use, so
``import cnntopo`` stays cheap (it imports neither numpy nor torch):

- :func:`diagrams`, :func:`load_diagrams` (:mod:`cnntopo.persistence`): Vietoris-Rips
  persistence diagrams, and reading the workflow's diagram files;
- :func:`sliced_wasserstein`, :func:`pairwise` (:mod:`cnntopo.distances`): distances
  between diagrams;
- :func:`mapper_graph`, :func:`knee_eps` (:mod:`cnntopo.mapper`): Mapper graphs.

Subpackages and modules, in pipeline order:

- :mod:`cnntopo.nets` (torch) -- the networks shared by both branches:
  ``datasets``, ``transforms``, ``models`` (the PH network, option-A CIFAR ResNet-18,
  and the architecture registry), ``resnet_option_b`` (the Mapper network),
  ``layers`` and ``layers_option_b`` (layer names and shapes, torch-free),
  ``training``, ``devices``, ``activations`` (streamed capture into shards),
  ``torchvision_shim``;
- :mod:`cnntopo.ph` -- the persistent-homology branch: ``pointclouds`` (top-l2),
  ``persistence``, ``distances`` with ``diagram_ops`` and the compiled all-pairs
  kernel ``sw_kernel``, ``similarity`` (CKA), ``specificity``, ``sensitivity``,
  ``figures`` and ``cross_figures``;
- :mod:`cnntopo.mapper` -- the Mapper branch: ``clouds`` (with ``grabcut`` and
  ``receptive_field``), ``graph`` (lens, cover, nerve) with ``dbscan``, ``purity``,
  ``draw`` (static figures) and ``explorer`` (the self-contained HTML explorer);
- :mod:`cnntopo.stages` -- thin I/O adapters, one module per workflow rule file
  (``stages.nets``, ``stages.ph``, ``stages.mapper``, ``stages.common``,
  ``stages.summary``);
- torch-free helpers: :mod:`cnntopo.config` (schema validation with defaults),
  :mod:`cnntopo.names` (cloud, setting and metric names), :mod:`cnntopo.paths`
  (the results layout), :mod:`cnntopo.resources` (job sizing),
  :mod:`cnntopo.artifacts` (atomic writers), :mod:`cnntopo.logs` (job logging),
  :mod:`cnntopo.sweep` (parameter sweeps);
- :mod:`cnntopo.persistence`, :mod:`cnntopo.distances` -- the documented short names
  of :mod:`cnntopo.ph.persistence` and :mod:`cnntopo.ph.distances`.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it (imported on first attribute access)
_LAZY = {
    "diagrams": "cnntopo.ph.persistence",
    "load_diagrams": "cnntopo.ph.persistence",
    "sliced_wasserstein": "cnntopo.ph.distances",
    "pairwise": "cnntopo.ph.distances",
    "mapper_graph": "cnntopo.mapper.graph",
    "knee_eps": "cnntopo.mapper.graph",
}

__all__ = [
    "diagrams",
    "load_diagrams",
    "sliced_wasserstein",
    "pairwise",
    "mapper_graph",
    "knee_eps",
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cnntopo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
