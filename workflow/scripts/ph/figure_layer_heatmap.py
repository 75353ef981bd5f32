"""Rule figure_layer_heatmap: one model's layer-distance heatmap."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.figures import figure_layer_heatmap

setup_job_logging(snakemake.log[0])
figure_layer_heatmap(
    snakemake.input.matrix,
    [snakemake.output.png, *snakemake.output.extra],
    bootstrap_npz=snakemake.input.get("bootstrap"),
    **job_params(snakemake.params),
)
