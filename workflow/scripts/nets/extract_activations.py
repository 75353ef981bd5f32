"""Rule extract_activations: stream conv outputs into per-layer shards."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.nets.activations import extract_activations

setup_job_logging(snakemake.log[0])
extract_activations(
    snakemake.input.weights,
    snakemake.input.metrics,
    snakemake.input.eval_set,
    seed=int(snakemake.wildcards.seed),
    **job_params(snakemake.params),
    threads=snakemake.threads,
)
