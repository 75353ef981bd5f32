"""Rules figure_mapper_knn*: sorted k-NN distances of one cloud's layers with its graphs' eps."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.mapper.figures import figure_mapper_knns

setup_job_logging(snakemake.log[0])
figure_mapper_knns(
    snakemake.input.clouds,
    snakemake.input.graphs,
    snakemake.output.knn,
    snakemake.output.png,
    snakemake.output.extra,
    **job_params(snakemake.params),
    threads=snakemake.threads,
)
