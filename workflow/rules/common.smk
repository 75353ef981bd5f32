# Shared configuration and the get_* helpers of the nets and PH rules (no rules here).
from pathlib import Path

from cnntopo import resources
from cnntopo.config import validate_config
from cnntopo.names import metric_label, similarity_measures
from cnntopo.nets.layers import (
    bounded_batch_size,
    cloud_shape,
    config_layers,
    parse_arch,
)
from cnntopo.paths import Layout
from cnntopo.stages.ph.distances import metric_params

# Validate before any job is scheduled: unknown keys and wrong types stop here,
# with a message naming the key. Defaults are filled into `config` in place.
validate_config(config)

OUT = f"{config['results_dir']}/{config['experiment']}"
MODELS = config["models_dir"] or f"{OUT}/models"
MAPPER = config["mapper"]
#: Every output path of the experiment (cnntopo.paths.LAYOUT); unset fields stay wildcards.
P = Layout(OUT, MODELS, MAPPER["model"]["dir"])
ARCH = config["model"]["arch"]
WIDTH = config["model"]["width"]
SEEDS = config["model"]["seeds"]
#: The recorded layers (network order) and their per-image output shapes; the network's
#: module table is static for the paper network and cached for the others (nets/layers.py).
LAYERS, LAYER_SHAPES = config_layers(config)
#: Each layer as (vector length, positions, 1): the (c, h, w) form of cnntopo.resources.
SHAPES = {name: (*cloud_shape(shape), 1) for name, shape in LAYER_SHAPES.items()}
N_IMAGES = config["activations"]["n_images"]
FIG_EXTRA = config["figures"]["extra_formats"]
FIG_SEEDS = SEEDS[: config["figures"]["per_model"] or len(SEEDS)]
DIM = config["distances"]["dim"]
METRIC = config["distances"]["metric"]
#: The main diagram distance, e.g. sliced_wasserstein_H1 (a {measure} of the cross rules).
DIST = f"{METRIC}_H{DIM}"
WITHIN_METRICS = list(dict.fromkeys([METRIC, *config["distances"]["within_metrics"]]))
SIMILARITY = config["similarity"]
REPRESENTATIONS = SIMILARITY["representations"]
#: PH distances in the comparison tables (similarity.diagram_distances).
DIAGRAM_MEASURES = SIMILARITY["diagram_distances"]
ENVS = Path(workflow.basedir) / "envs"


wildcard_constraints:
    seed=r"\d+",
    layer=r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*",
    ext=r"png|pdf|svg",
    metric=r"sliced_wasserstein|wasserstein|bottleneck",
    measure=r"[a-z_]+(_H\d+)?",
    representation=r"topl2|flat|pool",


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


def get_persistence_threads():
    """Threads of a persistence job: those of a TDA job, or more for the giotto backend."""
    return max(get_tda_threads(), config["persistence"]["n_threads"])


# ------------------------------------------------------------------ params


def get_dataset_source():
    """The dataset keys that locate its images (not its normalisation)."""
    return {k: config["dataset"][k] for k in ("name", "root", "download")}


def get_checkpoint(wildcards):
    """The weights file of one seed (none for torchvision's pretrained weights)."""
    if config["model"]["checkpoint"] is None:
        return []
    return config["model"]["checkpoint"].format(seed=wildcards.seed)


def get_factory_file():
    """The user's model file of a python:<file.py>:<factory> arch: an input of its jobs."""
    spec = parse_arch(ARCH)
    return [spec.path] if spec.kind == "python" else []


def is_trained():
    """Networks are trained unless weights are imported (model.checkpoint / pretrained)."""
    return config["model"]["checkpoint"] is None and not config["model"]["pretrained"]


def get_metric_params(wildcards):
    """The parameters of the {metric} of a within-model distance job."""
    return metric_params(config["distances"], wildcards.metric)


def get_similarity_measures():
    """The similarity.measures as jobs read them: label, name and parameters of each."""
    return similarity_measures(SIMILARITY)


def get_similarity_labels():
    return [m["label"] for m in get_similarity_measures()]


def get_measure_label(wildcards):
    if wildcards.measure == "cka":
        return "linear CKA"
    metric, dim = wildcards.measure.rsplit("_H", 1)
    return metric_label(metric, dim)


# ------------------------------------------------------------------ inputs


def get_shards():
    """Activation shards of one model ({seed} kept); temporary unless activations.keep."""
    files = P.expand("shard", layer=LAYERS)
    return files if config["activations"]["keep"] else [temp(f) for f in files]


def get_cross_matrix(wildcards):
    """Cross-model matrix of a {measure}: a diagram distance or "cka" (linear, top-l2)."""
    if wildcards.measure == "cka":
        return P("similarity_cross", representation="topl2", measure="cka_linear")
    return P("cross_matrix", measure=wildcards.measure)


def get_cross_metric(wildcards):
    """The metric of a cross_distances job's {measure} (e.g. sliced_wasserstein_H0)."""
    return wildcards.measure.rsplit("_H", 1)[0]


def get_cross_dim(wildcards):
    return int(wildcards.measure.rsplit("_H", 1)[1])


def get_cross_metric_params(wildcards):
    return metric_params(config["distances"], get_cross_metric(wildcards))


def get_similarity_test_inputs():
    """Cross matrices of the comparison: every (measure, representation), then PH."""
    labels = get_similarity_labels()
    out = [
        P("similarity_cross", representation=r, measure=m)
        for m in labels
        for r in REPRESENTATIONS
    ]
    return out + P.expand("cross_matrix", measure=DIAGRAM_MEASURES)


def get_sensitivity_representations():
    return REPRESENTATIONS if SIMILARITY["measures"] else []


def get_sensitivity_reps():
    """Representation files of the tested models, seed-major (none without measures)."""
    return [
        P("similarity_rep", seed=s, representation=r)
        for s in get_sensitivity_seeds()
        for r in get_sensitivity_representations()
    ]


def get_figure_similarity_inputs(wildcards):
    inputs = {"specificity": P("specificity_table")}
    if config["sensitivity"]["enabled"]:
        inputs["sensitivity"] = P("sensitivity_table")
    return inputs


def is_cross_enabled():
    """Cross-model analyses need the cross matrix switched on and at least two models."""
    return config["distances"]["cross"] and len(SEEDS) >= 2


def get_specificity_measures():
    """Measures of the per-measure specificity figures: linear CKA on top-l2 (if among the
    measures and representations), the main distance."""
    if not is_cross_enabled():
        return []
    cka = "cka_linear" in SIMILARITY["measures"] and "topl2" in REPRESENTATIONS
    return ["cka", DIST] if cka else [DIST]


def get_sensitivity_seeds():
    seeds = config["sensitivity"]["seeds"]
    return SEEDS[:1] if seeds == "first" else seeds


def get_final_outputs():
    """Everything the default target builds (every figure in every format)."""
    ext = ["png", *FIG_EXTRA]
    out = [P("model_summary"), *P.expand("fig_training", ext=ext)]
    metrics = {"metric": WITHIN_METRICS, "dim": DIM}
    out += P.expand("fig_heatmap_mean", **metrics, ext=ext)
    out += P.expand("fig_heatmap", **metrics, seed=FIG_SEEDS, ext=ext)
    if config["distances"]["bootstrap"]:
        out += P.expand("within_bootstrap", metric=METRIC, dim=DIM, seed=FIG_SEEDS)
    out += P.expand("fig_diagrams", seed=FIG_SEEDS, ext=ext)
    measures = get_specificity_measures()
    out += P.expand("fig_specificity", measure=measures, ext=ext)
    if "cka" in measures:
        out += P.expand("fig_vs_cka", measure=DIST, ext=ext)
    if config["sensitivity"]["enabled"]:
        seeds = get_sensitivity_seeds()
        out += P.expand("fig_sensitivity", measure=DIST, seed=seeds, ext=ext)
        out.append(P("sensitivity_table"))
    if is_cross_enabled():
        out += [P("specificity_table"), P("layer_depth"), P("stage_permutation")]
        out += P.expand("fig_measures", ext=ext)
    return out + get_mapper_outputs() + [P("summary")]


def get_summary_inputs(wildcards):
    """Inputs of experiment_summary: what this configuration computes."""
    inputs = {
        "models": P("model_summary"),
        "within": P.expand("within_matrix", metric=METRIC, dim=DIM, seed=SEEDS),
        "specificity": P.expand("specificity", measure=get_specificity_measures()),
    }
    if is_mapper_enabled():
        inputs["mapper_stats"] = [P("mapper_stats")]
    return inputs


# ------------------------------------------------------------------ resources


def get_ph_gpus():
    return resources.gpus(config["training"]["device"])


def get_mapper_gpus():
    return resources.gpus(MAPPER["training"]["device"])


def get_train_mem_mb(wildcards, attempt):
    batch_size = config["training"]["batch_size"]
    return resources.train_mem_mb(WIDTH, batch_size, attempt)


def get_extract_mem_mb(wildcards, attempt):
    act = config["activations"]
    batch_size = bounded_batch_size(SHAPES, act["batch_size"], act["max_batch_mb"])
    return resources.extract_mem_mb(SHAPES, batch_size, attempt)


def get_persistence_mem_mb(wildcards, attempt):
    return resources.persistence_mem_mb(N_IMAGES, attempt)


def get_persistence_runtime(wildcards, attempt):
    return resources.persistence_runtime(len(LAYERS), N_IMAGES, attempt)


def get_bootstrap_runtime(wildcards, attempt):
    """layer_bootstrap: the model's diagrams once per resample."""
    n_boot = config["distances"]["bootstrap"]
    return resources.persistence_runtime(len(LAYERS), N_IMAGES, attempt) * (1 + n_boot)


def get_heatmap_bootstrap(wildcards):
    """The bootstrap of a heatmap's matrix (main metric, distances.bootstrap > 0), else none."""
    if config["distances"]["bootstrap"] and wildcards.metric == METRIC:
        path = P("within_bootstrap", dim=DIM, metric=METRIC, seed=wildcards.seed)
        return {"bootstrap": path}
    return {}


def _gram_mb(n_models):
    """The float64 N x N Gram matrices of n_models x layers, and their prepared forms."""
    return 3 * n_models * len(LAYERS) * N_IMAGES**2 * 8 // 2**20


def get_similarity_mem_mb(wildcards, attempt):
    """Representations / sensitivity table: one model's Gram matrices and a channel block."""
    return (1500 + _gram_mb(1)) * attempt


def get_similarity_cross_mem_mb(wildcards, attempt):
    """A cross job holds the Gram matrices of every (model, layer); linear CKA alone on
    a narrow representation only its N x c features."""
    cka_only = set(SIMILARITY["measures"]) <= {"cka_linear"}
    if wildcards.representation != "flat" and cka_only:
        widest = max(SHAPES[layer][0] for layer in LAYERS)
        features_mb = 3 * len(SEEDS) * len(LAYERS) * N_IMAGES * widest * 8 // 2**20
        return (1000 + features_mb) * attempt
    # blocked over models (cnntopo.stages.ph.similarity.seed_blocks): similarity.max_mem_mb
    # bounds the request; a model's Gram matrices (three at most at once) must fit
    need = 1000 + _gram_mb(len(SEEDS))
    if wildcards.representation == "flat" and "pwcca" in SIMILARITY["measures"]:
        # PWCCA has no Gram form: every model's principal coordinates at once
        return need * attempt
    floor = 1000 + _gram_mb(1)
    return max(floor, min(need, SIMILARITY["max_mem_mb"])) * attempt


def get_similarity_tests_mem_mb(wildcards, attempt):
    n = len(SEEDS) * len(LAYERS)
    return (1000 + n * n * 8 * 4 // 2**20) * attempt


def get_cross_mem_mb(wildcards, attempt):
    M = config["distances"]["M"]
    return resources.cross_mem_mb(len(SEEDS), SHAPES, LAYERS, N_IMAGES, M, attempt)
