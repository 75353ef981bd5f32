"""Logging for workflow jobs: everything a job prints goes to its Snakemake log file.

:func:`setup_job_logging`, the first call of every job script, also turns SIGTERM (and
SIGHUP, unless ignored) into :class:`JobTerminated`, a :class:`SystemExit`: Python's
default for SIGTERM ends the process at once, skipping every ``finally`` block, so the
temporary files of the atomic writes (:func:`cnntopo.artifacts.atomic_path`) would stay.
SIGTERM is what Snakemake sends a job it cancels, what SLURM sends at the time limit
or on ``scancel`` (SIGKILL follows ``KillWait`` seconds later), and what ``kill`` sends
by default. SIGINT (Ctrl-C) already raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path

__all__ = ["setup_job_logging", "install_termination_handlers", "JobTerminated"]

log = logging.getLogger("cnntopo")


class JobTerminated(SystemExit):
    """Raised in a job's main thread when it receives SIGTERM or SIGHUP.

    Its exit status is ``128 + signal number`` (143 for SIGTERM), the status a shell
    reports for a process killed by that signal. A :class:`SystemExit`, so no
    ``except Exception`` catches it, while every ``finally`` and ``with`` block on the
    way out runs.
    """

    def __init__(self, signum: int):
        super().__init__(128 + signum)
        self.signum = signum


def install_termination_handlers(
    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGHUP),
) -> list[signal.Signals]:
    """Make ``signals`` raise :class:`JobTerminated` in this process's main thread.

    Parameters
    ----------
    signals : tuple of signal.Signals, default (SIGTERM, SIGHUP)
        The signals to convert. One whose handler is ``SIG_IGN`` (e.g. SIGHUP under
        ``nohup``) is left ignored.

    Returns
    -------
    list of signal.Signals
        The signals now converted; empty when called outside the main thread (Python
        only runs signal handlers there).

    Notes
    -----
    The handler belongs to the process that installed it: in a child forked later
    (e.g. a ``multiprocessing`` worker), which shares the parent's stack up to the
    fork, it restores the default action and re-sends the signal, so the child ends
    as it would have without the handler and never runs the parent's cleanup.
    """
    if threading.current_thread() is not threading.main_thread():
        return []
    owner = os.getpid()

    def _terminate(signum: int, frame) -> None:
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        log.warning(
            "received %s: stopping (temporary files are removed)", signal.Signals(signum).name
        )
        raise JobTerminated(signum)

    installed = []
    for sig in signals:
        if signal.getsignal(sig) is signal.SIG_IGN:
            continue
        signal.signal(sig, _terminate)
        installed.append(sig)
    return installed


def setup_job_logging(log_path: str | Path | None, level: int = logging.INFO) -> logging.Logger:
    """Send stdout, stderr, warnings and the ``cnntopo`` logger to ``log_path``.

    Parameters
    ----------
    log_path : path-like or None
        The job's log file (Snakemake ``log[0]``). ``None`` logs to stderr.
    level : int
        Level of the ``cnntopo`` logger.

    Returns
    -------
    logging.Logger
        The ``cnntopo`` logger.

    Notes
    -----
    Also installs :func:`install_termination_handlers`: SIGTERM and SIGHUP end the
    job through :class:`JobTerminated`, removing its temporary files.
    """
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "w", buffering=1)  # noqa: SIM115 (lives as long as the job)
        sys.stdout = stream
        sys.stderr = stream
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    logger = logging.getLogger("cnntopo")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").handlers[:] = [handler]
    install_termination_handlers()
    return logger
