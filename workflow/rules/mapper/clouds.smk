# Mapper branch: the Mapper images and the point clouds of the network's BN outputs.


rule select_mapper_images:
    output:
        images=f"{OUT}/mapper/images.npz",
    log:
        f"{OUT}/logs/mapper/select_mapper_images.log",
    conda:
        get_env("torch")
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    script:
        "../../scripts/mapper/select_mapper_images.py"


rule mapper_cloud:
    input:
        weights=f"{MAPPER_MODEL}/weights.pt",
        images=f"{OUT}/mapper/images.npz",
    output:
        cloud=f"{OUT}/mapper/clouds/{{cloud}}/{{layer}}.npz",
    log:
        f"{OUT}/logs/mapper/clouds/{{cloud}}/{{layer}}.log",
    benchmark:
        f"{OUT}/benchmarks/mapper/clouds/{{cloud}}/{{layer}}.tsv"
    conda:
        get_env("torch")
    threads: get_torch_threads()
    resources:
        mem_mb=get_mapper_cloud_mem_mb,
        runtime=60,
        gpu=get_mapper_gpus(),
    script:
        "../../scripts/mapper/mapper_cloud.py"
