# Mapper branch: the Mapper images and the point clouds of the network's BN outputs.


rule select_mapper_images:
    output:
        images=MP("mapper_images"),
    log:
        f"{OUT}/logs/mapper/select_mapper_images.log",
    conda:
        get_env("torch")
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        dataset=get_dataset_source(),
        split=MAPPER["images"]["split"],
        per_class=MAPPER["images"]["per_class"],
        seed=MAPPER["images"]["seed"],
    script:
        "../../scripts/mapper/select_mapper_images.py"


rule mapper_cloud:
    input:
        weights=MP("mapper_weights"),
        images=MP("mapper_images"),
    output:
        cloud=MP("mapper_cloud"),
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
    params:
        dataset=config["dataset"],
        split=MAPPER["images"]["split"],
        batch_size=MAPPER["images"]["batch_size"],
        width=MAPPER["model"]["width"],
        device=MAPPER["training"]["device"],
        seed=MAPPER["seed"],
        construction=get_construction,
    script:
        "../../scripts/mapper/mapper_cloud.py"
