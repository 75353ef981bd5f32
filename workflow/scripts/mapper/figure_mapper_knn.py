"""Rule figure_mapper_knn: sorted k-NN distances of one cloud with its graphs' eps."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.mapper.figures import figure_mapper_knn

setup_job_logging(snakemake.log[0])
figure_mapper_knn(
    snakemake.input.cloud,
    snakemake.input.graphs,
    snakemake.output.knn,
    [snakemake.output.png, *snakemake.output.extra],
    k=snakemake.params.k,
    queries=snakemake.params.queries,
    seed=snakemake.params.seed,
    knn_method=snakemake.params.knn_method,
    knn_approx_above=snakemake.params.knn_approx_above,
    predictions=snakemake.params.predictions,
    threads=snakemake.threads,
)
