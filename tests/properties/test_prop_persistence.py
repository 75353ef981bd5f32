"""Property: Vietoris--Rips diagrams (cnntopo.persistence.diagrams) do not depend on point order.

Permuting the points of a cloud permutes its distance matrix; the Rips filtration, and so
every diagram, is the same. Both backends compute the distances in float32 (the paper's
convention), whose rounding may differ with the position of a point, so the diagrams are
compared by the bottleneck distance (persim, the reference implementation) against a
tolerance of a few float32 ulps of the largest distance: by the stability theorem a
perturbation of the distances by ``delta`` moves the diagram by at most ``delta``. The
essential (infinite) bars must agree exactly in number.
"""

from __future__ import annotations

import numpy as np
import persim
import pytest
from hypothesis import given
from hypothesis import strategies as st
from property_strategies import cloud, permutation, property_settings
from scipy.sparse.csgraph import minimum_spanning_tree

from cnntopo.persistence import diagrams


@st.composite
def _cloud_and_order(draw):
    n = draw(st.integers(5, 25))
    d = draw(st.integers(2, 4))
    X = draw(cloud(n, d))
    return X, draw(permutation(n))


def _finite(dgm: np.ndarray) -> np.ndarray:
    return dgm[np.isfinite(dgm).all(axis=1)]


@pytest.mark.parametrize("backend", ["ripser", "giotto"])
@property_settings(max_examples=20)
@given(case=_cloud_and_order())
def test_diagrams_are_invariant_to_the_order_of_the_points(backend, case):
    X, order = case
    maxdim = 1
    dgms = diagrams(X, maxdim=maxdim, backend=backend)
    permuted = diagrams(X[order], maxdim=maxdim, backend=backend)
    assert len(dgms) == len(permuted) == maxdim + 1
    diffs = X[:, None, :] - X[None, :, :]
    diameter = float(np.sqrt((diffs**2).sum(axis=-1)).max())
    tol = 8 * np.finfo(np.float32).eps * max(diameter, 1.0)
    for k, (a, b) in enumerate(zip(dgms, permuted, strict=True)):
        assert a.shape[1] == b.shape[1] == 2
        n_inf_a = int((~np.isfinite(a).all(axis=1)).sum())
        n_inf_b = int((~np.isfinite(b).all(axis=1)).sum())
        assert n_inf_a == n_inf_b == (1 if k == 0 else 0), (k, n_inf_a, n_inf_b)
        dist = float(persim.bottleneck(_finite(a), _finite(b)))
        assert dist <= tol, f"H{k}: bottleneck {dist} > {tol}"
    # H0 deaths are the edge lengths of a Euclidean minimum spanning tree (Kruskal);
    # the backends drop zero-length bars (repeated points), so pad with zeros to n - 1.
    # Checked against SciPy's MST, which reads a zero entry as "no edge": all edges get
    # + 1 (the same spanning trees are minimal, as each has n - 1 edges), then - 1.
    n = X.shape[0]
    finite_h0 = _finite(dgms[0])
    np.testing.assert_array_equal(finite_h0[:, 0], 0.0)
    assert finite_h0.shape[0] <= n - 1
    deaths = np.sort(np.concatenate([finite_h0[:, 1], np.zeros(n - 1 - finite_h0.shape[0])]))
    D = np.sqrt((diffs**2).sum(axis=-1)) + 1.0
    np.fill_diagonal(D, 0.0)
    lengths = np.sort(minimum_spanning_tree(D).data - 1.0)
    assert lengths.size == n - 1
    np.testing.assert_allclose(deaths, lengths, rtol=0, atol=tol)
