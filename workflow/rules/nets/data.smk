# Stage 1: the fixed, recorded set of images whose activations are analysed.


rule select_eval_images:
    output:
        eval_set=P("eval_set"),
    log:
        f"{OUT}/logs/data/select_eval_images.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        **named(
            dataset=PLAN.dataset_source,
            split=config["activations"]["split"],
            n_images=PLAN.n_images,
            selection=config["activations"]["selection"],
            seed=config["activations"]["seed"],
        ),
    script:
        "../../scripts/nets/select_eval_images.py"
