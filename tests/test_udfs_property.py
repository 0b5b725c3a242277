"""Random lines give the same answers from EVALUATE_TABLE, the scalar UDFs and `tokkou calc`."""
from __future__ import annotations

import csv
import subprocess
import sys
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from officejs import XlwingsError, call, call_raw, udfs
from tokkou import cli, engine

FIELDS = list(udfs.LINE_ARGS)


def yen():
    n = st.integers(0, 20_000_000)
    return st.one_of(n, n.map(str), n.map(lambda v: f"{v:,}円"),
                     n.map(lambda v: f"{v:,}".translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))))


def maybe(s, p_none=True):
    return st.one_of(st.none(), s) if p_none else s


BOOL = st.sampled_from([True, False, "はい", "いいえ", "○", "×", 1, 0, "TRUE", "有", "maybe"])


@st.composite
def line(draw):
    cat = draw(st.sampled_from([1, "②", "3", "④", 4, "⑤", "情報発信", "受入環境整備", "9"]))
    rec = {
        "category": cat,
        "cost": draw(yen()),
        "fiscal_year": draw(st.sampled_from([None, 2025, "令和7", "R7", "２０２５", 2024, "令和８", "令和"])),
        "body_type": draw(st.sampled_from(["市町村", "都道府県", "特別区", "municipality", "一部事務組合", "市"])),
        "specific_revenue": draw(maybe(yen())),
        "bond_amount": draw(maybe(st.integers(0, 3_000_000))),
        "excluded_amount": draw(maybe(st.integers(0, 1_000_000))),
        "apportion_ratio": draw(maybe(st.sampled_from(["0.5", "50%", 1, "0.333333", "１", "1.5"]))),
        "main_purpose": draw(maybe(st.sampled_from(["二地域居住・関係人口", "移住・定住", "観光", "学校魅力化", "その他"]))),
        "national_subsidy": draw(maybe(BOOL)),
        "cash_benefit": draw(maybe(BOOL)),
        "new_construction": draw(maybe(BOOL)),
        "fiscal_correction": draw(maybe(st.sampled_from(["1.0", "0.8", 1.2, "1.25", "3"]))),
        "food_amount": draw(maybe(st.integers(0, 500_000))),
    }
    if str(cat) in ("4", "④"):
        rec["employment"] = draw(st.sampled_from(["専任", "兼務", "dedicated", None]))
        rec["other_measure"] = draw(maybe(st.sampled_from(["なし", "地域おこし協力隊", "集落支援員"])))
        rec["months_served"] = draw(maybe(st.sampled_from([12, 6, "13"])))
        rec["study_coordinator"] = draw(maybe(BOOL))
        rec["in_strategy_plan"] = draw(maybe(BOOL))
        rec["person_id"] = draw(st.sampled_from(["K1", "K2"]))
    return rec


def write_csv(path, lines):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(FIELDS)
        for rec in lines:
            w.writerow(["" if rec.get(k) is None else str(rec[k]) for k in FIELDS])


def run_calc(tmp, lines, tag):
    src, out = tmp / f"in-{tag}.csv", tmp / f"out-{tag}.csv"
    write_csv(src, lines)
    assert cli.main(["calc", str(src), "-o", str(out), "--year", "2025", "--quiet"]) == 0
    return pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def table(lines):
    grid = [FIELDS] + [["" if rec.get(k) is None else rec[k] for k in FIELDS] for rec in lines]
    return call_raw("EVALUATE_TABLE", grid)[1:]


def num(v):
    return None if v in ("", None) else Decimal(str(v))


def same_as_calc(rows, calc_df):
    assert len(rows) == len(calc_df)
    for got, (_, want) in zip(rows, calc_df.iterrows()):
        assert num(got[0]) == num(want["eligible_cost"])
        assert num(got[1]) == num(want["rate"])
        assert num(got[2]) == num(want["measure_amount"])
        assert got[3] == engine.STATUS_JA[want["status"]]
        assert got[4] == want["reasons"]
        assert got[5] == want["rule_ids"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line(), min_size=1, max_size=8))
def test_table_scalars_and_calc_agree(lines, tmp_path):
    # Coordinators shared across lines: the batch paths (table, calc) cap per person.
    same_as_calc(table(lines), run_calc(tmp_path, lines, "shared"))

    # Each coordinator on one line: a formula line is the same line in the table.
    alone = [dict(rec, person_id=f"P{i}") if "person_id" in rec else rec for i, rec in enumerate(lines)]
    rows = table(alone)
    same_as_calc(rows, run_calc(tmp_path, alone, "alone"))
    for rec, row in zip(alone, rows):
        args = {k: v for k, v in rec.items() if v is not None}
        status = row[3]
        if status == "エラー":
            for name in ("ELIGIBLE_AMOUNT", "MEASURE_AMOUNT"):
                with pytest.raises(XlwingsError) as e:
                    call(name, **args)
                assert str(e.value) == row[4]
        else:
            assert call("ELIGIBLE_AMOUNT", **args) == row[0]
            assert call("MEASURE_AMOUNT", **args) == row[2]
        expected_check = "対象" if status == "対象" else f"{status}: {row[4]}"
        assert call("CHECK_LINE", **args) == expected_check
        if status in ("対象", "一部対象"):
            rate_args = {k: v for k, v in args.items() if k in udfs.RATE_ARGS}
            assert call("MEASURE_RATE", **rate_args) == row[1]
        if str(rec["category"]) in ("4", "④") and status != "エラー":
            coord = {k: v for k, v in args.items() if k in udfs.COORD_ARGS}
            assert call("COORD_AMOUNT", **coord) == row[2]


def test_console_script_calc_on_a_file_matches_evaluate_table(tmp_path):
    lines = [{"category": 1, "cost": "1,200,000円", "fiscal_year": "令和7", "body_type": "市町村"},
             {"category": "④", "cost": 6_000_000, "fiscal_year": 2025, "body_type": "市町村",
              "employment": "専任", "person_id": "K1"},
             {"category": "④", "cost": 300_000, "fiscal_year": 2025, "body_type": "市町村",
              "employment": "専任", "person_id": "K1"},
             {"category": 5, "cost": "abc", "fiscal_year": 2025, "body_type": "市町村"}]
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, lines)
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", str(src), "-o", str(out), "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    same_as_calc(table(lines), pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig"))
