# Stage 7: paper-style figures (PNG for the report, plus figures.extra_formats).


rule figure_layer_heatmap:
    input:
        unpack(PLAN.heatmap_bootstrap),
        matrix=P("within_matrix", dim=PLAN.dim),
    output:
        png=report(
            P("fig_heatmap", dim=PLAN.dim, ext="png"),
            caption="../../report/heatmap_seed.rst",
            category="Layer distances",
            subcategory="Per model",
            labels={"model": "seed {seed}", "metric": "{metric}"},
        ),
        extra=P.expand("fig_heatmap", dim=PLAN.dim, ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/heatmaps/{{metric}}_H{PLAN.dim}_seed{{seed}}.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **named(
            title="seed {seed}",
        ),
    script:
        "../../scripts/ph/figure_layer_heatmap.py"


rule figure_mean_heatmap:
    input:
        matrices=P.expand("within_matrix", dim=PLAN.dim, seed=PLAN.seeds),
    output:
        png=report(
            P("fig_heatmap_mean", dim=PLAN.dim, ext="png"),
            caption="../../report/heatmap_mean.rst",
            category="Layer distances",
            subcategory="Mean over models",
            labels={"metric": "{metric}"},
        ),
        extra=P.expand("fig_heatmap_mean", dim=PLAN.dim, ext=PLAN.fig_extra),
        summary=P("mean_matrix", dim=PLAN.dim),
    log:
        f"{OUT}/logs/figures/heatmap_mean_{{metric}}_H{PLAN.dim}.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/ph/figure_mean_heatmap.py"


rule figure_diagram_grid:
    input:
        diagrams=P.expand("diagram", layer=PLAN.layers),
    output:
        png=report(
            P("fig_diagrams", ext="png"),
            caption="../../report/diagrams.rst",
            category="Persistence diagrams",
            labels={"model": "seed {seed}"},
        ),
        extra=P.expand("fig_diagrams", ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/diagrams/seed{{seed}}.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **named(
            layers=PLAN.layers,
            maxdim=config["persistence"]["maxdim"],
            title="Persistence of top-l2 point clouds, seed {seed}",
        ),
    script:
        "../../scripts/ph/figure_diagram_grid.py"


rule figure_training:
    input:
        metrics=P.expand("train_metrics", seed=PLAN.seeds),
    output:
        png=report(
            P("fig_training", ext="png"),
            caption="../../report/training.rst",
            category="Models",
        ),
        extra=P.expand("fig_training", ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/training.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/ph/figure_training.py"


rule figure_sensitivity:
    input:
        tables=P.expand("sensitivity", layer=PLAN.layers),
    output:
        png=report(
            P("fig_sensitivity", measure=PLAN.dist, ext="png"),
            caption="../../report/sensitivity.rst",
            category="Sensitivity",
            labels={"model": "seed {seed}", "measure": "PH distance"},
        ),
        extra=P.expand("fig_sensitivity", measure=PLAN.dist, ext=PLAN.fig_extra),
        cka_png=report(
            P("fig_sensitivity", measure="cka", ext="png"),
            caption="../../report/sensitivity.rst",
            category="Sensitivity",
            labels={"model": "seed {seed}", "measure": "linear CKA"},
        ),
        cka_extra=P.expand("fig_sensitivity", measure="cka", ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/sensitivity_seed{{seed}}.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **named(
            layers=PLAN.layers,
            dim=PLAN.dim,
        ),
    script:
        "../../scripts/ph/figure_sensitivity.py"


rule figure_sw_vs_cka:
    input:
        distances=P("cross_matrix", measure=PLAN.dist),
        cka=P("similarity_cross", representation="topl2", measure="cka_linear"),
    output:
        png=report(
            P("fig_vs_cka", measure=PLAN.dist, ext="png"),
            caption="../../report/sw_vs_cka.rst",
            category="Layer distances",
            subcategory="PH distance vs CKA",
        ),
        extra=P.expand("fig_vs_cka", measure=PLAN.dist, ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/{PLAN.dist}_vs_cka.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../../scripts/ph/figure_sw_vs_cka.py"
