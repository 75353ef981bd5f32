"""Tests for cnntopo.ph.similarity (linear CKA, orthogonal Procrustes)."""

from __future__ import annotations

import numpy as np
import pytest

from cnntopo.ph.similarity import (
    cka_matrix,
    linear_cka,
    orthogonal_procrustes_distance,
    procrustes_matrix,
)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _orthogonal(p: int, seed: int = 1) -> np.ndarray:
    q, r = np.linalg.qr(_rng(seed).normal(size=(p, p)))
    return q * np.sign(np.diag(r))


def _naive_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Kornblith et al. 2019 via HSIC with the centring matrix H (reference implementation)."""
    n = X.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    K, L = X @ X.T, Y @ Y.T
    hsic = np.trace(K @ H @ L @ H)
    return hsic / np.sqrt(np.trace(K @ H @ K @ H) * np.trace(L @ H @ L @ H))


@pytest.fixture
def clouds():
    rng = _rng(0)
    base = rng.normal(size=(60, 12))
    return [
        base,
        base @ rng.normal(size=(12, 20)) + 0.3 * rng.normal(size=(60, 20)),
        np.maximum(base[:, :5], 0.0),
        rng.normal(size=(60, 7)),
    ]


def test_identical_inputs_give_one():
    X = _rng(1).normal(size=(50, 8))
    assert linear_cka(X, X) == pytest.approx(1.0, abs=1e-12)
    # the Gram-form branch (n small compared with the widths) too
    W = _rng(2).normal(size=(10, 40))
    assert linear_cka(W, W) == pytest.approx(1.0, abs=1e-12)


def test_orthogonal_and_isotropic_scaling_invariance():
    rng = _rng(3)
    X = rng.normal(size=(80, 10))
    Y = np.tanh(X @ rng.normal(size=(10, 6)))
    ref = linear_cka(X, Y)
    Q = _orthogonal(10)
    assert linear_cka(X @ Q, Y) == pytest.approx(ref, rel=1e-10)
    assert linear_cka(X, 7.5 * Y) == pytest.approx(ref, rel=1e-10)
    assert linear_cka(0.01 * X @ Q + 3.0, Y) == pytest.approx(ref, rel=1e-10)
    assert linear_cka(X, X @ Q * 4.0) == pytest.approx(1.0, abs=1e-12)


def test_cka_matches_hsic_reference_and_is_symmetric():
    rng = _rng(4)
    for n, p1, p2 in [(40, 5, 9), (12, 30, 25)]:  # feature form, Gram form
        X, Y = rng.normal(size=(n, p1)), rng.normal(size=(n, p2)) ** 2
        value = linear_cka(X, Y)
        assert value == pytest.approx(_naive_cka(X, Y), rel=1e-10)
        assert value == pytest.approx(linear_cka(Y, X), rel=1e-12)
        assert 0.0 <= value <= 1.0


def test_cka_unrelated_inputs_are_low():
    rng = _rng(5)
    X, Y = rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4))
    assert linear_cka(X, Y) < 0.02


def test_cka_matrix_within_and_cross(clouds):
    C = cka_matrix(clouds)
    assert C.shape == (4, 4)
    np.testing.assert_array_equal(np.diag(C), 1.0)
    np.testing.assert_array_equal(C, C.T)
    assert np.all((C >= 0) & (C <= 1))
    for i in range(4):
        for j in range(4):
            if i != j:
                assert C[i, j] == pytest.approx(linear_cka(clouds[i], clouds[j]), rel=1e-10)
    cross = cka_matrix(clouds[:2], clouds[1:])
    assert cross.shape == (2, 3)
    np.testing.assert_allclose(cross, C[:2, 1:], rtol=1e-10)


def test_cka_matrix_methods_agree(clouds):
    gram = cka_matrix(clouds, method="gram")
    feature = cka_matrix(clouds, method="feature")
    np.testing.assert_allclose(gram, feature, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        cka_matrix(clouds, clouds[:2], method="gram"),
        cka_matrix(clouds, clouds[:2], method="feature"),
        rtol=1e-10,
    )


def test_procrustes_distance_properties():
    rng = _rng(6)
    X = rng.normal(size=(70, 8))
    Q = _orthogonal(8, seed=7)
    assert orthogonal_procrustes_distance(X, X) == pytest.approx(0.0, abs=1e-12)
    assert orthogonal_procrustes_distance(X, 3 * X @ Q + 1) == pytest.approx(0.0, abs=1e-12)
    # zero-padding the narrower side is implicit: same value as explicit padding
    Y = rng.normal(size=(70, 5))
    padded = np.hstack([Y, np.zeros((70, 3))])
    d = orthogonal_procrustes_distance(X, Y)
    assert d == pytest.approx(orthogonal_procrustes_distance(X, padded), rel=1e-12)
    assert d == pytest.approx(orthogonal_procrustes_distance(Y, X), rel=1e-12)
    assert 0.0 < d <= 2.0
    # equals min_Q ||X - Y Q||_F^2 for normalised, centred inputs (Schönemann)
    Xn = X - X.mean(0)
    Xn /= np.linalg.norm(Xn)
    Pn = padded - padded.mean(0)
    Pn /= np.linalg.norm(Pn)
    u, _, vt = np.linalg.svd(Pn.T @ Xn)
    assert d == pytest.approx(np.linalg.norm(Xn - Pn @ (u @ vt)) ** 2, rel=1e-10)


def test_procrustes_matrix(clouds):
    D = procrustes_matrix(clouds)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    np.testing.assert_array_equal(D, D.T)
    assert D[0, 2] == pytest.approx(orthogonal_procrustes_distance(clouds[0], clouds[2]))
    cross = procrustes_matrix(clouds[:1], clouds)
    np.testing.assert_allclose(cross[0], D[0], atol=1e-12)


@pytest.mark.parametrize(
    ("X", "Y", "match"),
    [
        (np.zeros(5), np.zeros((5, 2)), "2-D"),
        (np.ones((5, 2)), np.ones((6, 2)), "same number of rows"),
        (np.ones((5, 2)), _rng(0).normal(size=(5, 2)), "zero variance"),
        (np.full((5, 2), np.nan), np.ones((5, 2)), "NaN"),
        (np.ones((1, 2)), np.ones((1, 2)), "at least 2 rows"),
        (np.array([["a", "b"], ["c", "d"]]), np.ones((2, 2)), "real numbers"),
    ],
)
def test_input_validation(X, Y, match):
    with pytest.raises(ValueError, match=match):
        linear_cka(X, Y)
    with pytest.raises(ValueError, match=match):
        orthogonal_procrustes_distance(X, Y)


def test_matrix_validation(clouds):
    with pytest.raises(TypeError, match="sequence"):
        cka_matrix(clouds[0])
    with pytest.raises(ValueError, match="empty"):
        cka_matrix([])
    with pytest.raises(ValueError, match="method"):
        cka_matrix(clouds, method="rbf")
    with pytest.raises(ValueError, match="others\\[0\\]: 30"):
        cka_matrix(clouds, [clouds[0][:30]])
    with pytest.raises(ValueError, match="same number of rows"):
        procrustes_matrix([clouds[0], clouds[1][:10]])


# ---------------------------------------------------------------------------
# threads, principal coordinates and the pipeline stages (issue 11)
# ---------------------------------------------------------------------------


def test_threads_do_not_change_the_matrix():
    from cnntopo.ph.similarity import linear_gram, measure_matrix_from_grams

    grams = [linear_gram(_rng(i).normal(size=(30, 5))) for i in range(6)]
    one = measure_matrix_from_grams("procrustes", grams)
    np.testing.assert_array_equal(one, measure_matrix_from_grams("procrustes", grams, n_jobs=3))


def test_principal_coordinates_reproduce_the_centred_gram():
    from cnntopo.ph.similarity import principal_coordinates

    X = _rng(2).normal(size=(20, 7))
    F = principal_coordinates(X @ X.T)
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(F @ F.T, Xc @ Xc.T, atol=1e-10)
    np.testing.assert_allclose((F**2).sum(axis=0), np.linalg.svd(Xc, compute_uv=False) ** 2)


def test_similarity_stages_on_shards_match_the_feature_measures(tmp_path):
    """Representations from shards, cross matrices from Grams, then the tests, against
    the measures on explicitly flattened / pooled activations."""
    import pandas as pd

    from cnntopo.ph.representations import flat, pool
    from cnntopo.ph.similarity import pwcca
    from cnntopo.stages.common import load_cross
    from cnntopo.stages.ph.similarity import (
        figure_similarity,
        similarity_cross,
        similarity_representations,
        similarity_tests,
    )

    layers, seeds, reps = ["a", "b", "c"], [0, 1], ["flat", "pool", "topl2"]
    acts, files = [], {r: [] for r in reps}
    for seed in seeds:
        shards = []
        for i, c in enumerate((3, 4, 6)):
            a = _rng(10 * seed + i).normal(size=(25, c, 3, 3)).astype(np.float32)
            acts.append(a)
            shards.append(tmp_path / f"s{seed}_{i}.npy")
            np.save(shards[-1], a)
        outs = [tmp_path / f"{r}_{seed}.npz" for r in reps]
        similarity_representations(shards, outs, seed=seed, layers=layers, representations=reps)
        for r, o in zip(reps, outs, strict=True):
            files[r].append(o)
    specs = [
        {"label": "cka_linear", "name": "cka_linear", "params": {}},
        {"label": "procrustes", "name": "procrustes", "params": {}},
        {"label": "pwcca", "name": "pwcca", "params": {}},
    ]
    cross = []
    for r in ("flat", "pool"):
        outs = [tmp_path / f"cross_{r}_{m['label']}.npz" for m in specs]
        similarity_cross(
            files[r],
            outs,
            seeds=seeds,
            layers=layers,
            representation=r,
            measures=specs,
            threads=2,
        )
        cross += outs
        feats = [flat(a) if r == "flat" else pool(a) for a in acts]
        cka, *_ = load_cross(outs[0])
        proc, *_ = load_cross(outs[1])
        np.testing.assert_allclose(
            cka, [[_naive_cka(x, y) for y in feats] for x in feats], atol=1e-9
        )
        np.testing.assert_allclose(
            proc, [[orthogonal_procrustes_distance(x, y) for y in feats] for x in feats], atol=1e-8
        )
        if r == "pool":  # features stored: PWCCA on the neurons themselves
            pw, *_ = load_cross(outs[2])
            assert pw[0, 4] == pytest.approx(pwcca(feats[0], feats[4]), abs=1e-9)
    outs = [tmp_path / f"{n}.csv" for n in ("spec", "depth", "perm")]
    similarity_tests(cross, *outs, stages=[8, 8, 4], n_boot=50, n_permutations=50)
    spec = pd.read_csv(outs[0])
    assert spec.columns[:7].tolist() == [
        "measure",
        "representation",
        "dim",
        "exact",
        "within1",
        "ci_low",
        "ci_high",
    ]
    # PWCCA on flat (25 images, 27 to 54 features): every layer spans all 24 centred
    # directions, the canonical correlations are trivially 1: NaN rows with a note
    flat_pw = (spec["measure"] == "pwcca") & (spec["representation"] == "flat")
    assert len(spec) == 6 and (spec.loc[~flat_pw, "n_cases"] == 3 * 2).all()
    assert spec.loc[flat_pw, "n_cases"].tolist() == [0]
    assert spec.loc[flat_pw, "exact"].isna().all()
    assert "trivially 1" in spec.loc[flat_pw, "note"].item()
    assert "0/a" in spec.loc[flat_pw, "note"].item()
    assert spec.loc[~flat_pw, "note"].isna().all()  # complete rows: empty note
    defined = spec[~flat_pw]
    assert (
        (defined["ci_low"] <= defined["exact"]) & (defined["exact"] <= defined["ci_high"])
    ).all()
    perm = pd.read_csv(outs[2])
    assert perm["model"].astype(str).tolist()[:3] == ["0", "1", "pooled"]
    perm_flat_pw = (perm["measure"] == "pwcca") & (perm["representation"] == "flat")
    assert perm.loc[~perm_flat_pw, "p_value"].between(0, 1).all()
    assert perm.loc[perm_flat_pw, "p_value"].isna().all() and perm_flat_pw.sum() == 3
    figure_similarity(outs[0], [str(tmp_path / "fig.png")], n_layers=3)
    assert (tmp_path / "fig.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("shape", ["square", "rectangular"])
def test_measure_matrix_progress_counts_every_pair_once(n_jobs, shape):
    # 7 representations: 21 pairs within, 7 x 4 across; the reports rise to exactly the
    # number of pairs computed and the matrix does not depend on the callback.
    from cnntopo.ph.similarity import linear_gram, measure_matrix_from_grams

    rng = np.random.default_rng(8)
    grams = [linear_gram(rng.normal(size=(12, 4))) for _ in range(7)]
    others = None if shape == "square" else grams[:4]
    reports = []
    M = measure_matrix_from_grams(
        "procrustes", grams, others, n_jobs=n_jobs, progress=lambda d, t: reports.append((d, t))
    )
    total = 21 if others is None else 28
    done = [d for d, _ in reports]
    assert {t for _, t in reports} == {total}
    assert done == sorted(done) and done[-1] == total and len(done) == len(set(done))
    np.testing.assert_array_equal(M, measure_matrix_from_grams("procrustes", grams, others))


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("cka_linear", {}),
        ("procrustes", {}),
        ("svcca", {"keep": 0.9}),
        ("cka_rbf", {"sigma_frac": 0.4}),
    ],
)
@pytest.mark.parametrize("sizes", [[7], [3, 4], [2, 2, 3]])
def test_blocked_matrix_is_the_whole_matrix(tmp_path, name, params, sizes):
    # Blocks of 7 representations: every split gives the unblocked matrix, the progress
    # reaches the number of pairs, and the scratch folder is left empty.
    from cnntopo.ph.similarity import (
        blocked_matrix_from_grams,
        linear_gram,
        measure_matrix_from_grams,
    )

    rng = np.random.default_rng(11)
    grams = [linear_gram(rng.normal(size=(15, 3 + i % 3))) for i in range(7)]
    bounds = np.cumsum([0, *sizes])
    reports = []
    M = blocked_matrix_from_grams(
        name,
        lambda b: grams[bounds[b] : bounds[b + 1]],
        len(sizes),
        tmp_path,
        progress=lambda d, t: reports.append((d, t)),
        **params,
    )
    np.testing.assert_allclose(M, measure_matrix_from_grams(name, grams, **params), rtol=1e-12)
    assert reports[-1] == (21, 21) and [d for d, _ in reports] == sorted(d for d, _ in reports)
    assert list(tmp_path.iterdir()) == []
