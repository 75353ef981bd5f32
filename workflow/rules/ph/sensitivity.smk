# Stage 6c: sensitivity to removing low-variance directions (docs/methods.md §8; Ding et
# al. 2021). One job per model, looping over its layers like the official script: each
# layer's test is many small persistence computations (976 per width-64 model), too small
# for a job each.


rule sensitivity:
    input:
        clouds=P.expand("pointcloud", layer=PLAN.layers),
        eval_set=P("eval_set"),
    output:
        tables=P.expand("sensitivity", layer=PLAN.layers),
    log:
        f"{OUT}/logs/sensitivity/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/sensitivity/seed{{seed}}.tsv"
    # a long single-threaded job that only needs one model's clouds: start it as soon as
    # they exist, beside the other jobs, not at the end of the run
    priority: 10
    conda:
        "../../envs/tda.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=PLAN.sensitivity_runtime,
    params:
        **named(
            layers=PLAN.layers,
            step=config["sensitivity"]["step"],
            backend=config["persistence"]["backend"],
            maxdim=config["persistence"]["maxdim"],
            coeff=config["persistence"]["coeff"],
            dim=PLAN.dim,
            M=config["distances"]["M"],
        ),
    script:
        "../../scripts/ph/sensitivity.py"


# Ding et al.'s grounded version for every measure and representation: principal
# components deleted, dissimilarity to the original vs the drop in linear-probe accuracy;
# Spearman rho with a bootstrap interval over layers (docs/methods.md §8-§9).


rule sensitivity_table:
    input:
        ph=P.expand("sensitivity", seed=PLAN.sensitivity_seeds, layer=PLAN.layers),
        reps=PLAN.sensitivity_reps,
        measures=PLAN.measure_files,
        eval_set=P("eval_set"),
    output:
        table=P("sensitivity_table"),
    log:
        f"{OUT}/logs/analysis/sensitivity_table.log",
    benchmark:
        f"{OUT}/benchmarks/analysis/sensitivity_table.tsv"
    conda:
        "../../envs/tda.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.similarity_mem_mb,
        runtime=60,
    params:
        **named(
            seeds=PLAN.sensitivity_seeds,
            layers=PLAN.layers,
            representations=PLAN.sensitivity_representations,
            measures=PLAN.similarity_measures,
            ph_measure=PLAN.dist,
            n_boot=config["similarity"]["bootstrap"],
            diagram_representations=PLAN.sensitivity_diagram_representations,
            diagram_measures=PLAN.sensitivity_diagram_measures,
            persistence=PLAN.sensitivity_persistence,
        ),
    script:
        "../../scripts/ph/sensitivity_table.py"
