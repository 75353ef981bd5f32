"""Rule cross_architecture: every layer of one network against every layer of another."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.summary import cross_architecture

setup_job_logging(snakemake.log[0])
cross_architecture(
    snakemake.input.diagrams_a,
    snakemake.input.diagrams_b,
    snakemake.output.npz,
    snakemake.output.csv,
    snakemake.output.depth,
    [snakemake.output.png],
    reps_a=snakemake.input.reps_a,
    reps_b=snakemake.input.reps_b,
    **snakemake.params.settings,
    threads=snakemake.threads,
)
