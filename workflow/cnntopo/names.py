"""The naming grammar shared by rules, stages and tests (torch-free): clouds, Mapper settings, metrics."""

from __future__ import annotations

import re

__all__ = ["metric_label", "parse_cloud", "format_setting", "parse_setting"]


METRIC_NAMES = {
    "sliced_wasserstein": "sliced Wasserstein",
    "wasserstein": "Wasserstein",
    "bottleneck": "bottleneck",
}


def metric_label(metric: str, dim: int) -> str:
    """Readable name of a diagram distance on H_dim, e.g. ``"sliced Wasserstein (H1)"``."""
    return f"{METRIC_NAMES.get(metric, metric)} (H{dim})"


_CLOUD = re.compile(r"^(random|full|fg[15]|bg[15])(?:-noise([0-9.eE+-]+))?$")


_SETTING = re.compile(r"^intervals~(\d+)_overlap~([0-9.]+)_eps~(knee|[0-9.eE+-]+)$")


_METHODS = {"random": "random", "full": "full", "fg": "foreground", "bg": "background"}


def parse_cloud(cloud: str) -> dict:
    """Method, top-k and noise level of a cloud name.

    Examples
    --------
    >>> parse_cloud("fg5")
    {'method': 'foreground', 'topk': 5, 'sigma': 0.0, 'base': 'fg5'}
    >>> parse_cloud("full-noise0.5")["sigma"]
    0.5
    """
    m = _CLOUD.match(cloud)
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
    """Paramspace-style name of one Mapper setting (overlap in percent)."""
    eps_text = "knee" if eps is None else f"{float(eps):g}"
    return f"intervals~{int(intervals)}_overlap~{float(overlap):g}_eps~{eps_text}"


def parse_setting(setting: str) -> dict:
    """Inverse of :func:`format_setting`: ``{"intervals", "overlap" (percent), "eps"}``."""
    m = _SETTING.match(setting)
    if not m:
        raise ValueError(
            f"malformed Mapper setting {setting!r}; expected e.g. 'intervals~40_overlap~30_eps~knee'"
        )
    eps = None if m.group(3) == "knee" else float(m.group(3))
    return {"intervals": int(m.group(1)), "overlap": float(m.group(2)), "eps": eps}
