"""Shared fixtures: the repository root, a Snakemake runner and one tiny end-to-end run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# The end-to-end runs, longest first; tests/test_slurm.py, the tests that read the tiny
# run and the sweep run each stay on one xdist worker (one run each), so the runs overlap
# with each other and with the unit tests on the other worker.
LONG_RUNS = ("slurm", "tiny", "sweep")


def _long_run(item: pytest.Item) -> str | None:
    if item.path.name == "test_slurm.py":
        return "slurm"
    if "tiny_run" in getattr(item, "fixturenames", ()):
        return "tiny"
    if item.path.name == "test_sweep.py" and item.get_closest_marker("slow"):
        return "sweep"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group each end-to-end run's tests on one xdist worker and start the long runs first."""
    groups = {item.nodeid: _long_run(item) for item in items}
    for item in items:
        if groups[item.nodeid]:
            item.add_marker(pytest.mark.xdist_group(groups[item.nodeid]))
    rank = {name: i for i, name in enumerate(LONG_RUNS)}
    items.sort(key=lambda item: rank.get(groups[item.nodeid], len(rank)))


@pytest.fixture(scope="session", autouse=True)
def _quick_slurm_client(tmp_path_factory):
    """Let ``scontrol`` give up after 1 s instead of about 9 s when no controller runs.

    Wherever ``sinfo`` is installed, the SLURM executor plugin runs ``scontrol show
    config`` while Snakemake builds its command line, i.e. at every Snakemake start,
    executor or not. On a machine with the SLURM client but no running controller (a CI
    machine after tests/test_slurm.py stopped its loopback cluster) that call waits for
    the controller about 9 s each time. The tests' Snakemake runs read a copy of
    ``slurm.conf`` with ``MessageTimeout=1`` instead; tests/test_slurm.py drops it.
    """
    conf = Path("/etc/slurm/slurm.conf")
    if "SLURM_CONF" in os.environ or not conf.is_file() or shutil.which("sinfo") is None:
        yield
        return
    quick = tmp_path_factory.mktemp("slurm-client") / "slurm.conf"
    quick.write_text(conf.read_text() + "\nMessageTimeout=1\n")
    os.environ["SLURM_CONF"] = str(quick)
    try:
        yield
    finally:
        os.environ.pop("SLURM_CONF", None)


def run_snakemake(*args: str, timeout: int = 2400) -> subprocess.CompletedProcess:
    """Run ``python -m snakemake ARGS`` in the repository root (no stdin, output captured).

    ``timeout`` only guards against a hung run: the end-to-end runs share two cores with
    the other xdist worker and may take three times longer on a slow machine.
    """
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
