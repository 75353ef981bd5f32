"""Rule import_checkpoint: use existing weights instead of training."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.nets.models import import_checkpoint

setup_job_logging(snakemake.log[0])
import_checkpoint(
    snakemake.input.checkpoint or None,  # none: model.pretrained
    snakemake.output.weights,
    snakemake.output.metrics,
    seed=int(snakemake.wildcards.seed),
    **snakemake.params,
    threads=snakemake.threads,
)
