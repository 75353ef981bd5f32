"""Rule sweep_summary: every variant's headline numbers in one table and figure."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.summary import sweep_summary

setup_job_logging(snakemake.log[0])
sweep_summary(
    snakemake.input.summaries,
    snakemake.output.csv,
    [snakemake.output.png],
    depth_tables=snakemake.input.depth_tables,
    **job_params(snakemake.params),
)
