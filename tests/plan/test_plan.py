"""The plan (cnntopo.plan): targets, wildcard constraints, the Mapper setting table and
resource formulas of validated configurations, without Snakemake."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from cnntopo.config import load_config, validate_config
from cnntopo.names import parse_setting
from cnntopo.paths import LAYOUT
from cnntopo.plan import Plan, named
from cnntopo.plan.params import is_derived

CONFIGS = ("config/tiny.yaml", "config/paper.yaml", "config/config.yaml")


@pytest.fixture(scope="module")
def configs(repo):
    return {name: load_config(repo / name) for name in CONFIGS}


@pytest.fixture(scope="module")
def plans(configs):
    return {name: Plan(copy.deepcopy(c)) for name, c in configs.items()}


def _variant(config: dict, **dotted) -> Plan:
    """The plan of ``config`` with dotted keys replaced (validated again)."""
    cfg = copy.deepcopy(config)
    for key, value in dotted.items():
        node = cfg
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return Plan(validate_config(cfg))


# ------------------------------------------------------------------ building


def test_paper_plan_builds_in_under_a_second(repo):
    start = time.perf_counter()
    plan = Plan(load_config(repo / "config/paper.yaml"))
    targets = plan.final_outputs
    elapsed = time.perf_counter() - start
    assert len(targets) > 100
    assert elapsed < 1.0, f"the paper's plan took {elapsed:.2f} s"


def test_plan_is_torch_free(repo):
    code = (
        "import sys; from cnntopo.config import load_config; from cnntopo.plan import Plan; "
        "p = Plan(load_config('config/paper.yaml')); p.final_outputs; "
        "assert 'torch' not in sys.modules, 'the plan imported torch'"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


# ------------------------------------------------------------------ targets


def test_targets_have_every_figure_in_every_format(configs):
    plan = _variant(configs["config/tiny.yaml"], **{"figures.extra_formats": ["pdf", "svg"]})
    targets = set(plan.final_outputs)
    figures = [t for t in targets if "/figures/" in t and t.endswith(".png")]
    assert len(figures) > 20
    assert any("/figures/mapper/" in t for t in figures)
    for png in figures:
        for ext in ("pdf", "svg"):
            assert png[: -len("png")] + ext in targets, f"{png} has no {ext} target"
    assert not [t for t in targets if "/figures/" in t and t.rsplit(".", 1)[1] == "{ext}"]


def test_targets_follow_the_switches(configs):
    tiny = configs["config/tiny.yaml"]
    plan = Plan(copy.deepcopy(tiny))
    assert plan.paths("sensitivity_table") in plan.final_outputs
    assert plan.paths("mapper_stats") in plan.final_outputs
    off = _variant(tiny, **{"sensitivity.enabled": False, "mapper.enabled": False})
    assert off.paths("sensitivity_table") not in off.final_outputs
    assert not [t for t in off.final_outputs if "/mapper/" in t]
    assert off.final_outputs[-1] == off.paths("summary")


def test_every_target_is_a_layout_path(plans):
    """Targets are filled layout templates (no wildcard left)."""
    patterns = [
        re.compile(re.sub(r"\\\{\w+\\\}", ".+", re.escape(t.replace("{out}/", ""))))
        for t in LAYOUT.values()
    ]
    for plan in plans.values():
        for target in plan.final_outputs:
            assert "{" not in target, target
            rel = target[len(plan.out) + 1 :] if target.startswith(plan.out) else target
            assert any(p.fullmatch(rel) for p in patterns) or target.startswith(
                plan.paths("weights", seed=0).rsplit("/seed", 1)[0]
            ), target


def test_persistence_representations_default_keeps_the_topl2_layout(configs):
    """persistence.representations: [topl2] (the default) changes no path and no input."""
    plan = Plan(copy.deepcopy(configs["config/paper.yaml"]))
    P = plan.paths
    assert plan.persistence_representations == ["topl2"]
    assert plan.distance_diagram_representations == []
    assert plan.representation_diagram_outputs == []
    assert plan.stored_representations == plan.representations
    ph_inputs = plan.similarity_test_inputs[-len(plan.diagram_measures) :]
    assert ph_inputs == P.expand("cross_matrix", measure=plan.diagram_measures)
    assert P("representation_diagram", representation="topl2", seed=2, layer="conv1") == P(
        "diagram", seed=2, layer="conv1"
    )
    assert P("representation_cross", representation="topl2", measure="x_H1") == P(
        "cross_matrix", measure="x_H1"
    )
    assert not [t for t in plan.final_outputs if "/diagrams/flat/" in t]


def test_persistence_representations_add_diagrams_and_tested_matrices(configs):
    tiny = configs["config/tiny.yaml"]
    plan = Plan(copy.deepcopy(tiny))
    assert plan.persistence_representations == ["topl2", "flat"]
    P, n_sim = plan.paths, len(plan.similarity_labels) * len(plan.representations)
    assert plan.similarity_test_inputs[n_sim:] == [
        P("representation_cross", representation=r, measure=m)
        for r in ("topl2", "flat")
        for m in plan.diagram_measures
    ]
    assert f"{plan.out}/distances/flat/sliced_wasserstein_H0/cross.npz" in (
        plan.similarity_test_inputs
    )
    flat = [t for t in plan.final_outputs if "/diagrams/flat/" in t]
    assert len(flat) == len(plan.seeds) * len(plan.layers)
    assert f"{plan.out}/diagrams/flat/seed1/{plan.layers[-1]}.npz" in flat
    # a representation only persistence needs is still stored (similarity_representations)
    only = _variant(
        tiny,
        **{
            "similarity.representations": ["topl2"],
            "persistence.representations": ["pool", "topl2", "flat"],
        },
    )
    assert only.representations == ["topl2"]
    assert only.stored_representations == ["topl2", "pool", "flat"]
    assert only.distance_diagram_representations == ["pool", "flat"]
    # the flat / pool diagram rule never claims the topl2 files (persistence_diagrams')
    pattern = plan.distance_representation_pattern
    assert re.fullmatch(pattern, "flat") and re.fullmatch(pattern, "pool")
    assert not re.fullmatch(pattern, "topl2")


@pytest.mark.parametrize("value", [[], ["raw"], ["flat", "flat"], "flat"])
def test_persistence_representations_are_validated(configs, value):
    cfg = copy.deepcopy(configs["config/tiny.yaml"])
    cfg["persistence"]["representations"] = value
    with pytest.raises(Exception, match="persistence.representations"):
        validate_config(cfg)


# ------------------------------------------------------------------ wildcards


def _wildcard_values(plan: Plan) -> dict[str, set]:
    """Every value each wildcard takes in the configuration's layout."""
    m = plan.mapper
    clouds = set(m.clouds)
    settings = {s for c, layers in m.clouds.items() for x in layers for s in m.settings(c, x)}
    return {
        "seed": {str(s) for s in plan.seeds},
        "layer": set(plan.layers) | {x for layers in m.clouds.values() for x in layers},
        "ext": set(plan.ext),
        "metric": set(plan.within_metrics),
        "measure": {plan.dist, "cka", *plan.specificity_measures, *plan.diagram_measures}
        | set(plan.similarity_labels),
        "representation": set(plan.representations) | set(plan.persistence_representations),
        "cloud": clouds,
        "setting": settings,
    }


@pytest.mark.parametrize("name", CONFIGS)
def test_wildcard_constraints_accept_every_name(plans, name):
    plan = plans[name]
    constraints = plan.wildcard_constraints
    for wildcard, values in _wildcard_values(plan).items():
        assert values, f"{name}: no values of {wildcard}"
        for value in values:
            assert re.fullmatch(constraints[wildcard], value), (
                f"{name}: {wildcard}={value!r} does not match {constraints[wildcard]!r}"
            )


def test_wildcard_constraints_reject_other_names(plans):
    c = plans["config/tiny.yaml"].wildcard_constraints
    for wildcard, bad in [
        ("seed", "a1"),
        ("ext", "jpg"),
        ("metric", "euclid"),
        ("layer", "a/b"),
        ("representation", "raw"),
        ("setting", "intervals~4"),
    ]:
        assert not re.fullmatch(c[wildcard], bad), (wildcard, bad)


# ------------------------------------------------------------------ Mapper


def test_mapper_setting_table(configs):
    plan = Plan(copy.deepcopy(configs["config/tiny.yaml"]))
    m = plan.mapper
    g = m.config["graph"]
    # the per-layer entry wins (config/tiny.yaml: random / layer4.1.bn2)
    assert m.setting_table("random", "layer4.1.bn2") == {
        "intervals~10_overlap~25_eps~knee": {"intervals": 10, "overlap": 25.0, "eps": None}
    }
    # elsewhere every combination, in configured order, names lossless
    table = m.setting_table("full", "layer4.1.bn2")
    assert len(table) == len(g["intervals"]) * len(g["overlaps"]) * len(g["eps"])
    assert [v["intervals"] for v in table.values()][: len(g["intervals"])] != []
    for name, values in table.items():
        assert parse_setting(name) == values
    first = next(iter(table.values()))
    assert (first["intervals"], first["overlap"]) == (g["intervals"][0], float(g["overlaps"][0]))
    assert m.graph("full", "layer4.1.bn2") == m.paths(
        "mapper_graph", cloud="full", layer="layer4.1.bn2", setting=next(iter(table))
    )
    w = SimpleNamespace(
        cloud="full", layer="layer4.1.bn2", setting="intervals~99_overlap~1_eps~knee"
    )
    with pytest.raises(ValueError, match="not a configured Mapper setting of full/layer4.1.bn2"):
        m.graph_setting(w)
    assert m.has_setting_sweep


def test_mapper_clouds_and_rules(configs):
    m = Plan(copy.deepcopy(configs["config/tiny.yaml"])).mapper
    cfg = m.config
    assert list(m.clouds)[: len(cfg["constructions"])] == cfg["constructions"]
    rules = m.cloud_rules
    assert set(rules) == {"mapper_clouds", "mapper_clouds_fgbg", "mapper_clouds_noise"}
    assert rules["mapper_clouds"] == (["random", "full"], m.layers)
    assert rules["mapper_clouds_fgbg"] == (["fg1", "bg5"], cfg["fgbg_layers"])
    assert rules["mapper_clouds_noise"][0] == ["full-noise0.5", "fg1-noise0.5"]
    pattern = m.cloud_pattern(rules["mapper_clouds"][0])
    assert re.fullmatch(pattern, "full") and not re.fullmatch(pattern, "full-noise0.5")
    # settings of each construction's job; noisy clouds read their base's
    assert m.construction_settings(SimpleNamespace(cloud="random")) == {"low": cfg["random_low"]}
    assert set(m.construction_settings(SimpleNamespace(cloud="fg1-noise0.5"))) == {
        "grabcut",
        "grabcut_iters",
        "empty_mask",
        "ties",
    }
    # predictions only on noisy foreground clouds
    noise = cfg["noise"]["predictions_feature"]
    assert m.predictions_feature(SimpleNamespace(cloud="fg1-noise0.5")) == noise
    assert m.predictions_feature(SimpleNamespace(cloud="fg1")) is False
    assert m.predictions_feature(SimpleNamespace(cloud="full-noise0.5")) is False
    assert m.comparison_clouds == [
        c for c in cfg["constructions"] if cfg["figures"]["comparison_layer"] in m.clouds[c]
    ]


# ------------------------------------------------------------------ resources


def test_gram_memory_counts_the_compared_images(configs):
    """similarity.max_images 300 of 1000 images: the Gram matrices hold 300 images (the
    former formula sized them from activations.n_images, about 11x too much)."""
    plan = _variant(
        configs["config/tiny.yaml"],
        **{"activations.n_images": 1000, "similarity.max_images": 300},
    )
    n_layers = len(plan.layers)
    w = SimpleNamespace(representation="flat")
    gram_300 = 3 * n_layers * 300**2 * 8 // 2**20
    gram_1000 = 3 * n_layers * 1000**2 * 8 // 2**20
    assert plan.gram_images == 300
    assert plan.similarity_mem_mb(w, 1) == 1500 + gram_300
    assert plan.similarity_mem_mb(w, 1) != 1500 + gram_1000
    assert plan.similarity_mem_mb(w, 2) == 2 * (1500 + gram_300)
    # all images when max_images is null, and never more than there are
    assert (
        _variant(configs["config/tiny.yaml"], **{"similarity.max_images": None}).gram_images == 120
    )
    assert (
        _variant(configs["config/tiny.yaml"], **{"similarity.max_images": 500}).gram_images == 120
    )


def test_similarity_cross_memory(configs):
    tiny = configs["config/tiny.yaml"]
    flat, topl2 = SimpleNamespace(representation="flat"), SimpleNamespace(representation="topl2")
    plan = _variant(
        tiny,
        **{
            "activations.n_images": 1000,
            "similarity.max_images": 300,
            "similarity.measures": ["cka_linear", "svcca"],
        },
    )
    L, S = len(plan.layers), len(plan.seeds)
    need = 1000 + 3 * S * L * 300**2 * 8 // 2**20
    floor = 1000 + 3 * L * 300**2 * 8 // 2**20
    cap = plan.config["similarity"]["max_mem_mb"]
    assert plan.similarity_cross_mem_mb(flat, 1) == max(floor, min(need, cap))
    cka = _variant(tiny, **{"similarity.measures": ["cka_linear"]})
    widest = max(cka.shapes[x][0] for x in cka.layers)
    n = cka.gram_images
    assert cka.similarity_cross_mem_mb(topl2, 1) == 1000 + 3 * S * L * n * widest * 8 // 2**20
    # PWCCA on flat: every model at once, beyond similarity.max_mem_mb; the others: capped
    big = {
        "model.seeds": [0, 1, 2, 3],
        "activations.n_images": 1000,
        "similarity.max_mem_mb": 2000,
    }
    pw = _variant(tiny, **big, **{"similarity.measures": ["pwcca"]})
    need = 1000 + 3 * 4 * L * 1000**2 * 8 // 2**20
    assert need > 2000
    assert pw.similarity_cross_mem_mb(flat, 1) == need
    capped = _variant(tiny, **big, **{"similarity.measures": ["svcca"]})
    one_model = 1000 + 3 * L * 1000**2 * 8 // 2**20
    assert capped.similarity_cross_mem_mb(flat, 1) == max(one_model, 2000) < need


def test_job_resources_grow_with_attempts(plans):
    plan = plans["config/paper.yaml"]
    w = SimpleNamespace(seed="0", representation="flat", cloud="full", layer=plan.mapper.layers[0])
    for method in (
        plan.train_mem_mb,
        plan.extract_mem_mb,
        plan.persistence_mem_mb,
        plan.cross_mem_mb,
        plan.similarity_mem_mb,
        plan.similarity_cross_mem_mb,
        plan.similarity_tests_mem_mb,
        plan.mapper.train_mem_mb,
        plan.mapper.cloud_mem_mb,
        plan.mapper.graph_mem_mb,
        plan.mapper.knn_mem_mb,
    ):
        one, two = method(w, 1), method(w, 2)
        assert 0 < one < two, method.__name__
    assert plan.bootstrap_runtime(w, 1) == plan.persistence_runtime(w, 1) * (
        1 + plan.config["distances"]["bootstrap"]
    )
    assert plan.mapper.knn_runtime(w) == sum(
        plan.mapper.graph_runtime(SimpleNamespace(cloud="full", layer=x))
        for x in plan.mapper.clouds["full"]
    )


# ------------------------------------------------------------------ named params


def test_named_params_fingerprint():
    p = named(step=2, maxdim=1, label=lambda wildcards: wildcards["seed"], d=lambda input: 1)
    fp = p["fingerprint"]
    assert not is_derived(fp) and is_derived(p["d"])
    assert fp({"seed": "4"}) == {"step": 2, "maxdim": 1, "label": "4"}
    assert repr(named(step=1, maxdim=1)["fingerprint"]({})) != repr(fp({"seed": "4"}))
    with pytest.raises(ValueError, match="may not be called 'fingerprint'"):
        named(fingerprint=1)
