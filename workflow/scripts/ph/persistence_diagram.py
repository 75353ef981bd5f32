"""Rule persistence_diagram: Vietoris-Rips persistence of one point cloud."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.ph.persistence import persistence_diagram

setup_job_logging(snakemake.log[0])
persistence_diagram(
    snakemake.input.cloud,
    snakemake.output.diagrams,
    seed=int(snakemake.wildcards.seed),
    layer=snakemake.wildcards.layer,
    **snakemake.params,
    n_threads=snakemake.threads,
)
