"""Rule layer_bootstrap: the image bootstrap of one model's layer-distance matrix."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.bootstrap import layer_bootstrap

setup_job_logging(snakemake.log[0])
layer_bootstrap(
    snakemake.input.clouds,
    snakemake.input.diagrams,
    snakemake.input.matrix,
    snakemake.output.bootstrap,
    seed=int(snakemake.wildcards.seed),
    metric=snakemake.wildcards.metric,
    **job_params(snakemake.params),
)
