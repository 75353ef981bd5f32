"""Rule sensitivity_table: grounded PC-deletion sensitivity of every measure and PH."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.sensitivity import sensitivity_table

setup_job_logging(snakemake.log[0])
sensitivity_table(
    snakemake.input.ph,
    snakemake.input.reps,
    snakemake.input.eval_set,
    snakemake.output.table,
    **job_params(snakemake.params),
)
