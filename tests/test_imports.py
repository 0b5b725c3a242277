"""The package's import graph: no module imports the command line, no cycle (issue 8 item 2).

Every `import` and `from … import` in every module under src/tokkou is read with ast, at module level
and inside functions alike (a lazy import is still a dependency), and resolved to tokkou modules.
"""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "tokkou"


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from . import engine` names a module; `from .engine import x` names engine itself
            targets = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules] or [base]
        else:
            continue
        for t in targets:
            while t and t not in modules:  # a.b.c where only a.b is a module
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def graph() -> dict[str, set[str]]:
    files = sorted(PKG.rglob("*.py"))
    modules = {module_name(f) for f in files}
    return {module_name(f): imports_of(f, modules) for f in files}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_the_walker_sees_relative_absolute_and_lazy_imports():
    g = graph()
    assert "tokkou.cli" in g and "tokkou.engine" in g["tokkou.calc"]  # `from . import engine`
    assert "tokkou.rulebook" in g["tokkou.engine"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_the_command_line():
    g = graph()
    cli = {"tokkou.cli", "tokkou.cli_ja"}
    offenders = sorted(m for m, deps in g.items() if m not in cli and cli & deps)
    assert offenders == [], f"modules importing the command line: {offenders}"


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_libreoffice_helper_is_a_test_helper():
    assert not (PKG / "lo.py").exists()
    assert (Path(__file__).parent / "lo.py").exists()
