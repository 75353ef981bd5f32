"""Rule train_mapper_model: train the Mapper network (mapper.model.arch, Catalyst recipe)."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.mapper.model import train_mapper_model

setup_job_logging(snakemake.log[0])
train_mapper_model(
    snakemake.output.weights,
    snakemake.output.metrics,
    **snakemake.params,
    threads=snakemake.threads,
)
