# Stage 3: outputs of the recorded layers (activations.layers) for the recorded images, one shard per layer.


rule extract_activations:
    input:
        weights=P("weights"),
        metrics=P("train_metrics"),
        eval_set=P("eval_set"),
        factory=PLAN.factory_files,
    output:
        # temporary unless activations.keep
        shards=[temp(f) for f in PLAN.shards] if PLAN.temp_shards else PLAN.shards,
        manifest=P("manifest"),
    log:
        f"{OUT}/logs/activations/seed{{seed}}/extract_activations.log",
    benchmark:
        f"{OUT}/benchmarks/activations/seed{{seed}}/extract_activations.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: PLAN.torch_threads
    resources:
        mem_mb=PLAN.extract_mem_mb,
        gpu=PLAN.gpus,
        disk_mb=PLAN.shard_mb,
        runtime=30,
    params:
        **named(
            out_dir=P("shard_dir"),
            dataset=config["dataset"],
            arch=PLAN.arch,
            width=config["model"]["width"],
            kwargs=config["model"]["kwargs"],
            pretrained=config["model"]["pretrained"],
            device=config["training"]["device"],
            layers=PLAN.layers,
            batch_size=config["activations"]["batch_size"],
            dtype=config["activations"]["dtype"],
            max_batch_mb=config["activations"]["max_batch_mb"],
        ),
    script:
        "../../scripts/nets/extract_activations.py"
