"""Rule topl2_pointclouds: top l2-norm point clouds of one model's layers."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.pointclouds import topl2_pointclouds

setup_job_logging(snakemake.log[0])
topl2_pointclouds(
    snakemake.input.shards,
    snakemake.output.clouds,
    seed=int(snakemake.wildcards.seed),
    **job_params(snakemake.params),
)
