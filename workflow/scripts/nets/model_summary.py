"""Rule model_summary: one CSV row per trained model."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.nets.models import model_summary

setup_job_logging(snakemake.log[0])
model_summary(snakemake.input.metrics, snakemake.output.csv)
