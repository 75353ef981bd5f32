"""Progress of a long loop with a known number of steps: time-based log lines with an ETA.

A training job runs for minutes to days inside one Snakemake job, whose log would
otherwise show one line per epoch. :class:`Progress` writes a line whenever ``every``
seconds have passed since the last one, whatever the length of an epoch, with the
steps done, the elapsed time, an estimate of the time left and any metrics the caller
passes. It reads the time from an injectable clock, so tests drive it with a fake one.
:func:`progress_lines` is the one the stages use: lines to the ``cnntopo`` logger
every 30 s, timed by the module's :data:`_clock`. Torch-free.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Progress", "format_duration", "progress_lines"]

#: Clock of :func:`progress_lines`, read when it is called (tests replace it with a fake one).
_clock: Callable[[], float] = time.perf_counter


def format_duration(seconds: float | None) -> str:
    """A duration as ``"45s"``, ``"12m05s"``, ``"3h07m"`` or ``"2d04h"`` (``"?"`` if unknown).

    Parameters
    ----------
    seconds : float or None
        Non-negative number of seconds; ``None``, NaN or infinity give ``"?"``.

    Returns
    -------
    str

    Examples
    --------
    >>> format_duration(4.4), format_duration(725), format_duration(11_220)
    ('4s', '12m05s', '3h07m')
    >>> format_duration(187_200), format_duration(None)
    ('2d04h', '?')
    """
    if seconds is None or not math.isfinite(seconds):
        return "?"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


class Progress:
    """Time-based progress lines with an ETA for a loop of ``total`` steps.

    The ETA extrapolates the mean time per step so far: ``elapsed / done * (total -
    done)``. Whatever else the loop does between steps (evaluation, checkpoints) is
    part of the elapsed time, so it is part of the estimate too.

    Parameters
    ----------
    total : int
        Steps of the whole loop (e.g. epochs x optimizer steps per epoch), >= 1.
    log : callable
        Receives each line (e.g. ``logging.getLogger("cnntopo").info``).
    every : float, default 30.0
        Seconds between two lines, at most (``0``: a line at every step).
    clock : callable, default time.monotonic
        Returns the current time in seconds; the loop starts at construction.
    unit : str, default "steps"
        Name of the steps in the line.

    Raises
    ------
    ValueError
        If ``total < 1`` or ``every < 0``.

    Examples
    --------
    >>> now = [0.0]
    >>> lines = []
    >>> p = Progress(100, lines.append, every=30, clock=lambda: now[0])
    >>> now[0] = 10.0
    >>> p.update(10, loss=1.5)  # 10 s: not yet due
    False
    >>> now[0] = 30.0
    >>> p.update(25, loss=1.25)
    True
    >>> lines[-1]
    'loss 1.250 | 25/100 steps (25.0%) elapsed 30s eta 1m30s'
    """

    def __init__(
        self,
        total: int,
        log: Callable[[str], None],
        *,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        unit: str = "steps",
    ) -> None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise ValueError(f"total must be a positive integer, got {total!r}")
        if not every >= 0:
            raise ValueError(f"every must be >= 0 seconds, got {every!r}")
        self.total = total
        self.log = log
        self.every = float(every)
        self.clock = clock
        self.unit = unit
        self.start = clock()
        self.last = self.start
        self.done = 0

    def elapsed(self) -> float:
        """Seconds since the loop started."""
        return self.clock() - self.start

    def eta(self, done: int | None = None) -> float | None:
        """Estimated seconds left after ``done`` steps (default: the last update's).

        ``None`` before the first step; ``0.0`` once every step is done.
        """
        done = self.done if done is None else done
        if done <= 0:
            return None
        return self.elapsed() / done * max(0, self.total - done)

    def due(self) -> bool:
        """Whether ``every`` seconds have passed since the last line (or the start)."""
        return self.clock() - self.last >= self.every

    def update(
        self,
        done: int,
        metrics: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
        **more: Any,
    ) -> bool:
        """Record that ``done`` steps are finished; log a line if one is due.

        A line is due when ``every`` seconds have passed since the last one (written
        here or, see :meth:`logged`, by the caller).

        Parameters
        ----------
        done : int
            Steps finished so far (cumulative, 0..``total``).
        metrics : mapping or callable, optional
            Values shown before the progress, in order (floats with 3 decimals,
            e.g. ``{"loss": 1.2, "train_acc": 0.5}``). A callable is called only when
            a line is written, so costly metrics (a GPU synchronisation) are computed
            only then.
        **more
            Further values shown after ``metrics``.

        Returns
        -------
        bool
            Whether a line was written.
        """
        self.done = int(done)
        if not self.due():
            return False
        values = dict(metrics() if callable(metrics) else (metrics or {}))
        values.update(more)
        self.log(self.line(values))
        self.last = self.clock()
        return True

    def logged(self) -> None:
        """Note that the caller just wrote a line itself (e.g. at the end of an epoch).

        The next line of :meth:`update` is then due ``every`` seconds from now.
        """
        self.last = self.clock()

    def line(self, values: Mapping[str, Any] | None = None) -> str:
        """The progress line after :attr:`done` steps, preceded by ``values``."""
        parts = [f"{k} {_fmt(v)}" for k, v in (values or {}).items()]
        pct = 100.0 * self.done / self.total
        status = (
            f"{self.done}/{self.total} {self.unit} ({pct:.1f}%) "
            f"elapsed {format_duration(self.elapsed())} eta {format_duration(self.eta())}"
        )
        return " ".join(parts) + " | " + status if parts else status


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def progress_lines(total: int, unit: str) -> Progress:
    """A :class:`Progress` of ``total`` ``unit`` that logs a line with an ETA every 30 s at most.

    The lines go to the ``cnntopo`` logger at level INFO; the time comes from this
    module's ``_clock`` (``time.perf_counter``), looked up at each call, so a test
    replaces it with ``monkeypatch.setattr(cnntopo.progress, "_clock", fake)``.

    Parameters
    ----------
    total : int
        Steps of the loop; values below 1 count as 1 (an empty loop logs nothing useful
        but does not fail).
    unit : str
        Name of the steps in the lines (e.g. ``"pairs"``, ``"resamples"``).

    Returns
    -------
    Progress
        Call ``.update(done)`` after each step.

    Examples
    --------
    >>> lines = progress_lines(0, "pairs")
    >>> lines.total, lines.unit, lines.every
    (1, 'pairs', 30.0)
    """
    return Progress(max(1, int(total)), logging.getLogger("cnntopo").info, unit=unit, clock=_clock)
