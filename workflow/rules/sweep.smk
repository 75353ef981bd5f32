# Parameter sweeps: config key `sweep` (dotted key -> list of values). Every combination
# is one experiment, registered as a Snakemake module whose rules are prefixed v0_, v1_,
# ...; its outputs go to <results_dir>/<experiment>/<key~value/...>. Variants that share
# their network settings share the trained networks (only the first trains them).
from pathlib import Path

from cnntopo.config import validate_config
from cnntopo.paths import Layout
from cnntopo.ph.similarity.registry import user_files
from cnntopo.plan import named
from cnntopo.sweep import (
    cross_architecture_diagrams,
    cross_architecture_pairs,
    cross_architecture_reps,
    cross_architecture_settings,
    depth_match_measures,
    expand_sweep,
    sweep_targets,
)

validate_config(config)
VARIANTS = expand_sweep(config)
SWEEP_OUT = f"{config['results_dir']}/{config['experiment']}"
SWEEP = Layout(SWEEP_OUT)
#: The rules that write a variant's shared networks: a variant that reuses the networks
#: of an earlier one leaves them out, so each network has exactly one producer.
PH_NETWORK_RULES = ["train_model", "import_checkpoint", "model_summary"]
MAPPER_NETWORK_RULES = ["train_mapper_model", "import_mapper_model"]

for v in VARIANTS:
    workflow.module(
        v.name,
        snakefile=str(Path(workflow.basedir) / "workflow" / "experiment.smk"),
        config=v.config,
    )
    workflow.modules[v.name].use_rules(
        ["*"],
        f"{v.name}_*",
        exclude_rules=[
            *([] if v.trains_models else PH_NETWORK_RULES),
            *([] if v.trains_mapper_model else MAPPER_NETWORK_RULES),
        ],
    )

#: Variants that differ only in model.arch: their layers are compared across networks.
CROSS_ARCH = cross_architecture_pairs(VARIANTS)


if VARIANTS:

    rule sweep_summary:
        input:
            summaries=[Layout(f"{SWEEP_OUT}/{v.path}")("summary") for v in VARIANTS],
            depth_tables=SWEEP.expand("cross_architecture_depth", pair=list(CROSS_ARCH)),
        output:
            csv=SWEEP("sweep_summary", ext="csv"),
            png=report(
                SWEEP("sweep_summary", ext="png"),
                caption="../report/sweep_summary.rst",
                category="Sweep",
            ),
        log:
            f"{SWEEP_OUT}/logs/sweep_summary.log",
        conda:
            "../envs/plot.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            **named(
                variants=[v.params for v in VARIANTS],
                paths=[v.path for v in VARIANTS],
                pairs=[
                    [VARIANTS.index(a), VARIANTS.index(b)]
                    for a, b in CROSS_ARCH.values()
                ],
                depth_measures=depth_match_measures(config),
            ),
        script:
            "../scripts/sweep_summary.py"


if CROSS_ARCH:

    rule cross_architecture:
        input:
            diagrams_a=lambda w: cross_architecture_diagrams(
                CROSS_ARCH[w.pair][0], SWEEP_OUT
            ),
            diagrams_b=lambda w: cross_architecture_diagrams(
                CROSS_ARCH[w.pair][1], SWEEP_OUT
            ),
            reps_a=lambda w: cross_architecture_reps(CROSS_ARCH[w.pair][0], SWEEP_OUT),
            reps_b=lambda w: cross_architecture_reps(CROSS_ARCH[w.pair][1], SWEEP_OUT),
            # user measures (python:<file>:<function>): an edit reruns the comparison
            measures=lambda w: user_files(CROSS_ARCH[w.pair][0].config["similarity"]),
        output:
            npz=SWEEP("cross_architecture", ext="npz"),
            csv=SWEEP("cross_architecture", ext="csv"),
            depth=SWEEP("cross_architecture_depth"),
            png=SWEEP("cross_architecture", ext="png"),
        log:
            f"{SWEEP_OUT}/logs/cross_architecture/{{pair}}.log",
        benchmark:
            f"{SWEEP_OUT}/benchmarks/cross_architecture/{{pair}}.tsv"
        wildcard_constraints:
            pair=r"v\d+-v\d+",
        conda:
            "../envs/plot.yaml"
        threads: config["similarity"]["threads"]
        resources:
            mem_mb=2000,
            runtime=30,
        params:
            **named(
                settings=lambda w: cross_architecture_settings(*CROSS_ARCH[w.pair]),
            ),
        script:
            "../scripts/cross_architecture.py"
