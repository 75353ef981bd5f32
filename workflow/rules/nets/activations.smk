# Stage 3: outputs of the recorded layers (activations.layers) for the recorded images, one shard per layer.


rule extract_activations:
    input:
        weights=P("weights"),
        metrics=P("train_metrics"),
        eval_set=P("eval_set"),
        factory=get_factory_file(),
    output:
        shards=get_shards(),
        manifest=P("manifest"),
    log:
        f"{OUT}/logs/activations/seed{{seed}}/extract_activations.log",
    benchmark:
        f"{OUT}/benchmarks/activations/seed{{seed}}/extract_activations.tsv"
    conda:
        get_env("torch")
    threads: get_torch_threads()
    resources:
        mem_mb=get_extract_mem_mb,
        gpu=get_ph_gpus(),
        disk_mb=resources.shard_mb(
            SHAPES, LAYERS, N_IMAGES, config["activations"]["dtype"]
        ),
        runtime=30,
    params:
        out_dir=P("shard_dir"),
        dataset=config["dataset"],
        arch=ARCH,
        width=WIDTH,
        kwargs=config["model"]["kwargs"],
        pretrained=config["model"]["pretrained"],
        device=config["training"]["device"],
        layers=LAYERS,
        batch_size=config["activations"]["batch_size"],
        dtype=config["activations"]["dtype"],
        max_batch_mb=config["activations"]["max_batch_mb"],
    script:
        "../../scripts/nets/extract_activations.py"
