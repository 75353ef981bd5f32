"""Rule experiment_summary: the experiment's headline numbers as one JSON."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.summary import experiment_summary

setup_job_logging(snakemake.log[0])
inp = snakemake.input
specificity = {
    measure: getattr(inp, f"specificity_{measure}")
    for measure in ("main", "cka")
    if hasattr(inp, f"specificity_{measure}")
}
if "main" in specificity:
    specificity[snakemake.params.within_label] = specificity.pop("main")
experiment_summary(
    snakemake.output.json,
    models_csv=inp.models,
    within={snakemake.params.within_label: list(inp.within)},
    specificity=specificity,
    mapper_stats=[inp.mapper] if hasattr(inp, "mapper") else [],
)
