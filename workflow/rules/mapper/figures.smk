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
        extra=MP.expand("fig_mapper_purity", ext=FIG_EXTRA),
    log:
        f"{OUT}/logs/figures/mapper/purity.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        primary=get_mapper_primary(),
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
        extra=MP.expand("fig_mapper_settings", ext=FIG_EXTRA),
    log:
        f"{OUT}/logs/figures/mapper/settings.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/mapper/figure_mapper_settings.py"


rule figure_mapper_layers:
    input:
        graphs=get_layer_panel_graphs,
    output:
        png=report(
            MP("fig_mapper_layers", ext="png"),
            caption="../../report/mapper_layers.rst",
            category="Mapper",
            subcategory="Across layers",
            labels={"cloud": "{cloud}"},
        ),
        extra=MP.expand("fig_mapper_layers", ext=FIG_EXTRA),
    log:
        f"{OUT}/logs/figures/mapper/layers_{{cloud}}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        titles=get_panel_layers,
        seed=MAPPER["figures"]["layout_seed"],
        suptitle=lambda w: f"Mapper graphs across layers ({w.cloud} point clouds)",
    script:
        "../../scripts/mapper/figure_mapper_panels.py"


rule figure_mapper_constructions:
    input:
        graphs=get_comparison_graphs,
    output:
        png=report(
            MP("fig_mapper_constructions", ext="png"),
            caption="../../report/mapper_constructions.rst",
            category="Mapper",
            subcategory="Point-cloud constructions",
            labels={"layer": "{layer}"},
        ),
        extra=MP.expand("fig_mapper_constructions", ext=FIG_EXTRA),
    log:
        f"{OUT}/logs/figures/mapper/constructions_{{layer}}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        titles=get_comparison_clouds(),
        seed=MAPPER["figures"]["layout_seed"],
        suptitle=lambda w: f"Point-cloud constructions at {w.layer}",
    script:
        "../../scripts/mapper/figure_mapper_panels.py"


rule figure_mapper_noise:
    input:
        graphs=get_noise_graphs,
    output:
        png=report(
            MP("fig_mapper_noise", ext="png"),
            caption="../../report/mapper_noise.rst",
            category="Mapper",
            subcategory="Input noise",
            labels={"cloud": "{cloud}", "layer": "{layer}"},
        ),
        extra=MP.expand("fig_mapper_noise", ext=FIG_EXTRA),
    log:
        f"{OUT}/logs/figures/mapper/noise_{{cloud}}_{{layer}}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        titles=get_noise_titles,
        seed=MAPPER["figures"]["layout_seed"],
        suptitle=lambda w: f"Input noise: {w.cloud} point clouds at {w.layer}",
    script:
        "../../scripts/mapper/figure_mapper_panels.py"


rule mapper_explorer:
    input:
        unpack(get_explorer_inputs),
    output:
        html=MP("mapper_explorer"),
        files=directory(MP("mapper_explorer_files")),
    log:
        f"{OUT}/logs/mapper/explorer/{{cloud}}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        titles=get_cloud_layers,
        seed=MAPPER["figures"]["layout_seed"],
        thumbnails=MAPPER["figures"]["thumbnails"],
        dataset=config["dataset"],
        split=MAPPER["images"]["split"],
    script:
        "../../scripts/mapper/mapper_explorer.py"


# One job per cloud draws all its layers, one rule per group of clouds with the same
# layers (as the cloud rules).
for rule_name, (clouds, cloud_layers) in get_cloud_rules().items():

    rule:
        name:
            rule_name.replace("mapper_clouds", "figure_mapper_knn")
        input:
            clouds=MP.expand("mapper_cloud", layer=cloud_layers),
            graphs=get_cloud_graphs,
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
            extra=MP.expand("fig_mapper_knn", layer=cloud_layers, ext=FIG_EXTRA),
        log:
            f"{OUT}/logs/figures/mapper/knn/{{cloud}}.log",
        benchmark:
            f"{OUT}/benchmarks/mapper/knn/{{cloud}}.tsv"
        wildcard_constraints:
            cloud="|".join(re.escape(c) for c in clouds),
        conda:
            get_env("plot")
        threads: MAPPER["graph"]["threads"]
        resources:
            mem_mb=get_mapper_knn_mem_mb,
            runtime=get_mapper_knn_runtime,
        params:
            k=MAPPER["figures"]["knn_k"],
            queries=MAPPER["figures"]["knn_queries"],
            seed=MAPPER["seed"],
            knn_method=MAPPER["graph"]["knn_method"],
            knn_approx_above=MAPPER["graph"]["knn_approx_above"],
            predictions=get_predictions_feature,
            graph_counts=get_cloud_graph_counts,
        script:
            "../../scripts/mapper/figure_mapper_knn.py"
