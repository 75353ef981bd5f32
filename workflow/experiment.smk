# One experiment: every stage of the workflow for one (validated) configuration.
# The Snakefile includes this directly, or once per sweep variant as a module.


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/activations.smk"
include: "rules/pointclouds.smk"
include: "rules/persistence.smk"
include: "rules/distances.smk"
include: "rules/similarity.smk"
include: "rules/sensitivity.smk"
include: "rules/figures.smk"
include: "rules/mapper.smk"
include: "rules/summary.smk"


# Everything this experiment builds (the Snakefile's `all` asks for it).
rule experiment:
    input:
        get_final_outputs(),
