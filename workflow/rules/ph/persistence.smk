# Stage 5: Vietoris-Rips persistence diagrams, one file per (model, layer) (docs/methods.md §5).
# One job per model: a diagram takes well under a second, starting a job several seconds.


rule persistence_diagrams:
    input:
        clouds=P.expand("pointcloud", layer=PLAN.layers),
    output:
        diagrams=P.expand("diagram", layer=PLAN.layers),
    log:
        f"{OUT}/logs/diagrams/topl2/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/diagrams/topl2/seed{{seed}}.tsv"
    conda:
        "../../envs/tda.yaml"
    threads: PLAN.persistence_threads
    resources:
        mem_mb=PLAN.persistence_mem_mb,
        runtime=PLAN.persistence_runtime,
    params:
        **named(
            layers=PLAN.layers,
            backend=config["persistence"]["backend"],
            maxdim=config["persistence"]["maxdim"],
            coeff=config["persistence"]["coeff"],
        ),
    script:
        "../../scripts/ph/persistence_diagrams.py"
