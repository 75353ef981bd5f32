"""Properties of the persistence-diagram distances (cnntopo.distances).

- ``pairwise`` gives a symmetric matrix with a zero diagonal, for every metric, and the
  same entries as the full ``pairwise(X, X)`` (where the diagonal is really computed);
- every metric is invariant to the order of the points of a diagram;
- every metric equals persim 0.4.1's (``sliced_wasserstein`` with the same ``M``,
  ``wasserstein`` = W1 with the Euclidean ground metric, ``bottleneck``).
"""

from __future__ import annotations

import numpy as np
import persim
import pytest
from hypothesis import given
from hypothesis import strategies as st
from property_strategies import diagram, permutation, property_settings

from cnntopo.distances import METRICS, pairwise, sliced_wasserstein

# hera's auction runs with a relative error delta = 1e-10 (Wasserstein) or exactly
# (bottleneck); the sliced Wasserstein distance differs from persim only by the order
# of the float64 sums.
RTOL = {"sliced_wasserstein": 1e-12, "wasserstein": 1e-8, "bottleneck": 1e-9}
ATOL = 1e-12


def _close(a, b, metric: str) -> bool:
    return bool(np.allclose(a, b, rtol=RTOL[metric], atol=ATOL))


def test_all_metrics_are_covered():
    assert set(METRICS) == set(RTOL)


@pytest.mark.parametrize("metric", sorted(RTOL))
@property_settings(max_examples=20)
@given(dgms=st.lists(diagram(), min_size=1, max_size=5))
def test_pairwise_is_symmetric_with_zero_diagonal(metric, dgms):
    D = pairwise(dgms, metric=metric)
    K = len(dgms)
    assert D.shape == (K, K) and D.dtype == np.float64
    assert np.all(np.isfinite(D)) and np.all(D >= 0.0)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    # the full matrix computes d(X_i, X_i) and both d(X_i, X_j) and d(X_j, X_i)
    full = pairwise(dgms, dgms, metric=metric)
    assert np.allclose(np.diag(full), 0.0, rtol=0.0, atol=ATOL), np.diag(full)
    assert _close(full, full.T, metric)
    iu = np.triu_indices(K, 1)
    assert _close(D[iu], full[iu], metric)


@property_settings(max_examples=10)
@given(dgms=st.lists(diagram(max_points=8), min_size=8, max_size=9))
def test_sliced_wasserstein_kernel_matrix_matches_pair_function(dgms):
    """From 28 pairs on, pairwise() uses the compiled all-pairs kernel instead."""
    D = pairwise(dgms)
    K = len(dgms)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    for i in range(K):
        for j in range(i + 1, K):
            ref = sliced_wasserstein(dgms[i], dgms[j])
            assert D[i, j] == pytest.approx(ref, rel=1e-12, abs=ATOL), (i, j)


@st.composite
def _diagram_pair_and_orders(draw):
    a = draw(diagram())
    b = draw(diagram())
    return a, b, draw(permutation(len(a))), draw(permutation(len(b)))


@pytest.mark.parametrize("metric", sorted(RTOL))
@property_settings(max_examples=20)
@given(case=_diagram_pair_and_orders())
def test_invariant_to_the_order_of_the_points(metric, case):
    a, b, pa, pb = case
    D = pairwise([a, b], metric=metric)
    Dp = pairwise([a[pa], b[pb]], metric=metric)
    cross = pairwise([a], [b[pb]], metric=metric)[0, 0]
    if metric == "sliced_wasserstein":
        # sorted projections do not depend on the input order: bit-identical
        np.testing.assert_array_equal(D, Dp)
        assert cross == D[0, 1]
    else:
        assert _close(D, Dp, metric)
        assert _close(cross, D[0, 1], metric)


@property_settings(max_examples=25)
@given(a=diagram(), b=diagram(), M=st.integers(1, 60))
def test_sliced_wasserstein_equals_persim(a, b, M):
    ref = float(persim.sliced_wasserstein(a, b, M=M))
    assert sliced_wasserstein(a, b, M=M) == pytest.approx(
        ref, rel=RTOL["sliced_wasserstein"], abs=ATOL
    )
    D = pairwise([a, b], M=M)
    assert D[0, 1] == pytest.approx(ref, rel=RTOL["sliced_wasserstein"], abs=ATOL)


@property_settings(max_examples=25)
@given(a=diagram(), b=diagram())
def test_wasserstein_equals_persim(a, b):
    """persim.wasserstein: W1, Euclidean ground metric (pairwise's default internal_p=2)."""
    ref = float(persim.wasserstein(a, b))
    got = pairwise([a], [b], metric="wasserstein")[0, 0]
    assert got == pytest.approx(ref, rel=RTOL["wasserstein"], abs=1e-10)


@property_settings(max_examples=25)
@given(a=diagram(), b=diagram())
def test_bottleneck_equals_persim(a, b):
    ref = float(persim.bottleneck(a, b))
    got = pairwise([a], [b], metric="bottleneck")[0, 0]
    assert got == pytest.approx(ref, rel=RTOL["bottleneck"], abs=ATOL)
