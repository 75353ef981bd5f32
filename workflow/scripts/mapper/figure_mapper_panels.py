"""Rules figure_mapper_layers / _constructions / _noise: a grid of Mapper graphs."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.mapper.figures import figure_mapper_panels

setup_job_logging(snakemake.log[0])
figure_mapper_panels(
    snakemake.input.graphs,
    [snakemake.output.png, *snakemake.output.extra],
    **job_params(snakemake.params),
)
