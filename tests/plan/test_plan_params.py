"""Every param change of every job reruns it: params carry their names (cnntopo.plan.named).

Snakemake records a job's params as the *set* of their serialized values, without names
(``Persistence._params``), so a param that takes a value another param has, or two
params that swap values, leave the record unchanged and the job is not rerun. The rules
add a ``fingerprint`` param ({name: value}); this test changes every param of every job
of the tiny and the paper DAGs and checks with Snakemake's own machinery (the rule's
``expand_params`` and ``PersistenceBase._serialize_param_builtin``) that the record changes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest

from cnntopo.plan.params import FINGERPRINT, is_derived, named

snakemake_api = pytest.importorskip("snakemake.api")

CONFIGS = ("config/tiny.yaml", "config/paper.yaml")


def _serialize(value: Any) -> Any:
    """Snakemake's serialization of one param value (None-safe: it uses no state)."""
    from snakemake.persistence import PersistenceBase

    return PersistenceBase._serialize_param_builtin(None, value)


def record(rule, job, params: dict[str, Any]) -> set[str]:
    """What Snakemake compares for ``job`` if ``rule`` had ``params``: the set of serialized
    non-derived params (``Persistence._params``, compared as a set by
    ``params_changed``), computed by ``Rule.expand_params``."""
    from snakemake.iocontainers import Params
    from snakemake.persistence import UNREPRESENTABLE

    saved = rule._params
    rule._params = Params()
    try:
        rule.set_params(**params)
        _, non_derived = rule.expand_params(job.wildcards_dict, job.input, job.output, job)
    finally:
        rule._params = saved
    return {s for s in map(_serialize, non_derived) if s is not UNREPRESENTABLE}


def changed(value: Any) -> Any:
    """A different value of the same type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 2 + 1
    if isinstance(value, str):
        return value + "_changed"
    if isinstance(value, list | tuple):
        return type(value)([*value, value[0]] if value else [None])
    if isinstance(value, dict):
        return {**value, "__changed__": True}
    if value is None:
        return 0
    raise TypeError(f"no changed value for {type(value).__name__}")


def written_params(rule) -> tuple[dict[str, Any], bool]:
    """The params of a rule as written in its rule file, and whether they are named()."""
    items = dict(rule.params.items())
    fingerprint = items.pop(FINGERPRINT, None)
    if fingerprint is not None:
        return dict(fingerprint.params), True
    return items, False


def undetected_changes(rule, job, with_fingerprint: bool = True) -> list[str]:
    """Changes of one job's params that Snakemake's params record would not see.

    Each compared param's value (as evaluated for the job) is replaced by each sibling's
    value and by a changed value of its own type; the replacement is a callable of the
    wildcards returning it (as a config value read through the plan would be).
    """
    raw, is_named = written_params(rule)
    if not with_fingerprint:
        is_named = False
    build = named if is_named else dict
    params, _ = rule.expand_params(job.wildcards_dict, job.input, job.output, job)
    values = {k: v for k, v in params.items() if k != FINGERPRINT and not is_derived(raw[k])}
    base = record(rule, job, build(**raw))
    misses = []
    for name, value in values.items():
        candidates = [("changed", changed(value))]
        candidates += [(f"= {other}", v) for other, v in values.items() if other != name]
        for how, new in candidates:
            if repr(new) == repr(value):
                continue
            mod = {**raw, name: lambda wildcards, _new=new: _new}
            if record(rule, job, build(**mod)) == base:
                misses.append(f"{rule.name}{dict(job.wildcards_dict)}: {name} {how} ({new!r})")
    return misses


@pytest.fixture(scope="module")
def dags(repo):
    """(config, rule, job) of every job of the tiny and the paper dry-run DAGs."""
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import (
        ConfigSettings,
        DAGSettings,
        DeploymentSettings,
        OutputSettings,
        ResourceSettings,
        StorageSettings,
        WorkflowSettings,
    )

    cwd, out, apis = os.getcwd(), [], contextlib.ExitStack()
    try:
        for configfile in CONFIGS:
            api = apis.enter_context(
                snakemake_api.SnakemakeApi(OutputSettings(quiet={Quietness.ALL}, dryrun=True))
            )
            wf = api.workflow(
                snakefile=Path(repo / "Snakefile"),
                workdir=Path(repo),
                config_settings=ConfigSettings(configfiles=[Path(repo / configfile)]),
                resource_settings=ResourceSettings(cores=1),
                storage_settings=StorageSettings(),
                workflow_settings=WorkflowSettings(),
                deployment_settings=DeploymentSettings(),
            )
            with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
                wf.dag(DAGSettings()).execute_workflow(executor="dryrun")
            jobs = wf._workflow.dag.needrun_jobs(exclude_finished=False)
            out += [(configfile, job.rule, job) for job in jobs]
        yield out
    finally:
        os.chdir(cwd)
        apis.close()


def test_dags_cover_the_rules(dags):
    rules = {rule.name for _, rule, _ in dags}
    assert {"sensitivity", "mapper_graph", "similarity_cross", "figure_mapper_knn"} <= rules
    assert len(dags) > 500


def test_every_rule_with_params_is_named(dags):
    unnamed = sorted(
        {rule.name for _, rule, _ in dags if len(rule.params) and not written_params(rule)[1]}
    )
    assert not unnamed, f"rules whose params lack named(): {unnamed}"


def test_every_param_change_reruns_the_job(dags):
    misses = [m for _, rule, job in dags if len(rule.params) for m in undetected_changes(rule, job)]
    assert not misses, "param changes Snakemake would not see:\n" + "\n".join(misses[:20])


def test_without_fingerprint_the_record_misses_changes(dags):
    """The check can fail: without the fingerprint, sensitivity's step 2 -> 1 (maxdim's
    value) in the tiny DAG leaves Snakemake's record unchanged."""
    rule, job = next(
        (rule, job) for cfg, rule, job in dags if cfg == CONFIGS[0] and rule.name == "sensitivity"
    )
    assert job.params.step == 2 and job.params.maxdim == 1
    misses = undetected_changes(rule, job, with_fingerprint=False)
    assert any(m.endswith("step = maxdim (1)") for m in misses), misses
    assert not undetected_changes(rule, job)
