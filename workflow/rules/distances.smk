# Stage 6: layer-by-layer distances between persistence diagrams, one matrix per model.


rule layer_distances:
    input:
        diagrams=get_layer_diagrams,
    output:
        matrix=f"{OUT}/distances/topl2/{DIST}/seed{{seed}}.npz",
        csv=f"{OUT}/distances/topl2/{DIST}/seed{{seed}}.csv",
    log:
        f"{OUT}/logs/distances/topl2/{DIST}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/distances/topl2/{DIST}/seed{{seed}}.tsv"
    conda:
        get_env("tda")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        layers=LAYERS,
        distances=config["distances"],
    script:
        "../scripts/layer_distances.py"
