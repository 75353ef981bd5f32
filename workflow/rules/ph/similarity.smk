# Stage 6b: representational-similarity baseline (linear CKA, docs/methods.md §9) on the
# same top-l2 point clouds.


rule cka_cross:
    input:
        clouds=P.expand("pointcloud", seed=SEEDS, layer=LAYERS),
    output:
        matrix=P("cka_cross"),
    log:
        f"{OUT}/logs/similarity/cka_cross.log",
    benchmark:
        f"{OUT}/benchmarks/similarity/cka_cross.tsv"
    conda:
        get_env("tda")
    threads: 1
    resources:
        mem_mb=get_cross_mem_mb,
        runtime=120,
    params:
        seeds=SEEDS,
        layers=LAYERS,
    script:
        "../../scripts/ph/cka_cross.py"
