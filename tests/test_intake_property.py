"""Property tests of the intake (issue 9 acceptance):

- the shape an office gives its table (title rows above, a trailing delimiter, registered synonyms
  as headers, the table on a second sheet after an instructions sheet) never changes a line's result;
- no amount is ever produced from a cell the parser could not read — in calc, EVALUATE_TABLE and
  the row UDFs alike (such a line is `error`).
"""
from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
from hypothesis import HealthCheck, given, settings, strategies as st

from officejs import XlwingsError, call_raw
from tokkou import calc, columns, rulebook, tabular
from tokkou.normalize import parse_yen

RB = rulebook.get()
HEADERS = ["団体コード", "団体名", "年度", "区分", "経費項目", "事業費", "特定財源", "按分率", "主目的",
           "コーディネーターID", "従事形態"]
# registered synonyms (columns.py): the renamed header must mean the same column
SYNONYMS = {"団体名": "市町村名", "区分": "事業区分", "経費項目": "内容", "事業費": "金額", "特定財源": "財源内訳",
            "コーディネーターID": "コーディネーター氏名", "従事形態": "専任・兼務"}
for ja, syn in SYNONYMS.items():
    col = next(c for c in columns.INPUTS if c.ja == ja)
    assert syn in col.synonyms, (ja, syn)

BODIES = [("202142", "茅野市"), ("203611", "富士見町"), ("", "茅野市"), ("202142", "")]
line = st.fixed_dictionaries({
    "body": st.sampled_from(BODIES),
    "年度": st.sampled_from(["令和7", "R7", "2025", "2025/4/1", "令和7年度", "R6"]),
    "区分": st.sampled_from(["①", "②", "③", "④", "⑤", "1", "3"]),
    "経費項目": st.sampled_from(["", "C1-01", "報償費", "相談窓口の設置", "移住体験住宅の改修", "星空観察会"]),
    "事業費": st.one_of(st.integers(0, 9_000_000).map(str), st.sampled_from(["１２０万円", "1,200千円", "abc", "-"])),
    "特定財源": st.sampled_from(["", "0", "100000", "-", "5万円"]),
    "按分率": st.sampled_from(["", "0.5", "3割", "30%"]),
    "主目的": st.sampled_from(["", "二地域居住・関係人口", "観光・産業振興", "移住・定住"]),
    "person": st.sampled_from([("", ""), ("山田", "専任"), ("佐藤", "兼務")]),
})


def rows_of(lines):
    out = []
    for ln in lines:
        code, name = ln["body"]
        pid, emp = ln["person"]
        out.append([code, name, ln["年度"], ln["区分"], ln["経費項目"], ln["事業費"], ln["特定財源"], ln["按分率"],
                    ln["主目的"], pid, emp])
    return out


def csv_text(header, rows, trailing=False, titles=0):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for i in range(titles):
        w.writerow([f"令和7年度 事業一覧 {i + 1}"] if i % 2 == 0 else ["", "", "（単位：円）"])
    w.writerow(header)
    for r in rows:
        w.writerow(r + ([""] if trailing else []))
    return buf.getvalue()


RESULT = ["eligible_cost", "measure_amount", "status", "reasons"]


def results(path):
    t = tabular.read(path)
    out, blank = calc.evaluate_table(t, RB)
    return out[RESULT].astype(str).values.tolist()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line, min_size=1, max_size=8), titles=st.integers(1, 4))
def test_table_shape_never_changes_a_result(lines, titles, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shape")
    rows = rows_of(lines)
    plain = tmp / "plain.csv"
    plain.write_text(csv_text(HEADERS, rows), encoding="utf-8")
    want = results(plain)
    variants = {
        "titles.csv": csv_text(HEADERS, rows, titles=titles),
        "trailing.csv": csv_text(HEADERS, rows, trailing=True),
        "synonyms.csv": csv_text([SYNONYMS.get(h, h) for h in HEADERS], rows),
    }
    for name, text in variants.items():
        (tmp / name).write_text(text, encoding="utf-8")
        assert results(tmp / name) == want, name
    wb = openpyxl.Workbook()
    wb.active.title = "記入要領"
    for r in (["この表の書き方"], ["年度は令和7のように"], ["区分は①〜⑤"]):
        wb.active.append(r)
    ws = wb.create_sheet("一覧")
    for _ in range(titles):
        ws.append(["令和7年度 二地域居住施策 一覧"])
    ws.append(HEADERS)
    for r in rows:
        ws.append([v if v != "" else None for v in r])
    wb.save(tmp / "second_sheet.xlsx")
    assert results(tmp / "second_sheet.xlsx") == want


bad_cells = st.one_of(
    st.text(min_size=1, max_size=12),
    st.sampled_from(["1,00", "100 200", "1_000", "12ドル", "1.5", "1.23457E+11", "▲500", "1e999999999",
                     "1,2,3", "1.000.000", "五万円", "#N/A", "0.0001千円", "1200.5"]),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=60, deadline=None)
@given(cell=bad_cells)
def test_no_amount_from_a_cell_the_parser_cannot_read(cell):
    value, problem = parse_yen(cell)
    frame = pd.DataFrame({"団体区分": ["市町村"], "年度": [2025], "区分": ["①"], "事業費": [cell]}, dtype=object)
    t = calc.Table(frame)
    out, _ = calc.evaluate_table(t, RB)
    table = call_raw("EVALUATE_TABLE", [["団体区分", "年度", "区分", "事業費"], ["市町村", 2025, "①", cell]])
    try:
        row = call_raw("MEASURE_AMOUNT", "①", cell)
    except XlwingsError:  # the cell shows #VALUE! with the reason
        row = [["#VALUE!"]]
    blank = isinstance(cell, str) and not cell.strip()
    if blank:
        return  # a blank cost is "not entered": covered by the required-column tests
    if problem or value is None:
        assert out["status"][0] == "error" and pd.isna(out["measure_amount"][0]), (cell, out.iloc[0].to_dict())
        assert table[1][3] == "エラー" and table[1][0] == "" and table[1][2] == "", (cell, table)
        assert isinstance(row[0][0], dict) or row[0][0] in ("#N/A", "#VALUE!") or isinstance(row[0][0], str), (cell, row)
        assert not isinstance(row[0][0], (int, float)) or isinstance(row[0][0], bool), (cell, row)
    else:
        assert out["status"][0] != "error"
        assert int(out["measure_amount"][0]) == value // 2 == table[1][2] == row[0][0], (cell, value)
