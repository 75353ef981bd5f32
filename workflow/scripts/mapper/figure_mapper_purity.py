"""Rule figure_mapper_purity: node-wise and class-wise purity per layer."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.mapper.figures import figure_mapper_purity

setup_job_logging(snakemake.log[0])
figure_mapper_purity(
    snakemake.input.stats,
    snakemake.params.primary,
    [snakemake.output.png, *snakemake.output.extra],
)
