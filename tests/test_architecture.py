"""The package's shape: no import circles, and the week's phases as the ODD lists them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx

import rechain
from rechain.week import phase_names

PACKAGE = Path(rechain.__file__).resolve().parent
ROOT = PACKAGE.parents[1]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> nx.DiGraph:
    """Module -> module it imports (anywhere in the file, functions included), within rechain."""
    g = nx.DiGraph()
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    for name, path in modules.items():
        g.add_node(name)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                targets = [stem] + [f"{stem}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                if t in modules and t != name:
                    g.add_edge(name, t)
    return g


def test_no_import_circles():
    cycles = list(nx.simple_cycles(import_graph()))
    assert not cycles, f"import circles: {cycles[:5]}"


def test_kinds_never_import_the_model():
    g = import_graph()
    for kind_module in [n for n in g if n.startswith("rechain.kinds")]:
        assert "rechain.model" not in nx.descendants(g, kind_module), kind_module


def test_the_week_matches_the_odd_process_overview():
    """docs/ODD.md lists the phases of the week, in order, as `phase` names."""
    text = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    section = re.split(r"^## \d+\. Process overview.*$", text, flags=re.M)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\d+\. `([a-z_]+)`", section, flags=re.M)
    assert listed == phase_names()
