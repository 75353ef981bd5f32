# Headline numbers of the experiment (accuracy, distances, specificity, Mapper), one JSON.


rule experiment_summary:
    input:
        unpack(PLAN.summary_inputs),
    output:
        json=P("summary"),
    log:
        f"{OUT}/logs/summary.log",
    conda:
        "../envs/plot.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        **named(
            within_label=PLAN.dist,
            measures=PLAN.specificity_measures,
        ),
    script:
        "../scripts/experiment_summary.py"
