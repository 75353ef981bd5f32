"""Rule figure_mean_heatmap: mean and spread of the layer-distance matrices over seeds."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.ph.figures import figure_mean_heatmap

setup_job_logging(snakemake.log[0])
figure_mean_heatmap(
    snakemake.input.matrices,
    [snakemake.output.png, *snakemake.output.extra],
    snakemake.output.summary,
)
