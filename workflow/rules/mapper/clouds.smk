# Mapper branch: the Mapper images and the point clouds of the network's layer outputs.


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


# One job per cloud builds all its layers (the network, images and GrabCut masks are
# shared); one rule per group of clouds with the same layers, since a rule's outputs
# cannot depend on its wildcards.
for rule_name, (clouds, cloud_layers) in get_cloud_rules().items():

    rule:
        name:
            rule_name
        input:
            weights=MP("mapper_weights"),
            images=MP("mapper_images"),
            factory=get_mapper_factory_file(),
        output:
            clouds=MP.expand("mapper_cloud", layer=cloud_layers),
        log:
            f"{OUT}/logs/mapper/clouds/{{cloud}}.log",
        benchmark:
            f"{OUT}/benchmarks/mapper/clouds/{{cloud}}.tsv"
        wildcard_constraints:
            cloud="|".join(re.escape(c) for c in clouds),
        conda:
            get_env("torch")
        threads: get_torch_threads()
        resources:
            mem_mb=get_mapper_cloud_mem_mb,
            runtime=get_mapper_cloud_runtime,
            gpu=get_mapper_gpus(),
        params:
            arch=MAPPER_ARCH_CONFIG,
            kwargs=MAPPER["model"]["kwargs"],
            layers=cloud_layers,
            dataset=config["dataset"],
            split=MAPPER["images"]["split"],
            batch_size=MAPPER["images"]["batch_size"],
            width=MAPPER["model"]["width"],
            device=MAPPER["training"]["device"],
            seed=MAPPER["seed"],
            construction=get_construction,
            shapes=get_cloud_shapes(cloud_layers),
        script:
            "../../scripts/mapper/mapper_clouds.py"
