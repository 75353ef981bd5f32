# Stage 4: point clouds from activation shards (docs/methods.md §4: the top l2-norm spatial
# vector per image). One job per model: the work is a cheap pass over memory-mapped shards.


rule topl2_pointclouds:
    input:
        shards=P.expand("shard", layer=PLAN.layers),
    output:
        clouds=P.expand("pointcloud", layer=PLAN.layers),
    log:
        f"{OUT}/logs/pointclouds/topl2/seed{{seed}}.log",
    conda:
        "../../envs/tda.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        **named(
            layers=PLAN.layers,
        ),
    script:
        "../../scripts/ph/topl2_pointclouds.py"
