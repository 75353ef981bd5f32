# Stage 6b: the grounded comparison (docs/methods.md §9). Every (model, layer) once per
# representation (centred Gram matrices from the activation shards; also those that only
# persistence.representations needs, for their diagrams), every measure
# between every pair of them, then the same tests on those matrices and on the PH
# cross-distance matrices: specificity with bootstrap intervals, layer depth, the
# within- vs between-stage permutation test; one figure with every measure.


rule similarity_representations:
    input:
        shards=P.expand("shard", layer=PLAN.layers),
    output:
        reps=P.expand("similarity_rep", representation=PLAN.stored_representations),
    log:
        f"{OUT}/logs/similarity/representations_seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/similarity/representations_seed{{seed}}.tsv"
    conda:
        "../../envs/tda.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.similarity_mem_mb,
        runtime=30,
    params:
        **named(
            layers=PLAN.layers,
            representations=PLAN.stored_representations,
            max_images=config["similarity"]["max_images"],
        ),
    script:
        "../../scripts/ph/similarity_representations.py"


rule similarity_cross:
    input:
        reps=P.expand("similarity_rep", seed=PLAN.seeds),
        measures=PLAN.measure_files,
    output:
        matrices=P.expand("similarity_cross", measure=PLAN.similarity_labels),
    log:
        f"{OUT}/logs/similarity/{{representation}}/cross.log",
    benchmark:
        f"{OUT}/benchmarks/similarity/{{representation}}/cross.tsv"
    # on the critical path at the end of a run (it needs every model): start it at once
    priority: 10
    conda:
        "../../envs/tda.yaml"
    threads: config["similarity"]["threads"]
    resources:
        mem_mb=PLAN.similarity_cross_mem_mb,
        runtime=240,
    params:
        **named(
            seeds=PLAN.seeds,
            layers=PLAN.layers,
            measures=PLAN.similarity_measures,
        ),
    script:
        "../../scripts/ph/similarity_cross.py"


rule similarity_tests:
    input:
        cross=PLAN.similarity_test_inputs,
    output:
        specificity=P("specificity_table"),
        depth=P("layer_depth"),
        permutation=P("stage_permutation"),
    log:
        f"{OUT}/logs/analysis/similarity_tests.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=PLAN.similarity_tests_mem_mb,
        runtime=30,
    params:
        **named(
            stages=PLAN.stages,
            n_boot=config["similarity"]["bootstrap"],
            n_permutations=config["similarity"]["permutations"],
        ),
    script:
        "../../scripts/ph/similarity_tests.py"


rule figure_similarity:
    input:
        unpack(PLAN.figure_similarity_inputs),
    output:
        png=report(
            P("fig_measures", ext="png"),
            caption="../../report/similarity_measures.rst",
            category="Across models",
            subcategory="Measures compared",
        ),
        extra=P.expand("fig_measures", ext=PLAN.fig_extra),
    log:
        f"{OUT}/logs/figures/similarity_measures.log",
    conda:
        "../../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **named(
            n_layers=len(PLAN.layers),
        ),
    script:
        "../../scripts/ph/figure_similarity.py"
