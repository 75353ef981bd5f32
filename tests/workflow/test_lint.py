"""Lint and formatting: ruff, snakefmt and snakemake --lint are clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import run_snakemake

BIN = Path(sys.executable).parent


def _tool(name):
    path = BIN / name
    return str(path) if path.exists() else shutil.which(name)


def test_ruff_clean(repo):
    proc = subprocess.run([_tool("ruff"), "check", "."], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_clean(repo):
    proc = subprocess.run(
        [_tool("snakefmt"), "--check", "Snakefile", "workflow/rules"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakemake_lint_clean():
    proc = run_snakemake("--lint", timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr
