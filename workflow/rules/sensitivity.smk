# Stage 6c: sensitivity to removing low-variance directions (paper-methods 2.5; Ding et al. 2021).


rule sensitivity:
    input:
        cloud=f"{OUT}/pointclouds/topl2/seed{{seed}}/{{layer}}.npz",
    output:
        table=f"{OUT}/sensitivity/seed{{seed}}/{{layer}}.csv",
    log:
        f"{OUT}/logs/sensitivity/seed{{seed}}/{{layer}}.log",
    benchmark:
        f"{OUT}/benchmarks/sensitivity/seed{{seed}}/{{layer}}.tsv"
    conda:
        get_env("tda")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        persistence=config["persistence"],
        distances=config["distances"],
        step=config["sensitivity"]["step"],
    script:
        "../scripts/sensitivity.py"
