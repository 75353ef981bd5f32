"""Rule similarity_cross: every measure across all models x layers, one representation."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.similarity import similarity_cross

setup_job_logging(snakemake.log[0])
similarity_cross(
    snakemake.input.reps,
    snakemake.output.matrices,
    representation=snakemake.wildcards.representation,
    threads=snakemake.threads,
    mem_mb=snakemake.resources.mem_mb,
    **job_params(snakemake.params),
)
