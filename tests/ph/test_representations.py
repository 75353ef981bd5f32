"""Tests for cnntopo.ph.representations (flat, pooled and top-l2 representations; blocked Gram)."""

from __future__ import annotations

import numpy as np
import pytest

from cnntopo.ph import representations
from cnntopo.ph.pointclouds import top_l2
from cnntopo.ph.representations import (
    REPRESENTATIONS,
    centred_gram,
    channel_blocks,
    flat,
    pool,
    representation,
    representation_gram,
)
from cnntopo.ph.similarity import (
    cka_from_grams,
    cka_rbf,
    linear_cka,
    linear_gram,
    rbf_from_linear_gram,
)


@pytest.fixture
def acts():
    rng = np.random.default_rng(0)
    return np.maximum(rng.normal(size=(12, 7, 3, 4)), 0.0).astype(np.float32) + 0.5


def _gram_ref(F: np.ndarray) -> np.ndarray:
    """X_c X_c^T of the full matrix, centring the features explicitly."""
    Fc = F.astype(np.float64) - F.astype(np.float64).mean(axis=0)
    return Fc @ Fc.T


def test_flat_and_pool(acts):
    F = flat(acts)
    assert F.shape == (12, 7 * 3 * 4) and F.dtype == np.float32
    np.testing.assert_array_equal(F[5], acts[5].ravel())
    np.testing.assert_array_equal(F[:, 12:24], acts[:, 1].reshape(12, -1))
    P = pool(acts, chunk_size=5)
    assert P.shape == (12, 7) and P.dtype == np.float64
    expected = [[acts[i, c].astype(np.float64).sum() / 12 for c in range(7)] for i in range(12)]
    np.testing.assert_allclose(P, expected, rtol=1e-12)


def test_representation_dispatch(acts):
    assert REPRESENTATIONS == ("flat", "pool", "topl2")
    np.testing.assert_array_equal(representation(acts, "flat"), flat(acts))
    np.testing.assert_array_equal(representation(acts, "pool"), pool(acts))
    np.testing.assert_array_equal(representation(acts, "topl2"), top_l2(acts)[0])
    with pytest.raises(ValueError, match="kind must be one of"):
        representation(acts, "mean")


@pytest.mark.parametrize("block_channels", [1, 2, 3, 7, 100])
def test_blocked_gram_equals_full_gram(acts, block_channels):
    ref = _gram_ref(flat(acts))
    np.testing.assert_allclose(centred_gram(acts, block_channels), ref, rtol=1e-10, atol=1e-10)
    blocks = list(channel_blocks(acts, block_channels))
    assert len(blocks) == -(-7 // block_channels)
    assert all(b.shape[1] <= block_channels * 12 for b in blocks)
    np.testing.assert_array_equal(np.hstack(blocks), flat(acts).astype(np.float64))


def test_blocked_gram_from_memmap_generator_and_2d(acts, tmp_path):
    ref = _gram_ref(flat(acts))
    mm = np.lib.format.open_memmap(
        tmp_path / "a.npy", mode="w+", dtype=np.float32, shape=acts.shape
    )
    mm[:] = acts
    mm.flush()
    ro = np.load(tmp_path / "a.npy", mmap_mode="r")
    np.testing.assert_allclose(centred_gram(ro, 2), ref, rtol=1e-10, atol=1e-10)
    # an iterable of blocks of any trailing shape, consumed once
    gen = (acts[:, c : c + 3] for c in range(0, 7, 3))
    np.testing.assert_allclose(centred_gram(gen), ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(centred_gram(flat(acts)), ref, rtol=1e-10, atol=1e-10)
    G = centred_gram(acts, 3)
    np.testing.assert_array_equal(G, G.T)
    np.testing.assert_allclose(G.sum(axis=0), 0.0, atol=1e-9)


def test_default_block_size_is_bounded(acts, monkeypatch):
    monkeypatch.setattr(representations, "BLOCK_VALUES", 12 * 12 * 2)  # two channels
    blocks = list(channel_blocks(acts))
    assert [b.shape[1] for b in blocks] == [24, 24, 24, 12]
    monkeypatch.setattr(representations, "BLOCK_VALUES", 1)  # still one channel per block
    assert len(list(channel_blocks(acts))) == 7


def test_cka_from_blocked_grams_equals_feature_cka(acts):
    other = np.sqrt(acts[:, ::-1, :, ::-1] + 0.1 * acts)
    Ga, Gb = centred_gram(acts, 2), centred_gram(other, 3)
    assert cka_from_grams(Ga, Gb) == pytest.approx(linear_cka(flat(acts), flat(other)), rel=1e-9)
    K, L = rbf_from_linear_gram(Ga, 0.4), rbf_from_linear_gram(Gb, 0.4)
    assert cka_from_grams(K, L) == pytest.approx(cka_rbf(flat(acts), flat(other), 0.4), rel=1e-9)


@pytest.mark.parametrize("kind", REPRESENTATIONS)
def test_representation_gram(acts, kind):
    G = representation_gram(acts, kind, block_channels=2)
    np.testing.assert_allclose(G, _gram_ref(representation(acts, kind)), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(G, linear_gram(representation(acts, kind)), rtol=1e-10, atol=1e-10)


def test_validation(acts):
    with pytest.raises(ValueError, match="4 dimensions"):
        flat(acts[0])
    with pytest.raises(ValueError, match="empty"):
        pool(acts[:, :0])
    with pytest.raises(ValueError, match="chunk_size"):
        pool(acts, chunk_size=0)
    with pytest.raises(TypeError, match="block_channels"):
        list(channel_blocks(acts, 1.5))
    with pytest.raises(ValueError, match="no blocks"):
        centred_gram(iter([]))
    with pytest.raises(ValueError, match="same images"):
        centred_gram([acts[:, :2], acts[:10, 2:]])
    with pytest.raises(ValueError, match="NaN"):
        centred_gram([np.full((4, 2), np.nan)])
    with pytest.raises(ValueError, match="kind must be one of"):
        representation_gram(acts, "mean")
    with pytest.raises(ValueError, match="4 dimensions"):
        representation_gram(acts[0])
    with pytest.raises(ValueError, match=r"\(N, c, h, w\) or \(N, p\)"):
        centred_gram(acts[0, 0, 0])


def test_representation_distances_match_cdist(acts):
    """Distances of every stored form equal scipy's cdist of the represented points."""
    from scipy.spatial.distance import cdist

    from cnntopo.ph.representations import representation_distances

    F = acts.reshape(len(acts), -1).astype(np.float64)
    expected = cdist(F, F)
    D = representation_distances((centred_gram(acts, block_channels=2), None))
    assert D.dtype == np.float64 and D.shape == (12, 12)
    np.testing.assert_allclose(D, expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(D, D.T)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    P = pool(acts)
    Dp = representation_distances((None, P))
    np.testing.assert_allclose(Dp, cdist(P, P), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(Dp, Dp.T)
    # a Gram matrix takes precedence over features, as in layer_gram
    np.testing.assert_allclose(
        representation_distances((linear_gram(P), np.zeros((12, 2)))), cdist(P, P), atol=1e-9
    )


def test_representation_distances_duplicates_and_errors():
    """Coincident points give exact zeros (clipped), not NaN; bad input is refused."""
    from cnntopo.ph.representations import representation_distances

    X = np.array([[1.0, 2.0], [1.0, 2.0], [1e8, 3.0]])
    D = representation_distances((linear_gram(X), None))
    assert np.all(np.isfinite(D)) and D[0, 1] == 0.0 and np.all(D >= 0)
    with pytest.raises(ValueError, match="neither"):
        representation_distances((None, None))
    with pytest.raises(ValueError, match=r"\(N, N\)"):
        representation_distances((np.zeros((3, 2)), None))
    with pytest.raises(ValueError, match="NaN"):
        representation_distances((None, np.array([[0.0, np.nan], [1.0, 1.0]])))
