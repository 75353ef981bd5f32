# Stage 2: one trained network per seed (or imported weights when model.checkpoint is set).

if config["model"]["checkpoint"] is None:

    rule train_model:
        output:
            weights=f"{MODELS}/seed{{seed}}/weights.pt",
            metrics=f"{MODELS}/seed{{seed}}/train.json",
        log:
            f"{OUT}/logs/models/seed{{seed}}/train_model.log",
        benchmark:
            f"{OUT}/benchmarks/models/seed{{seed}}/train_model.tsv"
        conda:
            get_env("torch")
        threads: get_torch_threads()
        resources:
            mem_mb=get_train_mem_mb,
            gpu=get_ph_gpus(),
            runtime=get_train_runtime(),
        params:
            model=get_model_params(),
        script:
            "../../scripts/nets/train_model.py"

else:

    rule import_checkpoint:
        input:
            checkpoint=get_checkpoint,
        output:
            weights=f"{MODELS}/seed{{seed}}/weights.pt",
            metrics=f"{MODELS}/seed{{seed}}/train.json",
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
            model=get_model_params(),
        script:
            "../../scripts/nets/import_checkpoint.py"


rule model_summary:
    input:
        metrics=get_all_metrics(),
    output:
        csv=f"{MODELS}/summary.csv",
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
