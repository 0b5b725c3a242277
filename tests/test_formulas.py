"""The formula module: template formulas as text, tested without writing a file; Excel's limits."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.formula import Tokenizer
from openpyxl.formula.tokenizer import Token

from tokkou import formulas, formulas_sheets, layout as L, rulebook, templates

RB = rulebook.get()
LAY = L.get(RB)
LC = {c.key: c.letter for c in L.LINE_COLUMNS}
CC = {c.key: c.letter for c in LAY.coord_columns}


# ---- pure text ---------------------------------------------------------------------------------

def test_a_formula_is_text_for_variant_sheet_column_and_row():
    s, e = LC["_state"], LC["eligible_cost"]
    assert formulas.formula("native", L.SHEET_LINES, "rate", 7, RB) == f'=IF({s}7<=1,"",TK_RATE)'
    assert formulas.formula("native", L.SHEET_LINES, "reasons", 12, RB) == \
        f'=IF({s}12=1,{LC["_err"]}12,IF({s}12=2,{LC["_excl"]}12,""))'
    measure = formulas.formula("native", L.SHEET_LINES, "measure_amount", 5, RB)
    assert f"INT(({e}5)/TK_RATE_SCALE)*TK_RATE_N" in measure  # the exact floor, see floordiv
    addin = formulas.formula("addin", L.SHEET_LINES, "measure_amount", 5, RB)
    assert addin.startswith(f'=IF({s}5=0,"",IFERROR(MEASURE_AMOUNT(IF({LC["category"]}5="","",{LC["category"]}5),')
    with pytest.raises(ValueError):
        formulas.formula("other", L.SHEET_LINES, "rate", 5, RB)


def test_rows_differ_only_in_their_row_number():
    import re
    shift = re.compile(r"(?<![A-Za-z0-9_$])([A-Z]{1,3})5(?![0-9])")
    for variant in formulas.VARIANTS:
        for sheet in (L.SHEET_LINES, L.SHEET_COORD):
            a = formulas.row_formulas(variant, sheet, 5, RB)
            b = formulas.row_formulas(variant, sheet, 6, RB)
            assert a.keys() == b.keys() and len(a) >= 9
            for k in a:
                assert shift.sub(r"\g<1>6", a[k]) == b[k], (variant, sheet, k)


def test_no_message_text_inside_a_formula_only_rule_ids():
    table = formulas.message_table(RB)
    keys = {k for k, _ in table}
    texts = {t.split("] ", 1)[-1] for _, ts in table for t in ts}
    for variant in formulas.VARIANTS:
        every = list(formulas.expected_formulas(variant, RB).values())
        every += list(formulas_sheets.body_formulas(formulas.context(RB)).values())
        for f in every:
            assert not any(t in f for t in texts), f[:200]
    native = formulas.expected_formulas("native", RB)
    reasons = native[(L.SHEET_COORD, 5, "reasons")] + native[(L.SHEET_LINES, 5, "_excl")]
    for key in ("CAP-COORD-DEDICATED:capped", "CAP-COORD-CONCURRENT:capped", "EXCL-CASH:excluded"):
        assert key in keys and f'MATCH("{key}",TK_MSG_KEYS,0),TK_PERIOD)' in reasons


def _rules_copy(tmp_path: Path, edit) -> rulebook.Rulebook:
    rules = tmp_path / "rules"
    shutil.copytree(RB.path, rules)
    edit(rules)
    return rulebook.load(rules)


def test_rewording_a_message_changes_no_formula(tmp_path):
    def reword(rules):
        p = rules / "rules.yaml"
        text = p.read_text(encoding="utf-8")
        assert "現金給付は対象外です" in text
        p.write_text(text.replace("現金給付は対象外です", "現金給付は本措置の対象外です"), encoding="utf-8")
    changed = _rules_copy(tmp_path, reword)
    assert changed.sha256 != RB.sha256
    assert any("本措置の対象外" in t for _, ts in formulas.message_table(changed) for t in ts)
    for variant in formulas.VARIANTS:
        assert formulas.expected_formulas(variant, changed) == formulas.expected_formulas(variant, RB)
    assert formulas_sheets.body_formulas(formulas.context(changed)) == \
        formulas_sheets.body_formulas(formulas.context(RB))


def test_message_table_is_rendered_per_period(tmp_path):
    def cap_2026(rules):
        p = rules / "parameters.yaml"
        text = p.read_text(encoding="utf-8")
        p.write_text(text.replace("      - {from: 2025, value: 5000000}",
                                  "      - {from: 2025, value: 5000000}\n      - {from: 2026, value: 6000000}"),
                     encoding="utf-8")
    rb = _rules_copy(tmp_path, cap_2026)
    capped = dict(formulas.message_table(rb))["CAP-COORD-DEDICATED:capped"]
    assert len(capped) == 2 and "5,000,000" in capped[0] and "6,000,000" in capped[1]


# ---- the builder writes exactly these formulas --------------------------------------------------

def _cell_formulas(path: Path, sheets) -> dict:
    wb = openpyxl.load_workbook(path)
    out = {}
    for sheet, first, count, cols in sheets:
        ws = wb[sheet]
        for r in range(first, first + count):
            for c in cols:
                if c.kind in ("calc", "helper"):
                    out[(sheet, r, c.key)] = ws[f"{c.letter}{r}"].value
    return out


@pytest.mark.parametrize("variant", formulas.VARIANTS)
def test_the_built_template_holds_the_module_formulas(tmp_path, variant):
    path = templates.build_workbook(tmp_path / f"{variant}.xlsx", variant, RB)
    got = _cell_formulas(path, ((L.SHEET_LINES, L.LINES_FIRST_ROW, L.LINES_COUNT, L.LINE_COLUMNS),
                                (L.SHEET_COORD, L.COORD_FIRST_ROW, L.COORD_COUNT, LAY.coord_columns)))
    assert got == formulas.expected_formulas(variant, RB)


# ---- Excel's limits (issue 10 item 6) ---------------------------------------------------------

MAX_FORMULA, MAX_NESTING, MAX_TEXT, MAX_VALIDATION = 8192, 64, 255, 255


def _nesting(formula: str) -> int:
    depth = deepest = 0
    for t in Tokenizer(formula).items:
        if t.type == Token.FUNC and t.subtype == Token.OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif t.type == Token.FUNC and t.subtype == Token.CLOSE:
            depth -= 1
    assert depth == 0, formula[:200]
    return deepest


def _texts(formula: str) -> list[str]:
    return [t.value for t in Tokenizer(formula).items if t.type == Token.OPERAND and t.subtype == Token.TEXT]


def _every_formula(path: Path):
    wb = openpyxl.load_workbook(path)
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    yield f"{ws.title}!{c.coordinate}", c.value
    for name, dn in wb.defined_names.items():
        yield name, "=" + dn.attr_text


def test_nesting_measure_counts_functions():
    assert _nesting("=IF(A1,IF(B1,SUM(C1),0),1)") == 3 and _nesting("=A1+1") == 0
    assert _texts('=IF(A1="x","a""b",1)') == ['"x"', '"a""b"']


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("limits")
    templates.build_all(out, RB)
    return out


def _files(folder: Path) -> list[Path]:
    return [folder / L.file_name(v) for v in L.VARIANTS] + [folder / "examples" / L.SAMPLE_NAME]


def test_every_formula_is_within_excels_limits(built):
    counted = longest = deepest = 0
    for path in _files(built):
        for where, f in _every_formula(path):
            assert len(f) <= MAX_FORMULA, (path.name, where, len(f))
            depth = _nesting(f)
            assert depth <= MAX_NESTING, (path.name, where, depth)
            for text in _texts(f):
                assert len(text) - 2 <= MAX_TEXT, (path.name, where, text[:60])
            counted, longest, deepest = counted + 1, max(longest, len(f)), max(deepest, depth)
    assert counted > 9_000  # 3 files × (300 lines × 9 + 50 people × 10 + 集計 + 団体情報) + names
    print(f"{counted} formulas; longest {longest} characters; deepest nesting {deepest}")


def test_every_validation_formula_is_within_255_characters(built):
    checked = 0
    for path in _files(built):
        wb = openpyxl.load_workbook(path)
        for ws in wb:
            for dv in ws.data_validations.dataValidation:
                for f in (dv.formula1, dv.formula2):
                    if f is not None:
                        assert len(f) <= MAX_VALIDATION, (path.name, ws.title, str(dv.sqref), len(f))
                        checked += 1
    assert checked >= 3 * 20
    # the 団体コード rule is one of them, and it is the short form
    code = next(dv for dv in openpyxl.load_workbook(_files(built)[0])[L.SHEET_BODY].data_validations.dataValidation
                if str(dv.sqref) == L.BODY_CELLS["body_code"])
    assert "MOD(11-MOD(" in code.formula1 and len(code.formula1) < 200


def test_validation_specs_are_within_255_characters_before_any_file_is_written():
    specs = formulas_sheets.body_validations() + formulas_sheets.lines_validations() \
        + formulas_sheets.coord_validations(LAY)
    for rng, opts in specs:
        for k in ("value", "source", "minimum", "maximum"):
            if isinstance(opts.get(k), str):
                assert len(opts[k].lstrip("=")) <= MAX_VALIDATION, (rng, k)


def test_no_sheet_prints_gridlines(built):
    for path in _files(built):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.startswith("xl/worksheets/sheet"):
                    assert b"<printOptions gridLines" not in z.read(name), (path.name, name)
