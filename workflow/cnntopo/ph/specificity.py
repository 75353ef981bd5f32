"""Cross-seed layer identification ("specificity" of a layer comparison).

A good representational comparison should find that layer ``l`` of one trained
network is closest to the *same* layer ``l`` of another network trained from a
different random initialisation. Kornblith et al. 2019 use this as a sanity
check for CKA; Ding, Denain and Steinhardt 2021 call it specificity. The paper's
``SW_distances.py -m cross`` output supplies the data (docs/methods.md §7).

**Cross matrix layout.** All functions take one square matrix ``D`` of shape
``(S*L, S*L)`` over ``S`` models (seeds) times ``L`` layers, *model-major*: row
and column index ``s*L + l`` is layer ``l`` of model ``s``, layers in network
order. Row ``s*L + l`` holds the comparisons of that *query* layer with every
layer of every model; the block ``D[s*L:(s+1)*L, t*L:(t+1)*L]`` ("block (s, t)")
compares model ``s``'s layers (rows) with model ``t``'s (columns). The paper's
per-model ``*_cross.npy`` files (``L x S*L``) are the row blocks of ``D``, stacked
in model order by :func:`assemble_cross_matrix`. ``D`` may hold a *distance*
(smaller = closer, e.g. sliced Wasserstein) or a *similarity* (larger = closer,
e.g. linear CKA); say which with ``kind``. Only blocks with ``s != t`` enter the
identification statistics, so ``D`` need not be symmetric.

References
----------
.. [1] Kornblith, S.; Norouzi, M.; Lee, H.; Hinton, G. 2019. Similarity of Neural
   Network Representations Revisited. ICML 2019, section 6.1. arXiv:1905.00414.
.. [2] Ding, F.; Denain, J.-S.; Steinhardt, J. 2021. Grounding Representation
   Similarity Through Statistical Testing. NeurIPS 2021. arXiv:2108.01661.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "KINDS",
    "assemble_cross_matrix",
    "nearest_layers",
    "identification_rates",
    "specificity_table",
    "mean_cross_block",
    "bootstrap_identification",
    "pair_rates",
    "seed_bootstrap_identification",
    "depth_correlation",
    "stage_permutation_test",
    "NotApplicableError",
    "DROPPED",
    "MISSING",
]

#: Accepted values of ``kind``: what "closer" means for the entries of ``D``.
KINDS = ("distance", "similarity")

#: Row label of the all-layers summary in :func:`identification_rates` tables.
OVERALL = "overall"

#: Accepted values of ``missing``: ``"raise"`` on non-finite used entries of ``D``, or
#: ``"drop"`` them (undefined comparisons, NaN in the cross matrices) and count the
#: cases that could not be decided.
MISSING = ("raise", "drop")

#: Entry of :func:`nearest_layers` for a case dropped with ``missing="drop"``.
DROPPED = -2


class NotApplicableError(ValueError):
    """A test cannot apply to this design (too few models, layers or stages).

    A :class:`ValueError`; the message is the reason, written as the ``note`` of a NaN
    row by :func:`cnntopo.stages.ph.similarity.similarity_tests`.
    """


def _check_missing(missing: str) -> str:
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {MISSING}, got {missing!r}")
    return missing


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is one of :data:`KINDS`, else raise ValueError."""
    if kind not in KINDS:
        raise ValueError(
            f"kind must be one of {KINDS} ('distance': smaller is closer, e.g. sliced "
            f"Wasserstein; 'similarity': larger is closer, e.g. CKA), got {kind!r}"
        )
    return kind


def _as_blocks(
    D: Any,
    n_models: int,
    n_layers: int,
    min_models: int = 2,
    exclude_self: bool = True,
    missing: str = "raise",
) -> np.ndarray:
    """Validate ``D`` and return it as a (S, L, S, L) float64 view: [s, l, t, m].

    Only the blocks that are used must be finite: with ``exclude_self`` the
    within-model blocks ``(s, s)`` may hold anything (e.g. NaN if never computed);
    with ``missing="drop"`` none must be.
    """
    S = _positive_int(n_models, "n_models", 1)
    if S < min_models:
        raise NotApplicableError(
            f"n_models = {S}: needs at least {min_models} models (seeds) to compare across models"
        )
    L = _positive_int(n_layers, "n_layers")
    arr = np.asarray(D, dtype=np.float64)
    if arr.shape != (S * L, S * L):
        raise ValueError(
            f"D must have shape (n_models*n_layers, n_models*n_layers) = ({S * L}, {S * L}) "
            f"for {S} models x {L} layers (model-major order), got {arr.shape}"
        )
    blocks = arr.reshape(S, L, S, L)
    if _check_missing(missing) == "drop":
        return blocks
    used = blocks.transpose(0, 2, 1, 3)[~np.eye(S, dtype=bool)] if exclude_self else blocks
    if not np.all(np.isfinite(used)):
        where = "the cross-model blocks (s != t) of D" if exclude_self else "D"
        raise ValueError(f"{where} contain NaN or infinite entries")
    return blocks


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def assemble_cross_matrix(row_blocks: Sequence[Any]) -> np.ndarray:
    """Stack per-model cross rows into the full model-major cross matrix.

    Parameters
    ----------
    row_blocks : sequence of array_like, each shape (L, S*L)
        Block ``s`` compares the ``L`` layers of model ``s`` with all layers of all
        ``S`` models, e.g. the paper's ``sliced_wasserstein_batch0_1000_cross.npy``
        of model ``s`` (17 x 1700 for 100 models).

    Returns
    -------
    np.ndarray, shape (S*L, S*L), float64

    Raises
    ------
    ValueError
        If there are no blocks, the blocks differ in shape, or a block's width is
        not ``S`` times its height.
    """
    blocks = [np.asarray(b, dtype=np.float64) for b in row_blocks]
    if not blocks:
        raise ValueError("row_blocks is empty; pass one (L, S*L) block per model")
    S = len(blocks)
    for s, b in enumerate(blocks):
        if b.ndim != 2 or b.shape != blocks[0].shape or b.shape[1] != S * b.shape[0]:
            raise ValueError(
                f"row block {s} has shape {b.shape}; every block must be (L, S*L) with "
                f"S = {S} blocks and the same L (first block: {blocks[0].shape})"
            )
    return np.vstack(blocks)


def nearest_layers(
    D: Any, n_models: int, n_layers: int, kind: str = "distance", *, missing: str = "raise"
) -> np.ndarray:
    """Closest layer of every other model, for every layer of every model.

    Parameters
    ----------
    D : array_like, shape (S*L, S*L)
        Cross matrix in model-major order (see the module docstring). Only the
        blocks with ``s != t`` are read; they must be finite.
    n_models : int
        ``S >= 2``.
    n_layers : int
        ``L >= 1``.
    kind : {"distance", "similarity"}, default "distance"
        ``"distance"`` takes the argmin of each row block, ``"similarity"`` the argmax.
    missing : {"raise", "drop"}, default "raise"
        ``"drop"``: non-finite entries (undefined comparisons) are never the nearest;
        a case ``(s, l, t)`` whose own entry ``D[s*L + l, t*L + l]`` is not finite
        (the query layer or its counterpart undefined: the right answer cannot be
        picked) is dropped, marked :data:`DROPPED`.

    Returns
    -------
    np.ndarray, shape (S, L, S), int64
        ``nearest[s, l, t]`` is the layer ``m`` of model ``t`` closest to layer ``l``
        of model ``s``, i.e. the arg-best of ``D[s*L + l, t*L:(t+1)*L]``. Ties go to
        the lowest layer index (``np.argmin``/``np.argmax`` semantics). Entries
        with ``t == s`` are ``-1`` (a model is not compared with itself); dropped
        cases are :data:`DROPPED` (-2).

    Raises
    ------
    ValueError
        If ``D`` has the wrong shape or non-finite cross-model entries, ``n_models < 2``,
        ``n_layers < 1``, or ``kind`` is unknown.
    """
    kind = check_kind(kind)
    blocks = _as_blocks(D, n_models, n_layers, missing=missing)
    pick = np.argmin if kind == "distance" else np.argmax
    S, L = blocks.shape[0], blocks.shape[1]
    finite = np.isfinite(blocks)
    if missing == "drop":
        worst = np.inf if kind == "distance" else -np.inf
        blocks = np.where(finite, blocks, worst)
    nearest = pick(blocks, axis=3).astype(np.int64)  # (S, L, S)
    if missing == "drop":
        own = finite[:, np.arange(L), :, np.arange(L)].transpose(1, 0, 2)  # (S, L, S)
        nearest[~own] = DROPPED
    nearest[np.arange(S), :, np.arange(S)] = -1
    return nearest


def identification_rates(
    nearest: Any,
    tolerance: int = 0,
    *,
    layer_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Fraction of cross-model comparisons that identify the same layer.

    Parameters
    ----------
    nearest : array_like of int, shape (S, L, S)
        Output of :func:`nearest_layers` (entries with ``t == s`` are ignored).
    tolerance : int, default 0
        A match counts as correct when ``|nearest[s, l, t] - l| <= tolerance``:
        0 = exactly the same layer, 1 = the same layer or a neighbour in network
        order.
    layer_names : sequence of str, length L, optional
        Row labels; default ``"0" ... "L-1"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``layer`` (str), ``rate`` (float in [0, 1]) and ``n_pairs`` (int):
        one row per layer in network order, over its ``S*(S-1)`` ordered model
        pairs ``(s, t != s)``, then a row ``layer == "overall"`` over all
        ``L*S*(S-1)`` comparisons (the mean of the per-layer rates). Cases marked
        :data:`DROPPED` are left out (``n_pairs`` counts the rest; a layer with none
        has rate NaN).

    Raises
    ------
    ValueError
        If ``nearest`` is not an integer array of shape (S, L, S) with ``S >= 2``,
        holds indices outside ``[0, L)`` off the model diagonal, ``tolerance`` is
        negative, or ``layer_names`` has the wrong length.
    """
    arr = np.asarray(nearest)
    if arr.ndim != 3 or arr.shape[0] != arr.shape[2] or arr.shape[0] < 2:
        raise ValueError(
            f"nearest must have shape (S, L, S) with S >= 2 models, got {arr.shape}; "
            "compute it with nearest_layers"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"nearest must hold integer layer indices, got dtype {arr.dtype}")
    tol = _positive_int(tolerance, "tolerance", 0)
    S, L, _ = arr.shape
    names = [str(i) for i in range(L)] if layer_names is None else [str(n) for n in layer_names]
    if len(names) != L:
        raise ValueError(f"layer_names has {len(names)} entries but nearest has {L} layers")
    off = ~np.eye(S, dtype=bool)  # (s, t) pairs with t != s
    picks = np.moveaxis(arr, 1, 0)[:, off]  # (L, S*(S-1))
    kept = picks != DROPPED
    if picks[kept].size and (picks[kept].min() < 0 or picks[kept].max() >= L):
        raise ValueError(f"nearest holds layer indices outside [0, {L}) for t != s")
    hits = (np.abs(picks - np.arange(L)[:, None]) <= tol) & kept
    counts = kept.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(counts > 0, hits.sum(axis=1) / counts, np.nan)
    total = int(counts.sum())
    table = pd.DataFrame({"layer": names, "rate": rates, "n_pairs": counts})
    overall = pd.DataFrame(
        {
            "layer": [OVERALL],
            "rate": [float(hits.sum() / total) if total else np.nan],
            "n_pairs": [total],
        }
    )
    return pd.concat([table, overall], ignore_index=True)


def specificity_table(
    D: Any,
    layer_names: Sequence[str],
    n_models: int,
    kind: str = "distance",
    *,
    missing: str = "raise",
) -> pd.DataFrame:
    """Per-layer exact and within-one identification rates across seeds.

    Parameters
    ----------
    D : array_like, shape (S*L, S*L)
        Cross matrix in model-major order (see the module docstring).
    layer_names : sequence of str, length L
        Layer names in network order (e.g. :func:`cnntopo.nets.layers.paper_layer_names`).
    n_models : int
        ``S >= 2``.
    kind : {"distance", "similarity"}, default "distance"
    missing : {"raise", "drop"}, default "raise"
        As :func:`nearest_layers`: ``"drop"`` leaves out the cases whose own entry is
        not finite (an undefined layer, e.g. a dead one), so a layer without any
        decided case gets rate NaN and ``n_pairs`` 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``layer``, ``exact`` (rate with tolerance 0), ``within_1``
        (tolerance 1) and ``n_pairs`` (the decided cases); one row per layer, then the
        ``"overall"`` row. Chance level for ``exact`` is ``1/L``.

    Raises
    ------
    ValueError
        As :func:`nearest_layers`.
    """
    names = [str(n) for n in layer_names]
    nearest = nearest_layers(D, n_models, len(names), kind, missing=missing)
    exact = identification_rates(nearest, 0, layer_names=names)
    within = identification_rates(nearest, 1, layer_names=names)
    return pd.DataFrame(
        {
            "layer": exact["layer"],
            "exact": exact["rate"],
            "within_1": within["rate"],
            "n_pairs": exact["n_pairs"],
        }
    )


def mean_cross_block(
    D: Any, n_models: int, n_layers: int, exclude_self: bool = True, *, missing: str = "raise"
) -> np.ndarray:
    """Layer-by-layer matrix averaged over model pairs.

    Parameters
    ----------
    D : array_like, shape (S*L, S*L)
        Cross matrix in model-major order (see the module docstring).
    n_models : int
        ``S``; at least 2 when ``exclude_self`` is True.
    n_layers : int
        ``L``.
    exclude_self : bool, default True
        Average only the ``S*(S-1)`` blocks with ``s != t`` (cross-seed
        comparisons); False averages all ``S^2`` blocks, including the
        within-model matrices on the block diagonal.
    missing : {"raise", "drop"}, default "raise"
        ``"drop"``: non-finite entries (undefined comparisons) are left out of each
        mean; an entry undefined for every pair stays NaN.

    Returns
    -------
    np.ndarray, shape (L, L), float64
        ``M[l, m]`` = mean over the pairs of ``D[s*L + l, t*L + m]``. For a
        symmetric ``D`` the result is symmetric.

    Raises
    ------
    ValueError
        If ``D`` has the wrong shape or non-finite entries, or there are too few
        models.
    """
    blocks = _as_blocks(
        D,
        n_models,
        n_layers,
        min_models=2 if exclude_self else 1,
        exclude_self=exclude_self,
        missing=missing,
    )
    S = blocks.shape[0]
    per_pair = blocks.transpose(0, 2, 1, 3)  # (s, t, l, m)
    used = per_pair[~np.eye(S, dtype=bool)] if exclude_self else per_pair.reshape(S * S, -1)
    used = used.reshape(-1, n_layers, n_layers)
    if missing == "drop":
        finite = np.isfinite(used)
        counts = finite.sum(axis=0)
        total = np.where(finite, used, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, total / counts, np.nan)
    return used.mean(axis=0)


# ---------------------------------------------------------------------------
# uncertainty and the statistical tests of the comparison (issue 11)
# ---------------------------------------------------------------------------


def _percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    lo, hi = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def bootstrap_identification(
    nearest: Any,
    tolerance: int = 0,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float, int]:
    """Identification rate with a bootstrap interval over model pairs.

    The ``S*(S-1)`` ordered model pairs ``(s, t)`` are the resampled units (a pair's
    ``L`` comparisons share both networks, so they are not independent): each
    bootstrap draw takes ``S*(S-1)`` pairs with replacement and averages their hits.

    Parameters
    ----------
    nearest : array_like of int, shape (S, L, S)
        Output of :func:`nearest_layers`.
    tolerance : int, default 0
        0 = exact, 1 = within one layer (see :func:`identification_rates`).
    n_boot : int, default 1000
        Bootstrap draws.
    level : float, default 0.95
        Coverage of the percentile interval.
    seed : int, default 0
        Seed of the resampling.

    Returns
    -------
    rate : float
        The rate over all ``L*S*(S-1)`` comparisons (as :func:`identification_rates`),
        those marked :data:`DROPPED` left out (a draw's rate is its hits over its
        cases). NaN when every case is dropped.
    low, high : float
        Percentile bootstrap interval.
    n_cases : int
        ``L*S*(S-1)`` minus the dropped cases.
    """
    arr = np.asarray(nearest)
    if arr.ndim != 3 or arr.shape[0] != arr.shape[2] or arr.shape[0] < 2:
        raise ValueError(f"nearest must have shape (S, L, S) with S >= 2, got {arr.shape}")
    n_boot = _positive_int(n_boot, "n_boot")
    tol = _positive_int(tolerance, "tolerance", 0)
    S, L, _ = arr.shape
    off = ~np.eye(S, dtype=bool)
    picks = np.moveaxis(arr, 1, 0)[:, off]  # (L, P)
    kept = picks != DROPPED
    hits = ((np.abs(picks - np.arange(L)[:, None]) <= tol) & kept).sum(axis=0)  # (P,)
    cases = kept.sum(axis=0)  # (P,)
    used = cases > 0
    if not used.any():
        return float("nan"), float("nan"), float("nan"), 0
    hits, cases = hits[used], cases[used]
    P = hits.size
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(P, np.full(P, 1.0 / P), size=n_boot)  # (n_boot, P)
    boots = (weights @ hits) / (weights @ cases)
    low, high = _percentile_interval(boots, level)
    return float(hits.sum() / cases.sum()), low, high, int(cases.sum())


def _pair_counts(nearest: Any, tolerance: int) -> tuple[np.ndarray, np.ndarray]:
    """Hits and decided cases of every ordered model pair: two (S, S) int arrays, 0 on s == t."""
    arr = np.asarray(nearest)
    if arr.ndim != 3 or arr.shape[0] != arr.shape[2] or arr.shape[0] < 2:
        raise ValueError(f"nearest must have shape (S, L, S) with S >= 2, got {arr.shape}")
    tol = _positive_int(tolerance, "tolerance", 0)
    S, L, _ = arr.shape
    off = ~np.eye(S, dtype=bool)[:, None, :]  # (S, 1, S)
    kept = (arr != DROPPED) & off
    hits = (np.abs(arr - np.arange(L)[None, :, None]) <= tol) & kept
    return hits.sum(axis=1), kept.sum(axis=1)


def pair_rates(nearest: Any, tolerance: int = 0) -> np.ndarray:
    """Identification rate of every ordered model pair: the spread over seed pairs.

    Parameters
    ----------
    nearest : array_like of int, shape (S, L, S)
        Output of :func:`nearest_layers`.
    tolerance : int, default 0
        0 = exact, 1 = within one layer.

    Returns
    -------
    np.ndarray, shape (S, S), float64
        ``R[s, t]``: the fraction of the decided layers ``l`` of model ``s`` whose
        nearest layer of model ``t`` is within ``tolerance`` of ``l``; NaN on the
        diagonal and where every case of the pair is :data:`DROPPED`.
    """
    hits, cases = _pair_counts(nearest, tolerance)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cases > 0, hits / np.maximum(cases, 1), np.nan)


def seed_bootstrap_identification(
    nearest: Any,
    tolerance: int = 0,
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float, int]:
    """Identification rate with a bootstrap interval over networks (training randomness).

    :func:`bootstrap_identification` resamples the ``S*(S-1)`` ordered model pairs as if
    they were independent; they are not (each network is in ``2*(S-1)`` of them), and
    its interval is conditional on the ``S`` networks trained. This one resamples the
    networks: each draw takes ``S`` of them with replacement (multiplicities ``w``) and
    pools every ordered pair of two different networks among them, pair ``(s, t)``
    weighted ``w_s * w_t`` (the two-way bootstrap of a pairwise statistic). Its interval
    therefore covers what another set of ``S`` seeds, or the same seeds trained on
    another CPU, would give, as far as the ``S`` networks at hand show it. Draws in
    which only one network is taken have no pair and are left out. With few networks
    (the demo's 4) the interval is coarse; report it beside, not instead of, the
    pair interval.

    Parameters
    ----------
    nearest : array_like of int, shape (S, L, S)
        Output of :func:`nearest_layers`.
    tolerance : int, default 0
        0 = exact, 1 = within one layer (see :func:`identification_rates`).
    n_boot : int, default 1000
        Bootstrap draws.
    level : float, default 0.95
        Coverage of the percentile interval.
    seed : int, default 0
        Seed of the resampling.

    Returns
    -------
    rate : float
        The rate over all decided comparisons (equal to :func:`bootstrap_identification`'s).
    low, high : float
        Percentile interval over the draws that hold a pair (NaN if none does).
    n_cases : int
        The decided comparisons, ``L*S*(S-1)`` minus the dropped ones.

    References
    ----------
    .. [1] Davison, A. C.; Hinkley, D. V. 1997. Bootstrap Methods and their
       Application. Cambridge University Press, §3.8 (multi-sample and
       hierarchical data: resample the top-level units).
    """
    n_boot = _positive_int(n_boot, "n_boot")
    hits, cases = _pair_counts(nearest, tolerance)
    total = int(cases.sum())
    if total == 0:
        return float("nan"), float("nan"), float("nan"), 0
    S = hits.shape[0]
    rng = np.random.default_rng(seed)
    w = rng.multinomial(S, np.full(S, 1.0 / S), size=n_boot).astype(np.float64)  # (n_boot, S)
    num = np.einsum("bs,st,bt->b", w, hits.astype(np.float64), w)
    den = np.einsum("bs,st,bt->b", w, cases.astype(np.float64), w)
    boots = num[den > 0] / den[den > 0]
    if boots.size == 0:
        return float(hits.sum() / total), float("nan"), float("nan"), total
    low, high = _percentile_interval(boots, level)
    return float(hits.sum() / total), low, high, total


def depth_correlation(
    D: Any,
    n_models: int,
    n_layers: int,
    kind: str = "distance",
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    missing: str = "raise",
) -> tuple[float, float, float, int]:
    """Ding et al.'s layer-depth test: rank correlation of dissimilarity and depth difference.

    For every ordered model pair ``(s, t)``, ``s != t``, the Spearman correlation
    between the dissimilarity of layer ``l`` of ``s`` and layer ``m`` of ``t`` (``D``
    for a distance, ``-D`` for a similarity) and ``|l - m|`` over all ``L^2`` layer
    pairs; the result is the mean over model pairs, with a bootstrap interval over
    model pairs. A measure that tracks depth gives a value near 1.

    Parameters
    ----------
    D : array_like, shape (S*L, S*L)
        Cross matrix in model-major order (see the module docstring).
    n_models, n_layers : int
        ``S >= 2`` and ``L >= 2``.
    kind : {"distance", "similarity"}
    n_boot, level, seed
        As :func:`bootstrap_identification`.
    missing : {"raise", "drop"}, default "raise"
        ``"drop"``: each model pair's correlation uses its finite entries only; a pair
        with fewer than 3 finite entries is left out.

    Returns
    -------
    rho : float
        Mean Spearman correlation over the ``S*(S-1)`` model pairs (NaN if none is left).
    low, high : float
        Percentile bootstrap interval of the mean.
    n_pairs : int
        ``S*(S-1)``, minus the pairs left out.

    Raises
    ------
    NotApplicableError
        With fewer than 2 models or 2 layers.
    """
    from scipy.stats import spearmanr

    kind = check_kind(kind)
    blocks = _as_blocks(D, n_models, n_layers, missing=missing)
    S, L = blocks.shape[0], blocks.shape[1]
    if L < 2:
        raise NotApplicableError("the layer-depth test needs at least two layers")
    sign = 1.0 if kind == "distance" else -1.0
    depth = np.abs(np.subtract.outer(np.arange(L), np.arange(L))).ravel()
    rhos = []
    for s in range(S):
        for t in range(S):
            if s == t:
                continue
            values = sign * blocks[s, :, t, :].ravel()
            ok = np.isfinite(values)
            if ok.sum() < 3:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a constant block: NaN, set to 0 below
                rhos.append(spearmanr(values[ok], depth[ok]).statistic)
    if not rhos:
        return float("nan"), float("nan"), float("nan"), 0
    rhos = np.nan_to_num(np.asarray(rhos), nan=0.0)  # a constant block carries no ordering
    rng = np.random.default_rng(seed)
    P = rhos.size
    boots = rng.multinomial(P, np.full(P, 1.0 / P), size=_positive_int(n_boot, "n_boot")) @ rhos / P
    low, high = _percentile_interval(boots, level)
    return float(rhos.mean()), low, high, P


def stage_permutation_test(
    matrices: Sequence[Any],
    stages: Sequence[Any],
    *,
    n_permutations: int = 10000,
    seed: int = 0,
    missing: str = "raise",
) -> tuple[list[dict], dict]:
    """Permutation test that layers of one stage are closer than layers of different stages.

    Statistic per model: mean distance between layers of different stages minus the
    mean distance between distinct layers of the same stage (upper triangles of the
    ``L x L`` within-model matrix). The null permutes the stage labels over the
    layers (group sizes kept); the one-sided p-value is
    ``(1 + #{T_perm >= T}) / (1 + n_permutations)``. The pooled test sums the
    statistic over models, with the same permutation applied to every model.

    Parameters
    ----------
    matrices : sequence of array_like, each shape (L, L)
        Within-model distance matrices (smaller = closer), one per model.
    stages : sequence, length L
        Stage label of every layer (e.g. its spatial resolution); at least two stages
        and one stage with two or more layers.
    n_permutations : int, default 10000
    seed : int, default 0
    missing : {"raise", "drop"}, default "raise"
        ``"drop"``: non-finite entries (undefined comparisons) are left out of the
        means, for the observed and every permuted labelling; a model whose finite
        pairs lack a within- or between-stage pair gets NaN.

    Returns
    -------
    per_model : list of dict
        Per matrix: ``mean_within``, ``mean_between``, ``statistic``, ``p_value``,
        ``n_dropped`` (layer pairs left out).
    pooled : dict
        The same keys for the pooled test (over the models with a result).

    Raises
    ------
    NotApplicableError
        If the stage labels do not define two stages with one of at least two layers
        (e.g. a network with one layer per resolution).
    """
    labels = np.asarray(list(stages))
    L = labels.size
    missing = _check_missing(missing)
    mats = [np.asarray(M, dtype=np.float64) for M in matrices]
    if not mats:
        raise ValueError("matrices is empty; pass one (L, L) matrix per model")
    for i, M in enumerate(mats):
        if M.shape != (L, L) or (missing == "raise" and not np.all(np.isfinite(M))):
            raise ValueError(f"matrix {i} must be a finite ({L}, {L}) array, got shape {M.shape}")
    _, codes = np.unique(labels, return_inverse=True)
    iu = np.triu_indices(L, 1)
    same = codes[iu[0]] == codes[iu[1]]
    if same.all() or not same.any():
        raise NotApplicableError(
            "the stage labels must put at least two layers in one stage and define at least "
            f"two stages, got {labels.tolist()}"
        )
    values = np.stack([M[iu] for M in mats])  # (models, pairs)
    finite = np.isfinite(values)
    values = np.where(finite, values, 0.0)
    rng = np.random.default_rng(seed)
    n_perm = _positive_int(n_permutations, "n_permutations")
    perms = np.stack([rng.permutation(codes) for _ in range(n_perm)])  # (n_perm, L)
    same_perm = perms[:, iu[0]] == perms[:, iu[1]]  # (n_perm, pairs)

    def stat(same_mask: np.ndarray) -> np.ndarray:
        # rows of same_mask: labelings; returns (labelings, models); NaN where a model
        # has no finite within- or between-stage pair under that labelling
        w_in = same_mask.astype(np.float64) @ finite.T  # (labelings, models): counts
        w_out = (~same_mask).astype(np.float64) @ finite.T
        s_in = same_mask.astype(np.float64) @ values.T
        s_out = (~same_mask).astype(np.float64) @ values.T
        with np.errstate(invalid="ignore", divide="ignore"):
            return s_out / w_out - s_in / w_in

    observed = stat(same[None, :])[0]  # (models,)
    null = stat(same_perm)  # (n_perm, models)

    def record(obs: float, null_col: np.ndarray, within: float, between: float, dropped: int):
        ok = np.isfinite(null_col)
        p = (1 + np.sum(null_col[ok] >= obs - 1e-12 * abs(obs))) / (1 + ok.sum())
        return {
            "mean_within": float(within),
            "mean_between": float(between),
            "statistic": float(obs),
            "p_value": float(p) if np.isfinite(obs) and ok.any() else float("nan"),
            "n_dropped": int(dropped),
        }

    def means(i: int) -> tuple[float, float]:
        f = finite[i]
        w = values[i][same & f]
        b = values[i][~same & f]
        return (w.mean() if w.size else np.nan), (b.mean() if b.size else np.nan)

    per_model = [
        record(observed[i], null[:, i], *means(i), int((~finite[i]).sum()))
        for i in range(len(mats))
    ]
    good = np.isfinite(observed)
    if not good.any():
        nan = float("nan")
        pooled = {
            "mean_within": nan,
            "mean_between": nan,
            "statistic": nan,
            "p_value": nan,
            "n_dropped": int((~finite).sum()),
        }
        return per_model, pooled
    pooled_means = np.array([means(i) for i in np.flatnonzero(good)])
    pooled = record(
        observed[good].sum(),
        null[:, good].sum(axis=1),
        float(np.mean(pooled_means[:, 0])),
        float(np.mean(pooled_means[:, 1])),
        int((~finite).sum()),
    )
    pooled["statistic"] = float(observed[good].mean())
    return per_model, pooled
