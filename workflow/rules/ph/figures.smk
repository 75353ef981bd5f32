# Stage 7: paper-style figures (PNG for the report, plus figures.extra_formats).


rule figure_layer_heatmap:
    input:
        matrix=f"{OUT}/distances/topl2/{{metric}}_H{DIM}/seed{{seed}}.npz",
    output:
        png=report(
            f"{OUT}/figures/heatmaps/{{metric}}_H{DIM}_seed{{seed}}.png",
            caption="../../report/heatmap_seed.rst",
            category="Layer distances",
            subcategory="Per model",
            labels={"model": "seed {seed}", "metric": "{metric}"},
        ),
        extra=get_extra_figures(
            f"{OUT}/figures/heatmaps/{{metric}}_H{DIM}_seed{{seed}}"
        ),
    log:
        f"{OUT}/logs/figures/heatmaps/{{metric}}_H{DIM}_seed{{seed}}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        title=get_seed_title,
    script:
        "../../scripts/ph/figure_layer_heatmap.py"


rule figure_mean_heatmap:
    input:
        matrices=get_all_matrices,
    output:
        png=report(
            f"{OUT}/figures/heatmap_mean_{{metric}}_H{DIM}.png",
            caption="../../report/heatmap_mean.rst",
            category="Layer distances",
            subcategory="Mean over models",
            labels={"metric": "{metric}"},
        ),
        extra=get_extra_figures(f"{OUT}/figures/heatmap_mean_{{metric}}_H{DIM}"),
        summary=f"{OUT}/distances/topl2/{{metric}}_H{DIM}/mean.npz",
    log:
        f"{OUT}/logs/figures/heatmap_mean_{{metric}}_H{DIM}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/ph/figure_mean_heatmap.py"


rule figure_diagram_grid:
    input:
        diagrams=get_layer_diagrams,
    output:
        png=report(
            f"{OUT}/figures/diagrams/seed{{seed}}.png",
            caption="../../report/diagrams.rst",
            category="Persistence diagrams",
            labels={"model": "seed {seed}"},
        ),
        extra=get_extra_figures(f"{OUT}/figures/diagrams/seed{{seed}}"),
    log:
        f"{OUT}/logs/figures/diagrams/seed{{seed}}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        layers=LAYERS,
        maxdim=config["persistence"]["maxdim"],
        title=get_diagram_title,
    script:
        "../../scripts/ph/figure_diagram_grid.py"


rule figure_training:
    input:
        metrics=get_all_metrics(),
    output:
        png=report(
            f"{OUT}/figures/training.png",
            caption="../../report/training.rst",
            category="Models",
        ),
        extra=get_extra_figures(f"{OUT}/figures/training"),
    log:
        f"{OUT}/logs/figures/training.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/ph/figure_training.py"


rule figure_sensitivity:
    input:
        tables=get_sensitivity_tables,
    output:
        png=report(
            f"{OUT}/figures/sensitivity/{DIST}_seed{{seed}}.png",
            caption="../../report/sensitivity.rst",
            category="Sensitivity",
            labels={"model": "seed {seed}", "measure": "PH distance"},
        ),
        extra=get_extra_figures(f"{OUT}/figures/sensitivity/{DIST}_seed{{seed}}"),
        cka_png=report(
            f"{OUT}/figures/sensitivity/cka_seed{{seed}}.png",
            caption="../../report/sensitivity.rst",
            category="Sensitivity",
            labels={"model": "seed {seed}", "measure": "linear CKA"},
        ),
        cka_extra=get_extra_figures(f"{OUT}/figures/sensitivity/cka_seed{{seed}}"),
    log:
        f"{OUT}/logs/figures/sensitivity_seed{{seed}}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        layers=LAYERS,
        distances=config["distances"],
    script:
        "../../scripts/ph/figure_sensitivity.py"


rule figure_sw_vs_cka:
    input:
        distances=f"{OUT}/distances/topl2/{DIST}/cross.npz",
        cka=f"{OUT}/similarity/cka/cross.npz",
    output:
        png=report(
            f"{OUT}/figures/{DIST}_vs_cka.png",
            caption="../../report/sw_vs_cka.rst",
            category="Layer distances",
            subcategory="PH distance vs CKA",
        ),
        extra=get_extra_figures(f"{OUT}/figures/{DIST}_vs_cka"),
    log:
        f"{OUT}/logs/figures/{DIST}_vs_cka.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../../scripts/ph/figure_sw_vs_cka.py"
