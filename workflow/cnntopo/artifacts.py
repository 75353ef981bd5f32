"""Atomic file output, and readers that say which file is broken and how to fix it.

Every writer in :mod:`cnntopo` writes to a temporary file next to its target and
renames it into place only after the write succeeded (``os.replace`` is atomic on
POSIX when both paths are on one file system). An interrupted job therefore leaves
either the previous complete file or no file, never a truncated one.

The readers (:func:`read_npz`, :func:`read_array`, :func:`read_json`) are the one
way the stages read these files back. A file that is missing raises
:class:`MissingArtifactError` (a :class:`FileNotFoundError`); one that is truncated,
not of the expected format or lacks an entry raises :class:`CorruptArtifactError`
(a :class:`ValueError`). Both messages name the file, say what is wrong and what to
do: delete the file and rerun the workflow, which rebuilds it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ArtifactError",
    "MissingArtifactError",
    "CorruptArtifactError",
    "atomic_path",
    "write_json",
    "read_json",
    "json_dumps",
    "write_npz",
    "read_npz",
    "read_array",
    "write_text",
]

#: What to do about a broken or missing file (ends every reader's message).
REBUILD_HINT = "delete it and rerun the workflow, which rebuilds it"

#: Errors of ``np.load`` / ``json.loads`` on a truncated or foreign file.
_CORRUPT_ERRORS = (zipfile.BadZipFile, EOFError, ValueError, zlib.error, UnicodeDecodeError)


class ArtifactError(Exception):
    """A workflow file that cannot be read (base of the two reader errors)."""


class MissingArtifactError(ArtifactError, FileNotFoundError):
    """The file does not exist (also a :class:`FileNotFoundError`)."""


class CorruptArtifactError(ArtifactError, ValueError):
    """The file is truncated, of another format, or lacks an entry (also a :class:`ValueError`)."""


def _missing(path: Path, what: str) -> MissingArtifactError:
    return MissingArtifactError(
        f"{os.fspath(path)}: no such {what}; an upstream job did not produce it "
        f"(rerun the workflow, which rebuilds it)"
    )


def _corrupt(path: Path, problem: str) -> CorruptArtifactError:
    return CorruptArtifactError(f"{os.fspath(path)}: {problem}; {REBUILD_HINT}")


_NPY_MAGIC = b"\x93NUMPY"


def _diagnose(path: Path, magic: bytes, kind: str, exc: BaseException) -> str:
    """What is wrong with a file ``np.load`` refused: empty, foreign, or truncated/corrupt."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
        size = path.stat().st_size
    except OSError:
        return f"cannot be read as an {kind} ({_describe(exc)})"
    if size == 0:
        return f"is empty (0 bytes), not an {kind}"
    if not head.startswith((b"PK", _NPY_MAGIC)):
        return f"is not an {kind} (it starts with {head[:8]!r}; {size} bytes)"
    return f"is a truncated or corrupt {kind} ({size} bytes; {_describe(exc)})"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path that is renamed to ``path`` when the block succeeds.

    Parameters
    ----------
    path : path-like
        Final destination. Its parent directory is created if needed.
    suffix : str, optional
        Suffix of the temporary file (some writers, e.g. ``np.savez``, append their
        own extension unless the name already ends with it). Defaults to the
        suffix of ``path``.

    Yields
    ------
    pathlib.Path
        Temporary file in the same directory as ``path``. If the block raises, the
        temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{path.name}.",
            suffix=(path.suffix if suffix is None else suffix) + ".tmp",
            dir=path.parent,
        )
        tmp = Path(name)
        os.close(fd)
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt and SystemExit too: no temp file survives
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically (numpy scalars/arrays allowed)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file.

    Raises
    ------
    MissingArtifactError
        The file does not exist.
    CorruptArtifactError
        It is not valid JSON (e.g. truncated); the message names the file.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise _missing(path, "JSON file") from None
    except IsADirectoryError:
        raise _corrupt(path, "is a directory, not a JSON file") from None
    try:
        return json.loads(text)
    except _CORRUPT_ERRORS as exc:
        what = "is empty" if not text.strip() else "is not valid JSON (truncated?)"
        raise _corrupt(path, f"{what} ({_describe(exc)})") from exc


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write arrays to an uncompressed ``.npz`` archive, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def read_npz(
    path: str | os.PathLike,
    keys: Iterable[str] | None = None,
    *,
    required: Iterable[str] = (),
) -> tuple[dict[str, np.ndarray], dict]:
    """Read an ``.npz`` archive (of :func:`write_npz`) into memory, checking it whole.

    Parameters
    ----------
    path : path-like
        The archive.
    keys : iterable of str, optional
        The entries to read (all others stay on disk); each must be present. None:
        every entry.
    required : iterable of str, default ()
        Further entries that must be present (e.g. ``"meta"`` when ``keys`` is None).

    Returns
    -------
    arrays : dict of str to numpy.ndarray
        Every entry read except ``meta``, by name (shapes as stored).
    meta : dict
        The JSON string ``meta`` decoded; ``{}`` if the archive has no ``meta``.

    Raises
    ------
    MissingArtifactError
        The file does not exist.
    CorruptArtifactError
        It is truncated or not an ``.npz`` archive (``zipfile.BadZipFile``,
        ``EOFError``, ``ValueError`` of :func:`numpy.load`), holds pickled objects,
        lacks one of ``keys`` or ``required``, or its ``meta`` is not JSON. The message names the file
        and the problem, and says to delete it and rerun the workflow.

    Notes
    -----
    ``.npz`` members cannot be memory-mapped; store large arrays as ``.npy`` and
    read them with :func:`read_array` (``mmap=True``).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "x.npz"
    >>> write_npz(f, m=np.eye(2), meta=np.array(json_dumps({"seed": 0})))
    >>> arrays, meta = read_npz(f)
    >>> sorted(arrays), arrays["m"].shape, meta
    (['m'], (2, 2), {'seed': 0})
    """
    path = Path(path)
    wanted = None if keys is None else list(keys)
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise _corrupt(path, "is an .npy array, not an .npz archive (read it with read_array)")
        with z:
            files = list(z.files)
            absent = [k for k in dict.fromkeys([*(wanted or ()), *required]) if k not in files]
            if absent:
                raise _corrupt(
                    path,
                    f"has no {', '.join(map(repr, absent))} "
                    f"entr{'y' if len(absent) == 1 else 'ies'} (it holds {files}); it was "
                    "written by another version or another step",
                )
            names = [k for k in (files if wanted is None else wanted) if k != "meta"]
            arrays = {k: z[k] for k in names}
            raw_meta = z["meta"] if "meta" in files else None
    except FileNotFoundError:
        raise _missing(path, ".npz archive") from None
    except IsADirectoryError:
        raise _corrupt(path, "is a directory, not an .npz archive") from None
    except CorruptArtifactError:
        raise
    except _CORRUPT_ERRORS as exc:
        raise _corrupt(path, _diagnose(path, b"PK", ".npz archive", exc)) from exc
    return arrays, _decode_meta(path, raw_meta)


def _decode_meta(path: Path, raw: np.ndarray | None) -> dict:
    if raw is None:
        return {}
    try:
        meta = json.loads(str(raw))
    except ValueError as exc:
        raise _corrupt(path, f"its 'meta' entry is not JSON ({_describe(exc)})") from exc
    if not isinstance(meta, dict):
        raise _corrupt(path, f"its 'meta' entry is a JSON {type(meta).__name__}, not an object")
    return meta


def read_array(path: str | os.PathLike, *, mmap: bool = False) -> np.ndarray:
    """Read one ``.npy`` array (e.g. an activation shard), checking that it is complete.

    Parameters
    ----------
    path : path-like
        The ``.npy`` file.
    mmap : bool, default False
        Memory-map it read-only (a ``numpy.memmap``) instead of reading it into
        memory. The header and the file size are checked either way.

    Returns
    -------
    numpy.ndarray
        The array, of the shape and dtype in its header.

    Raises
    ------
    MissingArtifactError
        The file does not exist.
    CorruptArtifactError
        It is truncated (shorter than its header says), not an ``.npy`` file (an
        ``.npz`` archive included) or holds pickled objects; the message names the
        file and says to delete it and rerun the workflow.
    """
    path = Path(path)
    try:
        out = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise _missing(path, ".npy file") from None
    except IsADirectoryError:
        raise _corrupt(path, "is a directory, not an .npy file") from None
    except _CORRUPT_ERRORS as exc:
        raise _corrupt(path, _diagnose(path, _NPY_MAGIC, ".npy file", exc)) from exc
    if isinstance(out, np.lib.npyio.NpzFile):
        out.close()
        raise _corrupt(path, "is an .npz archive, not an .npy array (read it with read_npz)")
    return out


def json_dumps(obj: Any) -> str:
    """``json.dumps`` that also accepts numpy scalars, arrays and paths (for metadata)."""
    return json.dumps(obj, sort_keys=True, default=_json_default)
