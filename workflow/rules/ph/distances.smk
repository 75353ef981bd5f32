# Stage 6: distances between persistence diagrams: within each model (17 x 17 per metric)
# and across all models x layers (paper: 1,700 x 1,700), then cross-seed specificity.


rule layer_distances:
    input:
        diagrams=get_layer_diagrams,
    output:
        matrix=f"{OUT}/distances/topl2/{{metric}}_H{DIM}/seed{{seed}}.npz",
        csv=f"{OUT}/distances/topl2/{{metric}}_H{DIM}/seed{{seed}}.csv",
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
        distances=config["distances"],
    script:
        "../../scripts/ph/layer_distances.py"


rule cross_distances:
    input:
        diagrams=get_all_diagrams(),
    output:
        matrix=f"{OUT}/distances/topl2/{DIST}/cross.npz",
    log:
        f"{OUT}/logs/distances/topl2/{DIST}/cross.log",
    benchmark:
        f"{OUT}/benchmarks/distances/topl2/{DIST}/cross.tsv"
    conda:
        get_env("tda")
    threads: config["distances"]["threads"]
    resources:
        mem_mb=get_cross_mem_mb,
        runtime=240,
    params:
        seeds=SEEDS,
        layers=LAYERS,
        distances=config["distances"],
    script:
        "../../scripts/ph/cross_distances.py"


rule specificity:
    input:
        cross=get_cross_matrix,
    output:
        table=f"{OUT}/analysis/specificity_{{measure}}.csv",
        png=report(
            f"{OUT}/figures/specificity_{{measure}}.png",
            caption="../../report/specificity.rst",
            category="Across models",
            subcategory="Specificity",
            labels={"measure": "{measure}"},
        ),
        extra=get_extra_figures(f"{OUT}/figures/specificity_{{measure}}"),
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
