"""Rule mapper_cloud: one point cloud of one BN layer of the Mapper network."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.mapper.clouds import mapper_cloud

setup_job_logging(snakemake.log[0])
mapper_cloud(
    snakemake.wildcards.cloud,
    snakemake.wildcards.layer,
    snakemake.input.weights,
    snakemake.input.images,
    snakemake.output.cloud,
    **snakemake.params,
    threads=snakemake.threads,
)
