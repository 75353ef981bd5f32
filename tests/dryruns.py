"""Many Snakemake dry runs in one process (a helper of tests/workflow/test_provenance.py).

``python tests/dryruns.py REQUESTS.json`` reads a list of config files and prints, for
each, the rules of the jobs a dry run would execute and the files
the default target asks for, as one JSON list. Building a DAG in-process takes about
a second, where a ``snakemake -n`` command line pays the start-up of Snakemake each time.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def dry_run(configfile: Path) -> dict:
    """Rules scheduled and final targets of ``snakemake -n --configfile CONFIGFILE``."""
    from snakemake.api import SnakemakeApi
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

    cwd = os.getcwd()
    try:
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL}, dryrun=True)) as api:
            wf = api.workflow(
                snakefile=REPO / "Snakefile",
                workdir=REPO,
                config_settings=ConfigSettings(configfiles=[configfile]),
                resource_settings=ResourceSettings(cores=1),
                storage_settings=StorageSettings(),
                workflow_settings=WorkflowSettings(),
                deployment_settings=DeploymentSettings(),
            )
            wf.dag(DAGSettings()).execute_workflow(executor="dryrun")
            dag = wf._workflow.dag
            needrun = list(dag.needrun_jobs(exclude_finished=False))
            jobs = sorted(j.rule.name for j in needrun)
            # each job with the values it reads: two configs that schedule the same rules
            # still differ here when a value a job reads differs
            job_params = sorted(
                f"{j.rule.name} {sorted((k, repr(v)) for k, v in j.params.items())}"
                for j in needrun
            )
            targets = sorted(str(f) for j in dag.targetjobs for f in j.input)
        return {"jobs": jobs, "job_params": job_params, "targets": targets, "error": None}
    except Exception as err:  # reported per request, the caller decides
        error = f"{type(err).__name__}: {err}"[:2000]
        return {"jobs": [], "job_params": [], "targets": [], "error": error}
    finally:
        os.chdir(cwd)


def main(argv: list[str]) -> None:
    results = []
    for configfile in json.loads(Path(argv[1]).read_text()):
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            results.append(dry_run(Path(configfile).resolve()))
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv)
