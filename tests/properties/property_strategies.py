"""Shared hypothesis settings and strategies of the property tests in tests/properties/.

Every property test takes its settings from :func:`property_settings`: no deadline (the
machine is slow and shared), a modest number of examples, a derandomised search (the
same examples on every run, so CI is reproducible) and no example database (nothing is
written into the checkout).

The strategies draw small, bounded, finite arrays: persistence diagrams as
``(n, 2)`` arrays of (birth, death) pairs with ``death >= birth``, point clouds and
representations as ``(n, d)`` arrays with entries in ``[-10, 10]``, and orthogonal
matrices as products of Givens rotations (never singular, unlike a QR factorisation of
a drawn matrix).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

#: Bound of the entries of drawn clouds and representations.
ENTRY_BOUND = 10.0


def property_settings(max_examples: int = 25) -> settings:
    """Hypothesis settings of the property tests.

    Parameters
    ----------
    max_examples : int, default 25
        Examples per test; small, so that the whole folder runs in well under a minute
        on two shared cores.

    Returns
    -------
    hypothesis.settings
        ``deadline=None``, ``derandomize=True``, ``database=None`` and the
        ``too_slow`` / ``filter_too_much`` health checks suppressed (some properties
        reject degenerate draws with ``assume``).
    """
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def bounded_floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite float64 values in ``[lo, hi]``, no NaN, infinity or subnormal."""
    return st.floats(
        min_value=lo,
        max_value=hi,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
        width=64,
    )


@st.composite
def diagram(draw, max_points: int = 10, scale: float = 5.0) -> np.ndarray:
    """A finite persistence diagram.

    Parameters
    ----------
    draw
        Hypothesis' draw function (given by ``st.composite``).
    max_points : int, default 10
        Largest number of points (0 included: empty diagrams are drawn too).
    scale : float, default 5.0
        Births lie in ``[0, scale]``, persistences ``death - birth`` in ``[0, scale]``
        (0: a point on the diagonal; repeated points come up too).

    Returns
    -------
    np.ndarray, shape (n, 2), float64
        (birth, death) rows with ``death >= birth``.
    """
    n = draw(st.integers(0, max_points))
    births = draw(hnp.arrays(np.float64, n, elements=bounded_floats(0.0, scale)))
    pers = draw(hnp.arrays(np.float64, n, elements=bounded_floats(0.0, scale)))
    return np.column_stack([births, births + pers]).reshape(n, 2)


def permutation(n: int) -> st.SearchStrategy[np.ndarray]:
    """A permutation of ``range(n)`` as an int64 array of shape (n,)."""
    return st.permutations(range(n)).map(lambda p: np.asarray(p, dtype=np.int64))


def cloud(n: int, d: int) -> st.SearchStrategy[np.ndarray]:
    """A float64 array of shape (n, d) with every entry drawn in ``[-10, 10]``.

    ``fill=st.nothing()`` makes hypothesis draw each entry, instead of filling most of
    the array with one repeated value (which gives mostly identical rows).
    """
    return hnp.arrays(
        np.float64,
        (n, d),
        elements=bounded_floats(-ENTRY_BOUND, ENTRY_BOUND),
        fill=st.nothing(),
    )


@st.composite
def orthogonal(draw, d: int) -> np.ndarray:
    """An orthogonal ``(d, d)`` matrix: a product of Givens rotations, maybe a reflection.

    Parameters
    ----------
    draw
        Hypothesis' draw function.
    d : int
        Size.

    Returns
    -------
    np.ndarray, shape (d, d), float64
        ``Q`` with ``Q^T Q = I`` to rounding (rotations in every coordinate plane
        ``(i, j)``, ``i < j``, by drawn angles, then an optional sign flip of column 0).
    """
    Q = np.eye(d)
    for i in range(d):
        for j in range(i + 1, d):
            theta = draw(bounded_floats(0.0, 2.0 * np.pi))
            c, s = np.cos(theta), np.sin(theta)
            G = np.eye(d)
            G[i, i] = G[j, j] = c
            G[i, j], G[j, i] = -s, s
            Q = Q @ G
    if draw(st.booleans()):
        Q[:, 0] = -Q[:, 0]
    return Q


def centred_norm(X: np.ndarray) -> float:
    """Frobenius norm of the column-centred ``X`` (shape (n, p)): 0 for a constant input."""
    return float(np.linalg.norm(X - X.mean(axis=0, keepdims=True)))
