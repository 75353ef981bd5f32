# Mapper branch: Mapper graphs (Mapper Interactive JSON) and their size and purity.


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
        "../../scripts/mapper/mapper_graph.py"


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
        "../../scripts/mapper/mapper_stats.py"
