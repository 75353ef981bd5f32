# Stage 5: Vietoris-Rips persistence diagrams per (model, layer).


rule persistence_diagram:
    input:
        cloud=f"{OUT}/pointclouds/topl2/seed{{seed}}/{{layer}}.npz",
    output:
        diagrams=f"{OUT}/diagrams/topl2/seed{{seed}}/{{layer}}.npz",
    log:
        f"{OUT}/logs/diagrams/topl2/seed{{seed}}/{{layer}}.log",
    benchmark:
        f"{OUT}/benchmarks/diagrams/topl2/seed{{seed}}/{{layer}}.tsv"
    conda:
        get_env("tda")
    threads: get_tda_threads()
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        persistence=config["persistence"],
    script:
        "../../scripts/ph/persistence_diagram.py"
