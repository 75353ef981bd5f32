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

Run: ``.venv/bin/python benchmarks/bench_startup.py [--repeats 3] [--config config/paper.yaml]``
"""

from __future__ import annotations

import argparse
import os
import resource
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--config", default="config/paper.yaml")
    args = parser.parse_args()

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
