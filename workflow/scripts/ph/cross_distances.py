"""Rule cross_distances: diagram distances across all models x layers of one representation."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.distances import cross_distances

setup_job_logging(snakemake.log[0])
cross_distances(
    snakemake.input.diagrams,
    snakemake.output.matrix,
    **job_params(snakemake.params),
    representation=snakemake.wildcards.representation,
    threads=snakemake.threads,
)
