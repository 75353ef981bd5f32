"""Rule mapper_stats: size and purity of every Mapper graph, one CSV."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.mapper.graphs import mapper_stats

setup_job_logging(snakemake.log[0])
mapper_stats(snakemake.input.graphs, snakemake.input.clouds, snakemake.output.csv)
