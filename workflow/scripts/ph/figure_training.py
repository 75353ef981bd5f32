"""Rule figure_training: training curves of all models."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.ph.figures import figure_training

setup_job_logging(snakemake.log[0])
figure_training(snakemake.input.metrics, [snakemake.output.png, *snakemake.output.extra])
