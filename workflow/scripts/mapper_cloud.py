"""Rule mapper_cloud: one point cloud of one BN layer of the Mapper network."""

import _cnntopo_path  # noqa: F401
from cnntopo.logs import setup_job_logging
from cnntopo.stages_mapper import mapper_cloud

setup_job_logging(snakemake.log[0])
mapper_cloud(
    snakemake.config,
    snakemake.wildcards.cloud,
    snakemake.wildcards.layer,
    snakemake.input.weights,
    snakemake.input.images,
    snakemake.output.cloud,
    threads=snakemake.threads,
)
