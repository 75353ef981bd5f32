# cnntopo: topological data analysis of CNN activations (Purvine et al., AAAI 2023).
# Thin entry point: configuration, one include per stage, and the default target.
from snakemake.utils import min_version

min_version("9.0")


# The default demo config, unless --configfile names another one (keys of the default
# must not leak into, e.g., the paper's configuration).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/activations.smk"
include: "workflow/rules/pointclouds.smk"
include: "workflow/rules/persistence.smk"
include: "workflow/rules/distances.smk"
include: "workflow/rules/similarity.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/figures.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        get_final_outputs(),
