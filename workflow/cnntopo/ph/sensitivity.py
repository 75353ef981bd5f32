"""Sensitivity of layer comparisons to removing low-variance directions.

Ding, Denain and Steinhardt 2021 ask whether a representational similarity
measure notices when the directions of smallest variance are deleted; they found
that CKA barely does. The paper applies this "intuitive sensitivity test" to its
PH distance (official ``AAAI-code-PH/sensitivity_testing.py``; docs/methods.md
§8), reproduced here exactly:

1. ``A = points.T``, the ``c x N`` top-l2 cloud of one layer, **not** mean-centred;
2. full SVD ``A = U S V^T`` (singular values in decreasing order);
3. for each ``k`` in :func:`pc_removal_counts` (``step = 4``), the reduced cloud is
   ``(U[:, :c-k]^T A)^T = points @ U[:, :c-k]``, the ``N x (c-k)`` coordinates in
   the top ``c - k`` left-singular directions: the ``k`` directions of smallest
   singular value are removed, and "fraction removed" is ``k / c``;
4. Rips persistence of the reduced cloud, and the sliced Wasserstein distance
   between its H1 diagram and the original cloud's.

:func:`cka_sensitivity_curve` runs the same removal with linear CKA as the
comparison (Ding et al.'s baseline), for the figure that contrasts the two.

References
----------
.. [1] Ding, F.; Denain, J.-S.; Steinhardt, J. 2021. Grounding Representation
   Similarity Through Statistical Testing. NeurIPS 2021, 34: 1556--1568.
   arXiv:2108.01661.
.. [2] Purvine, E. et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI 2023. arXiv:2212.00222.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cnntopo.ph.distances import finite_part, pairwise, sliced_wasserstein
from cnntopo.ph.persistence import diagrams, distance_matrix_diagrams
from cnntopo.ph.similarity import UndefinedMeasureError, linear_cka

__all__ = [
    "pc_removal_counts",
    "left_singular_vectors",
    "remove_low_variance_directions",
    "sensitivity_curve",
    "cka_sensitivity_curve",
    "to_paper_array",
    "probe_split",
    "linear_probe_accuracy",
    "deletion_counts",
    "deletion_curve",
    "spearman_interval",
]


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _int_at_least(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _as_points(points: Any) -> np.ndarray:
    """Return the cloud as a finite float64 (N, c) array with N >= 2, c >= 1."""
    arr = np.asarray(points)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(
            f"points must be a 2-D (n_points, n_channels) array with at least 2 points, "
            f"got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"points must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("points contains NaN or infinite values")
    return arr


def _check_counts(counts: Any, c: int) -> np.ndarray:
    arr = np.asarray(counts)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"counts must be a non-empty 1-D sequence of integers, got {counts!r}")
    if arr.min() < 0 or arr.max() >= c:
        raise ValueError(
            f"counts must lie in [0, c) = [0, {c}) (at least one direction must remain), "
            f"got values from {arr.min()} to {arr.max()}"
        )
    return arr.astype(np.int64)


# ---------------------------------------------------------------------------
# the removal
# ---------------------------------------------------------------------------


def pc_removal_counts(c: int, step: int = 4) -> np.ndarray:
    """Numbers of directions removed in the sensitivity test.

    ``np.unique(np.linspace(step, c, c // step, endpoint=False).astype(int))``: the
    official ``sensitivity_testing.py``'s counts (which passes ``dtype=int``; identical
    for these positive values), each once. ``c = 64`` gives the 16 values 4, 7, 11, 15,
    ..., 60; ``c = 512`` gives 128 values from 4 to 508. Where the spacing
    ``(c - step) / (c // step)`` is below 1 (``step = 1``), the truncated linspace
    repeats values (``c = 4, step = 1``: 1, 1, 2, 3) and each is kept once (1, 2, 3).

    Parameters
    ----------
    c : int
        Number of channels of the layer (dimension of the cloud); ``c > step``.
    step : int, default 4
        Spacing parameter (the script's ``-s``).

    Returns
    -------
    np.ndarray, shape (m,), int64
        Strictly increasing counts, all in ``[step, c)``: ``m = c // step`` for
        ``step >= 2`` (the linspace never repeats there), ``m = c - 1`` (every count
        ``1..c-1``) for ``step = 1``.

    Raises
    ------
    ValueError
        If ``step < 1`` or ``c <= step`` (the only count would remove every direction).

    Notes
    -----
    With the paper's ``step = 4`` the expression yields ``c // step`` distinct values:
    16, 32, 64 and 128 for the 64-, 128-, 256- and 512-channel layers (976 reduced
    clouds per model). A count of "127 values" for ``c = 512`` (15/31/63/127 per
    width) is off by one: the official code's expression gives 128. A repeated count
    would compute the same reduced cloud twice and give the curve duplicate ``k`` rows.
    """
    step = _int_at_least(step, "step", 1)
    c = _int_at_least(c, "c", 1)
    if c <= step:
        raise ValueError(
            f"c = {c} channels with step = {step}: there must be more channels than the step, "
            "otherwise every direction would be removed"
        )
    return np.unique(np.linspace(step, c, c // step, endpoint=False).astype(np.int64))


def left_singular_vectors(points: Any) -> tuple[np.ndarray, np.ndarray]:
    """Left-singular vectors and values of the uncentred, transposed cloud.

    Parameters
    ----------
    points : array_like, shape (N, c)
        The point cloud (e.g. the top-l2 cloud of one layer).

    Returns
    -------
    U : np.ndarray, shape (c, c), float64
        Orthogonal; column ``j`` is the ``j``-th left-singular vector of
        ``A = points.T`` (not mean-centred), in decreasing order of singular value.
        Columns are defined up to sign (and up to rotation within repeated
        singular values), which does not change any pairwise distance. When
        ``c > N`` the last ``c - N`` columns span the null space of ``A^T``.
    s : np.ndarray, shape (min(c, N),), float64
        Singular values in decreasing order.

    Raises
    ------
    ValueError
        If ``points`` is not a finite real 2-D array with at least 2 points.

    Notes
    -----
    Computed in float64 with LAPACK (``np.linalg.svd``); the official code used
    ``torch.linalg.svd`` on the float32 cloud, so individual vectors can differ in
    sign and by float32 rounding.
    """
    X = _as_points(points)
    N, c = X.shape
    U, s, _ = np.linalg.svd(X.T, full_matrices=c > N)
    return U, s


def remove_low_variance_directions(
    points: Any, k: int, *, basis: np.ndarray | None = None
) -> np.ndarray:
    """Drop the ``k`` smallest-singular-value directions of a point cloud.

    With ``A = points.T`` (``c x N``, not mean-centred) and its SVD
    ``A = U S V^T``, the result is ``points @ U[:, :c-k]``: each point's
    coordinates in the top ``c - k`` left-singular directions (the paper's
    ``torch.mm(U.T[:r], A).T`` with ``r = c - k``). For ``k = 0`` this is an
    orthogonal change of basis, so all pairwise distances are kept.

    Parameters
    ----------
    points : array_like, shape (N, c)
        The point cloud.
    k : int
        Number of directions to remove, ``0 <= k < c``.
    basis : np.ndarray, shape (c, c), optional
        ``U`` from :func:`left_singular_vectors` of the same ``points``, to avoid
        recomputing the SVD for several ``k``.

    Returns
    -------
    np.ndarray, shape (N, c - k), float32
        The reduced cloud (float32, like the paper's torch tensors; the product is
        computed in float64 and rounded once).

    Raises
    ------
    ValueError
        If ``points`` is invalid, ``k`` is not in ``[0, c)``, or ``basis`` does not
        have shape ``(c, c)``.
    """
    X = _as_points(points)
    c = X.shape[1]
    k = _int_at_least(k, "k", 0)
    if k >= c:
        raise ValueError(f"k must be < c = {c} (at least one direction must remain), got {k}")
    if basis is None:
        U, _ = left_singular_vectors(X)
    else:
        U = np.asarray(basis, dtype=np.float64)
        if U.shape != (c, c):
            raise ValueError(f"basis must have shape (c, c) = ({c}, {c}), got {U.shape}")
    return (X @ U[:, : c - k]).astype(np.float32)


# ---------------------------------------------------------------------------
# curves
# ---------------------------------------------------------------------------


def _finite_diagram(dgm: np.ndarray) -> np.ndarray:
    """Drop essential bars (H0's ``[0, inf)``) without the per-call warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="finite_part: dropped", category=UserWarning)
        return finite_part(dgm, infinite="strip")


def _resolve_counts(counts: Sequence[int] | None, c: int, step: int) -> np.ndarray:
    if counts is None:
        return pc_removal_counts(c, step)
    return _check_counts(counts, c)


def _check_dims(maxdim: int, dim: int) -> tuple[int, int]:
    maxdim = _int_at_least(maxdim, "maxdim", 0)
    dim = _int_at_least(dim, "dim", 0)
    if dim > maxdim:
        raise ValueError(f"dim = {dim} exceeds maxdim = {maxdim}; diagrams stop at H{maxdim}")
    return maxdim, dim


def sensitivity_curve(
    points: Any,
    *,
    step: int = 4,
    counts: Sequence[int] | None = None,
    maxdim: int = 1,
    backend: str = "giotto",
    dim: int = 1,
    M: int = 50,
    coeff: int = 2,
    n_threads: int = 1,
    reference: np.ndarray | None = None,
    on_count: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """PH distance between a cloud and its low-variance-removed versions.

    For each ``k``: SW(H_dim of ``points``, H_dim of
    :func:`remove_low_variance_directions` ``(points, k)``), with the SVD computed
    once. The paper's test is ``dim=1``, ``M=50``, ``coeff=2``, ``step=4`` on the
    1000-point top-l2 cloud of each layer of model 0.

    Parameters
    ----------
    points : array_like, shape (N, c)
        The original cloud (e.g. ``(1000, c)`` top-l2 activations).
    step : int, default 4
        Spacing of the removal counts (:func:`pc_removal_counts`).
    counts : sequence of int, optional
        Explicit removal counts in ``[0, c)``, overriding ``step`` (e.g. ``[0]`` for
        a sanity check, or a coarser grid).
    maxdim : int, default 1
        Highest homology dimension computed (:func:`cnntopo.ph.persistence.diagrams`).
    backend : {"giotto", "ripser"}, default "giotto"
        Persistence backend; both give the same diagrams on float32 input.
    dim : int, default 1
        Homology dimension compared (the paper: H1). Non-finite bars (H0's
        essential ``[0, inf)``) are stripped before the distance.
    M : int, default 50
        Directions of the sliced Wasserstein distance.
    coeff : int, default 2
        Prime coefficient field of the homology.
    n_threads : int, default 1
        Threads for the giotto backend.
    reference : array_like, shape (n, 2), optional
        The H_dim diagram of the original cloud if already computed (the paper
        reuses its stored diagrams); must come from the same cloud, backend and
        ``coeff``. Computed here when omitted.
    on_count : callable, optional
        Called with ``k`` after each reduced cloud's distance (progress reports).

    Returns
    -------
    pandas.DataFrame
        One row per count, in the given order, with columns ``k`` (int),
        ``fraction_removed`` (``k / c``) and ``sw`` (float).

    Raises
    ------
    ValueError
        If ``points`` is invalid, the counts are out of range, ``dim > maxdim``,
        or a persistence/distance parameter is invalid.

    Notes
    -----
    Cost: ``len(counts) + 1`` Rips computations (17 for ``c = 64``, 128 for
    ``c = 512``); each is seconds for 1000 points, so one 512-channel layer takes
    minutes. The distance itself is milliseconds.
    """
    X = _as_points(points)
    c = X.shape[1]
    ks = _resolve_counts(counts, c, step)
    maxdim, dim = _check_dims(maxdim, dim)

    def diagram(cloud: np.ndarray) -> np.ndarray:
        dgms = diagrams(cloud, maxdim=maxdim, backend=backend, coeff=coeff, n_threads=n_threads)
        return _finite_diagram(dgms[dim])

    if reference is None:
        original = diagram(X.astype(np.float32))
    else:
        original = _finite_diagram(reference)
    U, _ = left_singular_vectors(X)
    sw = []
    for k in ks:
        reduced = diagram(remove_low_variance_directions(X, k, basis=U))
        sw.append(sliced_wasserstein(original, reduced, M=M))
        if on_count is not None:
            on_count(int(k))
    return pd.DataFrame({"k": ks, "fraction_removed": ks / c, "sw": np.asarray(sw)})


def cka_sensitivity_curve(
    points: Any, *, step: int = 4, counts: Sequence[int] | None = None
) -> pd.DataFrame:
    """Linear CKA between a cloud and its low-variance-removed versions.

    The CKA counterpart of :func:`sensitivity_curve`, on the same reduced clouds
    (float32, uncentred projection; CKA centres them itself). Ding et al. 2021
    report that CKA stays close to 1 while low-variance directions are removed.

    Parameters
    ----------
    points : array_like, shape (N, c)
        The original cloud.
    step : int, default 4
        Spacing of the removal counts (:func:`pc_removal_counts`).
    counts : sequence of int, optional
        Explicit removal counts in ``[0, c)``, overriding ``step``.

    Returns
    -------
    pandas.DataFrame
        Columns ``k`` (int), ``fraction_removed`` (``k / c``) and ``cka`` (in [0, 1];
        NaN where CKA is undefined: a constant cloud, e.g. a dead layer).

    Raises
    ------
    ValueError
        If ``points`` is invalid or the counts are out of range.
    """
    X = _as_points(points)
    c = X.shape[1]
    ks = _resolve_counts(counts, c, step)
    U, _ = left_singular_vectors(X)

    def value(k: int) -> float:
        try:
            return linear_cka(X, remove_low_variance_directions(X, k, basis=U))
        except UndefinedMeasureError:
            return float("nan")

    values = [value(k) for k in ks]
    return pd.DataFrame({"k": ks, "fraction_removed": ks / c, "cka": np.asarray(values)})


def to_paper_array(curve: pd.DataFrame, value: str = "sw") -> np.ndarray:
    """The official script's saved layout of a sensitivity curve.

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`sensitivity_curve` or :func:`cka_sensitivity_curve`.
    value : str, default "sw"
        Column holding the comparison values.

    Returns
    -------
    np.ndarray, shape (2, n), float64
        Row 0 the values, row 1 the fractions ``k / c`` (as in
        ``sliced_wasserstein_lowrank_layer{l}_batch0_1000.npy``).

    Raises
    ------
    ValueError
        If a needed column is missing.
    """
    missing = [col for col in (value, "fraction_removed") if col not in curve.columns]
    if missing:
        raise ValueError(f"curve lacks column(s) {missing}; it has {list(curve.columns)}")
    return np.vstack(
        [curve[value].to_numpy(np.float64), curve["fraction_removed"].to_numpy(np.float64)]
    )


# ---------------------------------------------------------------------------
# Ding et al.'s grounded test: dissimilarity vs the drop in linear-probe accuracy
# ---------------------------------------------------------------------------


def probe_split(labels: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stratified half split of the images: the probe trains on one half, scores the other.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Class of every image.
    seed : int, default 0

    Returns
    -------
    train, test : np.ndarray of int
        Disjoint sorted image indices covering ``range(N)``; every class with two or
        more images has images in both.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.size < 4:
        raise ValueError(f"labels must be a 1-D array of at least 4 images, got shape {y.shape}")
    rng = np.random.default_rng(seed)
    train = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        train += list(idx[: idx.size // 2])
    train = np.sort(np.asarray(train, dtype=np.int64))
    test = np.setdiff1d(np.arange(y.size), train)
    return train, test


def linear_probe_accuracy(
    features: Any, labels: Any, train: Any, test: Any, *, C: float = 1.0
) -> float:
    """Held-out accuracy of a logistic-regression probe (Ding et al. 2021's grounding task).

    The features are centred on the training half and divided by one number (their
    root-mean-square row norm there), an isotropic scaling: the L2-regularised probe
    then gives the same predictions on ``X`` and on ``X Q`` for any orthogonal ``Q``,
    so it can be trained on principal coordinates instead of wide features.

    Parameters
    ----------
    features : array_like, shape (N, p)
        A representation of the N images (e.g. principal coordinates).
    labels : array_like of int, shape (N,)
    train, test : array_like of int
        Image indices (:func:`probe_split`).
    C : float, default 1.0
        Inverse L2 regularisation of :class:`sklearn.linear_model.LogisticRegression`.

    Returns
    -------
    float
        Fraction of the test images classified correctly.
    """
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    mean = X[train].mean(axis=0)
    scale = np.sqrt(np.mean(np.sum((X[train] - mean) ** 2, axis=1))) or 1.0
    Z = (X - mean) / scale
    probe = LogisticRegression(C=C, max_iter=5000, tol=1e-6).fit(Z[train], y[train])
    return float(probe.score(Z[test], y[test]))


def deletion_counts(rank: int) -> np.ndarray:
    """Principal components deleted in the grounded sensitivity test.

    The kept counts halve from ``rank``: ``ceil(rank / 2), ceil(rank / 4), ..., 1``;
    the deleted counts are ``rank`` minus those (lowest-variance components first,
    as Ding et al. 2021 [1]_), so the test spans mild to drastic deletions whatever
    the width.

    Parameters
    ----------
    rank : int
        Number of principal components (>= 1).

    Returns
    -------
    np.ndarray of int64
        Increasing deletion counts in ``[1, rank - 1]``; empty for ``rank = 1`` (a
        rank-one representation, e.g. the pooled first layer of a network fed grey
        images copied to three channels, has nothing to delete).
    """
    rank = _int_at_least(rank, "rank", 1)
    kept, keep = [], rank
    while keep > 1:
        keep = -(-keep // 2)
        kept.append(keep)
    return np.unique(rank - np.asarray(kept, dtype=np.int64))


def deletion_curve(
    gram: Any,
    labels: Any,
    measures: Sequence[tuple[str, str, dict]],
    *,
    features: Any = None,
    split_seed: int = 0,
    notes: dict | None = None,
    diagram_measures: Sequence[Mapping] = (),
    persistence: Mapping | None = None,
) -> pd.DataFrame:
    """Dissimilarity to the original and probe-accuracy drop after deleting principal components.

    The representation enters through its linear Gram matrix: its principal
    coordinates ``F`` (:func:`cnntopo.ph.similarity.principal_coordinates`) are the
    representation up to an orthogonal map, so the measures (all invariant to it) and
    an L2-regularised logistic-regression probe see the same thing as on the
    features. Deleting the ``k`` lowest-variance components keeps the first
    ``r - k`` columns of ``F`` (:func:`deletion_counts`). Each measure is computed as
    :func:`cnntopo.ph.similarity.compare` routes it: from the Gram matrices where it
    has a Gram form, else (PWCCA, user measures) on the features with the deleted
    components projected out.

    Parameters
    ----------
    gram : array_like, shape (N, N)
        Linear Gram matrix of one layer's representation.
    labels : array_like of int, shape (N,)
        Classes of the images (for the probe).
    measures : sequence of (label, name, params)
        Output column ``label`` holds measure ``name`` (a built-in of
        :data:`cnntopo.ph.similarity.MEASURES` or a user measure spec) with
        ``params``, as a dissimilarity (``1 - value`` for a similarity).
    features : array_like, shape (N, p), optional
        The features, for the measures without a Gram form; when omitted they see the
        principal coordinates instead of the neurons.
    split_seed : int, default 0
        Seed of :func:`probe_split`.
    notes : dict, optional
        Filled with ``label -> reason`` for every measure with NaN values (undefined
        on the original or on some reduced representation, e.g. a trivial CCA).
    diagram_measures : sequence of mapping, default ()
        PH columns: ``{"label", "metric", "dim", "params"}`` each, e.g.
        ``{"label": "sliced_wasserstein_H1", "metric": "sliced_wasserstein", "dim": 1,
        "params": {"M": 50}}``. Column ``label`` holds the diagram distance
        (:func:`cnntopo.ph.distances.pairwise`, essential bars stripped) between the
        H_dim diagram of the original and of each reduced representation: Vietoris-Rips
        of their exact Euclidean distances
        (:func:`cnntopo.ph.persistence.distance_matrix_diagrams`), as the
        ``flat`` / ``pool`` diagrams of the PH branch.
    persistence : mapping, optional
        ``{"maxdim", "backend", "coeff"}`` of those diagrams (required with
        ``diagram_measures``).

    Returns
    -------
    pandas.DataFrame
        One row per deletion count (none for a rank-one or constant representation;
        a constant one gets ``notes[label]`` for every measure): ``deleted``,
        ``fraction_deleted`` (``k / r``), ``accuracy``, ``accuracy_drop`` (original
        accuracy minus it), one column per measure label, NaN where undefined, then
        one per ``diagram_measures`` label.
    """
    from cnntopo.ph.similarity import compare, principal_coordinates, route

    columns = ["deleted", "fraction_deleted", "accuracy", "accuracy_drop"]
    columns += [label for label, _, _ in measures]
    columns += [m["label"] for m in diagram_measures]
    if diagram_measures and persistence is None:
        raise ValueError("diagram_measures need persistence = {maxdim, backend, coeff}")
    notes = {} if notes is None else notes
    try:
        F = principal_coordinates(gram)
    except UndefinedMeasureError as err:  # a constant representation: nothing to delete
        for label in columns[4:]:
            notes[label] = err.reason
        return pd.DataFrame(columns=columns)
    y = np.asarray(labels)
    if y.shape != (F.shape[0],):
        raise ValueError(f"labels must have shape ({F.shape[0]},), got {y.shape}")
    r = F.shape[1]
    train, test = probe_split(y, split_seed)
    ks = deletion_counts(r)
    if ks.size == 0:
        return pd.DataFrame(columns=columns)
    reduced = [F[:, : r - k] for k in ks]
    base = linear_probe_accuracy(F, y, train, test)
    acc = np.array([linear_probe_accuracy(R, y, train, test) for R in reduced])
    table = {
        "deleted": ks,
        "fraction_deleted": ks / r,
        "accuracy": acc,
        "accuracy_drop": base - acc,
    }
    grams = [R @ R.T for R in reduced]
    G = F @ F.T
    projected = None
    for label, name, params in measures:
        original, others = (G, None), [(K, None) for K in grams]
        if route(name, narrow=True) == "features":  # weighs neurons: needs the features
            X = F if features is None else np.asarray(features, dtype=np.float64)
            if projected is None:
                Xc = X - X.mean(axis=0)
                # the same deletion in feature space: project out the deleted components
                U = F / np.linalg.norm(F, axis=0)
                projected = [Xc - U[:, r - k :] @ (U[:, r - k :].T @ Xc) for k in ks]
            original = (G, X)
            others = [(K, P) for K, P in zip(grams, projected, strict=True)]
        result = compare({"name": name, "params": params}, [original], others)
        values = result.matrix[0]
        if result.notes:
            reasons = sorted(set(result.notes.values()))
            n_nan = int(np.isnan(values).sum())
            notes[label] = f"{n_nan} of {values.size} deletions undefined: " + "; ".join(reasons)
        table[label] = values if result.kind == "distance" else 1.0 - values
    if diagram_measures:
        table.update(_diagram_columns([F, *reduced], diagram_measures, persistence))
    return pd.DataFrame(table)


def _diagram_columns(
    clouds: Sequence[np.ndarray], diagram_measures: Sequence[Mapping], persistence: Mapping
) -> dict[str, np.ndarray]:
    """Diagram distance from ``clouds[0]`` to each other cloud, per diagram measure."""
    from scipy.spatial.distance import pdist, squareform

    settings = {k: persistence[k] for k in ("maxdim", "backend", "coeff")}
    dgms = [distance_matrix_diagrams(squareform(pdist(C)), **settings) for C in clouds]
    out = {}
    for m in diagram_measures:
        dim = int(m["dim"])
        if dim > settings["maxdim"]:
            raise ValueError(f"{m['label']}: H{dim} above persistence maxdim {settings['maxdim']}")
        finite = [_finite_diagram(d[dim]) for d in dgms]
        row = pairwise(finite[:1], finite[1:], metric=m["metric"], **dict(m["params"]))
        out[m["label"]] = row[0]
    return out


def spearman_interval(
    x: Any,
    y: Any,
    groups: Any,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float, int]:
    """Spearman correlation with a bootstrap interval over groups (e.g. layers).

    Points of one group (the deletions of one layer) are resampled together.

    Parameters
    ----------
    x, y : array_like, shape (n,)
    groups : array_like, shape (n,)
        Group of every point.
    n_boot : int, default 1000
    level : float, default 0.95
    seed : int, default 0

    Returns
    -------
    rho, low, high : float
        Spearman's rho over the points with finite ``x`` and ``y`` (undefined
        comparisons are NaN and left out) and the percentile interval (NaN where a
        draw has no variation); all NaN with fewer than 3 such points.
    n : int
        Number of points used (finite in both).
    """
    from scipy.stats import spearmanr

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    g = np.asarray(groups)
    if not (x.shape == y.shape == g.shape) or x.ndim != 1 or x.size < 3:
        raise ValueError("x, y and groups must be 1-D arrays of the same length >= 3")
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan"), float("nan"), float("nan"), int(ok.sum())
    x, y, g = x[ok], y[ok], g[ok]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: rho NaN
        rho = float(spearmanr(x, y).statistic)
    members = [np.flatnonzero(g == u) for u in np.unique(g)]
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(_int_at_least(n_boot, "n_boot", 1)):
        idx = np.concatenate([members[i] for i in rng.integers(len(members), size=len(members))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            boots.append(spearmanr(x[idx], y[idx]).statistic)
    boots = np.asarray(boots, dtype=np.float64)
    boots = boots[np.isfinite(boots)]
    if boots.size == 0:
        return rho, float("nan"), float("nan"), int(x.size)
    lo, hi = np.percentile(boots, [50 * (1 - level), 50 * (1 + level)])
    return rho, float(lo), float(hi), int(x.size)
