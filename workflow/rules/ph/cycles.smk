# Stage 5b: representative cycles of the longest H1 bars (docs/methods.md, "Representative
# cycles"): one job per (representation, model) writes every layer's loops of images; the
# loops drawn as rings of thumbnails per plotted model; one page with all of them.
from cnntopo.plan.cycles import CyclesPlan

CYC = CyclesPlan(PLAN)


rule cycles:
    input:
        unpack(CYC.inputs),
        eval_set=P("eval_set"),
    output:
        cycles=CYC.json_files(),
    log:
        f"{OUT}/logs/cycles/{{representation}}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/cycles/{{representation}}/seed{{seed}}.tsv"
    wildcard_constraints:
        representation=CYC.representation_pattern,
    conda:
        "../../envs/tda.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.persistence_mem_mb,
        runtime=PLAN.persistence_runtime,
    params:
        **named(
            layers=PLAN.layers,
            top_k=CYC.top_k,
            maxdim=config["persistence"]["maxdim"],
            coeff=config["persistence"]["coeff"],
        ),
    script:
        "../../scripts/ph/cycles.py"


rule figure_cycles:
    input:
        cycles=CYC.json_files(),
    output:
        figures=CYC.figure_files(),
    log:
        f"{OUT}/logs/figures/cycles/{{representation}}/seed{{seed}}.log",
    wildcard_constraints:
        representation=CYC.representation_pattern,
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        **named(
            dataset=config["dataset"],
            layers=PLAN.layers,
            top_k=CYC.top_k,
            title=lambda w: f"{w.representation} seed {w.seed}",
        ),
    script:
        "../../scripts/ph/figure_cycles.py"


rule cycles_page:
    input:
        cycles=CYC.page_inputs,
    output:
        page=CYC.path("cycles_page"),
    log:
        f"{OUT}/logs/cycles/page.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        **named(
            dataset=config["dataset"],
            title=f"{config['experiment']}: representative cycles",
        ),
    script:
        "../../scripts/ph/cycles_page.py"
