"""Rule layer_distances: layer-by-layer diagram distance matrix of one model."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.distances import layer_distances

setup_job_logging(snakemake.log[0])
layer_distances(
    snakemake.input.diagrams,
    snakemake.output.matrix,
    snakemake.output.csv,
    metric=snakemake.wildcards.metric,
    **job_params(snakemake.params),
)
