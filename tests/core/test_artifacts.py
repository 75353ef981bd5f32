"""The one artifact reader: round trips, and missing / truncated / foreign files named."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from cnntopo import artifacts
from cnntopo.artifacts import (
    ArtifactError,
    CorruptArtifactError,
    MissingArtifactError,
    read_array,
    read_json,
    read_npz,
    write_npz,
)

FIX = "delete it and rerun the workflow"


def _archive(path, **extra):
    rng = np.random.default_rng(0)
    arrays = {
        "matrix": rng.normal(size=(7, 7)),
        "labels": np.arange(300, dtype=np.int16),
        "layers": np.array(["conv1", "block_seq.0.0.conv1"]),
        "flags": rng.uniform(size=(3, 4)) > 0.5,
        **extra,
    }
    write_npz(path, **arrays, meta=np.array(artifacts.json_dumps({"seed": 3, "dim": 1})))
    return arrays


def _assert_names(exc: ArtifactError, path, *fragments: str) -> None:
    text = str(exc)
    assert str(path) in text, text
    for fragment in fragments:
        assert fragment in text, text


def test_round_trip_with_write_npz_keeps_values_dtypes_and_meta(tmp_path):
    path = tmp_path / "a.npz"
    written = _archive(path)
    arrays, meta = read_npz(path)
    assert meta == {"seed": 3, "dim": 1}
    assert sorted(arrays) == sorted(written)  # every entry but meta
    for key, value in written.items():
        assert arrays[key].dtype == value.dtype and arrays[key].shape == value.shape
        np.testing.assert_array_equal(arrays[key], value)


def test_keys_reads_only_those_and_an_archive_without_meta_has_empty_meta(tmp_path):
    path = tmp_path / "plain.npz"
    write_npz(path, a=np.ones(3), b=np.zeros((2, 2)))
    arrays, meta = read_npz(path, keys=["b"])
    assert list(arrays) == ["b"] and meta == {}
    np.testing.assert_array_equal(arrays["b"], np.zeros((2, 2)))


def test_a_missing_entry_is_named_with_what_the_file_holds(tmp_path):
    path = tmp_path / "a.npz"
    _archive(path)
    with pytest.raises(CorruptArtifactError) as info:
        read_npz(path, keys=["matrix", "seeds"])
    _assert_names(info.value, path, "'seeds'", "'matrix'", FIX)
    write_npz(tmp_path / "b.npz", x=np.ones(2))
    with pytest.raises(CorruptArtifactError, match="no 'meta' entry"):
        read_npz(tmp_path / "b.npz", required=["meta"])


def test_a_missing_file_is_a_file_not_found_error_naming_the_path(tmp_path):
    path = tmp_path / "never" / "written.npz"
    with pytest.raises(MissingArtifactError) as info:
        read_npz(path)
    assert isinstance(info.value, FileNotFoundError)
    _assert_names(info.value, path, "rerun the workflow")
    with pytest.raises(FileNotFoundError, match="written.npy"):
        read_array(tmp_path / "written.npy")
    with pytest.raises(FileNotFoundError, match="x.json"):
        read_json(tmp_path / "x.json")


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.3, 0.5, 0.9, 0.999])
def test_a_truncated_npz_names_the_file_and_the_fix(tmp_path, fraction):
    full = tmp_path / "full.npz"
    _archive(full)
    data = full.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CorruptArtifactError) as info:
        read_npz(cut)
    assert isinstance(info.value, ValueError)
    _assert_names(info.value, cut, FIX)
    assert ("empty" if fraction == 0 else "truncated or corrupt") in str(info.value)


def test_a_damaged_member_is_caught_when_the_archive_is_read(tmp_path):
    # flip bytes inside the stored data of one member: the zip directory is intact,
    # the member's CRC check fails on reading
    path = tmp_path / "a.npz"
    _archive(path, big=np.arange(50_000, dtype=np.float64))
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("big.npy")
    data = bytearray(path.read_bytes())
    local = info.header_offset  # local file header: 30 bytes, the name, the extra field
    name_len = int.from_bytes(data[local + 26 : local + 28], "little")
    extra_len = int.from_bytes(data[local + 28 : local + 30], "little")
    start = local + 30 + name_len + extra_len + 200  # past the .npy header, in the data
    data[start : start + 64] = bytes(64)
    path.write_bytes(bytes(data))
    arrays, _ = read_npz(path, keys=["matrix"])  # the undamaged members still read
    assert arrays["matrix"].shape == (7, 7)
    with pytest.raises(CorruptArtifactError) as err:
        read_npz(path)
    _assert_names(err.value, path, "BadZipFile", FIX)


def test_files_of_another_format_are_named_as_such(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("layer,exact\nconv1,1.0\n")
    with pytest.raises(CorruptArtifactError) as info:
        read_npz(text)
    _assert_names(info.value, text, "is not an .npz archive", "b'layer,ex'", FIX)

    npy = tmp_path / "shard.npy"
    np.save(npy, np.ones((4, 2)))
    with pytest.raises(CorruptArtifactError, match=r"is an \.npy array, not an \.npz archive"):
        read_npz(npy)
    npz = tmp_path / "a.npz"
    _archive(npz)
    with pytest.raises(CorruptArtifactError, match=r"is an \.npz archive, not an \.npy array"):
        read_array(npz)
    with pytest.raises(CorruptArtifactError, match="is a directory"):
        read_npz(tmp_path)


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CorruptArtifactError) as info:
        read_npz(path)
    _assert_names(info.value, path, "pickled", FIX)


def test_meta_that_is_not_a_json_object_is_corrupt(tmp_path):
    bad = tmp_path / "bad.npz"
    write_npz(bad, x=np.ones(2), meta=np.array("{not json"))
    with pytest.raises(CorruptArtifactError, match="'meta' entry is not JSON"):
        read_npz(bad)
    listed = tmp_path / "list.npz"
    write_npz(listed, meta=np.array(json.dumps([1, 2])))
    with pytest.raises(CorruptArtifactError, match="JSON list, not an object"):
        read_npz(listed)


@pytest.mark.parametrize("mmap", [False, True])
def test_read_array_round_trip_and_truncation(tmp_path, mmap):
    path = tmp_path / "shard.npy"
    value = np.random.default_rng(1).normal(size=(16, 3, 2, 2)).astype(np.float32)
    np.save(path, value)
    out = read_array(path, mmap=mmap)
    assert isinstance(out, np.memmap) == mmap
    np.testing.assert_array_equal(out, value)
    data = path.read_bytes()
    for n in (0, 40, 200, len(data) - 1):  # empty, inside the header, inside the data
        cut = tmp_path / f"cut{n}.npy"
        cut.write_bytes(data[:n])
        with pytest.raises(CorruptArtifactError) as info:
            read_array(cut, mmap=mmap)
        _assert_names(info.value, cut, FIX)


def test_read_json_names_a_truncated_file(tmp_path):
    path = tmp_path / "m.json"
    artifacts.write_json(path, {"test_accuracy": 0.9, "history": [1, 2, 3]})
    assert read_json(path)["history"] == [1, 2, 3]
    path.write_text(path.read_text()[:20])
    with pytest.raises(CorruptArtifactError) as info:
        read_json(path)
    _assert_names(info.value, path, "not valid JSON", FIX)
    path.write_text("")
    with pytest.raises(CorruptArtifactError, match="is empty"):
        read_json(path)


def test_the_readers_of_the_stages_and_the_library_name_a_broken_file(tmp_path):
    from cnntopo.ph.persistence import load_diagrams, save_diagrams
    from cnntopo.stages.common import load_bootstrap, load_cross, load_matrix, write_cross

    cross = tmp_path / "cross.npz"
    write_cross(cross, np.eye(4), [0, 1], ["a", "b"], {"kind": "distance"})
    assert load_cross(cross)[1:] == ([0, 1], ["a", "b"], {"kind": "distance"})
    dgm = tmp_path / "dgm.npz"
    save_diagrams(dgm, [np.array([[0.0, np.inf]]), np.zeros((0, 2))], {"layer": "a"})
    for path, reader in [
        (cross, load_cross),
        (cross, load_matrix),
        (cross, load_bootstrap),
        (dgm, load_diagrams),
    ]:
        broken = tmp_path / f"broken_{path.name}"
        broken.write_bytes(path.read_bytes()[:-30])
        with pytest.raises(CorruptArtifactError) as info:
            reader(broken)
        _assert_names(info.value, broken, FIX)
    with pytest.raises(MissingArtifactError, match="gone.npz"):
        load_diagrams(tmp_path / "gone.npz")
    # a cross matrix is not a bootstrap file: the entry it lacks is named
    with pytest.raises(CorruptArtifactError, match="'significant'"):
        load_bootstrap(cross)


def test_activation_shards_are_read_through_read_array(tmp_path):
    from cnntopo.nets.activations import MANIFEST, load_activations

    np.save(tmp_path / "conv1.npy", np.ones((5, 2, 1, 1), dtype=np.float32))
    artifacts.write_json(tmp_path / MANIFEST, {"layers": [{"name": "conv1", "file": "conv1.npy"}]})
    assert load_activations(tmp_path, "conv1").shape == (5, 2, 1, 1)
    data = (tmp_path / "conv1.npy").read_bytes()
    (tmp_path / "conv1.npy").write_bytes(data[:-4])
    with pytest.raises(CorruptArtifactError, match="conv1.npy"):
        load_activations(tmp_path, "conv1")
    (tmp_path / "conv1.npy").unlink()
    with pytest.raises(FileNotFoundError, match="conv1.npy"):
        load_activations(tmp_path, "conv1")


def test_atomic_path_removes_its_temporary_file_on_keyboard_interrupt(tmp_path):
    target = tmp_path / "fig.pdf"
    with pytest.raises(KeyboardInterrupt), artifacts.atomic_path(target) as tmp:
        tmp.write_bytes(b"%PDF-half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
