"""A job's output goes to its log file: prints, stderr, warnings and the cnntopo logger."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import REPO

JOB = textwrap.dedent(
    """
    import logging, sys, warnings
    from cnntopo.logs import setup_job_logging

    log = setup_job_logging(sys.argv[1] if len(sys.argv) > 1 else None)
    assert log is logging.getLogger("cnntopo") and not log.propagate
    print("printed")
    print("to stderr", file=sys.stderr)
    warnings.warn("a warning")
    logging.getLogger("cnntopo").info("logged %d", 42)
    logging.getLogger("cnntopo").debug("not at INFO")
    """
)


def _job(*args: str) -> subprocess.CompletedProcess:
    """Run the job above in a fresh interpreter (logging setup is global state)."""
    return subprocess.run(
        [sys.executable, "-c", JOB, *args],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "workflow")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_everything_a_job_writes_goes_to_its_log(tmp_path):
    log = tmp_path / "logs" / "seed0" / "job.log"  # the folder does not exist yet
    proc = _job(str(log))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == proc.stderr == ""
    text = log.read_text()
    for line in ("printed", "to stderr", "UserWarning: a warning", "INFO logged 42"):
        assert line in text, text
    assert "not at INFO" not in text


def test_a_rerun_replaces_the_old_log(tmp_path):
    log = tmp_path / "job.log"
    log.write_text("an earlier attempt\n")
    assert _job(str(log)).returncode == 0
    assert "an earlier attempt" not in log.read_text() and "printed" in log.read_text()


def test_without_a_log_file_the_job_logs_to_stderr():
    proc = _job()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "printed\n"
    assert "INFO logged 42" in proc.stderr and "UserWarning: a warning" in proc.stderr
