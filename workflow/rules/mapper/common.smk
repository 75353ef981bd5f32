# Helpers of the Mapper branch's rules (included by experiment.smk after common.smk).
import itertools
import re

from cnntopo.mapper import resources as mapper_resources
from cnntopo.names import (
    WILDCARD_PATTERNS,
    format_cloud,
    format_number,
    format_setting,
    parse_cloud,
)
from cnntopo.nets.layers import is_option_b, mapper_config_layers
from cnntopo.nets.layers_option_b import mapper_layer_names
from cnntopo.paths import Layout

MP = Layout(OUT, mapper_model=MAPPER["model"]["dir"])
MAPPER_ARCH_CONFIG = MAPPER["model"]["arch"]
#: mapper.layers resolved against mapper.model.arch, and the per-image output shape of
#: every layer a cloud is built of ((c, h, w), (tokens, d) or (c,); nets/layers.py).
MAPPER_LAYERS, MAPPER_LAYER_SHAPES = mapper_config_layers(config)
for _key, _used in (
    ("fgbg_layers", any(c[:2] in ("fg", "bg") for c in MAPPER["constructions"])),
    ("noise.layers", bool(MAPPER["noise"]["sigmas"])),
):
    if _used:
        MAPPER_LAYER_SHAPES.update(mapper_config_layers(config, _key)[1])
#: Each layer as (vector length, positions, 1): the (c, h, w) form of the job sizes.
MAPPER_SHAPES = {l: (*cloud_shape(s), 1) for l, s in MAPPER_LAYER_SHAPES.items()}


# The Mapper wildcards: exactly the names cnntopo.names formats.
wildcard_constraints:
    cloud=WILDCARD_PATTERNS["cloud"],
    setting=WILDCARD_PATTERNS["setting"],


def is_mapper_enabled():
    return MAPPER["enabled"]


def get_dataset_source():
    """The dataset keys that locate its images (not its normalisation)."""
    return {k: config["dataset"][k] for k in ("name", "root", "download")}


def get_mapper_clouds():
    """Cloud name -> its layers: the constructions, then their noisy versions (P6)."""
    clouds = {}
    for c in MAPPER["constructions"]:
        clouds[c] = MAPPER_LAYERS if c in ("random", "full") else MAPPER["fgbg_layers"]
    noise = MAPPER["noise"]
    for sigma in noise["sigmas"]:
        for c in noise["constructions"]:
            clouds[format_cloud(c, sigma)] = list(noise["layers"])
    return clouds


def get_cloud_rules():
    """Rule name -> (clouds, layers): the clouds that share one list of layers.

    ``mapper_clouds`` (random, full), ``mapper_clouds_fgbg`` (foreground and
    background), ``mapper_clouds_noise`` (the noisy clouds); empty groups are left out.
    """
    groups = {}
    for cloud, layers in get_mapper_clouds().items():
        spec = parse_cloud(cloud)
        if spec["sigma"] > 0:
            name = "mapper_clouds_noise"
        elif spec["method"] in ("random", "full"):
            name = "mapper_clouds"
        else:
            name = "mapper_clouds_fgbg"
        groups.setdefault(name, ([], layers))[0].append(cloud)
    return groups


def is_mapper_trained():
    """The Mapper network is trained unless weights are imported (checkpoint / pretrained)."""
    model = MAPPER["model"]
    return model["checkpoint"] is None and not model["pretrained"]


def get_mapper_factory_file():
    """The user's model file of a python: Mapper network: an input of its jobs."""
    spec = parse_arch(MAPPER_ARCH_CONFIG)
    return [spec.path] if spec.kind == "python" else []


def get_cloud_shapes(layers):
    """Shapes a cloud job passes to build_cloud: None for the option-B network's own
    mapper layers (its static table), the module table's shape otherwise."""
    static = is_option_b(MAPPER["model"])
    return {
        l: (
            None
            if static and l in mapper_layer_names()
            else list(MAPPER_LAYER_SHAPES[l])
        )
        for l in layers
    }


def get_construction(wildcards):
    """The settings of a cloud's construction that its job reads (by method)."""
    method = parse_cloud(wildcards.cloud)["method"]
    if method == "random":
        return {"low": MAPPER["random_low"]}
    if method == "full":
        return {"cap": MAPPER["full"]["cap"], "replace": MAPPER["full"]["replace"]}
    grabcut, fgbg = MAPPER["grabcut"], MAPPER["fgbg"]
    return {
        "grabcut": grabcut["input"],
        "grabcut_iters": grabcut["iterations"],
        "empty_mask": fgbg["empty_mask"],
        "ties": fgbg["ties"],
    }


def get_predictions_feature(wildcards):
    """Whether a graph's features carry the 0/1 predictions column: only noisy
    foreground clouds, as the official noise scripts (docs/methods.md §12)."""
    spec = parse_cloud(wildcards.cloud)
    if spec["method"] == "foreground" and spec["sigma"] > 0:
        return MAPPER["noise"]["predictions_feature"]
    return False


def get_mapper_setting_table(cloud, layer):
    """Setting name -> the configured intervals, overlap (percent) and eps of one graph.

    The per-layer table entry, else every combination of the lists; names are lossless,
    and the values are the configured ones (never re-read from a name).
    """
    g = MAPPER["graph"]
    fixed = g["per_layer"].get(cloud, {}).get(layer)
    if fixed is not None:
        combos = [(fixed["intervals"], fixed["overlap"], fixed["eps"])]
    else:
        combos = itertools.product(g["intervals"], g["overlaps"], g["eps"])
    return {
        format_setting(n, p, e): {
            "intervals": int(n),
            "overlap": float(p),
            "eps": None if e is None else float(e),
        }
        for n, p, e in combos
    }


def get_mapper_settings(cloud, layer):
    return list(get_mapper_setting_table(cloud, layer))


def get_graph_setting(wildcards):
    """The configured values of the {setting} of one graph job."""
    table = get_mapper_setting_table(wildcards.cloud, wildcards.layer)
    if wildcards.setting not in table:
        raise ValueError(
            f"{wildcards.setting} is not a configured Mapper setting of "
            f"{wildcards.cloud}/{wildcards.layer}; configured: {', '.join(table)}"
        )
    return table[wildcards.setting]


def get_mapper_graph(cloud, layer, setting=None):
    """Path of a graph (the primary, i.e. first, setting unless one is given)."""
    setting = setting or get_mapper_settings(cloud, layer)[0]
    return MP("mapper_graph", cloud=cloud, layer=layer, setting=setting)


def get_mapper_stats_inputs(wildcards):
    """Every (cloud, layer, setting) graph, with the cloud file of each."""
    graphs, clouds = [], []
    for cloud, layers in get_mapper_clouds().items():
        for layer in layers:
            for setting in get_mapper_settings(cloud, layer):
                graphs.append(get_mapper_graph(cloud, layer, setting))
                clouds.append(MP("mapper_cloud", cloud=cloud, layer=layer))
    return {"graphs": graphs, "clouds": clouds}


def get_mapper_primary():
    """ "cloud/layer/setting" of the primary graph of every (cloud, layer)."""
    return [
        f"{cloud}/{layer}/{get_mapper_settings(cloud, layer)[0]}"
        for cloud, layers in get_mapper_clouds().items()
        for layer in layers
    ]


def has_mapper_setting_sweep():
    return any(
        len(get_mapper_settings(c, l)) > 1
        for c, layers in get_mapper_clouds().items()
        for l in layers
    )


def get_panel_layers(wildcards):
    layers = get_mapper_clouds()[wildcards.cloud]
    return [l for l in layers if l in MAPPER["figures"]["panel_layers"]] or layers


def get_layer_panel_graphs(wildcards):
    return [get_mapper_graph(wildcards.cloud, l) for l in get_panel_layers(wildcards)]


def get_comparison_clouds():
    """Noise-free clouds that contain the comparison layer."""
    layer = MAPPER["figures"]["comparison_layer"]
    return [
        c
        for c, layers in get_mapper_clouds().items()
        if "-noise" not in c and layer in layers
    ]


def get_comparison_graphs(wildcards):
    return [get_mapper_graph(c, wildcards.layer) for c in get_comparison_clouds()]


def get_noise_clouds(wildcards):
    """The noise-free cloud and its noisy versions, by increasing sigma."""
    noisy = sorted(
        (c for c in get_mapper_clouds() if c.startswith(f"{wildcards.cloud}-noise")),
        key=lambda c: parse_cloud(c)["sigma"],
    )
    base = (
        [wildcards.cloud]
        if wildcards.layer in get_mapper_clouds().get(wildcards.cloud, [])
        else []
    )
    return base + noisy


def get_noise_graphs(wildcards):
    return [get_mapper_graph(c, wildcards.layer) for c in get_noise_clouds(wildcards)]


def get_noise_titles(wildcards):
    return [
        f"sigma = {format_number(parse_cloud(c)['sigma'])}"
        for c in get_noise_clouds(wildcards)
    ]


def get_cloud_graphs(wildcards):
    """Every configured graph of every layer of one cloud."""
    return [
        get_mapper_graph(wildcards.cloud, l, s)
        for l in get_cloud_layers(wildcards)
        for s in get_mapper_settings(wildcards.cloud, l)
    ]


def get_cloud_graph_counts(wildcards):
    """Graphs of each layer of one cloud, in the order of get_cloud_graphs."""
    return [
        len(get_mapper_settings(wildcards.cloud, l))
        for l in get_cloud_layers(wildcards)
    ]


def get_cloud_layers(wildcards):
    return get_mapper_clouds()[wildcards.cloud]


def get_explorer_inputs(wildcards):
    layers = get_cloud_layers(wildcards)
    return {
        "graphs": [get_mapper_graph(wildcards.cloud, l) for l in layers],
        "clouds": [MP("mapper_cloud", cloud=wildcards.cloud, layer=l) for l in layers],
        "images": MP("mapper_images"),
    }


# ------------------------------------------------------------------ resources


def get_mapper_train_mem_mb(wildcards, attempt):
    batch = MAPPER["training"]["batch_size"]
    return mapper_resources.train_mem_mb(MAPPER["model"]["width"], batch, attempt)


def get_cloud_rows(wildcards, layer=None):
    """Points of the cloud ``wildcards.cloud`` at ``layer`` (default ``wildcards.layer``)."""
    images = MAPPER["images"]
    n = mapper_resources.n_images(
        config["dataset"]["name"], images["split"], images["per_class"]
    )
    shape = MAPPER_SHAPES[layer or wildcards.layer]
    return mapper_resources.cloud_rows(wildcards.cloud, shape, n, MAPPER["full"]["cap"])


def get_mapper_cloud_mem_mb(wildcards, attempt):
    """The largest of the job's layers (they are built one after the other)."""
    batch = MAPPER["images"]["batch_size"]
    return max(
        mapper_resources.cloud_mem_mb(
            get_cloud_rows(wildcards, l), MAPPER_SHAPES[l], batch, attempt
        )
        for l in get_cloud_layers(wildcards)
    )


def get_mapper_cloud_runtime(wildcards):
    return mapper_resources.clouds_runtime(len(get_cloud_layers(wildcards)))


def get_mapper_knn_args():
    graph = MAPPER["graph"]
    return graph["knn_method"], graph["knn_approx_above"]


def get_mapper_graph_mem_mb(wildcards, attempt, layer=None):
    layer = layer or wildcards.layer
    rows = get_cloud_rows(wildcards, layer)
    return mapper_resources.graph_mem_mb(
        rows, MAPPER_SHAPES[layer][0], attempt, *get_mapper_knn_args()
    )


def get_mapper_graph_runtime(wildcards, layer=None):
    layer = layer or wildcards.layer
    rows = get_cloud_rows(wildcards, layer)
    return mapper_resources.graph_runtime(
        rows, MAPPER_SHAPES[layer][0], *get_mapper_knn_args()
    )


def get_mapper_knn_mem_mb(wildcards, attempt):
    """The k-NN plots of a cloud's layers are drawn one after the other."""
    layers = get_cloud_layers(wildcards)
    return max(get_mapper_graph_mem_mb(wildcards, attempt, l) for l in layers)


def get_mapper_knn_runtime(wildcards):
    layers = get_cloud_layers(wildcards)
    return sum(get_mapper_graph_runtime(wildcards, l) for l in layers)


# ------------------------------------------------------------------ targets


def get_mapper_outputs():
    """Final outputs of the Mapper branch."""
    if not is_mapper_enabled():
        return []
    out = [MP("mapper_stats"), MP("fig_mapper_purity", ext="png")]
    for cloud, layers in get_mapper_clouds().items():
        out += [MP("fig_mapper_knn", cloud=cloud, layer=l, ext="png") for l in layers]
        if "-noise" not in cloud:
            out.append(MP("fig_mapper_layers", cloud=cloud, ext="png"))
        if MAPPER["figures"]["explorer"]:
            out.append(MP("mapper_explorer", cloud=cloud))
    if get_comparison_clouds():
        layer = MAPPER["figures"]["comparison_layer"]
        out.append(MP("fig_mapper_constructions", layer=layer, ext="png"))
    noise = MAPPER["noise"]
    if noise["sigmas"]:
        out += MP.expand(
            "fig_mapper_noise",
            cloud=noise["constructions"],
            layer=noise["layers"],
            ext="png",
        )
    if has_mapper_setting_sweep():
        out.append(MP("fig_mapper_settings", ext="png"))
    return out
