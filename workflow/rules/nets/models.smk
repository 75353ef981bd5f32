# Stage 2: one trained network per seed (or imported weights: model.checkpoint, model.pretrained).

if PLAN.is_trained:

    rule train_model:
        input:
            factory=PLAN.factory_files,
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
            "../../envs/torch.yaml"
        threads: PLAN.torch_threads
        resources:
            mem_mb=PLAN.train_mem_mb,
            gpu=PLAN.gpus,
            runtime=PLAN.train_runtime,
        params:
            **named(
                dataset=config["dataset"],
                arch=PLAN.arch,
                width=config["model"]["width"],
                kwargs=config["model"]["kwargs"],
                training=config["training"],
            ),
        script:
            "../../scripts/nets/train_model.py"

else:

    rule import_checkpoint:
        input:
            checkpoint=PLAN.checkpoint,
            factory=PLAN.factory_files,
        output:
            weights=P("weights"),
            metrics=P("train_metrics"),
        log:
            f"{OUT}/logs/models/seed{{seed}}/import_checkpoint.log",
        conda:
            "../../envs/torch.yaml"
        threads: PLAN.torch_threads
        resources:
            mem_mb=4000,
            runtime=30,
            gpu=PLAN.gpus,
        params:
            **named(
                dataset=config["dataset"],
                arch=PLAN.arch,
                width=config["model"]["width"],
                kwargs=config["model"]["kwargs"],
                pretrained=config["model"]["pretrained"],
                device=config["training"]["device"],
                eval_batch_size=config["training"]["eval_batch_size"],
                tta=config["training"]["tta"],
            ),
        script:
            "../../scripts/nets/import_checkpoint.py"


rule model_summary:
    input:
        metrics=P.expand("train_metrics", seed=PLAN.seeds),
    output:
        csv=P("model_summary"),
    log:
        f"{OUT}/logs/models/model_summary.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/nets/model_summary.py"
