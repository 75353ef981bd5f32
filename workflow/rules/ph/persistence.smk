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


# flat / pool (persistence.representations): the exact distances of the similarity
# representation files (docs/methods.md §9), one job per (model, representation).
rule representation_diagrams:
    input:
        rep=P("similarity_rep"),
    output:
        diagrams=P.expand("representation_diagram", layer=PLAN.layers),
    log:
        f"{OUT}/logs/diagrams/{{representation}}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/diagrams/{{representation}}/seed{{seed}}.tsv"
    wildcard_constraints:
        representation=PLAN.distance_representation_pattern,
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
        "../../scripts/ph/representation_diagrams.py"
