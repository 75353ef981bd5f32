"""The construction registry and the user-construction door (cnntopo.mapper.constructions)."""

from __future__ import annotations

import hashlib
import json
import re
import textwrap

import numpy as np
import pytest
import torch

from cnntopo.config import validate_config
from cnntopo.mapper.constructions import (
    BUILTINS,
    builtin_names,
    check_cloud_name,
    check_user_construction,
    check_user_output,
    resolve,
    resolve_all,
)
from cnntopo.names import WILDCARD_PATTERNS, format_cloud, parse_cloud
from cnntopo.stages.mapper.clouds import cloud_construction
from synthetic import randomized_mapper_net

torch.set_num_threads(1)

MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)

#: The settings each built-in's job read before the registry (rules/mapper/common.smk's
#: get_construction), written out independently: config path of every value.
OLD_SETTINGS = {
    "random": {"low": ("random_low",)},
    "full": {"cap": ("full", "cap"), "replace": ("full", "replace")},
    "fg": {
        "grabcut": ("grabcut", "input"),
        "grabcut_iters": ("grabcut", "iterations"),
        "empty_mask": ("fgbg", "empty_mask"),
        "ties": ("fgbg", "ties"),
    },
}


def _get(section: dict, path: tuple[str, ...]):
    for key in path:
        section = section[key]
    return section


def write_user_file(tmp_path, body: str, name: str = "my_cloud.py") -> str:
    path = tmp_path / name
    path.write_text("import numpy as np\n\n" + textwrap.dedent(body))
    return str(path)


# --------------------------------------------------------------------------- registry


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_round_trips(name):
    c = resolve(name)
    assert c is BUILTINS[name] and c.name == name and not c.is_user and c.files == ()
    assert format_cloud(name) == name and re.fullmatch(WILDCARD_PATTERNS["cloud"], name)
    parsed = parse_cloud(name)
    assert (parsed["method"], parsed["topk"], parsed["base"]) == (c.method, c.topk, name)
    assert cloud_construction(name, {}) == (c, 0.0)
    assert cloud_construction(format_cloud(name, 0.25), {}) == (c, 0.25)
    region = name[:2] in ("fg", "bg")
    assert c.rule == ("mapper_clouds_fgbg" if region else "mapper_clouds")
    assert c.layers_key == ("fgbg_layers" if region else "layers")
    assert c.topk == (int(name[2]) if region else 1) and c.noisy


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_settings_are_the_config_values_the_job_read(name):
    cfg = validate_config(
        {
            "mapper": {
                "random_low": 0,
                "full": {"cap": 1234, "replace": False},
                "grabcut": {"input": "corrected", "iterations": 3},
                "fgbg": {"empty_mask": "all_pixels", "ties": "strict"},
            }
        }
    )["mapper"]
    c = resolve(name)
    family = "fg" if name[:2] in ("fg", "bg") else name
    expected = {k: _get(cfg, p) for k, p in OLD_SETTINGS[family].items()}
    assert c.settings(cfg) == expected and tuple(expected) == c.keys
    assert c.check_settings(expected) == expected
    with pytest.raises(ValueError, match="missing: " + c.keys[0]):
        c.check_settings({k: v for k, v in expected.items() if k != c.keys[0]})
    with pytest.raises(ValueError, match="unexpected: bogus"):
        c.check_settings({**expected, "bogus": 1})


def test_a_user_spec_resolves_to_the_mapper_clouds_group():
    c = resolve("python:sub/my_cloud.py:gap")
    assert (c.name, c.rule, c.layers_key, c.files) == (
        "gap",
        "mapper_clouds",
        "layers",
        ("sub/my_cloud.py",),
    )
    assert c.is_user and not c.noisy and c.method == "user"
    assert c.settings(validate_config({})["mapper"]) == {"spec": "python:sub/my_cloud.py:gap"}
    assert c == resolve("python:sub/my_cloud.py:gap")  # equal entries for equal specs
    assert parse_cloud(c.name)["method"] == "user"


@pytest.mark.parametrize("bad", ["gap", "fg2", "python:my_cloud:gap", "python:x.py:", 3])
def test_resolve_rejects_what_is_no_construction(bad):
    with pytest.raises(ValueError, match="construction|not valid"):
        resolve(bad)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("random", "collides"),
        ("Full", "collides"),
        ("fg2", "collides"),
        ("BG5", "collides"),
        ("café", "ASCII identifier"),
        ("g" * 65, "at most 64"),
    ],
)
def test_user_cloud_names_that_cannot_be(name, why):
    with pytest.raises(ValueError, match=why) as err:
        check_cloud_name(name, where=f"my_cloud.py:{name}")
    assert f"my_cloud.py:{name}" in str(err.value) and "rename the function" in str(err.value)
    with pytest.raises(ValueError, match=why):
        resolve(f"python:my_cloud.py:{name}")


def test_two_entries_with_one_cloud_name_are_rejected():
    clouds = resolve_all(["random", "python:a.py:gap", "fg1"])
    assert list(clouds) == ["random", "gap", "fg1"]
    with pytest.raises(ValueError, match="both give the cloud 'gap'"):
        resolve_all(["python:a.py:gap", "python:b.py:gap"])
    with pytest.raises(ValueError, match="both give the cloud 'random'"):
        resolve_all(["random", "random"])


def test_cloud_construction_needs_the_matching_spec():
    spec = "python:my_cloud.py:gap"
    assert cloud_construction("gap", {"spec": spec}) == (resolve(spec), 0.0)
    with pytest.raises(ValueError, match="needs its settings"):
        cloud_construction("gap", {})
    with pytest.raises(ValueError, match="whose cloud is 'other'"):
        cloud_construction("gap", {"spec": "python:my_cloud.py:other"})
    with pytest.raises(ValueError, match="unknown point cloud"):
        cloud_construction("gap-noise0.5", {"spec": spec})


# --------------------------------------------------------------------------- DAG-time check


def test_check_user_construction_accepts_a_good_file(tmp_path):
    path = write_user_file(
        tmp_path,
        """\
        from dataclasses import dataclass


        @dataclass
        class Pooling:  # needs its module registered while the file runs
            axis: tuple = (2, 3)


        def gap(activations, labels, pooling=Pooling()):
            return activations.mean(axis=pooling.axis)
        """,
    )
    check_user_construction(f"python:{path}:gap")


@pytest.mark.parametrize(
    ("body", "function", "match"),
    [
        (None, "gap", "not found"),
        ("def gap(activations, labels)\n    return 1\n", "gap", "importing .* failed"),
        ("raise RuntimeError('boom')\n", "gap", "RuntimeError: boom"),
        ("def other(a, b):\n    return a\n", "gap", "defines no 'gap'"),
        ("gap = 3\n", "gap", "not a function"),
        ("def gap(activations):\n    return activations\n", "gap", "two positional"),
        ("def gap(a, b, c):\n    return a\n", "gap", "two positional"),
    ],
)
def test_check_user_construction_names_file_and_function(tmp_path, body, function, match):
    path = str(tmp_path / "missing.py") if body is None else write_user_file(tmp_path, body)
    with pytest.raises(ValueError, match=match) as err:
        check_user_construction(f"python:{path}:{function}")
    assert f"{path}:{function}" in str(err.value)


# --------------------------------------------------------------------------- runtime checks


WHERE = "my_cloud.py:gap"


def test_check_user_output_defaults_and_index():
    pts = np.arange(12, dtype=np.float64).reshape(4, 3)
    points, index = check_user_output(pts, 4, WHERE)
    assert points.dtype == np.float32 and np.array_equal(points, pts)
    assert np.array_equal(index, np.arange(4)) and index.dtype == np.int64
    points, index = check_user_output((pts[:3], np.array([3, 0, 0], dtype=np.int32)), 4, WHERE)
    assert points.shape == (3, 3) and index.tolist() == [3, 0, 0] and index.dtype == np.int64
    points, _ = check_user_output(np.ones((2, 1), dtype=np.int64), 2, WHERE)
    assert points.dtype == np.float32


@pytest.mark.parametrize(
    ("returned", "match"),
    [
        ([[1.0, 2.0], [3.0, 4.0]], "list points, not a numpy array"),
        ((np.zeros((4, 2)),) * 3, "tuple of 3 items"),
        (torch.zeros(4, 2), "not a numpy array"),
        (np.zeros(4), "must be 2-D"),
        (np.zeros((4, 2, 1)), "must be 2-D"),
        (np.zeros((4, 2), dtype=bool), "real numbers"),
        (np.zeros((4, 2), dtype=complex), "real numbers"),
        (np.array([[0.0, np.nan]] * 4), "NaN or inf"),
        (np.array([[0.0, np.inf]] * 4), "NaN or inf"),
        (np.array([[0.0, 1e300]] * 4), "NaN or inf"),  # overflows float32
        (np.zeros((1, 2)), "at least 2 points"),
        (np.zeros((4, 0)), "at least 2 points"),
        (np.zeros((5, 2)), "5 points for 4 images but no image index"),
        ((np.zeros((3, 2)), np.array([0, 1])), r"shape \(2,\) for 3 points"),
        ((np.zeros((3, 2)), np.array([0, 1, 4])), r"in \[0, 4\)"),
        ((np.zeros((3, 2)), np.array([0, -1, 2])), r"in \[0, 4\)"),
        ((np.zeros((3, 2)), np.array([0.0, 1.0, 2.0])), "must be integers"),
        ((np.zeros((3, 2)), [0, 1, 2]), "image_index, not a numpy array"),
    ],
)
def test_check_user_output_errors_name_file_and_function(returned, match):
    with pytest.raises(ValueError, match=match) as err:
        check_user_output(returned, 4, WHERE)
    assert str(err.value).startswith(WHERE)


# --------------------------------------------------------------------------- building


@pytest.fixture(scope="module")
def small():
    """The randomised Mapper network (width 4) and 6 images of 3 classes, class-major."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 32, 32, 3), dtype=np.uint8)
    return randomized_mapper_net(4, 0, 3), images, np.repeat(np.arange(3), 2)


def _user_cloud(small, path, function, layer="layer2.1.bn2", **kw):
    model, images, labels = small
    c = resolve(f"python:{path}:{function}")
    kw.setdefault("seed", 3)
    return c.build(
        model, images, labels, layer, settings=c.settings({}), mean=MEAN, std=STD,
        batch_size=4, device="cpu", log=None, **kw,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("def gap(a, y):\n    return a.mean(axis=(2, 3)).tolist()\n", "not a numpy array"),
        ("def gap(a, y):\n    return a\n", "must be 2-D"),
        ("def gap(a, y):\n    return np.full((len(a), 2), np.nan)\n", "NaN or inf"),
        ("def gap(a, y):\n    return a.mean(axis=(2, 3))[:1]\n", "at least 2 points"),
        ("def gap(a, y):\n    return a.reshape(-1, a.shape[1])\n", "no image index"),
        (
            "def gap(a, y):\n    return a.mean(axis=(2, 3)), np.arange(len(a)) + 1\n",
            r"in \[0, 6\)",
        ),
        (
            "def gap(a, y):\n    return a.mean(axis=(2, 3)), np.arange(len(a) - 1)\n",
            r"shape \(5,\) for 6 points",
        ),
    ],
)
def test_a_bad_user_cloud_fails_naming_file_and_function(tmp_path, small, body, match):
    path = write_user_file(tmp_path, body)
    with pytest.raises(ValueError, match=match) as err:
        _user_cloud(small, path, "gap")
    assert str(err.value).startswith(f"{path}:gap")


def test_an_error_inside_the_user_function_gets_a_note(tmp_path, small):
    path = write_user_file(tmp_path, "def gap(a, y):\n    raise KeyError('oops')\n")
    with pytest.raises(KeyError, match="oops") as err:
        _user_cloud(small, path, "gap")
    assert any(f"{path}:gap" in note for note in err.value.__notes__)


def test_user_constructions_have_no_noisy_versions(tmp_path, small):
    path = write_user_file(tmp_path, "def gap(a, y):\n    return a.mean(axis=(2, 3))\n")
    with pytest.raises(ValueError, match="built-in only"):
        _user_cloud(small, path, "gap", sigma=0.5)


def test_user_cloud_sees_the_layer_and_draws_reproducibly(tmp_path, small):
    """The function gets (N, c, h, w) float32 activations, the labels, a seeded np.random;
    the global NumPy state is restored afterwards."""
    path = write_user_file(
        tmp_path,
        """\
        def gap(activations, labels):
            assert activations.dtype == np.float32 and activations.shape == (6, 8, 16, 16)
            assert labels.tolist() == [0, 0, 1, 1, 2, 2]
            noise = np.random.random(activations.shape[:2])
            return activations.mean(axis=(2, 3)) + noise, np.arange(6)[::-1].copy()
        """,
    )
    legacy = np.random  # the global stream a user's np.random.* calls draw from
    legacy.seed(123)  # noqa: NPY002
    a = _user_cloud(small, path, "gap")
    after = legacy.random()  # noqa: NPY002
    legacy.seed(123)  # noqa: NPY002
    assert after == legacy.random()  # noqa: NPY002  (the caller's stream is restored)
    b = _user_cloud(small, path, "gap")
    np.testing.assert_array_equal(a["points"], b["points"])
    assert a["image_index"].tolist() == [5, 4, 3, 2, 1, 0]
    assert a["labels"].tolist() == [2, 2, 1, 1, 0, 0]  # the class of each point's image
    assert a["position"].tolist() == [-1] * 6 and a["correct"].shape == (6,)
    assert a["meta"]["shape"] == [8, 16, 16] and a["meta"]["activation_shape"] == [8, 16, 16]
    assert a["meta"]["n_points"] == 6 and a["meta"]["dims"] == 8


# --------------------------------------------------------------------------- the stage


@pytest.fixture(scope="module")
def mapper_job(tmp_path_factory):
    """Weights of a width-4 Mapper network and 30 digits images (3 per class)."""
    from cnntopo.nets.models import build_model
    from cnntopo.stages.mapper.clouds import select_mapper_images
    from cnntopo.stages.mapper.model import ARCH

    root = tmp_path_factory.mktemp("job")
    dataset = validate_config({"dataset": {"name": "digits"}})["dataset"]
    torch.manual_seed(0)
    torch.save(build_model(ARCH, 4, 10).state_dict(), root / "w.pt")
    select_mapper_images(root / "images.npz", dataset=dataset, split="train", per_class=3, seed=1)
    kw = dict(dataset=dataset, split="train", batch_size=8, width=4, device="cpu", seed=5)
    return root, kw


def _dense(root, kw, layer):
    """The (N, c, h, w) activations of one forward pass, written out independently."""
    from cnntopo.nets.activations import capture
    from cnntopo.nets.models import build_model, load_state_dict_compat
    from cnntopo.nets.transforms import to_model_input
    from cnntopo.stages.common import dataset_normalization, load_mapper_images
    from cnntopo.stages.mapper.model import ARCH

    images, classes = load_mapper_images(kw["dataset"], "train", root / "images.npz")
    model = build_model(ARCH, 4, len(classes))
    load_state_dict_compat(model, root / "w.pt")
    model.eval()
    mean, std = dataset_normalization(kw["dataset"], ARCH)
    x = to_model_input(images.images, mean, std, size=32)
    with torch.no_grad(), capture(model, [layer]) as store:  # the official reference capture
        model(x)
    return store[layer].numpy(), images.labels


def test_a_user_cloud_file_is_like_a_builtin_one(tmp_path, mapper_job):
    """The stage writes a user construction's cloud with the arrays of a built-in's; every
    spatial vector after ReLU, with its image index, is exactly the full cloud."""
    from cnntopo.stages.mapper.clouds import mapper_clouds
    from cnntopo.stages.mapper.graphs import mapper_graph

    root, kw = mapper_job
    path = write_user_file(
        tmp_path,
        """\
        def gap(activations, labels):
            return activations.mean(axis=(2, 3))


        def every_position(activations, labels):
            n, c = activations.shape[:2]
            rows = np.maximum(activations, 0).reshape(n, c, -1).transpose(0, 2, 1)
            index = np.repeat(np.arange(n), rows.shape[1])
            return rows.reshape(-1, c), index
        """,
    )
    layers = ["layer3.1.bn2", "layer4.1.bn2"]
    run = dict(**kw, threads=1)
    paths = {}
    for cloud, construction in [
        ("gap", {"spec": f"python:{path}:gap"}),
        ("every_position", {"spec": f"python:{path}:every_position"}),
        ("full", {"cap": 10**6, "replace": True}),
    ]:
        paths[cloud] = [tmp_path / f"{cloud}_{i}.npz" for i in range(len(layers))]
        metas = mapper_clouds(
            cloud, layers, root / "w.pt", root / "images.npz", paths[cloud],
            construction=construction, **run,
        )  # fmt: skip
        assert [m["cloud"] for m in metas] == [cloud] * 2
    dense, labels = _dense(root, kw, layers[1])
    with np.load(paths["gap"][1]) as g, np.load(paths["full"][1]) as f:
        assert sorted(g.files) == sorted(f.files)
        for key in g.files:  # the same dtypes (meta: JSON text of its own length)
            assert (g[key].dtype, g[key].ndim) == (f[key].dtype, f[key].ndim) or key == "meta"
        assert g["meta"].dtype.kind == f["meta"].dtype.kind == "U"
        np.testing.assert_allclose(g["points"], dense.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
        assert g["points"].shape == (30, 32)
        np.testing.assert_array_equal(g["image_index"], np.arange(30))
        np.testing.assert_array_equal(g["labels"], labels)
        np.testing.assert_array_equal(g["correct"], f["correct"])
        meta = json.loads(str(g["meta"]))
    assert meta["construction"] == {
        "name": "gap",
        "kind": "python",
        "spec": f"python:{path}:gap",
        "file": path,
        "function": "gap",
        "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
    }
    assert meta["method"] == "user" and len(meta["classes"]) == 10 and meta["layer"] == layers[1]
    assert "cap" not in meta and "low" not in meta  # only its own settings
    # every position after ReLU == the built-in full cloud, row for row (reordered)
    with np.load(paths["every_position"][0]) as e, np.load(paths["full"][0]) as f:
        order = np.lexsort((f["position"], f["image_index"]))
        np.testing.assert_array_equal(e["points"], f["points"][order])
        np.testing.assert_array_equal(e["image_index"], f["image_index"][order])
        np.testing.assert_array_equal(e["labels"], f["labels"][order])
    # graphs read it unchanged
    graph_meta = mapper_graph(
        paths["gap"][1], "intervals~3_overlap~30_eps~knee", tmp_path / "g.json",
        intervals=3, overlap=30.0, eps=None, min_samples=2, cover="paper",
    )  # fmt: skip
    graph = json.loads((tmp_path / "g.json").read_text())
    assert graph["meta"]["cloud"] == "gap" and graph_meta["eps"] > 0
    members = {v for node in graph["nodes"].values() for v in node["vertices"]}
    assert members <= set(range(30))


def test_the_stage_rejects_settings_that_are_not_the_construction(tmp_path, mapper_job):
    from cnntopo.stages.mapper.clouds import mapper_clouds

    root, kw = mapper_job
    out = [tmp_path / "x.npz"]
    with pytest.raises(ValueError, match="needs its settings"):
        mapper_clouds("gap", ["layer4.1.bn2"], root / "w.pt", root / "images.npz", out,
                      construction={}, **kw)  # fmt: skip
    with pytest.raises(ValueError, match="unexpected: cap"):
        mapper_clouds("random", ["layer4.1.bn2"], root / "w.pt", root / "images.npz", out,
                      construction={"low": 1, "cap": 3}, **kw)  # fmt: skip
    assert not out[0].exists()


def test_any_network_gives_each_module_output_as_returned(tmp_path):
    """Another network (shape given): the function sees the module's own output, not the
    value a later in-place ReLU leaves in it, and a (c,) layer as (N, c)."""
    from torch import nn

    from cnntopo.nets.transforms import to_model_input

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=4, padding=1),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 3),
    ).eval()
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(6, 32, 32, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(3), 2)
    path = write_user_file(tmp_path, "def flat(a, y):\n    return a.reshape(len(a), -1)\n")
    c = resolve(f"python:{path}:flat")
    x = to_model_input(images, MEAN, STD, size=32)
    with torch.no_grad():
        conv = model[0](x).numpy()
        logits = model(x).numpy()
    for layer, shape, expected in [("0", (4, 8, 8), conv), ("3", (3,), logits)]:
        result = c.build(
            model, images, labels, layer, settings=c.settings({}), seed=0, mean=MEAN,
            std=STD, batch_size=4, device="cpu", shape=shape,
        )  # fmt: skip
        np.testing.assert_allclose(result["points"], expected.reshape(6, -1), rtol=1e-5, atol=1e-6)
        assert result["meta"]["activation_shape"] == list(shape)
    assert (conv < 0).any()  # pre-ReLU values reached the function
    np.testing.assert_array_equal(result["correct"], logits.argmax(1) == labels)
