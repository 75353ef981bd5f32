"""Rule import_mapper_model: use existing Mapper-network weights instead of training."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.mapper.model import import_mapper_model

setup_job_logging(snakemake.log[0])
import_mapper_model(
    snakemake.input.checkpoint or None,  # none with mapper.model.pretrained
    snakemake.output.weights,
    snakemake.output.metrics,
    **snakemake.params,
    threads=snakemake.threads,
)
