"""Rule figure_similarity: every measure side by side, with intervals."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.similarity import figure_similarity

setup_job_logging(snakemake.log[0])
figure_similarity(
    snakemake.input.specificity,
    [snakemake.output.png, *snakemake.output.extra],
    snakemake.input.get("sensitivity"),
    **job_params(snakemake.params),
)
