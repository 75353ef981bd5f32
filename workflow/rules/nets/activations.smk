# Stage 3: raw (pre-BN) outputs of the conv layers for the recorded images, one shard per layer.


rule extract_activations:
    input:
        weights=f"{MODELS}/seed{{seed}}/weights.pt",
        eval_set=f"{OUT}/data/eval_set.json",
    output:
        shards=get_shards(),
        manifest=f"{OUT}/activations/seed{{seed}}/manifest.json",
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
        disk_mb=get_shard_mb(),
        runtime=30,
    params:
        out_dir=get_activation_dir,
        layers=LAYERS,
        activations=config["activations"],
    script:
        "../../scripts/nets/extract_activations.py"
