"""Rule extract_activations: stream conv outputs into per-layer shards."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.nets.activations import extract_activations

setup_job_logging(snakemake.log[0])
extract_activations(
    snakemake.config,
    int(snakemake.wildcards.seed),
    snakemake.input.weights,
    snakemake.input.eval_set,
    snakemake.params.out_dir,
    snakemake.params.layers,
    threads=snakemake.threads,
)
