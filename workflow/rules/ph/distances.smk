# Stage 6: distances between persistence diagrams (docs/methods.md §6): within each model
# (17 x 17 per metric) and across all models x layers (paper: 1,700 x 1,700; the main
# distance and similarity.diagram_distances), then
# cross-seed specificity (§7).


rule layer_distances:
    input:
        diagrams=P.expand("diagram", layer=PLAN.layers),
    output:
        matrix=P("within_matrix", dim=PLAN.dim),
        csv=P("within_csv", dim=PLAN.dim),
    log:
        f"{OUT}/logs/distances/topl2/{{metric}}_H{PLAN.dim}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/distances/topl2/{{metric}}_H{PLAN.dim}/seed{{seed}}.tsv"
    conda:
        "../../envs/tda.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        **named(
            layers=PLAN.layers,
            dim=PLAN.dim,
            infinite=config["distances"]["infinite"],
            parameters=PLAN.metric_params,
        ),
    script:
        "../../scripts/ph/layer_distances.py"


# one job per (representation, measure): topl2 (the main distance, the specificity figures)
# and every other persistence.representations entry (the tests of similarity.smk)
rule cross_distances:
    input:
        diagrams=P.expand("representation_diagram", seed=PLAN.seeds, layer=PLAN.layers),
    output:
        matrix=P("representation_cross"),
    log:
        f"{OUT}/logs/distances/{{representation}}/{{measure}}/cross.log",
    benchmark:
        f"{OUT}/benchmarks/distances/{{representation}}/{{measure}}/cross.tsv"
    conda:
        "../../envs/tda.yaml"
    threads: config["distances"]["threads"]
    resources:
        mem_mb=PLAN.cross_mem_mb,
        runtime=240,
    params:
        **named(
            seeds=PLAN.seeds,
            layers=PLAN.layers,
            metric=PLAN.cross_metric,
            dim=PLAN.cross_dim,
            infinite=config["distances"]["infinite"],
            parameters=PLAN.cross_metric_params,
        ),
    script:
        "../../scripts/ph/cross_distances.py"


rule specificity:
    input:
        cross=PLAN.cross_matrix,
    output:
        table=P("specificity"),
        png=report(
            P("fig_specificity", ext="png"),
            caption="../../report/specificity.rst",
            category="Across models",
            subcategory="Specificity",
            labels={"measure": "{measure}"},
        ),
        extra=P.expand("fig_specificity", ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/analysis/specificity_{{measure}}.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **named(
            label=PLAN.measure_label,
        ),
    script:
        "../../scripts/ph/specificity.py"
