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
- :mod:`cnntopo.similarity`   -- linear CKA and Procrustes baselines
- :mod:`cnntopo.specificity`  -- cross-seed layer identification
- :mod:`cnntopo.sensitivity`  -- the PC-removal sensitivity test
- :mod:`cnntopo.plotting`     -- paper-style figures
- :mod:`cnntopo.mapper_net`   -- the Mapper network (option-B ResNet-18, BN capture)
- :mod:`cnntopo.mapper_layers` -- its layer names and shapes (torch-free)
- :mod:`cnntopo.receptive_field` -- receptive-field tables of the foreground/background clouds
- :mod:`cnntopo.grabcut`      -- GrabCut foreground masks (the paper's input quirk or corrected)
- :mod:`cnntopo.mapper_clouds` -- the Mapper point clouds (random, full, fg/bg top-k, noise)
- :mod:`cnntopo.mapper`       -- Mapper graphs (l2 lens, paper cover, DBSCAN, knee eps)
- :mod:`cnntopo.purity`       -- node-wise and class-wise purity
- :mod:`cnntopo.mapper_draw`  -- static Mapper figures (pie-chart nodes)
- :mod:`cnntopo.explorer`     -- self-contained interactive HTML explorer
- :mod:`cnntopo.sweep`        -- parameter sweeps (variants as Snakemake modules)
- :mod:`cnntopo.summary`      -- headline numbers per experiment and across a sweep
- :mod:`cnntopo.stages`, :mod:`cnntopo.stages_ph`, :mod:`cnntopo.stages_mapper`
                               -- one entry point per workflow rule
"""

__version__ = "0.1.0"
