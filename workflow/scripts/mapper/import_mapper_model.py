"""Rule import_mapper_model: use existing Mapper-network weights (the network stage)."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.mapper.model import mapper_recipe
from cnntopo.stages.nets.models import make_network

setup_job_logging(snakemake.log[0])
recipe = mapper_recipe(
    checkpoint=snakemake.input.checkpoint or None,  # none with mapper.model.pretrained
    **job_params(snakemake.params),
)
make_network(
    recipe, snakemake.output.weights, snakemake.output.metrics, threads=snakemake.threads
)
