"""The naming grammar: lossless setting and cloud names, and the wildcard patterns."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from cnntopo.config import validate_config
from cnntopo.mapper.constructions import BUILTINS, builtin_names
from cnntopo.names import (
    CLOUD_BASES,
    WILDCARD_PATTERNS,
    format_cloud,
    format_number,
    format_setting,
    parse_cloud,
    parse_setting,
)

REPO = Path(__file__).resolve().parents[2]

#: Values the old 6-digit names rounded or the old wildcard pattern rejected.
HARD = [5e-05, 1e-10, 0.1234567, 123456789.0, 1e22, 2.5e-308, 0.1 + 0.2, 1 / 3, 8.71, 5.004]


def _random_floats(n: int = 2000) -> np.ndarray:
    """Positive floats spread over many decades, with full 53-bit mantissas."""
    rng = np.random.default_rng(0)
    return rng.random(n) * 10.0 ** rng.integers(-12, 13, size=n)


def _fullmatch(kind: str, name: str) -> bool:
    return re.fullmatch(WILDCARD_PATTERNS[kind], name) is not None


@pytest.mark.parametrize("x", [*HARD, 0.0, 30, 25.0, 99.99])
def test_format_number_reads_back_exactly(x):
    assert float(format_number(x)) == float(x)


def test_format_number_keeps_the_short_names():
    assert [format_number(x) for x in (30, 25.0, 5.0, 8.5, 0.125, 5e-05, 1e6)] == [
        "30", "25", "5", "8.5", "0.125", "5e-05", "1e+06",
    ]  # fmt: skip
    assert format_number(0.1234567) == "0.1234567"
    assert format_number(123456789.0) == "123456789"


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan")])
def test_format_number_rejects_what_no_name_can_hold(bad):
    with pytest.raises(ValueError, match="finite"):
        format_number(bad)


def test_settings_round_trip_for_random_floats():
    rng = np.random.default_rng(1)
    for eps in [*_random_floats(), *HARD]:
        overlap = float(rng.random() * 100)
        intervals = int(rng.integers(1, 200))
        name = format_setting(intervals, overlap, eps)
        assert parse_setting(name) == {"intervals": intervals, "overlap": overlap, "eps": eps}
        assert _fullmatch("setting", name), name
        assert format_setting(**parse_setting(name)) == name


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((40, 30, None), "intervals~40_overlap~30_eps~knee"),
        ((40, 25.0, 8.5), "intervals~40_overlap~25_eps~8.5"),
        ((10, 12.5, 0.125), "intervals~10_overlap~12.5_eps~0.125"),
        ((40, 30, 5e-05), "intervals~40_overlap~30_eps~5e-05"),
        ((40, 30, 0.1234567), "intervals~40_overlap~30_eps~0.1234567"),
    ],
)
def test_setting_names(args, name):
    assert format_setting(*args) == name
    assert _fullmatch("setting", name)
    back = parse_setting(name)
    assert (back["intervals"], back["overlap"], back["eps"]) == (
        args[0],
        float(args[1]),
        None if args[2] is None else float(args[2]),
    )


def test_parse_setting_rejects_malformed():
    for bad in ("n40_p30", "intervals~40_overlap~30_eps~", "intervals~40_overlap~-1_eps~knee"):
        with pytest.raises(ValueError, match="malformed Mapper setting"):
            parse_setting(bad)
        assert not _fullmatch("setting", bad)


@pytest.mark.parametrize("configfile", ["tiny", "config", "paper"])
def test_the_configs_keep_their_setting_names(configfile):
    """Every configured (intervals, overlap, eps) keeps the name of the 6-digit grammar."""
    cfg = validate_config(yaml.safe_load((REPO / f"config/{configfile}.yaml").read_text()))
    g = cfg["mapper"]["graph"]
    combos = [(n, p, e) for n in g["intervals"] for p in g["overlaps"] for e in g["eps"]]
    combos += [
        (s["intervals"], s["overlap"], s["eps"])
        for layers in g["per_layer"].values()
        for s in layers.values()
    ]
    for n, p, e in combos:
        old = f"intervals~{int(n)}_overlap~{float(p):g}_eps~{'knee' if e is None else f'{e:g}'}"
        assert format_setting(n, p, e) == old


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [
        ("random", {"method": "random", "topk": 1, "sigma": 0.0, "base": "random"}),
        ("full", {"method": "full", "topk": 1, "sigma": 0.0, "base": "full"}),
        ("fg5", {"method": "foreground", "topk": 5, "sigma": 0.0, "base": "fg5"}),
        ("bg1", {"method": "background", "topk": 1, "sigma": 0.0, "base": "bg1"}),
        ("full-noise0.25", {"method": "full", "topk": 1, "sigma": 0.25, "base": "full"}),
        ("fg1-noise5e-05", {"method": "foreground", "topk": 1, "sigma": 5e-05, "base": "fg1"}),
    ],
)
def test_parse_cloud(cloud, expected):
    assert parse_cloud(cloud) == expected
    assert _fullmatch("cloud", cloud)


@pytest.mark.parametrize(
    "bad",
    [
        "fg2",  # the fg<k> / bg<k> families are reserved for built-ins
        "bg10",
        "Full",  # a built-in name in another case (case-insensitive file systems)
        "RANDOM",
        "full-noise",
        "random-noiseX",
        "full-noise-1",
        "gap-noise0.5",  # user constructions have no noisy versions
        "my-cloud",
        "2gap",
        "a/b",
        "café",  # not ASCII
        "g" * 65,  # longer than 64 characters
        "",
    ],
)
def test_parse_cloud_rejects_unknown(bad):
    with pytest.raises(ValueError, match="unknown point cloud"):
        parse_cloud(bad)
    assert not _fullmatch("cloud", bad)


@pytest.mark.parametrize("name", ["gap", "topl2", "my_gap", "_x", "randomx", "fg1_mean", "g" * 64])
def test_user_cloud_names_parse_as_user_constructions(name):
    assert parse_cloud(name) == {"method": "user", "topk": 1, "sigma": 0.0, "base": name}
    assert _fullmatch("cloud", name)
    assert format_cloud(name) == name
    with pytest.raises(ValueError, match="no noisy versions"):
        format_cloud(name, 0.5)


def test_cloud_bases_are_the_registry_builtins():
    assert CLOUD_BASES == tuple(builtin_names()) == ("random", "full", "fg1", "fg5", "bg1", "bg5")
    for base in CLOUD_BASES:
        entry = BUILTINS[base]
        assert parse_cloud(base) == {
            "method": entry.method, "topk": entry.topk, "sigma": 0.0, "base": base,
        }  # fmt: skip


@pytest.mark.parametrize(
    ("path", "cloud", "layer"),
    [
        ("figures/mapper/noise_fg1_layer4.1.bn2.png", "fg1", "layer4.1.bn2"),
        ("figures/mapper/noise_full-noise0.5_layer1.0.bn2.png", "full-noise0.5", "layer1.0.bn2"),
        ("explorer/gap_files", "gap", None),
        ("explorer/random_files", "random", None),
        ("clouds/my_gap/layer4.1.bn2.npz", "my_gap", "layer4.1.bn2"),
    ],
)
def test_cloud_pattern_inside_a_path_pattern(path, cloud, layer):
    """Snakemake embeds the constraint in the path's regex: names split where they should."""
    cloud_re = f"(?P<cloud>{WILDCARD_PATTERNS['cloud']})"
    layer_re = r"(?P<layer>[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)"
    patterns = {
        "figures": rf"figures/mapper/noise_{cloud_re}_{layer_re}\.png",
        "explorer": rf"explorer/{cloud_re}_files",
        "clouds": rf"clouds/{cloud_re}/{layer_re}\.npz",
    }
    m = re.fullmatch(patterns[path.split("/")[0]], path)
    assert m is not None and m.group("cloud") == cloud
    if layer is not None:
        assert m.group("layer") == layer


def test_cloud_names_round_trip():
    for base in ("random", "full", "fg1", "fg5", "bg1", "bg5"):
        assert format_cloud(base) == base == format_cloud(base, 0.0)
        for sigma in [*_random_floats(200), *HARD]:
            name = format_cloud(base, sigma)
            assert _fullmatch("cloud", name), name
            assert parse_cloud(name) == {**parse_cloud(base), "sigma": sigma}
    assert format_cloud("full", 0.5) == "full-noise0.5"
    for bad in ("fg2", "Full", "my-cloud"):
        with pytest.raises(ValueError, match="construction"):
            format_cloud(bad, 0.5)
