"""Atomic writers leave either the complete file or nothing."""

from __future__ import annotations

import numpy as np
import pytest

from cnntopo import artifacts


def test_write_then_read(tmp_path):
    artifacts.write_json(
        tmp_path / "a" / "x.json", {"a": np.int64(3), "b": np.arange(3), "c": np.float32(0.5)}
    )
    assert artifacts.read_json(tmp_path / "a" / "x.json") == {"a": 3, "b": [0, 1, 2], "c": 0.5}
    artifacts.write_npz(tmp_path / "y.npz", m=np.eye(2))
    with np.load(tmp_path / "y.npz") as z:
        assert np.array_equal(z["m"], np.eye(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "y.npz"]


def test_failure_leaves_nothing_and_keeps_old_file(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), artifacts.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    artifacts.write_text(target, "complete")
    with pytest.raises(RuntimeError), artifacts.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "complete" and list(tmp_path.iterdir()) == [target]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    artifacts.write_text(tmp_path / "a.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask
