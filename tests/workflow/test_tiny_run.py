"""The workflow through Snakemake: dry runs, config errors before any job, and the tiny run end to end."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from cnntopo.nets.layers import layer_shapes, paper_layer_names
from cnntopo.paths import Layout
from conftest import run_snakemake

LAYERS = paper_layer_names()


def test_paper_config_dry_run_builds_the_full_dag():
    proc = run_snakemake("-n", "--quiet", "rules", "--configfile", "config/paper.yaml", timeout=300)
    assert proc.returncode == 0, proc.stderr[-5000:]
    counts = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    assert counts["train_model"] == 100
    assert counts["extract_activations"] == 100
    # one persistence job per model, writing its 17 diagram files
    assert counts["topl2_pointclouds"] == 100 and counts["persistence_diagrams"] == 100
    assert counts["layer_distances"] == 100 and counts["figure_mean_heatmap"] == 1
    # figures.per_model: 10 -- per-model figures of models 0-9 only
    assert counts["figure_diagram_grid"] == 10 and counts["figure_layer_heatmap"] == 10
    assert (
        counts["cross_distances"] == 2 and counts["similarity_cross"] == 1
    )  # SW H1 (main and compared), SW H0 (compared); linear CKA on topl2
    assert counts["specificity"] == 2 and counts["similarity_representations"] == 100
    assert counts["similarity_tests"] == 1 and counts["sensitivity_table"] == 1
    assert counts["sensitivity"] == 1 and counts["figure_sensitivity"] == 1
    # Mapper branch: one network; random + full clouds of the 17 BN layers, fg/bg top-1/5 of
    # the six figure layers and layer4.0.bn1 (the follow-up table), full/fg1/fg5 at
    # layer4.1.bn2 under 4 noise levels; one graph each. One cloud job (and one k-NN
    # plot job) per cloud builds all its layers.
    assert counts["train_mapper_model"] == 1
    assert counts["mapper_graph"] == 2 * 17 + 4 * 7 + 3 * 4
    assert counts["mapper_clouds"] == 2 and counts["figure_mapper_knn"] == 2
    assert counts["mapper_clouds_fgbg"] == 4 and counts["figure_mapper_knn_fgbg"] == 4
    assert counts["mapper_clouds_noise"] == 3 * 4 == counts["figure_mapper_knn_noise"]
    assert counts["mapper_explorer"] == 6 + 3 * 4 and counts["figure_mapper_layers"] == 6
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")


def _write_config(tmp_path, base, **overrides):
    cfg = yaml.safe_load(open(base))
    for section, values in overrides.items():
        if isinstance(values, dict):
            cfg.setdefault(section, {}).update(values)
        else:
            cfg[section] = values
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_unknown_key_fails_before_any_job(repo, tmp_path):
    cfg = _write_config(
        tmp_path, repo / "config/tiny.yaml", training={"epoch": 3}, results_dir=str(tmp_path / "r")
    )
    proc = run_snakemake("--cores", "1", "--configfile", str(cfg), timeout=120)
    assert proc.returncode != 0
    assert "unknown config key 'training.epoch': did you mean 'epochs'?" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_wrong_type_fails_before_any_job(repo, tmp_path):
    cfg = _write_config(
        tmp_path, repo / "config/tiny.yaml", model={"width": "big"}, results_dir=str(tmp_path / "r")
    )
    proc = run_snakemake("--cores", "1", "--configfile", str(cfg), timeout=120)
    assert proc.returncode != 0 and "'model.width': 'big' is not of type 'integer'" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_missing_dataset_fails_before_any_job(repo, tmp_path):
    cfg = _write_config(
        tmp_path,
        repo / "config/tiny.yaml",
        dataset={"name": "imagefolder", "root": str(tmp_path / "no-such-folder")},
        results_dir=str(tmp_path / "r"),
    )
    proc = run_snakemake("--cores", "1", "--configfile", str(cfg), timeout=120)
    assert proc.returncode != 0
    assert "no-such-folder" in proc.stderr
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- tiny run


@pytest.fixture(scope="module")
def out(tiny_run) -> Layout:
    """The tiny run's output paths (cnntopo.paths.LAYOUT)."""
    return Layout(tiny_run)


SW = {"metric": "sliced_wasserstein", "dim": 1}


@pytest.mark.slow
def test_tiny_run_models(tiny_run, out):
    summary = pd.read_csv(out("model_summary"))
    assert summary["seed"].tolist() == [0, 1]
    weights = []
    for seed in (0, 1):
        rec = json.loads(Path(out("train_metrics", seed=seed)).read_text())
        assert rec["seed"] == seed and rec["source"] == "trained" and rec["epochs"] == 3
        assert 0.0 <= rec["test_accuracy"] <= 1.0 and len(rec["history"]) == 3
        assert rec["config_hash"] and rec["wall_seconds"] > 0
        weights.append(Path(out("weights", seed=seed)).read_bytes())
        assert (tiny_run / f"benchmarks/models/seed{seed}/train_model.tsv").exists()
        assert "epoch 3/3" in (tiny_run / f"logs/models/seed{seed}/train_model.log").read_text()
    assert weights[0] != weights[1], "different seeds must give different networks"
    # the settings are the same for every seed, and the shards record the network's hash
    hashes = summary["config_hash"].tolist()
    assert hashes[0] == hashes[1]
    for seed in (0, 1):
        assert json.loads(Path(out("manifest", seed=seed)).read_text())["config_hash"] == hashes[0]


@pytest.mark.slow
def test_tiny_run_activations_and_clouds(out):
    sel = json.loads(Path(out("eval_set")).read_text())
    assert sel["n_images"] == 120 and len(set(sel["indices"])) == 120
    shapes = layer_shapes(width=4)
    for seed in (0, 1):
        manifest = json.loads(Path(out("manifest", seed=seed)).read_text())
        assert [entry["name"] for entry in manifest["layers"]] == LAYERS
        assert manifest["image_indices"] == sel["indices"] and manifest["labels"] == sel["labels"]
        assert manifest["seed"] == seed and 0.0 <= manifest["accuracy"] <= 1.0
        for layer in LAYERS:
            acts = np.load(out("shard", seed=seed, layer=layer), mmap_mode="r")
            assert acts.shape == (120, *shapes[layer]) and acts.dtype == np.float32
            with np.load(out("pointcloud", seed=seed, layer=layer)) as z:
                points, positions = z["points"], z["positions"]
            # the top-l2 point of image i is the activation vector at its recorded position
            flat = np.asarray(acts).reshape(120, shapes[layer][0], -1)
            assert np.array_equal(points, flat[np.arange(120), :, positions])
            norms = np.linalg.norm(flat, axis=1)
            assert np.array_equal(positions, norms.argmax(axis=1))


@pytest.mark.slow
def test_tiny_run_diagrams_and_distances(out):
    from cnntopo.ph.persistence import load_diagrams

    matrices = []
    for seed in (0, 1):
        for layer in LAYERS:
            dgms, meta = load_diagrams(out("diagram", seed=seed, layer=layer))
            assert len(dgms) == 2 and meta["layer"] == layer and meta["coeff"] == 2
            with np.load(out("pointcloud", seed=seed, layer=layer)) as z:
                n_distinct, n_points = len(np.unique(z["points"], axis=0)), len(z["points"])
                noise = 1e-6 * max(1.0, float(np.abs(z["points"]).max()))
            # one H0 bar per distinct point, exactly one infinite; duplicates merge at 0 or,
            # for nonzero rows, at a float32 rounding distance (~2e-8 |x|) that depends on
            # the CPU's BLAS: at most n_distinct bars are longer than that
            long = np.diff(dgms[0], axis=1).ravel() > noise
            assert long.sum() <= n_distinct and len(dgms[0]) <= n_points
            assert np.isinf(dgms[0][:, 1]).sum() == 1
            assert np.all(dgms[1][:, 1] > dgms[1][:, 0])
        with np.load(out("within_matrix", seed=seed, **SW)) as z:
            D = z["matrix"]
            assert [str(x) for x in z["layers"]] == LAYERS
        assert (
            D.shape == (17, 17)
            and np.allclose(D, D.T)
            and np.all(np.diag(D) == 0)
            and np.all(D >= 0)
        )
        # distinct layers are apart, unless both H1 diagrams are empty (dead layers, which
        # the same seeds may train on another CPU)
        empty = np.array(
            [len(load_diagrams(out("diagram", seed=seed, layer=x))[0][1]) == 0 for x in LAYERS]
        )
        i, j = np.triu_indices(17, 1)
        assert np.all((D[i, j] > 0) | (empty[i] & empty[j]))
        csv = pd.read_csv(out("within_csv", seed=seed, **SW), index_col=0)
        assert np.allclose(csv.to_numpy(), D)
        matrices.append(D)
    with np.load(out("mean_matrix", **SW)) as z:
        assert np.allclose(z["mean"], (matrices[0] + matrices[1]) / 2)


@pytest.mark.slow
def test_tiny_run_bootstraps_the_plotted_heatmaps(out):
    # distances.bootstrap: 3 in config/tiny.yaml; resample 0 of seed 0 recomputed from
    # the point clouds with ripser and persim
    import persim
    import ripser

    from cnntopo.ph.bootstrap import resample_indices
    from cnntopo.stages.ph.bootstrap import load_bootstrap

    boot = load_bootstrap(out("within_bootstrap", seed=0, **SW))
    with np.load(out("within_matrix", seed=0, **SW)) as z:
        assert np.array_equal(boot["matrix"], z["matrix"])
    assert boot["layers"] == LAYERS and boot["replicates"].shape == (3, 17, 17)
    assert boot["significant"].shape == (17, 17) and not np.diag(boot["significant"]).any()
    rows = resample_indices(120, 3, seed=0)[0]
    h1 = []
    for layer in LAYERS[:3]:
        with np.load(out("pointcloud", seed=0, layer=layer)) as z:
            h1.append(ripser.ripser(z["points"][rows], maxdim=1)["dgms"][1])
    for i, j in ((0, 1), (0, 2), (1, 2)):
        sw = persim.sliced_wasserstein(h1[i], h1[j], M=50)
        assert boot["replicates"][0, i, j] == pytest.approx(sw, rel=1e-9, abs=1e-12)


@pytest.mark.slow
def test_tiny_run_other_metrics_match_persim(out):
    import persim

    from cnntopo.ph.persistence import load_diagrams

    h1 = {layer: load_diagrams(out("diagram", seed=0, layer=layer))[0][1] for layer in LAYERS[-3:]}
    a, b = h1[LAYERS[-3]], h1[LAYERS[-1]]
    i, j = 14, 16
    for metric, oracle in [("wasserstein", persim.wasserstein), ("bottleneck", persim.bottleneck)]:
        with np.load(out("within_matrix", metric=metric, dim=1, seed=0)) as z:
            D = z["matrix"]
        assert D.shape == (17, 17) and np.allclose(D, D.T) and np.all(np.diag(D) == 0)
        assert D[i, j] == pytest.approx(oracle(a, b), rel=1e-9, abs=1e-12)


@pytest.mark.slow
def test_tiny_run_cross_model_analyses(out):
    from cnntopo.stages.common import load_cross

    D, seeds, layers, meta = load_cross(out("cross_matrix", measure="sliced_wasserstein_H1"))
    assert (
        D.shape == (34, 34) and seeds == [0, 1] and layers == LAYERS and meta["kind"] == "distance"
    )
    assert np.allclose(D, D.T) and np.all(np.diag(D) == 0)
    for s in (0, 1):  # the diagonal blocks are the within-model matrices
        with np.load(out("within_matrix", seed=s, **SW)) as z:
            assert np.allclose(D[17 * s : 17 * (s + 1), 17 * s : 17 * (s + 1)], z["matrix"])
    C, *_ = load_cross(out("similarity_cross", representation="topl2", measure="cka_linear"))
    assert C.shape == (34, 34) and np.allclose(C, C.T) and np.allclose(np.diag(C), 1)
    assert np.all((C > -1e-9) & (C < 1 + 1e-9))
    for measure in ("sliced_wasserstein_H1", "cka"):
        table = pd.read_csv(out("specificity", measure=measure))
        assert table["layer"].tolist() == [*LAYERS, "overall"]
        # a dead layer (the same seeds may train one on another CPU) has no decided case
        rated = table[table["n_pairs"] > 0]
        assert rated["exact"].between(0, 1).all() and (rated["within_1"] >= rated["exact"]).all()
        # the comparison table's row of the same matrix agrees with the per-measure table
        spec = pd.read_csv(out("specificity_table"))
        name = "cka_linear" if measure == "cka" else measure
        row = spec[(spec["measure"] == name) & (spec["representation"] == "topl2")].iloc[0]
        assert row["exact"] == pytest.approx(table["exact"].iloc[-1])
        assert row["within1"] == pytest.approx(table["within_1"].iloc[-1])


@pytest.mark.slow
def test_tiny_run_compares_every_measure_and_representation(out):
    """Done-when of issue 11: a specificity, depth and permutation row per (measure,
    representation) and per PH distance, with intervals; flat CKA against the shards."""
    from cnntopo.ph.similarity import linear_cka
    from cnntopo.stages.common import load_cross

    labels = ["cka_linear", "cka_rbf_0.2", "cka_rbf_0.4", "cka_rbf_0.8", "cka_debiased"]
    labels += ["procrustes", "cca", "svcca", "pwcca"]
    expected = {(m, r) for m in labels for r in ("topl2", "flat", "pool")}
    # the diagram distances on every persistence representation (tiny.yaml: topl2, flat)
    expected |= {(f"sliced_wasserstein_H{d}", r) for d in (0, 1) for r in ("topl2", "flat")}
    for name in ("specificity_table", "layer_depth"):
        table = pd.read_csv(out(name))
        assert set(zip(table["measure"], table["representation"], strict=True)) == expected
        # an interval wherever the measure decided cases (NaN rows say why in `note`)
        defined = table["ci_low"].notna()
        assert defined.any() and (table.loc[~defined, "note"].notna()).all()
        assert (table.loc[defined, "ci_low"] <= table.loc[defined, "ci_high"]).all()
    spec = pd.read_csv(out("specificity_table"))
    # every case is decided, or dropped where a measure is undefined: a dead layer, which
    # the same seeds may train on another CPU, or CCA on flat (trivial correlations)
    assert (spec["n_cases"] + spec["n_dropped"] == 17 * 2).all()
    assert ((spec["within1"] >= spec["exact"]) | spec["exact"].isna()).all()
    # the interval over networks holds the rate wherever it is defined
    seeded = spec["seed_ci_low"].notna()
    assert seeded.any()
    assert (spec.loc[seeded, "seed_ci_low"] <= spec.loc[seeded, "exact"] + 1e-12).all()
    assert (spec.loc[seeded, "exact"] <= spec.loc[seeded, "seed_ci_high"] + 1e-12).all()
    assert spec.loc[spec["measure"].str.startswith("sliced"), "dim"].tolist() == [0, 1, 0, 1]
    perm = pd.read_csv(out("stage_permutation"))
    assert len(perm) == 3 * len(expected)
    tested = perm["p_value"].notna()  # NaN only where the measure is undefined, with a note
    assert perm.loc[tested, "p_value"].between(0, 1).all() and tested.sum() > len(perm) // 2
    assert perm.loc[~tested, "note"].notna().all()
    sens = pd.read_csv(out("sensitivity_table"))
    # PH on topl2: the paper's test (its H1 SW); PH on flat: every diagram distance
    assert set(zip(sens["measure"], sens["representation"], strict=True)) == (
        expected - {("sliced_wasserstein_H0", "topl2")}
    )
    ph_flat = sens[sens["representation"].eq("flat") & sens["measure"].str.startswith("sliced")]
    assert ph_flat["dim"].tolist() == [0, 1] and ph_flat["n_cases"].gt(0).all()
    # the comparison sees the PH branch's own clouds: topl2 CKA from the point-cloud files
    points = [np.load(out("pointcloud", seed=s, layer=LAYERS[0]))["points"] for s in (0, 1)]
    T, *_ = load_cross(out("similarity_cross", representation="topl2", measure="cka_linear"))
    assert T[0, 17] == pytest.approx(linear_cka(*points), rel=1e-9)
    F, *_ = load_cross(out("similarity_cross", representation="flat", measure="cka_linear"))
    assert F.shape == (34, 34) and np.allclose(np.diag(F), 1) and not np.allclose(F, T)


@pytest.mark.slow
def test_tiny_run_sensitivity(out):
    shapes = layer_shapes(width=4)
    for layer in LAYERS:
        table = pd.read_csv(out("sensitivity", seed=0, layer=layer))
        c = shapes[layer][0]
        k = np.linspace(2, c, c // 2, endpoint=False).astype(int)  # tiny.yaml: step 2
        assert table["k"].tolist() == k.tolist()
        assert np.allclose(table["fraction_removed"], k / c)
        assert (table["sw"] >= 0).all() and table["cka"].between(-1e-9, 1 + 1e-9).all()
        assert table["accuracy"].between(0, 1).all()
        base = table["accuracy"] + table["accuracy_drop"]  # the original cloud's accuracy
        assert np.allclose(base, base.iloc[0]) and 0 < base.iloc[0] <= 1


@pytest.mark.slow
def test_tiny_run_figures(out):
    metrics = ("sliced_wasserstein", "wasserstein", "bottleneck")
    figs = [out("fig_training")]  # {ext} kept
    figs += [out("fig_heatmap_mean", metric=m, dim=1) for m in metrics]
    figs += [out("fig_heatmap", metric=m, dim=1, seed=s) for s in (0, 1) for m in metrics]
    figs += [out("fig_diagrams", seed=s) for s in (0, 1)]
    figs += [out("fig_specificity", measure=m) for m in ("sliced_wasserstein_H1", "cka")]
    figs += [out("fig_vs_cka", measure="sliced_wasserstein_H1")]
    figs += [out("fig_sensitivity", measure=m, seed=0) for m in ("sliced_wasserstein_H1", "cka")]
    figs += [out("fig_measures")]
    for fig in figs:
        png = Path(fig.format(ext="png")).read_bytes()
        pdf = Path(fig.format(ext="pdf")).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000, fig
        assert pdf.startswith(b"%PDF"), fig


@pytest.mark.slow
def test_tiny_run_is_complete_and_resumes(tiny_run, out):
    results_dir = str(tiny_run.parent)
    args = ("--configfile", "config/tiny.yaml", "--config", f"results_dir={results_dir}")
    proc = run_snakemake("-n", *args, timeout=120)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stdout + proc.stderr
    # an interrupted run: one model's distance matrix and heatmap never got written. The
    # rerun redoes those jobs and what depends on them, and reuses everything upstream.
    matrix = Path(out("within_matrix", seed=1, **SW))
    heatmap = Path(out("fig_heatmap", seed=1, ext="png", **SW))
    matrix.unlink()
    heatmap.unlink()
    proc = run_snakemake("-n", "--quiet", "rules", *args, timeout=120)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "layer_distances" in text and "figure_layer_heatmap" in text
    assert "train_model" not in text and "persistence_diagrams" not in text
    proc = run_snakemake("--cores", "2", *args, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert matrix.exists() and heatmap.exists()
    leftovers = [p for p in tiny_run.rglob("*.tmp")]
    assert not leftovers, leftovers


@pytest.mark.slow
def test_tiny_run_logs_every_job(tiny_run):
    """Exactly one log per job of the DAG, and each names what the job did."""
    results_dir = str(tiny_run.parent)
    proc = run_snakemake(
        "-n",
        "--forceall",
        "--configfile",
        "config/tiny.yaml",
        "--config",
        f"results_dir={results_dir}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    declared = {
        line.split(": ", 1)[1]
        for line in (proc.stdout + proc.stderr).splitlines()
        if line.startswith("    log: ")
    }
    written = {str(p) for p in (tiny_run / "logs").rglob("*.log")}
    assert written == declared
    for seed in (0, 1):
        log = (tiny_run / f"logs/diagrams/topl2/seed{seed}.log").read_text()
        for layer in LAYERS:
            assert f"{layer} seed {seed}: PH of (120, " in log, log


def test_configfile_replaces_the_default_config(repo):
    """Keys of config/config.yaml (the demo) must not leak into a --configfile run."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    def loaded(*files):
        with SnakemakeApi(OutputSettings(dryrun=True)) as api:
            wf = api.workflow(
                resource_settings=ResourceSettings(),
                config_settings=ConfigSettings(configfiles=[Path(repo / f) for f in files]),
                snakefile=Path(repo / "Snakefile"),
                workdir=Path(repo),
            )
            return wf._workflow.config

    demo = loaded()
    demo_images = yaml.safe_load(open(repo / "config/config.yaml"))["training"]["max_train_images"]
    assert demo_images is not None  # else the check below cannot tell the configs apart
    assert demo["experiment"] == "demo" and demo["training"]["max_train_images"] == demo_images
    tiny = loaded("config/tiny.yaml")
    assert tiny["experiment"] == "tiny" and tiny["dataset"]["name"] == "digits"
    assert tiny["training"]["max_train_images"] is None  # the schema default, not the demo's
    paper = loaded("config/paper.yaml")
    assert paper["training"]["max_train_images"] is None and paper["model"]["width"] == 64


# ------------------------------------------------------------------ Mapper branch


@pytest.mark.slow
def test_tiny_run_mapper_network_and_images(out):
    metrics = json.loads(Path(out("mapper_train_metrics")).read_text())
    assert metrics["arch"] == "resnet18_mapper" and metrics["width"] == 4
    assert metrics["keep"] == "best_loss" and 1 <= metrics["kept_epoch"] <= 2
    with np.load(out("mapper_images")) as z:
        labels = z["labels"]
        assert len(labels) == 1347  # all digits training images
        assert np.all(np.diff(labels) >= 0)  # class-major order


@pytest.mark.slow
def test_tiny_run_mapper_clouds(out):
    n = 1347
    sizes = {"random": n, "fg1": n, "bg5": 5 * n}
    for cloud, rows in sizes.items():
        with np.load(out("mapper_cloud", cloud=cloud, layer="layer4.1.bn2")) as z:
            assert z["points"].shape == (rows, 32)  # width 4 -> 32 channels in layer4
            assert z["labels"].shape == z["image_index"].shape == (rows,)
    with np.load(out("mapper_cloud", cloud="full", layer="layer4.1.bn2")) as z:
        assert z["points"].shape == (20000, 32)  # 1347 x 4x4 positions, capped at 20,000
        assert json.loads(str(z["meta"]))["n_rows_total"] == n * 16
        assert z["points"].min() >= 0  # ReLU applied
    with np.load(out("mapper_cloud", cloud="full", layer="layer1.1.bn2")) as z:
        assert z["points"].shape == (20000, 4)  # 1347 x 1024 rows, capped at 20,000
        meta = json.loads(str(z["meta"]))
        assert meta["seed"] == 0 and meta["replace"] is True
    with np.load(out("mapper_cloud", cloud="fg1", layer="layer4.1.bn2")) as z:
        assert z["points"].min() < 0  # no ReLU for the foreground clouds
        meta = json.loads(str(z["meta"]))
        assert (meta["empty_mask"], meta["ties"]) == ("random", "paper")
        assert meta["rng_seed"] == [0, zlib.crc32(b"layer4.1.bn2")]
    with np.load(out("mapper_cloud", cloud="full-noise0.5", layer="layer4.1.bn2")) as z:
        assert json.loads(str(z["meta"]))["sigma"] == 0.5


@pytest.mark.slow
def test_tiny_run_mapper_graphs_are_mapper_interactive_json(tiny_run, out):
    graphs = sorted((tiny_run / "mapper/graphs").rglob("*.json"))
    # random/full: 2 layers; fg1, bg5, full-noise0.5, fg1-noise0.5: 1 layer; 2 settings
    # each, except the per-layer table entry for random/layer4.1.bn2 (one fixed setting)
    assert len(graphs) == 2 * (2 + 2 + 4) - 1
    setting = "intervals~10_overlap~25_eps~knee"
    fixed = out("mapper_graph", cloud="random", layer="layer4.1.bn2", setting=setting)
    assert Path(fixed).exists()
    for path in graphs:
        g = json.loads(path.read_text())
        assert g["categorical_cols"] == ["label"] and g["numerical_col_keys"] == ["lens"]
        assert g["nodes"], path
        for node in g["nodes"].values():
            counts = node["categorical_cols_summary"]["label"]
            assert sum(counts.values()) == len(node["vertices"])
            assert 0 <= node["avgs"]["lens"] <= 1
        for a, nbrs in g["edges"].items():
            for b in nbrs:
                shared = set(g["nodes"][a]["vertices"]) & set(g["nodes"][b]["vertices"])
                assert shared
        assert g["meta"]["eps_source"] in ("knee", "median")
        # the 0/1 predictions column: noisy foreground graphs only (32 channels at layer4)
        noisy_fg = g["meta"]["cloud"] == "fg1-noise0.5"
        assert g["meta"]["predictions_feature"] == noisy_fg
        if g["meta"]["layer"] == "layer4.1.bn2":
            assert g["meta"]["dim"] == (33 if noisy_fg else 32)


@pytest.mark.slow
def test_tiny_run_mapper_stats_and_figures(out):
    stats = pd.read_csv(out("mapper_stats"))
    assert len(stats) == 15
    assert stats["nodewise"].between(0, 1).all() and stats["classwise_mean"].between(0, 1).all()
    figs = [out("fig_mapper_purity"), out("fig_mapper_settings")]
    figs += [out("fig_mapper_layers", cloud=c) for c in ("random", "full", "fg1", "bg5")]
    figs += [out("fig_mapper_constructions", layer="layer4.1.bn2")]
    figs += [out("fig_mapper_noise", cloud=c, layer="layer4.1.bn2") for c in ("full", "fg1")]
    clouds = {"random": 2, "full": 2, "fg1": 1, "bg5": 1, "full-noise0.5": 1, "fg1-noise0.5": 1}
    knn = sorted((Path(out("summary")).parent / "figures/mapper/knn").rglob("*.png"))
    assert len(knn) == sum(clouds.values())  # one eps plot per (cloud, layer)
    for cloud in clouds:
        layer = "layer4.1.bn2"
        figs.append(out("fig_mapper_knn", cloud=cloud, layer=layer))
        with np.load(out("mapper_knn", cloud=cloud, layer=layer)) as z:
            meta = json.loads(str(z["meta"]))
            assert meta["k"] == 5 and meta["queries"] is None and not meta["sampled"]
            assert z["distances"].size == meta["n_points"] and np.all(np.diff(z["distances"]) >= 0)
            assert meta["predictions_feature"] == (cloud == "fg1-noise0.5")
            assert len(meta["eps"]) == (1 if cloud == "random" else 2)
    for fig in figs:
        assert Path(fig.format(ext="png")).stat().st_size > 10_000, fig
    for cloud in clouds:
        html = Path(out("mapper_explorer", cloud=cloud)).read_text()
        assert "cnntopo-data" in html and "http://" not in html.split("<body", 1)[0]
    summary = json.loads(Path(out("summary")).read_text())
    assert 0 <= summary["mapper_random_nodewise_purity"] <= 1
    assert 0 < summary["test_accuracy_mean"] <= 1
