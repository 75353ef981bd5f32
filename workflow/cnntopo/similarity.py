"""Short name of the representational-similarity measures (``from cnntopo.similarity import rtd``).

Re-exports the pair functions of :mod:`cnntopo.ph.similarity`: the topology and
neighbourhood measures :func:`rtd` (Representation Topology Divergence, a distance),
:func:`knn_jaccard` and :func:`mutual_knn` (similarities in [0, 1]), their Gram forms,
and the established measures (linear / RBF / debiased CKA, orthogonal Procrustes,
CCA, SVCCA, PWCCA), plus :data:`MEASURES` and :func:`compare`. Every function takes two
``(n, p)`` / ``(n, q)`` arrays whose rows are the same images in the same order.

>>> import numpy as np
>>> from cnntopo.similarity import knn_jaccard, mutual_knn, rtd
>>> X = np.random.default_rng(0).normal(size=(40, 5))
>>> knn_jaccard(X, 3.0 * X), mutual_knn(X, X), rtd(X, 2.0 * X, batch_size=None)
(1.0, 1.0, 0.0)
"""

from cnntopo.ph.similarity import (
    MEASURES,
    UndefinedMeasureError,
    cca,
    cka_debiased,
    cka_linear,
    cka_rbf,
    compare,
    knn_jaccard,
    knn_jaccard_from_grams,
    linear_cka,
    mutual_knn,
    mutual_knn_from_grams,
    orthogonal_procrustes_distance,
    procrustes,
    pwcca,
    rtd,
    rtd_from_grams,
    svcca,
)

__all__ = [
    "rtd",
    "rtd_from_grams",
    "knn_jaccard",
    "knn_jaccard_from_grams",
    "mutual_knn",
    "mutual_knn_from_grams",
    "cka_linear",
    "linear_cka",
    "cka_rbf",
    "cka_debiased",
    "procrustes",
    "orthogonal_procrustes_distance",
    "cca",
    "svcca",
    "pwcca",
    "MEASURES",
    "UndefinedMeasureError",
    "compare",
]
