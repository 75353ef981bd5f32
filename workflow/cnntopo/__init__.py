"""cnntopo: topological data analysis of convolutional-network activations.

Reproduces Purvine et al., "Experimental Observations of the Topology of
Convolutional Neural Network Activations" (AAAI 2023, arXiv:2212.00222).

Submodules (import them directly; importing :mod:`cnntopo` itself stays cheap and
does not import torch):

- :mod:`cnntopo.config`       -- config schema validation with defaults
- :mod:`cnntopo.io`           -- atomic writers
- :mod:`cnntopo.datasets`     -- CIFAR-10, Fashion-MNIST, digits, image folders
- :mod:`cnntopo.transforms`   -- normalisation and training augmentation on tensors
- :mod:`cnntopo.models`       -- the paper's CIFAR ResNet-18 (option-A shortcuts)
- :mod:`cnntopo.training`     -- the paper's training recipe, evaluation, checkpoints
- :mod:`cnntopo.activations`  -- streamed capture of conv outputs into shards
- :mod:`cnntopo.pointclouds`  -- point-cloud constructions (top-l2 norm)
- :mod:`cnntopo.persistence`  -- Vietoris-Rips persistence diagrams
- :mod:`cnntopo.distances`    -- distances between persistence diagrams
- :mod:`cnntopo.plotting`     -- paper-style figures
- :mod:`cnntopo.stages`       -- one entry point per workflow rule
"""

__version__ = "0.1.0"
