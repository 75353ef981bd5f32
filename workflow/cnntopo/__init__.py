"""cnntopo: topological data analysis of convolutional-network activations.

Reproduces Purvine et al., "Experimental Observations of the Topology of
Convolutional Neural Network Activations" (AAAI 2023, arXiv:2212.00222).

Submodules (import them directly; importing :mod:`cnntopo` itself stays cheap and
does not import torch):

- :mod:`cnntopo.config`       -- config schema validation with defaults
- :mod:`cnntopo.artifacts`           -- atomic writers
- :mod:`cnntopo.nets.datasets`     -- CIFAR-10, Fashion-MNIST, digits, image folders
- :mod:`cnntopo.nets.transforms`   -- normalisation and training augmentation on tensors
- :mod:`cnntopo.nets.models`       -- the paper's CIFAR ResNet-18 (option-A shortcuts)
- :mod:`cnntopo.nets.training`     -- the paper's training recipe, evaluation, checkpoints
- :mod:`cnntopo.nets.activations`  -- streamed capture of conv outputs into shards
- :mod:`cnntopo.ph.pointclouds`  -- point-cloud constructions (top-l2 norm)
- :mod:`cnntopo.ph.persistence`  -- Vietoris-Rips persistence diagrams
- :mod:`cnntopo.ph.distances`    -- distances between persistence diagrams
- :mod:`cnntopo.ph.similarity`   -- linear CKA and Procrustes baselines
- :mod:`cnntopo.ph.specificity`  -- cross-seed layer identification
- :mod:`cnntopo.ph.sensitivity`  -- the PC-removal sensitivity test
- :mod:`cnntopo.ph.figures`     -- paper-style figures
- :mod:`cnntopo.nets.resnet_option_b`   -- the Mapper network (option-B ResNet-18, BN capture)
- :mod:`cnntopo.nets.layers_option_b` -- its layer names and shapes (torch-free)
- :mod:`cnntopo.mapper.receptive_field` -- receptive-field tables of the foreground/background clouds
- :mod:`cnntopo.mapper.grabcut`      -- GrabCut foreground masks (the paper's input quirk or corrected)
- :mod:`cnntopo.mapper.clouds` -- the Mapper point clouds (random, full, fg/bg top-k, noise)
- :mod:`cnntopo.mapper.graph`       -- Mapper graphs (l2 lens, paper cover, DBSCAN, knee eps)
- :mod:`cnntopo.mapper.purity`       -- node-wise and class-wise purity
- :mod:`cnntopo.mapper.draw`  -- static Mapper figures (pie-chart nodes)
- :mod:`cnntopo.mapper.explorer`     -- self-contained interactive HTML explorer
- :mod:`cnntopo.sweep`        -- parameter sweeps (variants as Snakemake modules)
- :mod:`cnntopo.summary`      -- headline numbers per experiment and across a sweep
- :mod:`cnntopo.stages`, :mod:`cnntopo.stages_ph`, :mod:`cnntopo.stages_mapper`
                               -- one entry point per workflow rule
"""

__version__ = "0.1.0"
