"""Cells as people type them."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tokkou import engine
from tokkou.normalize import check_digit, header_key, parse_body_code, parse_bool, parse_yen, parse_year


@pytest.mark.parametrize("raw, value", [
    ("1,000円", 1000), ("１，０００", 1000), ("１０００円", 1000), (" 2500000 ", 2500000), (1000, 1000),
    (1000.0, 1000), ("¥12,345", 12345), ("0", 0),
    # SPEC §4.1: a unit in a cell scales the cell (「120万」 as offices write it)
    ("12千", 12000), ("１２０万円", 1_200_000), ("120万", 1_200_000), ("1.2百万円", 1_200_000),
    ("1,200千円", 1_200_000), ("-", 0), ("－", 0), ("―", 0), (3300000.0000000005, 3_300_000),
])
def test_yen_accepts_what_people_type(raw, value):
    assert parse_yen(raw) == (value, None)


@pytest.mark.parametrize("raw", ["abc", "1000.5", "-1", "▲500", "12ドル", "1.2345千円", 1000.01, "100 200", True, float("inf"), "10000000000000"])
def test_yen_rejects_with_a_reason(raw):
    value, err = parse_yen(raw)
    assert value is None and err


@pytest.mark.parametrize("raw, year", [(2025, 2025), ("2025", 2025), ("令和7", 2025), ("R7", 2025), ("r７", 2025),
                                       ("令和7年度", 2025), ("令和元年", 2019), ("平成31", 2019), ("２０２６年度", 2026)])
def test_years(raw, year):
    assert parse_year(raw) == (year, None)


@pytest.mark.parametrize("raw", ["昭和60", "令和", "25", "next year"])
def test_bad_years(raw):
    assert parse_year(raw)[0] is None


@pytest.mark.parametrize("raw, value", [("はい", True), ("いいえ", False), ("○", True), ("×", False), ("有", True),
                                        ("無", False), (1, True), (0, False), ("TRUE", True), ("false", False),
                                        ("１", True)])
def test_bools(raw, value):
    assert parse_bool(raw) == (value, None)


def test_check_digit_on_every_reference_code():
    import csv
    from importlib.resources import files
    with files("tokkou").joinpath("data/local_government_codes.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1788
    assert all(check_digit(r["code"][:5]) == int(r["code"][5]) for r in rows)


def test_body_code_number_cell_keeps_leading_zero_and_check_digit_is_checked():
    assert parse_body_code(11002) == ("011002", None)
    assert parse_body_code("０１１００２") == ("011002", None)
    assert parse_body_code("011003")[0] is None
    assert "011002" in parse_body_code("011003")[1]
    # five digits: a zero-stripped code from an Excel CSV, or a code without its check digit
    assert parse_body_code("11002") == ("011002", None)   # 札幌市, leading zero lost
    assert parse_body_code("20214") == ("202142", None)   # 茅野市, check digit omitted
    assert parse_body_code("99999")[0] is None


@pytest.mark.parametrize("header, key", [("事業費", "cost"), ("cost", "cost"), ("COST", "cost"), ("事業費（円）", "cost"),
                                         ("地方債充当額", "bond_amount"), ("起債対象経費", "bond_amount"),
                                         ("団体コード", "body_code"), ("コーディネーターID", "person_id"), ("判定", "status"),
                                         ("事業名", None)])
def test_headers(header, key):
    assert header_key(header) == key


def test_excel_error_values_and_text_in_number_cells_name_column_and_value():
    r = engine.evaluate_line(body_type="市町村", fiscal_year=2025, category=1, cost="#VALUE!")
    assert r.status == "error" and "事業費" in r.reasons and "#VALUE!" in r.reasons
    r = engine.evaluate_line(body_type="市町村", fiscal_year=2025, category=1, cost=1000, specific_revenue="たくさん")
    assert r.status == "error" and "特定財源" in r.reasons and "たくさん" in r.reasons
    r = engine.evaluate_line(body_type="市町村", fiscal_year=2025, category="⑥", cost=1000)
    assert r.status == "error" and "区分" in r.reasons and "⑥" in r.reasons


def test_blank_cells_take_defaults_and_required_blanks_are_errors():
    r = engine.evaluate_line(body_type="市町村", fiscal_year=2025, category=1, cost=1000, specific_revenue="",
                             apportion_ratio=None, fiscal_correction="　")
    assert (r.eligible_cost, r.measure_amount, r.rate) == (1000, 500, Decimal("0.5"))
    r = engine.evaluate_line(body_type="市町村", fiscal_year="", category=1, cost=1000)
    assert r.status == "error" and "年度" in r.reasons
    r = engine.evaluate_line(body_type="市町村", fiscal_year=2025, category=1, cost=None)
    assert r.status == "error" and "事業費" in r.reasons


def test_japanese_keys_work_in_the_single_line_path():
    r = engine.evaluate_line(**{"団体区分": "市町村", "年度": "令和7", "区分": "④", "事業費": "５，２００，０００円",
                                "コーディネーターID": "X", "従事形態": "専任"})
    assert (r.eligible_cost, r.measure_amount, r.status) == (5_200_000, 5_000_000, "partial")
