"""Tests for k-NN Jaccard and mutual k-NN (cnntopo.ph.similarity.neighbours).

Truths: 1 for the same cloud and rotated / uniformly scaled / shifted copies; equal to a
brute-force reference written here with scikit-learn's NearestNeighbors and Python sets;
invariant to the order of the images; the Gram form equals the feature form; ties are
broken by the lower index, alike in both forms; degenerate inputs are undefined with a
reason.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from cnntopo.ph.similarity import (
    GRAM_PREPARATIONS,
    MEASURES,
    UndefinedMeasureError,
    compare,
    linear_gram,
    measure_matrix,
    measure_specs,
)
from cnntopo.ph.similarity.neighbours import knn_indices, neighbour_sets
from cnntopo.similarity import (
    knn_jaccard,
    knn_jaccard_from_grams,
    mutual_knn,
    mutual_knn_from_grams,
)

FUNCTIONS = {"knn_jaccard": knn_jaccard, "mutual_knn": mutual_knn}
FROM_GRAMS = {"knn_jaccard": knn_jaccard_from_grams, "mutual_knn": mutual_knn_from_grams}


def _orthogonal(p: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(p, p)))
    return q * np.sign(np.diag(r))


@pytest.fixture
def pair():
    rng = np.random.default_rng(21)
    X = rng.normal(size=(80, 7)) + 1.5
    Y = np.maximum(X @ rng.normal(size=(7, 9)), 0.0) + 0.3 * rng.normal(size=(80, 9))
    return X, Y


def _brute_force(X, Y, k, metric, centre, kind):
    """scikit-learn's exact neighbours (k + 1, the image itself dropped), Python sets."""

    def sets(Z):
        if centre:
            Z = Z - Z.mean(axis=0)
        nn = NearestNeighbors(n_neighbors=k + 1, metric=metric, algorithm="brute").fit(Z)
        _, idx = nn.kneighbors(Z)
        return [set(row[row != i][:k]) for i, row in enumerate(idx)]

    scores = []
    for a, b in zip(sets(X), sets(Y), strict=True):
        assert len(a) == len(b) == k
        scores.append(len(a & b) / (len(a | b) if kind == "knn_jaccard" else k))
    return float(np.mean(scores))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_equals_a_brute_force_reference(name, metric, k, pair):
    X, Y = pair
    value = FUNCTIONS[name](X, Y, k=k, metric=metric)
    assert 0.0 < value < 1.0
    assert value == pytest.approx(_brute_force(X, Y, k, metric, True, name), abs=1e-12)
    # ReSi's raw cosines (no centring): another neighbourhood for these shifted clouds
    raw = FUNCTIONS[name](X, Y, k=k, metric=metric, centre=False)
    assert raw == pytest.approx(_brute_force(X, Y, k, metric, False, name), abs=1e-12)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_one_for_the_same_cloud_and_rotated_scaled_shifted_copies(name, metric, pair):
    X, _ = pair
    Q = _orthogonal(X.shape[1], seed=2)
    for copy in (X, X @ Q, 4.2 * X, 0.3 * X @ Q - 2.0):
        assert FUNCTIONS[name](X, copy, metric=metric) == 1.0
    assert FUNCTIONS[name](X, X * np.arange(1, 8) ** 2, metric=metric) < 1.0


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_invariant_to_the_order_of_the_images(name, pair):
    X, Y = pair
    perm = np.random.default_rng(4).permutation(len(X))
    for metric in ("cosine", "euclidean"):
        assert FUNCTIONS[name](X[perm], Y[perm], metric=metric) == pytest.approx(
            FUNCTIONS[name](X, Y, metric=metric), abs=1e-12
        )
    # permuting one side only breaks the correspondence
    assert FUNCTIONS[name](X, Y[perm]) < 0.5 * FUNCTIONS[name](X, Y)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_gram_form_equals_feature_form(name, metric, pair):
    X, Y = pair
    value = FUNCTIONS[name](X, Y, k=7, metric=metric)
    for K, L in ((X @ X.T, Y @ Y.T), (linear_gram(X), linear_gram(Y))):
        assert FROM_GRAMS[name](K, L, k=7, metric=metric) == value
    prepare, score = GRAM_PREPARATIONS[name]({"k": 7, "metric": metric})
    a, b = prepare(linear_gram(X), "X"), prepare(linear_gram(Y), "Y")
    np.testing.assert_array_equal(a, neighbour_sets(X, 7, metric))
    assert score(a, b) == value


def test_jaccard_and_mutual_agree_per_image_and_lie_in_range(pair):
    X, Y = pair
    k = 6
    A, B = neighbour_sets(X, k), neighbour_sets(Y, k)
    common = np.array([len(set(a) & set(b)) for a, b in zip(A, B, strict=True)])
    assert knn_jaccard(X, Y, k=k) == pytest.approx(np.mean(common / (2 * k - common)))
    assert mutual_knn(X, Y, k=k) == pytest.approx(np.mean(common / k))
    assert 0.0 <= knn_jaccard(X, Y, k=k) <= mutual_knn(X, Y, k=k) <= 1.0
    assert knn_jaccard(X, Y) == knn_jaccard(Y, X)


def test_ties_go_to_the_lower_index_in_both_forms():
    # images 2 and 4 duplicate image 0: at distance 0 from it, and tied for everyone else
    rng = np.random.default_rng(8)
    X = rng.normal(size=(12, 3))
    X[[2, 4]] = X[0]
    for metric in ("euclidean", "cosine"):
        N = neighbour_sets(X, 3, metric)
        assert set(N[0][:2]) == {2, 4} and list(N[0][:2]) == [2, 4]
        assert list(N[2][:2]) == [0, 4] and list(N[4][:2]) == [0, 2]
        np.testing.assert_array_equal(N, neighbour_sets(X @ _orthogonal(3, 9), 3, metric))
        prepare, _ = GRAM_PREPARATIONS["knn_jaccard"]({"k": 3, "metric": metric})
        np.testing.assert_array_equal(prepare(linear_gram(X), "X"), N)
    # exact ties in a dissimilarity matrix: the lower index first
    D = np.array([[0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]], dtype=float)
    np.testing.assert_array_equal(knn_indices(D, 2), [[1, 2], [0, 2], [0, 1], [0, 1]])


def test_degenerate_inputs_are_undefined_with_a_reason():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(15, 4))
    for name, f in FUNCTIONS.items():
        with pytest.raises(UndefinedMeasureError, match="zero variance") as err:
            f(np.full((15, 4), 3.0), Y)
        assert err.value.reason == "zero variance after centring (constant representation)"
        with pytest.raises(UndefinedMeasureError, match="at least k \\+ 1"):
            f(Y[:10], Y[:10], k=10)
        with pytest.raises(UndefinedMeasureError, match="zero"):
            FROM_GRAMS[name](np.zeros((15, 15)), Y @ Y.T)
    # an image at the centroid: its cosine neighbours are undefined, its Euclidean ones not
    Z = rng.normal(size=(14, 3))
    Z = np.vstack([Z, Z.mean(axis=0)])  # the last row is the mean of all 15
    with pytest.raises(UndefinedMeasureError, match="zero \\(centred\\) activation vector"):
        knn_jaccard(Z, Y, k=3)
    assert 0.0 <= knn_jaccard(Z, Y, k=3, metric="euclidean") <= 1.0
    # a regular simplex: every distance equal, every neighbour set a tie-break
    with pytest.raises(UndefinedMeasureError, match="every pairwise euclidean distance"):
        mutual_knn(np.eye(6), rng.normal(size=(6, 2)), k=2, metric="euclidean")
    with pytest.raises(ValueError, match="metric"):
        knn_jaccard(Y, Y, metric="manhattan")
    with pytest.raises(ValueError, match="positive integer"):
        knn_jaccard(Y, Y, k=0)
    with pytest.raises(TypeError, match="unexpected parameters"):
        GRAM_PREPARATIONS["mutual_knn"]({"k": 3, "seed": 1})


def test_registered_with_config_params(pair):
    X, Y = pair
    specs = measure_specs(
        {"measures": ["knn_jaccard", "mutual_knn"], "knn_k": 4, "knn_metric": "euclidean"}
    )
    assert [s["label"] for s in specs] == ["knn_jaccard", "mutual_knn"]
    for spec in specs:
        measure = MEASURES[spec["name"]]
        assert measure.kind == "similarity" and measure.from_grams is FROM_GRAMS[spec["name"]]
        assert spec["params"] == {"k": 4, "metric": "euclidean"}
        M = measure_matrix(spec["name"], [X, Y], **spec["params"])
        assert M[0, 1] == FUNCTIONS[spec["name"]](X, Y, k=4, metric="euclidean")
        np.testing.assert_array_equal(np.diag(M), 1.0)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_compare_takes_the_gram_route_on_every_representation(name, pair):
    X, Y = pair
    spec = {"name": name, "params": {"k": 5, "metric": "cosine"}}
    value = FUNCTIONS[name](X, Y, k=5)
    for reps in ([(None, X), (None, Y)], [(linear_gram(X), None), (linear_gram(Y), None)]):
        result = compare(spec, reps)
        assert result.route == "grams" and result.kind == "similarity"
        assert result.matrix[0, 1] == value


@pytest.mark.parametrize("name", ["knn_jaccard", "mutual_knn", "rtd"])
def test_the_router_sends_them_to_the_gram_route_on_every_representation(name):
    from cnntopo.ph.similarity import route

    assert route(name, narrow=True) == route(name, narrow=False) == "grams"
    assert name in GRAM_PREPARATIONS
