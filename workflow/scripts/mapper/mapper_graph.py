"""Rule mapper_graph: the Mapper graph of one cloud with one setting (Mapper Interactive JSON)."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.mapper.graphs import mapper_graph

setup_job_logging(snakemake.log[0])
mapper_graph(
    snakemake.input.cloud,
    snakemake.wildcards.setting,
    snakemake.output.graph,
    **snakemake.params.setting,
    min_samples=snakemake.params.min_samples,
    cover=snakemake.params.cover,
    knn_method=snakemake.params.knn_method,
    knn_approx_above=snakemake.params.knn_approx_above,
    seed=snakemake.params.seed,
    predictions=snakemake.params.predictions,
    threads=snakemake.threads,
    device=snakemake.resources.graph_device,
)
