"""Undefined is a result: NaN with a reason, never a crash (measures, router, tests, tables)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from cnntopo.ph.similarity import (
    MEASURES,
    RepBlocks,
    UndefinedMeasureError,
    cka_linear,
    cka_rbf,
    compare,
    linear_gram,
    measure_matrix,
    measure_matrix_from_grams,
    principal_coordinates,
)
from cnntopo.ph.specificity import (
    DROPPED,
    NotApplicableError,
    bootstrap_identification,
    depth_correlation,
    nearest_layers,
    stage_permutation_test,
)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _layers(n: int = 30, seed: int = 0) -> list[np.ndarray]:
    """Four (n, 5) layers: generic, dead (all zeros), mostly dead (80 % zero rows), generic."""
    rng = _rng(seed)
    mostly = np.maximum(rng.normal(size=(n, 5)), 0.0) + 0.1
    mostly[: int(0.8 * n)] = 0.0
    return [rng.normal(size=(n, 5)), np.zeros((n, 5)), mostly, rng.normal(size=(n, 5))]


# ---------------------------------------------------------------------------
# the measures and the router
# ---------------------------------------------------------------------------


def test_dead_layer_gives_nan_rows_with_a_reason_for_every_measure():
    layers = _layers()
    for name in MEASURES:
        for reps in ([(None, x) for x in layers], [(linear_gram(x), None) for x in layers]):
            result = compare(name, reps)
            M = result.matrix
            assert set(result.notes) == {1}, (name, result.notes)
            assert "0" in result.notes[1] or "constant" in result.notes[1]
            assert np.isnan(M[1]).all() and np.isnan(M[:, 1]).all()
            keep = [0, 2, 3]
            assert np.isfinite(M[np.ix_(keep, keep)]).all(), name
            # the defined part equals the engine on the defined layers alone (on the
            # principal coordinates when only Gram matrices are stored)
            grams_only = reps[0][1] is None
            ref = measure_matrix(
                name,
                [principal_coordinates(reps[i][0]) if grams_only else layers[i] for i in keep],
            )
            np.testing.assert_allclose(M[np.ix_(keep, keep)], ref, atol=1e-8)


def test_mostly_dead_layer_rbf_uses_the_nonzero_median_and_linear_is_finite():
    from scipy.spatial.distance import pdist, squareform

    x, y = _layers()[2], _layers()[0]
    d = pdist(x)
    assert np.median(d) == 0.0  # the bandwidth rule alone would be sigma = 0
    value = cka_rbf(x, y, 0.4)
    # by hand: RBF kernels with the fallback bandwidth, then biased CKA
    sx = 0.4 * np.median(d[d > 0])
    sy = 0.4 * np.median(pdist(y))
    K = np.exp(-(squareform(d) ** 2) / (2 * sx**2))
    L = np.exp(-(squareform(pdist(y)) ** 2) / (2 * sy**2))
    H = np.eye(len(x)) - 1.0 / len(x)
    ref = np.trace(K @ H @ L @ H) / np.sqrt(np.trace(K @ H @ K @ H) * np.trace(L @ H @ L @ H))
    assert value == pytest.approx(ref, rel=1e-10)
    assert np.isfinite(cka_linear(x, y))


def test_single_pair_functions_raise_undefined_with_the_reason():
    x = np.zeros((10, 3))
    y = _rng(1).normal(size=(10, 3))
    with pytest.raises(UndefinedMeasureError, match="zero variance") as err:
        cka_linear(x, y)
    assert err.value.reason == "zero variance after centring (constant representation)"
    assert isinstance(err.value, ValueError)  # callers catching ValueError still do
    with pytest.raises(UndefinedMeasureError, match="pairwise distance is 0"):
        cka_rbf(x, y)
    with pytest.raises(UndefinedMeasureError, match="at least 4 images"):
        MEASURES["cka_debiased"].function(y[:3], y[:3])


def test_engines_without_notes_still_raise_and_with_notes_record_indices():
    layers = _layers()
    grams = [linear_gram(x) for x in layers]
    with pytest.raises(UndefinedMeasureError):
        measure_matrix_from_grams("procrustes", grams)
    notes: dict = {}
    M = measure_matrix_from_grams("procrustes", grams[:2], grams[2:], notes=notes)
    assert notes == {1: "zero variance after centring (constant representation)"}
    assert np.isnan(M[1]).all() and np.isfinite(M[0]).all()
    notes = {}
    M = measure_matrix_from_grams("procrustes", grams[2:], grams[:2], notes=notes)
    assert set(notes) == {3} and np.isnan(M[:, 1]).all() and np.isfinite(M[:, 0]).all()


def test_debiased_cka_on_three_images_is_nan_everywhere():
    reps = [(None, _rng(i).normal(size=(3, 4))) for i in range(3)]
    result = compare("cka_debiased", reps)
    assert np.isnan(result.matrix).all()
    assert set(result.notes) == {0, 1, 2}
    assert all("at least 4 images" in r for r in result.notes.values())


def test_cca_on_wide_layers_is_nan_and_svcca_with_few_directions_is_not():
    rng = _rng(3)
    wide = [(linear_gram(rng.normal(size=(12, 40))), None) for _ in range(3)]
    for name in ("cca", "pwcca"):
        result = compare(name, wide)
        assert np.isnan(result.matrix).all()
        assert all("trivially 1" in r for r in result.notes.values())
    result = compare({"name": "svcca", "params": {"keep": 3}}, wide)
    assert np.isfinite(result.matrix).all() and not result.notes


def test_blocked_router_matches_in_memory_with_undefined_layers(tmp_path):
    reps = [(linear_gram(x), None) for x in _layers() + _layers(seed=1)]
    whole = compare("cka_rbf", reps)
    blocks = compare(
        "cka_rbf", RepBlocks(lambda b: reps[4 * b : 4 * b + 4], 2, False), scratch=tmp_path
    )
    np.testing.assert_allclose(blocks.matrix, whole.matrix, atol=1e-12, equal_nan=True)
    assert (
        blocks.notes
        == whole.notes
        == {
            1: "all pairwise distances are 0 (constant representation): no RBF bandwidth",
            5: "all pairwise distances are 0 (constant representation): no RBF bandwidth",
        }
    )
    assert list(tmp_path.iterdir()) == []  # the prepared forms are cleaned up
    # PWCCA on Gram matrices only: principal coordinates, block by block
    whole = compare("pwcca", reps)
    blocks = compare("pwcca", RepBlocks(lambda b: reps[4 * b : 4 * b + 4], 2))
    assert blocks.route == whole.route == "principal_coordinates"
    np.testing.assert_allclose(blocks.matrix, whole.matrix, atol=1e-12, equal_nan=True)
    assert set(blocks.notes) == set(whole.notes) == {1, 5}


# ---------------------------------------------------------------------------
# the tests on matrices with NaN entries, and designs where a test cannot apply
# ---------------------------------------------------------------------------


def _planted_cross(S: int, L: int, seed: int = 0) -> np.ndarray:
    """A distance cross matrix where layer l of every model is nearest to layer l."""
    rng = _rng(seed)
    depth = np.abs(np.subtract.outer(np.arange(L), np.arange(L)))
    D = np.tile(depth, (S, S)).astype(float) + 0.1 * rng.random((S * L, S * L))
    return D


def test_nearest_layers_drops_cases_whose_own_entry_is_undefined():
    S, L = 3, 4
    D = _planted_cross(S, L)
    D[1 * L + 2, :] = np.nan  # model 1, layer 2 undefined (row and column)
    D[:, 1 * L + 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        nearest_layers(D, S, L)
    nearest = nearest_layers(D, S, L, missing="drop")
    # dropped: model 1's layer 2 as a query (2 other models), and layer 2 of the two
    # other models queried against model 1
    assert (nearest == DROPPED).sum() == 4
    assert nearest[1, 2, 0] == nearest[1, 2, 2] == DROPPED
    assert nearest[0, 2, 1] == nearest[2, 2, 1] == DROPPED
    kept = (nearest >= 0) & ~np.eye(S, dtype=bool)[:, None, :]
    assert (
        nearest[kept] == np.broadcast_to(np.arange(L)[None, :, None], nearest.shape)[kept]
    ).all()
    rate, lo, hi, n = bootstrap_identification(nearest, 0, n_boot=20)
    assert (rate, lo, hi, n) == (1.0, 1.0, 1.0, L * S * (S - 1) - 4)


def test_depth_and_permutation_use_the_finite_part():
    S, L = 2, 4
    D = _planted_cross(S, L)
    rho_full, *_ = depth_correlation(D, S, L, n_boot=10)
    D[0, 5] = D[5, 0] = np.nan
    rho, _, _, pairs = depth_correlation(D, S, L, n_boot=10, missing="drop")
    assert pairs == 2 and rho > 0.8 and rho == pytest.approx(rho_full, abs=0.1)
    stages = [0, 0, 1, 1]
    M = D[:L, :L].copy()
    M[0, 1] = M[1, 0] = np.nan
    per_model, pooled = stage_permutation_test([M], stages, n_permutations=50, missing="drop")
    within = np.nanmean([M[2, 3]])  # the one finite within-stage pair left
    between = np.mean([M[0, 2], M[0, 3], M[1, 2], M[1, 3]])
    assert per_model[0]["mean_within"] == pytest.approx(within)
    assert per_model[0]["mean_between"] == pytest.approx(between)
    assert per_model[0]["statistic"] == pytest.approx(between - within)
    assert per_model[0]["n_dropped"] == 1 and pooled["n_dropped"] == 1


def test_permutation_not_applicable_for_one_layer_per_stage():
    with pytest.raises(NotApplicableError, match="at least two layers in one stage"):
        stage_permutation_test([np.ones((3, 3))], [32, 16, 8], n_permutations=10)


def test_depth_not_applicable_for_one_layer():
    with pytest.raises(NotApplicableError, match="two layers"):
        depth_correlation(np.ones((2, 2)), 2, 1)


def _write(tmp_path, name, D, seeds, layers, meta):
    from cnntopo.stages.common import write_cross

    path = tmp_path / f"{name}.npz"
    write_cross(path, D, seeds, layers, meta)
    return path


def test_similarity_tests_write_nan_rows_with_notes_for_a_one_conv_per_stage_network(tmp_path):
    from cnntopo.stages.ph.similarity import similarity_tests

    S, L = 2, 3
    meta = {"measure": "cka_linear", "representation": "topl2", "kind": "distance"}
    good = _write(tmp_path, "good", _planted_cross(S, L), [0, 1], ["c1", "c2", "c3"], meta)
    D = _planted_cross(S, L, seed=1)
    D[1, :] = D[:, 1] = np.nan  # seed 0's c2 undefined
    meta_bad = {**meta, "measure": "cka_rbf_0.4", "notes": {"0/c2": "zero variance"}}
    bad = _write(tmp_path, "bad", D, [0, 1], ["c1", "c2", "c3"], meta_bad)
    outs = [tmp_path / f"{n}.csv" for n in ("spec", "depth", "perm")]
    similarity_tests([good, bad], *outs, stages=[32, 16, 8], n_boot=20, n_permutations=20)
    spec, depth, perm = (pd.read_csv(o) for o in outs)
    assert spec["exact"].tolist() == [1.0, 1.0]  # planted: always the same layer
    # dropped: (model 0, c2) against model 1 and (model 1, c2) against model 0, whose
    # right answer (0/c2) is undefined
    assert spec["n_cases"].tolist() == [6, 4] and spec["n_dropped"].tolist() == [0, 2]
    assert pd.isna(spec.loc[0, "note"])
    assert "0/c2" in spec.loc[1, "note"] and "2 of 6 cases dropped" in spec.loc[1, "note"]
    assert (depth["rho"] > 0.5).all()
    # every permutation row NaN with the reason, the other tables complete
    assert len(perm) == 2 * (S + 1) and perm["p_value"].isna().all()
    assert perm["note"].str.contains("at least two layers in one stage").all()


def test_similarity_tests_on_one_layer_networks(tmp_path):
    from cnntopo.stages.ph.similarity import similarity_tests

    meta = {"measure": "procrustes", "representation": "pool", "kind": "distance"}
    f = _write(tmp_path, "one", np.array([[0.0, 0.3], [0.3, 0.0]]), [0, 1], ["fc"], meta)
    outs = [tmp_path / f"{n}.csv" for n in ("spec", "depth", "perm")]
    similarity_tests([f], *outs, stages=[1], n_boot=10, n_permutations=10)
    spec, depth, perm = (pd.read_csv(o) for o in outs)
    assert spec["exact"].isna().all() and spec["note"].str.contains("trivial").all()
    assert depth["rho"].isna().all() and depth["note"].str.contains("two layers").all()
    assert perm["p_value"].isna().all() and perm["note"].str.startswith("not applicable").all()


def test_similarity_cross_records_and_logs_each_undefined_layer_once(tmp_path, caplog):
    from cnntopo.stages.common import load_cross
    from cnntopo.stages.ph.similarity import similarity_cross, similarity_representations

    rng = _rng(7)
    layers, files = ["a", "b"], []
    for seed in (0, 1):
        shards = []
        for i in range(2):
            acts = rng.normal(size=(20, 3, 2, 2)).astype(np.float32)
            if seed == 0 and i == 1:
                acts[:] = 0.0  # a dead layer
            shards.append(tmp_path / f"s{seed}_{i}.npy")
            np.save(shards[-1], acts)
        files.append(tmp_path / f"pool_{seed}.npz")
        similarity_representations(
            shards, [files[-1]], seed=seed, layers=layers, representations=["pool"]
        )
    specs = [
        {"label": "cka_linear", "name": "cka_linear", "params": {}},
        {"label": "cka_rbf_0.4", "name": "cka_rbf", "params": {"sigma_frac": 0.4}},
    ]
    outs = [tmp_path / f"{m['label']}.npz" for m in specs]
    with caplog.at_level(logging.WARNING, logger="cnntopo"):
        similarity_cross(
            files, outs, seeds=[0, 1], layers=layers, representation="pool", measures=specs
        )
    for out in outs:
        C, _, _, meta = load_cross(out)
        assert list(meta["notes"]) == ["0/b"]
        assert np.isnan(C[1]).all() and np.isfinite(C[np.ix_([0, 2, 3], [0, 2, 3])]).all()
    warned = [r.getMessage() for r in caplog.records if "undefined for 0/b" in r.getMessage()]
    assert len(warned) == 2 and "cka_linear on pool" in warned[0]


# ---------------------------------------------------------------------------
# sensitivity
# ---------------------------------------------------------------------------


def test_deletion_curve_on_a_constant_layer_is_empty_with_notes():
    from cnntopo.ph.sensitivity import deletion_curve

    specs = [("cka_linear", "cka_linear", {}), ("pwcca", "pwcca", {})]
    notes: dict = {}
    labels = np.arange(20) % 2
    curve = deletion_curve(np.zeros((20, 20)), labels, specs, notes=notes)
    assert curve.empty and list(curve.columns)[-2:] == ["cka_linear", "pwcca"]
    assert set(notes) == {"cka_linear", "pwcca"} and "zero variance" in notes["pwcca"]


def test_deletion_curve_wide_pwcca_is_nan_and_linear_cka_is_not():
    from cnntopo.ph.sensitivity import deletion_curve

    X = _rng(8).normal(size=(16, 40))  # rank 15 = n - 1: CCA trivial on the original
    specs = [("cka_linear", "cka_linear", {}), ("pwcca", "pwcca", {})]
    notes: dict = {}
    curve = deletion_curve(linear_gram(X), np.arange(16) % 2, specs, features=X, notes=notes)
    assert curve["pwcca"].isna().all() and np.isfinite(curve["cka_linear"]).all()
    assert list(notes) == ["pwcca"] and "trivially 1" in notes["pwcca"]


def test_spearman_interval_ignores_undefined_points():
    from cnntopo.ph.sensitivity import spearman_interval

    rng = _rng(9)
    x = rng.normal(size=30)
    y = x + 0.3 * rng.normal(size=30)
    g = np.repeat(np.arange(10), 3)
    x_nan = x.copy()
    x_nan[[0, 4]] = np.nan
    keep = np.isfinite(x_nan)
    got = spearman_interval(x_nan, y, g, n_boot=30)
    ref = spearman_interval(x[keep], y[keep], g[keep], n_boot=30)
    assert got == pytest.approx(ref) and got[3] == 28
    assert np.isnan(spearman_interval(np.full(5, np.nan), y[:5], g[:5], n_boot=5)[0])
