# Shared configuration handling and get_* helpers (no rules here).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from cnntopo.config import validate_config  # noqa: E402
from cnntopo.layers import resolve_layers, layer_shapes  # noqa: E402

# Validate before any job is scheduled: unknown keys and wrong types stop here,
# with a message naming the key. Defaults are filled into `config` in place.
validate_config(config)

OUT = f"{config['results_dir']}/{config['experiment']}"
LAYERS = resolve_layers(config["activations"]["layers"], config["model"]["arch"])
SEEDS = config["model"]["seeds"]
FIG_EXTRA = config["figures"]["extra_formats"]
DIST = f"{config['distances']['metric']}_H{config['distances']['dim']}"
ENVS = Path(workflow.basedir) / "envs"


wildcard_constraints:
    seed=r"\d+",
    layer=r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*",
    ext=r"png|pdf|svg",


def get_preflight():
    """Check the dataset is reachable before any job runs (skipped in dry runs and cluster jobs)."""
    if workflow.output_settings.dryrun or not workflow.is_main_process:
        return
    from cnntopo.datasets import check_available

    ds = config["dataset"]
    check_available(ds["name"], ds["root"], ds["download"])


get_preflight()


def get_env(name):
    """Path of the conda environment file of a step kind (torch, tda, plot)."""
    return str(ENVS / f"{name}.yaml")


def get_torch_threads():
    return config["threads"]["torch"]


def get_tda_threads():
    return config["threads"]["tda"]


def get_model_params():
    """Config sections that determine a trained model (changing them retrains)."""
    return {k: config[k] for k in ("dataset", "model", "training")}


def get_checkpoint(wildcards):
    return config["model"]["checkpoint"].format(seed=wildcards.seed)


def get_train_mem_mb():
    """Memory of a training job: the uint8 dataset plus model, activations and optimizer state."""
    return 4000 + 16 * config["model"]["width"] * config["training"]["batch_size"] // 64


def get_train_runtime():
    """Minutes for one training job (generous; CPU runs are slow, GPUs much faster)."""
    return max(30, 10 * config["training"]["epochs"])


def get_shard_mb():
    """Size in MB of all activation shards of one model."""
    itemsize = 2 if config["activations"]["dtype"] == "float16" else 4
    shapes = layer_shapes(config["model"]["arch"], config["model"]["width"])
    floats = sum(c * h * w for name, (c, h, w) in shapes.items() if name in LAYERS)
    return config["activations"]["n_images"] * floats * itemsize // 2**20 + 1


def get_extract_mem_mb():
    """One batch of activations for every layer, twice (torch tensor + numpy copy), plus the model."""
    shapes = layer_shapes(config["model"]["arch"], config["model"]["width"])
    floats = sum(c * h * w for (c, h, w) in shapes.values())
    return 2000 + 2 * config["activations"]["batch_size"] * floats * 4 // 2**20


def get_shards():
    """Activation shards of one model ({seed} wildcard kept); temporary unless activations.keep."""
    files = [f"{OUT}/activations/seed{{seed}}/{layer}.npy" for layer in LAYERS]
    return files if config["activations"]["keep"] else [temp(f) for f in files]


def get_shards_of_seed(wildcards):
    return [f"{OUT}/activations/seed{wildcards.seed}/{layer}.npy" for layer in LAYERS]


def get_pointclouds():
    """Point clouds of one model ({seed} wildcard kept)."""
    return [f"{OUT}/pointclouds/topl2/seed{{seed}}/{layer}.npz" for layer in LAYERS]


def get_activation_dir(wildcards):
    return f"{OUT}/activations/seed{wildcards.seed}"


def get_seed_title(wildcards):
    return f"seed {wildcards.seed}"


def get_diagram_title(wildcards):
    return f"Persistence of top-l2 point clouds, seed {wildcards.seed}"


def get_layer_diagrams(wildcards):
    return [
        f"{OUT}/diagrams/topl2/seed{wildcards.seed}/{layer}.npz" for layer in LAYERS
    ]


def get_all_matrices():
    return [f"{OUT}/distances/topl2/{DIST}/seed{seed}.npz" for seed in SEEDS]


def get_all_metrics():
    return [f"{OUT}/models/seed{seed}/train.json" for seed in SEEDS]


def get_extra_figures(stem):
    """Extra formats (figures.extra_formats) of a figure path stem, wildcards kept."""
    return [f"{stem}.{ext}" for ext in FIG_EXTRA]


def get_final_outputs():
    """Everything the default target builds."""
    figs = [f"{OUT}/figures/heatmap_mean_{DIST}.png", f"{OUT}/figures/training.png"]
    for seed in SEEDS:
        figs += [
            f"{OUT}/figures/heatmaps/{DIST}_seed{seed}.png",
            f"{OUT}/figures/diagrams/seed{seed}.png",
        ]
    return figs + [f"{OUT}/models/summary.csv"]
