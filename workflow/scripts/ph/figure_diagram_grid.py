"""Rule figure_diagram_grid: per-layer persistence diagrams of one model."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.figures import figure_diagram_grid

setup_job_logging(snakemake.log[0])
figure_diagram_grid(
    snakemake.input.diagrams,
    [snakemake.output.png, *snakemake.output.extra],
    **job_params(snakemake.params),
)
