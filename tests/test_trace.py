"""計算過程 (trace) and body totals through the faces: calc's trace column and summary, the UDF
EXPLAIN_LINE (計算過程) through xlwings' Office.js call path, structured details for review."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from officejs import call, meta, udfs
from tokkou import engine, rulebook, totals

SAMPLE = Path(__file__).resolve().parents[1] / "workbook_templates" / "examples" / "sample_lines.csv"


def test_explain_line_through_officejs_gives_the_engines_trace():
    text = call("EXPLAIN_LINE", "①", "1,200,000円", 200000, fiscal_year=2025, body_type="市町村")
    assert text == "事業費 1,200,000 − 特定財源 200,000 = 1,000,000 × 0.5 × 補正係数 1.0 = 500,000（円未満切捨て）"
    by_id = {f["id"]: f for f in meta()["functions"]}
    assert "EXPLAIN_LINE" in by_id and udfs.JA_NAMES["EXPLAIN_LINE"] == "計算過程"
    assert by_id["EXPLAIN_LINE_JA"]["name"] == "計算過程"
    assert call("EXPLAIN_LINE", 5, 100000, cash_benefit=True) == "対象外（EXCL-CASH）のため 0"
    assert call("EXPLAIN_LINE", 1, "たくさん").startswith("エラー: [入力エラー] 列「事業費」")


def test_explain_line_over_a_coordinators_range_shows_sum_cap_and_split():
    out = call("EXPLAIN_LINE", [[4], [4]], [[4_800_000], [600_000]], employment=[["専任"], ["専任"]],
               person_id=[["K"], ["K"]])
    first, second = out[0][0], out[1][0]
    assert "この人の2行の合計 5,400,000" in first and "上限 5,000,000" in first
    assert "5,000,000 × 4,800,000/5,400,000 = 4,444,444" in first
    assert "5,000,000 × 600,000/5,400,000 = 555,556" in second


def test_calc_writes_the_trace_column_and_body_totals(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", str(SAMPLE), "-o", str(tmp_path / "o.csv"),
                          "--lang", "en"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    res = pd.read_csv(tmp_path / "o.csv", dtype=str)
    assert res["trace"][0] == "事業費 1,200,000 × 0.5 × 補正係数 1.0 = 600,000（円未満切捨て）"
    assert res["trace"].notna().all()
    total = int(pd.to_numeric(res["measure_amount"]).sum())
    rounded = totals.round_body_total(total, rulebook.get())
    assert f"{total:,}円 → {rounded // 1000:,}千円" in out.stdout and "地方交付税法第22条" in out.stdout


def test_body_rounding_half_up_at_500_yen():
    rb = rulebook.get()
    assert [totals.round_body_total(v, rb) for v in (499, 500, 1499, 1500, 0)] == [0, 1000, 1000, 2000, 0]


def test_details_give_error_keys_and_events_without_parsing_text():
    df = pd.DataFrame([{"body_type": "市町村", "fiscal_year": 2025, "category": 1, "cost": "たくさん"},
                       {"body_type": "市町村", "fiscal_year": 2025, "category": 5, "cost": 100, "cash_benefit": "はい"}],
                      dtype=object)
    frame, details = engine.evaluate_frame_details(df, trace=True)
    assert details.error_keys_at(0) == ("cost",)
    assert details.events_at(1)[0] == ("EXCL-CASH", "excluded")
    assert details.error_keys_at(1) == () and frame["status"][1] == "excluded"
