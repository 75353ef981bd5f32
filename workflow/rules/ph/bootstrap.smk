# Stage 6c: bootstrap over the evaluation images of a plotted model's layer-distance
# matrix (docs/methods.md §6): per-entry intervals, and which layer pairs differ beyond
# image-sampling noise (hatched in the heatmaps). Only with distances.bootstrap > 0.


rule layer_bootstrap:
    input:
        clouds=P.expand("pointcloud", layer=LAYERS),
        diagrams=P.expand("diagram", layer=LAYERS),
        matrix=P("within_matrix", dim=DIM),
    output:
        bootstrap=P("within_bootstrap", dim=DIM),
    log:
        f"{OUT}/logs/distances/topl2/{{metric}}_H{DIM}/bootstrap_seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/distances/topl2/{{metric}}_H{DIM}/bootstrap_seed{{seed}}.tsv"
    conda:
        get_env("tda")
    threads: 1
    resources:
        mem_mb=get_persistence_mem_mb,
        runtime=get_bootstrap_runtime,
    params:
        layers=LAYERS,
        n_boot=config["distances"]["bootstrap"],
        dim=DIM,
        backend=config["persistence"]["backend"],
        maxdim=config["persistence"]["maxdim"],
        coeff=config["persistence"]["coeff"],
        parameters=get_metric_params,
        infinite=config["distances"]["infinite"],
    script:
        "../../scripts/ph/layer_bootstrap.py"
