"""Rule import_checkpoint: use existing weights instead of training (the network stage)."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.nets.models import make_network, ph_recipe

setup_job_logging(snakemake.log[0])
recipe = ph_recipe(
    seed=int(snakemake.wildcards.seed),
    checkpoint=snakemake.input.checkpoint or None,  # none: model.pretrained
    **job_params(snakemake.params),
)
make_network(
    recipe, snakemake.output.weights, snakemake.output.metrics, threads=snakemake.threads
)
