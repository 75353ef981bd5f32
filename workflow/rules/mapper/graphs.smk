# Mapper branch: Mapper graphs (Mapper Interactive JSON) and their size and purity.


rule mapper_graph:
    input:
        cloud=MP("mapper_cloud"),
    output:
        graph=MP("mapper_graph"),
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
        # a scheduling setting, not a param: the graph does not depend on it
        graph_device=MAPPER["graph"]["device"],
        gpu=resources.gpus(MAPPER["graph"]["device"]),
    params:
        setting=get_graph_setting,
        min_samples=MAPPER["graph"]["min_samples"],
        cover=MAPPER["graph"]["cover"],
        knn_method=MAPPER["graph"]["knn_method"],
        knn_approx_above=MAPPER["graph"]["knn_approx_above"],
        seed=MAPPER["seed"],
        predictions=get_predictions_feature,
    script:
        "../../scripts/mapper/mapper_graph.py"


rule mapper_stats:
    input:
        unpack(get_mapper_stats_inputs),
    output:
        csv=MP("mapper_stats"),
    log:
        f"{OUT}/logs/mapper/stats.log",
    conda:
        get_env("tda")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../../scripts/mapper/mapper_stats.py"
