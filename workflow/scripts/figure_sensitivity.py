"""Rule figure_sensitivity: sensitivity curves of one model's layers."""

import _cnntopo_path  # noqa: F401
from cnntopo.logs import setup_job_logging
from cnntopo.stages_ph import figure_sensitivity

setup_job_logging(snakemake.log[0])
figure_sensitivity(
    snakemake.input.tables,
    snakemake.params.layers,
    [snakemake.output.png, *snakemake.output.extra],
    [snakemake.output.cka_png, *snakemake.output.cka_extra],
    snakemake.params.distances,
)
