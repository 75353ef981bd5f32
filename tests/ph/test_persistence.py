"""Tests for cnntopo.ph.persistence (Vietoris-Rips diagrams, two backends)."""

from __future__ import annotations

import gudhi
import numpy as np
import pytest
import tadasets

from cnntopo.ph.persistence import BACKENDS, diagrams, load_diagrams, save_diagrams


def _activation_like(n: int = 150, d: int = 32, k: int = 4, seed: int = 0) -> np.ndarray:
    """relu(Z W + b) + noise, float32: a small stand-in for a top-l2 cloud."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k))
    w = rng.normal(size=(k, d))
    x = np.maximum(z @ w + 0.3 * rng.normal(size=d), 0.0) + 0.05 * rng.normal(size=(n, d))
    return x.astype(np.float32)


def _sorted_rows(dgm: np.ndarray) -> np.ndarray:
    return dgm[np.lexsort((dgm[:, 1], dgm[:, 0]))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_circle_has_one_long_h1_bar(backend):
    X = tadasets.dsphere(n=120, d=1, r=1.0, noise=0.02, seed=3)
    dgms = diagrams(X, maxdim=1, backend=backend)
    assert len(dgms) == 2
    h0, h1 = dgms
    assert all(d.dtype == np.float64 and d.ndim == 2 and d.shape[1] == 2 for d in dgms)
    # H0: one essential bar [0, inf), n - 1 finite bars born at 0
    assert h0.shape == (120, 2)
    assert np.count_nonzero(np.isinf(h0[:, 1])) == 1
    assert np.all(h0[:, 0] == 0)
    # H1: exactly one bar of persistence > 1 (the unit circle), born small
    pers = h1[:, 1] - h1[:, 0]
    assert np.count_nonzero(pers > 1.0) == 1
    assert np.all(np.isfinite(h1))


def test_backends_give_identical_diagrams():
    X = _activation_like()
    ripser_dgms = diagrams(X, maxdim=1, backend="ripser")
    giotto_dgms = diagrams(X, maxdim=1, backend="giotto", n_threads=1)
    for r, g in zip(ripser_dgms, giotto_dgms, strict=True):
        assert r.shape == g.shape
        np.testing.assert_array_equal(_sorted_rows(r), _sorted_rows(g))
    h1_r, h1_g = ripser_dgms[1], giotto_dgms[1]
    assert len(h1_r) > 10  # a non-trivial comparison
    assert gudhi.bottleneck_distance(h1_r, h1_g) <= 1e-6


def test_float64_input_is_cast_to_float32_like_the_paper():
    X = _activation_like(seed=1)
    a = diagrams(X.astype(np.float64))
    b = diagrams(X)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_giotto_threads_do_not_change_result():
    X = _activation_like(n=100, seed=2)
    one = diagrams(X, backend="giotto", n_threads=1)
    two = diagrams(X, backend="giotto", n_threads=2)
    for x, y in zip(one, two, strict=True):
        np.testing.assert_array_equal(_sorted_rows(x), _sorted_rows(y))


@pytest.mark.parametrize("backend", BACKENDS)
def test_maxdim_and_coeff(backend):
    X = tadasets.dsphere(n=40, d=2, r=1.0, noise=0.0, seed=0)
    dgms = diagrams(X, maxdim=2, backend=backend, coeff=3)
    assert len(dgms) == 3
    assert len(diagrams(X, maxdim=0, backend=backend)) == 1


def test_two_points():
    h0, h1 = diagrams(np.array([[0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_allclose(_sorted_rows(h0), [[0.0, 5.0], [0.0, np.inf]])
    assert h1.shape == (0, 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"points": np.zeros(5)}, "2-D array"),
        ({"points": np.zeros((2, 3, 4))}, "2-D array"),
        ({"points": np.zeros((1, 3))}, "at least 2"),
        ({"points": np.array([[0.0, 1.0], [np.nan, 2.0]])}, "NaN or infinite"),
        ({"points": np.array([[0.0, 1.0], [np.inf, 2.0]])}, "NaN or infinite"),
        ({"points": np.array([["a", "b"], ["c", "d"]])}, "real numbers"),
        ({"backend": "gudhi"}, "unknown backend"),
        ({"maxdim": -1}, "maxdim"),
        ({"coeff": 4}, "prime"),
        ({"coeff": 1}, "prime"),
        ({"n_threads": 0}, "n_threads"),
    ],
)
def test_validation_errors(kwargs, match):
    args = {"points": np.random.default_rng(0).normal(size=(5, 2))} | kwargs
    with pytest.raises(ValueError, match=match):
        diagrams(**args)


def test_save_and_load_roundtrip(tmp_path):
    X = _activation_like(n=60, seed=4)
    dgms = diagrams(X, maxdim=1)
    meta = {"layer": "block_seq.0.0.conv1", "backend": "ripser", "coeff": 2, "n": 60}
    path = tmp_path / "sub" / "dgms.npz"
    save_diagrams(path, dgms, meta)
    assert path.exists()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    loaded, meta2 = load_diagrams(path)
    assert meta2 == meta
    assert len(loaded) == len(dgms)
    for x, y in zip(dgms, loaded, strict=True):
        np.testing.assert_array_equal(x, y)  # inf survives the round trip
    with np.load(path) as data:
        assert sorted(data.keys()) == ["H0", "H1", "meta"]


def test_save_empty_diagram_and_errors(tmp_path):
    path = tmp_path / "e.npz"
    save_diagrams(path, [np.array([[0.0, np.inf]]), np.zeros((0, 2))], {})
    loaded, meta = load_diagrams(path)
    assert loaded[1].shape == (0, 2) and meta == {}
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        save_diagrams(tmp_path / "bad.npz", [np.zeros((3, 3))], {})
    with pytest.raises(TypeError, match="meta must be a dict"):
        save_diagrams(tmp_path / "bad.npz", [np.zeros((0, 2))], ["not", "a", "dict"])
    np.savez(tmp_path / "nometa.npz", H0=np.zeros((0, 2)))
    with pytest.raises(ValueError, match="no 'meta'"):
        load_diagrams(tmp_path / "nometa.npz")
    np.savez(tmp_path / "gap.npz", H0=np.zeros((0, 2)), H2=np.zeros((0, 2)), meta="{}")
    with pytest.raises(ValueError, match="consecutive"):
        load_diagrams(tmp_path / "gap.npz")
