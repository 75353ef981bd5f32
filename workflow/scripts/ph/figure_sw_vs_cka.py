"""Rule figure_sw_vs_cka: PH distance vs linear CKA between layers."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.ph.figures import figure_sw_vs_cka

setup_job_logging(snakemake.log[0])
figure_sw_vs_cka(
    snakemake.input.distances,
    snakemake.input.cka,
    [snakemake.output.png, *snakemake.output.extra],
)
