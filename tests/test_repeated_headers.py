"""A header an office wrote twice (事業費 twice, メモ twice) comes back as written in the .csv and .xlsx
outputs (never 事業費.1), with every cell in its place; the terminal lists an unread header once."""
from __future__ import annotations

import csv
import subprocess
import sys

import openpyxl
import pytest

HEADER = ["団体名", "年度", "区分", "事業費", "事業費", "メモ", "メモ", "事業費.1"]
ROW = ["茅野市", "2025", "1", "1000", "1000", "a", "b", "c"]


def _input(tmp_path, kind):
    if kind == "csv":
        p = tmp_path / "in.csv"
        p.write_text(",".join(HEADER) + "\n" + ",".join(ROW) + "\n", encoding="utf-8")
    else:
        p = tmp_path / "in.xlsx"
        wb = openpyxl.Workbook()
        wb.active.append(HEADER)
        wb.active.append(ROW)
        wb.save(p)
    return p


def _written(out):
    if out.suffix == ".csv":
        with open(out, encoding="utf-8-sig", newline="") as fh:
            return list(csv.reader(fh))
    return [[c for c in r] for r in openpyxl.load_workbook(out).active.iter_rows(values_only=True)]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_repeated_headers_are_written_as_the_input_had_them(tmp_path, kind, suffix):
    src = _input(tmp_path, kind)
    out = tmp_path / f"out{suffix}"
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", src, "-o", out], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = _written(out)
    assert rows[0][:len(HEADER)] == HEADER and "事業費.1.1" not in rows[0]
    assert [str(v) for v in rows[1][:len(ROW)]] == ROW
    assert rows[0][len(HEADER)] == "対象経費" and rows[1][rows[0].index("判定")] == "対象"
    unread = next(ln for ln in r.stdout.splitlines() if ln.startswith("読み取っていない列"))
    assert unread.endswith("メモ、事業費.1"), unread


def test_json_output_keeps_unique_keys(tmp_path):
    import json
    src = _input(tmp_path, "csv")
    out = tmp_path / "out.json"
    assert subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", src, "-o", out, "--quiet"]).returncode == 0
    rec = json.loads(out.read_text(encoding="utf-8"))[0]
    assert [rec[k] for k in ("事業費", "事業費.1", "メモ", "メモ.1", "事業費.1.1")] == ["1000", "1000", "a", "b", "c"]
