"""Rule sensitivity: PC-removal sensitivity test of one model's layers."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.sensitivity import sensitivity_test

setup_job_logging(snakemake.log[0])
sensitivity_test(
    snakemake.input.clouds,
    snakemake.output.tables,
    snakemake.input.eval_set,
    **job_params(snakemake.params),
)
