# The Mapper branch (paper-methods 1.3b, 1.5, 3): the option-B network, point clouds of
# its BatchNorm outputs, Mapper graphs (Mapper Interactive JSON), purity, figures and
# an interactive explorer per cloud.

if MAPPER["model"]["checkpoint"] is None:

    rule train_mapper_model:
        output:
            weights=f"{MAPPER_MODEL}/weights.pt",
            metrics=f"{MAPPER_MODEL}/train.json",
        log:
            f"{OUT}/logs/mapper/train_mapper_model.log",
        benchmark:
            f"{OUT}/benchmarks/mapper/train_mapper_model.tsv"
        conda:
            get_env("torch")
        threads: get_torch_threads()
        resources:
            mem_mb=get_mapper_train_mem_mb,
            runtime=get_mapper_train_runtime(),
            gpu=get_mapper_gpus(),
        script:
            "../scripts/train_mapper_model.py"

else:

    rule import_mapper_model:
        input:
            checkpoint=MAPPER["model"]["checkpoint"],
        output:
            weights=f"{MAPPER_MODEL}/weights.pt",
            metrics=f"{MAPPER_MODEL}/train.json",
        log:
            f"{OUT}/logs/mapper/import_mapper_model.log",
        conda:
            get_env("torch")
        threads: get_torch_threads()
        resources:
            mem_mb=4000,
            runtime=30,
            gpu=get_mapper_gpus(),
        script:
            "../scripts/import_mapper_model.py"


rule select_mapper_images:
    output:
        images=f"{OUT}/mapper/images.npz",
    log:
        f"{OUT}/logs/mapper/select_mapper_images.log",
    conda:
        get_env("torch")
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    script:
        "../scripts/select_mapper_images.py"


rule mapper_cloud:
    input:
        weights=f"{MAPPER_MODEL}/weights.pt",
        images=f"{OUT}/mapper/images.npz",
    output:
        cloud=f"{OUT}/mapper/clouds/{{cloud}}/{{layer}}.npz",
    log:
        f"{OUT}/logs/mapper/clouds/{{cloud}}/{{layer}}.log",
    benchmark:
        f"{OUT}/benchmarks/mapper/clouds/{{cloud}}/{{layer}}.tsv"
    conda:
        get_env("torch")
    threads: get_torch_threads()
    resources:
        mem_mb=get_mapper_cloud_mem_mb,
        runtime=60,
        gpu=get_mapper_gpus(),
    script:
        "../scripts/mapper_cloud.py"


rule mapper_graph:
    input:
        cloud=f"{OUT}/mapper/clouds/{{cloud}}/{{layer}}.npz",
    output:
        graph=f"{OUT}/mapper/graphs/{{cloud}}/{{layer}}/{{setting}}.json",
    log:
        f"{OUT}/logs/mapper/graphs/{{cloud}}/{{layer}}/{{setting}}.log",
    benchmark:
        f"{OUT}/benchmarks/mapper/graphs/{{cloud}}/{{layer}}/{{setting}}.tsv"
    conda:
        get_env("tda")
    threads: MAPPER["graph"]["threads"]
    resources:
        mem_mb=get_mapper_graph_mem_mb,
        runtime=get_mapper_graph_runtime,
    script:
        "../scripts/mapper_graph.py"


rule mapper_stats:
    input:
        unpack(get_mapper_stats_inputs),
    output:
        csv=f"{OUT}/mapper/stats.csv",
    log:
        f"{OUT}/logs/mapper/stats.log",
    conda:
        get_env("tda")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../scripts/mapper_stats.py"


rule figure_mapper_purity:
    input:
        stats=f"{OUT}/mapper/stats.csv",
    output:
        png=report(
            f"{OUT}/figures/mapper/purity.png",
            caption="../report/mapper_purity.rst",
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
        "../scripts/figure_mapper_purity.py"


rule figure_mapper_settings:
    input:
        stats=f"{OUT}/mapper/stats.csv",
    output:
        png=report(
            f"{OUT}/figures/mapper/settings.png",
            caption="../report/mapper_settings.rst",
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
        "../scripts/figure_mapper_settings.py"


rule figure_mapper_layers:
    input:
        graphs=get_layer_panel_graphs,
    output:
        png=report(
            f"{OUT}/figures/mapper/layers_{{cloud}}.png",
            caption="../report/mapper_layers.rst",
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
        "../scripts/figure_mapper_panels.py"


rule figure_mapper_constructions:
    input:
        graphs=get_comparison_graphs,
    output:
        png=report(
            f"{OUT}/figures/mapper/constructions_{{layer}}.png",
            caption="../report/mapper_constructions.rst",
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
        "../scripts/figure_mapper_panels.py"


rule figure_mapper_noise:
    input:
        graphs=get_noise_graphs,
    output:
        png=report(
            f"{OUT}/figures/mapper/noise_{{cloud}}_{{layer}}.png",
            caption="../report/mapper_noise.rst",
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
        "../scripts/figure_mapper_panels.py"


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
        "../scripts/mapper_explorer.py"
