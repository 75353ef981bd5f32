"""Rule cycles: representative cycles of the top H1 bars of every layer of one model."""

from cnntopo.logs import setup_job_logging
from cnntopo.plan.params import job_params
from cnntopo.stages.ph.cycles import cycles

setup_job_logging(snakemake.log[0])
cycles(
    snakemake.output.cycles,
    diagrams=snakemake.input.diagrams,
    eval_set=snakemake.input.eval_set,
    clouds=snakemake.input.get("clouds"),
    rep=snakemake.input.get("rep"),
    seed=int(snakemake.wildcards.seed),
    representation=snakemake.wildcards.representation,
    **job_params(snakemake.params),
)
