"""Prepared Gram forms of the neighbourhood and topology measures, by name.

The matrix engines (:func:`cnntopo.ph.similarity.engine.gram_preparation`,
:func:`~cnntopo.ph.similarity.engine.measure_matrix_from_grams`, the blocked on-disk
engine) prepare each representation once and then evaluate every pair.
:data:`GRAM_PREPARATIONS` maps a measure name to ``preparation(params) ->
(prepare, pair)``: ``prepare(K, name)`` turns one linear Gram matrix (n, n) into an
array (the (n, k) neighbour sets of :mod:`.neighbours`, the (n, n) distance matrix of
:mod:`.rtd`) and ``pair(a, b)`` gives the measure's value from two prepared arrays,
equal to the measure's ``from_grams`` on the two Gram matrices.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from cnntopo.ph.similarity import neighbours, rtd

__all__ = ["GRAM_PREPARATIONS"]

Preparation = Callable[
    [dict[str, Any]],
    tuple[Callable[[np.ndarray, str], np.ndarray], Callable[[np.ndarray, np.ndarray], float]],
]

#: Measure name -> ``preparation(params) -> (prepare, pair)``.
GRAM_PREPARATIONS: dict[str, Preparation] = {
    "knn_jaccard": partial(neighbours.gram_preparation, "knn_jaccard"),
    "mutual_knn": partial(neighbours.gram_preparation, "mutual_knn"),
    "rtd": rtd.gram_preparation,
}
