"""All pairs of representations: by measure name, from features, Gram matrices or blocks."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from cnntopo.artifacts import read_array
from cnntopo.ph.similarity.base import (
    check_debiased_n,
    check_same_rows,
    column_centred,
    gram_list,
    gram_sequences,
    pair_matrix,
    prepare_clouds,
    prepare_each,
)
from cnntopo.ph.similarity.cca import (
    basis_correlations,
    check_keep,
    check_statistic,
    column_basis,
    correlation_summary,
    gram_basis,
    pwcca_pair,
)
from cnntopo.ph.similarity.cka import cka_value, normalised_gram
from cnntopo.ph.similarity.grams import gram_spectrum, rbf_from_linear_gram
from cnntopo.ph.similarity.registry import MEASURES, Measure, is_user_spec, resolve

__all__ = [
    "measure_matrix",
    "measure_matrix_from_grams",
    "blocked_matrix_from_grams",
    "Rep",
    "RepBlocks",
    "Comparison",
    "ROUTES",
    "route",
    "compare",
]


def _check_measure(name: str, need_grams: bool = False) -> Measure:
    measure = resolve(name)
    if need_grams and measure.from_grams is None:
        with_grams = sorted(n for n, m in MEASURES.items() if m.from_grams is not None)
        raise ValueError(
            f"measure {name!r} needs the features (no Gram form); Gram forms exist for {with_grams}"
        )
    return measure


def measure_matrix(
    name: str,
    reps: Sequence[Any],
    others: Sequence[Any] | None = None,
    *,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    notes: dict | None = None,
    **params: Any,
) -> np.ndarray:
    """One measure between every pair of representations (feature form).

    Parameters
    ----------
    name : str
        A key of :data:`MEASURES`.
    reps : sequence of array_like, each shape (n, p_i)
        K1 representations of the same ``n`` images.
    others : sequence of array_like, each shape (n, q_j), optional
        K2 further representations; if None, the matrix within ``reps``.
    n_jobs : int, default 1
        Threads over the rows of the matrix (the values do not depend on it).
    progress : callable, optional
        Called as ``progress(pairs_done, pairs_total)`` after every row of the matrix
        (e.g. to log an ETA with :class:`cnntopo.progress.Progress`).
    notes : dict, optional
        If given, representations on which the measure is undefined
        (:class:`~cnntopo.ph.similarity.base.UndefinedMeasureError`: constant, too few
        images, trivial CCA, ...) give NaN rows / columns instead of an error, with
        ``notes[i]`` their reason (``i`` counts the first sequence, then ``others``);
        an undefined pair gives NaN and ``notes[(i, j)]``.
    **params
        Passed to the measure (e.g. ``sigma_frac`` for ``"cka_rbf"``, ``keep`` for
        ``"svcca"``).

    Returns
    -------
    np.ndarray, shape (K1, K1) or (K1, K2), float64
        ``M[i, j] = MEASURES[name].function(reps[i], others[j], **params)``. Without
        ``others`` the upper triangle is computed and mirrored (every measure but
        PWCCA on inputs of equal rank is symmetric; PWCCA then takes ``reps[i]``'s
        weights for ``i < j``), with 1 (similarity) or 0 (distance) on the diagonal.

    Raises
    ------
    TypeError, ValueError
        As :func:`cka_matrix`, or an unknown ``name``.
    """
    measure = _check_measure(name)
    xs = prepare_clouds(reps, "reps")
    ys = None if others is None else prepare_clouds(others, "others")
    names = [f"reps[{i}]" for i in range(len(xs))]
    other_names = [f"others[{j}]" for j in range(len(ys or []))]
    check_same_rows(xs + (ys or []), names + other_names)
    diagonal = 1.0 if measure.kind == "similarity" else 0.0
    if name == "pwcca" and not params:  # prepare each side once: basis and centred neurons

        def prep(a: np.ndarray, nm: str) -> tuple[np.ndarray, np.ndarray]:
            return column_basis(a, nm, check=True), column_centred(a)

        px = prepare_each(prep, xs, names, notes)
        py = None if ys is None else prepare_each(prep, ys, other_names, notes, len(xs))
        return pair_matrix(
            px, py, pwcca_pair, diagonal, n_jobs=n_jobs, progress=progress, notes=notes
        )
    return pair_matrix(
        xs,
        ys,
        lambda a, b: measure.function(a, b, **params),
        diagonal,
        n_jobs=n_jobs,
        progress=progress,
        notes=notes,
    )


def gram_preparation(
    name: str, params: dict[str, Any]
) -> tuple[Callable[[np.ndarray, str], Any], Callable[[Any, Any], float]]:
    """Per-Gram preparation and per-pair evaluation of a measure's Gram form."""
    from cnntopo.ph.similarity.prepared import GRAM_PREPARATIONS

    if name in GRAM_PREPARATIONS:  # the neighbourhood and topology measures
        return GRAM_PREPARATIONS[name](params)
    if name in ("cka_linear", "cka_debiased"):
        if params:
            raise TypeError(f"{name} takes no parameters, got {sorted(params)}")
        debiased = name == "cka_debiased"

        def prep_cka(K: np.ndarray, nm: str) -> np.ndarray:
            if debiased:
                check_debiased_n(K.shape[0])
            return normalised_gram(K, nm, debiased)

        return prep_cka, lambda a, b: cka_value(a, b, debiased)
    if name == "cka_rbf":
        sigma_frac = params.pop("sigma_frac", 0.4)
        debiased = bool(params.pop("debiased", False))
        include_self = bool(params.pop("include_self", False))
        if params:
            raise TypeError(f"unexpected parameters for cka_rbf: {sorted(params)}")

        def prep_rbf(K: np.ndarray, nm: str) -> np.ndarray:
            if debiased:
                check_debiased_n(K.shape[0])
            R = rbf_from_linear_gram(K, sigma_frac, include_self=include_self)
            return normalised_gram(R, nm, debiased)

        return prep_rbf, lambda a, b: cka_value(a, b, debiased)
    if name == "procrustes":
        if params:
            raise TypeError(f"procrustes takes no parameters, got {sorted(params)}")

        def prep_procrustes(K: np.ndarray, nm: str) -> np.ndarray:
            lam, U = gram_spectrum(K, nm)
            return U * np.sqrt(lam / lam.sum())  # factor of the unit-trace centred Gram

        def pair_procrustes(F: np.ndarray, G: np.ndarray) -> float:
            nuclear = float(np.linalg.svd(F.T @ G, compute_uv=False).sum())
            return float(min(max(2.0 - 2.0 * nuclear, 0.0), 2.0))

        return prep_procrustes, pair_procrustes
    if name not in ("cca", "svcca"):
        raise ValueError(f"measure {name!r} has no Gram form here; register its preparation")
    statistic = check_statistic(params.pop("statistic", "rho"))
    keep = check_keep(params.pop("keep", 0.99)) if name == "svcca" else None
    if params:
        raise TypeError(f"unexpected parameters for {name}: {sorted(params)}")
    return (
        lambda K, nm: gram_basis(K, nm, keep, check=True),
        lambda a, b: correlation_summary(basis_correlations(a, b), statistic),
    )


def measure_matrix_from_grams(
    name: str,
    grams: Sequence[Any],
    others: Sequence[Any] | None = None,
    *,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    notes: dict | None = None,
    **params: Any,
) -> np.ndarray:
    """One measure between every pair of representations, from their linear Gram matrices.

    Each Gram matrix is prepared once (centred and normalised for CKA, RBF kernel
    for ``"cka_rbf"``, eigendecomposition for Procrustes, CCA and SVCCA); each pair
    then costs an ``n^2`` inner product (CKA) or at most an ``n x n`` product and
    SVD (Procrustes, CCA, SVCCA). The values equal
    ``MEASURES[name].from_grams(grams[i], others[j], **params)`` and the feature
    forms on the underlying representations.

    Parameters
    ----------
    name : str
        A key of :data:`MEASURES` with a Gram form (all but ``"pwcca"``).
    grams : sequence of array_like, each shape (n, n)
        K1 *linear* Gram matrices ``X_i X_i^T`` (centred or not) of the same ``n``
        images, e.g. from :func:`cnntopo.ph.representations.centred_gram`.
    others : sequence of array_like, each shape (n, n), optional
        K2 further linear Gram matrices; if None, the matrix within ``grams``.
    n_jobs : int, default 1
        Threads over the rows of the matrix (the values do not depend on it).
    progress : callable, optional
        Called as ``progress(pairs_done, pairs_total)`` after every row of the matrix.
    notes : dict, optional
        If given, representations on which the measure is undefined
        (:class:`~cnntopo.ph.similarity.base.UndefinedMeasureError`: constant, too few
        images, trivial CCA, ...) give NaN rows / columns instead of an error, with
        ``notes[i]`` their reason (``i`` counts the first sequence, then ``others``);
        an undefined pair gives NaN and ``notes[(i, j)]``.
    **params
        The measure's parameters: ``sigma_frac``, ``debiased``, ``include_self``
        (``"cka_rbf"``); ``statistic`` (``"cca"``, ``"svcca"``); ``keep``
        (``"svcca"``).

    Returns
    -------
    np.ndarray, shape (K1, K1) or (K1, K2), float64
        Without ``others`` symmetric with 1 (similarity) or 0 (distance) on the
        diagonal.

    Raises
    ------
    TypeError
        If a sequence is a single 2-D array, or on unexpected parameters.
    ValueError
        If ``name`` is unknown or has no Gram form, a matrix is invalid or
        degenerate, or the sizes differ.
    """
    measure = _check_measure(name, need_grams=True)
    prepare, pair = gram_preparation(name, dict(params))

    xs, ys = gram_sequences(grams, others)
    px = prepare_each(prepare, xs, [f"grams[{i}]" for i in range(len(xs))], notes)
    py = None
    if ys is not None:
        py = prepare_each(prepare, ys, [f"others[{j}]" for j in range(len(ys))], notes, len(xs))
    diagonal = 1.0 if measure.kind == "similarity" else 0.0
    return pair_matrix(px, py, pair, diagonal, n_jobs=n_jobs, progress=progress, notes=notes)


def blocked_matrix_from_grams(
    name: str,
    load_block: Callable[[int], Sequence[Any]],
    n_blocks: int,
    scratch: str | os.PathLike,
    *,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    notes: dict | None = None,
    **params: Any,
) -> np.ndarray:
    """:func:`measure_matrix_from_grams` over blocks of representations, in bounded memory.

    The representations come in ``n_blocks`` blocks (e.g. the layers of a few models).
    Each block is loaded once and prepared once (the measure's per-representation work,
    an eigendecomposition for Procrustes, CCA and SVCCA); the prepared forms are saved
    in ``scratch``. Then every pair of blocks ``(a, b)``, ``a <= b``, is read back and
    its entries computed. At most two blocks' prepared forms (and one block's Gram
    matrices while it is prepared) are in memory, plus the result; the prepared forms
    are read ``n_blocks`` times each in all.

    Parameters
    ----------
    name : str
        A key of :data:`MEASURES` with a Gram form.
    load_block : callable
        ``load_block(b)`` returns the linear Gram matrices (n, n) of block ``b``.
    n_blocks : int
        Blocks, >= 1; block ``b``'s representations are rows ``offset_b ...`` of the
        result, in order.
    scratch : path-like
        An existing folder for the prepared forms (``prepared_<b>_<i>.npy``, deleted
        at the end).
    n_jobs : int, default 1
        Threads over the rows of each block pair.
    progress : callable, optional
        ``progress(pairs_done, pairs_total)`` over the whole matrix.
    notes : dict, optional
        If given, representations on which the measure is undefined
        (:class:`~cnntopo.ph.similarity.base.UndefinedMeasureError`: constant, too few
        images, trivial CCA, ...) give NaN rows / columns instead of an error, with
        ``notes[i]`` their reason (``i`` counts the first sequence, then ``others``);
        an undefined pair gives NaN and ``notes[(i, j)]``.
    **params
        The measure's parameters (as :func:`measure_matrix_from_grams`).

    Returns
    -------
    np.ndarray, shape (K, K), float64
        Equal to ``measure_matrix_from_grams(name, all_grams, **params)``.
    """
    from pathlib import Path

    measure = _check_measure(name, need_grams=True)
    if isinstance(n_blocks, bool) or int(n_blocks) < 1:
        raise ValueError(f"n_blocks must be a positive integer, got {n_blocks!r}")
    prepare, pair = gram_preparation(name, dict(params))
    folder = Path(scratch)
    files: list[list[Path | None]] = []
    n = None
    first = 0
    for b in range(int(n_blocks)):
        grams = gram_list(load_block(b), f"block {b}")
        if n is None:
            n = grams[0].shape[0]
        if any(K.shape[0] != n for K in grams):
            raise ValueError(f"block {b} holds Gram matrices of another number of images than {n}")
        files.append([])
        names = [f"block {b}[{i}]" for i in range(len(grams))]
        for i, (K, nm) in enumerate(zip(grams, names, strict=True)):
            prepared = prepare_each(prepare, [K], [nm], notes, first + i)[0]
            if prepared is None:  # undefined: NaN row and column
                files[b].append(None)
                continue
            files[b].append(folder / f"prepared_{b}_{i}.npy")
            np.save(files[b][-1], prepared)
        first += len(grams)
        del grams
    sizes = [len(f) for f in files]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    K = int(offsets[-1])
    total = K * (K - 1) // 2
    M = np.empty((K, K), dtype=np.float64)
    done = 0

    def block_progress(d: int, _t: int) -> None:
        if progress is not None:
            progress(done + d, total)

    diagonal = 1.0 if measure.kind == "similarity" else 0.0
    try:
        for a in range(len(files)):
            pa = [None if f is None else read_array(f) for f in files[a]]
            for b in range(a, len(files)):
                pb = None if b == a else [None if f is None else read_array(f) for f in files[b]]
                local: dict | None = None if notes is None else {}
                block = pair_matrix(
                    pa, pb, pair, diagonal, n_jobs=n_jobs, progress=block_progress, notes=local
                )
                for (i, j), reason in (local or {}).items():
                    j = j - sizes[a] if b != a else j
                    notes[(int(offsets[a]) + i, int(offsets[b]) + j)] = reason
                ra, rb = slice(offsets[a], offsets[a + 1]), slice(offsets[b], offsets[b + 1])
                M[ra, rb] = block
                M[rb, ra] = block.T
                done += sizes[a] * (sizes[a] - 1) // 2 if b == a else sizes[a] * sizes[b]
    finally:
        for f in (f for block_files in files for f in block_files if f is not None):
            f.unlink(missing_ok=True)
    return M


# ---------------------------------------------------------------------------
# the router: how each measure is computed on stored representations
# ---------------------------------------------------------------------------

#: One layer's stored representation: ``(gram, features)``, ``gram`` of shape (N, N)
#: or None, ``features`` of shape (N, p) or None (at least one of them given), as
#: :func:`cnntopo.ph.representations.load_representation` reads it.
Rep = tuple[np.ndarray | None, np.ndarray | None]

#: What :func:`route` may answer.
ROUTES = ("cka_features", "grams", "features", "principal_coordinates")


class RepBlocks(NamedTuple):
    """Representations that come in blocks (e.g. one block per few models' files).

    Attributes
    ----------
    load : callable
        ``load(b)`` returns block ``b``'s representations, a sequence of :data:`Rep`.
    n_blocks : int
        Number of blocks (>= 1); the representations are the blocks' in order.
    narrow : bool, optional
        Whether every representation has its features stored (decides the
        :func:`route`); None = look at block 0.
    """

    load: Callable[[int], Sequence[Rep]]
    n_blocks: int
    narrow: bool | None = None


class Comparison(NamedTuple):
    """Result of :func:`compare`.

    Attributes
    ----------
    matrix : np.ndarray, shape (K1, K1) or (K1, K2), float64
        The measure between every pair; NaN where it is undefined.
    notes : dict
        Why entries are NaN: ``notes[i]`` (int) for an undefined representation
        (``i`` counts ``reps`` then ``others``: its whole row / column is NaN),
        ``notes[(i, j)]`` for an undefined pair. Empty when every entry is defined.
    kind : {"similarity", "distance"}
        The measure's convention.
    route : str
        How it was computed (one of :data:`ROUTES`, see :func:`route`).
    """

    matrix: np.ndarray
    notes: dict
    kind: str
    route: str


def route(name: str, narrow: bool) -> str:
    """How a measure is computed on stored representations: the one routing rule.

    Parameters
    ----------
    name : str
        A built-in measure or a user measure spec (:func:`resolve`).
    narrow : bool
        Whether every representation has its features stored (``topl2``, ``pool``;
        ``flat`` keeps only the Gram matrices).

    Returns
    -------
    str
        ``"cka_features"``: linear CKA on narrow features (no ``N x N`` matrices);
        ``"grams"``: the measure's Gram form on the linear Gram matrices (every
        built-in but PWCCA); ``"features"``: the measure on the stored features
        (PWCCA, which weighs neurons, and user measures, on narrow representations);
        ``"principal_coordinates"``: the same on the principal coordinates of the
        Gram matrices (:func:`cnntopo.ph.similarity.principal_coordinates`, the
        features up to an orthogonal map) when no features are stored.
    """
    if is_user_spec(name):
        return "features" if narrow else "principal_coordinates"
    measure = _check_measure(name)
    if name == "cka_linear" and narrow:
        return "cka_features"
    if measure.from_grams is not None:
        return "grams"
    return "features" if narrow else "principal_coordinates"


def _gram_of(rep: Rep) -> np.ndarray:
    from cnntopo.ph.representations import layer_gram

    return layer_gram(rep)


def _check_reps(reps: Sequence[Rep], label: str) -> list[Rep]:
    out = list(reps)
    if not out:
        raise ValueError(f"{label} is empty; pass at least one (gram, features) representation")
    for i, rep in enumerate(out):
        if not (isinstance(rep, tuple) and len(rep) == 2) or (rep[0] is None and rep[1] is None):
            raise ValueError(
                f"{label}[{i}] must be a (gram, features) pair with at least one array, as "
                "cnntopo.ph.representations.load_representation reads it"
            )
    return out


def _principal(grams: Sequence[np.ndarray], notes: dict, offset: int) -> list:
    """Principal coordinates of each Gram matrix; None (and a note) where undefined."""
    from cnntopo.ph.similarity.grams import principal_coordinates

    names = [f"representation {offset + i}" for i in range(len(grams))]
    return prepare_each(lambda K, nm: principal_coordinates(K), grams, names, notes, offset)


def _on_defined(
    compute: Callable[..., np.ndarray],
    xs: list,
    ys: list | None,
    notes: dict,
    diagonal: float,
) -> np.ndarray:
    """``compute(defined_xs, defined_ys, notes=...)`` scattered into a NaN matrix.

    ``xs`` / ``ys`` hold None where a representation is undefined (already noted);
    the notes of the defined subset are mapped back to the full indices.
    """
    K1 = len(xs)
    ix = [i for i, a in enumerate(xs) if a is not None]
    iy = ix if ys is None else [j for j, b in enumerate(ys) if b is not None]
    M = np.full((K1, K1 if ys is None else len(ys)), np.nan)
    if ys is None:
        M[ix, ix] = diagonal
    if not ix or not iy:
        return M
    sub: dict = {}
    S = compute([xs[i] for i in ix], None if ys is None else [ys[j] for j in iy], notes=sub)
    M[np.ix_(ix, iy)] = S
    n_ix = len(ix)

    def full(k: int) -> int:  # subset index -> index over xs then ys
        return ix[k] if ys is None or k < n_ix else K1 + iy[k - n_ix]

    for key, reason in sub.items():
        notes[tuple(full(k) for k in key) if isinstance(key, tuple) else full(key)] = reason
    return M


def compare(
    spec: Mapping[str, Any] | str,
    reps: Sequence[Rep] | RepBlocks,
    others: Sequence[Rep] | None = None,
    *,
    n_jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    scratch: str | os.PathLike | None = None,
    cache: dict | None = None,
) -> Comparison:
    """One measure between every stored representation and every other: the router.

    Decides how the measure is computed (:func:`route`) and computes it; every
    measure is defined through this one function for the cross matrices, the
    cross-architecture comparison and the sensitivity test. Where the measure is
    undefined (a constant representation, too few images, a trivial CCA, an RBF
    kernel without bandwidth, ...) the entries are NaN and :attr:`Comparison.notes`
    says why; nothing is raised for them.

    Parameters
    ----------
    spec : mapping or str
        ``{"name", "params"}`` (as :func:`cnntopo.ph.similarity.registry.measure_specs`
        gives them) or just a name: a built-in measure or ``"python:<file.py>:<function>"``.
    reps : sequence of Rep, or RepBlocks
        K1 representations of the same ``N`` images, each ``(gram (N, N) or None,
        features (N, p) or None)``. As :class:`RepBlocks` (and without ``others``), a
        measure with a Gram form runs over the blocks in bounded memory
        (:func:`blocked_matrix_from_grams`); every other route loads all blocks.
    others : sequence of Rep, optional
        K2 further representations of the same images; None = the matrix within ``reps``.
    n_jobs : int, default 1
        Threads over the rows of the matrix (the values do not depend on it).
    progress : callable, optional
        ``progress(pairs_done, pairs_total)`` after every row.
    scratch : path-like, optional
        Folder for the blocked engine's prepared forms (default: a temporary folder).
    cache : dict, optional
        Keeps the Gram matrices between calls on the same in-memory representations.

    Returns
    -------
    Comparison
        ``matrix`` (K1, K1) or (K1, K2) float64, ``notes``, ``kind``, ``route``.

    Raises
    ------
    ValueError
        On an unknown measure, inconsistent inputs, or a user measure that fails
        (the message names its file and function).
    """
    import tempfile

    if isinstance(spec, str):
        name, params = spec, {}
    else:
        name, params = spec["name"], dict(spec.get("params") or {})
    measure = _check_measure(name)
    diagonal = 1.0 if measure.kind == "similarity" else 0.0
    notes: dict = {}
    blocks = reps if isinstance(reps, RepBlocks) else None
    if blocks is not None and others is not None:
        raise ValueError("others cannot be combined with RepBlocks; pass sequences of Rep")
    if blocks is not None:
        narrow = blocks.narrow
        if narrow is None:
            narrow = all(x is not None for _, x in _check_reps(blocks.load(0), "block 0"))
    if blocks is not None and route(name, narrow) == "grams":
        with tempfile.TemporaryDirectory(dir=scratch) as folder:
            M = blocked_matrix_from_grams(
                name,
                lambda b: [_gram_of(r) for r in _check_reps(blocks.load(b), f"block {b}")],
                blocks.n_blocks,
                folder,
                n_jobs=n_jobs,
                progress=progress,
                notes=notes,
                **params,
            )
        return Comparison(M, notes, measure.kind, "grams")
    if blocks is not None and route(name, narrow) == "principal_coordinates":
        # block by block: only one block's N x N Gram matrices in memory at a time
        xs: list = []
        for b in range(int(blocks.n_blocks)):
            block = [_gram_of(r) for r in _check_reps(blocks.load(b), f"block {b}")]
            xs += _principal(block, notes, len(xs))
            del block
        M = _on_defined(
            lambda a, b, notes: measure_matrix(
                name, a, b, notes=notes, n_jobs=n_jobs, progress=progress, **params
            ),
            xs,
            None,
            notes,
            diagonal,
        )
        return Comparison(M, notes, measure.kind, "principal_coordinates")
    if blocks is not None:
        reps = [r for b in range(int(blocks.n_blocks)) for r in blocks.load(b)]
    sides = [_check_reps(reps, "reps")]
    if others is not None:
        sides.append(_check_reps(others, "others"))
    narrow = all(x is not None for side in sides for _, x in side)
    how = route(name, narrow)
    cache = {} if cache is None else cache

    def grams() -> list[list[np.ndarray]]:
        if "grams" not in cache:
            cache["grams"] = [[_gram_of(r) for r in side] for side in sides]
        return cache["grams"]

    kw: dict[str, Any] = {"n_jobs": n_jobs, "progress": progress}
    if how == "cka_features":
        from cnntopo.ph.similarity.cka import cka_matrix

        M = cka_matrix(*[[x for _, x in side] for side in sides], notes=notes)
        if progress is not None:
            n = len(sides[0])
            total = n * (n - 1) // 2 if others is None else n * len(sides[1])
            progress(total, total)
    elif how == "grams":
        M = measure_matrix_from_grams(name, *grams(), notes=notes, **kw, **params)
    elif how == "features":
        M = measure_matrix(
            name, *[[x for _, x in side] for side in sides], notes=notes, **kw, **params
        )
    else:
        g = grams()
        xs = _principal(g[0], notes, 0)
        ys = None if others is None else _principal(g[1], notes, len(xs))
        M = _on_defined(
            lambda a, b, notes: measure_matrix(name, a, b, notes=notes, **kw, **params),
            xs,
            ys,
            notes,
            diagonal,
        )
    return Comparison(M, notes, measure.kind, how)
