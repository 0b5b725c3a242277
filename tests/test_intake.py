"""Lists as offices keep them (issue 9): every field file in tests/field/calc gives the right result.

The field files are copies of shared/field/calc (README there says what each shows).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tokkou import engine, tabular

ROOT = Path(__file__).resolve().parents[1]
FIELD = Path(__file__).parent / "field" / "calc"
SAMPLE = ROOT / "workbook_templates" / "examples" / "sample_lines.csv"


def tokkou(*args):
    return subprocess.run([sys.executable, "-m", "tokkou.cli", *map(str, args)], capture_output=True, text=True)


def calc_csv(src: Path, tmp_path: Path, *extra) -> tuple[pd.DataFrame, subprocess.CompletedProcess]:
    out = tmp_path / f"{src.stem}_out.csv"
    r = tokkou("calc", src, "-o", out, *extra)
    assert r.returncode == 0, r.stderr
    return pd.read_csv(out, dtype=str, encoding="utf-8-sig", keep_default_na=False), r


# ---- officer_list: a 町's own list, by hand from the notice -------------------------------------
# 記2(3)①: ①②③⑤ 措置額 = 対象経費 × 0.5 (財政力補正係数 1.0), floored to the yen (INTERP-ROUNDING).
# 記2(3)②: ④ per person, capped at 5,000,000 (専任) / 400,000 (兼務), the cap split over the person's lines.
# 記2(4)①: 観光 as main purpose: only the 30% share; 記2(4)②: 移住・定住 goes to the other measure.
_YAMADA = 4_800_000 + 400_000  # 山田, 専任: 5,200,000 > 5,000,000
_HAND = [
    ("対象", 1_200_000, 1_200_000 // 2),              # ① 報償費 (a 節)
    ("対象", 1_200_000, 600_000),                      # ① 旅費 「１２０万円」
    ("対象", 1_200_000, 600_000),                      # ① 需用費 「120万」
    ("対象", 2_000_000, 1_000_000),                    # ③ 委託料
    ("一部対象", 5_000_000 - 1_000_000, 2_000_000),    # ③ 移住体験住宅の改修, 特定財源 1,000,000
    ("対象", 3_000_000, 1_500_000),                    # ② 相談窓口の設置
    ("", "", ""),                                      # the blank row stays blank
    # ④ 山田: 5,000,000 split 4,800,000 : 400,000 → 4,615,384.6 / 384,615.4; the remaining yen
    # goes to the larger remainder
    ("一部対象", 4_800_000, 5_000_000 * 4_800_000 // _YAMADA + 1),
    ("一部対象", 400_000, 5_000_000 * 400_000 // _YAMADA),
    ("一部対象", 500_000, 400_000),                    # ④ 佐藤, 兼務: 500,000 > 400,000
    ("対象外", 0, 0),                                  # ③ 移住・定住 → 総行応第134号
    ("一部対象", 2_000_000 * 30 // 100, 2_000_000 * 30 // 100 // 2),  # ③ 観光, 30%
    ("対象", 1_000_000, 500_000),                      # ⑤ 空き家バンク, 年度 from --year
]


@pytest.mark.parametrize("name", ["officer_list.csv", "officer_list_cp932.csv"])
def test_officer_list_every_line_computed_as_by_hand(name, tmp_path):
    df, r = calc_csv(FIELD / name, tmp_path, "--year", "令和7")
    assert len(df) == 13
    assert list(df.columns[:12]) == ["団体名", "年度", "区分", "経費項目", "事業名", "事業費", "特定財源", "按分率",
                                     "主目的", "コーディネーターID", "従事形態", "備考"]
    got = [(s, e, m) for s, e, m in zip(df["判定"], df["対象経費"], df["措置額"])]
    want = [(s, str(e), str(m)) for s, e, m in _HAND]
    assert got == want, df[["判定", "対象経費", "措置額", "理由"]].to_string()
    assert (df.iloc[6] == "").all()  # blank row: blank, no status
    assert "節として読み" in df["理由"][0] and "C3-06" in df["理由"][4] and "C5-03" in df["理由"][12]
    assert "事業名、備考" in r.stdout and "空行 1 行" in r.stdout
    assert sum(_HAND[i][2] for i in range(13) if _HAND[i][2] != "") == 12_500_000
    assert "12,500,000" in r.stdout


def test_officer_list_without_year_only_the_blank_year_line_is_an_error(tmp_path):
    df, r = calc_csv(FIELD / "officer_list.csv", tmp_path)
    assert list(df["判定"]).count("エラー") == 1 and df["判定"][12] == "エラー" and "年度" in df["理由"][12]
    assert "1行: [入力エラー] 列「年度」" in r.stdout  # the summary's top reasons


# ---- the other field files ---------------------------------------------------------------------

def test_header_variants_read_as_synonyms(tmp_path):
    df, r = calc_csv(FIELD / "header_variants.csv", tmp_path)
    # ② 3,000,000 − 県補助金 500,000 = 2,500,000 × 0.5; ④ 高橋 兼務 600,000 capped at 400,000
    assert list(df["判定"]) == ["一部対象", "一部対象"]
    assert list(df["対象経費"]) == ["2500000", "600000"] and list(df["措置額"]) == ["1250000", "400000"]
    assert "読み取っていない列" not in r.stdout  # every header is a registered synonym


def test_unread_headers_are_named_on_the_terminal(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("団体コード,年度,区分,事業費,担当者メモ,決裁番号\n202142,R7,①,1000,山本,12\n", encoding="utf-8")
    df, r = calc_csv(src, tmp_path)
    assert "読み取っていない列（そのまま出力）: 担当者メモ、決裁番号" in r.stdout
    assert list(df.columns[:6]) == ["団体コード", "年度", "区分", "事業費", "担当者メモ", "決裁番号"]


def test_unit_in_header_scales_the_column(tmp_path):
    df, r = calc_csv(FIELD / "unit_in_header_senen.csv", tmp_path)
    assert list(df["対象経費"]) == ["1200000", "3000000"] and list(df["措置額"]) == ["600000", "1500000"]
    assert "千円単位で読みました" in r.stdout


def test_title_unit_line_scales_columns_without_their_own_unit(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("令和7年度 事業一覧\n（単位：千円）\n団体コード,年度,区分,事業費,特定財源（円）\n"
                   "202142,R7,①,1200,200000\n", encoding="utf-8")
    df, _ = calc_csv(src, tmp_path)
    assert df["対象経費"][0] == "1000000"  # 1,200千円 − 200,000円


def test_title_rows_above_header_found_and_all_columns_kept(tmp_path):
    out = tmp_path / "out.xlsx"
    r = tokkou("calc", FIELD / "title_rows_above_header.xlsx", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "シート「事業一覧」の3行目" in r.stdout
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in ws[1]]
    src = openpyxl.load_workbook(FIELD / "title_rows_above_header.xlsx").active
    assert header[:23] == [c.value for c in src[3]]
    assert header[23:28] == ["対象経費", "措置率", "措置額", "判定", "理由"]
    measures = [ws.cell(i, 26).value for i in range(2, 7)]
    # 1,200,000; 2,500,000−500,000; 8,000,000−6,000,000 (digital bond); 3,600,000; 1,800,000−300,000
    assert measures == [600_000, 1_000_000, 1_000_000, 1_800_000, 750_000]


def test_trailing_comma_never_shifts_columns(tmp_path):
    df, _ = calc_csv(FIELD / "trailing_comma_every_row.csv", tmp_path)
    assert list(df.columns[:8]) == ["団体コード", "団体名", "年度", "区分", "経費項目", "事業費", "特定財源", "主目的"]
    assert list(df.columns[8:]) == ["対象経費", "措置率", "措置額", "判定", "理由", "適用ルール", "計算過程"]
    assert list(df["措置額"]) == ["600000", "1500000", "900000"]


def test_float_noise_from_a_formula_is_that_yen(tmp_path):
    df, _ = calc_csv(FIELD / "float_noise_from_formula.xlsx", tmp_path)
    assert list(df["対象経費"]) == ["1320000", "3300000", "2000000"] and "エラー" not in set(df["判定"])


@pytest.mark.parametrize("name", ["year_as_date.csv", "year_as_date_cell.xlsx"])
def test_a_date_in_the_year_column_gives_its_fiscal_year(name, tmp_path):
    df, _ = calc_csv(FIELD / name, tmp_path)
    assert set(df["判定"]) == {"対象"}  # 2025/4/1, R7.4.1, 45748, 46112 (2026/3/31): all FY2025


def test_strict_open_xml_is_read_like_the_same_list(tmp_path):
    df, _ = calc_csv(FIELD / "strict_open_xml.xlsx", tmp_path, "--lang", "en")
    expect = engine.evaluate_frame(pd.read_csv(SAMPLE, dtype=str))
    assert list(df["measure_amount"]) == [str(v) for v in expect["measure_amount"]]
    assert list(df["status"]) == list(expect["status"])


def test_no_header_anywhere_exits_2_naming_sheets_and_headers(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "説明"
    wb.active["A1"] = "この様式の使い方"
    wb.create_sheet("データ")["A1"] = "名前"
    src = tmp_path / "none.xlsx"
    wb.save(src)
    r = tokkou("calc", src, "-o", tmp_path / "out.csv")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    for word in ("「説明」「データ」", "年度・区分・事業費", "見出し行"):
        assert word in r.stderr


def test_zero_lines_are_said_on_the_terminal(tmp_path):
    src = tmp_path / "empty.csv"
    src.write_text("団体コード,年度,区分,事業費\n", encoding="utf-8")
    r = tokkou("calc", src, "-o", tmp_path / "out.csv")
    assert r.returncode == 0 and "読み取った行がありません" in r.stdout


def test_xlsx_output_error_amounts_are_empty_numbers_are_numbers(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("団体区分,年度,区分,事業費\n市町村,R7,①,1000\n市町村,R7,①,abc\n", encoding="utf-8")
    out = tmp_path / "out.xlsx"
    assert tokkou("calc", src, "-o", out, "--quiet").returncode == 0
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in ws[1]]
    cost, measure, rate = header.index("対象経費") + 1, header.index("措置額") + 1, header.index("措置率") + 1
    assert ws.cell(2, cost).value == 1000 and ws.cell(2, measure).value == 500 and ws.cell(2, rate).value == 0.5
    assert ws.cell(3, cost).value is None and ws.cell(3, measure).value is None
    assert not any(c.value == "<NA>" for row in ws.iter_rows() for c in row)


def test_language_follows_input_and_lang_overrides_json_stays_english(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("body_type,fiscal_year,category,cost\nmunicipality,2025,1,1000\n", encoding="utf-8")
    df, _ = calc_csv(src, tmp_path)
    assert "status" in df.columns and df["status"][0] == "eligible"
    df, _ = calc_csv(src, tmp_path, "--lang", "ja")
    assert df["判定"][0] == "対象"
    jsrc = FIELD / "officer_list.csv"
    out = tmp_path / "out.json"
    assert tokkou("calc", jsrc, "-o", out, "--quiet", "--year", "R7").returncode == 0
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert {"eligible_cost", "measure_amount", "status", "reasons"} <= set(rows[0])
    assert rows[0]["status"] == "eligible"


# ---- bodies by name -----------------------------------------------------------------------------

def test_bodies_by_name_in_calc(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("団体コード,団体名,年度,区分,事業費\n,茅野市,R7,①,1000\n,長野県茅野市,R7,①,1000\n"
                   ",府中市,R7,①,1000\n202142,富士見町,R7,①,1000\n132063,府中市,R7,①,1000\n", encoding="utf-8")
    df, _ = calc_csv(src, tmp_path)
    assert list(df["判定"]) == ["対象", "対象", "エラー", "エラー", "対象"]
    assert "団体コードを入力してください" in df["理由"][2] and "東京都府中市" in df["理由"][2]
    assert "食い違って" in df["理由"][3] and "長野県茅野市" in df["理由"][3]


def test_tabular_reads_every_column_in_order_and_blank_rows_blank(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("メモ,年度,区分,事業費,,\nA,R7,①,1000,,\n,,,,,\nB,R7,②,2000,,x\n", encoding="utf-8")
    t = tabular.read(src)
    assert list(t.frame.columns) == ["メモ", "年度", "区分", "事業費", "列6"]  # 列5 had nothing: dropped
    assert list(t.blank) == [False, True, False]
    assert t.unread == ["メモ", "列6"]
