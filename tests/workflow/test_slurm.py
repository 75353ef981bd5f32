"""SLURM execution on a real scheduler.

config/tiny.yaml runs through ``--executor slurm`` with the project's profile
(profiles/slurm) on a one-node SLURM cluster on loopback that
profiles/slurm-local/slurm-local.sh installs (apt-get) and starts. The test is skipped
only where that cannot work: not root, or the SLURM packages are missing and cannot be
installed. Daemons the fixture starts are stopped again at the end; daemons that were
already running are left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "profiles" / "slurm-local" / "slurm-local.sh"
SLURM_BINARIES = ("slurmctld", "slurmd", "sbatch", "munged")
INIT_SECONDS = 5  # first status check after 5 s (profile: 40 s); needs MinJobAge >= 15 s
# s; on a busy 2-core machine 104 jobs took 1309 s, the 36 of one persistence job per model
# 238 s. SIGKILL: SIGTERM may hang
RUN_TIMEOUT = 3000
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")

pytestmark = pytest.mark.slurm


def _installed(binary: str) -> bool:
    return shutil.which(binary) is not None or Path("/usr/sbin", binary).exists()


def _min_job_age() -> int | None:
    out = subprocess.run(
        ["scontrol", "show", "config"], capture_output=True, text=True, timeout=30
    ).stdout
    match = re.search(r"^MinJobAge\s*=\s*(\d+)", out, flags=re.MULTILINE)
    return int(match.group(1)) if match else None


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running loopback SLURM cluster; yields the daemons this fixture started."""
    if os.geteuid() != 0:
        pytest.skip("needs root to install and start SLURM (munged, slurmctld, slurmd)")
    if not all(map(_installed, SLURM_BINARIES)) and shutil.which("apt-get") is None:
        pytest.skip("SLURM is not installed and there is no apt-get to install it")
    # the real cluster's slurm.conf, not the quick-failing client copy of conftest.py
    quick_conf = os.environ.pop("SLURM_CONF", None)
    proc = subprocess.run(
        ["bash", str(SCRIPT), "start"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )
    started = re.findall(r"^started: (\S+)$", proc.stdout, flags=re.MULTILINE)
    try:
        if proc.returncode == 4:
            pytest.skip(f"SLURM packages could not be installed: {proc.stderr.strip()[-500:]}")
        assert proc.returncode == 0, f"slurm-local.sh start failed:\n{proc.stderr[-4000:]}"
        min_job_age = _min_job_age()
        assert min_job_age is not None and min_job_age >= 3 * INIT_SECONDS, (
            f"MinJobAge={min_job_age}: the slurm plugin would fall back to sacct, which "
            "needs slurmdbd; set MinJobAge >= 15 in slurm.conf"
        )
        yield started
    finally:
        if quick_conf is not None:
            os.environ["SLURM_CONF"] = quick_conf
        if started:
            subprocess.run(
                ["bash", str(SCRIPT), "stop", *started],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=120,
            )


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory):
    """config/tiny.yaml through the SLURM profile; returns (process, results dir, log dir)."""
    base = tmp_path_factory.mktemp("slurm")
    results, logdir = base / "results", base / "slurm_logs"
    # The loopback node has no GPU: with device "auto" the training/extraction rules ask
    # for one (gpu=1 -> sbatch --gpus=1), which sbatch rejects there. device "cpu" gives
    # gpu=0, which the plugin turns into no GPU request at all.
    # Smaller than the tiny run itself (about half its jobs): every kind of rule
    # still goes through sbatch, on fewer layers, one Mapper construction and setting.
    cpu_only = base / "cpu_only.yaml"
    cpu_only.write_text(
        yaml.safe_dump(
            {
                "training": {"device": "cpu"},
                "activations": {"layers": ["conv1", "block_seq.3.1.conv?"]},
                "distances": {"within_metrics": ["sliced_wasserstein"]},
                "mapper": {
                    "training": {"device": "cpu"},
                    "constructions": ["random"],
                    "layers": ["layer4.1.bn2"],
                    "noise": {"sigmas": []},
                    "graph": {"intervals": [8]},
                    "figures": {"panel_layers": ["layer4.1.bn2"]},
                },
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SBATCH_ACCOUNT", "SBATCH_PARTITION")}
    cmd = [
        "timeout", "-s", "KILL", str(RUN_TIMEOUT),
        sys.executable, "-m", "snakemake",
        "--workflow-profile", "profiles/slurm",
        "--configfile", "config/tiny.yaml", str(cpu_only),
        "--config", f"results_dir={results}",
        "--jobs", "4",  # SLURM queues the extra jobs: hides the status-polling delay
        # loopback overrides: quick status checks, every job's SLURM log kept for the checks
        "--slurm-init-seconds-before-status-checks", str(INIT_SECONDS),
        "--slurm-logdir", str(logdir),
        "--slurm-keep-successful-logs",
        "all",
    ]  # fmt: skip
    start = time.monotonic()
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    print(f"\n[slurm] tiny workflow through SLURM: {time.monotonic() - start:.0f} s wall time")
    return proc, results / "tiny", logdir


def _failure_report(proc: subprocess.CompletedProcess, logdir: Path) -> str:
    logs = sorted(logdir.rglob("*.log"))
    failed = [p for p in logs if "Finished jobid: 0" not in p.read_text(errors="replace")]
    tails = "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-2000:]}" for p in failed[:3])
    return f"rc={proc.returncode}\n{proc.stderr[-6000:]}\n{tails}"


def test_tiny_workflow_completes_under_slurm(slurm_run):
    proc, out, logdir = slurm_run
    assert proc.returncode == 0, _failure_report(proc, logdir)
    for rel in (
        "figures/heatmap_mean_sliced_wasserstein_H1.png",
        "figures/training.png",
        "models/summary.csv",
        "figures/diagrams/seed0.png",
        "figures/diagrams/seed1.png",
    ):
        assert (out / rel).stat().st_size > 0, rel
    for seed in (0, 1):
        assert list((out / "diagrams" / "topl2" / f"seed{seed}").glob("*.npz")), seed


def test_every_non_local_job_ran_as_a_slurm_job(slurm_run):
    proc, _, logdir = slurm_run
    assert proc.returncode == 0, _failure_report(proc, logdir)
    text = proc.stderr + proc.stdout
    submitted = SUBMITTED.findall(text)
    remote = Counter(re.findall(r"^rule (\w+):$", text, flags=re.MULTILINE))
    local = Counter(re.findall(r"^localrule (\w+):$", text, flags=re.MULTILINE))
    total = int(re.search(r"^total\s+(\d+)$", text, flags=re.MULTILINE).group(1))
    print(f"[slurm] {len(submitted)} SLURM jobs: {dict(sorted(remote.items()))}")

    # one sbatch submission per non-local job, with distinct SLURM job ids
    assert remote and len(submitted) == sum(remote.values())
    slurm_ids = [slurm_id for _, slurm_id, _ in submitted]
    assert len(set(slurm_ids)) == len(slurm_ids)
    # every job of the DAG ran: on SLURM, or locally as a localrule (`all`)
    assert len({job for job, _, _ in submitted}) + sum(local.values()) == total
    assert local == Counter({"all": 1})
    # one persistence job per model (2 seeds), each writing the diagrams of all 3 layers
    assert remote["persistence_diagrams"] == 2 and remote["topl2_pointclouds"] == 2

    # SLURM itself ran each job: slurmd wrote its output to <logdir>/rule_<rule>/.../<id>.log,
    # and inside each, Snakemake's job step finished that rule
    logs = {p.stem: p for p in logdir.rglob("*.log")}
    assert sorted(logs) == sorted(slurm_ids)
    ran = Counter()
    for slurm_id, path in logs.items():
        rule = path.relative_to(logdir).parts[0].removeprefix("rule_")
        assert f"Finished jobid: 0 (Rule: {rule})" in path.read_text(), (slurm_id, rule)
        ran[rule] += 1
    assert ran == remote
