# Shared configuration handling and get_* helpers (no rules here).
from pathlib import Path

from cnntopo.config import validate_config  # noqa: E402
from cnntopo.nets.layers import resolve_layers, layer_shapes  # noqa: E402
from cnntopo.names import metric_label  # noqa: E402

# Validate before any job is scheduled: unknown keys and wrong types stop here,
# with a message naming the key. Defaults are filled into `config` in place.
validate_config(config)

OUT = f"{config['results_dir']}/{config['experiment']}"
MODELS = config["models_dir"] or f"{OUT}/models"
LAYERS = resolve_layers(config["activations"]["layers"], config["model"]["arch"])
SEEDS = config["model"]["seeds"]
FIG_EXTRA = config["figures"]["extra_formats"]
DIM = config["distances"]["dim"]
DIST = f"{config['distances']['metric']}_H{DIM}"
WITHIN_METRICS = list(
    dict.fromkeys(
        [config["distances"]["metric"], *config["distances"]["within_metrics"]]
    )
)
ENVS = Path(workflow.basedir) / "envs"
MAPPER = config["mapper"]


wildcard_constraints:
    seed=r"\d+",
    layer=r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*",
    ext=r"png|pdf|svg",
    metric=r"sliced_wasserstein|wasserstein|bottleneck",
    measure=r"[a-z_]+(_H\d+)?",


def get_preflight():
    """Check the dataset is reachable before any job runs (skipped in dry runs and cluster jobs)."""
    if workflow.output_settings.dryrun or not workflow.is_main_process:
        return
    from cnntopo.nets.datasets import check_available

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


def get_train_mem_mb(wildcards, attempt):
    """Memory of a training job: the uint8 dataset plus model, activations and optimizer
    state; grows with each retry (--retries)."""
    base = 4000 + 16 * config["model"]["width"] * config["training"]["batch_size"] // 64
    return base * attempt


def get_train_runtime():
    """Minutes for one training job (generous; CPU runs are slow, GPUs much faster)."""
    return max(30, 10 * config["training"]["epochs"])


def get_shard_mb():
    """Size in MB of all activation shards of one model."""
    itemsize = 2 if config["activations"]["dtype"] == "float16" else 4
    shapes = layer_shapes(config["model"]["arch"], config["model"]["width"])
    floats = sum(c * h * w for name, (c, h, w) in shapes.items() if name in LAYERS)
    return config["activations"]["n_images"] * floats * itemsize // 2**20 + 1


def get_extract_mem_mb(wildcards, attempt):
    """One batch of activations for every layer, twice (torch tensor + numpy copy), plus the model."""
    shapes = layer_shapes(config["model"]["arch"], config["model"]["width"])
    floats = sum(c * h * w for (c, h, w) in shapes.values())
    return (
        2000 + 2 * config["activations"]["batch_size"] * floats * 4 // 2**20
    ) * attempt


def get_cross_mem_mb(wildcards, attempt):
    """Memory of the cross-model jobs: presorted SW projections (about 1.5 H1 points per image),
    the K x K result, and (for CKA) every point cloud in float64."""
    K = len(SEEDS) * len(LAYERS)
    n = config["activations"]["n_images"]
    shapes = layer_shapes(config["model"]["arch"], config["model"]["width"])
    channels = sum(c for name, (c, _, _) in shapes.items() if name in LAYERS)
    sw = K * 2 * config["distances"]["M"] * (1.5 * n + 1) * 8
    clouds = len(SEEDS) * n * channels * 8
    return int(2000 + (sw + K * K * 8 + clouds) / 2**20) * attempt


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


def get_all_matrices(wildcards):
    """Within-model matrices of every seed for the {metric} wildcard."""
    return [
        f"{OUT}/distances/topl2/{wildcards.metric}_H{DIM}/seed{seed}.npz"
        for seed in SEEDS
    ]


def get_all_diagrams():
    """Every (model, layer) diagram, model-major (the order of the cross-model matrix)."""
    return [
        f"{OUT}/diagrams/topl2/seed{seed}/{layer}.npz"
        for seed in SEEDS
        for layer in LAYERS
    ]


def get_all_clouds():
    """Every (model, layer) top-l2 point cloud, model-major."""
    return [
        f"{OUT}/pointclouds/topl2/seed{seed}/{layer}.npz"
        for seed in SEEDS
        for layer in LAYERS
    ]


def get_cross_matrix(wildcards):
    """Cross-model matrix of a {measure}: the main diagram distance or "cka"."""
    if wildcards.measure == "cka":
        return f"{OUT}/similarity/cka/cross.npz"
    return f"{OUT}/distances/topl2/{wildcards.measure}/cross.npz"


def get_measure_label(wildcards):
    if wildcards.measure == "cka":
        return "linear CKA"
    metric, dim = wildcards.measure.rsplit("_H", 1)
    return metric_label(metric, dim)


def get_sensitivity_seeds():
    seeds = config["sensitivity"]["seeds"]
    return SEEDS[:1] if seeds == "first" else seeds


def get_pointclouds_of_seed(wildcards):
    return [
        f"{OUT}/pointclouds/topl2/seed{wildcards.seed}/{layer}.npz" for layer in LAYERS
    ]


def get_sensitivity_outputs():
    """Sensitivity tables of one model ({seed} wildcard kept)."""
    return [f"{OUT}/sensitivity/seed{{seed}}/{layer}.csv" for layer in LAYERS]


def get_sensitivity_runtime():
    """Minutes: about 0.5 s per persistence computation of n_images points, generously."""
    shapes = layer_shapes(config["model"]["arch"], config["model"]["width"])
    runs = sum(
        c // config["sensitivity"]["step"] + 1
        for name, (c, _, _) in shapes.items()
        if name in LAYERS
    )
    return int(10 + runs * config["activations"]["n_images"] / 1000 * 2 / 60)


def get_sensitivity_tables(wildcards):
    return [f"{OUT}/sensitivity/seed{wildcards.seed}/{layer}.csv" for layer in LAYERS]


def is_cross_enabled():
    """Cross-model analyses need the cross matrix switched on and at least two models."""
    return config["distances"]["cross"] and len(SEEDS) >= 2


def get_all_metrics():
    return [f"{MODELS}/seed{seed}/train.json" for seed in SEEDS]


def get_extra_figures(stem):
    """Extra formats (figures.extra_formats) of a figure path stem, wildcards kept."""
    return [f"{stem}.{ext}" for ext in FIG_EXTRA]


def get_final_outputs():
    """Everything the default target builds."""
    figs = [f"{OUT}/figures/training.png", f"{MODELS}/summary.csv"]
    for metric in WITHIN_METRICS:
        figs.append(f"{OUT}/figures/heatmap_mean_{metric}_H{DIM}.png")
        figs += [
            f"{OUT}/figures/heatmaps/{metric}_H{DIM}_seed{seed}.png" for seed in SEEDS
        ]
    figs += [f"{OUT}/figures/diagrams/seed{seed}.png" for seed in SEEDS]
    if is_cross_enabled():
        figs.append(f"{OUT}/figures/specificity_{DIST}.png")
        if config["similarity"]["cka"]:
            figs += [
                f"{OUT}/figures/specificity_cka.png",
                f"{OUT}/figures/{DIST}_vs_cka.png",
            ]
    if config["sensitivity"]["enabled"]:
        for seed in get_sensitivity_seeds():
            figs.append(f"{OUT}/figures/sensitivity/{DIST}_seed{seed}.png")
    return figs + get_mapper_outputs() + [f"{OUT}/summary.json"]


def get_summary_inputs(wildcards):
    """Inputs of experiment_summary: what this configuration computes."""
    inputs = {
        "models": f"{MODELS}/summary.csv",
        "within": [f"{OUT}/distances/topl2/{DIST}/seed{seed}.npz" for seed in SEEDS],
    }
    if is_cross_enabled():
        inputs["specificity_main"] = f"{OUT}/analysis/specificity_{DIST}.csv"
        if config["similarity"]["cka"]:
            inputs["specificity_cka"] = f"{OUT}/analysis/specificity_cka.csv"
    if is_mapper_enabled():
        inputs["mapper"] = f"{OUT}/mapper/stats.csv"
    return inputs


# ------------------------------------------------------------------ resources


def get_gpus(device):
    """GPUs a torch job asks the scheduler for: none when the config pins it to the CPU."""
    return 0 if device == "cpu" else 1


def get_ph_gpus():
    return get_gpus(config["training"]["device"])


def get_mapper_gpus():
    return get_gpus(MAPPER["training"]["device"])
