"""Issue 11: every hostile file of shared/field/reliability/ (copied under tests/field/reliability/) gives
the result its README row calls right, through `tokkou calc` as a user runs it."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

FIELD = Path(__file__).parent / "field" / "reliability"


def calc(src: Path, out: Path) -> subprocess.CompletedProcess:
    # English result columns (the inputs are Japanese; SPEC §4.1 "Language": --lang overrides)
    return subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", str(src), "-o", str(out), "--quiet", "--lang", "en"],
                          capture_output=True, text=True, timeout=120)


def run_file(name: str, tmp_path: Path) -> pd.DataFrame:
    src = FIELD / name
    out = tmp_path / ("out" + src.suffix)
    r = calc(src, out)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr + r.stdout and "予期しない" not in r.stderr + r.stdout
    if src.suffix == ".json":
        return pd.DataFrame(json.loads(out.read_text(encoding="utf-8")))
    return pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_yen_exponent_is_one_error_at_once_and_the_next_line_computed(tmp_path):
    start = time.perf_counter()
    df = run_file("yen_exponent_dos.csv", tmp_path)
    assert time.perf_counter() - start < 30  # it hung for good before; a process start is ~2 s
    assert list(df["status"]) == ["error", "eligible"]
    assert "事業費" in df["reasons"][0] and "1e999999999" in df["reasons"][0]
    assert df["measure_amount"][1] == "500"


@pytest.mark.parametrize("name, column, shown", [
    ("coef_overflow.csv", "財政力補正係数", "1e20"),
    ("ratio_1e23.json", "按分率", "1e+23"),
])
def test_absurd_number_is_one_error_line(tmp_path, name, column, shown):
    df = run_file(name, tmp_path)
    assert list(df["status"]) == ["error", "eligible"]
    assert column in df["reasons"][0] and shown in df["reasons"][0]


def test_list_in_a_json_amount_cell_is_one_error_line(tmp_path):
    df = run_file("list_cell_70.json", tmp_path)
    assert len(df) == 70
    bad = df.index[df["status"] == "error"].tolist()
    assert bad == [5]
    assert "事業費" in df["reasons"][5] and "[1, 2]" in df["reasons"][5]
    assert (df.drop(index=5)["measure_amount"] == 500).all()


def test_lenient_amounts_are_errors_naming_the_value(tmp_path):
    df = run_file("lenient_amounts.csv", tmp_path)
    assert (df["status"] == "error").all()
    for value, reason in zip(df["事業費"], df["reasons"]):
        assert f"「{value}」" in reason and "事業費" in reason
    assert df["measure_amount"].eq("").all()


def test_years_that_do_not_exist_are_errors(tmp_path):
    df = run_file("years.csv", tmp_path)
    assert (df["status"] == "error").all()
    for value, reason in zip(df["年度"], df["reasons"]):
        assert f"「{value}」" in reason and "年度" in reason


def test_cost_and_jigyohi_with_different_values_is_an_error_naming_both(tmp_path):
    df = run_file("dup_alias.csv", tmp_path)
    assert list(df["status"]) == ["error"]
    assert "「cost」" in df["reasons"][0] and "「事業費」" in df["reasons"][0]
    assert "1000" in df["reasons"][0] and "9999999" in df["reasons"][0]


def test_two_jigyohi_columns_conflict_only_where_both_differ(tmp_path):
    df = run_file("dup_cost.csv", tmp_path)
    assert list(df["status"]) == ["error", "eligible"]
    assert "4列目" in df["reasons"][0] and "5列目" in df["reasons"][0]
    assert df["measure_amount"][1] == "1000"  # one filled: that one is read


def test_duplicates_that_agree_are_read(tmp_path):
    src = tmp_path / "agree.csv"
    src.write_text("団体区分,年度,区分,事業費,cost\n市町村,2025,1,\"1,000\",1000\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert calc(src, out).returncode == 0
    df = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert list(df["status"]) == ["eligible"] and df["measure_amount"][0] == "500"


def test_review_gives_one_finding_per_hostile_cell_not_a_failed_file(tmp_path):
    """The same hostile values in a returned workbook: each is one INPUT finding naming its cell."""
    import workbooks as W
    from tokkou import layout as L

    def text(ref, t):
        return lambda el: f'<c r="{ref}" t="inlineStr"><is><t>{t}</t></is></c>'.encode()

    def number(ref, v):
        return lambda el: f'<c r="{ref}"><v>{v}</v></c>'.encode()

    part = W.sheet_part(L.SHEET_LINES)
    cells = {"E5": text("E5", "1e999999999"), "E6": number("E6", "1e300"), "I7": number("I7", "1e23"),
             "F8": text("F8", "1,2,3")}

    def edit(xml: bytes) -> bytes:
        for ref, fn in cells.items():
            xml = W.edit_cell(L.SHEET_LINES, ref, fn)[part](xml)
        return xml
    book = W.rewrite(W.SAMPLE, tmp_path / "hostile.xlsx", {part: edit})
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "review", str(book), "-o", str(tmp_path / "r.xlsx"),
                        "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=300)
    assert time.perf_counter() - start < 120
    assert r.returncode == 0 and "Traceback" not in r.stderr and "予期しない" not in r.stdout + r.stderr
    findings = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["findings"]
    inputs = {f["cell"]: f["message"] for f in findings if f["rule_id"] == "INPUT"}
    assert set(inputs) == set(cells)
    assert "事業費" in inputs["E5"] and "按分率" in inputs["I7"] and "特定財源" in inputs["F8"]
    rows = {int(f["cell"][1:]) for f in findings if f["sheet"] == L.SHEET_LINES}
    assert rows <= {5, 6, 7, 8}  # the lines below are reviewed and clean


def test_udfs_refuse_the_exponent_amount_at_once():
    from officejs import XlwingsError, call, call_raw
    start = time.perf_counter()
    with pytest.raises(XlwingsError, match="指数表記"):
        call("MEASURE_AMOUNT", category=1, cost="1e999999999")
    rows = call_raw("EVALUATE_TABLE", [["団体区分", "年度", "区分", "事業費"], ["市町村", 2025, 1, "1e999999999"],
                                       ["市町村", 2025, 1, 1000]])
    out = call_raw("MEASURE_AMOUNT", category=[[1], [1]], cost=[["1e999999999"], [1000]])
    assert time.perf_counter() - start < 10
    assert rows[1][3] == "エラー" and "1e999999999" in rows[1][4] and rows[2][2] == 500
    assert out[0][0] == {"type": "Error", "errorType": "Value"} or out[0][0] == "#VALUE!"
    assert out[1][0] == 500
