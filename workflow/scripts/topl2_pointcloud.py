"""Rule topl2_pointcloud: top l2-norm point cloud of one layer."""

import _cnntopo_path  # noqa: F401
from cnntopo.logs import setup_job_logging
from cnntopo.stages import topl2_pointcloud

setup_job_logging(snakemake.log[0])
topl2_pointcloud(
    snakemake.input.shard,
    snakemake.output.cloud,
    seed=int(snakemake.wildcards.seed),
    layer=snakemake.wildcards.layer,
)
