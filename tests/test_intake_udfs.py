"""The Excel functions read lines as calc does (issue 9 item 8): float noise, ④ over ranges, bodies by name."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pandas as pd
import xlwings as xw

from officejs import call, call_raw, server, udfs
from tokkou import engine, rulebook

FIELD = Path(__file__).parent / "field" / "udfs"
RB = rulebook.get()


def test_float_noise_payloads_are_read_as_yen():
    got = []
    for p in json.loads((FIELD / "float_noise_payloads.json").read_text(encoding="utf-8")):
        p = {k: v for k, v in p.items() if k != "_label"} | {"version": xw.__version__}
        got.append(asyncio.run(server.custom_functions_call(p, udfs)))
    assert got == [[[1_650_000]], [[363_000]]]  # 3,300,000 × 0.5; 363,000


def _coord_range(person_ids):
    cats = [["④"], ["④"], ["①"]]
    costs = [[4_800_000], [400_000], [1_000_000]]
    emp = [["専任"], ["専任"], [None]]
    return call_raw("MEASURE_AMOUNT", cats, costs, employment=emp, person_id=person_ids)


def test_range_of_coordinator_lines_applies_the_person_rules_like_calc():
    # without コーディネーターID calc refuses the ④ rows: so does the range form (not 5,200,000 uncapped)
    out = _coord_range(None)
    assert out[2] == [500_000]
    assert all(isinstance(c[0], dict) and c[0].get("type") == "Error" for c in out[:2]), out
    lines = pd.DataFrame({"区分": ["④", "④", "①"], "事業費": [4_800_000, 400_000, 1_000_000],
                          "従事形態": ["専任", "専任", None], "年度": 2025, "団体区分": "市町村"})
    calc = engine.evaluate_frame(lines, RB)
    assert list(calc["status"][:2]) == ["error", "error"]
    # with the ID: one person, capped at 5,000,000 across both lines, exactly as calc splits it
    out = _coord_range([["山田"], ["山田"], [None]])
    calc = engine.evaluate_frame(lines.assign(コーディネーターID=["山田", "山田", None]), RB)
    assert [c[0] for c in out] == [int(v) for v in calc["measure_amount"]]
    assert out[0][0] + out[1][0] == 5_000_000


def test_single_cell_coordinator_line_is_one_person():
    assert call("MEASURE_AMOUNT", "④", 5_200_000, employment="専任") == 5_000_000


def test_bodies_by_name_in_the_row_functions_and_the_table():
    assert call("MEASURE_AMOUNT", "①", 1000, body_code="茅野市") == 500
    assert call("MEASURE_AMOUNT", "①", 1000, body_code="長野県茅野市") == 500
    assert "団体コードを入力" in call("CHECK_LINE", "①", 1000, body_code="府中市")
    grid = [["団体名", "年度", "区分", "事業費"], ["茅野市", "R7", "①", 1000], ["府中市", "R7", "①", 1000]]
    out = call_raw("EVALUATE_TABLE", grid)
    assert out[1][2] == 500 and out[2][3] == "エラー" and "団体コード" in out[2][4]


def test_evaluate_table_finds_the_header_below_title_rows_and_reads_units():
    grid = [["令和7年度 事業一覧", None, None, None], [None, None, "（単位：千円）", None],
            ["団体区分", "年度", "区分", "事業費"], ["市町村", "R7", "①", 1200], ["市町村", "R7", "②", "1,000"]]
    out = call_raw("EVALUATE_TABLE", grid)
    assert out[0] == [""] * 6 and out[1] == [""] * 6 and out[2][0] == "対象経費"
    assert [r[2] for r in out[3:]] == [600_000, 500_000]
