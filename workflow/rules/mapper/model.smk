# Mapper branch: the option-B network (trained with the Catalyst recipe, or imported).


if MAPPER["model"]["checkpoint"] is None:

    rule train_mapper_model:
        output:
            weights=f"{MAPPER_MODEL}/weights.pt",
            metrics=f"{MAPPER_MODEL}/train.json",
        log:
            f"{OUT}/logs/mapper/train_mapper_model.log",
        benchmark:
            f"{OUT}/benchmarks/mapper/train_mapper_model.tsv"
        conda:
            get_env("torch")
        threads: get_torch_threads()
        resources:
            mem_mb=get_mapper_train_mem_mb,
            runtime=get_mapper_train_runtime(),
            gpu=get_mapper_gpus(),
        script:
            "../../scripts/mapper/train_mapper_model.py"

else:

    rule import_mapper_model:
        input:
            checkpoint=MAPPER["model"]["checkpoint"],
        output:
            weights=f"{MAPPER_MODEL}/weights.pt",
            metrics=f"{MAPPER_MODEL}/train.json",
        log:
            f"{OUT}/logs/mapper/import_mapper_model.log",
        conda:
            get_env("torch")
        threads: get_torch_threads()
        resources:
            mem_mb=4000,
            runtime=30,
            gpu=get_mapper_gpus(),
        script:
            "../../scripts/mapper/import_mapper_model.py"
