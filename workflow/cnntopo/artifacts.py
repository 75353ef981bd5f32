"""Atomic file output, and readers that say which file is broken and how to fix it.

Every writer in :mod:`cnntopo` writes to a temporary file next to its target and
renames it into place only after the write succeeded (``os.replace`` is atomic on
POSIX when both paths are on one file system). An interrupted job therefore leaves
either the previous complete file or no file, never a truncated one.

Temporary files never outlive a run. A write that raises (``KeyboardInterrupt`` of
Ctrl-C, and ``SystemExit`` of the SIGTERM handler of
:func:`cnntopo.logs.setup_job_logging`, included) removes its temporary file. Only a
process killed outright (SIGKILL, a lost node) leaves one behind; its name,
``.<target name>.<8 characters><suffix>.tmp`` (:func:`temporary_files`), tells whose
it is, and the next write of the same target (the rerun of the job, before it writes)
removes it. Snakemake runs one job per output file and locks the outputs of a run, so
a temporary file of a target is never that of a live writer.

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
import re
import secrets
import shutil
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
    "atomic_folder",
    "temporary_files",
    "write_bytes",
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


#: The end of every temporary file name of :func:`atomic_path`.
TEMP_SUFFIX = ".tmp"

#: Characters and length of the random part of a temporary file name. Hex digits are
#: written; the pattern also accepts ``tempfile.mkstemp``'s alphabet (letters, digits,
#: underscore), which earlier versions used.
_TOKEN_PATTERN = "[a-z0-9_]{8}"


def _temp_suffix(path: Path, suffix: str | None) -> str:
    return (path.suffix if suffix is None else suffix) + TEMP_SUFFIX


def temporary_files(path: str | os.PathLike, suffix: str | None = None) -> list[Path]:
    """The temporary files of :func:`atomic_path` for ``path`` that exist now.

    Parameters
    ----------
    path : path-like
        The target, e.g. ``figures/diagrams/seed1.pdf``.
    suffix : str, optional
        The ``suffix`` given to :func:`atomic_path` (default: the suffix of ``path``).

    Returns
    -------
    list of pathlib.Path
        Files named ``.<name>.<8 characters><suffix>.tmp`` next to ``path``, sorted,
        e.g. ``figures/diagrams/.seed1.pdf.3f9a0c1e.pdf.tmp``. The dot ending the
        target's name and the fixed-length random part keep the temporary files of
        other targets out (those of ``seed1.pdf.gz`` or ``seed10.pdf`` do not match).
    """
    path = Path(path)
    pattern = re.compile(
        re.escape(f".{path.name}.") + _TOKEN_PATTERN + re.escape(_temp_suffix(path, suffix))
    )
    try:
        names = os.listdir(path.parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(path.parent / n for n in names if pattern.fullmatch(n))


def _remove_stale(path: Path, suffix: str | None) -> None:
    """Remove the temporary files that a killed writer of ``path`` left behind."""
    for stale in temporary_files(path, suffix):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            stale.unlink()


def _create_temporary(path: Path, suffix: str | None) -> Path:
    """Create a new, empty temporary file for ``path`` (mode ``0o666`` less the umask)."""
    end = _temp_suffix(path, suffix)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{end}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # 1 in 4e9 per file present: draw again
            continue
        os.close(fd)
        return tmp


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path that is renamed to ``path`` when the block succeeds.

    Parameters
    ----------
    path : path-like
        Final destination. Its parent directory is created if needed.
    suffix : str, optional
        Suffix of the temporary file before ``.tmp`` (some writers, e.g. ``np.savez``,
        append their own extension unless the name already ends with it). Defaults to
        the suffix of ``path``.

    Yields
    ------
    pathlib.Path
        A new empty file next to ``path``, ``.<name>.<8 hex digits><suffix>.tmp``,
        created with the mode ``0o666`` less the umask (the mode ``path`` gets). If
        the block raises (any exception, ``KeyboardInterrupt`` and ``SystemExit``
        included), the temporary file is removed and ``path`` is left untouched.

    Notes
    -----
    Before creating its temporary file, the block removes every temporary file of
    ``path`` that is already there (:func:`temporary_files`): they can only be left
    by a writer that was killed (SIGKILL, a lost node), as every other exit removes
    its own. Two live writers of one target at once are therefore not supported
    (Snakemake never runs two jobs that write the same file).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path, suffix)
    tmp: Path | None = None
    try:
        tmp = _create_temporary(path, suffix)
        yield tmp
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt and SystemExit too: no temp file survives
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Yield a new empty folder that replaces ``folder`` whole when the block succeeds.

    The folder counterpart of :func:`atomic_path` (e.g. the explorer's per-node detail
    files): ``.<name>.<8 hex digits>.tmp`` next to ``folder``
    (``temporary_files(folder, "")``), removed with its content if the block raises,
    renamed to ``folder`` (after the old one is removed) if it succeeds. Temporary
    folders a killed writer left behind are removed first.

    Parameters
    ----------
    folder : path-like
        Final folder; its parent is created if needed.

    Yields
    ------
    pathlib.Path
        The temporary folder to fill.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    for stale in temporary_files(folder, ""):
        shutil.rmtree(stale, ignore_errors=True)
    while True:
        tmp = folder.parent / f".{folder.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            tmp.mkdir()
            break
        except FileExistsError:  # 1 in 4e9: draw again
            continue
    try:
        yield tmp
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except BaseException:  # KeyboardInterrupt and SystemExit too
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (e.g. a serialised checkpoint)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


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
