# Mapper branch: the Mapper network (mapper.model.arch, default the option-B ResNet-18),
# trained with the Catalyst recipe, or imported (mapper.model.checkpoint / pretrained).


if MAP.is_trained:

    rule train_mapper_model:
        input:
            factory=MAP.factory_files,
        output:
            weights=MP("mapper_weights"),
            metrics=MP("mapper_train_metrics"),
        log:
            f"{OUT}/logs/mapper/train_mapper_model.log",
        benchmark:
            f"{OUT}/benchmarks/mapper/train_mapper_model.tsv"
        conda:
            "../../envs/torch.yaml"
        threads: PLAN.torch_threads
        resources:
            mem_mb=MAP.train_mem_mb,
            runtime=MAP.train_runtime,
            gpu=MAP.gpus,
        params:
            **named(
                arch=MAP.config["model"]["arch"],
                kwargs=MAP.config["model"]["kwargs"],
                dataset=config["dataset"],
                width=MAP.config["model"]["width"],
                seed=MAP.config["model"]["seed"],
                training=MAP.config["training"],
            ),
        script:
            "../../scripts/mapper/train_mapper_model.py"

else:

    rule import_mapper_model:
        input:
            checkpoint=MAP.config["model"]["checkpoint"] or [],
            factory=MAP.factory_files,
        output:
            weights=MP("mapper_weights"),
            metrics=MP("mapper_train_metrics"),
        log:
            f"{OUT}/logs/mapper/import_mapper_model.log",
        conda:
            "../../envs/torch.yaml"
        threads: PLAN.torch_threads
        resources:
            mem_mb=4000,
            runtime=30,
            gpu=MAP.gpus,
        params:
            **named(
                arch=MAP.config["model"]["arch"],
                kwargs=MAP.config["model"]["kwargs"],
                dataset=config["dataset"],
                width=MAP.config["model"]["width"],
                seed=MAP.config["model"]["seed"],
                device=MAP.config["training"]["device"],
                pretrained=MAP.config["model"]["pretrained"],
            ),
        script:
            "../../scripts/mapper/import_mapper_model.py"
