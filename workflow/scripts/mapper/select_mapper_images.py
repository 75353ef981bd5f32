"""Rule select_mapper_images: the Mapper images, class-major."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.mapper.clouds import select_mapper_images

setup_job_logging(snakemake.log[0])
select_mapper_images(snakemake.output.images, **job_params(snakemake.params))
