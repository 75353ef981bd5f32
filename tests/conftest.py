"""Shared fixtures: the repository root, a Snakemake runner and one tiny end-to-end run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# The end-to-end runs. Each run's tests go to one xdist worker, so that the run is made
# once and overlaps with the other runs and the unit tests on the other worker. xdist's
# own `xdist_group` marker is inert with pytest 9 (it renames `item._nodeid`, which
# pytest 9 no longer reads), so the scheduler below groups by node id instead.
TINY_RUN_FILES = (
    "test_tiny_run.py",
    "test_provenance.py",
    "test_notebook.py",
    "test_cycles_run.py",
)


#: Files of the other end-to-end runs (minutes each).
OTHER_RUN_FILES = (
    "test_interrupted_runs.py",
    "test_dead_layer_run.py",
    "test_extension_doors.py",
    "test_any_network.py",
    "test_mapper_eps_run.py",
)


def run_group(nodeid: str) -> str | None:
    """The end-to-end run whose tests ``nodeid`` belongs to, or None.

    Tests elsewhere that take the ``tiny_run`` fixture still work on either worker; a
    worker makes the tiny run once for all its tests.
    """
    path, _, name = nodeid.partition("::")
    file = path.rsplit("/", 1)[-1]
    if file in TINY_RUN_FILES or name == "test_browser_renders_the_workflow_explorer":
        return "tiny"
    # the SLURM run, then the sweep run: about as long as the tiny run and its tests
    if file == "test_slurm.py" or name == "test_sweep_runs_end_to_end":
        return "slurm+sweep"
    # the other end-to-end runs, one after the other on one worker, scheduled right after
    # the two groups above: left as single tests, one of them would start last and the
    # whole suite would wait for it
    if file in OTHER_RUN_FILES:
        return "runs"
    return None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Schedule each group of :func:`run_group` as one unit; xdist starts the largest first."""
    from xdist.scheduler import LoadScopeScheduling

    class RunScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return run_group(nodeid) or nodeid

    return RunScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def _quick_slurm_client(tmp_path_factory):
    """Let ``scontrol`` give up after 1 s instead of about 9 s when no controller runs.

    Wherever ``sinfo`` is installed, the SLURM executor plugin runs ``scontrol show
    config`` while Snakemake builds its command line, i.e. at every Snakemake start,
    executor or not. On a machine with the SLURM client but no running controller (a CI
    machine after tests/workflow/test_slurm.py stopped its loopback cluster) that call waits for
    the controller about 9 s each time. The tests' Snakemake runs read a copy of
    ``slurm.conf`` with ``MessageTimeout=1`` instead; tests/workflow/test_slurm.py drops it.
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
