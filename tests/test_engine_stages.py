"""The engine in named stages following the notice (issue 8 item 5): each stage ≤ 60 lines with a
docstring citing its section; ④ in its own module; the stages run in the notice's order."""
from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from tokkou import coordinators, engine, engine_stages

STAGES = ("read_inputs", "who_and_when", "amounts", "fiscal_correction", "exclusions", "eligible_cost",
          "rate_and_measure", "status_and_reasons")
CITATION = re.compile(r"記2|別添|SPEC")


def test_each_stage_is_short_and_cites_the_notice():
    for mod, names in ((engine_stages, STAGES), (coordinators, ("group_persons", "apply_caps"))):
        for name in names:
            fn = getattr(mod, name)
            lines = len(inspect.getsource(fn).splitlines())
            assert lines <= 60, f"{mod.__name__}.{name}: {lines} lines"
            assert CITATION.search(fn.__doc__ or ""), f"{mod.__name__}.{name}: docstring cites no section"


def test_evaluate_columns_runs_the_stages_in_the_notices_order():
    tree = ast.parse(inspect.getsource(engine._run_stages))
    calls = [n.func.attr for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in STAGES]
    assert calls == list(STAGES)
    # the batch path and the one-line path (engine_xp.ONE) run that one sequence
    for face in (engine.evaluate_columns, engine.evaluate_one):
        tree = ast.parse(inspect.getsource(face))
        assert any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "_run_stages" for n in ast.walk(tree))


def test_no_engine_module_has_a_long_function():
    src = Path(engine_stages.__file__).parent
    for name in ("engine.py", "engine_stages.py", "engine_context.py", "engine_trace.py", "coordinators.py",
                 "rulecheck.py", "rulefiles.py", "render.py", "totals.py"):
        tree = ast.parse((src / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                size = node.end_lineno - node.lineno + 1
                assert size <= (300 if isinstance(node, ast.ClassDef) else 80), (name, node.name, size)
