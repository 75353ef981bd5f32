# Mapper branch: static figures of the graphs and the interactive explorer per cloud.


rule figure_mapper_purity:
    input:
        stats=MP("mapper_stats"),
    output:
        png=report(
            MP("fig_mapper_purity", ext="png"),
            caption="../../report/mapper_purity.rst",
            category="Mapper",
            subcategory="Purity",
        ),
        extra=MP.expand("fig_mapper_purity", ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/mapper/purity.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **named(
            primary=MAP.primary,
        ),
    script:
        "../../scripts/mapper/figure_mapper_purity.py"


rule figure_mapper_settings:
    input:
        stats=MP("mapper_stats"),
    output:
        png=report(
            MP("fig_mapper_settings", ext="png"),
            caption="../../report/mapper_settings.rst",
            category="Mapper",
            subcategory="Settings",
        ),
        extra=MP.expand("fig_mapper_settings", ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/mapper/settings.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/mapper/figure_mapper_settings.py"


rule figure_mapper_layers:
    input:
        graphs=MAP.panel_graphs,
    output:
        png=report(
            MP("fig_mapper_layers", ext="png"),
            caption="../../report/mapper_layers.rst",
            category="Mapper",
            subcategory="Across layers",
            labels={"cloud": "{cloud}"},
        ),
        extra=MP.expand("fig_mapper_layers", ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/mapper/layers_{{cloud}}.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        **named(
            titles=MAP.panel_layers,
            seed=MAP.config["figures"]["layout_seed"],
            suptitle=lambda w: f"Mapper graphs across layers ({w.cloud} point clouds)",
        ),
    script:
        "../../scripts/mapper/figure_mapper_panels.py"


rule figure_mapper_constructions:
    input:
        graphs=MAP.comparison_graphs,
    output:
        png=report(
            MP("fig_mapper_constructions", ext="png"),
            caption="../../report/mapper_constructions.rst",
            category="Mapper",
            subcategory="Point-cloud constructions",
            labels={"layer": "{layer}"},
        ),
        extra=MP.expand("fig_mapper_constructions", ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/mapper/constructions_{{layer}}.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        **named(
            titles=MAP.comparison_clouds,
            seed=MAP.config["figures"]["layout_seed"],
            suptitle=lambda w: f"Point-cloud constructions at {w.layer}",
        ),
    script:
        "../../scripts/mapper/figure_mapper_panels.py"


rule figure_mapper_noise:
    input:
        graphs=MAP.noise_graphs,
    output:
        png=report(
            MP("fig_mapper_noise", ext="png"),
            caption="../../report/mapper_noise.rst",
            category="Mapper",
            subcategory="Input noise",
            labels={"cloud": "{cloud}", "layer": "{layer}"},
        ),
        extra=MP.expand("fig_mapper_noise", ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/mapper/noise_{{cloud}}_{{layer}}.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        **named(
            titles=MAP.noise_titles,
            seed=MAP.config["figures"]["layout_seed"],
            suptitle=lambda w: f"Input noise: {w.cloud} point clouds at {w.layer}",
        ),
    script:
        "../../scripts/mapper/figure_mapper_panels.py"


rule mapper_explorer:
    input:
        unpack(MAP.explorer_inputs),
    output:
        html=MP("mapper_explorer"),
        files=directory(MP("mapper_explorer_files")),
    log:
        f"{OUT}/logs/mapper/explorer/{{cloud}}.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        **named(
            titles=MAP.cloud_layers,
            seed=MAP.config["figures"]["layout_seed"],
            thumbnails=MAP.config["figures"]["thumbnails"],
            dataset=config["dataset"],
            split=MAP.config["images"]["split"],
            links=CYC.explorer_links,
        ),
    script:
        "../../scripts/mapper/mapper_explorer.py"


# One job per cloud draws all its layers, one rule per group of clouds with the same
# layers (as the cloud rules).
for rule_name, (clouds, cloud_layers) in MAP.cloud_rules.items():

    rule:
        name:
            rule_name.replace("mapper_clouds", "figure_mapper_knn")
        input:
            clouds=MP.expand("mapper_cloud", layer=cloud_layers),
            graphs=MAP.cloud_graphs,
        output:
            knn=MP.expand("mapper_knn", layer=cloud_layers),
            png=[
                report(
                    MP("fig_mapper_knn", layer=l, ext="png"),
                    caption="../../report/mapper_knn.rst",
                    category="Mapper",
                    subcategory="k-NN distances",
                    labels={"cloud": "{cloud}", "layer": l},
                )
                for l in cloud_layers
            ],
            extra=MP.expand("fig_mapper_knn", layer=cloud_layers, ext=PLAN.fig_extra),
        log:
            f"{OUT}/logs/figures/mapper/knn/{{cloud}}.log",
        benchmark:
            f"{OUT}/benchmarks/mapper/knn/{{cloud}}.tsv"
        wildcard_constraints:
            cloud=MAP.cloud_pattern(clouds),
        conda:
            "../../envs/plot.yaml"
        threads: MAP.config["graph"]["threads"]
        resources:
            mem_mb=MAP.knn_mem_mb,
            runtime=MAP.knn_runtime,
        params:
            **named(
                k=MAP.config["figures"]["knn_k"],
                queries=MAP.config["figures"]["knn_queries"],
                seed=MAP.config["seed"],
                knn_method=MAP.config["graph"]["knn_method"],
                knn_approx_above=MAP.config["graph"]["knn_approx_above"],
                predictions=MAP.predictions_feature,
                graph_counts=MAP.cloud_graph_counts,
            ),
        script:
            "../../scripts/mapper/figure_mapper_knn.py"
