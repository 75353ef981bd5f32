"""Rule representation_diagrams: Vietoris-Rips persistence of one model's flat or pool layers."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.persistence import representation_diagrams

setup_job_logging(snakemake.log[0])
representation_diagrams(
    snakemake.input.rep,
    snakemake.output.diagrams,
    seed=int(snakemake.wildcards.seed),
    representation=snakemake.wildcards.representation,
    **job_params(snakemake.params),
    n_threads=snakemake.threads,
)
