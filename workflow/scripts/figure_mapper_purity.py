"""Rule figure_mapper_purity: node-wise and class-wise purity per layer."""

import _cnntopo_path  # noqa: F401
from cnntopo.logs import setup_job_logging
from cnntopo.stages_mapper import figure_mapper_purity

setup_job_logging(snakemake.log[0])
figure_mapper_purity(
    snakemake.input.stats,
    snakemake.params.primary,
    [snakemake.output.png, *snakemake.output.extra],
)
