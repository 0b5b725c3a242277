"""Issue 11 (3): CSV and XLSX output that cannot inject or silently cut.

Every output is read back by LibreOffice as a user would open it — CSV with formula evaluation on —
and must hold no formula cell and exactly the records written.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tokkou import cellsafe
from tokkou.tabular import InputError, write_table

import lo  # tests/lo.py

FIELD = Path(__file__).parent / "field" / "reliability"
# CSV import as a user gets it: UTF-8, comma, quotes, and formulas evaluated (token 13)
CSV_FILTER = "CSV:44,34,76,1,,0,false,true,false,false,false,-1,true"
HOSTILE = ["=1+2", "+1+2", "-1+2", "@SUM(A1)", "\t=1+2", "\r=1+2", "\n=1+2", "=cmd|' /C calc'!A0",
           "abc\r=1+2", "abc\n=HYPERLINK(\"http://x\")", "a\r\nb", "-", "+", "-1", "+5", "1,000", "'quoted",
           "=", "ok", "x" * 300, "日本語\r\n=1"]


need_soffice = lo.need_soffice


def libreoffice_cells(src: Path, tmp: Path) -> list[list[openpyxl.cell.Cell]]:
    """The first sheet of src as LibreOffice reads it (CSV: formulas evaluated), saved as .xlsx."""
    need_soffice()
    out = tmp / "lo"
    with tempfile.TemporaryDirectory(prefix="tokkou-lo-") as t:
        cmd = [lo.soffice(), f"-env:UserInstallation={lo.make_profile(Path(t) / 'p')}", "--headless",
               "--norestore", "--nolockcheck"]
        if src.suffix == ".csv":
            cmd.append(f"--infilter={CSV_FILTER}")
        subprocess.run(cmd + ["--convert-to", "xlsx", "--outdir", str(out), str(src)], capture_output=True,
                       timeout=180, check=True)
    ws = openpyxl.load_workbook(out / f"{src.stem}.xlsx").worksheets[0]
    return [list(r) for r in ws.iter_rows() if any(c.value is not None for c in r)]


def as_text(v) -> str:
    """A cell for comparison: line breaks as LF (LibreOffice's), number text by its value."""
    if v is None:
        return ""
    if isinstance(v, str) and cellsafe._NUMBER.fullmatch(v):
        v = float(v.replace(",", ""))
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).replace("\r\n", "\n").replace("\r", "\n")


def assert_no_formula_and_same_records(cells, expected: list[list[str]]):
    formulas = [c.coordinate for row in cells for c in row if c.data_type == "f"]
    assert formulas == []
    starts = [c.coordinate for row in cells for c in row
              if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@")) and len(c.value) > 1
              and not cellsafe._NUMBER.fullmatch(c.value)]
    assert starts == []
    got = [[as_text(c.value) for c in row] for row in cells]
    width = max(len(r) for r in expected)
    got = [(r + [""] * width)[:width] for r in got]
    assert got == [[as_text(v) for v in r] for r in expected]


def csv_records(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def calc(src: Path, out: Path):
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", str(src), "-o", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize("name", ["cr_in_cell.csv", "formula_header.csv"])
def test_field_files_read_back_by_libreoffice_hold_no_formula(tmp_path, name):
    out = tmp_path / "out.csv"
    calc(FIELD / name, out)
    records = csv_records(out)
    assert len(records) == len(pd.read_csv(FIELD / name, dtype=str)) + 1  # the CR stayed inside its cell
    assert_no_formula_and_same_records(libreoffice_cells(out, tmp_path), records)


def test_cr_stays_in_its_cell_and_header_is_escaped(tmp_path):
    out = tmp_path / "out.csv"
    calc(FIELD / "cr_in_cell.csv", out)
    rows = csv_records(out)
    assert len(rows) == 3 and rows[1][4] == "abc\r=1+2" and rows[2][4] == "ok"
    calc(FIELD / "formula_header.csv", out)
    assert csv_records(out)[0][4] == "'=2+3"


def hostile_frame() -> pd.DataFrame:
    return pd.DataFrame({"=2+3": HOSTILE, "@head\r=1": list(reversed(HOSTILE)),
                         "n": list(range(len(HOSTILE)))})


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_every_output_format_read_back_holds_no_formula_and_the_same_records(tmp_path, suffix):
    df = hostile_frame()
    out = tmp_path / f"out{suffix}"
    write_table(df, out)
    cells = libreoffice_cells(out, tmp_path)
    if suffix == ".csv":
        expected = csv_records(out)
    else:  # xlsx keeps the exact text, marked as text (quote prefix), never a formula
        expected = [list(df.columns)] + df.astype(object).values.tolist()
        ws = openpyxl.load_workbook(out).active
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
        assert ws["A1"].value == "=2+3" and ws["A1"].quotePrefix
        cells = [[c for c in row] for row in cells]
        for row in cells:  # LibreOffice shows the exact text too
            for c in row:
                assert c.data_type != "f"
        got = [[as_text(c.value) for c in row] for row in cells]
        assert got == [[as_text(v) for v in r] for r in expected]
        return
    assert_no_formula_and_same_records(cells, expected)


def test_json_output_keeps_values_exactly(tmp_path):
    df = hostile_frame()
    out = tmp_path / "out.json"
    write_table(df, out)
    assert [r["=2+3"] for r in json.loads(out.read_text(encoding="utf-8"))] == HOSTILE


@pytest.mark.parametrize("v, escaped", [("=1+2", "'=1+2"), ("-1+2", "'-1+2"), ("@x", "'@x"), ("\t=1", "'\t=1"),
                                        ("-1", "-1"), ("+5", "+5"), ("-1,000.5", "-1,000.5"), ("-", "-"),
                                        ("ok=1", "ok=1"), (3, 3)])
def test_escape_text(v, escaped):
    assert cellsafe.escape_text(v) == escaped


def test_xlsx_cell_over_32767_characters_is_refused_not_cut(tmp_path):
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"previous")
    df = pd.DataFrame({"memo": ["ok", "x" * 40_000]})
    with pytest.raises(InputError, match="32,767"):
        write_table(df, out)
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]  # no temp file left
    write_table(df, tmp_path / "out.csv")  # CSV has no such limit: nothing cut
    assert pd.read_csv(tmp_path / "out.csv")["memo"][1] == "x" * 40_000


def test_xlsx_too_many_columns_or_rows_is_refused(tmp_path):
    with pytest.raises(InputError, match="16,384"):
        write_table(pd.DataFrame([[0] * 16_385]), tmp_path / "wide.xlsx")
    with pytest.raises(InputError, match="1,048,576"):
        write_table(pd.DataFrame({"a": range(1_048_576)}), tmp_path / "long.xlsx")
    assert list(tmp_path.iterdir()) == []
    write_table(pd.DataFrame({"a": range(1_048_575)}).head(3), tmp_path / "ok.xlsx")


def test_calc_to_xlsx_with_an_over_long_cell_exits_2_in_japanese(tmp_path):
    src = tmp_path / "in.json"
    src.write_text(json.dumps([{"団体区分": "市町村", "年度": 2025, "区分": 1, "事業費": 1000, "メモ": "y" * 33_000}]),
                   encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", str(src), "-o", str(tmp_path / "o.xlsx")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "32,767" in r.stderr + r.stdout and "Traceback" not in r.stderr
    assert not (tmp_path / "o.xlsx").exists()


def test_xlsx_numbers_that_excel_cannot_hold_stay_text(tmp_path):
    out = tmp_path / "o.xlsx"
    write_table(pd.DataFrame({"id": [12345678901234567890, 5], "f": [float("inf"), 1.5],
                              "amount": pd.array([None, 3], dtype="Int64")}), out)
    ws = openpyxl.load_workbook(out).active
    assert ws["A2"].value == "12345678901234567890" and ws["A3"].value == 5
    assert ws["B2"].value == "inf" and ws["C2"].value is None and ws["C3"].value == 3
