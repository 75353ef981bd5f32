"""Rule figure_sensitivity: sensitivity curves of one model's layers."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.figures import figure_sensitivity

setup_job_logging(snakemake.log[0])
figure_sensitivity(
    snakemake.input.tables,
    [snakemake.output.png, *snakemake.output.extra],
    [snakemake.output.cka_png, *snakemake.output.cka_extra],
    **job_params(snakemake.params),
)
