"""Rule experiment_summary: the experiment's headline numbers as one JSON."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.summary import experiment_summary

setup_job_logging(snakemake.log[0])
experiment_summary(snakemake.output.json, **snakemake.input, **job_params(snakemake.params))
