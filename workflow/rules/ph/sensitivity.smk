# Stage 6c: sensitivity to removing low-variance directions (paper-methods 2.5; Ding et al. 2021).
# One job per model, looping over its layers like the official script: each layer's test is
# many small persistence computations (976 per width-64 model), too small for a job each.


rule sensitivity:
    input:
        clouds=get_pointclouds_of_seed,
    output:
        tables=get_sensitivity_outputs(),
    log:
        f"{OUT}/logs/sensitivity/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/sensitivity/seed{{seed}}.tsv"
    conda:
        get_env("tda")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=get_sensitivity_runtime(),
    params:
        layers=LAYERS,
        persistence=config["persistence"],
        distances=config["distances"],
        step=config["sensitivity"]["step"],
    script:
        "../../scripts/ph/sensitivity.py"
