"""Interrupted runs resume: Ctrl-C and ``kill -9``, then the same command, give the same outputs.

The workflow's default profile (``profiles/default/config.yaml``, loaded by Snakemake
itself) sets ``rerun-incomplete``, so rerunning the command of an interrupted run redoes
the jobs that were running instead of stopping with ``IncompleteFilesException``. The
slow test runs a reduced tiny configuration three times in one results folder, with one
command: once to the end (the reference), once interrupted with SIGINT on its process
group (what Ctrl-C at a terminal sends) as soon as the first persistence diagram is
written, then rerun, and once killed with SIGKILL on its process group at the same
point, given the 0-byte temporary file a write cut short leaves (the bug report's
``figures/diagrams/.seed1.pdf.<random>.pdf.tmp``), then rerun as the README says
(``--unlock`` first when Snakemake reports the stale lock). Every output of the two
resumed runs must equal the reference byte for byte, ``weights.pt`` included, except
the fields listed below that record timings or the machine (and the logs and benchmark
tables, which only exist to record them); no temporary file may remain.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
import yaml

from conftest import REPO

EXPERIMENT = "tiny"

#: The reduced tiny run: two seeds, one epoch on 512 images, four layers, the topl2
#: diagrams and the main metric only, no cycles, no bootstrap, no sensitivity test,
#: linear CKA as the only similarity measure, no Mapper branch.
REDUCED = {
    "training": {"epochs": 1, "lr_peak_epoch": 0, "max_train_images": 512},
    "activations": {
        "layers": ["conv1", "block_seq.1.0.conv2", "block_seq.2.1.conv2", "block_seq.3.1.conv2"]
    },
    "persistence": {"representations": ["topl2"]},
    "cycles": {"enabled": False},
    "distances": {"within_metrics": ["sliced_wasserstein"], "bootstrap": 0},
    "sensitivity": {"enabled": False},
    "similarity": {
        "measures": ["cka_linear"],
        "representations": ["topl2"],
        "diagram_distances": ["sliced_wasserstein_H1"],
        "bootstrap": 100,
        "permutations": 200,
    },
    "mapper": {"enabled": False},
}

#: Folders of per-run records (relative to the experiment folder): the job logs and
#: Snakemake's benchmark tables (wall time, memory). Their files must exist in both runs;
#: their contents are not compared.
RECORDS = ("logs", "benchmarks")

#: JSON outputs and their fields that hold timings or the machine (``a.*.b``: key ``b``
#: of every item of the list ``a``).
JSON_TIMINGS = {
    "activations/seed*/manifest.json": ("seconds",),
    "models/seed*/train.json": ("wall_seconds", "train_seconds", "history.*.seconds", "provenance"),
}
#: ``.npz`` outputs whose JSON ``meta`` entry records the job's time.
NPZ_META_TIMINGS = {
    "diagrams/topl2/seed*/*.npz": ("seconds",),
    "distances/topl2/sliced_wasserstein_H1/*.npz": ("seconds",),
    "similarity/topl2/cross_*.npz": ("seconds",),
}
#: CSV outputs and their timing columns.
CSV_TIMINGS = {"models/summary.csv": ("train_seconds",)}

RUN_TIMEOUT = 900  # a guard only: the reduced run takes about 1 min on 2 idle cores
LOCKED = "Directory cannot be locked"


def test_the_default_profile_is_loaded_and_keeps_the_slurm_profile(monkeypatch):
    """Snakemake finds profiles/default by itself, and it agrees with profiles/slurm."""
    from snakemake.cli import parse_args

    monkeypatch.chdir(REPO)
    _, plain = parse_args(["-n"])
    assert plain.rerun_incomplete and plain.show_failed_logs and not plain.printshellcmds
    assert not plain.keep_going and plain.retries == 0 and plain.default_resources is None
    _, none = parse_args(["-n", "--workflow-profile", "none"])
    assert not none.rerun_incomplete and not none.show_failed_logs
    # --profile profiles/slurm: merged with the default workflow profile, whose keys win
    # per key; every key of the SLURM profile survives (executor, retries, keep-going,
    # its default-resources, which a default-resources key here would drop)
    _, merged = parse_args(["-n", "--profile", "profiles/slurm"])
    _, alone = parse_args(["-n", "--workflow-profile", "profiles/slurm"])
    for args in (merged, alone):
        assert args.executor == "slurm" and args.retries == 2 and args.keep_going
        assert args.rerun_incomplete and args.show_failed_logs
        assert args.default_resources is not None
        assert "mem_mb" in args.default_resources and "runtime" in args.default_resources
    keys = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    slurm = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    local = yaml.safe_load((REPO / "profiles/local/config.yaml").read_text())
    for key, value in keys.items():  # the same value in every profile: no surprises
        assert slurm[key] == value and local[key] == value, key


# --------------------------------------------------------------------------- the runs


def _command(results: Path, overlay: Path) -> list[str]:
    return [
        sys.executable, "-m", "snakemake", "--cores", "2",
        "--configfile", "config/tiny.yaml", str(overlay),
        "--config", f"results_dir={results}",
    ]  # fmt: skip


def _run(cmd: list[str], log: Path) -> tuple[int, str]:
    """Run ``cmd`` in the repository root to the end; return its exit status and output."""
    with open(log, "w") as out:
        proc = subprocess.run(
            cmd, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            timeout=RUN_TIMEOUT,
        )  # fmt: skip
    return proc.returncode, log.read_text()


def _interrupt(cmd: list[str], out_dir: Path, sig: signal.Signals, log: Path) -> Path:
    """Start ``cmd``; at the first persistence diagram, send ``sig`` to its process group.

    Returns the diagram whose appearance triggered the signal.
    """
    diagrams = out_dir / "diagrams" / "topl2"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )  # fmt: skip
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            first = None
            while first is None:
                assert proc.poll() is None, f"the run ended before any diagram:\n{log.read_text()}"
                assert time.monotonic() < deadline, "no diagram within the time limit"
                first = next(iter(sorted(diagrams.glob("seed*/*.npz"))), None)
                time.sleep(0.05)
            os.killpg(proc.pid, sig)
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    assert proc.returncode != 0, f"{sig.name} did not stop the run:\n{log.read_text()[-3000:]}"
    if sig == signal.SIGKILL:  # its jobs die with it; wait until the whole group is gone
        for _ in range(100):
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
    return first


def _temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.tmp"))


# --------------------------------------------------------------------------- comparison


def _matches(rel: str, patterns) -> tuple[str, ...]:
    fields: tuple[str, ...] = ()
    for pattern, names in patterns.items():
        if PurePosixPath(rel).match(pattern):
            fields += names
    return fields


def _drop(obj, dotted: str) -> None:
    """Remove ``dotted`` (``a.b``, ``a.*.b``) from a parsed JSON object in place."""
    head, _, rest = dotted.partition(".")
    if not rest:
        assert head in obj, f"no field {dotted!r}: the timing list is out of date"
        del obj[head]
        return
    for child in obj if head == "*" else [obj[head]]:
        _drop(child, rest)


def _json_without(path: Path, fields) -> object:
    obj = json.loads(path.read_text())
    for field in fields:
        _drop(obj, field)
    return obj


def _npz_without(path: Path, fields) -> tuple[dict, dict]:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: (z[k].dtype.str, z[k].shape, z[k].tobytes()) for k in z.files if k != "meta"}
        meta = json.loads(str(z["meta"])) if "meta" in z.files else None
    for field in fields if meta is not None else ():  # e.g. mean.npz: no meta, no timing
        _drop(meta, field)
    return arrays, meta


def _csv_without(path: Path, columns) -> list[dict]:
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(c in rows[0] for c in columns), f"{path}: no column {columns}"
    return [{k: v for k, v in row.items() if k not in columns} for row in rows]


def _differences(reference: Path, other: Path) -> list[str]:
    """The outputs of ``other`` that differ from ``reference`` (see the module docstring)."""
    ref = {p.relative_to(reference).as_posix() for p in reference.rglob("*") if p.is_file()}
    new = {p.relative_to(other).as_posix() for p in other.rglob("*") if p.is_file()}
    problems = [f"only in the reference: {r}" for r in sorted(ref - new)]
    problems += [f"only in the resumed run: {r}" for r in sorted(new - ref)]
    used = set()
    for rel in sorted(ref & new):
        a, b = reference / rel, other / rel
        if rel.split("/", 1)[0] in RECORDS:
            continue
        if fields := _matches(rel, JSON_TIMINGS):
            same = _json_without(a, fields) == _json_without(b, fields)
            used |= {p for p in JSON_TIMINGS if PurePosixPath(rel).match(p)}
        elif fields := _matches(rel, NPZ_META_TIMINGS):
            same = _npz_without(a, fields) == _npz_without(b, fields)
            used |= {p for p in NPZ_META_TIMINGS if PurePosixPath(rel).match(p)}
        elif fields := _matches(rel, CSV_TIMINGS):
            same = _csv_without(a, fields) == _csv_without(b, fields)
            used |= {p for p in CSV_TIMINGS if PurePosixPath(rel).match(p)}
        else:
            same = a.read_bytes() == b.read_bytes()
        if not same:
            problems.append(f"differs: {rel}")
    unused = {*JSON_TIMINGS, *NPZ_META_TIMINGS, *CSV_TIMINGS} - used
    problems += [f"timing pattern matches no output: {p}" for p in sorted(unused)]
    return problems


# --------------------------------------------------------------------------- the test


@pytest.mark.slow
def test_interrupted_runs_resume_to_the_same_outputs(tmp_path):
    overlay = tmp_path / "reduced.yaml"
    overlay.write_text(yaml.safe_dump(REDUCED))
    results = tmp_path / "results"
    out_dir = results / EXPERIMENT
    cmd = _command(results, overlay)
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    start = time.monotonic()

    # 1. the reference: one uninterrupted run
    rc, text = _run(cmd, tmp_path / "reference.log")
    assert rc == 0, text[-5000:]
    reference = Path(shutil.move(out_dir, snapshots / "reference"))
    assert (reference / "models/seed0/weights.pt").stat().st_size > 0

    # 2. Ctrl-C during persistence, then the same command
    first = _interrupt(cmd, out_dir, signal.SIGINT, tmp_path / "sigint.log")
    assert not _temporaries(out_dir), "a job interrupted by SIGINT left a temporary file"
    rc, text = _run(cmd, tmp_path / "sigint-rerun.log")
    assert rc == 0 and "IncompleteFilesException" not in text, text[-5000:]
    assert not _temporaries(out_dir), _temporaries(out_dir)
    problems = _differences(reference, out_dir)
    assert not problems, f"after SIGINT at {first.name}:\n" + "\n".join(problems)
    shutil.rmtree(out_dir)

    # 3. kill -9 during persistence, plus the 0-byte temporary files of writes cut short
    # (one in tempfile.mkstemp's alphabet, as earlier versions named them) of figures no
    # job had started (a grid needs all diagrams of its model); then the README's
    # recipe: the same command, with --unlock first if Snakemake reports the stale lock
    first = _interrupt(cmd, out_dir, signal.SIGKILL, tmp_path / "sigkill.log")
    planted = [
        out_dir / "figures/diagrams/.seed1.pdf.k_3x9q2a.pdf.tmp",
        out_dir / "figures/diagrams/.seed0.png.0a1b2c3d.png.tmp",
    ]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    left = _temporaries(out_dir)
    rc, text = _run(cmd, tmp_path / "sigkill-rerun.log")
    if rc != 0 and LOCKED in text:
        rc, text = _run([*cmd, "--unlock"], tmp_path / "sigkill-unlock.log")
        assert rc == 0, text[-3000:]
        rc, text = _run(cmd, tmp_path / "sigkill-rerun2.log")
    assert rc == 0 and "IncompleteFilesException" not in text, text[-5000:]
    assert not _temporaries(out_dir), f"left by kill -9 ({left}), still there"
    problems = _differences(reference, out_dir)
    assert not problems, f"after SIGKILL at {first.name}:\n" + "\n".join(problems)
    print(f"\n[interrupted runs] three runs in {time.monotonic() - start:.0f} s")
