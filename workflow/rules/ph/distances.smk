# Stage 6: distances between persistence diagrams (docs/methods.md §6): within each model
# (17 x 17 per metric) and across all models x layers (paper: 1,700 x 1,700; the main
# distance and similarity.diagram_distances), then
# cross-seed specificity (§7).


rule layer_distances:
    input:
        diagrams=P.expand("diagram", layer=LAYERS),
    output:
        matrix=P("within_matrix", dim=DIM),
        csv=P("within_csv", dim=DIM),
    log:
        f"{OUT}/logs/distances/topl2/{{metric}}_H{DIM}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/distances/topl2/{{metric}}_H{DIM}/seed{{seed}}.tsv"
    conda:
        get_env("tda")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        layers=LAYERS,
        dim=DIM,
        infinite=config["distances"]["infinite"],
        parameters=get_metric_params,
    script:
        "../../scripts/ph/layer_distances.py"


rule cross_distances:
    input:
        diagrams=P.expand("diagram", seed=SEEDS, layer=LAYERS),
    output:
        matrix=P("cross_matrix"),
    log:
        f"{OUT}/logs/distances/topl2/{{measure}}/cross.log",
    benchmark:
        f"{OUT}/benchmarks/distances/topl2/{{measure}}/cross.tsv"
    conda:
        get_env("tda")
    threads: config["distances"]["threads"]
    resources:
        mem_mb=get_cross_mem_mb,
        runtime=240,
    params:
        seeds=SEEDS,
        layers=LAYERS,
        metric=get_cross_metric,
        dim=get_cross_dim,
        infinite=config["distances"]["infinite"],
        parameters=get_cross_metric_params,
    script:
        "../../scripts/ph/cross_distances.py"


rule specificity:
    input:
        cross=get_cross_matrix,
    output:
        table=P("specificity"),
        png=report(
            P("fig_specificity", ext="png"),
            caption="../../report/specificity.rst",
            category="Across models",
            subcategory="Specificity",
            labels={"measure": "{measure}"},
        ),
        extra=P.expand("fig_specificity", ext=FIG_EXTRA),
    log:
        f"{OUT}/logs/analysis/specificity_{{measure}}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        label=get_measure_label,
    script:
        "../../scripts/ph/specificity.py"
