"""Tests for cnntopo.ph.pointclouds (top-l2 point clouds, P1)."""

from __future__ import annotations

import numpy as np
import pytest

from cnntopo.ph.pointclouds import flat_to_rowcol, top_l2


def _reference_top_l2(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straightforward per-image loop, as the definition reads."""
    n, c, h, w = a.shape
    points = np.empty((n, c), dtype=np.float32)
    positions = np.empty(n, dtype=np.int64)
    for i in range(n):
        best, best_norm = 0, -1.0
        for r in range(h):
            for col in range(w):
                norm = float(np.sqrt(np.sum(a[i, :, r, col].astype(np.float64) ** 2)))
                if norm > best_norm:
                    best, best_norm = r * w + col, norm
        positions[i] = best
        points[i] = a[i, :, best // w, best % w]
    return points, positions


def test_matches_per_image_loop_and_shapes():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(23, 5, 4, 3)).astype(np.float32)
    points, positions = top_l2(a, chunk_size=4)
    ref_points, ref_positions = _reference_top_l2(a)
    assert points.shape == (23, 5) and points.dtype == np.float32
    assert positions.shape == (23,) and positions.dtype == np.int64
    np.testing.assert_array_equal(positions, ref_positions)
    np.testing.assert_array_equal(points, ref_points)


def test_known_position_row_major():
    a = np.zeros((2, 3, 4, 5), dtype=np.float32)
    a[0, :, 2, 3] = [1.0, -2.0, 2.0]  # norm 3 at row 2, col 3
    a[0, 0, 1, 1] = 2.5  # smaller norm
    a[1, 1, 3, 0] = -7.0
    points, positions = top_l2(a)
    assert positions.tolist() == [2 * 5 + 3, 3 * 5 + 0]
    np.testing.assert_array_equal(points[0], [1.0, -2.0, 2.0])
    np.testing.assert_array_equal(points[1], [0.0, -7.0, 0.0])
    rows, cols = flat_to_rowcol(positions, w=5)
    assert rows.tolist() == [2, 3] and cols.tolist() == [3, 0]


def test_ties_go_to_first_index():
    a = np.ones((3, 2, 2, 2), dtype=np.float32)  # all positions tie
    _, positions = top_l2(a)
    assert positions.tolist() == [0, 0, 0]
    a[1, :, 1, 0] = 2.0
    a[1, :, 1, 1] = -2.0  # same norm, later index
    assert top_l2(a)[1].tolist() == [0, 2, 0]


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 10, 1000])
def test_chunk_size_does_not_change_result(chunk_size):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(10, 6, 3, 3)).astype(np.float32)
    p_ref, i_ref = top_l2(a, chunk_size=10)
    p, i = top_l2(a, chunk_size=chunk_size)
    np.testing.assert_array_equal(p, p_ref)
    np.testing.assert_array_equal(i, i_ref)


def test_memmap_float16_input(tmp_path):
    rng = np.random.default_rng(2)
    data = rng.normal(size=(9, 4, 3, 3)).astype(np.float16)
    mm = np.lib.format.open_memmap(
        tmp_path / "a.npy", mode="w+", dtype=np.float16, shape=data.shape
    )
    mm[:] = data
    mm.flush()
    mm = np.load(tmp_path / "a.npy", mmap_mode="r")
    points, positions = top_l2(mm, chunk_size=2)
    ref_points, ref_positions = _reference_top_l2(data.astype(np.float32))
    assert points.dtype == np.float32
    np.testing.assert_array_equal(positions, ref_positions)
    np.testing.assert_array_equal(points, ref_points)


def test_empty_batch():
    points, positions = top_l2(np.zeros((0, 8, 2, 2), dtype=np.float32))
    assert points.shape == (0, 8) and positions.shape == (0,)


@pytest.mark.parametrize("shape", [(7,), ()])
def test_rejects_wrong_ndim(shape):
    with pytest.raises(ValueError, match=r"\(N, c, h, w\), \(N, tokens, d\) or \(N, c\)"):
        top_l2(np.zeros(shape, dtype=np.float32))


def test_one_by_one_maps_tokens_and_vectors():
    """1x1 maps and (N, c) outputs have one position; (N, tokens, d) outputs have
    ``tokens`` positions of ``d``-vectors: the same clouds as the (N, c, h, w) reference
    on the equivalent channels-first layout."""
    rng = np.random.default_rng(1)
    maps = rng.normal(size=(9, 6, 1, 1)).astype(np.float32)
    points, positions = top_l2(maps)
    np.testing.assert_array_equal(points, maps[:, :, 0, 0])
    assert not positions.any()
    vectors = maps[:, :, 0, 0]
    np.testing.assert_array_equal(top_l2(vectors)[0], vectors)
    tokens = rng.normal(size=(9, 197, 12)).astype(np.float32)  # ViT: class token + 14x14
    as_map = np.ascontiguousarray(tokens.transpose(0, 2, 1))[:, :, :, None]  # (N, d, T, 1)
    ref_points, ref_positions = _reference_top_l2(as_map)
    points, positions = top_l2(tokens, chunk_size=4)
    np.testing.assert_array_equal(positions, ref_positions)
    np.testing.assert_array_equal(points, ref_points)
    assert points.shape == (9, 12)
    volume = rng.normal(size=(3, 4, 2, 3, 5)).astype(np.float32)  # 3-D convolutions
    ref = _reference_top_l2(volume.reshape(3, 4, 2 * 3, 5))
    np.testing.assert_array_equal(top_l2(volume)[1], ref[1])


def test_rejects_bad_chunk_size_and_empty_maps():
    a = np.zeros((2, 3, 2, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="chunk_size"):
        top_l2(a, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size"):
        top_l2(a, chunk_size=2.5)
    with pytest.raises(ValueError, match="no channels or no spatial positions"):
        top_l2(np.zeros((2, 3, 0, 2), dtype=np.float32))


def test_flat_to_rowcol_validation():
    rows, cols = flat_to_rowcol(np.array([0, 7, 11]), 4)
    assert rows.tolist() == [0, 1, 2] and cols.tolist() == [0, 3, 3]
    with pytest.raises(ValueError, match="positive integer width"):
        flat_to_rowcol([1, 2], 0)
    with pytest.raises(ValueError, match="non-negative"):
        flat_to_rowcol([-1], 3)


def test_default_chunks_are_bounded_in_bytes(monkeypatch):
    """Big layers are read a few images at a time; the cloud does not depend on it."""
    from cnntopo.ph import pointclouds

    a = np.random.default_rng(2).normal(size=(9, 4, 3, 3)).astype(np.float16)
    reads = []

    class Recorder(np.ndarray):
        def __getitem__(self, item):
            reads.append(item)
            return np.asarray(self).__getitem__(item)

    monkeypatch.setattr(pointclouds, "CHUNK_BYTES", 2 * 4 * 4 * 9)  # two images per chunk
    points, positions = top_l2(a.view(Recorder))
    assert [(s.start, s.stop) for s in reads] == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 9)]
    ref = top_l2(a, chunk_size=9)
    np.testing.assert_array_equal(points, ref[0])
    np.testing.assert_array_equal(positions, ref[1])
