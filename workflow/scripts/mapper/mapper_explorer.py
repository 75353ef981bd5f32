"""Rule mapper_explorer: the interactive HTML page of one cloud's graphs, node details aside."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.mapper.figures import mapper_explorer

setup_job_logging(snakemake.log[0])
mapper_explorer(
    snakemake.input.graphs,
    snakemake.input.clouds,
    snakemake.input.images,
    snakemake.output.html,
    snakemake.output.files,
    **job_params(snakemake.params),
)
