# Headline numbers of the experiment (accuracy, distances, specificity, Mapper), one JSON.


rule experiment_summary:
    input:
        unpack(get_summary_inputs),
    output:
        json=P("summary"),
    log:
        f"{OUT}/logs/summary.log",
    conda:
        get_env("plot")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        within_label=DIST,
        measures=get_specificity_measures(),
    script:
        "../scripts/experiment_summary.py"
