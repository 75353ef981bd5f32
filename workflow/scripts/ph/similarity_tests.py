"""Rule similarity_tests: specificity, layer depth and stage permutation of every measure."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.similarity import similarity_tests

setup_job_logging(snakemake.log[0])
similarity_tests(
    snakemake.input.cross,
    snakemake.output.specificity,
    snakemake.output.depth,
    snakemake.output.permutation,
    **job_params(snakemake.params),
)
