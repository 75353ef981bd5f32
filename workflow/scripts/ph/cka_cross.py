"""Rule cka_cross: linear CKA across all models x layers."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.ph.similarity import cka_cross

setup_job_logging(snakemake.log[0])
cka_cross(snakemake.input.clouds, snakemake.output.matrix, **snakemake.params)
