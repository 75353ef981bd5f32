"""A config change reruns exactly the jobs it affects.

Derived from the config schema, not from a hand list: for every leaf key of
``workflow/cnntopo/schema.yaml`` the test takes the finished tiny run, changes that one
key to another schema-valid value, and asks a Snakemake dry run what it would do.

- A key that a job reads must make Snakemake schedule that job again (through the
  ``params``/``input`` rerun triggers) or change what the workflow builds.
- A key that only means something together with other settings (schema
  ``x-requires``, e.g. torchvision's weights need a torchvision network) is set on top
  of those settings and must change the jobs of that configuration.
- A key the schema marks ``x-rerun: false`` (thread counts and the like, which no
  result depends on) must change nothing.
- A Mapper key must not rerun a job of the nets or PH rules, and a PH key must not
  rerun a Mapper job: each job's params hold only what that job reads.

Because no script or stage reads ``snakemake.config`` (checked below), the params and
inputs are the only way a config value reaches a job, so a key that a job reads but
that reruns nothing is a provenance defect.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cnntopo.config import load_schema, validate_config

REPO = Path(__file__).resolve().parents[2]
UNCONDITIONAL = {"all", "experiment"}  # target rules without outputs: always "run"


def _leaf_keys(schema: dict, node: dict | None = None, path: str = ""):
    """(dotted key, schema node) of every leaf of the schema's object tree."""
    node = schema if node is None else node
    props = node.get("properties")
    if node.get("type") == "object" and props:
        for key, sub in props.items():
            yield from _leaf_keys(schema, sub, f"{path}.{key}" if path else key)
    else:
        yield path, node


def _resolve(schema: dict, node: dict) -> dict:
    if "$ref" in node:
        target = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**_resolve(schema, target), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _same_kind(schema: dict, config: dict, ref: str) -> list:
    """Values elsewhere in ``config`` of keys (or list items) typed by the schema's ``ref``."""
    found = []
    for key, node in _leaf_keys(schema):
        kinds = [node, node.get("items", {}), *node.get("oneOf", [])]
        kinds += [k.get("items", {}) for k in node.get("oneOf", [])]
        if any(k.get("$ref") == ref for k in kinds):
            value = _get(config, key)
            found += value if isinstance(value, list) else [value]
    return list(dict.fromkeys(v for v in found if isinstance(v, str)))


def _candidates(schema: dict, node: dict, current, config: dict):
    """Values to try for one key, most local change first (validity is checked later)."""
    yield from node.get("examples", [])  # the schema's own examples of valid values
    if "$ref" in node:
        yield from _same_kind(schema, config, node["$ref"])
    node = _resolve(schema, node)
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    if "array" in types and isinstance(current, list):
        if len(current) > 1:
            yield current[:-1]
        item = node.get("items", {})
        last = current[-1] if current else None
        for value in _candidates(schema, item, last, config):
            if value not in current:
                yield [*current, value]
        yield ["*1"]
    for branch in node.get("oneOf", []) + node.get("anyOf", []):
        yield from _candidates(schema, branch, current, config)
    if "const" in node:
        yield node["const"]
    yield from node.get("enum", [])
    for t in types:
        if t == "null":
            yield None
        elif t == "boolean":
            yield not current if isinstance(current, bool) else True
        elif t == "integer":
            if isinstance(current, int) and not isinstance(current, bool):
                yield from (current + 1, current - 1)
            yield from (1, 2, 0)
        elif t == "number":
            base = float(current) if isinstance(current, int | float) else 1.0
            yield from (base * 1.5 if base else 0.5, base / 2, base + 0.25)
        elif t == "string":
            yield f"{current or 'x'}x"
        elif t == "array":
            item = node.get("items", {})
            if _resolve(schema, item).get("type") == "string":
                yield ["*1"]  # a layer pattern that matches some layers of both networks
            n = node.get("minItems", 1)
            for value in _candidates(schema, item, None, config):
                yield [value] * n
        elif t == "object":
            props = node.get("properties", {})
            yield {
                k: next(_candidates(schema, props[k], None, config))
                for k in node.get("required", [])
            }
            if current:
                yield {}


def _set(cfg: dict, key: str, value) -> None:
    *parents, leaf = key.split(".")
    for part in parents:
        cfg = cfg.setdefault(part, {})
    cfg[leaf] = value


def _get(cfg: dict, key: str):
    for part in key.split("."):
        cfg = cfg[part]
    return cfg


def _rules_of(folder: str) -> set[str]:
    text = "".join(p.read_text() for p in (REPO / "workflow/rules" / folder).glob("*.smk"))
    return set(re.findall(r"^\s*rule (\w+):", text, re.M))


def _perturbations(tiny_run: Path, tmp_path: Path):
    """One (key, new value, config file) per schema leaf key, plus the keys it skips and why."""
    schema = load_schema()
    raw = yaml.safe_load((REPO / "config/tiny.yaml").read_text())
    raw["results_dir"] = str(tiny_run.parent)
    full = validate_config(copy.deepcopy(raw))
    # A checkpoint must be a real file other than the output it replaces: copies of the
    # tiny run's own weights serve.
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    for weights in tiny_run.glob("models/seed*/weights.pt"):
        shutil.copy(weights, ckpt / f"{weights.parent.name}.pt")
    shutil.copy(tiny_run / "mapper/model/weights.pt", ckpt / "mapper.pt")
    files = {
        "model.checkpoint": str(ckpt / "seed{seed}.pt"),
        "mapper.model.checkpoint": str(ckpt / "mapper.pt"),
    }
    cases, skipped = [], {}
    for n, (key, node) in enumerate(_leaf_keys(schema)):
        if key == "sweep":
            skipped[key] = "a sweep is a set of experiments, not a value a job reads"
            continue
        # A key that only means something with other settings (x-requires, e.g. torchvision
        # weights need a torchvision network) is compared with those settings alone.
        start, ref = raw, None
        if node.get("x-requires"):
            start = copy.deepcopy(raw)
            for other, value in node["x-requires"].items():
                _set(start, other, value)
            ref = tmp_path / f"ref{n}.yaml"
            ref.write_text(yaml.safe_dump(start, sort_keys=False))
        current = _get(validate_config(copy.deepcopy(start)) if ref else full, key)
        tries = [files[key]] if key in files else _candidates(schema, node, current, full)
        for value in tries:
            if value == current:
                continue
            cfg = copy.deepcopy(start)
            _set(cfg, key, value)
            try:
                validate_config(copy.deepcopy(cfg))
            except Exception:
                continue
            path = tmp_path / f"case{n}.yaml"
            path.write_text(yaml.safe_dump(cfg, sort_keys=False))
            cases.append((key, node, value, path, ref))
            break
        else:
            skipped[key] = "the schema allows no other value"
    return cases, skipped


def _dry_runs(configfiles: list[Path], tmp_path: Path) -> list[dict]:
    requests = tmp_path / "requests.json"
    requests.write_text(json.dumps([str(p) for p in configfiles]))
    proc = subprocess.run(
        [sys.executable, str(REPO / "tests/dryruns.py"), str(requests)],
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("branch", ["mapper", "ph", "nets"])
def test_no_script_or_stage_reads_the_whole_config(branch):
    offenders = [
        str(p.relative_to(REPO))
        for folder in (f"workflow/scripts/{branch}", f"workflow/cnntopo/stages/{branch}")
        for p in (REPO / folder).rglob("*.py")
        if "snakemake.config" in p.read_text()
    ]
    assert not offenders, f"these read snakemake.config instead of params: {offenders}"


@pytest.mark.slow
@pytest.mark.parametrize("branch", ["mapper", "other"])
def test_every_config_key_reruns_exactly_the_jobs_that_read_it(branch, tiny_run, tmp_path):
    cases, skipped = _perturbations(tiny_run, tmp_path)
    n_keys = len(cases) + len(skipped)
    cases = [c for c in cases if (c[0].split(".")[0] == "mapper") == (branch == "mapper")]
    base_cfg = tmp_path / "base.yaml"
    raw = yaml.safe_load((REPO / "config/tiny.yaml").read_text())
    base_cfg.write_text(
        yaml.safe_dump({**raw, "results_dir": str(tiny_run.parent)}, sort_keys=False)
    )
    refs = [c[4] for c in cases if c[4] is not None]
    base, *results = _dry_runs([base_cfg] + [c[3] for c in cases] + refs, tmp_path)
    ref_results = dict(zip(refs, results[len(cases) :], strict=True))
    assert base["error"] is None, base["error"]
    assert set(base["jobs"]) <= UNCONDITIONAL, f"the tiny run is not complete: {base['jobs']}"

    ph_rules = _rules_of("nets") | _rules_of("ph")
    mapper_rules = _rules_of("mapper")
    assert ph_rules and mapper_rules
    ph_sections = {"model", "training", "activations", "persistence", "distances"}
    ph_sections |= {"sensitivity", "similarity"}
    problems = []
    for (key, node, value, _, ref), res in zip(cases, results[: len(cases)], strict=True):
        what = f"{key} -> {value!r}"
        against = base if ref is None else ref_results[ref]
        if res["error"] or against["error"]:
            problems.append(f"{what}: dry run failed: {res['error'] or against['error']}")
            continue
        if ref is None:
            rerun = set(res["jobs"]) - UNCONDITIONAL
        else:  # both schedule everything: the jobs, or the values they read, must differ
            differ = set(res["job_params"]) ^ set(against["job_params"])
            rerun = {job.split(" ", 1)[0] for job in differ}  # their rules
        changed = bool(rerun) or res["targets"] != against["targets"]
        if node.get("x-rerun") is False:
            if changed:
                problems.append(f"{what}: marked x-rerun: false but reruns {sorted(rerun)}")
        elif not changed:
            problems.append(f"{what}: silently ignored (no job scheduled, same targets)")
        if key.split(".")[0] == "mapper" and rerun & ph_rules:
            problems.append(f"{what}: a Mapper key reruns PH jobs {sorted(rerun & ph_rules)}")
        if key.split(".")[0] in ph_sections and rerun & mapper_rules:
            problems.append(f"{what}: a PH key reruns Mapper jobs {sorted(rerun & mapper_rules)}")
    assert not problems, "\n".join(problems)
    assert n_keys == len(list(_leaf_keys(load_schema()))) and len(skipped) <= 5, skipped


@pytest.mark.slow
def test_mapper_image_count_reruns_the_image_selection(tiny_run, tmp_path):
    """The measured defect: mapper.images.per_class used to be ignored ("Nothing to be done")."""
    raw = yaml.safe_load((REPO / "config/tiny.yaml").read_text())
    raw["results_dir"] = str(tiny_run.parent)
    raw["mapper"].setdefault("images", {})["per_class"] = 20
    cfg = tmp_path / "per_class.yaml"
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False))
    (res,) = _dry_runs([cfg], tmp_path)
    assert res["error"] is None, res["error"]
    assert "select_mapper_images" in res["jobs"] and "mapper_graph" in res["jobs"]
    assert "train_model" not in res["jobs"] and "persistence_diagrams" not in res["jobs"]
