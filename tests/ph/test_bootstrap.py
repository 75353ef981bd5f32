"""Bootstrap over images of the layer-distance matrix, against ripser and persim directly."""

from __future__ import annotations

import numpy as np
import persim
import pytest
import ripser

from cnntopo.ph.bootstrap import bootstrap_layer_distances, resample_indices, significance


def _circle(n: int, rng: np.random.Generator, noise: float = 0.02) -> np.ndarray:
    t = rng.uniform(0, 2 * np.pi, n)
    return np.column_stack([np.cos(t), np.sin(t), np.zeros(n)]) + noise * rng.normal(size=(n, 3))


def _h1(points: np.ndarray) -> np.ndarray:
    return ripser.ripser(points.astype(np.float32), maxdim=1)["dgms"][1]


def test_replicates_are_ripser_and_persim_on_the_resampled_rows():
    rng = np.random.default_rng(0)
    clouds = [_circle(40, rng), rng.normal(size=(40, 5))]
    out = bootstrap_layer_distances(clouds, n_boot=3, backend="ripser", params={"M": 20}, seed=4)
    idx = out["indices"]
    assert idx.shape == (3, 40)
    np.testing.assert_array_equal(idx, resample_indices(40, 3, seed=4))
    full = [_h1(c) for c in clouds]
    for b, rows in enumerate(idx):
        h1 = [_h1(c[rows]) for c in clouds]
        expected = persim.sliced_wasserstein(h1[0], h1[1], M=20)
        assert out["replicates"][b, 0, 1] == pytest.approx(expected, rel=1e-9)
        assert out["replicates"][b, 1, 0] == out["replicates"][b, 0, 1]
        assert np.all(np.diag(out["replicates"][b]) == 0)
        for layer in range(2):
            ref = persim.sliced_wasserstein(full[layer], h1[layer], M=20)
            assert out["to_reference"][b, layer] == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_identical_layers_give_a_zero_width_interval_and_no_significance():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(35, 4))
    out = bootstrap_layer_distances([X, X.copy()], n_boot=5, backend="ripser", params={"M": 20})
    assert np.all(out["replicates"][:, 0, 1] == 0)
    sig = significance(np.zeros((2, 2)), out["replicates"], out["to_reference"])
    assert sig["low"][0, 1] == sig["high"][0, 1] == 0
    assert not sig["significant"].any()


def test_a_circle_and_a_blob_differ_significantly_two_circles_do_not():
    # A circle's H1 has one long bar (about sqrt(3) - 0.1 long); a small blob has only short
    # ones. Two noisy circles of the same radius differ by far less than their radii.
    rng = np.random.default_rng(2)
    clouds = [_circle(60, rng), _circle(60, rng), 0.05 * rng.normal(size=(60, 3))]
    full = [_h1(c) for c in clouds]
    D = np.array([[persim.sliced_wasserstein(a, b, M=20) for b in full] for a in full])
    out = bootstrap_layer_distances(
        clouds, n_boot=20, backend="ripser", params={"M": 20}, seed=0, reference=full
    )
    sig = significance(D, out["replicates"], out["to_reference"])
    assert sig["significant"][0, 2] and sig["significant"][1, 2] and sig["significant"][2, 0]
    assert not sig["significant"][0, 1]
    assert np.all(sig["low"] <= sig["high"])


def test_significance_is_the_triangle_inequality_bound():
    D = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.2], [0.5, 0.2, 0.0]])
    reps = np.stack([D * f for f in (0.5, 1.0, 1.5, 2.0)])
    to_ref = np.array([[0.1, 0.2, 0.3]] * 4)
    sig = significance(D, reps, to_ref, level=0.5)
    np.testing.assert_allclose(sig["radius"], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(sig["low"], D * np.quantile([0.5, 1.0, 1.5, 2.0], 0.25))
    # 1.0 > 0.1 + 0.2; 0.5 > 0.1 + 0.3; 0.2 < 0.2 + 0.3
    expected = np.array([[False, True, True], [True, False, False], [True, False, False]])
    np.testing.assert_array_equal(sig["significant"], expected)


def test_validation():
    with pytest.raises(ValueError, match="row counts differ"):
        bootstrap_layer_distances([np.zeros((5, 2)), np.zeros((6, 2))], n_boot=2)
    with pytest.raises(ValueError, match="n_boot >= 1"):
        resample_indices(10, 0)
    with pytest.raises(ValueError, match="shapes do not match"):
        significance(np.zeros((2, 2)), np.zeros((3, 3, 3)), np.zeros((3, 3)))


def test_stage_writes_the_bootstrap_and_the_heatmap_hatches_what_is_not_significant(
    tmp_path, monkeypatch
):
    # Three layers: two noisy circles and a blob (as above), through the stages: the
    # written arrays are the library's, and the heatmap hatches exactly the
    # off-diagonal entries that are not significant (the circle pair).
    from cnntopo.ph import figures as plotting
    from cnntopo.ph.persistence import diagrams, save_diagrams
    from cnntopo.stages.ph.bootstrap import layer_bootstrap, load_bootstrap
    from cnntopo.stages.ph.distances import layer_distances
    from cnntopo.stages.ph.figures import figure_layer_heatmap

    rng = np.random.default_rng(2)
    clouds = [_circle(60, rng), _circle(60, rng), 0.05 * rng.normal(size=(60, 3))]
    layers = ["conv1", "conv2", "conv3"]
    cloud_files, dgm_files = [], []
    for layer, points in zip(layers, clouds, strict=True):
        cloud_files.append(tmp_path / f"{layer}.npz")
        np.savez(cloud_files[-1], points=points.astype(np.float32))
        dgm_files.append(tmp_path / f"{layer}_dgm.npz")
        save_diagrams(dgm_files[-1], diagrams(points, maxdim=1, backend="ripser"), {})
    matrix = tmp_path / "matrix.npz"
    params = {"M": 20}
    layer_distances(
        dgm_files,
        matrix,
        tmp_path / "m.csv",
        layers=layers,
        metric="sliced_wasserstein",
        dim=1,
        infinite="strip",
        parameters=params,
    )
    out = tmp_path / "boot.npz"
    options = {"dim": 1, "backend": "ripser", "maxdim": 1, "coeff": 2}
    layer_bootstrap(
        cloud_files,
        dgm_files,
        matrix,
        out,
        seed=0,
        layers=layers,
        n_boot=20,
        metric="sliced_wasserstein",
        parameters=params,
        infinite="strip",
        **options,
    )
    boot = load_bootstrap(out)
    direct = bootstrap_layer_distances(clouds, n_boot=20, params=params, seed=0, **options)
    np.testing.assert_allclose(boot["replicates"], direct["replicates"], rtol=1e-12)
    expected = significance(boot["matrix"], direct["replicates"], direct["to_reference"])
    np.testing.assert_array_equal(boot["significant"], expected["significant"])
    assert boot["layers"] == layers and boot["meta"]["n_boot"] == 20
    assert not boot["significant"][0, 1] and boot["significant"][0, 2]

    hatched = []
    real = plotting.heatmap_figure

    def spy(D, labels, **kwargs):
        hatched.append(kwargs["hatch"])
        return real(D, labels, **kwargs)

    monkeypatch.setattr(plotting, "heatmap_figure", spy)
    png = tmp_path / "heatmap.png"
    figure_layer_heatmap(matrix, [str(png)], title="seed 0", bootstrap_npz=out)
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_array_equal(hatched[0], ~boot["significant"] & off)
    assert png.stat().st_size > 1000
    ax = plotting.layer_heatmap(boot["matrix"], layers, hatch=hatched[0])
    assert len(ax.patches) == int(hatched[0].sum()) == 2
