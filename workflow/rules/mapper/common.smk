# Helpers of the Mapper branch's rules (included by experiment.smk after common.smk).
from cnntopo.names import format_setting, parse_cloud
from cnntopo.nets.layers_option_b import mapper_layer_shapes, resolve_mapper_layers

MAPPER_MODEL = MAPPER["model"]["dir"] or f"{OUT}/mapper/model"
MAPPER_LAYERS = resolve_mapper_layers(MAPPER["layers"])


def is_mapper_enabled():
    return MAPPER["enabled"]


def get_mapper_clouds():
    """Cloud name -> its layers: the constructions, then their noisy versions (P6)."""
    clouds = {}
    for c in MAPPER["constructions"]:
        clouds[c] = MAPPER_LAYERS if c in ("random", "full") else MAPPER["fgbg_layers"]
    noise = MAPPER["noise"]
    for sigma in noise["sigmas"]:
        for c in noise["constructions"]:
            clouds[f"{c}-noise{sigma:g}"] = list(noise["layers"])
    return clouds


def get_mapper_settings(cloud, layer):
    """Mapper settings of one graph: the per-layer table entry, else every combination."""
    g = MAPPER["graph"]
    fixed = g["per_layer"].get(cloud, {}).get(layer)
    if fixed is not None:
        return [format_setting(fixed["intervals"], fixed["overlap"], fixed["eps"])]
    return [
        format_setting(n, p, e)
        for n in g["intervals"]
        for p in g["overlaps"]
        for e in g["eps"]
    ]


def get_mapper_graph(cloud, layer, setting=None):
    """Path of a graph (the primary, i.e. first, setting unless one is given)."""
    setting = setting or get_mapper_settings(cloud, layer)[0]
    return f"{OUT}/mapper/graphs/{cloud}/{layer}/{setting}.json"


def get_mapper_cloud(cloud, layer):
    return f"{OUT}/mapper/clouds/{cloud}/{layer}.npz"


def get_all_mapper_graphs():
    """Every (cloud, layer, setting) graph, with the cloud file of each."""
    graphs, clouds = [], []
    for cloud, layers in get_mapper_clouds().items():
        for layer in layers:
            for setting in get_mapper_settings(cloud, layer):
                graphs.append(get_mapper_graph(cloud, layer, setting))
                clouds.append(get_mapper_cloud(cloud, layer))
    return graphs, clouds


def get_mapper_stats_inputs(wildcards):
    graphs, clouds = get_all_mapper_graphs()
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


def get_layer_panel_titles(wildcards):
    return get_panel_layers(wildcards)


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
    return [f"sigma = {parse_cloud(c)['sigma']:g}" for c in get_noise_clouds(wildcards)]


def get_explorer_inputs(wildcards):
    layers = get_mapper_clouds()[wildcards.cloud]
    return {
        "graphs": [get_mapper_graph(wildcards.cloud, l) for l in layers],
        "clouds": [get_mapper_cloud(wildcards.cloud, l) for l in layers],
        "images": f"{OUT}/mapper/images.npz",
    }


def get_explorer_titles(wildcards):
    return get_mapper_clouds()[wildcards.cloud]


def get_mapper_n_images():
    """Number of Mapper images (for sizing jobs)."""
    per_class = MAPPER["images"]["per_class"]
    n = DATASET_SIZES[config["dataset"]["name"]][MAPPER["images"]["split"]]
    return min(n, 10 * per_class) if per_class else n


def get_cloud_rows(cloud, layer):
    """Rows of a cloud (before it is built)."""
    c, h, w = mapper_layer_shapes(MAPPER["model"]["width"])[layer]
    spec = parse_cloud(cloud)
    n = get_mapper_n_images()
    if spec["method"] == "full":
        return min(n * h * w, MAPPER["full"]["cap"])
    return n * spec["topk"]


def get_mapper_cloud_mem_mb(wildcards, attempt):
    """The cloud (plus a gathered copy), one batch of the layer's activations, the model."""
    c, h, w = mapper_layer_shapes(MAPPER["model"]["width"])[wildcards.layer]
    rows = get_cloud_rows(wildcards.cloud, wildcards.layer)
    batch = MAPPER["images"]["batch_size"] * c * h * w * 4 * 4
    return int((3000 + (2 * rows * c * 4 + batch) / 2**20) * attempt)


def get_mapper_graph_mem_mb(wildcards, attempt):
    """The cloud in float32 and float64, plus DBSCAN's neighbourhoods (grow with density)."""
    c = mapper_layer_shapes(MAPPER["model"]["width"])[wildcards.layer][0]
    rows = get_cloud_rows(wildcards.cloud, wildcards.layer)
    return int((2000 + rows * c * 12 / 2**20 + rows * 0.02) * attempt)


def get_mapper_graph_runtime(wildcards):
    """Minutes: DBSCAN per interval is quadratic (about 17 min for 800,000 x 512 on 2 cores)."""
    c = mapper_layer_shapes(MAPPER["model"]["width"])[wildcards.layer][0]
    rows = get_cloud_rows(wildcards.cloud, wildcards.layer)
    return int(10 + 60 * (rows / 800_000) ** 2 * c / 512 * 1.5)


def get_mapper_outputs():
    """Final outputs of the Mapper branch."""
    if not is_mapper_enabled():
        return []
    out = [f"{OUT}/mapper/stats.csv", f"{OUT}/figures/mapper/purity.png"]
    clouds = get_mapper_clouds()
    for cloud in clouds:
        if "-noise" not in cloud:
            out.append(f"{OUT}/figures/mapper/layers_{cloud}.png")
        if MAPPER["figures"]["explorer"]:
            out.append(f"{OUT}/mapper/explorer/{cloud}.html")
    if get_comparison_clouds():
        layer = MAPPER["figures"]["comparison_layer"]
        out.append(f"{OUT}/figures/mapper/constructions_{layer}.png")
    noise = MAPPER["noise"]
    if noise["sigmas"]:
        for c in noise["constructions"]:
            for layer in noise["layers"]:
                out.append(f"{OUT}/figures/mapper/noise_{c}_{layer}.png")
    if has_mapper_setting_sweep():
        out.append(f"{OUT}/figures/mapper/settings.png")
    return out
