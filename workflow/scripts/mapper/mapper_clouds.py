"""Rules mapper_clouds*: the point clouds of one construction at its BN layers."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.mapper.clouds import mapper_clouds

setup_job_logging(snakemake.log[0])
mapper_clouds(
    snakemake.wildcards.cloud,
    snakemake.params.layers,
    snakemake.input.weights,
    snakemake.input.images,
    snakemake.output.clouds,
    **{k: v for k, v in job_params(snakemake.params).items() if k != "layers"},
    threads=snakemake.threads,
)
