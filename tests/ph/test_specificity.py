"""Tests for cnntopo.ph.specificity (cross-seed layer identification)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cnntopo.ph.specificity import (
    assemble_cross_matrix,
    identification_rates,
    mean_cross_block,
    nearest_layers,
    specificity_table,
)


def _identifiable(S: int, L: int, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """Distance D[s*L+l, t*L+m] = |l - m| + noise: same layer always closest."""
    rng = np.random.default_rng(seed)
    layers = np.tile(np.arange(L), S)
    D = np.abs(layers[:, None] - layers[None, :]).astype(float)
    D += noise * rng.random(D.shape)
    D = (D + D.T) / 2
    np.fill_diagonal(D, 0.0)
    return D


def test_perfectly_identifiable_gives_rate_one():
    S, L = 4, 6
    names = [f"layer{i}" for i in range(L)]
    table = specificity_table(_identifiable(S, L), names, S, kind="distance")
    assert list(table.columns) == ["layer", "exact", "within_1", "n_pairs"]
    assert list(table["layer"]) == [*names, "overall"]
    np.testing.assert_array_equal(table["exact"], 1.0)
    np.testing.assert_array_equal(table["within_1"], 1.0)
    assert list(table["n_pairs"]) == [S * (S - 1)] * L + [L * S * (S - 1)]


def test_permuted_layers_lower_the_rates():
    S, L = 4, 6
    D = _identifiable(S, L)
    # shuffle the layer order of every model but the first: correspondence breaks
    rng = np.random.default_rng(1)
    order = np.concatenate([np.arange(L)] + [s * L + rng.permutation(L) for s in range(1, S)])
    shuffled = D[np.ix_(order, order)]
    table = specificity_table(shuffled, [str(i) for i in range(L)], S)
    overall = table.set_index("layer").loc["overall"]
    assert overall["exact"] < 0.6
    assert overall["within_1"] < 1.0
    assert overall["exact"] <= overall["within_1"]


def test_hand_computed_two_models_three_layers():
    # D[s*3 + l, t*3 + m]; only the off-diagonal blocks matter
    B01 = np.array(
        [
            [0.1, 0.5, 0.9],  # layer 0 of model 0 -> layer 0 of model 1
            [0.4, 0.2, 0.2],  # tie between layers 1 and 2 -> lowest index, 1
            [0.3, 0.6, 0.8],  # -> layer 0 (wrong, off by 2)
        ]
    )
    B10 = np.array(
        [
            [0.7, 0.1, 0.9],  # -> 1 (off by 1)
            [0.9, 0.3, 0.1],  # -> 2 (off by 1)
            [0.5, 0.5, 0.4],  # -> 2 (exact)
        ]
    )
    D = np.block([[np.zeros((3, 3)), B01], [B10, np.zeros((3, 3))]])
    nearest = nearest_layers(D, 2, 3, kind="distance")
    assert nearest.shape == (2, 3, 2)
    np.testing.assert_array_equal(nearest[0, :, 1], [0, 1, 0])
    np.testing.assert_array_equal(nearest[1, :, 0], [1, 2, 2])
    np.testing.assert_array_equal(nearest[0, :, 0], -1)
    np.testing.assert_array_equal(nearest[1, :, 1], -1)

    exact = identification_rates(nearest, 0, layer_names=["a", "b", "c"])
    assert list(exact.columns) == ["layer", "rate", "n_pairs"]
    np.testing.assert_allclose(exact["rate"], [0.5, 0.5, 0.5, 0.5])
    within = identification_rates(nearest, 1)
    assert list(within["layer"]) == ["0", "1", "2", "overall"]
    np.testing.assert_allclose(within["rate"], [1.0, 1.0, 0.5, 5 / 6])
    assert list(within["n_pairs"]) == [2, 2, 2, 6]

    table = specificity_table(D, ["a", "b", "c"], 2)
    np.testing.assert_allclose(table["exact"], exact["rate"])
    np.testing.assert_allclose(table["within_1"], within["rate"])

    # a similarity picks the argmax instead: negate D -> same picks
    np.testing.assert_array_equal(nearest_layers(-D, 2, 3, kind="similarity"), nearest)
    flipped = nearest_layers(D, 2, 3, kind="similarity")
    np.testing.assert_array_equal(flipped[0, :, 1], [2, 0, 2])
    np.testing.assert_array_equal(flipped[1, :, 0], [2, 0, 0])  # row 2: tie -> lowest index


def test_similarity_kind_on_cka_like_matrix():
    S, L = 3, 5
    sim = 1.0 - _identifiable(S, L) / L  # larger = closer
    table = specificity_table(sim, list("abcde"), S, kind="similarity")
    np.testing.assert_array_equal(table["exact"], 1.0)
    wrong = specificity_table(sim, list("abcde"), S, kind="distance")
    assert wrong["exact"].iloc[-1] < 0.5


def test_mean_cross_block():
    S, L = 3, 2
    rng = np.random.default_rng(2)
    D = rng.random((S * L, S * L))
    blocks = {
        (s, t): D[s * L : (s + 1) * L, t * L : (t + 1) * L] for s in range(S) for t in range(S)
    }
    expected = np.mean([b for (s, t), b in blocks.items() if s != t], axis=0)
    np.testing.assert_allclose(mean_cross_block(D, S, L), expected)
    everything = np.mean(list(blocks.values()), axis=0)
    np.testing.assert_allclose(mean_cross_block(D, S, L, exclude_self=False), everything)
    sym = _identifiable(S, 4)
    M = mean_cross_block(sym, S, 4)
    np.testing.assert_allclose(M, M.T)
    assert np.all(np.argmin(M, axis=1) == np.arange(4))
    # one model is fine when self blocks are included
    assert mean_cross_block(D[:L, :L], 1, L, exclude_self=False).shape == (L, L)


def test_assemble_cross_matrix_from_row_blocks():
    S, L = 3, 4
    D = _identifiable(S, L)
    rows = [D[s * L : (s + 1) * L] for s in range(S)]
    np.testing.assert_array_equal(assemble_cross_matrix(rows), D)
    with pytest.raises(ValueError, match="row block 1"):
        assemble_cross_matrix([rows[0], rows[1][:, :-1], rows[2]])
    with pytest.raises(ValueError, match="empty"):
        assemble_cross_matrix([])


def test_validation_errors():
    D = _identifiable(2, 3)
    with pytest.raises(ValueError, match="shape"):
        nearest_layers(D, 2, 4)
    with pytest.raises(ValueError, match="n_models"):
        nearest_layers(D[:3, :3], 1, 3)
    with pytest.raises(ValueError, match="kind"):
        nearest_layers(D, 2, 3, kind="kernel")
    bad = D.copy()
    bad[0, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        specificity_table(bad, list("abc"), 2)
    with pytest.raises(ValueError, match="NaN"):
        mean_cross_block(bad, 2, 3)
    # within-model blocks are never read when they are excluded
    self_nan = D.copy()
    self_nan[:3, :3] = np.nan
    np.testing.assert_array_equal(nearest_layers(self_nan, 2, 3), nearest_layers(D, 2, 3))
    assert np.all(np.isfinite(mean_cross_block(self_nan, 2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        mean_cross_block(self_nan, 2, 3, exclude_self=False)
    with pytest.raises(ValueError, match="shape"):
        specificity_table(D, list("ab"), 2)
    nearest = nearest_layers(D, 2, 3)
    with pytest.raises(ValueError, match="tolerance"):
        identification_rates(nearest, -1)
    with pytest.raises(ValueError, match="layer_names"):
        identification_rates(nearest, 0, layer_names=["a"])
    with pytest.raises(ValueError, match="integer"):
        identification_rates(nearest.astype(float))
    with pytest.raises(ValueError, match="outside"):
        identification_rates(np.where(nearest < 0, -1, 7))
    with pytest.raises(ValueError, match="S >= 2"):
        identification_rates(nearest[:1, :, :1])
    assert isinstance(identification_rates(nearest), pd.DataFrame)


# ---------------------------------------------------------------------------
# bootstrap intervals, layer depth, stage permutation (issue 11)
# ---------------------------------------------------------------------------


def test_bootstrap_interval_is_over_model_pairs():
    from cnntopo.ph.specificity import bootstrap_identification

    S, L = 2, 4
    nearest = np.full((S, L, S), -1)
    nearest[0, :, 1] = [0, 1, 2, 3]  # pair (0, 1): all exact
    nearest[1, :, 0] = [0, 0, 0, 0]  # pair (1, 0): one exact of four
    rate, low, high, n = bootstrap_identification(nearest, 0, n_boot=500, seed=1)
    assert rate == pytest.approx(identification_rates(nearest)["rate"].iloc[-1]) == 0.625
    assert n == L * S * (S - 1)
    # two pairs: a draw averages two of {1, 0.25}, so only 0.25, 0.625, 1 are possible
    assert low == pytest.approx(0.25) and high == pytest.approx(1.0)
    within, wlo, whi, _ = bootstrap_identification(nearest, 1, n_boot=200)
    assert within == pytest.approx(0.75) and wlo <= within <= whi


def test_depth_correlation_matches_scipy_per_pair_mean():
    from scipy.stats import spearmanr

    from cnntopo.ph.specificity import depth_correlation

    S, L = 3, 5
    D = _identifiable(S, L, noise=0.8, seed=4)
    rho, low, high, n_pairs = depth_correlation(D, S, L, "distance", n_boot=300)
    depth = np.abs(np.subtract.outer(np.arange(L), np.arange(L))).ravel()
    expected = np.mean(
        [
            spearmanr(D[s * L : (s + 1) * L, t * L : (t + 1) * L].ravel(), depth).statistic
            for s in range(S)
            for t in range(S)
            if s != t
        ]
    )
    assert rho == pytest.approx(expected) and n_pairs == S * (S - 1)
    assert low <= rho <= high and 0.5 < rho <= 1
    # a similarity is the negated distance
    sim = depth_correlation(-D, S, L, "similarity", n_boot=300)
    assert sim[0] == pytest.approx(rho)


def test_stage_permutation_p_value_matches_exhaustive_enumeration():
    import itertools

    from cnntopo.ph.specificity import stage_permutation_test

    rng = np.random.default_rng(7)
    stages = [0, 0, 1, 1, 1]
    L = len(stages)
    mats = []
    for _ in range(2):
        A = rng.random((L, L)) + 0.6 * (np.subtract.outer(stages, stages) != 0)
        mats.append((A + A.T) / 2)
    iu = np.triu_indices(L, 1)

    def stat(labels, M):
        same = np.asarray(labels)[iu[0]] == np.asarray(labels)[iu[1]]
        return M[iu][~same].mean() - M[iu][same].mean()

    labelings = set(itertools.permutations(stages))
    exact = [np.mean([stat(p, M) >= stat(stages, M) - 1e-12 for p in labelings]) for M in mats]
    pooled_exact = np.mean(
        [
            sum(stat(p, M) for M in mats) >= sum(stat(stages, M) for M in mats) - 1e-12
            for p in labelings
        ]
    )
    per_model, pooled = stage_permutation_test(mats, stages, n_permutations=20000, seed=0)
    for res, p, M in zip(per_model, exact, mats, strict=True):
        assert res["statistic"] == pytest.approx(stat(stages, M))
        assert res["p_value"] == pytest.approx(p, abs=0.02)
    assert pooled["p_value"] == pytest.approx(pooled_exact, abs=0.02)
    with pytest.raises(ValueError, match="two stages"):
        stage_permutation_test(mats, [0] * L)
