"""Rule figure_mapper_settings: graph size and purity across Mapper settings."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.mapper.figures import figure_mapper_settings

setup_job_logging(snakemake.log[0])
figure_mapper_settings(snakemake.input.stats, [snakemake.output.png, *snakemake.output.extra])
