"""Rule cycles_page: the self-contained page of every layer's representative cycles."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.cycles import cycles_page

setup_job_logging(snakemake.log[0])
cycles_page(snakemake.input.cycles, snakemake.output.page, **job_params(snakemake.params))
