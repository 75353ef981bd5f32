"""Rule specificity: cross-seed layer identification rates."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.distances import specificity_analysis

setup_job_logging(snakemake.log[0])
specificity_analysis(
    snakemake.input.cross,
    snakemake.output.table,
    [snakemake.output.png, *snakemake.output.extra],
    **job_params(snakemake.params),
)
