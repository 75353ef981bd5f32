# Stage 1: the fixed, recorded set of images whose activations are analysed.


rule select_eval_images:
    output:
        eval_set=f"{OUT}/data/eval_set.json",
    log:
        f"{OUT}/logs/data/select_eval_images.log",
    conda:
        get_env("torch")
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        dataset=config["dataset"],
        activations=config["activations"],
    script:
        "../../scripts/nets/select_eval_images.py"
