"""Rule persistence_diagrams: Vietoris-Rips persistence of every point cloud of one model."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.persistence import persistence_diagrams

setup_job_logging(snakemake.log[0])
persistence_diagrams(
    snakemake.input.clouds,
    snakemake.output.diagrams,
    seed=int(snakemake.wildcards.seed),
    **job_params(snakemake.params),
    n_threads=snakemake.threads,
)
