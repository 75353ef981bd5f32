"""Rule select_eval_images: fix and record the analysed image set."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.nets.data import select_eval_images

setup_job_logging(snakemake.log[0])
select_eval_images(snakemake.output.eval_set, **job_params(snakemake.params))
