"""The cycles page (cnntopo.cycles.page): its payload, and its rendering in headless chromium.

The browser tests are skipped only when no ``chromium`` / ``chromium-browser`` binary
is on PATH (CI installs Debian's ``chromium``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cnntopo.cycles.page import build_page_data, write_cycles_page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")


def records():
    """Two layers: three cycles on the first, none on the second."""
    cyc = [
        {"rank": r, "birth": b, "death": d, "bar": bar, "images": imgs, "labels": labs,
         "edge_lengths": [b] * len(imgs)}
        for r, b, d, bar, imgs, labs in [
            (1, 0.5, 2.0, 2, [10, 11, 12, 13], [0, 0, 1, 2]),
            (2, 0.4, 1.0, 0, [14, 15, 16], [1, 1, 1]),
            (3, 0.3, 0.6, 1, [10, 17, 18, 19, 20], [0, 2, 2, 0, 1]),
        ]
    ]  # fmt: skip
    return [
        {"representation": "topl2", "seed": 0, "layer": "conv1", "n_points": 30,
         "h1": [[0.4, 1.0], [0.3, 0.6], [0.5, 2.0], [0.2, 0.25]], "cycles": cyc},
        {"representation": "topl2", "seed": 0, "layer": "conv2", "n_points": 30, "h1": [],
         "cycles": []},
    ]  # fmt: skip


IMAGES = {
    i: np.random.default_rng(i).integers(0, 255, (8, 8, 1), dtype=np.uint8) for i in range(30)
}


def test_payload_embeds_only_the_loops_images():
    data = build_page_data(records(), ["a", "b", "c"], IMAGES, links=[("Mapper", "m.html")])
    assert sorted(int(k) for k in data["thumbs"]) == list(range(10, 21))
    assert [c["name"] for c in data["classes"]] == ["a", "b", "c"]
    assert data["links"] == [["Mapper", "m.html"]]
    with pytest.raises(ValueError, match="at least one layer"):
        write_cycles_page("x.html", [], ["a"])


def _dom(tmp_path: Path, url: str) -> tuple[str, str]:
    cmd = [
        CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--no-first-run", "--disable-extensions",
        f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
        "--enable-logging=stderr", "--v=0", "--dump-dom", url,
    ]  # fmt: skip
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, proc.stderr


@needs_chromium
def test_browser_draws_ring_diagram_and_composition(tmp_path):
    page = tmp_path / "index.html"
    write_cycles_page(page, records(), ["a", "b", "c"], IMAGES)
    dom, err = _dom(tmp_path, page.as_uri() + "#entry=0&cycle=3")
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert 'data-rendered="true"' in body and 'data-cycle="3"' in body, dom[-2000:]
    assert re.search(r'<pre id="errors">\s*</pre>', dom), re.search(
        r'<pre id="errors">.*?</pre>', dom, re.S
    ).group(0)
    assert [int(x) for x in re.findall(r'class="thumb[^"]*" data-image="(\d+)"', dom)] == [
        10,
        17,
        18,
        19,
        20,
    ]
    assert len(re.findall(r'<img src="data:image/png;base64,', dom)) == 5
    bars = re.findall(r'<circle[^>]*class="(bar[^"]*)"', dom)
    assert sorted(bars) == ["bar", "bar top", "bar top", "bar top selected"]
    selected = re.search(r'<circle[^>]*class="bar top selected"[^>]*data-rank="(\d)"', dom)
    assert selected and selected.group(1) == "3"
    assert re.findall(r'<tr data-cls="(\w)"', dom) == ["a", "c", "b"]  # 2 a, 2 c, 1 b
    assert "Uncaught" not in err
    dom, _ = _dom(tmp_path, page.as_uri() + "#entry=1")
    assert "this layer has no finite H1 bar" in dom and 'data-rendered="true"' in dom


def test_page_is_self_contained(tmp_path):
    page = tmp_path / "p.html"
    write_cycles_page(page, records(), ["a", "b", "c"], IMAGES, title="t <x>")
    text = page.read_text()
    assert "<title>t &lt;x&gt;</title>" in text
    assert not re.search(r'(src|href)="(https?:)?//', text)
    payload = re.search(r'id="cnntopo-cycles-data">(.*?)</script>', text, re.S).group(1)
    assert json.loads(payload)["entries"][0]["layer"] == "conv1"
