# Mapper branch: the Mapper network (mapper.model.arch, default the option-B ResNet-18),
# trained with the Catalyst recipe, or imported (mapper.model.checkpoint / pretrained).


if is_mapper_trained():

    rule train_mapper_model:
        input:
            factory=get_mapper_factory_file(),
        output:
            weights=MP("mapper_weights"),
            metrics=MP("mapper_train_metrics"),
        log:
            f"{OUT}/logs/mapper/train_mapper_model.log",
        benchmark:
            f"{OUT}/benchmarks/mapper/train_mapper_model.tsv"
        conda:
            get_env("torch")
        threads: get_torch_threads()
        resources:
            mem_mb=get_mapper_train_mem_mb,
            runtime=mapper_resources.train_runtime(MAPPER["training"]["epochs"]),
            gpu=get_mapper_gpus(),
        params:
            arch=MAPPER_ARCH_CONFIG,
            kwargs=MAPPER["model"]["kwargs"],
            dataset=config["dataset"],
            width=MAPPER["model"]["width"],
            seed=MAPPER["model"]["seed"],
            training=MAPPER["training"],
        script:
            "../../scripts/mapper/train_mapper_model.py"

else:

    rule import_mapper_model:
        input:
            checkpoint=MAPPER["model"]["checkpoint"] or [],
            factory=get_mapper_factory_file(),
        output:
            weights=MP("mapper_weights"),
            metrics=MP("mapper_train_metrics"),
        log:
            f"{OUT}/logs/mapper/import_mapper_model.log",
        conda:
            get_env("torch")
        threads: get_torch_threads()
        resources:
            mem_mb=4000,
            runtime=30,
            gpu=get_mapper_gpus(),
        params:
            arch=MAPPER_ARCH_CONFIG,
            kwargs=MAPPER["model"]["kwargs"],
            dataset=config["dataset"],
            width=MAPPER["model"]["width"],
            seed=MAPPER["model"]["seed"],
            device=MAPPER["training"]["device"],
            pretrained=MAPPER["model"]["pretrained"],
        script:
            "../../scripts/mapper/import_mapper_model.py"
