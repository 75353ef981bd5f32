# Mapper branch: the Mapper images and the point clouds of the network's layer outputs.


rule select_mapper_images:
    output:
        images=MP("mapper_images"),
    log:
        f"{OUT}/logs/mapper/select_mapper_images.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        **named(
            dataset=PLAN.dataset_source,
            split=MAP.config["images"]["split"],
            per_class=MAP.config["images"]["per_class"],
            seed=MAP.config["images"]["seed"],
        ),
    script:
        "../../scripts/mapper/select_mapper_images.py"


# One job per cloud builds all its layers (the network, images and GrabCut masks are
# shared); one rule per group of clouds with the same layers, since a rule's outputs
# cannot depend on its wildcards.
for rule_name, (clouds, cloud_layers) in MAP.cloud_rules.items():

    rule:
        name:
            rule_name
        input:
            weights=MP("mapper_weights"),
            images=MP("mapper_images"),
            files=MAP.cloud_files(rule_name),
        output:
            clouds=MP.expand("mapper_cloud", layer=cloud_layers),
        log:
            f"{OUT}/logs/mapper/clouds/{{cloud}}.log",
        benchmark:
            f"{OUT}/benchmarks/mapper/clouds/{{cloud}}.tsv"
        wildcard_constraints:
            cloud=MAP.cloud_pattern(clouds),
        conda:
            "../../envs/torch.yaml"
        threads: PLAN.torch_threads
        resources:
            mem_mb=MAP.cloud_mem_mb,
            runtime=MAP.cloud_runtime,
            gpu=MAP.gpus,
        params:
            **named(
                arch=MAP.config["model"]["arch"],
                kwargs=MAP.config["model"]["kwargs"],
                layers=cloud_layers,
                dataset=config["dataset"],
                split=MAP.config["images"]["split"],
                batch_size=MAP.config["images"]["batch_size"],
                width=MAP.config["model"]["width"],
                device=MAP.config["training"]["device"],
                seed=MAP.config["seed"],
                construction=MAP.construction_settings,
                shapes=MAP.cloud_shapes(cloud_layers),
            ),
        script:
            "../../scripts/mapper/mapper_clouds.py"
