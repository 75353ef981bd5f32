# Stage 6c: bootstrap over the evaluation images of a plotted model's layer-distance
# matrix (docs/methods.md §6): per-entry intervals, and which layer pairs differ beyond
# image-sampling noise (hatched in the heatmaps). Only with distances.bootstrap > 0.


rule layer_bootstrap:
    input:
        clouds=P.expand("pointcloud", layer=PLAN.layers),
        diagrams=P.expand("diagram", layer=PLAN.layers),
        matrix=P("within_matrix", dim=PLAN.dim),
    output:
        bootstrap=P("within_bootstrap", dim=PLAN.dim),
    log:
        f"{OUT}/logs/distances/topl2/{{metric}}_H{PLAN.dim}/bootstrap_seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/distances/topl2/{{metric}}_H{PLAN.dim}/bootstrap_seed{{seed}}.tsv"
    conda:
        "../../envs/tda.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.persistence_mem_mb,
        runtime=PLAN.bootstrap_runtime,
    params:
        **named(
            layers=PLAN.layers,
            n_boot=config["distances"]["bootstrap"],
            dim=PLAN.dim,
            backend=config["persistence"]["backend"],
            maxdim=config["persistence"]["maxdim"],
            coeff=config["persistence"]["coeff"],
            parameters=PLAN.metric_params,
            infinite=config["distances"]["infinite"],
        ),
    script:
        "../../scripts/ph/layer_bootstrap.py"
