"""Conda environment files: valid structure, and the same pins as requirements.txt."""

from __future__ import annotations

import re

import pytest
import yaml
from packaging.requirements import Requirement

ALLOWED = {"name", "channels", "dependencies", "variables"}


def _pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            req = Requirement(line)
            pins[req.name.lower()] = str(req.specifier)
    return pins


def _env_files(repo):
    files = sorted((repo / "workflow" / "envs").glob("*.yaml"))
    assert {f.stem for f in files} >= {"torch", "tda", "plot"}
    return files


def test_env_files_are_pinned_like_requirements(repo):
    pins = _pins(repo / "requirements.txt")
    for f in _env_files(repo):
        env = yaml.safe_load(f.read_text())
        assert set(env) <= ALLOWED, f"{f.name}: unexpected keys {set(env) - ALLOWED}"
        assert env["channels"] == ["conda-forge", "nodefaults"]
        deps = env["dependencies"]
        assert "python=3.11" in deps and "pip" in deps
        pip = next(d["pip"] for d in deps if isinstance(d, dict))
        for spec in pip:
            req = Requirement(spec)
            assert re.fullmatch(r"==[\w.]+", str(req.specifier)), (
                f"{f.name}: {spec} is not an exact pin"
            )
            assert pins.get(req.name.lower()) == str(req.specifier), (
                f"{f.name}: {spec} differs from requirements.txt ({pins.get(req.name.lower())})"
            )


def test_every_rule_has_a_conda_env_and_log(repo):
    snakemake_api = pytest.importorskip("snakemake.api")
    from pathlib import Path

    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with snakemake_api.SnakemakeApi(OutputSettings()) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(),
            snakefile=Path(repo / "Snakefile"),
            workdir=Path(repo),
        )
        rules = list(wf._workflow.rules)
    assert len(rules) >= 10
    for rule in rules:
        if rule.name in ("all", "experiment"):  # target rules: no job runs
            continue
        assert rule.conda_env, f"rule {rule.name} has no conda: directive"
        # relative to the rule file (Snakemake's convention): workflow/envs/<kind>.yaml
        env = Path(rule.basedir.get_path_or_uri(secret_free=True)) / rule.conda_env
        assert env.resolve().parent == (repo / "workflow" / "envs").resolve(), (
            f"rule {rule.name}: {rule.conda_env} is not in workflow/envs"
        )
        assert env.exists(), f"rule {rule.name}: {env} missing"
        assert rule.log, f"rule {rule.name} has no log:"
