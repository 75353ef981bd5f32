"""The self-contained HTML Mapper explorer (:mod:`cnntopo.mapper.explorer`).

Two kinds of checks:

- pure Python: the page is self-contained (no http(s) ``src``/``href``, no external
  scripts or style sheets) and inlines the package's CSS and JavaScript files, the
  embedded JSON payload parses and matches the graphs, thumbnails are capped, and hostile class names (quotes, ``</script>``, ``&``,
  U+2028) cannot break out of the ``<script>`` block;
- a real browser: headless Chromium loads the page from disk
  (``--dump-dom`` with ``--virtual-time-budget`` so the inline JavaScript runs), and the
  dumped DOM must show ``data-rendered="true"``, an empty ``#errors``, one
  ``g.node`` per graph node, the graph chosen by the URL hash (``#graph=1``) and the
  side panel opened by ``#graph=0&node=<id>`` (member list and ``<img>``
  thumbnails). ``--enable-logging=stderr --v=0`` exposes the page's console; no
  "Uncaught"/"SyntaxError" console line may appear. A screenshot must be a
  non-blank PNG. A deliberately broken page checks that these probes do catch
  errors.

The browser tests are skipped only when no ``chromium`` / ``chromium-browser``
binary is on PATH. CI installs Debian's ``chromium`` package through
``./setup.sh --dev``; locally: ``apt-get install chromium``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from cnntopo.mapper.draw import graph_layout, graph_nodes
from cnntopo.mapper.explorer import build_explorer_data, render_explorer_html, write_explorer
from synthetic import CIFAR10
from synthetic import make_mapper_graph as _synthetic_graph

EVIL = "c\"a't </script><b>x</b> & \u2028 <!-- ${x}"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed: apt-get install chromium"
)
TIMEOUT = 60


def make_mapper_graph(n_points=1500, n_intervals=10, names=None, **kwargs):
    """The shared synthetic graph with this module's defaults."""
    return _synthetic_graph(
        n_points=n_points, n_intervals=n_intervals, class_names=names, eps=2.5, **kwargs
    )


def _thumbnails(m: int, size: int = 16) -> np.ndarray:
    """Smooth coloured test images (compress well as PNG)."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    rng = np.random.default_rng(1)
    base = rng.integers(40, 215, (m, 1, 1, 3))
    ramp = (np.stack([xx, yy, 1 - xx], axis=-1) * 40)[None]
    return (base + ramp).astype(np.uint8)


def _payload(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="cnntopo-data">(.*?)</script>', page, re.S)
    assert m, "embedded JSON block not found"
    return json.loads(m.group(1))


# ------------------------------------------------------------------ pure Python
@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Two explorer pages: a 2-graph page with thumbnails and hostile class names."""
    folder = tmp_path_factory.mktemp("explorer")
    names = list(CIFAR10)
    names[3] = EVIL
    g0 = make_mapper_graph(seed=0, islands=2, names=names)
    g1 = make_mapper_graph(seed=1, n_intervals=7, names=names)
    assert len(graph_nodes(g0)) != len(graph_nodes(g1))
    n_points = g0["meta"]["n_points"]
    point_images = np.arange(n_points) // 2  # two points per image
    thumbs = _thumbnails(n_points // 2 + 1)
    path = folder / "explorer.html"
    data = write_explorer(
        path,
        {"layer4.1.bn2 · full": g0, "layer3.1.bn2": g1},
        names,
        point_images=point_images,
        thumbnails=thumbs,
        max_thumbnails_per_node=6,
        max_listed=40,
        title='Mapper <explorer> "test"',
    )
    single = folder / "single.html"
    write_explorer(single, {"only": g1}, None)
    return {
        "path": path,
        "data": data,
        "g0": g0,
        "g1": g1,
        "names": names,
        "single": single,
        "thumbs": thumbs,
        "point_images": point_images,
    }


def test_page_is_self_contained(pages):
    for p in (pages["path"], pages["single"]):
        page = p.read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>")
        assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
        assert not re.search(r"<link\b", page, re.I)
        assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
        assert "@import" not in page and "url(http" not in page
        assert not [q for q in p.parent.iterdir() if q.name.endswith(".tmp")]


def test_page_inlines_the_package_assets(pages):
    page = pages["single"].read_text(encoding="utf-8")
    assets = resources.files("cnntopo.mapper")
    for name, tag in [
        ("explorer.css", "<style>"),
        ("explorer_errors.js", "<head>"),
        ("explorer.js", '<script type="application/json" id="cnntopo-data">'),
    ]:
        text = (assets / name).read_text(encoding="utf-8").strip()
        assert len(text.splitlines()) > 5
        assert page.index(text) > page.index(tag), name


def test_payload_embedded_and_consistent(pages):
    page = pages["path"].read_text(encoding="utf-8")
    data = _payload(page)
    assert data == json.loads(json.dumps(pages["data"]))
    assert [g["label"] for g in data["graphs"]] == ["layer4.1.bn2 · full", "layer3.1.bn2"]
    g0 = pages["g0"]
    nodes0 = data["graphs"][0]["nodes"]
    assert [n["id"] for n in nodes0] == graph_nodes(g0)
    layout = graph_layout(g0, seed=0)
    for n in nodes0:
        assert (n["x"], n["y"]) == pytest.approx(layout[n["id"]])
        verts = g0["nodes"][n["id"]]["vertices"]
        assert n["size"] == len(verts)
        assert n["members"] == verts[:40]
        assert n["n_more"] == max(0, len(verts) - 40)
        counts = [c for _, c in n["counts"]]
        assert counts == sorted(counts, reverse=True) and sum(counts) == len(verts)
    assert data["classes"][3]["name"] == EVIL
    assert '<select id="graph-select"' in page
    assert '<select id="graph-select"' not in pages["single"].read_text(encoding="utf-8")


def test_hostile_strings_are_escaped(pages):
    page = pages["path"].read_text(encoding="utf-8")
    # exactly the page's own three script blocks close; data cannot end one early
    assert page.count("</script>") == 3
    assert "<b>x</b>" not in page and "<!--" not in page
    assert "\u2028" not in page
    assert "<title>Mapper &lt;explorer&gt; &quot;test&quot;</title>" in page


def test_thumbnails_only_for_capped_members(pages):
    data = pages["data"]
    pi = pages["point_images"]
    referenced = set()
    for g in data["graphs"]:
        for n in g["nodes"]:
            assert len(n["images"]) == min(6, n["size"])
            for point, image in n["images"]:
                assert point in n["members"][:6] and image == pi[point]
                referenced.add(image)
    assert set(map(int, data["images"])) == referenced
    assert len(referenced) < len(pages["thumbs"])
    uri = data["images"][str(min(referenced))]
    assert uri.startswith("data:image/png;base64,")


def test_no_thumbnails_without_images(pages):
    data = build_explorer_data({"g": pages["g1"]}, CIFAR10)
    assert data["images"] == {}
    assert all(n["images"] == [] for n in data["graphs"][0]["nodes"])
    with pytest.raises(ValueError, match="non-empty"):
        build_explorer_data({}, CIFAR10)


@pytest.fixture(scope="module")
def side_page(pages, tmp_path_factory):
    """The 2-graph page of ``pages`` with node details in side files."""
    folder = tmp_path_factory.mktemp("explorer_side")
    path = folder / "page.html"
    data = write_explorer(
        path,
        {"layer4.1.bn2 · full": pages["g0"], "layer3.1.bn2": pages["g1"]},
        pages["names"],
        point_images=pages["point_images"],
        thumbnails=pages["thumbs"],
        max_thumbnails_per_node=6,
        max_listed=40,
        details_dir=folder / "page files",  # a space: the URLs are quoted
    )
    return {"path": path, "data": data, "dir": folder / "page files"}


def test_side_files_hold_what_the_inline_page_embeds(pages, side_page):
    inline, side = pages["data"], _payload(side_page["path"].read_text(encoding="utf-8"))
    assert side == side_page["data"] and side["images"] == {}
    files = sorted(p.name for p in side_page["dir"].iterdir())
    n_nodes = [len(g["nodes"]) for g in inline["graphs"]]
    assert files == sorted(f"{g}_{n}.js" for g, k in enumerate(n_nodes) for n in range(k))
    for gi, (g_in, g_side) in enumerate(zip(inline["graphs"], side["graphs"], strict=True)):
        for ni, (a, b) in enumerate(zip(g_in["nodes"], g_side["nodes"], strict=True)):
            assert b["detail"] == f"page%20files/{gi}_{ni}.js"
            assert {k: v for k, v in a.items() if k not in ("members", "n_more", "images")} == {
                k: v for k, v in b.items() if k != "detail"
            }
            text = (side_page["dir"] / f"{gi}_{ni}.js").read_text()
            m = re.fullmatch(rf'cnntopoDetail\("{gi}_{ni}",(.*)\);\n', text, re.S)
            detail = json.loads(m.group(1))
            assert detail["members"] == a["members"] and detail["n_more"] == a["n_more"]
            assert detail["images"] == a["images"]
            assert detail["thumbs"] == {str(i): inline["images"][str(i)] for _, i in a["images"]}
    assert side_page["path"].stat().st_size < pages["path"].stat().st_size / 2


def test_side_files_must_be_next_to_the_page(tmp_path):
    with pytest.raises(ValueError, match="inside the page's folder"):
        write_explorer(tmp_path / "a" / "p.html", {"g": make_mapper_graph()}, None,
                       details_dir=tmp_path / "elsewhere")  # fmt: skip


# ------------------------------------------------------------------ real browser
class _DomProbe(HTMLParser):
    """Collects what the tests need from a dumped DOM."""

    def __init__(self):
        super().__init__()
        self.body_attrs: dict = {}
        self.node_ids: list[str] = []
        self.imgs: list[dict] = []
        self.members: dict | None = None
        self.members_text = ""
        self.errors = ""
        self.options: list[str] = []
        self.p_ids: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "body":
            self.body_attrs = a
        elif tag == "g" and "node" in classes:
            self.node_ids.append(a.get("data-id"))
        elif tag == "img":
            self.imgs.append(a)
        elif tag == "div" and a.get("id") == "members":
            self.members = a
            self._in = "members"
        elif tag == "pre" and a.get("id") == "errors":
            self._in = "errors"
        elif tag == "option":
            self._in = "option"
            self.options.append("")
        elif tag == "p" and a.get("id"):
            self.p_ids.append(a["id"])

    def handle_endtag(self, tag):
        if tag in ("div", "pre", "option"):
            self._in = None

    def handle_data(self, data):
        if self._in == "members":
            self.members_text += data
        elif self._in == "errors":
            self.errors += data
        elif self._in == "option":
            self.options[-1] += data


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    cmd = [
        CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--no-first-run", "--disable-extensions",
        f"--user-data-dir={profile}", "--virtual-time-budget=5000",
        "--enable-logging=stderr", "--v=0", *args,
    ]  # fmt: skip
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, f"chromium failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc


def _console_errors(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line and ("Uncaught" in line or "SyntaxError" in line)
    ]


def _dump(tmp_path: Path, url: str) -> tuple[_DomProbe, list[str]]:
    proc = _chromium(tmp_path, "--dump-dom", url)
    probe = _DomProbe()
    probe.feed(proc.stdout)
    return probe, _console_errors(proc.stderr)


def _assert_clean(probe: _DomProbe, console: list[str]) -> None:
    assert probe.body_attrs.get("data-rendered") == "true", probe.errors
    assert probe.errors.strip() == ""
    assert console == []


@needs_chromium
def test_browser_renders_first_graph(pages, tmp_path):
    probe, console = _dump(tmp_path, pages["path"].as_uri())
    _assert_clean(probe, console)
    assert sorted(probe.node_ids) == sorted(graph_nodes(pages["g0"]))
    assert probe.options == ["layer4.1.bn2 · full", "layer3.1.bn2"]
    assert probe.members is None  # nothing selected
    probe, console = _dump(tmp_path, pages["single"].as_uri())
    _assert_clean(probe, console)
    assert len(probe.node_ids) == len(graph_nodes(pages["g1"]))


@needs_chromium
def test_browser_empty_graph(tmp_path):
    page = tmp_path / "empty.html"
    write_explorer(page, {"empty": {"nodes": {}, "edges": []}, "g": make_mapper_graph()}, None)
    probe, console = _dump(tmp_path, page.as_uri())
    _assert_clean(probe, console)
    assert probe.node_ids == []


@needs_chromium
def test_browser_graph_selected_by_hash(pages, tmp_path):
    for sel in ("1", "layer3.1.bn2"):
        probe, console = _dump(tmp_path, pages["path"].as_uri() + "#graph=" + sel)
        _assert_clean(probe, console)
        assert sorted(probe.node_ids) == sorted(graph_nodes(pages["g1"]))


@needs_chromium
def test_browser_select_node_opens_panel(pages, tmp_path):
    data = pages["data"]["graphs"][0]
    node = max(data["nodes"], key=lambda n: n["size"])  # listed and capped
    assert node["n_more"] > 0
    url = pages["path"].as_uri() + "#graph=0&node=" + node["id"]
    probe, console = _dump(tmp_path, url)
    _assert_clean(probe, console)
    assert probe.members is not None
    assert probe.members["data-count"] == str(len(node["members"]))
    listed = [int(x) for x in re.findall(r"\d+", probe.members_text.split("…")[0])]
    assert listed == node["members"]
    assert f"and {node['n_more']} more" in probe.members_text
    thumbs = [a for a in probe.imgs if a.get("src", "").startswith("data:image/png;base64,")]
    assert len(thumbs) == len(node["images"]) == 6
    assert len(probe.node_ids) == len(data["nodes"])


@needs_chromium
def test_browser_loads_node_details_on_demand(side_page, tmp_path):
    inline = {n["id"]: n for n in side_page["data"]["graphs"][0]["nodes"]}
    node = max(inline.values(), key=lambda n: n["size"])
    detail_file = side_page["dir"] / node["detail"].split("/")[-1]
    detail = json.loads(re.search(r",(.*)\);", detail_file.read_text(), re.S).group(1))
    assert detail["n_more"] > 0
    url = side_page["path"].as_uri() + "#graph=0&node=" + node["id"]
    probe, console = _dump(tmp_path, url)
    _assert_clean(probe, console)
    assert probe.members is not None and "loading" not in probe.p_ids
    listed = [int(x) for x in re.findall(r"\d+", probe.members_text.split("…")[0])]
    assert listed == detail["members"]
    assert f"and {detail['n_more']} more" in probe.members_text
    thumbs = [a for a in probe.imgs if a.get("src", "").startswith("data:image/png;base64,")]
    assert [a["src"] for a in thumbs] == [detail["thumbs"][str(i)] for _, i in detail["images"]]
    # a missing side file: a message in the panel, no script error
    detail_file.rename(detail_file.with_suffix(".gone"))
    try:
        probe, console = _dump(tmp_path, url)
    finally:
        detail_file.with_suffix(".gone").rename(detail_file)
    _assert_clean(probe, console)
    assert probe.members is None and "load-error" in probe.p_ids


@needs_chromium
def test_browser_screenshot_not_blank(pages, tmp_path):
    shot = tmp_path / "shot.png"
    proc = _chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1200,800",
        pages["path"].as_uri() + "#graph=0&node=" + pages["data"]["graphs"][0]["nodes"][0]["id"],
    )
    assert _console_errors(proc.stderr) == []
    assert shot.is_file() and shot.stat().st_size > 0
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(shot)
    assert img.shape[:2] == (800, 1200)
    flat = img[..., :3].reshape(-1, 3)
    assert len(np.unique(flat, axis=0)) > 10  # not a single colour: graph, legend, text drawn


@needs_chromium
def test_browser_probes_catch_errors(tmp_path):
    """Negative control: a page whose script throws is caught by all three probes."""
    data = build_explorer_data({"g": make_mapper_graph(n_intervals=4)}, CIFAR10)
    data["graphs"][0]["nodes"][0]["counts"].append([99, 1])  # no class 99 -> TypeError
    bad = tmp_path / "bad.html"
    bad.write_text(render_explorer_html(data), encoding="utf-8")
    probe, console = _dump(tmp_path, bad.as_uri())
    assert probe.body_attrs.get("data-rendered") != "true"
    assert "TypeError" in probe.errors
    assert any("Uncaught" in line for line in console)


@pytest.mark.slow
@needs_chromium
def test_browser_renders_the_workflow_explorer(tiny_run, tmp_path):
    """The page the tiny workflow wrote: first layer drawn, selector, thumbnails on click."""
    page = tiny_run / "mapper/explorer/random.html"
    first = tiny_run / "mapper/graphs/random/layer1.1.bn2/intervals~8_overlap~30_eps~knee.json"
    graph = json.loads(first.read_text())
    probe, console = _dump(tmp_path, page.as_uri())
    _assert_clean(probe, console)
    assert sorted(probe.node_ids) == sorted(graph["nodes"])
    assert probe.options == ["layer1.1.bn2", "layer4.1.bn2"]
    node = max(graph["nodes"], key=lambda n: len(graph["nodes"][n]["vertices"]))
    probe, console = _dump(tmp_path, page.as_uri() + f"#graph=0&node={node}")
    _assert_clean(probe, console)
    thumbs = [i for i in probe.imgs if (i.get("src") or "").startswith("data:image/png")]
    assert len(thumbs) == min(24, len(graph["nodes"][node]["vertices"]))
    shot = tmp_path / "workflow_explorer.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,800", page.as_uri())
    assert shot.stat().st_size > 10_000
