"""Rule similarity_representations: Gram matrices of one model's layers per representation."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.similarity import similarity_representations

setup_job_logging(snakemake.log[0])
similarity_representations(
    snakemake.input.shards,
    snakemake.output.reps,
    seed=int(snakemake.wildcards.seed),
    **job_params(snakemake.params),
)
