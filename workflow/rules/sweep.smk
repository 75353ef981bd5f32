# Parameter sweeps: config key `sweep` (dotted key -> list of values). Every combination
# is one experiment, registered as a Snakemake module whose rules are prefixed v0_, v1_,
# ...; its outputs go to <results_dir>/<experiment>/<key~value/...>. Variants that share
# their network settings share the trained networks (only the first trains them).
from pathlib import Path

from cnntopo.config import validate_config  # noqa: E402
from cnntopo.sweep import expand_sweep, register_variants, sweep_targets  # noqa: E402

validate_config(config)
VARIANTS = expand_sweep(config)
SWEEP_OUT = f"{config['results_dir']}/{config['experiment']}"

if VARIANTS:
    register_variants(
        workflow, VARIANTS, str(Path(workflow.basedir) / "workflow" / "experiment.smk")
    )

    rule sweep_summary:
        input:
            summaries=[f"{SWEEP_OUT}/{v.path}/summary.json" for v in VARIANTS],
        output:
            csv=f"{SWEEP_OUT}/sweep/summary.csv",
            png=report(
                f"{SWEEP_OUT}/sweep/summary.png",
                caption="../report/sweep_summary.rst",
                category="Sweep",
            ),
        log:
            f"{SWEEP_OUT}/logs/sweep_summary.log",
        conda:
            "../../envs/plot.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            variants=[v.params for v in VARIANTS],
            paths=[v.path for v in VARIANTS],
        script:
            "../scripts/sweep_summary.py"
