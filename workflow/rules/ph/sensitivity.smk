# Stage 6c: sensitivity to removing low-variance directions (docs/methods.md §8; Ding et
# al. 2021). One job per model, looping over its layers like the official script: each
# layer's test is many small persistence computations (976 per width-64 model), too small
# for a job each.


rule sensitivity:
    input:
        clouds=P.expand("pointcloud", layer=LAYERS),
    output:
        tables=P.expand("sensitivity", layer=LAYERS),
    log:
        f"{OUT}/logs/sensitivity/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/sensitivity/seed{{seed}}.tsv"
    conda:
        get_env("tda")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=resources.sensitivity_runtime(
            SHAPES, LAYERS, config["sensitivity"]["step"], N_IMAGES
        ),
    params:
        layers=LAYERS,
        step=config["sensitivity"]["step"],
        backend=config["persistence"]["backend"],
        maxdim=config["persistence"]["maxdim"],
        coeff=config["persistence"]["coeff"],
        dim=DIM,
        M=config["distances"]["M"],
    script:
        "../../scripts/ph/sensitivity.py"
