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
"""

from __future__ import annotations

import math
import re

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

#: Point-cloud constructions: random, full, top-1/top-5 foreground and background.
CLOUD_BASES: tuple[str, ...] = ("random", "full", "fg1", "fg5", "bg1", "bg5")

_METHODS = {"random": "random", "full": "full", "fg": "foreground", "bg": "background"}

# What format_number writes: digits, an optional fraction, an optional exponent.
_NUMBER = r"[0-9]+(?:\.[0-9]+)?(?:e[+-][0-9]+)?"
_CLOUD = rf"({'|'.join(CLOUD_BASES)})(?:-noise({_NUMBER}))?"
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

    RBF CKA gives one entry per bandwidth (label ``cka_rbf_<sigma>``), SVCCA carries
    ``similarity.svcca_keep``.

    >>> similarity_measures({"measures": ["cka_linear", "cka_rbf"], "rbf_sigmas": [0.4]})
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'label': 'cka_linear', 'name': 'cka_linear', 'params': {}},
     {'label': 'cka_rbf_0.4', 'name': 'cka_rbf', 'params': {'sigma_frac': 0.4}}]
    """
    out = []
    for name in similarity["measures"]:
        if name == "cka_rbf":
            out += [
                {"label": f"cka_rbf_{s:g}", "name": name, "params": {"sigma_frac": float(s)}}
                for s in similarity["rbf_sigmas"]
            ]
        elif name == "svcca":
            out.append({"label": name, "name": name, "params": {"keep": similarity["svcca_keep"]}})
        else:
            out.append({"label": name, "name": name, "params": {}})
    return out


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
    base : {"random", "full", "fg1", "fg5", "bg1", "bg5"}
    sigma : float, default 0.0
        Standard deviation of the input noise (0 = none).

    Returns
    -------
    str
    """
    if base not in CLOUD_BASES:
        raise ValueError(
            f"unknown point cloud construction {base!r}; expected one of {CLOUD_BASES}"
        )
    return f"{base}-noise{format_number(sigma)}" if sigma else base


def parse_cloud(cloud: str) -> dict:
    """Method, top-k and noise level of a cloud name.

    Examples
    --------
    >>> parse_cloud("fg5")
    {'method': 'foreground', 'topk': 5, 'sigma': 0.0, 'base': 'fg5'}
    >>> parse_cloud("full-noise0.5")["sigma"]
    0.5
    """
    m = re.fullmatch(_CLOUD, cloud)
    if not m:
        raise ValueError(
            f"unknown point cloud {cloud!r}; expected random, full, fg1, fg5, bg1 or bg5, "
            "optionally followed by -noise<sigma>"
        )
    base, sigma = m.group(1), float(m.group(2) or 0.0)
    if base in ("random", "full"):
        return {"method": base, "topk": 1, "sigma": sigma, "base": base}
    return {"method": _METHODS[base[:2]], "topk": int(base[2]), "sigma": sigma, "base": base}


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
