"""Rule train_model: train one network with the paper's recipe."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.nets.models import train_model

setup_job_logging(snakemake.log[0])
train_model(
    snakemake.output.weights,
    snakemake.output.metrics,
    seed=int(snakemake.wildcards.seed),
    **snakemake.params,
    threads=snakemake.threads,
)
