# Stage 5: Vietoris-Rips persistence diagrams per (model, layer) (docs/methods.md §5).


rule persistence_diagram:
    input:
        cloud=P("pointcloud"),
    output:
        diagrams=P("diagram"),
    log:
        f"{OUT}/logs/diagrams/topl2/seed{{seed}}/{{layer}}.log",
    benchmark:
        f"{OUT}/benchmarks/diagrams/topl2/seed{{seed}}/{{layer}}.tsv"
    conda:
        get_env("tda")
    threads: get_persistence_threads()
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        backend=config["persistence"]["backend"],
        maxdim=config["persistence"]["maxdim"],
        coeff=config["persistence"]["coeff"],
    script:
        "../../scripts/ph/persistence_diagram.py"
