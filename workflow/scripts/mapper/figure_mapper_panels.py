"""Rules figure_mapper_layers / _constructions / _noise: a grid of Mapper graphs."""

from cnntopo.logs import setup_job_logging
from cnntopo.stages.mapper.figures import figure_mapper_panels

setup_job_logging(snakemake.log[0])
wc = dict(snakemake.wildcards.items())
suptitle = {
    "figure_mapper_layers": f"Mapper graphs across layers ({wc.get('cloud')} point clouds)",
    "figure_mapper_constructions": f"Point-cloud constructions at {wc.get('layer')}",
    "figure_mapper_noise": f"Input noise: {wc.get('cloud')} point clouds at {wc.get('layer')}",
}[f"figure_mapper_{snakemake.params.kind}"]
figure_mapper_panels(
    snakemake.input.graphs,
    snakemake.params.titles,
    [snakemake.output.png, *snakemake.output.extra],
    seed=snakemake.params.seed,
    suptitle=suptitle,
)
