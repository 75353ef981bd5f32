"""The user-measure door: ``similarity.measures: ["python:<file.py>:<function>"]``."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from cnntopo.ph.similarity import (
    check_user_measure,
    cka_linear,
    compare,
    linear_gram,
    measure_matrix,
    measure_specs,
    orthogonal_procrustes_distance,
    resolve,
    route,
    user_files,
)

USER_CODE = '''
import numpy as np


def naive_cka(x, y):
    """Linear CKA written out: ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)."""
    xc, yc = x - x.mean(0), y - y.mean(0)
    return float(np.linalg.norm(yc.T @ xc) ** 2
                 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)))


def naive_procrustes(x, y):
    xc, yc = x - x.mean(0), y - y.mean(0)
    xc, yc = xc / np.linalg.norm(xc), yc / np.linalg.norm(yc)
    return 2.0 - 2.0 * np.linalg.svd(xc.T @ yc, compute_uv=False).sum()


naive_procrustes.kind = "distance"


def shapes(x, y):
    return x.shape[1] + 1000.0 * y.shape[1]


def returns_text(x, y):
    return "alike"


def returns_array(x, y):
    return np.ones(3)


def returns_nan(x, y):
    return float("nan")


def fails(x, y):
    raise RuntimeError("boom")


def bad_kind(x, y):
    return 0.0


bad_kind.kind = "closeness"

not_a_function = 3
'''


@pytest.fixture
def user_file(tmp_path, monkeypatch):
    """The user's measure file, written into a fresh working directory (the workflow root)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_measure.py").write_text(textwrap.dedent(USER_CODE))
    return "my_measure.py"


def _reps(n: int = 25, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 4))
    return [base @ rng.normal(size=(4, p)) + 0.3 * rng.normal(size=(n, p)) for p in (3, 5, 8)]


def test_user_measure_equals_the_builtin_it_reimplements(user_file):
    xs = _reps()
    measure = resolve(f"python:{user_file}:naive_cka")
    assert measure.kind == "similarity" and measure.from_grams is None
    assert measure.function(xs[0], xs[1]) == pytest.approx(cka_linear(xs[0], xs[1]), rel=1e-12)
    M = measure_matrix(f"python:{user_file}:naive_cka", xs)
    np.testing.assert_allclose(M, measure_matrix("cka_linear", xs), rtol=1e-10)


def test_distance_kind_from_the_function_attribute(user_file):
    xs = _reps()
    result = compare(f"python:{user_file}:naive_procrustes", [(None, x) for x in xs])
    assert result.kind == "distance" and result.route == "features"
    assert np.diag(result.matrix).tolist() == [0.0, 0.0, 0.0]
    assert result.matrix[0, 2] == pytest.approx(orthogonal_procrustes_distance(xs[0], xs[2]))


def test_on_flat_the_user_gets_the_principal_coordinates(user_file):
    """Gram matrices only: the function sees an isometric n x rank embedding, so an
    orthogonally invariant measure gives its value on the features themselves."""
    xs = _reps()
    spec = f"python:{user_file}:naive_cka"
    result = compare(spec, [(linear_gram(x), None) for x in xs])
    assert result.route == "principal_coordinates" == route(spec, narrow=False)
    np.testing.assert_allclose(result.matrix, measure_matrix("cka_linear", xs), rtol=1e-9)
    widths = compare(f"python:{user_file}:shapes", [(linear_gram(x), None) for x in xs])
    # n x rank: the noisy layers have full rank, 3 and 8 columns (not their Gram's n = 25)
    assert widths.matrix[0, 2] == 3 + 1000.0 * 8


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("returns_text", "returned str"),
        ("returns_array", "returned ndarray"),
        ("returns_nan", "returned nan; it must return a finite number"),
        ("fails", "raised RuntimeError on inputs of shapes"),
    ],
)
def test_bad_return_values_name_the_file_and_the_function(user_file, function, message):
    spec = f"python:{user_file}:{function}"
    for call in (
        lambda: check_user_measure(spec),
        lambda: compare(spec, [(None, x) for x in _reps()]),
    ):
        with pytest.raises(ValueError, match=message) as err:
            call()
        assert f"'{function}'" in str(err.value) and f"'{user_file}'" in str(err.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("python:missing.py:score", "does not exist"),
        ("python:my_measure.py:score", "defines no 'score'"),
        ("python:my_measure.py:not_a_function", "is a int, not a function"),
        ("python:my_measure.py:bad_kind", "kind = 'closeness'"),
        ("python:my_measure.txt:score", "must be a .py file"),
        ("python:my_measure.py", "must be 'python:<file.py>:<function>'"),
    ],
)
def test_check_user_measure_errors(user_file, spec, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_user_measure(spec)


def test_import_errors_name_the_file(user_file, tmp_path):
    (tmp_path / "broken.py").write_text("import numpy as np\nthis is not python\n")
    with pytest.raises(ValueError, match="'score' in 'broken.py': importing 'broken.py' failed"):
        check_user_measure("python:broken.py:score")


def test_relative_paths_are_relative_to_the_working_directory(user_file, tmp_path, monkeypatch):
    check_user_measure(f"python:{user_file}:naive_cka")
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ValueError, match="does not exist"):
        check_user_measure(f"python:{user_file}:naive_cka")
    check_user_measure(f"python:../{user_file}:naive_cka")


def test_specs_labels_and_files(user_file):
    config = {
        "measures": ["cka_linear", f"python:{user_file}:naive_cka", "cka_rbf", "svcca"],
        "rbf_sigmas": [0.2, 0.8],
        "svcca_keep": 0.99,
    }
    specs = measure_specs(config)
    assert [m["label"] for m in specs] == [
        "cka_linear",
        "naive_cka",
        "cka_rbf_0.2",
        "cka_rbf_0.8",
        "svcca",
    ]
    assert specs[1] == {"label": "naive_cka", "name": f"python:{user_file}:naive_cka", "params": {}}
    assert user_files(config) == [user_file]
    assert user_files({"measures": ["cka_linear"]}) == []
    with pytest.raises(ValueError, match="label"):
        measure_specs({"measures": ["python:a.py:cka_linear", "cka_linear"]})


def test_names_similarity_measures_agrees_on_builtins():
    from cnntopo.names import similarity_measures

    config = {"measures": ["cka_linear", "cka_rbf", "svcca", "pwcca"], "rbf_sigmas": [0.4]}
    config["svcca_keep"] = 0.9
    assert measure_specs(config) == similarity_measures(config)


def test_user_measure_in_the_cross_job_and_the_deletion_curve(user_file, tmp_path):
    from cnntopo.ph.sensitivity import deletion_curve
    from cnntopo.stages.common import load_cross
    from cnntopo.stages.ph.similarity import similarity_cross

    xs = _reps()
    files = []
    for seed, layers in enumerate([xs[:2], xs[1:]]):
        files.append(tmp_path / f"rep{seed}.npz")
        np.savez(
            files[-1],
            layers=np.array(["a", "b"]),
            meta=np.array('{"shapes": [[25, 1, 1, 1]]}'),
            **{f"features_{i}": x for i, x in enumerate(layers)},
        )
    spec = {"label": "naive_cka", "name": f"python:{user_file}:naive_cka", "params": {}}
    out = tmp_path / "cross.npz"
    similarity_cross(
        files, [out], seeds=[0, 1], layers=["a", "b"], representation="pool", measures=[spec]
    )
    C, _, _, meta = load_cross(out)
    ordered = [xs[0], xs[1], xs[1], xs[2]]
    np.testing.assert_allclose(C, measure_matrix("cka_linear", ordered), rtol=1e-9)
    assert meta["kind"] == "similarity" and meta["notes"] == {} and meta["route"] == "features"
    # the deletion test: the user function equals linear CKA on the same deletions
    X = xs[2]
    curve = deletion_curve(
        linear_gram(X),
        np.arange(25) % 2,
        [("mine", spec["name"], {}), ("cka", "cka_linear", {})],
        features=X,
    )
    np.testing.assert_allclose(curve["mine"], curve["cka"], atol=1e-9)
