"""Shared fixtures: the repository root, a Snakemake runner and one tiny end-to-end run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_snakemake(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run ``python -m snakemake ARGS`` in the repository root (no stdin, output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """Run config/tiny.yaml through Snakemake once per test session; return its output folder.

    For quick iterations on the checks, ``CNNTOPO_TINY_RESULTS=<results_dir>`` reuses a
    finished tiny run (made with ``--config results_dir=<results_dir>``) after checking
    with a dry run that it is complete and up to date.
    """
    reuse = os.environ.get("CNNTOPO_TINY_RESULTS")
    if reuse:
        proc = run_snakemake(
            "-n", "--configfile", "config/tiny.yaml", "--config", f"results_dir={reuse}"
        )
        assert "Nothing to be done" in proc.stdout + proc.stderr, (
            f"CNNTOPO_TINY_RESULTS={reuse} is not a complete, up-to-date tiny run"
        )
        return Path(reuse) / "tiny"
    results = tmp_path_factory.mktemp("results")
    proc = run_snakemake(
        "--cores", "2", "--configfile", "config/tiny.yaml", "--config", f"results_dir={results}"
    )
    assert proc.returncode == 0, (
        f"tiny workflow failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-8000:]}"
    )
    return results / "tiny"
