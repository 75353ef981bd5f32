"""Diagram validation, persim's projections and the worker pool of the SW distances.

The pieces shared by the numpy reference :func:`cnntopo.ph.distances.sliced_wasserstein`
and the compiled all-pairs kernel :mod:`cnntopo.ph.sw_kernel`. Both must project
diagrams with the very same float64 operations, so that the kernel's sorted
values are bit-identical to the ones the reference sorts (docs/performance.md §2):

- :func:`as_diagram`, :func:`check_finite`, :func:`finite_part`,
  :func:`finite_diagrams`: diagram validation and the policy for infinite points;
- :func:`check_M`, :func:`persim_directions`, :func:`project_on_diagonal`,
  :func:`project_into`: persim 0.4.1's directions and projections;
- :func:`resolve_n_jobs`, :func:`run_parallel`: the ``n_jobs`` convention and a
  thread pool.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import numpy as np

__all__ = [
    "INFINITE_MODES",
    "as_diagram",
    "check_finite",
    "finite_part",
    "finite_diagrams",
    "check_M",
    "persim_directions",
    "project_on_diagonal",
    "project_into",
    "resolve_n_jobs",
    "run_parallel",
]

#: Policies for non-finite diagram points (see :func:`finite_part`).
INFINITE_MODES = ("error", "strip")

# persim projects every point on the float32-rounded diagonal direction
# (cos(pi/4), sin(pi/4)) before mapping it to the diagonal.
_DIAG_COS, _DIAG_SIN = (
    float(v) for v in np.array([np.cos(0.25 * np.pi), np.sin(0.25 * np.pi)], dtype=np.float32)
)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def as_diagram(dgm: Any, name: str = "dgm") -> np.ndarray:
    """Return ``dgm`` as a float64 array of shape (n, 2); an empty input gives (0, 2).

    Parameters
    ----------
    dgm : array_like, shape (n, 2)
        (birth, death) pairs of one homology dimension.
    name : str, default "dgm"
        Name used in error messages.

    Returns
    -------
    np.ndarray, shape (n, 2), float64

    Raises
    ------
    ValueError
        If a non-empty ``dgm`` is not of shape (n, 2).
    """
    arr = np.asarray(dgm, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(
            f"{name} must be a persistence diagram of shape (n, 2) holding (birth, death) "
            f"pairs, got shape {arr.shape}; pass one homology dimension, e.g. dgms[1]"
        )
    return arr


def check_finite(dgm: np.ndarray, name: str) -> None:
    """Raise ValueError if the diagram ``dgm`` (shape (n, 2)) has a non-finite coordinate."""
    if not np.all(np.isfinite(dgm)):
        n_bad = int(np.count_nonzero(~np.all(np.isfinite(dgm), axis=1)))
        raise ValueError(
            f"{name} has {n_bad} point(s) with an infinite or NaN coordinate; the sliced "
            "Wasserstein distance needs finite diagrams (persim returns nan). Remove them with "
            "finite_part(dgm, infinite='strip')"
        )


def finite_part(dgm: Any, infinite: str = "error") -> np.ndarray:
    """Return the finite points of a persistence diagram.

    Parameters
    ----------
    dgm : array_like, shape (n, 2)
        Persistence diagram of (birth, death) pairs. An empty input of any shape
        is read as ``np.zeros((0, 2))``.
    infinite : {"error", "strip"}, default "error"
        What to do with points that have a non-finite coordinate (essential bars
        ``[b, inf)``, or NaN): ``"error"`` raises, ``"strip"`` drops them and emits
        a :class:`UserWarning` saying how many were dropped.

    Returns
    -------
    np.ndarray, shape (m, 2), float64
        The finite points, in input order (``m <= n``). A new array is returned
        when points are dropped; otherwise the float64 view of the input.

    Raises
    ------
    ValueError
        If ``dgm`` is not of shape ``(n, 2)``, ``infinite`` is not a known mode, or
        ``infinite="error"`` and the diagram has non-finite points. Ripser's H0
        always has the essential bar ``[0, inf)``, so pass ``infinite="strip"``
        for H0 diagrams.
    """
    if infinite not in INFINITE_MODES:
        raise ValueError(f"infinite must be one of {INFINITE_MODES}, got {infinite!r}")
    arr = as_diagram(dgm)
    keep = np.all(np.isfinite(arr), axis=1)
    n_bad = int(arr.shape[0] - np.count_nonzero(keep))
    if n_bad == 0:
        return arr
    if infinite == "error":
        raise ValueError(
            f"diagram has {n_bad} point(s) with an infinite or NaN coordinate. Diagram distances "
            "need finite points; H0 from ripser always contains the essential bar [0, inf). "
            "Pass infinite='strip' to drop such points (with a warning)"
        )
    warnings.warn(
        f"finite_part: dropped {n_bad} non-finite point(s) (essential bars) of "
        f"{arr.shape[0]} from a persistence diagram",
        UserWarning,
        stacklevel=2,
    )
    return arr[keep]


def finite_diagrams(dgms: Sequence[Any], name: str, infinite: str) -> list[np.ndarray]:
    """Validate a list of diagrams and apply the ``infinite`` policy to each.

    Parameters
    ----------
    dgms : sequence of array_like, each shape (n_k, 2)
    name : str
        Name of the list in error messages (``name[k]`` for diagram ``k``).
    infinite : {"error", "strip"}
        As in :func:`finite_part`.

    Returns
    -------
    list of np.ndarray, each shape (m_k, 2), float64
    """
    if isinstance(dgms, np.ndarray) and dgms.ndim == 2:
        raise ValueError(
            f"{name} must be a list of diagrams, got a single array of shape {dgms.shape}; "
            "wrap it in a list"
        )
    out = []
    for i, dgm in enumerate(dgms):
        arr = as_diagram(dgm, f"{name}[{i}]")
        if infinite == "strip":
            arr = finite_part(arr, infinite="strip")
        else:
            check_finite(arr, f"{name}[{i}]")
        out.append(arr)
    return out


# ---------------------------------------------------------------------------
# persim 0.4.1's directions and projections
# ---------------------------------------------------------------------------


def check_M(M: Any) -> int:
    """Return the number of directions ``M`` as an int; ValueError unless a positive integer."""
    if isinstance(M, bool) or not isinstance(M, int | np.integer) or M < 1:
        raise ValueError(f"M (number of directions) must be a positive integer, got {M!r}")
    return int(M)


@functools.lru_cache(maxsize=16)
def persim_directions(M: int) -> np.ndarray:
    """The M unit directions persim uses, as float64 values of float32 vectors.

    persim starts at ``theta = 0.5`` and adds ``1.0 / M`` by repeated floating-point
    addition; each direction ``(cos(pi*theta), sin(pi*theta))`` is rounded to
    float32.

    Parameters
    ----------
    M : int
        Number of directions (validated, >= 1).

    Returns
    -------
    np.ndarray, shape (M, 2), float64
        Read-only (the array is cached).
    """
    thetas = np.empty(M, dtype=np.float64)
    theta = 0.5
    step = 1.0 / M
    for i in range(M):
        thetas[i] = theta
        theta += step
    dirs = np.stack([np.cos(thetas * np.pi), np.sin(thetas * np.pi)], axis=1)
    dirs = dirs.astype(np.float32).astype(np.float64)
    dirs.setflags(write=False)
    return dirs


def project_on_diagonal(dgm: np.ndarray) -> np.ndarray:
    """persim's diagonal coordinate ``t`` of every point (its projection is ``(t, t)``).

    ``l = c*b + s*d`` with ``(c, s)`` the float32-rounded ``(cos(pi/4), sin(pi/4))``,
    then ``t = sqrt(l**2 / 2)``: this is ``|b + d| / 2`` up to a relative 1.7e-8, and
    loses the sign of ``b + d`` as persim does (harmless for Rips diagrams, b >= 0).

    Parameters
    ----------
    dgm : np.ndarray, shape (n, 2), float64

    Returns
    -------
    np.ndarray, shape (n,), float64
    """
    ell = _DIAG_COS * dgm[:, 0] + _DIAG_SIN * dgm[:, 1]
    return np.sqrt(ell**2 / 2.0)


def project_into(
    out: np.ndarray,
    cos: np.ndarray,
    sin: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    tmp: np.ndarray,
) -> None:
    """Write ``cos*x + sin*y`` into ``out``, using ``tmp`` as scratch.

    Evaluated as two float64 products and one sum, the same operations as persim's
    ``np.dot(l_theta, point)`` for 2-vectors.

    Parameters
    ----------
    out, tmp : np.ndarray, shape (r, n), float64
        Result and scratch buffer.
    cos, sin : np.ndarray, shape (r, 1), float64
        Direction components, one row per direction.
    x, y : np.ndarray, shape (n,), float64
        Point coordinates.
    """
    np.multiply(cos, x, out=out)
    np.multiply(sin, y, out=tmp)
    out += tmp


# ---------------------------------------------------------------------------
# workers
# ---------------------------------------------------------------------------


def resolve_n_jobs(n_jobs: Any, name: str = "n_jobs") -> int:
    """Number of workers: None or 1 -> 1 (serial), k > 1 -> k, -1 -> all usable CPUs.

    Raises
    ------
    ValueError
        For any other value (the message names the parameter ``name``).
    """
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer):
        raise ValueError(f"{name} must be None, a positive integer or -1, got {n_jobs!r}")
    n_jobs = int(n_jobs)
    if n_jobs == -1:
        if hasattr(os, "sched_getaffinity"):
            return max(1, len(os.sched_getaffinity(0)))
        return os.cpu_count() or 1
    if n_jobs < 1:
        raise ValueError(
            f"{name} must be None or 1 (serial), a positive integer or -1 (all CPUs), got {n_jobs}"
        )
    return n_jobs


def run_parallel(
    fn: Callable[..., None],
    items: Sequence[tuple],
    n_workers: int,
    on_done: Callable[[int], None] | None = None,
) -> None:
    """Call ``fn(*item)`` for every item, serially or on a pool of ``n_workers`` threads.

    Threads suffice because the heavy work releases the GIL (numba ``nogil``
    kernels, GUDHI's C++ distances). The pool hands out items as workers become
    free, which balances uneven items. The first exception is re-raised.

    Parameters
    ----------
    fn : callable
        Called as ``fn(*item)``; its return value is ignored.
    items : sequence of tuple
        The work items.
    n_workers : int
        Worker threads (a resolved count, >= 1).
    on_done : callable, optional
        Called in the calling thread with the index of each finished item, in the
        order the items finish (for progress reports).
    """
    if n_workers == 1 or len(items) <= 1:
        for k, item in enumerate(items):
            fn(*item)
            if on_done is not None:
                on_done(k)
        return
    with ThreadPoolExecutor(max_workers=min(n_workers, len(items))) as pool:
        futures = {pool.submit(fn, *item): k for k, item in enumerate(items)}
        try:
            for future in as_completed(futures):
                future.result()
                if on_done is not None:
                    on_done(futures[future])
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def pair_counter(
    weights: Sequence[int], progress: Callable[[int, int], None] | None
) -> Callable[[int], None] | None:
    """An ``on_done`` for :func:`run_parallel` that reports pairs done to ``progress``.

    Parameters
    ----------
    weights : sequence of int
        Pairs computed by each work item.
    progress : callable or None
        Called as ``progress(pairs_done, pairs_total)`` after each item that computed
        at least one pair; None gives None.

    Returns
    -------
    callable or None
    """
    if progress is None:
        return None
    total = int(sum(weights))
    done = 0

    def on_done(k: int) -> None:
        nonlocal done
        if weights[k] > 0:  # items without pairs report nothing
            done += int(weights[k])
            progress(done, total)

    return on_done
