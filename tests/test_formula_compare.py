"""Property tests of the canonical formula comparison over every formula of both templates.

Rewrites another program may make (case, spaces, `$`, sheet-name quoting, `_xlfn.`/`_xlws.`/`_xldudf_`
prefixes, `TRUE()`, number spelling) compare equal; a single real edit of a reference, an operator,
a function or a number compares unequal, and `first_difference` points at it.
"""
from __future__ import annotations

import random
import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from openpyxl.formula.tokenizer import Token, Tokenizer

from tokkou import formula_compare as fc

TEMPLATES = Path(__file__).resolve().parents[1] / "workbook_templates"
A1 = re.compile(r"^(\$?)([A-Z]{1,3})(\$?)(\d+)$")


@lru_cache(maxsize=1)
def formulas() -> tuple[tuple[str, int], ...]:
    """(formula, row) for every formula cell of both templates, one per row-relative shape."""
    shapes: dict[str, tuple[str, int]] = {}
    for variant in ("native", "addin"):
        wb = openpyxl.load_workbook(TEMPLATES / f"nichiiki_kankei_{variant}.xlsx")
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, str) and c.value.startswith("="):
                        shapes.setdefault(fc.shape_key(c.value, c.row), (c.value, c.row))
    assert len(shapes) > 50
    return tuple(shapes.values())


def _render(items) -> str:
    return "=" + "".join(t.value for t in items)


def _sheet_ref(sheet: str, addr: str, quote: bool) -> str:
    return f"'{sheet}'!{addr}" if quote else f"{sheet}!{addr}"


def rewrite(formula: str, rnd: random.Random) -> str:
    """What Excel, LibreOffice or Office.js may write for the same formula."""
    out = []
    for t in Tokenizer(formula).items:
        v = t.value
        if t.type == Token.FUNC and t.subtype == Token.OPEN:
            name = v[:-1]
            name = "".join(ch.lower() if rnd.random() < 0.5 else ch for ch in name)
            name = rnd.choice(["", "_xlfn.", "_xlws.", "_xlfn._xlws.", "_xldudf_", "[2]!_xldudf_", "_XLFN."]) + name
            v = name + "(" + rnd.choice(["", " "])
        elif t.type == Token.OPERAND and t.subtype == Token.LOGICAL:
            v = rnd.choice([v + "()", v.lower(), v.title() + "( )"])
        elif t.type == Token.OPERAND and t.subtype == Token.NUMBER:
            n = Decimal(v)
            # (no "0E+0": no program writes it, and openpyxl's tokenizer splits it)
            v = rnd.choice([v, str(float(v)), format(n, "E") if n else v, format(n, "f") + ("" if "." in format(n, "f") else ".0")])
        elif t.type == Token.OPERAND and t.subtype == Token.RANGE:
            sheet, addr = fc._split_sheet(v)
            parts = []
            for part in addr.split(":"):
                m = A1.match(part)
                if m:
                    col, row = m.group(2), m.group(4)
                    part = f"{rnd.choice(['', '$'])}{col if rnd.random() < .5 else col.lower()}{rnd.choice(['', '$'])}{row}"
                parts.append(part)
            addr = ":".join(parts)
            v = addr if sheet is None else _sheet_ref(sheet, addr, rnd.random() < 0.5)
        elif t.type == Token.SEP or t.type == Token.OP_IN:
            v = rnd.choice(["", " "]) + v + rnd.choice(["", " ", "  "])
        out.append(v)
    return "=" + "".join(out)


_SWAP_OP = {"+": "-", "-": "+", "*": "/", "/": "*", "<": "<=", "<=": "<", ">": ">=", ">=": ">", "=": "<>",
            "<>": "=", "&": "+", "^": "*"}


def edits(formula: str):
    """Every kind of single-token edit this formula allows: (kind, edited formula)."""
    items = Tokenizer(formula).items
    found = {}
    for i, t in enumerate(items):
        kind, v = None, None
        if t.type == Token.OPERAND and t.subtype == Token.RANGE:
            sheet, addr = fc._split_sheet(t.value)
            m = A1.match(addr.split(":")[0])
            if m:
                moved = f"{m.group(1)}{m.group(2)}{m.group(3)}{int(m.group(4)) + 1}" + addr[len(m.group(0)):]
                v, kind = (t.value[: len(t.value) - len(addr)] + moved), "reference"
            elif not sheet:
                v, kind = t.value + "X", "reference"  # another defined name
        elif t.type == Token.OP_IN and t.value in _SWAP_OP:
            v, kind = _SWAP_OP[t.value], "operator"
        elif t.type == Token.FUNC and t.subtype == Token.OPEN:
            v, kind = ("MIN(" if t.value.upper() != "MIN(" else "MAX("), "function"
        elif t.type == Token.OPERAND and t.subtype == Token.NUMBER:
            v, kind = str(float(t.value) + 1), "number"
        if kind and kind not in found:
            edited = list(items)
            edited[i] = Token(v, t.type, t.subtype)
            found[kind] = (_render(edited), t.value, v)
    return found


def test_every_formula_rewritten_compares_equal_and_every_edit_unequal():
    rnd = random.Random(20251129)
    kinds = set()
    for formula, row in formulas():
        for _ in range(3):
            other = rewrite(formula, rnd)
            assert fc.same_formula(other, formula, row), (formula, other)
            assert fc.same_formula(other, formula), (formula, other)
        for kind, (edited, before, after) in edits(formula).items():
            kinds.add(kind)
            assert not fc.same_formula(edited, formula, row), (kind, formula, edited)
            assert not fc.same_formula(rewrite(edited, rnd), formula, row), (kind, formula, edited)
            pos, found, expected, _, _ = fc.first_difference(edited, formula)
            assert pos > 0 and found.replace("$", "") == after.replace("$", "") and expected == before
    assert kinds == {"reference", "operator", "function", "number"}


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_rewrites_and_edits(data):
    formula, row = data.draw(st.sampled_from(formulas()))
    rnd = random.Random(data.draw(st.integers(0, 2**32)))
    assert fc.same_formula(rewrite(formula, rnd), formula, row)
    options = edits(formula)
    if options:
        kind = data.draw(st.sampled_from(sorted(options)))
        edited = options[kind][0]
        assert not fc.same_formula(rewrite(edited, rnd), formula, row)


@pytest.mark.parametrize("a, b", [
    ('=IF(A1,FALSE(),TRUE)', '=if( $A$1 , false , true() )'),
    ("='事業'!$E$5+0.50", "=事業!E5+.5"),
    ("=[2]!_xldudf_ELIGIBLE_AMOUNT(B5)", "=ELIGIBLE_AMOUNT(B5)"),
    ("=_xlfn._xlws.SORT(A1:A3)", "=SORT(A1:A3)"),
    ("=1E3", "=1000"),
])
def test_known_spellings_are_equal(a, b):
    assert fc.same_formula(a, b) and fc.same_formula(a, b, 5)


@pytest.mark.parametrize("a, b", [
    ('=IF(A1,"FALSE()",1)', '=IF(A1,"FALSE",1)'),    # text constants are compared as written
    ('=IF(A1,"a",1)', '=IF(A1,"A",1)'),
    ("=SUM(A1 B1)", "=SUM(A1,B1)"),                  # a space between references is an operator
    ("=[1]Sheet1!A1", "=Sheet1!A1"),                  # a link to another book is not a prefix
    ("=E$5", "=E$6"),
    ("=E5", "=E6"),
])
def test_real_differences_stay(a, b):
    assert not fc.same_formula(a, b) and not fc.same_formula(a, b, 5)


def test_difference_is_shown_from_the_first_differing_token():
    pos, a, b, found, expected = fc.first_difference("=IF(W5<3,E5-F5,0)", "=IF(W5<3,E5-G5,0)")
    assert (pos, a, b) == (8, "F5", "G5")
    assert found.startswith("…F5,0)") and expected.startswith("…G5,0)")
    assert fc.first_difference("=A1+1", "=A1")[1:3] == ("+", "（式の終わり）")
