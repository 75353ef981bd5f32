# Mapper branch: static figures of the graphs and the interactive explorer per cloud.


rule figure_mapper_purity:
    input:
        stats=f"{OUT}/mapper/stats.csv",
    output:
        png=report(
            f"{OUT}/figures/mapper/purity.png",
            caption="../../report/mapper_purity.rst",
            category="Mapper",
            subcategory="Purity",
        ),
        extra=get_extra_figures(f"{OUT}/figures/mapper/purity"),
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
        stats=f"{OUT}/mapper/stats.csv",
    output:
        png=report(
            f"{OUT}/figures/mapper/settings.png",
            caption="../../report/mapper_settings.rst",
            category="Mapper",
            subcategory="Settings",
        ),
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
            f"{OUT}/figures/mapper/layers_{{cloud}}.png",
            caption="../../report/mapper_layers.rst",
            category="Mapper",
            subcategory="Across layers",
            labels={"cloud": "{cloud}"},
        ),
        extra=get_extra_figures(f"{OUT}/figures/mapper/layers_{{cloud}}"),
    log:
        f"{OUT}/logs/figures/mapper/layers_{{cloud}}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        titles=get_layer_panel_titles,
        seed=MAPPER["figures"]["layout_seed"],
        kind="layers",
    script:
        "../../scripts/mapper/figure_mapper_panels.py"


rule figure_mapper_constructions:
    input:
        graphs=get_comparison_graphs,
    output:
        png=report(
            f"{OUT}/figures/mapper/constructions_{{layer}}.png",
            caption="../../report/mapper_constructions.rst",
            category="Mapper",
            subcategory="Point-cloud constructions",
            labels={"layer": "{layer}"},
        ),
        extra=get_extra_figures(f"{OUT}/figures/mapper/constructions_{{layer}}"),
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
        kind="constructions",
    script:
        "../../scripts/mapper/figure_mapper_panels.py"


rule figure_mapper_noise:
    input:
        graphs=get_noise_graphs,
    output:
        png=report(
            f"{OUT}/figures/mapper/noise_{{cloud}}_{{layer}}.png",
            caption="../../report/mapper_noise.rst",
            category="Mapper",
            subcategory="Input noise",
            labels={"cloud": "{cloud}", "layer": "{layer}"},
        ),
        extra=get_extra_figures(f"{OUT}/figures/mapper/noise_{{cloud}}_{{layer}}"),
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
        kind="noise",
    script:
        "../../scripts/mapper/figure_mapper_panels.py"


rule mapper_explorer:
    input:
        unpack(get_explorer_inputs),
    output:
        html=f"{OUT}/mapper/explorer/{{cloud}}.html",
    log:
        f"{OUT}/logs/mapper/explorer/{{cloud}}.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        titles=get_explorer_titles,
    script:
        "../../scripts/mapper/mapper_explorer.py"
