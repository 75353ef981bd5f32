"""Vietoris--Rips persistence diagrams of point clouds, with two interchangeable backends.

The paper calls ``ripser.ripser(pointcloud)`` with all defaults on a float32 point
cloud: Euclidean metric, ``maxdim=1``, ``thresh=inf``, coefficients in Z/2, no
greedy subsampling. :func:`diagrams` makes every one of those choices explicit and
can run either Ripser.py [1]_ (an interface to Bauer's Ripser [2]_) or giotto-ph
[3]_, which gives the same diagrams on float32 points and is 2--2.5x faster on one
thread (docs/performance.md §1).

Library defaults that differ and are therefore always passed explicitly:

- coefficient field: Ripser.py and giotto-ph use Z/2, GUDHI uses Z/11;
- ``thresh=inf`` (full filtration, so H1 has no infinite bars and H0 has exactly
  one essential bar ``[0, inf)``, which is kept, as Ripser.py does);
- ``n_perm=None`` (Ripser.py only): no greedy subsampling, which changes diagrams;
- ``collapse_edges=False`` (giotto-ph only): slower for ``maxdim=1`` on dense clouds.

References
----------
.. [1] Tralie, C.; Saul, N.; Bar-On, R. 2018. Ripser.py: A Lean Persistent
   Homology Library for Python. Journal of Open Source Software 3(29): 925.
.. [2] Bauer, U. 2021. Ripser: efficient computation of Vietoris--Rips persistence
   barcodes. Journal of Applied and Computational Topology 5: 391--423.
.. [3] Pérez, J. B.; Hauke, S.; Lupo, U.; Caorsi, M.; Dassatti, A. 2021. giotto-ph:
   A Python Library for High-Performance Computation of Persistent Homology of
   Vietoris--Rips Filtrations. arXiv:2107.05412.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from cnntopo.artifacts import read_npz, write_npz

__all__ = [
    "BACKENDS",
    "diagrams",
    "distance_matrix_diagrams",
    "save_diagrams",
    "load_diagrams",
    "load_diagram_dim",
    "load_finite_diagrams",
]

BACKENDS: tuple[str, ...] = ("ripser", "giotto")

_DGM_KEY = re.compile(r"^H(\d+)$")


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % k for k in range(2, int(n**0.5) + 1))


def _as_point_cloud(points: Any) -> np.ndarray:
    """Validate a point cloud and return it as a C-contiguous float32 array.

    float32 is what the paper fed to Ripser (a float32 torch tensor); both backends
    then build the same float32 distance matrix and return identical diagrams.
    """
    X = np.asarray(points)
    if X.ndim != 2:
        raise ValueError(
            f"points must be a 2-D array of shape (n_points, n_features), got shape {X.shape}; "
            "reshape a single point cloud to (n, d)"
        )
    if X.shape[0] < 2:
        raise ValueError(
            f"points has {X.shape[0]} point(s); Vietoris-Rips persistence needs at least 2"
        )
    if X.shape[1] < 1:
        raise ValueError("points has zero features (shape (n, 0)); pass at least one coordinate")
    if not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise ValueError(f"points must be real numbers, got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if not np.all(np.isfinite(X)):
        n_bad = int(np.count_nonzero(~np.all(np.isfinite(X), axis=1)))
        raise ValueError(
            f"points contains {n_bad} row(s) with NaN or infinite values (after conversion "
            "to float32, so values beyond ~3.4e38 overflow); remove or repair them first"
        )
    return X


def _validate_options(maxdim: int, backend: str, coeff: int, n_threads: int) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    if isinstance(maxdim, bool) or not isinstance(maxdim, int | np.integer) or maxdim < 0:
        raise ValueError(f"maxdim must be an integer >= 0, got {maxdim!r} (the paper uses 1)")
    if isinstance(coeff, bool) or not isinstance(coeff, int | np.integer) or not _is_prime(coeff):
        raise ValueError(
            f"coeff must be a prime number (homology over Z/p), got {coeff!r}; "
            "the paper uses coeff=2"
        )
    if (
        isinstance(n_threads, bool)
        or not isinstance(n_threads, int | np.integer)
        or (n_threads < 1 and n_threads != -1)
    ):
        raise ValueError(
            f"n_threads must be a positive integer or -1 (all cores), got {n_threads!r}"
        )


def diagrams(
    points: np.ndarray,
    maxdim: int = 1,
    backend: str = "ripser",
    coeff: int = 2,
    n_threads: int = 1,
) -> list[np.ndarray]:
    """Vietoris--Rips persistence diagrams of a Euclidean point cloud.

    Parameters
    ----------
    points : array_like, shape (n_points, n_features)
        The point cloud, e.g. the ``(1000, c)`` top-l2 cloud of one layer. It is
        converted to float32, as in the paper (see Notes).
    maxdim : int, default 1
        Largest homology dimension computed; dimensions ``0..maxdim`` are returned.
    backend : {"ripser", "giotto"}, default "ripser"
        ``"ripser"`` calls ``ripser.ripser(X, maxdim=maxdim, thresh=inf, coeff=coeff,
        distance_matrix=False, do_cocycles=False, metric="euclidean", n_perm=None)``; ``"giotto"`` calls
        ``gph.ripser_parallel(X, maxdim=maxdim, thresh=inf, coeff=coeff,
        metric="euclidean", collapse_edges=False, n_threads=n_threads)``.
    coeff : int, default 2
        Prime p of the coefficient field Z/p (GUDHI would default to 11).
    n_threads : int, default 1
        Threads for the giotto backend (-1: all cores); ignored by ``"ripser"``.
        Two single-threaded jobs use two cores better than one two-threaded job.

    Returns
    -------
    list of np.ndarray
        ``maxdim + 1`` arrays, entry ``k`` of shape ``(n_k, 2)`` and dtype float64
        holding the (birth, death) pairs of H_k, in the order the backend returns
        them. As in ``ripser.ripser(...)["dgms"]``, H0 contains the essential bar
        ``[0, inf)``; strip it (:func:`cnntopo.ph.diagram_ops.finite_part`) before
        computing diagram distances.

    Raises
    ------
    ValueError
        If ``points`` is not a 2-D finite real array with at least 2 points, the
        backend is unknown, ``maxdim < 0``, ``coeff`` is not prime, or ``n_threads``
        is neither positive nor -1.

    Notes
    -----
    Both backends compute Euclidean distances from float32 points and reduce in
    float32, so on float32 input they return the same multiset of pairs (verified
    in the tests). Feeding float64 points would make Ripser.py compute float64
    distances and round them, which moves bars by ~1e-7 relative; the cast keeps
    the paper's behaviour and the backends interchangeable.

    References
    ----------
    .. [1] Bauer, U. 2021. Ripser: efficient computation of Vietoris--Rips
       persistence barcodes. J. Appl. Comput. Topol. 5: 391--423.
    .. [2] Pérez, J. B. et al. 2021. giotto-ph: A Python Library for
       High-Performance Computation of Persistent Homology of Vietoris--Rips
       Filtrations. arXiv:2107.05412.

    Examples
    --------
    Sixty points on the unit circle: H0 has one essential bar, H1 one long bar,
    born when neighbours connect and dying when the disc fills in (at sqrt(3)).

    >>> import numpy as np
    >>> from cnntopo.persistence import diagrams
    >>> t = np.linspace(0.0, 2.0 * np.pi, 60, endpoint=False)
    >>> h0, h1 = diagrams(np.stack([np.cos(t), np.sin(t)], axis=1))
    >>> h0.shape, int(np.isinf(h0[:, 1]).sum())
    ((60, 2), 1)
    >>> h1.round(4)
    array([[0.1047, 1.7321]])
    """
    _validate_options(maxdim, backend, coeff, n_threads)
    X = _as_point_cloud(points)
    return _rips_diagrams(X, False, maxdim, backend, coeff, n_threads)


def _as_distance_matrix(distances: Any) -> np.ndarray:
    """Validate a distance matrix and return it as a C-contiguous float64 array."""
    D = np.asarray(distances)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"distances must be a square (n, n) matrix, got shape {D.shape}")
    if D.shape[0] < 2:
        raise ValueError(
            f"distances has {D.shape[0]} point(s); Vietoris-Rips persistence needs at least 2"
        )
    if not np.issubdtype(D.dtype, np.number) or np.iscomplexobj(D):
        raise ValueError(f"distances must be real numbers, got dtype {D.dtype}")
    D = np.ascontiguousarray(D, dtype=np.float64)
    if not np.all(np.isfinite(D)):
        raise ValueError("distances contains NaN or infinite values")
    if np.any(D < 0):
        raise ValueError(f"distances must be >= 0, got a minimum of {D.min()}")
    if np.any(np.diagonal(D) != 0):
        raise ValueError(
            "distances must have a zero diagonal (every point is born at 0, as for a point cloud)"
        )
    if not np.array_equal(D, D.T):
        raise ValueError(
            f"distances must be exactly symmetric; the largest asymmetry is {np.abs(D - D.T).max()}"
        )
    return D


def _rips_diagrams(
    X: np.ndarray, precomputed: bool, maxdim: int, backend: str, coeff: int, n_threads: int
) -> list[np.ndarray]:
    """Vietoris-Rips diagrams of points (n, d) or of a distance matrix (n, n), by backend.

    Every option that differs between the libraries is explicit: the full filtration
    (``thresh=inf``), no cocycles, no landmark subsampling, no edge collapse.
    """
    if backend == "ripser":
        from ripser import ripser

        with warnings.catch_warnings():
            # ripser warns whenever n_points == n_features; a point cloud is meant here
            warnings.filterwarnings("ignore", message="The input matrix is square")
            result = ripser(
                X,
                maxdim=int(maxdim),
                thresh=np.inf,
                coeff=int(coeff),
                distance_matrix=precomputed,
                do_cocycles=False,
                metric="euclidean",
                n_perm=None,
            )
    else:
        from gph import ripser_parallel

        result = ripser_parallel(
            X,
            maxdim=int(maxdim),
            thresh=np.inf,
            coeff=int(coeff),
            metric="precomputed" if precomputed else "euclidean",
            collapse_edges=False,
            n_threads=int(n_threads),
        )
    return [np.asarray(d, dtype=np.float64).reshape(-1, 2) for d in result["dgms"]]


def distance_matrix_diagrams(
    distances: Any,
    maxdim: int = 1,
    backend: str = "ripser",
    coeff: int = 2,
    n_threads: int = 1,
) -> list[np.ndarray]:
    """Vietoris--Rips persistence diagrams of a finite metric space given by its distances.

    The diagrams of the ``flat`` and ``pool`` representations, whose distances come
    from a stored Gram matrix or features
    (:func:`cnntopo.ph.representations.representation_distances`) rather than from a
    point cloud. Every option is that of :func:`diagrams`.

    Parameters
    ----------
    distances : array_like, shape (n_points, n_points)
        Pairwise distances: finite, non-negative, zero diagonal, exactly symmetric
        (float64; both backends reduce in float32, see Notes).
    maxdim : int, default 1
        Largest homology dimension computed; dimensions ``0..maxdim`` are returned.
    backend : {"ripser", "giotto"}, default "ripser"
        ``"ripser"`` calls ``ripser.ripser(D, maxdim=maxdim, thresh=inf, coeff=coeff,
        distance_matrix=True, do_cocycles=False, n_perm=None)``; ``"giotto"`` calls
        ``gph.ripser_parallel(D, maxdim=maxdim, thresh=inf, coeff=coeff,
        metric="precomputed", collapse_edges=False, n_threads=n_threads)``.
    coeff : int, default 2
        Prime p of the coefficient field Z/p.
    n_threads : int, default 1
        Threads for the giotto backend (-1: all cores); ignored by ``"ripser"``.

    Returns
    -------
    list of np.ndarray
        ``maxdim + 1`` arrays, entry ``k`` of shape ``(n_k, 2)``, float64: the
        (birth, death) pairs of H_k, H0 with its essential bar ``[0, inf)`` (the
        full filtration, ``thresh=inf``), exactly as :func:`diagrams` returns them.

    Raises
    ------
    ValueError
        If ``distances`` is not a valid distance matrix of at least 2 points, or an
        option is invalid (see :func:`diagrams`).

    Notes
    -----
    Both backends round the distances to float32 and reduce in float32, so they
    return the same pairs (checked in the tests), and the diagrams of a point cloud
    computed from its float64 distances agree with :func:`diagrams` of the points
    to float32 rounding (relative ~1e-7 of the distances).

    References
    ----------
    .. [1] Bauer, U. 2021. Ripser: efficient computation of Vietoris--Rips
       persistence barcodes. J. Appl. Comput. Topol. 5: 391--423.

    Examples
    --------
    The four corners of a unit square: one loop, born at 1 (the sides) and dying at
    sqrt(2) (the diagonals).

    >>> import numpy as np
    >>> sq = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    >>> D = np.sqrt(((sq[:, None] - sq[None]) ** 2).sum(-1))
    >>> distance_matrix_diagrams(D)[1].round(4)
    array([[1.    , 1.4142]])
    """
    _validate_options(maxdim, backend, coeff, n_threads)
    D = _as_distance_matrix(distances)
    return _rips_diagrams(D, True, maxdim, backend, coeff, n_threads)


def save_diagrams(path: str | os.PathLike, dgms: list[np.ndarray], meta: dict) -> None:
    """Write persistence diagrams and their metadata to one ``.npz`` file, atomically.

    Parameters
    ----------
    path : path-like
        Destination, conventionally ending in ``.npz``.
    dgms : list of np.ndarray
        Diagram ``k`` (shape ``(n_k, 2)``) is stored under the key ``"H{k}"``.
    meta : dict
        JSON-serialisable metadata (layer, backend, coeff, ...), stored as a JSON
        string under the key ``"meta"``.

    Raises
    ------
    ValueError
        If a diagram is not of shape ``(n, 2)``.
    TypeError
        If ``meta`` is not a dict or not JSON-serialisable.
    """
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    arrays: dict[str, np.ndarray] = {}
    for k, dgm in enumerate(dgms):
        arr = np.asarray(dgm, dtype=np.float64)
        if arr.size == 0:
            arr = arr.reshape(0, 2)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(
                f"diagram H{k} must have shape (n, 2) of (birth, death) pairs, got {arr.shape}"
            )
        arrays[f"H{k}"] = arr
    meta_json = json.dumps(meta, sort_keys=False)
    write_npz(path, meta=np.array(meta_json), **arrays)


def load_diagrams(path: str | os.PathLike) -> tuple[list[np.ndarray], dict]:
    """Read diagrams written by :func:`save_diagrams`.

    Parameters
    ----------
    path : path-like
        An ``.npz`` file with keys ``H0``, ``H1``, ... and ``meta``.

    Returns
    -------
    dgms : list of np.ndarray
        Diagrams ordered by homology dimension, each of shape ``(n_k, 2)``, float64.
    meta : dict
        The decoded metadata.

    Raises
    ------
    cnntopo.artifacts.MissingArtifactError
        If the file does not exist.
    cnntopo.artifacts.CorruptArtifactError
        If it is truncated, not an ``.npz`` archive or lacks ``meta`` (a ValueError).
    ValueError
        If its ``H{k}`` keys are not ``H0..H{maxdim}``.
    """
    arrays, meta = read_npz(path, required=["meta"])
    dims = sorted(int(m.group(1)) for key in arrays if (m := _DGM_KEY.match(key)))
    if dims != list(range(len(dims))):
        raise ValueError(
            f"{os.fspath(path)!r} holds diagrams {[f'H{d}' for d in dims]}, expected "
            "consecutive H0, H1, ...; rewrite it with save_diagrams"
        )
    dgms = [np.asarray(arrays[f"H{d}"], dtype=np.float64) for d in dims]
    return dgms, meta


def load_diagram_dim(path: str | os.PathLike, dim: int) -> np.ndarray:
    """The H``dim`` diagram of a file of :func:`save_diagrams`.

    Parameters
    ----------
    path : path-like
    dim : int
        Homology dimension.

    Returns
    -------
    np.ndarray, shape (n_bars, 2), float64

    Raises
    ------
    ValueError
        If the file holds diagrams only below H``dim`` (recompute them with a larger
        ``persistence.maxdim``).
    """
    dgms, _ = load_diagrams(path)
    if dim >= len(dgms):
        raise ValueError(
            f"{os.fspath(path)} has diagrams up to H{len(dgms) - 1}; H{dim} was requested "
            "(raise persistence.maxdim)"
        )
    return dgms[dim]


def load_finite_diagrams(
    diagram_files: Sequence[str | os.PathLike], dim: int, infinite: str
) -> list[np.ndarray]:
    """The H``dim`` diagrams of several files, their infinite bars stripped or refused.

    Parameters
    ----------
    diagram_files : sequence of path-like
        Diagram files of :func:`save_diagrams`.
    dim : int
        Homology dimension (``distances.dim``).
    infinite : {"strip", "error"}
        What to do with infinite bars (``distances.infinite``;
        :func:`cnntopo.ph.distances.finite_part`).

    Returns
    -------
    list of np.ndarray, each (n_bars, 2)
    """
    from cnntopo.ph.distances import finite_part

    return [finite_part(load_diagram_dim(f, dim), infinite=infinite) for f in diagram_files]
