# cnntopo: topological data analysis of CNN activations (Purvine et al., AAAI 2023).
# Thin entry point: configuration, then one experiment, or one per sweep variant.
import os
import sys
from pathlib import Path

from snakemake.utils import min_version

# The package cnntopo (workflow/cnntopo) for this process and every job's script: it is
# installed in the project's .venv, but not in the per-rule conda environments.
_PKG = str(Path(workflow.basedir) / "workflow")
sys.path.insert(0, _PKG)
os.environ.update(
    PYTHONPATH=os.pathsep.join(filter(None, [_PKG, os.environ.get("PYTHONPATH")]))
)

min_version("9.0")


# The default demo config, unless --configfile names another one (keys of the default
# must not leak into, e.g., the paper's configuration).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


# A config with a `sweep` section registers one module per variant plus the sweep's
# summary here; otherwise the single experiment is included.
include: "workflow/rules/sweep.smk"


if not VARIANTS:

    include: "workflow/experiment.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        sweep_targets(rules, VARIANTS, SWEEP_OUT),
