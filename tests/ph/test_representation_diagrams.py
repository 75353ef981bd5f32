"""Diagrams of the flat and pool representations (persistence.representations).

``cnntopo.ph.persistence.distance_matrix_diagrams`` on the exact distances of a stored
representation (``cnntopo.ph.representations.representation_distances``), and the stage
``cnntopo.stages.ph.persistence.representation_diagrams`` that writes them, checked
against Ripser.py run independently on the flattened activations' point cloud, against
a planted circle, and for invariance to the order of the images.
"""

from __future__ import annotations

import numpy as np
import persim
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ripser import ripser
from scipy.spatial.distance import cdist

from cnntopo.ph.persistence import diagrams, distance_matrix_diagrams, load_diagrams
from cnntopo.stages.common import load_cross
from cnntopo.stages.ph.distances import cross_distances
from cnntopo.stages.ph.persistence import representation_diagrams
from cnntopo.stages.ph.similarity import similarity_representations, similarity_tests

LAYERS = ["conv1", "block.0", "block.1"]
SHAPES = [(3, 4, 4), (5, 2, 2), (2, 3, 1)]


def _sorted(dgm: np.ndarray) -> np.ndarray:
    """Bars in lexicographic (birth, death) order: a canonical form of the multiset."""
    return dgm[np.lexsort((dgm[:, 1], dgm[:, 0]))]


def _assert_same_diagrams(got, expected, rtol=2e-6, atol=1e-6):
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape
        g, e = _sorted(g), _sorted(e)
        np.testing.assert_array_equal(np.isinf(g), np.isinf(e))
        fin = np.isfinite(e)
        np.testing.assert_allclose(g[fin], e[fin], rtol=rtol, atol=atol)


def _activations(rng, n: int) -> list[np.ndarray]:
    """Non-negative (ReLU-like) activations of the three layers, float32."""
    return [np.maximum(rng.normal(size=(n, *s)), 0).astype(np.float32) for s in SHAPES]


def _write_reps(tmp_path, acts, representations, max_images=None, tag=""):
    shards = []
    for layer, a in zip(LAYERS, acts, strict=True):
        shards.append(tmp_path / f"{tag}{layer}.npy")
        np.save(shards[-1], a)
    outs = [tmp_path / f"{tag}rep_{r}.npz" for r in representations]
    similarity_representations(
        shards,
        outs,
        seed=0,
        layers=LAYERS,
        representations=representations,
        max_images=max_images,
    )
    return dict(zip(representations, outs, strict=True))


def _diagram_files(tmp_path, rep_file, representation, tag="", backend="ripser", maxdim=1):
    outs = [tmp_path / f"{tag}{representation}_{layer}.npz" for layer in LAYERS]
    representation_diagrams(
        rep_file,
        outs,
        seed=3,
        representation=representation,
        layers=LAYERS,
        backend=backend,
        maxdim=maxdim,
        coeff=2,
    )
    return outs


# ----------------------------------------------------------------- the library


@pytest.mark.parametrize("backend", ["ripser", "giotto"])
def test_distance_matrix_diagrams_match_the_point_cloud(backend):
    """The diagrams of a cloud's float64 distances are those of the cloud (float32 rounding)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 6))
    D = cdist(X, X)
    got = distance_matrix_diagrams(D, maxdim=2, backend=backend, coeff=3)
    _assert_same_diagrams(got, diagrams(X, maxdim=2, backend=backend, coeff=3))
    assert [int(np.isinf(d[:, 1]).sum()) for d in got] == [1, 0, 0]  # thresh=inf


def test_distance_matrix_backends_agree_exactly():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 20))
    D = cdist(X, X)
    a = distance_matrix_diagrams(D, maxdim=1, backend="ripser")
    b = distance_matrix_diagrams(D, maxdim=1, backend="giotto")
    for da, db in zip(a, b, strict=True):
        np.testing.assert_array_equal(_sorted(da), _sorted(db))


def test_distance_matrix_diagrams_of_a_planted_circle():
    """30 equally spaced points on a circle of radius 2: one H1 bar [2r sin(pi/30), sqrt(3) r]."""
    t = 2 * np.pi * np.arange(30) / 30
    P = 2.0 * np.stack([np.cos(t), np.sin(t)], axis=1)
    h0, h1 = distance_matrix_diagrams(cdist(P, P), maxdim=1)
    assert h1.shape == (1, 2)
    np.testing.assert_allclose(h1[0], [4 * np.sin(np.pi / 30), 2 * np.sqrt(3)], rtol=1e-6)
    assert len(h0) == 30 and np.isinf(h0[:, 1]).sum() == 1


@pytest.mark.parametrize(
    "D, match",
    [
        (np.zeros((3, 2)), "square"),
        (np.zeros((1, 1)), "at least 2"),
        (np.array([[0.0, 1.0], [2.0, 0.0]]), "symmetric"),
        (np.array([[1.0, 1.0], [1.0, 0.0]]), "zero diagonal"),
        (np.array([[0.0, -1.0], [-1.0, 0.0]]), ">= 0"),
        (np.array([[0.0, np.nan], [np.nan, 0.0]]), "NaN"),
    ],
)
def test_distance_matrix_diagrams_refuse_invalid_matrices(D, match):
    with pytest.raises(ValueError, match=match):
        distance_matrix_diagrams(D)


# ----------------------------------------------------------------- the stage


@pytest.mark.filterwarnings("ignore:The input point cloud has more columns than rows")
@pytest.mark.parametrize("backend", ["ripser", "giotto"])
def test_flat_diagrams_equal_ripser_on_the_flattened_activations(tmp_path, backend):
    """Through the stored centred Gram matrix: ripser of the (N, c*h*w) cloud, independently."""
    rng = np.random.default_rng(3)
    acts = _activations(rng, 36)
    reps = _write_reps(tmp_path, acts, ["flat", "pool"], max_images=30)
    outs = _diagram_files(tmp_path, reps["flat"], "flat", backend=backend)
    for a, layer, f in zip(acts, LAYERS, outs, strict=True):
        dgms, meta = load_diagrams(f)
        cloud = a[:30].reshape(30, -1)  # the first similarity.max_images images, flattened
        expected = ripser(cloud, maxdim=1, coeff=2, thresh=np.inf)["dgms"]
        _assert_same_diagrams(dgms, expected)
        assert meta["representation"] == "flat" and meta["layer"] == layer
        assert meta["n_points"] == 30 and meta["dim"] == cloud.shape[1]
        assert meta["seed"] == 3 and meta["coeff"] == 2 and meta["maxdim"] == 1
        assert meta["n_bars"] == [len(d) for d in dgms]
    # pool: the spatial means
    for a, f in zip(acts, _diagram_files(tmp_path, reps["pool"], "pool"), strict=True):
        dgms, meta = load_diagrams(f)
        expected = ripser(a[:30].mean(axis=(2, 3)), maxdim=1, coeff=2, thresh=np.inf)["dgms"]
        _assert_same_diagrams(dgms, expected)
        assert meta["dim"] == a.shape[1]


def test_flat_diagram_of_planted_activations(tmp_path):
    """Activations whose flattened images lie on a circle in 12 dimensions give its loop."""
    n, r = 24, 3.0
    t = 2 * np.pi * np.arange(n) / n
    Q, _ = np.linalg.qr(np.random.default_rng(4).normal(size=(12, 2)))  # orthonormal 12 x 2
    points = r * np.stack([np.cos(t), np.sin(t)], axis=1) @ Q.T + 5.0  # (n, 12), shifted
    acts = [points.reshape(n, 3, 2, 2)]
    acts += [np.abs(np.random.default_rng(5).normal(size=(n, *s))) for s in SHAPES[1:]]
    reps = _write_reps(tmp_path, acts, ["flat"])
    (h0, h1), _ = load_diagrams(_diagram_files(tmp_path, reps["flat"], "flat")[0])
    assert h1.shape == (1, 2)
    np.testing.assert_allclose(h1[0], [2 * r * np.sin(np.pi / n), np.sqrt(3) * r], rtol=1e-5)


def test_stage_refuses_a_file_of_other_layers(tmp_path):
    reps = _write_reps(tmp_path, _activations(np.random.default_rng(6), 10), ["flat"])
    with pytest.raises(ValueError, match="holds layers"):
        representation_diagrams(
            reps["flat"],
            [tmp_path / "a.npz"] * 3,
            seed=0,
            representation="flat",
            layers=LAYERS[::-1],
            backend="ripser",
            maxdim=1,
            coeff=2,
        )
    with pytest.raises(ValueError, match="'pool' representation|not 'pool'"):
        _diagram_files(tmp_path, reps["flat"], "pool")


@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(6, 20),
    representation=st.sampled_from(["flat", "pool"]),
)
def test_diagrams_are_invariant_to_the_image_order(tmp_path, seed, n, representation):
    """Permuting the images permutes the distance matrix: the Rips diagrams are the same.

    The centred Gram matrix is accumulated in another order, so the distances may move
    by a few ulps; by stability the bottleneck distance is at most that much (float32
    rounding of the backend: a few 1e-7 of the largest distance).
    """
    rng = np.random.default_rng(seed)
    acts = _activations(rng, n)
    order = rng.permutation(n)
    tag = f"{seed}_{n}_{representation}_"
    a = _write_reps(tmp_path, acts, [representation], tag=tag + "a")[representation]
    b = _write_reps(tmp_path, [x[order] for x in acts], [representation], tag=tag + "b")
    fa = _diagram_files(tmp_path, a, representation, tag=tag + "a")
    fb = _diagram_files(tmp_path, b[representation], representation, tag=tag + "b")
    for x, y, act in zip(fa, fb, acts, strict=True):
        (da, ma), (db, _) = load_diagrams(x), load_diagrams(y)
        scale = float(cdist(act.reshape(n, -1), act.reshape(n, -1)).max()) or 1.0
        for ga, gb in zip(da, db, strict=True):
            assert len(ga) == len(gb)
            assert np.isinf(ga[:, 1]).sum() == np.isinf(gb[:, 1]).sum()
            fa_, fb_ = ga[np.isfinite(ga[:, 1])], gb[np.isfinite(gb[:, 1])]
            assert persim.bottleneck(fa_, fb_) <= 1e-5 * scale
        assert ma["n_points"] == n


# ----------------------------------------------------------------- across models


def test_cross_matrix_of_flat_diagrams_carries_its_representation(tmp_path):
    """The flat diagrams of two models go through cross_distances and the tests as flat rows."""
    rng = np.random.default_rng(7)
    files = []
    for s in (0, 1):
        reps = _write_reps(tmp_path, _activations(rng, 16), ["flat"], tag=f"m{s}")
        files += _diagram_files(tmp_path, reps["flat"], "flat", tag=f"m{s}")
    out = tmp_path / "cross.npz"
    D = cross_distances(
        files,
        out,
        seeds=[0, 1],
        layers=LAYERS,
        metric="sliced_wasserstein",
        dim=0,
        infinite="strip",
        parameters={"M": 20},
        representation="flat",
    )
    assert D.shape == (6, 6) and np.allclose(D, D.T) and np.all(np.diag(D) == 0)
    _, seeds, layers, meta = load_cross(out)
    assert meta["representation"] == "flat" and seeds == [0, 1] and layers == LAYERS
    spec, depth, perm = (tmp_path / f"{n}.csv" for n in ("spec", "depth", "perm"))
    similarity_tests([out], spec, depth, perm, stages=[0, 1, 1], n_boot=20, n_permutations=20)
    import pandas as pd

    for table in (spec, depth, perm):
        rows = pd.read_csv(table)
        assert set(rows["representation"]) == {"flat"}
        assert set(rows["measure"]) == {"sliced_wasserstein_H0"} and set(rows["dim"]) == {0}


def test_rows_of_cross_files_without_a_representation_are_topl2(tmp_path):
    """A PH cross matrix written before persistence.representations keeps its topl2 rows."""
    from cnntopo.stages.common import write_cross

    out = tmp_path / "old.npz"
    D = np.abs(np.random.default_rng(8).normal(size=(6, 6)))
    D = D + D.T
    np.fill_diagonal(D, 0)
    meta = {"metric": "sliced_wasserstein", "dim": 1, "params": {}, "kind": "distance"}
    write_cross(out, D, [0, 1], LAYERS, meta)
    spec = tmp_path / "spec.csv"
    similarity_tests(
        [out],
        spec,
        tmp_path / "d.csv",
        tmp_path / "p.csv",
        stages=[0, 1, 1],
        n_boot=10,
        n_permutations=10,
    )
    text = spec.read_text()
    assert "sliced_wasserstein_H1,topl2,1" in text, text
