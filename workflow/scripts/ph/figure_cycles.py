"""Rule figure_cycles: every layer's cycles of one model as rings of their images."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.cycles import figure_cycles

setup_job_logging(snakemake.log[0])
figure_cycles(snakemake.input.cycles, snakemake.output.figures, **job_params(snakemake.params))
