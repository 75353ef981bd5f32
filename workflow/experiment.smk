# One experiment: every stage of the workflow for one (validated) configuration.
# The Snakefile includes this directly, or once per sweep variant as a module.


include: "rules/common.smk"
include: "rules/nets/data.smk"
include: "rules/nets/models.smk"
include: "rules/nets/activations.smk"
include: "rules/ph/pointclouds.smk"
include: "rules/ph/persistence.smk"
include: "rules/ph/cycles.smk"
include: "rules/ph/distances.smk"
include: "rules/ph/bootstrap.smk"
include: "rules/ph/similarity.smk"
include: "rules/ph/sensitivity.smk"
include: "rules/ph/figures.smk"
include: "rules/mapper/model.smk"
include: "rules/mapper/clouds.smk"
include: "rules/mapper/graphs.smk"
include: "rules/mapper/figures.smk"
include: "rules/summary.smk"


# Everything this experiment builds (the Snakefile's `all` asks for it).
rule experiment:
    input:
        PLAN.final_outputs,
