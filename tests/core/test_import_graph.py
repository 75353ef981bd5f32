"""Import hygiene of the cnntopo package.

Every module imports; the import graph (read with :mod:`ast`, imports inside
functions included) has no cycle; no module imports another module's private
(underscore) names; the torch-free modules do not pull in torch; the documented
entry points are importable.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "workflow" / "cnntopo"

#: Modules that must import without torch (config, naming, layout and layer tables).
TORCH_FREE = [
    "cnntopo",
    "cnntopo.config",
    "cnntopo.names",
    "cnntopo.paths",
    "cnntopo.progress",
    "cnntopo.resources",
    "cnntopo.sweep",
    "cnntopo.nets.layers",
    "cnntopo.nets.layers_option_b",
    "cnntopo.nets.registry",
    "cnntopo.nets.arch",
    "cnntopo.nets.shapes",
    "cnntopo.nets.layer_config",
    "cnntopo.plan",
    "cnntopo.mapper.constructions",
    "cnntopo.mapper.user_construction",
    "cnntopo.ph.similarity.registry",
]

#: Documented entry points, as ``module:name``.
DOCUMENTED = [
    "cnntopo.persistence:diagrams",
    "cnntopo.persistence:load_diagrams",
    "cnntopo.distances:pairwise",
    "cnntopo.distances:sliced_wasserstein",
    "cnntopo.distances:finite_part",
    "cnntopo.mapper:mapper_graph",
    "cnntopo.mapper:knee_eps",
    "cnntopo.mapper.graph:mapper_graph",
    "cnntopo.mapper.graph:knee_eps",
    "cnntopo.mapper.graph:graph_stats",
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """``(imported module, imported names)`` of every cnntopo import in one module.

    ``from package import submodule`` counts as an import of the submodule.
    """
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.split(".")[0] == "cnntopo"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + is_package]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            if source.split(".")[0] != "cnntopo":
                continue
            names = [a.name for a in node.names]
            subs = [n for n in names if f"{source}.{n}" in MODULES]
            out += [(f"{source}.{n}", []) for n in subs]
            rest = [n for n in names if n not in subs]
            if rest:
                out.append((source, rest))
    return out


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_module_table_is_complete():
    assert {"cnntopo", "cnntopo.ph.diagram_ops", "cnntopo.mapper.dbscan"} <= set(MODULES)
    assert len(MODULES) > 40


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_no_import_cycles():
    graph = {
        name: {source for source, _ in imports if source in MODULES and source != name}
        for name, imports in IMPORTS.items()
    }
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_private_names_across_modules():
    offenders = [
        f"{name} imports {n} from {source}"
        for name, imports in IMPORTS.items()
        for source, names in imports
        if source != name
        for n in names
        if n.startswith("_") and not (n.startswith("__") and n.endswith("__"))
    ]
    assert offenders == []


@pytest.mark.parametrize("name", TORCH_FREE)
def test_torch_free_modules_do_not_import_torch(name):
    code = f"import sys, {name}; print('torch' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip() == "False", f"importing {name} imports torch"


def test_import_cnntopo_is_cheap():
    code = "import sys, cnntopo; print(sorted({'numpy', 'torch', 'scipy'} & set(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("entry", DOCUMENTED)
def test_documented_names_are_importable(entry):
    module, name = entry.split(":")
    assert callable(getattr(importlib.import_module(module), name))


def test_top_level_lazy_api():
    import cnntopo

    assert sorted(cnntopo.__all__) == sorted(
        ["diagrams", "load_diagrams", "sliced_wasserstein", "pairwise", "mapper_graph", "knee_eps"]
    )
    from cnntopo.mapper import graph
    from cnntopo.ph import distances, persistence

    assert cnntopo.diagrams is persistence.diagrams
    assert cnntopo.load_diagrams is persistence.load_diagrams
    assert cnntopo.sliced_wasserstein is distances.sliced_wasserstein
    assert cnntopo.pairwise is distances.pairwise
    assert cnntopo.mapper_graph is graph.mapper_graph
    assert cnntopo.knee_eps is graph.knee_eps
    assert set(cnntopo.__all__) <= set(dir(cnntopo))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cnntopo.nope  # noqa: B018
