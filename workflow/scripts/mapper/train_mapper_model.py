"""Rule train_mapper_model: train the Mapper network (the network stage, Catalyst recipe)."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.mapper.model import mapper_recipe
from cnntopo.stages.nets.models import make_network

setup_job_logging(snakemake.log[0])
recipe = mapper_recipe(**job_params(snakemake.params))
make_network(
    recipe, snakemake.output.weights, snakemake.output.metrics, threads=snakemake.threads
)
