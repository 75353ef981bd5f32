"""Logging for workflow jobs: everything a job prints goes to its Snakemake log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

__all__ = ["setup_job_logging"]


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
    return logger
