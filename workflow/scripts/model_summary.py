"""Rule model_summary: one CSV row per trained model."""

import _cnntopo_path  # noqa: F401
from cnntopo.logs import setup_job_logging
from cnntopo.stages import model_summary

setup_job_logging(snakemake.log[0])
model_summary(snakemake.input.metrics, snakemake.output.csv)
