"""What a new user of `tokkou review` reads: Japanese headers, dates named as dates, a file that is not
the form said so, and a count of reviewed files that matches the progress bar."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from openpyxl import load_workbook

from tokkou import normalize, rulebook
from tokkou.review import identity, report_tables, review_all, review_file, write_xlsx

FIELD = Path(__file__).parent / "field"


def test_every_header_of_the_lines_sheet_is_japanese(tmp_path):
    reviews = review_all([FIELD / "review" / "libreoffice_resaved_sample.xlsx"], jobs=1, progress=False)
    tables = report_tables(reviews, rulebook.get())
    out = tmp_path / "r.xlsx"
    write_xlsx(tables, identity(rulebook.get(), tables), out)
    wb = load_workbook(out, read_only=True)
    for sheet in ("明細", "指摘"):
        head = next(wb[sheet].iter_rows(values_only=True))
        assert [h for h in head if re.search(r"[a-z_]", str(h))] == [], sheet  # keys such as project_name
    head = next(wb["明細"].iter_rows(values_only=True))
    assert {"事業名", "氏名・役職", "事業費", "コーディネーターID"} <= set(head)


def test_a_date_in_an_amount_cell_is_named_as_a_date():
    (f,) = [f for f in review_file(FIELD / "review" / "date_typed_in_cost_E5.xlsx").findings if f.rule_id == "INPUT"]
    assert "の値「2025/4/1」: 日付が入力されています（金額を入力してください）" in f.message
    assert "datetime" not in f.message and "00:00:00" not in f.message


def test_no_python_type_name_in_a_value_problem():
    assert normalize.parse_yen(dt.datetime(2025, 4, 1))[1] == "日付が入力されています（金額を入力してください）"
    assert normalize.parse_yen(dt.time(9, 30))[1] == "時刻が入力されています（金額を入力してください）"
    assert normalize.parse_decimal(dt.date(2025, 4, 1))[1] == "日付が入力されています（数値を入力してください）"
    assert normalize.parse_decimal(object())[1] == normalize.NOT_A_NUMBER
    cost = normalize.BY_KEY["cost"]
    text = normalize.value_problem(cost, dt.datetime(2025, 4, 1, 9, 5), "x")
    assert "「2025/4/1 9:05」" in text
    _, problem = normalize._parse_cell(normalize.parse_yen, [1, 2])
    assert problem and not re.search(r"\b(list|dict|tuple|datetime)\b", problem)


def test_a_workbook_that_is_not_the_form_says_so_and_points_to_calc():
    fs = review_file(FIELD / "calc" / "title_rows_above_header.xlsx").findings
    assert [(f.rule_id, f.severity) for f in fs] == [("REVIEW-SHEET", "error")]
    assert "様式ではない" in fs[0].message and "tokkou calc" in fs[0].message and "事業一覧" in fs[0].message
    assert "名前を変えていませんか" not in fs[0].message


def test_an_unreadable_file_is_counted_once_in_the_terminal_summary(tmp_path):
    """A Strict Open XML file cannot be read and has its error finding: it counts as unreadable only,
    not also as a file with error findings; a readable file with an input error counts there."""
    import shutil

    from tokkou.review import summary_counts
    folder = tmp_path / "returns"
    folder.mkdir()
    shutil.copy(FIELD / "review" / "strict_open_xml_sample.xlsx", folder / "a_strict.xlsx")
    shutil.copy(FIELD / "review" / "date_typed_in_cost_E5.xlsx", folder / "b_date.xlsx")
    reviewed = review_all(sorted(folder.iterdir()), jobs=1, progress=False)
    counts = summary_counts(reviewed, 0, report_tables(reviewed, rulebook.get()))
    assert [fr.readable for fr in reviewed] == [False, True]
    assert all(any(f.severity == "error" for f in fr.findings) for fr in reviewed)
    assert (counts["unread"], counts["with_errors"]) == (1, 1)


def test_a_date_found_in_an_amount_cell_is_shown_as_offices_write_it():
    """指摘's ブックの値 (JSON `found`) of a date typed into 事業費 reads 2025/4/1 as README says, not ISO."""
    fr = review_file(FIELD / "review" / "date_typed_in_cost_E5.xlsx")
    found = [f.found for f in fr.findings if f.cell == "E5"]
    assert found == ["2025/4/1"], [(f.cell, f.found) for f in fr.findings]
