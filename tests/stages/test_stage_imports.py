"""Stage modules do not import each other: what they share lives in the library or in
``cnntopo.stages.common``. Checked statically with :mod:`ast` (top-level and function-level
imports, absolute and relative)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

STAGES = Path(__file__).resolve().parents[2] / "workflow" / "cnntopo" / "stages"
PACKAGE = "cnntopo.stages"
ALLOWED = {"cnntopo.stages", "cnntopo.stages.common"}



def _module_name(path: Path) -> str:
    rel = path.relative_to(STAGES).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def stage_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported stage module) of every import of ``cnntopo.stages.*`` in ``path``.

    ``from cnntopo.stages.ph import similarity`` counts as an import of
    ``cnntopo.stages.ph.similarity``; relative imports are resolved against the module.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_name(path)
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # "from pkg import name": name may be a submodule
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
            targets = [
                t for t in targets if t == module or (STAGES / _rel(t)).with_suffix(".py").is_file()
            ]
        else:
            continue
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                found.append((node.lineno, target))
    return found


def _rel(module: str) -> str:
    return "/".join(module.split(".")[2:]) or "__init__"


def violations(path: Path) -> list[str]:
    """The imports of ``path`` of a stage module other than itself and stages.common."""
    me = _module_name(path)
    return [
        f"{path.relative_to(STAGES)}:{line} imports {target}"
        for line, target in stage_imports(path)
        if target not in ALLOWED
        and not target.startswith("cnntopo.stages.common.")
        and target != me
        and not _is_package_of(target)
    ]


def _is_package_of(target: str) -> bool:
    """``cnntopo.stages.ph`` itself (the package, not a stage module)."""
    return (STAGES / _rel(target) / "__init__.py").is_file()


MODULES = sorted(p for p in STAGES.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_stage_modules_are_found():
    names = {p.relative_to(STAGES).as_posix() for p in MODULES}
    assert {"common/__init__.py", "common/network.py", "summary.py"} <= names
    assert {"ph/bootstrap.py", "mapper/figures.py", "mapper/model.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(STAGES).as_posix())
def test_a_stage_module_imports_no_other_stage_module(path):
    assert violations(path) == []


def test_the_check_finds_every_form_of_import(tmp_path, monkeypatch):
    # plant a fake stages tree: each form of importing a sibling is caught; the allowed
    # ones (stages.common, the module itself, a package) are not
    root = tmp_path / "stages"
    (root / "ph").mkdir(parents=True)
    (root / "mapper").mkdir()
    for f in ("__init__.py", "common.py", "ph/__init__.py", "ph/a.py", "ph/b.py",
              "mapper/__init__.py", "mapper/c.py"):  # fmt: skip
        (root / f).write_text("")
    (root / "ph" / "a.py").write_text(
        "import cnntopo.stages.common\n"
        "from cnntopo.stages.common import load_cross\n"
        "from cnntopo.stages import common\n"
        "from . import b\n"
        "from .b import x\n"
        "from ..mapper.c import y\n"
        "def f():\n"
        "    from cnntopo.stages.mapper import c\n"
        "    import cnntopo.stages.ph.b\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "STAGES", root)
    found = violations(root / "ph" / "a.py")
    assert [v.split(" imports ")[1] for v in found] == [
        "cnntopo.stages.ph.b",
        "cnntopo.stages.ph.b",
        "cnntopo.stages.mapper.c",
        "cnntopo.stages.mapper.c",
        "cnntopo.stages.ph.b",
    ]
