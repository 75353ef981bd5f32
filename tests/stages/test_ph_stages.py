"""The cross-model PH stages on small synthetic inputs, against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import persim
import pytest
import ripser

from cnntopo.names import metric_label
from cnntopo.ph.persistence import diagrams, load_diagrams, save_diagrams
from cnntopo.stages.common import load_cross, write_cross
from cnntopo.stages.ph.distances import cross_distances, metric_params, specificity_analysis
from cnntopo.stages.ph.figures import figure_sensitivity, figure_sw_vs_cka
from cnntopo.stages.ph.persistence import persistence_diagram, persistence_diagrams
from cnntopo.stages.ph.sensitivity import sensitivity_test
from cnntopo.stages.ph.similarity import (
    similarity_cross,
    similarity_representations,
)

LAYERS = ["conv1", "block_seq.0.0.conv1", "block_seq.0.0.conv2"]
SEEDS = [0, 3]
DISTANCES = {"M": 50, "order": 1, "internal_p": 2}


def _h1(rng: np.random.Generator, n: int) -> np.ndarray:
    birth = rng.uniform(0, 1, n)
    return np.column_stack([birth, birth + rng.exponential(0.5, n)])


def _diagram_files(folder, h1s):
    """One diagram file per H1 diagram (with an H0 and its essential bar), model-major."""
    files = []
    for i, h1 in enumerate(h1s):
        files.append(folder / f"d{i}.npz")
        h0 = np.array([[0.0, 0.3], [0.0, np.inf]])
        save_diagrams(files[-1], [h0, h1], {"index": i})
    return files


def _cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA of Kornblith et al. 2019, written out."""
    X, Y = X - X.mean(axis=0), Y - Y.mean(axis=0)
    cross = np.linalg.norm(Y.T @ X) ** 2
    return float(cross / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)))


def cka_cross(folder, clouds, out):
    """Linear CKA through the similarity stages: clouds as 1x1 feature maps (topl2 = them)."""
    L = len(LAYERS)
    reps = []
    for s, seed in enumerate(SEEDS):
        shards = []
        for i, points in enumerate(clouds[s * L : (s + 1) * L]):
            shards.append(folder / f"shard_{seed}_{i}.npy")
            np.save(shards[-1], np.asarray(points)[:, :, None, None])
        reps.append(folder / f"rep{seed}.npz")
        similarity_representations(
            shards, [reps[-1]], seed=seed, layers=LAYERS, representations=["topl2"]
        )
    spec = [{"label": "cka_linear", "name": "cka_linear", "params": {}}]
    similarity_cross(reps, [out], seeds=SEEDS, layers=LAYERS, representation="topl2", measures=spec)
    return load_cross(out)[0]


def _write_clouds(folder, clouds):
    files = []
    for i, points in enumerate(clouds):
        files.append(folder / f"c{i}.npz")
        np.savez(files[-1], points=points)
    return files


@pytest.mark.parametrize(
    ("metric", "oracle"),
    [
        ("sliced_wasserstein", lambda a, b: persim.sliced_wasserstein(a, b, M=50)),
        ("wasserstein", persim.wasserstein),
        ("bottleneck", persim.bottleneck),
    ],
)
def test_cross_matrix_is_persims_pairwise_distance(tmp_path, metric, oracle):
    rng = np.random.default_rng(0)
    h1s = [_h1(rng, int(n)) for n in rng.integers(3, 12, len(SEEDS) * len(LAYERS))]
    files = _diagram_files(tmp_path, h1s)
    out = tmp_path / "cross.npz"
    D = cross_distances(
        files,
        out,
        seeds=SEEDS,
        layers=LAYERS,
        metric=metric,
        dim=1,
        infinite="strip",
        parameters=metric_params(DISTANCES, metric),
        threads=2,
    )
    matrix, seeds, layers, meta = load_cross(out)
    assert np.array_equal(matrix, D) and seeds == SEEDS and layers == LAYERS
    assert meta["kind"] == "distance" and meta["metric"] == metric and meta["dim"] == 1
    assert meta["n_diagrams"] == 6 and meta["params"] == metric_params(DISTANCES, metric)
    i, j = np.triu_indices(len(h1s), 1)  # persim's distance of a diagram to itself is ~1e-8
    expected = [oracle(h1s[a], h1s[b]) for a, b in zip(i, j, strict=True)]
    np.testing.assert_allclose(D[i, j], expected, rtol=1e-9, atol=1e-12)
    assert np.array_equal(D, D.T) and np.all(np.diag(D) == 0)
    with pytest.raises(ValueError, match="expected 2 x 3 diagram files, got 5"):
        cross_distances(
            files[:5],
            out,
            seeds=SEEDS,
            layers=LAYERS,
            metric=metric,
            dim=1,
            infinite="strip",
            parameters=metric_params(DISTANCES, metric),
        )


def test_cross_matrix_refuses_infinite_bars_when_asked(tmp_path):
    files = _diagram_files(tmp_path, [_h1(np.random.default_rng(1), 4)] * 6)
    with pytest.raises(ValueError, match="infinite"):
        cross_distances(
            files,
            tmp_path / "x.npz",
            seeds=SEEDS,
            layers=LAYERS,
            metric="sliced_wasserstein",
            dim=0,
            infinite="error",
            parameters={"M": 50},
        )


def test_cka_cross_is_linear_cka_of_every_pair(tmp_path):
    rng = np.random.default_rng(2)
    clouds = [rng.normal(size=(40, c)) for c in (4, 4, 8) for _ in SEEDS]
    C = cka_cross(tmp_path, clouds, tmp_path / "cka.npz")
    matrix, seeds, layers, meta = load_cross(tmp_path / "cka.npz")
    assert np.array_equal(matrix, C) and seeds == SEEDS and layers == LAYERS
    assert meta == {**meta, "measure": "cka_linear", "kind": "similarity"}
    clouds = [c.astype(np.float32).astype(np.float64) for c in clouds]  # top-l2 is float32
    expected = np.array([[_cka(a, b) for b in clouds] for a in clouds])
    np.testing.assert_allclose(C, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.diag(C), 1.0)


def test_specificity_of_identical_models_is_one(tmp_path):
    rng = np.random.default_rng(3)
    one_model = [_h1(rng, 8) for _ in LAYERS]
    files = _diagram_files(tmp_path, one_model * len(SEEDS))
    cross = tmp_path / "cross.npz"
    cross_distances(
        files,
        cross,
        seeds=SEEDS,
        layers=LAYERS,
        metric="sliced_wasserstein",
        dim=1,
        infinite="strip",
        parameters={"M": 50},
    )
    figures = [str(tmp_path / "spec.png"), str(tmp_path / "spec.pdf")]
    specificity_analysis(cross, tmp_path / "spec.csv", figures, label="SW (H1)")
    table = pd.read_csv(tmp_path / "spec.csv")
    assert table["layer"].tolist() == [*LAYERS, "overall"]
    assert (table["exact"] == 1.0).all() and (table["within_1"] == 1.0).all()
    assert (tmp_path / "spec.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "spec.pdf").read_bytes().startswith(b"%PDF")


def test_specificity_of_identical_models_is_one_for_cka_too(tmp_path):
    """CKA ignores rotations and scaling: a rotated, scaled copy is the same model."""
    rng = np.random.default_rng(4)
    model = [rng.normal(size=(50, 6)) for _ in LAYERS]
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    copy = [3.0 * points @ rotation for points in model]
    C = cka_cross(tmp_path, model + copy, tmp_path / "cka.npz")
    np.testing.assert_allclose(np.diag(C[:3, 3:]), 1.0)
    specificity_analysis(
        tmp_path / "cka.npz", tmp_path / "spec.csv", [str(tmp_path / "s.png")], label="CKA"
    )
    table = pd.read_csv(tmp_path / "spec.csv")
    assert (table["exact"] == 1.0).all()


def test_specificity_needs_two_models(tmp_path):
    write_cross(tmp_path / "one.npz", np.zeros((3, 3)), [0], LAYERS, {"kind": "distance"})
    with pytest.raises(ValueError, match="at least two models"):
        specificity_analysis(tmp_path / "one.npz", tmp_path / "s.csv", [], label="SW")


def test_sensitivity_test_removes_the_smallest_singular_directions(tmp_path):
    rng = np.random.default_rng(5)
    clouds = [
        (rng.normal(size=(30, c)) * np.linspace(2, 0.5, c)).astype(np.float32) for c in (4, 6)
    ]
    files = _write_clouds(tmp_path, clouds)
    outs = [tmp_path / "a.csv", tmp_path / "b.csv"]
    sensitivity_test(
        files, outs, layers=["a", "b"], step=2, backend="ripser", maxdim=1, coeff=2, dim=1, M=50
    )
    for points, out in zip(clouds, outs, strict=True):
        table = pd.read_csv(out)
        c = points.shape[1]
        k = np.linspace(2, c, c // 2, endpoint=False).astype(int)
        assert table.columns.tolist() == ["k", "fraction_removed", "sw", "cka"]
        assert table["k"].tolist() == k.tolist()
        np.testing.assert_allclose(table["fraction_removed"], k / c)
        U, _, _ = np.linalg.svd(points.T.astype(np.float64))
        original = ripser.ripser(points, maxdim=1)["dgms"][1]
        for row in table.itertuples():
            reduced = (points.astype(np.float64) @ U[:, : c - row.k]).astype(np.float32)
            h1 = ripser.ripser(reduced, maxdim=1)["dgms"][1]
            sw = persim.sliced_wasserstein(original, h1, M=50)
            assert row.sw == pytest.approx(sw, rel=1e-9, abs=1e-12)
            assert row.cka == pytest.approx(_cka(points, reduced), rel=1e-5)


def test_figure_sensitivity_draws_both_measures(tmp_path, monkeypatch):
    from cnntopo.ph import cross_figures

    tables = []
    for i, layer in enumerate(LAYERS[:2]):
        tables.append(tmp_path / f"{layer}.csv")
        k = np.array([2, 3])
        pd.DataFrame(
            {"k": k, "fraction_removed": k / 4, "sw": [0.1 * i, 0.2], "cka": [0.99, 0.9]}
        ).to_csv(tables[-1], index=False)
    seen = []
    real = cross_figures.sensitivity_figure

    def spy(curves, **kwargs):
        seen.append((list(curves), kwargs["value"], kwargs["ylabel"]))
        return real(curves, **kwargs)

    monkeypatch.setattr(cross_figures, "sensitivity_figure", spy)
    sw = [str(tmp_path / "sw.png"), str(tmp_path / "sw.pdf")]
    cka = [str(tmp_path / "cka.png")]
    figure_sensitivity(tables, sw, cka, layers=LAYERS[:2], dim=0)
    assert seen == [
        (LAYERS[:2], "sw", "SW (H0) to original"),
        (LAYERS[:2], "cka", "linear CKA to original"),
    ]
    for path in [*sw, *cka]:
        assert (tmp_path / path).stat().st_size > 1000


def test_figure_sw_vs_cka_compares_the_mean_within_model_blocks(tmp_path, monkeypatch):
    from cnntopo.ph import cross_figures

    rng = np.random.default_rng(6)
    D, C = rng.uniform(size=(2, 6, 6))
    meta = {"kind": "distance", "metric": "sliced_wasserstein", "dim": 1}
    write_cross(tmp_path / "d.npz", D, SEEDS, LAYERS, meta)
    write_cross(tmp_path / "c.npz", C, SEEDS, LAYERS, {"kind": "similarity"})
    seen = {}
    real = cross_figures.comparison_figure

    def spy(left, right, layers, **kwargs):
        seen.update(left=left, right=right, layers=layers, **kwargs)
        return real(left, right, layers, **kwargs)

    monkeypatch.setattr(cross_figures, "comparison_figure", spy)
    figure_sw_vs_cka(tmp_path / "d.npz", tmp_path / "c.npz", [str(tmp_path / "f.png")])
    np.testing.assert_allclose(seen["left"], (D[:3, :3] + D[3:, 3:]) / 2)
    np.testing.assert_allclose(seen["right"], (C[:3, :3] + C[3:, 3:]) / 2)
    assert seen["layers"] == LAYERS and seen["left_label"] == metric_label("sliced_wasserstein", 1)
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    write_cross(tmp_path / "c1.npz", C, [0, 1], LAYERS, {"kind": "similarity"})
    with pytest.raises(ValueError, match="different models or layers"):
        figure_sw_vs_cka(tmp_path / "d.npz", tmp_path / "c1.npz", [str(tmp_path / "g.png")])


def test_persistence_of_a_model_writes_the_files_of_one_job_per_layer(tmp_path):
    """One job per model: every layer's file is the one its own job would write."""
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 2.0 * np.pi, 40, endpoint=False)
    circle = np.stack([np.cos(t), np.sin(t), np.zeros_like(t)], axis=1)
    clouds = {"conv1": circle, "block.0": rng.normal(size=(30, 5)).astype(np.float32)}
    paths = []
    for layer, points in clouds.items():
        path = tmp_path / "clouds" / f"{layer}.npz"
        path.parent.mkdir(exist_ok=True)
        np.savez(path, points=points)
        paths.append(path)
    layers = list(clouds)
    settings = {"backend": "giotto", "maxdim": 1, "coeff": 2}
    batched = [tmp_path / "model" / f"{layer}.npz" for layer in layers]
    persistence_diagrams(paths, batched, seed=3, layers=layers, **settings)
    for cloud, out, layer in zip(paths, batched, layers, strict=True):
        single = tmp_path / "single" / f"{layer}.npz"
        persistence_diagram(cloud, single, seed=3, layer=layer, **settings)
        (dgms, meta), (ref, ref_meta) = load_diagrams(out), load_diagrams(single)
        assert all(np.array_equal(a, b) for a, b in zip(dgms, ref, strict=True))
        assert meta.pop("seconds") >= 0 and ref_meta.pop("seconds") >= 0
        assert meta == ref_meta and meta["layer"] == layer and meta["seed"] == 3
        expected = diagrams(clouds[layer], maxdim=1, backend="ripser")
        assert all(np.array_equal(a, b) for a, b in zip(dgms, expected, strict=True))
    # the circle's one long H1 bar
    h1 = load_diagrams(batched[0])[0][1]
    assert np.count_nonzero(h1[:, 1] - h1[:, 0] > 1) == 1
    assert not list(tmp_path.rglob("*.tmp"))


def test_persistence_of_a_model_needs_one_cloud_and_output_per_layer(tmp_path):
    with pytest.raises(ValueError, match="one point cloud and one output per layer"):
        persistence_diagrams(
            ["a.npz"], ["a.out.npz", "b.out.npz"], seed=0, layers=["a"],
            backend="giotto", maxdim=1, coeff=2,
        )  # fmt: skip


def _stepping_clock(monkeypatch, step: float = 31.0) -> None:
    """Every reading of the stages' progress clock is ``step`` s after the last: every
    update is due, so each one writes a line."""
    import itertools

    import cnntopo.progress
    import cnntopo.stages.ph.similarity as stage

    clock = itertools.count(0.0, step).__next__
    monkeypatch.setattr(cnntopo.progress, "_clock", clock)  # progress_lines' clock
    if hasattr(stage, "_clock"):  # the stage's own copy, while it still has one
        monkeypatch.setattr(stage, "_clock", clock)


def _progress_counts(caplog, unit: str) -> tuple[list[int], set[int]]:
    """(done, totals) of the progress lines in the log; each line has an ETA."""
    import re

    found = [
        re.search(rf"\| (\d+)/(\d+) {unit} \(.*\) elapsed \S+ eta (\S+)$", r.getMessage())
        for r in caplog.records
    ]
    found = [m for m in found if m]
    assert found and all(m.group(3) != "?" for m in found)
    return [int(m.group(1)) for m in found], {int(m.group(2)) for m in found}


def test_similarity_cross_logs_progress_with_an_eta(tmp_path, monkeypatch, caplog):
    # 2 seeds x 3 layers = 6 representations, 15 pairs per measure: the linear CKA
    # (feature form, reported at once) and Procrustes (row by row) give 30 pairs.
    _stepping_clock(monkeypatch)
    rng = np.random.default_rng(4)
    L = len(LAYERS)
    reps = []
    for seed in SEEDS:
        shards = []
        for i in range(L):
            shards.append(tmp_path / f"shard_{seed}_{i}.npy")
            np.save(shards[-1], rng.normal(size=(20, 5, 1, 1)).astype(np.float32))
        reps.append(tmp_path / f"rep{seed}.npz")
        similarity_representations(
            shards, [reps[-1]], seed=seed, layers=LAYERS, representations=["topl2"]
        )
    spec = [
        {"label": "cka_linear", "name": "cka_linear", "params": {}},
        {"label": "procrustes", "name": "procrustes", "params": {}},
    ]
    outs = [tmp_path / "cka.npz", tmp_path / "proc.npz"]
    caplog.set_level("INFO", logger="cnntopo")
    similarity_cross(reps, outs, seeds=SEEDS, layers=LAYERS, representation="topl2", measures=spec)
    done, totals = _progress_counts(caplog, "pairs")
    assert totals == {30}
    assert done == sorted(set(done)) and done[0] == 15 and done[-1] == 30 and len(done) > 2


def test_sensitivity_test_logs_progress_with_an_eta(tmp_path, monkeypatch, caplog):
    # widths 4 and 6, step 2: k = 2, 3 and k = 2, 3, 4 (np.linspace(step, c, c // step,
    # endpoint=False)), 5 reduced clouds, one line after each.
    _stepping_clock(monkeypatch)
    rng = np.random.default_rng(6)
    files = _write_clouds(tmp_path, [rng.normal(size=(25, c)).astype(np.float32) for c in (4, 6)])
    caplog.set_level("INFO", logger="cnntopo")
    sensitivity_test(
        files,
        [tmp_path / "a.csv", tmp_path / "b.csv"],
        layers=["a", "b"],
        step=2,
        backend="ripser",
        maxdim=1,
        coeff=2,
        dim=1,
        M=10,
    )
    done, totals = _progress_counts(caplog, "clouds")
    assert totals == {5} and done == [1, 2, 3, 4, 5]


def _sensitivity_inputs(tmp_path, seed: int, n_per_class: int, channels: int):
    """PH tables, topl2 + pool representation files and eval.json of SEEDS x LAYERS."""
    import json

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), n_per_class)
    (tmp_path / "eval.json").write_text(json.dumps({"labels": labels.tolist()}))
    reps, tables = [], []
    for s in SEEDS:
        shards = []
        for i in range(len(LAYERS)):
            shards.append(tmp_path / f"shard_{s}_{i}.npy")
            np.save(shards[-1], rng.normal(size=(labels.size, channels, 2, 2)).astype(np.float32))
            tables.append(tmp_path / f"ph_{s}_{i}.csv")
            pd.DataFrame({"sw": rng.uniform(size=3), "accuracy_drop": rng.uniform(size=3)}).to_csv(
                tables[-1], index=False
            )
        reps += [tmp_path / f"rep{s}_{r}.npz" for r in ("topl2", "pool")]
        similarity_representations(
            shards, reps[-2:], seed=s, layers=LAYERS, representations=["topl2", "pool"]
        )
    return tables, reps, tmp_path / "eval.json"


_SENSITIVITY_KWARGS = dict(
    seeds=SEEDS,
    layers=LAYERS,
    representations=["topl2", "pool"],
    measures=[{"label": "cka_linear", "name": "cka_linear", "params": {}}],
    ph_measure="sliced_wasserstein_H1",
    n_boot=10,
)


def test_sensitivity_table_ph_rows_on_pool(tmp_path):
    # the diagram distances on pool: rows with their dim and a finite rho beside the
    # measures' rows; topl2 among the diagram representations is an error (its PH row is
    # the paper's test)
    from cnntopo.stages.ph.sensitivity import sensitivity_table

    tables, reps, eval_set = _sensitivity_inputs(tmp_path, 11, 10, 6)
    ph = [
        {
            "label": f"sliced_wasserstein_H{d}",
            "metric": "sliced_wasserstein",
            "dim": d,
            "params": {"M": 20},
        }
        for d in (0, 1)
    ]
    kwargs = dict(
        _SENSITIVITY_KWARGS,
        diagram_measures=ph,
        persistence={"maxdim": 1, "backend": "ripser", "coeff": 2},
    )
    out = tmp_path / "sensitivity.csv"
    sensitivity_table(tables, reps, eval_set, out, diagram_representations=["pool"], **kwargs)
    table = pd.read_csv(out)
    rows = list(zip(table["measure"], table["representation"], table["dim"], strict=True))
    assert [r[:2] for r in rows] == [
        ("sliced_wasserstein_H1", "topl2"),
        ("cka_linear", "topl2"),
        ("cka_linear", "pool"),
        ("sliced_wasserstein_H0", "pool"),
        ("sliced_wasserstein_H1", "pool"),
    ]
    assert table["dim"].tolist()[-2:] == [0, 1] and pd.isna(table["dim"][2])
    pool_ph = table[table["representation"].eq("pool") & table["measure"].str.startswith("sliced")]
    assert np.isfinite(pool_ph["rho"]).all() and (pool_ph["n_cases"] > 0).all()
    with pytest.raises(ValueError, match="other than topl2"):
        sensitivity_table(tables, reps, eval_set, out, diagram_representations=["topl2"], **kwargs)


def test_sensitivity_table_logs_progress_with_an_eta(tmp_path, monkeypatch, caplog):
    # 2 seeds x 3 layers x 2 representations: 12 deletion curves, one line after each.
    from cnntopo.stages.ph.sensitivity import sensitivity_table

    _stepping_clock(monkeypatch)
    tables, reps, eval_set = _sensitivity_inputs(tmp_path, 9, 8, 4)
    caplog.set_level("INFO", logger="cnntopo")
    sensitivity_table(tables, reps, eval_set, tmp_path / "sensitivity.csv", **_SENSITIVITY_KWARGS)
    done, totals = _progress_counts(caplog, "curves")
    assert totals == {12} and done == list(range(1, 13))


def test_similarity_cross_in_blocks_of_models_gives_the_same_matrices(tmp_path):
    # flat Gram matrices of 2 models x 3 layers; a job of 1,000 MB (all of it reserved
    # for other things) gets one model per block (seed_blocks): two blocks.
    from cnntopo.stages.ph.similarity import seed_blocks

    rng = np.random.default_rng(12)
    reps = []
    for seed in SEEDS:
        shards = []
        for i in range(len(LAYERS)):
            shards.append(tmp_path / f"shard_{seed}_{i}.npy")
            np.save(shards[-1], rng.normal(size=(30, 2, 2, 2)).astype(np.float32))
        reps.append(tmp_path / f"rep{seed}.npz")
        similarity_representations(
            shards, [reps[-1]], seed=seed, layers=LAYERS, representations=["flat"]
        )
    assert seed_blocks(reps, len(LAYERS), 1000) == [[reps[0]], [reps[1]]]
    assert seed_blocks(reps, len(LAYERS), None) == [reps]
    spec = [
        {"label": "cka_linear", "name": "cka_linear", "params": {}},
        {"label": "procrustes", "name": "procrustes", "params": {}},
    ]
    kw = {"seeds": SEEDS, "layers": LAYERS, "representation": "flat", "measures": spec}
    whole = [tmp_path / "a_cka.npz", tmp_path / "a_proc.npz"]
    blocked = [tmp_path / "b_cka.npz", tmp_path / "b_proc.npz"]
    similarity_cross(reps, whole, **kw)
    similarity_cross(reps, blocked, mem_mb=1000, **kw)
    for a, b in zip(whole, blocked, strict=True):
        np.testing.assert_allclose(load_cross(b)[0], load_cross(a)[0], rtol=1e-12, atol=1e-15)
