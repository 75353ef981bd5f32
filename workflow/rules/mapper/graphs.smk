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
        "../../envs/tda.yaml"
    threads: MAP.config["graph"]["threads"]
    resources:
        mem_mb=MAP.graph_mem_mb,
        runtime=MAP.graph_runtime,
        # a scheduling setting, not a param: the graph does not depend on it
        graph_device=MAP.config["graph"]["device"],
        gpu=MAP.graph_gpus,
    params:
        **named(
            setting=MAP.graph_setting,
            min_samples=MAP.config["graph"]["min_samples"],
            cover=MAP.config["graph"]["cover"],
            knn_method=MAP.config["graph"]["knn_method"],
            knn_approx_above=MAP.config["graph"]["knn_approx_above"],
            seed=MAP.config["seed"],
            predictions=MAP.predictions_feature,
        ),
    script:
        "../../scripts/mapper/mapper_graph.py"


rule mapper_stats:
    input:
        unpack(MAP.stats_inputs),
    output:
        csv=MP("mapper_stats"),
    log:
        f"{OUT}/logs/mapper/stats.log",
    conda:
        "../../envs/tda.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../../scripts/mapper/mapper_stats.py"
