"""The one way figures are written to disk: every format, atomically, reproducibly.

:func:`save_figure` is used by the PH figures (:func:`cnntopo.ph.figures.save_figure`,
the paper style), the Mapper figures (:mod:`cnntopo.mapper.draw`) and the sweep
summary (:mod:`cnntopo.stages.summary`). It

* checks every destination's suffix before writing anything,
* writes each file to a temporary name next to it and renames it into place
  (:func:`cnntopo.artifacts.atomic_path`); on any exception, ``KeyboardInterrupt``
  and the ``SystemExit`` of SIGTERM (:func:`cnntopo.logs.setup_job_logging`)
  included, the temporary file is removed, and a ``.seed1.pdf.<random>.pdf.tmp`` that
  a killed job (SIGKILL) left is removed when the rerun saves ``seed1.pdf`` again, so
  no ``*.pdf.tmp`` outlives a run,
* leaves creation dates out of PDF and SVG files and fixes the SVG element ids
  (``svg.hashsalt``, unless set), so reruns give the same bytes,
* optionally applies an rcParams style while saving, and releases the figure.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
from matplotlib.figure import Figure

from cnntopo.artifacts import atomic_path

__all__ = ["save_figure", "figure_format", "close_figure"]

#: ``metadata`` of ``Figure.savefig`` that drops the date matplotlib would embed.
REPRODUCIBLE_METADATA: dict[str, dict[str, Any]] = {
    "pdf": {"CreationDate": None},
    "svg": {"Date": None},
}


def figure_format(fig: Figure, path: str | os.PathLike, formats: Collection[str] | None) -> str:
    """The matplotlib output format of ``path``, from its suffix.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (its canvas lists the formats it can write).
    path : path-like
        Destination, e.g. ``"a.pdf"``.
    formats : collection of str or None
        The formats allowed (e.g. ``("png", "pdf", "svg")``); None: every format the
        canvas supports.

    Returns
    -------
    str
        E.g. ``"pdf"``.

    Raises
    ------
    ValueError
        If the suffix is not an allowed format; the message lists the allowed suffixes.
    """
    supported = set(fig.canvas.get_supported_filetypes())
    allowed = supported if formats is None else supported & set(formats)
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in allowed:
        raise ValueError(
            f"cannot save a figure to {os.fspath(path)!r}: the suffix must be one of "
            f"{sorted('.' + k for k in allowed)}"
        )
    return fmt


def save_figure(
    fig: Figure,
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    dpi: float | None = None,
    bbox_inches: str | None = "tight",
    pad_inches: float | None = None,
    style: Mapping[str, Any] | None = None,
    formats: Collection[str] | None = None,
    close: bool = True,
) -> list[Path]:
    """Save a figure to one or more files (format by suffix), atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (built with or without pyplot).
    paths : path-like or sequence of path-like
        Destinations; each suffix selects the format. All suffixes are checked
        before the first file is written.
    dpi : float, optional
        Resolution of raster formats; None: ``rcParams["savefig.dpi"]`` (under
        ``style`` if given).
    bbox_inches : {"tight", None}, default "tight"
        ``"tight"`` crops the figure to its artists; None keeps the figure size
        (figures laid out with ``constrained_layout``).
    pad_inches : float, optional
        Padding around a tight bounding box; None: ``rcParams["savefig.pad_inches"]``.
    style : mapping, optional
        rcParams in force while saving (e.g. :data:`cnntopo.ph.figures.PAPER_RC`).
    formats : collection of str, optional
        The formats allowed (e.g. ``("png", "pdf", "svg")``); None: every format
        matplotlib can write.
    close : bool, default True
        Release the figure after the last file (also when writing fails, but not
        when the paths are refused, so the caller can retry): closed in
        pyplot if pyplot manages it, its artists cleared. False keeps it for the
        caller (who may inspect or save it again).

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``paths``.

    Raises
    ------
    ValueError
        If no path is given or a suffix is not an allowed format (nothing is
        written then).
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    targets = [Path(p) for p in paths]
    if not targets:
        raise ValueError("save_figure needs at least one output path")
    fmts = [figure_format(fig, p, formats) for p in targets]  # before anything is written
    kwargs: dict[str, Any] = {"bbox_inches": bbox_inches}
    if dpi is not None:
        kwargs["dpi"] = dpi
    if pad_inches is not None:
        kwargs["pad_inches"] = pad_inches
    rc = dict(style or {})
    if rc.get("svg.hashsalt", mpl.rcParams["svg.hashsalt"]) is None:
        rc["svg.hashsalt"] = "cnntopo"  # fixed SVG element ids instead of random ones
    try:
        with mpl.rc_context(rc):
            for path, fmt in zip(targets, fmts, strict=True):
                meta = REPRODUCIBLE_METADATA.get(fmt)
                extra = {} if meta is None else {"metadata": meta}
                with atomic_path(path) as tmp:
                    fig.savefig(tmp, format=fmt, **kwargs, **extra)
    finally:
        if close:
            close_figure(fig)
    return targets


def close_figure(fig: Figure) -> None:
    """Release a figure: from pyplot's registry if it is there, and its artists.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    """
    if getattr(fig.canvas, "manager", None) is not None:
        import matplotlib.pyplot as plt

        with contextlib.suppress(Exception):
            plt.close(fig)
    fig.clear()
