# The experiment's plan (cnntopo.plan): every question the rule files ask, answered once.
from cnntopo.config import validate_config
from cnntopo.plan import Plan, named

# Validate before any job is scheduled: unknown keys and wrong types stop here,
# with a message naming the key. Defaults are filled into `config` in place.
validate_config(config, check_data=True)
PLAN = Plan(config)
#: Short names for the rule blocks (the experiment folder, its layout, the Mapper branch).
OUT, P, MAP = PLAN.out, PLAN.paths, PLAN.mapper
MP = MAP.paths


wildcard_constraints:
    **PLAN.wildcard_constraints,


def check_dataset():
    """Check the dataset is reachable before any job runs (not in dry runs, cluster jobs)."""
    if workflow.output_settings.dryrun or not workflow.is_main_process:
        return
    from cnntopo.nets.datasets import check_available

    ds = config["dataset"]
    check_available(ds["name"], ds["root"], ds["download"])


check_dataset()
