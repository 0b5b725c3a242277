"""A new user's first hour with `tokkou calc` (issue 13): the README's filled template gives a
Japanese result, dates stay dates, blanks stay blank, per-body totals are ordered and can be written."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workbook_templates" / "examples" / "nichiiki_kankei_sample.xlsx"


def tokkou(*args):
    return subprocess.run([sys.executable, "-m", "tokkou.cli", *map(str, args)], capture_output=True, text=True)


def _sheet(path: Path):
    return openpyxl.load_workbook(path).active


def test_a_filled_template_gives_a_japanese_result_and_says_where_it_read(tmp_path):
    out = tmp_path / "結果.xlsx"
    r = tokkou("calc", TEMPLATE, "-o", out)
    assert r.returncode == 0, r.stderr
    ws = _sheet(out)
    head = [c.value for c in ws[1]]
    assert head[:5] == ["シート", "行", "セル", "団体名", "団体コード"]
    assert {"事業名", "事業費", "氏名・役職", "対象経費", "措置額", "判定", "理由", "計算過程"} <= set(head)
    assert all(not h.isascii() for h in head), head
    statuses = {row[head.index("判定")] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert statuses == {"対象", "一部対象", "対象外"}
    note = " ".join(r.stdout.split())
    assert "記入済み様式のシート「事業」「コーディネーター」から読みました" in r.stdout.replace("\n", "")
    assert "4行目" in note and "1行目" not in note
    en = tmp_path / "en.xlsx"
    assert tokkou("calc", TEMPLATE, "-o", en, "--lang", "en", "--quiet").returncode == 0
    head_en = [c.value for c in _sheet(en)[1]]
    assert head_en[:3] == ["sheet", "row", "cell"] and "measure_amount" in head_en and "status" in head_en


def test_a_date_stays_a_date_and_a_csv_blank_stays_blank(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["団体名", "年度", "区分", "事業費", "備考", "確認日"])
    ws.append(["長野県茅野市", dt.datetime(2025, 4, 1), "1", 1000000, None, dt.datetime(2025, 6, 3, 9, 30)])
    ws["B2"].number_format = '[$-ja-JP-x-gannen]ggge"年度"'  # shows 令和7年度
    ws["F2"].number_format = "yyyy/m/d h:mm"
    wb.save(tmp_path / "d.xlsx")
    assert tokkou("calc", tmp_path / "d.xlsx", "-o", tmp_path / "d_out.xlsx", "--quiet").returncode == 0
    out = _sheet(tmp_path / "d_out.xlsx")
    row, head = out[2], [c.value for c in out[1]]
    assert row[head.index("判定")].value == "対象"  # the date read as 年度 2025
    assert row[1].value == dt.datetime(2025, 4, 1) and row[1].is_date and "yyyy" in row[1].number_format
    assert row[5].value == dt.datetime(2025, 6, 3, 9, 30) and row[5].is_date
    assert row[4].value is None
    (tmp_path / "b.csv").write_text("団体名,年度,区分,事業費,備考\n長野県茅野市,2025,1,1000000,\n", encoding="utf-8")
    assert tokkou("calc", tmp_path / "b.csv", "-o", tmp_path / "b_out.xlsx", "--quiet").returncode == 0
    ws = _sheet(tmp_path / "b_out.xlsx")
    assert ws["E2"].value is None and ws["E2"].data_type == "n"  # truly blank, not an empty string
    with __import__("zipfile").ZipFile(tmp_path / "b_out.xlsx") as z:
        assert b'r="E2"' not in z.read("xl/worksheets/sheet1.xml")


def _lines(path: Path) -> Path:
    rows = ["団体コード,団体名,年度,区分,事業費"]
    codes = ["202142", "011002", "012025", "012033", "012041", "012050", "012068", "012076"]
    for year in ("R8", "2025", ""):
        rows += [f"{c},,{year},1,1000500" for c in codes]
    rows.append(",長野県富士見町,,1,1000")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_body_totals_are_ordered_labelled_and_written_in_full(tmp_path):
    src = _lines(tmp_path / "lines.csv")
    r = tokkou("calc", src, "-o", tmp_path / "out.csv")
    assert r.returncode == 0, r.stderr
    shown = [ln.strip() for ln in r.stdout.splitlines() if "千円" in ln and "→" in ln]
    assert shown[:3] == ["長野県茅野市 2025年度（令和7年度）: 500,250円 → 500千円",
                         "長野県茅野市 2026年度（令和8年度）: 500,250円 → 500千円",
                         "長野県茅野市 （年度不明）: 0円 → 0千円"]
    assert "すべての団体・年度は --totals 団体別.csv で書き出せます" in r.stdout
    assert "出力ファイルの措置額列" not in r.stdout
    totals = tmp_path / "団体別.csv"
    r = tokkou("calc", src, "-o", tmp_path / "out.csv", "--totals", totals)
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(totals, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert list(df.columns) == ["団体コード", "団体名", "年度", "年度表示", "行数", "措置額合計（円）", "措置額合計（千円）"]
    assert len(df) == 25  # 8 bodies × 3 years + 富士見町 without a year
    assert df.iloc[0].tolist() == ["202142", "長野県茅野市", "2025", "2025年度（令和7年度）", "1", "500250", "500"]
    assert df.iloc[2][["年度", "年度表示"]].tolist() == ["", "（年度不明）"]
    assert df.iloc[-1][["団体名", "年度表示", "措置額合計（円）"]].tolist() == ["長野県富士見町", "（年度不明）", "0"]
    xlsx = tmp_path / "団体別.xlsx"
    assert tokkou("calc", src, "-o", tmp_path / "out.csv", "--totals", xlsx, "--quiet").returncode == 0
    assert [c.value for c in _sheet(xlsx)[2]][:3] == ["202142", "長野県茅野市", 2025]


def test_totals_never_over_an_input_or_the_output(tmp_path):
    src = _lines(tmp_path / "lines.csv")
    before = src.read_bytes()
    for place in (src, tmp_path / "out.csv", tmp_path / "t.json"):
        r = tokkou("calc", src, "-o", tmp_path / "out.csv", "--totals", place)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (place, r.stderr)
    assert src.read_bytes() == before and not (tmp_path / "out.csv").exists()
