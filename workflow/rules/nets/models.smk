# Stage 2: one trained network per seed (or imported weights: model.checkpoint, model.pretrained).

if is_trained():

    rule train_model:
        input:
            factory=get_factory_file(),
        output:
            weights=P("weights"),
            metrics=P("train_metrics"),
        log:
            f"{OUT}/logs/models/seed{{seed}}/train_model.log",
        benchmark:
            f"{OUT}/benchmarks/models/seed{{seed}}/train_model.tsv"
        # every network first: the cross-model jobs wait for the last one, and on a small
        # machine the Mapper and per-model work fills the cores around them
        priority: 20
        conda:
            get_env("torch")
        threads: get_torch_threads()
        resources:
            mem_mb=get_train_mem_mb,
            gpu=get_ph_gpus(),
            runtime=resources.train_runtime(config["training"]["epochs"]),
        params:
            dataset=config["dataset"],
            arch=ARCH,
            width=WIDTH,
            kwargs=config["model"]["kwargs"],
            training=config["training"],
        script:
            "../../scripts/nets/train_model.py"

else:

    rule import_checkpoint:
        input:
            checkpoint=get_checkpoint,
            factory=get_factory_file(),
        output:
            weights=P("weights"),
            metrics=P("train_metrics"),
        log:
            f"{OUT}/logs/models/seed{{seed}}/import_checkpoint.log",
        conda:
            get_env("torch")
        threads: get_torch_threads()
        resources:
            mem_mb=4000,
            runtime=30,
            gpu=get_ph_gpus(),
        params:
            dataset=config["dataset"],
            arch=ARCH,
            width=WIDTH,
            kwargs=config["model"]["kwargs"],
            pretrained=config["model"]["pretrained"],
            device=config["training"]["device"],
            eval_batch_size=config["training"]["eval_batch_size"],
            tta=config["training"]["tta"],
        script:
            "../../scripts/nets/import_checkpoint.py"


rule model_summary:
    input:
        metrics=P.expand("train_metrics", seed=SEEDS),
    output:
        csv=P("model_summary"),
    log:
        f"{OUT}/logs/models/model_summary.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/nets/model_summary.py"
