"""Code shape (issue 8): no function over 80 lines and no class over 300 under src/tokkou.

Any exception is listed here with its reason.
"""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tokkou"
MAX_FUNCTION = 80
MAX_CLASS = 300
EXCEPTIONS: dict[str, str] = {
    # "module.py:qualified.name": "reason",
}


def _sizes():
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        stack = [(tree, "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}{child.name}"
                    yield f"{path.relative_to(SRC)}:{name}", child, child.end_lineno - child.lineno + 1
                    stack.append((child, name + "."))
                else:
                    stack.append((child, prefix))


def test_no_long_function_or_class():
    too_long = []
    for key, node, lines in _sizes():
        limit = MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION
        if lines > limit and key not in EXCEPTIONS:
            too_long.append(f"{key} has {lines} lines (limit {limit})")
    assert not too_long, "\n".join(too_long)

