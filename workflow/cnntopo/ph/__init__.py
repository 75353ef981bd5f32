"""The persistent-homology branch.

- :mod:`~cnntopo.ph.pointclouds`: point clouds of activations (top-l2 norm).
- :mod:`~cnntopo.ph.persistence`: Vietoris-Rips persistence diagrams.
- :mod:`~cnntopo.ph.distances` (with the all-pairs kernel :mod:`~cnntopo.ph.sw_kernel`
  and their shared diagram checks and projections, :mod:`~cnntopo.ph.diagram_ops`):
  sliced Wasserstein, Wasserstein and bottleneck distances between diagrams.
- :mod:`~cnntopo.ph.representations`: flat, pooled and top-l2 representations of a
  layer, and its centred Gram matrix accumulated over channel blocks.
- :mod:`~cnntopo.ph.similarity`: representational-similarity measures (linear, RBF
  and debiased CKA, Procrustes, CCA, SVCCA, PWCCA).
- :mod:`~cnntopo.ph.specificity`, :mod:`~cnntopo.ph.sensitivity`: the cross-seed and
  PC-removal tests.
- :mod:`~cnntopo.ph.figures`, :mod:`~cnntopo.ph.cross_figures`: the branch's figures.
"""
