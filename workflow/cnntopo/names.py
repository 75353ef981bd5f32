"""The naming grammar shared by rules, stages and tests (torch-free): clouds, Mapper settings, metrics.

Numbers in names (a noise level, an overlap, an eps) are written by :func:`format_number`,
which is lossless: parsing a name gives back exactly the configured float. The rules'
wildcard constraints are :data:`WILDCARD_PATTERNS`, built from the same pieces as the
parsers, so every formatted name matches them.

Examples
--------
>>> format_setting(40, 30, None)
'intervals~40_overlap~30_eps~knee'
>>> format_setting(40, 25, 5e-05)
'intervals~40_overlap~25_eps~5e-05'
>>> parse_setting(format_setting(40, 25, 0.1234567))["eps"]
0.1234567
>>> format_cloud("full", 0.5)
'full-noise0.5'
>>> parse_cloud("gap")["method"]  # a user construction's cloud
'user'
"""

from __future__ import annotations

import math
import re

from cnntopo.mapper.constructions import BUILTINS, builtin_names
from cnntopo.mapper.user_construction import RESERVED_NAMES, USER_NAME, check_cloud_name

__all__ = [
    "CLOUD_BASES",
    "WILDCARD_PATTERNS",
    "metric_label",
    "similarity_measures",
    "format_number",
    "format_cloud",
    "parse_cloud",
    "format_setting",
    "parse_setting",
]


METRIC_NAMES = {
    "sliced_wasserstein": "sliced Wasserstein",
    "wasserstein": "Wasserstein",
    "bottleneck": "bottleneck",
}

#: Built-in point-cloud constructions (:mod:`cnntopo.mapper.constructions`): random,
#: full, top-1/top-5 foreground and background. A user construction's cloud is the name
#: of its function (:func:`cnntopo.mapper.constructions.check_cloud_name`).
CLOUD_BASES: tuple[str, ...] = tuple(builtin_names())

# What format_number writes: digits, an optional fraction, an optional exponent.
_NUMBER = r"[0-9]+(?:\.[0-9]+)?(?:e[+-][0-9]+)?"
# A built-in, optionally noisy (group 1, group 2 the noise), or a user name (group 3):
# an identifier that is no built-in name (case-insensitively) unless followed by more
# identifier characters. Built-ins come first, so "fg1_x" in "noise_{cloud}_{layer}"
# splits after "fg1".
_BUILTIN = "|".join(re.escape(b) for b in sorted(CLOUD_BASES, key=len, reverse=True))
_CLOUD = (
    rf"(?:({_BUILTIN})(?:-noise({_NUMBER}))?"
    rf"|((?!(?i:{RESERVED_NAMES})(?![A-Za-z0-9_])){USER_NAME}))"
)
_SETTING = rf"intervals~([0-9]+)_overlap~({_NUMBER})_eps~(knee|{_NUMBER})"


def _uncaptured(pattern: str) -> str:
    """``pattern`` with its capturing groups made non-capturing (for Snakemake)."""
    return re.sub(r"\((?!\?)", "(?:", pattern)


#: Regular expressions of the wildcards ``cloud`` and ``setting`` (the rules'
#: ``wildcard_constraints``); they accept every name this module formats.
WILDCARD_PATTERNS: dict[str, str] = {
    "cloud": _uncaptured(_CLOUD),
    "setting": _uncaptured(_SETTING),
}


def metric_label(metric: str, dim: int) -> str:
    """Readable name of a diagram distance on H_dim, e.g. ``"sliced Wasserstein (H1)"``."""
    return f"{METRIC_NAMES.get(metric, metric)} (H{dim})"


def similarity_measures(similarity: dict) -> list[dict]:
    """The ``similarity.measures`` as jobs read them: label, name and parameters of each.

    The measures' registry decides (:func:`cnntopo.ph.similarity.registry.measure_specs`):
    RBF CKA gives one entry per bandwidth (label ``cka_rbf_<sigma>``), SVCCA carries
    ``similarity.svcca_keep``, a user measure is labelled by its function's name.

    >>> similarity_measures({"measures": ["cka_linear", "cka_rbf"], "rbf_sigmas": [0.4]})
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'label': 'cka_linear', 'name': 'cka_linear', 'params': {}},
     {'label': 'cka_rbf_0.4', 'name': 'cka_rbf', 'params': {'sigma_frac': 0.4}}]
    """
    from cnntopo.ph.similarity.registry import measure_specs

    return measure_specs(similarity)


def format_number(x: float) -> str:
    """Lossless text of a finite number >= 0: ``float(format_number(x)) == float(x)``.

    The shortest ``%g`` form with at least 6 significant digits that reads back as
    ``x``: the short names of ``f"{x:g}"`` where those are exact (``30``, ``8.5``,
    ``5e-05``), more digits where they are not (``0.1234567``, ``123456789``).

    Parameters
    ----------
    x : float
        A finite number >= 0.

    Returns
    -------
    str
        Matches ``[0-9]+(\\.[0-9]+)?(e[+-][0-9]+)?``.

    Raises
    ------
    ValueError
        For a negative, infinite or NaN ``x``.

    Examples
    --------
    >>> format_number(30), format_number(5.0), format_number(1e-10), format_number(0.1234567)
    ('30', '5', '1e-10', '0.1234567')
    """
    x = float(x)
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"a number in a name must be finite and >= 0, got {x!r}")
    x = abs(x)  # -0.0 -> 0.0
    # 17 significant digits always read back exactly
    return next(t for t in (f"{x:.{d}g}" for d in range(6, 18)) if float(t) == x)


def format_cloud(base: str, sigma: float = 0.0) -> str:
    """Name of a point cloud: a construction, with ``-noise<sigma>`` when ``sigma > 0``.

    Parameters
    ----------
    base : str
        A built-in construction (:data:`CLOUD_BASES`: random, full, fg1, fg5, bg1, bg5)
        or a user construction's name (its function's name).
    sigma : float, default 0.0
        Standard deviation of the input noise (0 = none; built-ins only).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        ``base`` is neither a built-in nor a valid user name, or a user cloud with noise.

    Examples
    --------
    >>> format_cloud("fg1", 5e-05), format_cloud("gap")
    ('fg1-noise5e-05', 'gap')
    """
    if base not in BUILTINS:
        try:
            check_cloud_name(base)
        except ValueError as err:
            raise ValueError(
                f"unknown point cloud construction {base!r}; expected one of {CLOUD_BASES} "
                f"or a user construction's name ({err})"
            ) from None
        if sigma:
            raise ValueError(
                f"the user construction {base!r} has no noisy versions "
                "(mapper.noise takes built-in constructions only)"
            )
    return f"{base}-noise{format_number(sigma)}" if sigma else base


def parse_cloud(cloud: str) -> dict:
    """Method, top-k and noise level of a cloud name.

    A name that is no built-in but a valid user name (:func:`format_cloud`) gives
    method ``"user"``, top-k 1 and no noise.

    Examples
    --------
    >>> parse_cloud("fg5")
    {'method': 'foreground', 'topk': 5, 'sigma': 0.0, 'base': 'fg5'}
    >>> parse_cloud("full-noise0.5")["sigma"]
    0.5
    >>> parse_cloud("gap")
    {'method': 'user', 'topk': 1, 'sigma': 0.0, 'base': 'gap'}
    """
    m = re.fullmatch(_CLOUD, cloud) if isinstance(cloud, str) else None
    if not m:
        raise ValueError(
            f"unknown point cloud {cloud!r}; expected {', '.join(CLOUD_BASES)}, optionally "
            "followed by -noise<sigma>, or a user construction's name (an ASCII identifier "
            "that is no built-in name, without noise)"
        )
    if m.group(3) is not None:
        return {"method": "user", "topk": 1, "sigma": 0.0, "base": m.group(3)}
    base, sigma = m.group(1), float(m.group(2) or 0.0)
    entry = BUILTINS[base]
    return {"method": entry.method, "topk": entry.topk, "sigma": sigma, "base": base}


def format_setting(intervals: int, overlap: float, eps: float | None) -> str:
    """Paramspace-style name of one Mapper setting; lossless (see :func:`format_number`).

    Parameters
    ----------
    intervals : int
        Number of cover intervals.
    overlap : float
        Overlap of the intervals in percent.
    eps : float or None
        DBSCAN eps; ``None`` = the knee rule (written ``knee``).

    Returns
    -------
    str
        E.g. ``"intervals~40_overlap~30_eps~knee"``.
    """
    eps_text = "knee" if eps is None else format_number(eps)
    return f"intervals~{int(intervals)}_overlap~{format_number(overlap)}_eps~{eps_text}"


def parse_setting(setting: str) -> dict:
    """Inverse of :func:`format_setting`: ``{"intervals", "overlap" (percent), "eps"}``."""
    m = re.fullmatch(_SETTING, setting)
    if not m:
        raise ValueError(
            f"malformed Mapper setting {setting!r}; expected e.g. 'intervals~40_overlap~30_eps~knee'"
        )
    eps = None if m.group(3) == "knee" else float(m.group(3))
    return {"intervals": int(m.group(1)), "overlap": float(m.group(2)), "eps": eps}
