"""workbook_read gives, from one pass, exactly what openpyxl's two read-only passes give."""
from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tokkou import workbook_read

HERE = Path(__file__).parent
FIELD = HERE.parent.parent / "shared" / "field" / "review"
SAMPLES = sorted((HERE.parent / "workbook_templates").rglob("*.xlsx"))
FIELD_FILES = sorted(FIELD.glob("*.xlsx")) if FIELD.is_dir() else []


def rows_of(ws, **kw):
    return list(ws.iter_rows(values_only=True, **kw))


def norm(rows):
    """Formula objects (array, data table) by their content; everything else as is, with its type."""
    def one(v):
        if hasattr(v, "ref") and hasattr(v, "text"):
            return ("ArrayFormula", v.ref, v.text)
        if type(v).__name__ == "DataTableFormula":
            return ("DataTableFormula", dict(v))
        return (type(v), v)
    return [[one(v) for v in r] for r in rows]


RANGES = [{}, dict(min_row=5, max_row=400, max_col=23), dict(min_row=3, max_row=9, min_col=3, max_col=3),
          dict(min_row=2, max_row=2000, max_col=40), dict(min_row=1, max_row=1)]


def assert_same_as_openpyxl(path: Path) -> None:
    try:
        values = load_workbook(path, read_only=True, data_only=True)
        formulas = load_workbook(path, read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - a file openpyxl cannot open is no reference
        pytest.skip("openpyxl cannot open it either")
    book = workbook_read.Book(path)
    try:
        assert book.sheetnames == values.sheetnames
        for name in values.sheetnames:
            if not hasattr(values[name], "iter_rows"):
                continue  # a chartsheet
            assert book[name].max_row == values[name].max_row
            for kw in RANGES:
                assert rows_of(book[name], **kw) == rows_of(values[name], **kw), (name, kw)
                got = rows_of(book.formula_view()[name], **kw)
                assert norm(got) == norm(rows_of(formulas[name], **kw)), (name, kw)
    finally:
        book.close()
        values.close()
        formulas.close()


@pytest.mark.parametrize("path", SAMPLES + FIELD_FILES, ids=lambda p: p.name)
def test_values_and_formulas_equal_openpyxl(path):
    assert_same_as_openpyxl(path)


def test_the_field_files_are_there():
    if FIELD.is_dir():  # shared/ is beside the repository here and in CI
        assert len(FIELD_FILES) >= 5


def test_cells_of_every_kind(tmp_path):
    """Inline strings, booleans, errors, dates, times, shared and array formulas, gaps in rows and columns."""
    from datetime import date, datetime, time

    import xlsxwriter
    path = tmp_path / "kinds.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("S")
    ws.write_string(0, 0, "テキスト")
    ws.write_number(0, 2, 3300000.0000000005)
    ws.write_number(0, 3, 12)
    ws.write_boolean(1, 0, True)
    ws.write_formula(1, 1, "=1/0", None, "#DIV/0!")
    ws.write_formula(1, 2, '="a"&"b"', None, "ab")
    ws.write_datetime(3, 0, datetime(2025, 4, 1, 12, 30), wb.add_format({"num_format": "yyyy/m/d h:mm"}))
    ws.write_datetime(3, 1, date(2025, 4, 1), wb.add_format({"num_format": "yyyy/m/d"}))
    ws.write_datetime(3, 2, time(9, 15), wb.add_format({"num_format": "h:mm"}))
    ws.write_array_formula(6, 0, 7, 0, "{=ROW(A1:A2)}", None, 1)
    ws.write_formula(9, 4, "=SUM(A1:B2)", None, 7)
    wb.add_worksheet("空")
    wb.close()
    assert_same_as_openpyxl(path)
    # shared formulas (as Excel saves filled-down formulas) and an inline string
    shared = tmp_path / "shared.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(shared, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<c r="E10"><f>SUM(A1:B2)</f><v>7</v></c>',
                                    b'<c r="E10"><f t="shared" ref="E10:F10" si="0">SUM(A1:B2)</f><v>7</v></c>'
                                    b'<c r="F10"><f t="shared" si="0"/><v>8</v></c>'
                                    b'<c r="H10" t="inlineStr"><is><t>inline</t></is></c>')
                assert b't="shared"' in data
            dst.writestr(info, data)
    assert_same_as_openpyxl(shared)


def test_a_dtd_is_refused_before_any_cell(tmp_path):
    src = SAMPLES[0]
    bad = tmp_path / "dtd.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet3.xml":
                head = b'<?xml version="1.0" encoding="UTF-8"?>' + b"<!--" + b" " * 70000 + b"-->" \
                    + b'<!DOCTYPE x [<!ENTITY a "aaaa">]>'
                data = head + data[data.index(b"?>") + 2:]
            zout.writestr(info, data)
    book = workbook_read.Book(bad)
    with pytest.raises(workbook_read.DTDForbidden):
        book["事業"]
    from tokkou.template_reader import xml_forbidden
    try:
        book["事業"]
    except Exception as exc:  # noqa: BLE001
        assert xml_forbidden(exc)  # review names it as an XML bomb / external reference


# ---- review with one read = review with openpyxl's two reads ------------------------------------

def _review_cases(tmp: Path) -> list[Path]:
    import workbooks as W
    makers = [W.typed_over, W.changed_formula, W.changed_cached, W.deleted_row, W.wrong_code,
              W.text_in_number_cell, W.renamed_sheet, W.missing_sheet, W.not_xlsx, W.truncated, W.zip_bomb,
              W.entity_bomb, W.with_macros, W.old_rulebook, W.late_doctype, W.utf16_xxe]
    out = [W.SAMPLE] + [f for f in FIELD_FILES]
    for make in makers:
        out.append(make(tmp / f"{make.__name__}.xlsx"))
    return out


def _findings(fr) -> list[dict]:
    """Findings as plain dicts; a formula object (array formula) by its content, not its identity."""
    return [{k: norm([[v]])[0][0] if k in ("found", "expected") else v for k, v in vars(f).items()}
            for f in fr.findings]


class _OpenpyxlBook:
    """What review opened before workbook_read: openpyxl, read-only, cached values (formulas read again later)."""

    def __new__(cls, path, **_):
        wb = load_workbook(path, read_only=True, data_only=True)
        wb.source_path = path  # the formulas are then read again from the file, by openpyxl
        return wb


def test_review_findings_and_lines_are_the_same_as_with_two_openpyxl_reads(tmp_path, monkeypatch):
    import pandas as pd

    from tokkou import review
    paths = _review_cases(tmp_path)
    new = [review.review_file(p) for p in paths]
    monkeypatch.setattr(review.workbook_read, "Book", _OpenpyxlBook)
    two_reads = review._read_formulas
    monkeypatch.setattr(review, "_read_formulas", lambda wb, lay, **kw: two_reads(wb.source_path, lay))
    old = [review.review_file(p) for p in paths]
    for a, b in zip(new, old):
        assert _findings(a) == _findings(b), a.file
        assert (a.readable, a.body_name, a.body_code, a.variant, a.rulebook_hash) == \
            (b.readable, b.body_name, b.body_code, b.variant, b.rulebook_hash)
        if a.lines is None or b.lines is None:
            assert a.lines is b.lines is None
        else:
            pd.testing.assert_frame_equal(a.lines, b.lines)
    assert any(f.rule_id == "REVIEW-FORMULA" for r in new for f in r.findings)  # the cases do find things
