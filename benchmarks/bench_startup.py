"""Start-up costs: the paper DAG's dry run and a job's imports, with and without bytecode.

Every Snakemake job is a fresh Python process, and so is every dry run. Where Python
may not write ``.pyc`` files (``PYTHONDONTWRITEBYTECODE=1``, common in containers and
CI, or a read-only virtualenv) and the installer wrote none (uv does not by default),
each process compiles numpy, torch, snakemake and the rest from source. This script
measures both states *in the same run*, alternating, through ``PYTHONPYCACHEPREFIX``
(Python then reads and writes bytecode only under that folder, whatever is in the
virtualenv):

- ``no bytecode``: an empty prefix folder and ``PYTHONDONTWRITEBYTECODE=1``, i.e.
  a virtualenv installed without ``.pyc`` files on such a machine;
- ``bytecode``: a prefix folder filled once beforehand, i.e. what ``setup.sh`` now
  leaves (it compiles the packages once).

It times (a) the imports of a persistence job (``cnntopo.stages.ph.persistence``,
``cnntopo.ph.persistence``, numpy, giotto-ph), (b) ``snakemake -n --quiet rules
--configfile config/paper.yaml``, and (c) loading the config schema as a DAG build
does, parsed each time with PyYAML's pure-Python loader (before) or cached (now).
Wall and CPU (user + system) seconds of the child processes; medians over the
repeats. Compare the ratios: the build machine is shared and noisy.

With ``--dag`` it times instead, alternately and with bytecode, (d) the dry run with
the config's ``figures.per_model`` against ``figures.per_model: null`` (per-model
figures of every model: 200 more jobs for the paper), printing both job counts, and
(e) where the SLURM client is installed, ``scontrol show config`` with no controller
answering, under the default ``MessageTimeout`` (10 s) and under the 2 s that
``profiles/slurm-local/slurm-local.sh`` writes (the SLURM executor plugin makes this
call at every Snakemake start). A yardstick line (``ripser`` on a 1000 x 256 Gaussian
cloud, maxdim 1) names the machine's speed.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--repeats 3] [--config config/paper.yaml] [--dag]``
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JOB_IMPORTS = "import cnntopo.stages.ph.persistence, cnntopo.ph.persistence, numpy, gph"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child process (which must succeed)."""
    cpu0, t0 = _child_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _child_cpu() - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{proc.stderr[-3000:]}")
    return wall, cpu


def _env(prefix: str, write: bool) -> dict[str, str]:
    env = {**os.environ, "PYTHONPYCACHEPREFIX": prefix}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _schema_seconds(repeats: int) -> tuple[float, float]:
    """Seconds per schema load: parsed each time (pure-Python loader) vs cached."""
    import yaml

    from cnntopo.config import SCHEMA_PATH, load_schema

    def best(fn) -> float:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    load_schema()  # fill the cache
    before = best(lambda: yaml.safe_load(SCHEMA_PATH.read_text()))
    now = best(load_schema)
    return before, now


def _jobs(cmd: list[str]) -> int:
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    totals = re.findall(r"^total\s+(\d+)$", out.stdout + out.stderr, flags=re.M)
    return int(totals[-1]) if totals else -1


def dag_variants(config: str, repeats: int) -> None:
    """(d) dry run with the config's figures.per_model vs null; (e) the scontrol wait."""
    python = sys.executable
    snakemake = str(Path(python).with_name("snakemake"))
    work = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    every = work / "per_model_null.yaml"
    every.write_text("figures:\n  per_model: null\n")
    base = [snakemake, "-n", "--quiet", "rules", "--config", f"results_dir={work / 'results'}"]
    variants = {
        "as configured": [*base, "--configfile", config],
        "figures.per_model: null": [*base, "--configfile", config, str(every)],
    }
    env = dict(os.environ)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, cmd in variants.items():
            results[name].append(_run(cmd, env))
    from bench_knee import yardstick

    print(f"yardstick: ripser 1000 x 256 Gaussian, maxdim 1: {yardstick():.2f} s")
    print(f"medians of {repeats} alternating dry runs of {config}; CPU = user + system")
    print()
    print("| variant | jobs | wall | CPU |")
    print("|---|---|---|---|")
    for name, cmd in variants.items():
        wall, cpu = (statistics.median(x) for x in zip(*results[name], strict=True))
        print(f"| {name} | {_jobs(cmd)} | {wall:.2f} s | {cpu:.2f} s |")
    conf = Path("/etc/slurm/slurm.conf")
    if shutil.which("scontrol") is None or not conf.is_file():
        print("\n(no SLURM client here: Snakemake start-up has no scontrol wait)")
        return
    text = re.sub(r"^MessageTimeout=.*$", "", conf.read_text(), flags=re.M)
    print()
    print("| slurm.conf | `scontrol show config`, no controller |")
    print("|---|---|")
    for label, extra in (("MessageTimeout default (10 s)", ""), ("MessageTimeout=2", "2")):
        path = work / f"slurm-{extra or 'default'}.conf"
        path.write_text(text + (f"\nMessageTimeout={extra}\n" if extra else ""))
        t0 = time.perf_counter()
        subprocess.run(
            ["scontrol", "show", "config"],
            env={**env, "SLURM_CONF": str(path)},
            capture_output=True,
        )
        print(f"| {label} | {time.perf_counter() - t0:.2f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--config", default="config/paper.yaml")
    parser.add_argument("--dag", action="store_true", help="time the DAG variants instead")
    args = parser.parse_args()
    if args.dag:
        dag_variants(args.config, args.repeats)
        return

    python = sys.executable
    snakemake = str(Path(python).with_name("snakemake"))
    dry_run = [snakemake, "-n", "--quiet", "rules", "--configfile", args.config]
    dry_run += ["--config", f"results_dir={tempfile.mkdtemp(prefix='bench_startup_')}"]
    commands = {
        "persistence job's imports": [python, "-c", JOB_IMPORTS],
        f"dry run of {args.config}": dry_run,
    }
    with tempfile.TemporaryDirectory() as cached:
        for cmd in commands.values():  # fill the bytecode folder once
            _run(cmd, _env(cached, write=True))
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                with tempfile.TemporaryDirectory() as empty:
                    results.setdefault((name, "none"), []).append(_run(cmd, _env(empty, False)))
                results.setdefault((name, "pyc"), []).append(_run(cmd, _env(cached, False)))

    print(f"medians of {args.repeats} alternating runs; CPU = user + system of the process")
    print()
    print("| what | no bytecode: wall / CPU | bytecode: wall / CPU | ratio wall / CPU |")
    print("|---|---|---|---|")
    for name in commands:
        none = [statistics.median(x) for x in zip(*results[(name, "none")], strict=True)]
        pyc = [statistics.median(x) for x in zip(*results[(name, "pyc")], strict=True)]
        print(
            f"| {name} | {none[0]:.2f} s / {none[1]:.2f} s | {pyc[0]:.2f} s / {pyc[1]:.2f} s "
            f"| {none[0] / pyc[0]:.1f}x / {none[1] / pyc[1]:.1f}x |"
        )
    before, now = _schema_seconds(max(5, args.repeats))
    print()
    print(
        f"config schema, per load: parsed each time {before * 1e3:.1f} ms, "
        f"cached {now * 1e3:.2f} ms ({before / now:.0f}x)"
    )


if __name__ == "__main__":
    main()
