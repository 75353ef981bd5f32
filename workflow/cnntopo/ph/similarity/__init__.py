"""Representational-similarity measures: CKA (linear, RBF, debiased), Procrustes, CCA family.

The paper discusses its persistent-homology distances "in the broader context of
existing representational similarity metrics" (docs/methods.md §9). No
similarity code was released, so this module provides the standard measures,
computed on the inputs the PH pipeline sees or on the standard representations
of :mod:`cnntopo.ph.representations`:

- CKA: :func:`linear_cka` (alias :func:`cka_linear`), :func:`cka_rbf`,
  :func:`cka_debiased`, and from precomputed Gram matrices
  :func:`cka_from_grams` / :func:`cka_matrix_from_grams` (one Gram per layer,
  every pair for one ``n^2`` inner product); :func:`cka_matrix` for linear CKA
  between many feature matrices.
- :func:`orthogonal_procrustes_distance` (alias :func:`procrustes`),
  :func:`procrustes_matrix`.
- CCA family: :func:`canonical_correlations`, :func:`cca` (mean correlation or
  mean squared correlation), :func:`svcca`, :func:`pwcca`.
- Gram forms of Procrustes, CCA and SVCCA (:func:`procrustes_from_grams`,
  :func:`cca_from_grams`, :func:`svcca_from_grams`), for representations too wide
  for their features to be compared directly (flattened convolutional layers).
- Neighbourhoods (:mod:`.neighbours`): :func:`knn_jaccard` (ReSi's k-NN Jaccard
  similarity [8]_) and :func:`mutual_knn` (mutual k-NN alignment [9]_), with their
  Gram forms.
- Topology (:mod:`.rtd`): :func:`rtd`, the Representation Topology Divergence [10]_
  (the H1 total length of the R-Cross-Barcode, averaged over image subsets), with its
  Gram form :func:`rtd_from_grams`.
- :data:`MEASURES`: every measure by name with its convention (``"similarity"``:
  larger is closer; ``"distance"``: smaller is closer) and its Gram form;
  :func:`measure_matrix` and :func:`measure_matrix_from_grams`: one measure between
  all pairs of representations, by name (the Gram version prepares each matrix
  once).

**Layout.** The package is split by family: :mod:`.base` (validation, the pair loop,
:class:`UndefinedMeasureError`), :mod:`.grams` (centring, linear and RBF kernels,
HSIC, principal coordinates), :mod:`.cka`, :mod:`.procrustes`, :mod:`.cca`,
:mod:`.neighbours`, :mod:`.rtd`, :mod:`.prepared` (their per-representation Gram
preparations for the engines),
:mod:`.registry` (:class:`Measure`, :data:`MEASURES`, :func:`resolve`, the user-measure
door ``"python:<file.py>:<function>"``, :func:`measure_specs`) and :mod:`.engine`
(all pairs by name, the blocked on-disk engine, and :func:`compare`, the router that
decides how each measure is computed on stored representations). Every public name
is importable from ``cnntopo.ph.similarity``.

**Undefined is a result.** Where a measure is undefined (a constant representation,
fewer than 4 images for debiased HSIC, every pairwise distance 0 for the RBF
bandwidth, a CCA whose correlations are trivially 1 because the representation spans
all ``n - 1`` centred directions) the single-pair functions raise
:class:`UndefinedMeasureError` (a :class:`ValueError`) with a short ``reason``; the
matrix functions given a ``notes`` dict, and :func:`compare` always, write NaN there
and record the reason.

All measures take two representations ``X`` of shape ``(n, p)`` and ``Y`` of
shape ``(n, q)`` whose rows are the same ``n`` images in the same order, and
return a float.

**The same activations.** A representation here is, for example, a layer's
*top-l2 point cloud* (:func:`cnntopo.ph.pointclouds.top_l2`, construction P1): an ``(N, c)``
matrix whose row ``i`` is the spatial activation vector of largest l2 norm for
evaluation image ``i`` (``N`` images, ``c`` channels of that layer). Ripser sees
the rows as ``N`` points in ``R^c``; CKA and Procrustes see the same matrix as
``N`` paired observations of ``c`` features. Two clouds are comparable when
their rows are the same images in the same order (the chosen spatial position
may differ between layers; the image may not). Layers of different width
(64 ... 512 channels) are compared directly; no padding is needed for CKA.

All measures centre the columns (features) first, which Ripser does not need:
Vietoris--Rips diagrams are translation invariant anyway.

References
----------
.. [1] Kornblith, S.; Norouzi, M.; Lee, H.; Hinton, G. 2019. Similarity of Neural
   Network Representations Revisited. ICML 2019, PMLR 97: 3519--3529.
   arXiv:1905.00414.
.. [2] Ding, F.; Denain, J.-S.; Steinhardt, J. 2021. Grounding Representation
   Similarity Through Statistical Testing. NeurIPS 2021, 34: 1556--1568.
   arXiv:2108.01661.
.. [3] Schönemann, P. H. 1966. A generalized solution of the orthogonal
   Procrustes problem. Psychometrika 31(1): 1--10.
.. [4] Song, L.; Smola, A.; Gretton, A.; Bedo, J.; Borgwardt, K. 2012. Feature
   Selection via Dependence Maximization. JMLR 13: 1393--1434.
.. [5] Nguyen, T.; Raghu, M.; Kornblith, S. 2021. Do Wide and Deep Networks Learn
   the Same Things? ICLR 2021. arXiv:2010.15327.
.. [6] Raghu, M.; Gilmer, J.; Yosinski, J.; Sohl-Dickstein, J. 2017. SVCCA.
   NeurIPS 2017. arXiv:1706.05806.
.. [7] Morcos, A. S.; Raghu, M.; Bengio, S. 2018. Insights on representational
   similarity in neural networks with canonical correlation. NeurIPS 2018.
   arXiv:1806.05759.
.. [8] Klabunde, M.; Wald, T.; Schumacher, T.; Maier-Hein, K.; Strohmaier, M.;
   Lemmerich, F. 2024. ReSi: A Comprehensive Benchmark for Representational
   Similarity Measures. arXiv:2408.00531.
.. [9] Huh, M.; Cheung, B.; Wang, T.; Isola, P. 2024. The Platonic Representation
   Hypothesis. ICML 2024. arXiv:2405.07987.
.. [10] Barannikov, S.; Trofimov, I.; Balabin, N.; Burnaev, E. 2022. Representation
   Topology Divergence: A Method for Comparing Neural Network Representations. ICML
   2022. arXiv:2201.00058.
"""

from cnntopo.ph.similarity.base import (
    ZERO_VARIANCE,
    UndefinedMeasureError,
    column_centred,
)
from cnntopo.ph.similarity.cca import (
    canonical_correlations,
    cca,
    cca_from_grams,
    column_basis,
    pwcca,
    pwcca_pair,
    svcca,
    svcca_from_grams,
)
from cnntopo.ph.similarity.cka import (
    GRAM_MEMORY_LIMIT,
    cka_debiased,
    cka_from_grams,
    cka_linear,
    cka_matrix,
    cka_matrix_from_grams,
    cka_rbf,
    feature_normalised,
    linear_cka,
)
from cnntopo.ph.similarity.engine import (
    ROUTES,
    Comparison,
    Rep,
    RepBlocks,
    blocked_matrix_from_grams,
    compare,
    gram_preparation,
    measure_matrix,
    measure_matrix_from_grams,
    route,
)
from cnntopo.ph.similarity.grams import (
    centre_gram,
    hsic,
    linear_gram,
    principal_coordinates,
    rbf_from_linear_gram,
    rbf_gram,
)
from cnntopo.ph.similarity.neighbours import (
    knn_jaccard,
    knn_jaccard_from_grams,
    mutual_knn,
    mutual_knn_from_grams,
)
from cnntopo.ph.similarity.prepared import GRAM_PREPARATIONS
from cnntopo.ph.similarity.procrustes import (
    orthogonal_procrustes_distance,
    procrustes,
    procrustes_from_grams,
    procrustes_matrix,
)
from cnntopo.ph.similarity.registry import (
    MEASURES,
    USER_PREFIX,
    Measure,
    builtin_names,
    check_user_measure,
    is_user_spec,
    measure_specs,
    resolve,
    user_files,
)
from cnntopo.ph.similarity.rtd import rtd, rtd_from_grams

__all__ = [
    "linear_cka",
    "cka_matrix",
    "orthogonal_procrustes_distance",
    "procrustes_matrix",
    "cka_linear",
    "procrustes",
    "centre_gram",
    "linear_gram",
    "rbf_gram",
    "rbf_from_linear_gram",
    "hsic",
    "cka_from_grams",
    "cka_matrix_from_grams",
    "cka_rbf",
    "cka_debiased",
    "canonical_correlations",
    "cca",
    "svcca",
    "pwcca",
    "procrustes_from_grams",
    "cca_from_grams",
    "svcca_from_grams",
    "knn_jaccard",
    "mutual_knn",
    "knn_jaccard_from_grams",
    "mutual_knn_from_grams",
    "rtd",
    "rtd_from_grams",
    "GRAM_PREPARATIONS",
    "Measure",
    "MEASURES",
    "measure_matrix",
    "measure_matrix_from_grams",
    "blocked_matrix_from_grams",
    "principal_coordinates",
    "GRAM_MEMORY_LIMIT",
    "UndefinedMeasureError",
    "ZERO_VARIANCE",
    "USER_PREFIX",
    "builtin_names",
    "is_user_spec",
    "resolve",
    "check_user_measure",
    "measure_specs",
    "user_files",
    "Rep",
    "RepBlocks",
    "Comparison",
    "ROUTES",
    "route",
    "compare",
]

# the per-representation preparations that benchmarks/bench_similarity.py times
# directly, under their former private names (not part of the public API)
_basis = column_basis
_centred = column_centred
_feature_normalised = feature_normalised
_gram_preparation = gram_preparation
_pwcca_pair = pwcca_pair
