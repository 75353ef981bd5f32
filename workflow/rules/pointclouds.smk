# Stage 4: point clouds from activation shards (paper-methods P1: top l2-norm spatial vector per image).


rule topl2_pointcloud:
    input:
        shard=f"{OUT}/activations/seed{{seed}}/{{layer}}.npy",
    output:
        cloud=f"{OUT}/pointclouds/topl2/seed{{seed}}/{{layer}}.npz",
    log:
        f"{OUT}/logs/pointclouds/topl2/seed{{seed}}/{{layer}}.log",
    conda:
        get_env("tda")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/topl2_pointcloud.py"
