"""The rule files keep glue only: their helper code (outside rule blocks) stays small.

Counted: non-blank, non-comment lines of the Snakefile and every ``workflow/**/*.smk``
outside ``rule`` / ``checkpoint`` blocks, docstrings included. What the rules ask lives
in :mod:`cnntopo.plan`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

#: Most helper lines of all rule files together.
GLUE_LIMIT = 250
_BLOCK = re.compile(r"^(\s*)(rule|checkpoint)\b[^:]*:\s*(#.*)?$")


def glue_lines(text: str) -> list[str]:
    """The helper lines of one rule file: outside rule/checkpoint blocks, not blank,
    not a comment.

    A block starts at a ``rule NAME:`` / ``checkpoint NAME:`` line (or an anonymous
    ``rule:``) and runs over every following line that is blank or indented deeper.
    """
    out: list[str] = []
    block_indent: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if not stripped or indent > block_indent:
                continue
            block_indent = None
        m = _BLOCK.match(line)
        if m:
            block_indent = len(m.group(1))
            continue
        if stripped and not stripped.startswith("#"):
            out.append(line)
    return out


def rule_files(repo: Path) -> list[Path]:
    return [repo / "Snakefile", *sorted((repo / "workflow").rglob("*.smk"))]


def test_counter_counts_only_glue():
    text = '''# a comment
import os

X = 1


def f():
    """Doc."""
    return 2


rule a:
    input:
        "x",
    params:
        y=lambda w: 1,


for n in [1]:

    rule:
        name:
            n
        output:
            "y"

if X:

    rule b:
        output:
            "z",
'''
    lines = [s.strip() for s in glue_lines(text)]
    assert lines == [
        "import os",
        "X = 1",
        "def f():",
        '"""Doc."""',
        "return 2",
        "for n in [1]:",
        "if X:",
    ]


def test_rule_files_keep_glue_only(repo):
    counts = {str(f.relative_to(repo)): len(glue_lines(f.read_text())) for f in rule_files(repo)}
    total = sum(counts.values())
    print(f"helper lines of the rule files: {total} (limit {GLUE_LIMIT})")
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {n:4d}  {name}")
    assert total <= GLUE_LIMIT, (
        f"{total} helper lines in the rule files (limit {GLUE_LIMIT}): move DAG-time logic "
        "into cnntopo.plan"
    )


@pytest.mark.parametrize("name", ["workflow/rules/common.smk", "workflow/rules/sweep.smk"])
def test_helper_files_exist(repo, name):
    assert (repo / name).is_file()
