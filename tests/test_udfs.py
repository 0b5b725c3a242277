"""tokkou's Excel functions through xlwings' Office.js custom-function protocol, against the engine."""
from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from officejs import XlwingsError, call, call_raw, error, meta, params, udfs
from tokkou import engine, fiscal, rulebook

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "workbook_templates" / "examples" / "sample_lines.csv"
REQUIRED = ("ELIGIBLE_AMOUNT", "MEASURE_RATE", "MEASURE_AMOUNT", "COORD_CAP", "COORD_AMOUNT", "CHECK_LINE",
            "RULE_TEXT", "RULEBOOK_INFO", "EXPENSE_EXAMPLES", "FISCAL_INDEX", "EVALUATE_TABLE")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
RB = rulebook.get()


def sample_records() -> list[dict]:
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    out = []
    for _, row in df.iterrows():
        rec = {}
        for name, v in row.items():
            key = engine.header_key(name)
            if key in udfs.LINE_ARGS and v != "":
                rec[key] = v
        out.append(rec)
    return out


def line_args(rec: dict, func: str = "MEASURE_AMOUNT") -> dict:
    return {k: v for k, v in rec.items() if k in params(func)}


def udf_line(rec: dict) -> dict:
    """The record the engine sees from a formula line: the formula's own defaults filled in."""
    full = dict(rec)
    full.setdefault("fiscal_year", udfs.default_year())
    if "body_code" not in full:
        full.setdefault("body_type", "市町村")
    full.setdefault("person_id", "p")
    return full


# ---- metadata ----------------------------------------------------------------------------------

def test_metadata_lists_every_function_with_japanese_help():
    m = meta()
    by_id = {f["id"]: f for f in m["functions"]}
    assert set(REQUIRED) <= set(by_id)
    for f in m["functions"]:
        assert JAPANESE.search(f["description"]), f["id"]
        assert not f["description"].startswith("Python function"), f["id"]
        assert re.fullmatch(r"[A-Z][A-Z0-9_.]{2,}", f["id"]), f["id"]  # Office.js: ids are ASCII
        for p in f["parameters"]:
            assert JAPANESE.search(p["description"]), (f["id"], p["name"])
            assert "Positional argument" not in p["description"]
    names = [f["name"].upper() for f in m["functions"]]
    assert len(names) == len(set(names))


def test_japanese_display_names_beside_ascii_names():
    by_id = {f["id"]: f for f in meta()["functions"]}
    for name in REQUIRED:
        assert by_id[name]["name"] == name
        ja = by_id[name + udfs.JA_SUFFIX]
        assert ja["name"] == udfs.JA_NAMES[name]
        # Office.js: a name is ≥3 Unicode letters/underscores/periods, starting with a letter
        assert len(ja["name"]) >= 3 and all(c.isalpha() or c in "_." for c in ja["name"])
        assert ja["parameters"] == by_id[name]["parameters"]
    assert udfs.JA_NAMES["MEASURE_AMOUNT"] == "措置額"
    # the Japanese name computes the same as the ASCII one
    assert call("MEASURE_AMOUNT_JA", 1, 1000, fiscal_year=2025) == call("MEASURE_AMOUNT", 1, 1000, fiscal_year=2025)


def test_required_and_optional_arguments():
    by_id = {f["id"]: f for f in meta()["functions"]}
    p = {x["name"]: x for x in by_id["MEASURE_AMOUNT"]["parameters"]}
    assert "optional" not in p["category"] and "optional" not in p["cost"]
    assert p["fiscal_year"]["optional"] and p["apportion_ratio"]["optional"]
    assert [x["name"] for x in by_id["MEASURE_AMOUNT"]["parameters"]] == list(udfs.LINE_ARGS)


# ---- values equal the engine's ----------------------------------------------------------------

def test_coord_cap_reads_the_rulebook():
    assert call("COORD_CAP", "専任") == 5_000_000 == RB.param("coord_cap_dedicated", 2025)
    assert call("COORD_CAP", "兼務") == 400_000 == RB.param("coord_cap_concurrent", 2025)
    assert call("COORD_CAP", "専従", "令和7") == RB.param("coord_cap_dedicated", 2025)
    assert call("COORD_CAP", "兼任", "Ｒ８") == RB.param("coord_cap_concurrent", 2026)
    assert call("COORD_CAP", "dedicated", [[""]]) == RB.param("coord_cap_dedicated", udfs.default_year())


@pytest.mark.parametrize("rec", sample_records(), ids=lambda r: f"{r.get('category')}-{r.get('item')}")
def test_line_functions_equal_the_engine_on_the_sample(rec):
    expected = engine.evaluate_line(RB, **udf_line(rec))
    args = line_args(rec)
    if "person_id" not in args:
        args["person_id"] = "p"
    if expected.status == "error":
        with pytest.raises(XlwingsError) as e:
            call("MEASURE_AMOUNT", **args)
        assert str(e.value) == expected.reasons
    else:
        assert call("ELIGIBLE_AMOUNT", **args) == expected.eligible_cost
        assert call("MEASURE_AMOUNT", **args) == expected.measure_amount
    text = call("CHECK_LINE", **args)
    assert text == ("対象" if expected.status == "eligible" else f"{engine.STATUS_JA[expected.status]}: {expected.reasons}")


def test_check_line_names_the_rule():
    assert call("CHECK_LINE", "③", "3,000,000円", new_construction="○", item="C3-06").startswith("対象外: [EXCL-NEWBUILD]")
    assert call("CHECK_LINE", 5, 100000, cash_benefit=True).startswith("対象外: [EXCL-CASH]")
    assert call("CHECK_LINE", "②", "１００，０００") == "対象"
    assert "[ROUTE-MIGRATION]" in call("CHECK_LINE", 1, 1000, main_purpose="移住・定住")


def test_measure_rate_and_correction():
    assert call("MEASURE_RATE", 1) == float(RB.param("general_rate", 2025))
    assert call("MEASURE_RATE", "①", 2025, "0.8") == float(RB.param("general_rate", 2025) * Decimal("0.8"))
    assert call("MEASURE_RATE", 4, employment="兼務") == float(RB.param("coordinator_rate", 2025))
    r = engine.evaluate_line(RB, category=1, cost=1001, fiscal_year=2025, body_type="市町村", fiscal_correction="0.8")
    assert call("MEASURE_AMOUNT", 1, 1001, fiscal_correction="0.8") == r.measure_amount


def test_coord_amount_sums_one_persons_lines_under_the_cap():
    costs = [[3_000_000], [2_500_000], [""], [400_000]]
    lines = [dict(category=4, cost=c[0], employment="専任", fiscal_year=2025, body_type="市町村", person_id="K")
             for c in costs if c[0] != ""]
    expected = sum(r.measure_amount for r in engine.evaluate_records(lines, RB))
    assert call("COORD_AMOUNT", costs, "専任") == expected == RB.param("coord_cap_dedicated", 2025)
    one = engine.evaluate_line(RB, category=4, cost=300_000, food_amount=50_000, employment="兼務",
                               fiscal_year=2025, body_type="市町村", person_id="K")
    assert call("COORD_AMOUNT", "300,000", "兼務", food_amount="５０，０００") == one.measure_amount
    assert call("COORD_AMOUNT", 1_000_000, "兼務", other_measure="地域おこし協力隊") == 0


def test_defaults_equal_explicit_values():
    explicit = call("MEASURE_AMOUNT", 1, 123457, fiscal_year=2025, apportion_ratio=1, fiscal_correction="1.0",
                    body_type="市町村")
    assert call("MEASURE_AMOUNT", 1, 123457) == explicit
    # a blank cell for an optional argument is the same as leaving it out
    blank = [[""]]
    assert call("MEASURE_AMOUNT", 1, 123457, fiscal_year=blank, apportion_ratio=[[None]], body_type=blank) == explicit


def test_blank_line_gives_a_blank_cell():
    for name in ("ELIGIBLE_AMOUNT", "MEASURE_AMOUNT", "CHECK_LINE"):
        assert call(name, [[""]], [[None]]) == ""
        assert call(name, [[""]], [[""]], fiscal_year=2025) == ""
    assert call("COORD_AMOUNT", [[""], [""]], "専任") == ""


def test_full_width_and_japanese_forms():
    a = call("MEASURE_AMOUNT", "①", "１，２００，０００円", specific_revenue="２０万円".replace("万", "0000"),
             fiscal_year="令和７", apportion_ratio="５０％")
    r = engine.evaluate_line(RB, category=1, cost=1_200_000, specific_revenue=200_000, fiscal_year=2025,
                             apportion_ratio="0.5", body_type="市町村")
    assert a == r.measure_amount == 250_000


# ---- Excel error values and arrays -----------------------------------------------------------

@pytest.mark.parametrize("code", ["#N/A", "#DIV/0!", "#REF!", "#VALUE!"])
def test_error_value_arguments_propagate(code):
    kinds = error(code)["errorType"]
    for name in ("ELIGIBLE_AMOUNT", "MEASURE_AMOUNT"):
        out = call(name, 1, error(code))
        assert out == {"type": "Error", "errorType": kinds}
    assert call("MEASURE_AMOUNT", 1, 1000, fiscal_year=error(code))["errorType"] == kinds
    assert call("COORD_CAP", error(code))["errorType"] == kinds
    assert call("FISCAL_INDEX", [[1, error(code), 1]], [[2, 2, 2]])["errorType"] == kinds
    # CHECK_LINE explains instead of propagating
    assert f"Excelのエラー値「{code}」" in call("CHECK_LINE", 1, error(code))


def test_ranges_spill_through_the_batch_path():
    cats = [["①"], ["3"], [""], ["⑤"], ["1"]]
    costs = [[1000], ["2,000円"], [""], [3001], ["abc"]]
    out = call_raw("MEASURE_AMOUNT", cats, costs, fiscal_year="R7")
    assert len(out) == 5 and all(len(r) == 1 for r in out)
    expect = [engine.evaluate_line(RB, category=c[0], cost=k[0], fiscal_year=2025, body_type="市町村").measure_amount
              for c, k in zip(cats[:2], costs[:2])]
    assert [out[0][0], out[1][0]] == expect
    assert out[2][0] == ""
    assert out[3][0] == engine.evaluate_line(RB, category=5, cost=3001, fiscal_year=2025,
                                             body_type="市町村").measure_amount
    assert out[4][0] == {"type": "Error", "errorType": "Value"}  # only the bad line is an error
    # a row of values spills as a row
    row = call_raw("ELIGIBLE_AMOUNT", 1, [[100, 200, 300]])
    assert row == [[100, 200, 300]]
    checks = call_raw("CHECK_LINE", [[1], [5]], [[100], [200]], cash_benefit=[[False], [True]])
    assert checks[0][0] == "対象" and checks[1][0].startswith("対象外: [EXCL-CASH]")


# ---- tables --------------------------------------------------------------------------------------

def test_evaluate_table_equals_evaluate_frame():
    df = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    grid = [list(df.columns)] + [[v if v != "" else "" for v in row] for row in df.values.tolist()]
    grid.insert(4, [""] * len(df.columns))  # an empty row inside the range
    out = call_raw("EVALUATE_TABLE", grid)
    expected = engine.evaluate_frame(df.replace("", None), RB, {"fiscal_year": 2025})
    assert out[0] == [ja for _, ja in engine.OUTPUT_COLUMNS]
    body = out[1:4] + out[5:]
    assert out[4] == [""] * 6
    assert len(body) == len(df)
    for got, (_, want) in zip(body, expected.iterrows()):
        assert got[0] == ("" if want["eligible_cost"] is None else int(want["eligible_cost"]))
        assert got[1] == ("" if want["rate"] is None else float(want["rate"]))
        assert got[2] == ("" if want["measure_amount"] is None else int(want["measure_amount"]))
        assert got[3] == engine.STATUS_JA[want["status"]]
        assert got[4] == want["reasons"] and got[5] == want["rule_ids"]
    # the coordinator over the cap: the table applies the per-person cap across lines
    k01 = [i for i, pid in enumerate(df["コーディネーターID"]) if pid == "K-01"]
    assert sum(body[i][2] for i in k01) == RB.param("coord_cap_dedicated", 2025)
    assert call_raw("EVALUATE_TABLE", grid, None, False)[0] == body[0]


def test_evaluate_table_english_keys_error_cells_and_year_default():
    grid = [["category", "cost", "fiscal_year", "body_type", "メモ"],
            [1, 1000, "", "municipality", "x"],
            [2, error("#N/A"), 2025, "市町村", ""],
            ["②", 5000, "R6", "市町村", ""]]
    out = call_raw("EVALUATE_TABLE", grid, "令和7")
    assert out[1][2] == 500 and out[1][3] == "対象"
    assert out[2][3] == "エラー" and "#N/A" in out[2][4]
    assert out[3][3] == "対象外" and "SCOPE-FY" in out[3][5]


# ---- reference functions ----------------------------------------------------------------------

def test_rule_text_and_rulebook_info_come_from_the_rulebook():
    for rid in RB.rule_ids:
        rule = RB.rule(rid)
        assert call("RULE_TEXT", rid, "出典") == rule.citation
        assert call("RULE_TEXT", rid.lower(), "引用") == rule.quote
        full = call("RULE_TEXT", rid)
        assert rule.quote in full and rule.citation in full
    info = dict((k, v) for k, v in call_raw("RULEBOOK_INFO"))
    assert info["ルールブック"] == RB.name and info["SHA-256"] == RB.sha256
    assert call("RULEBOOK_INFO", "hash") == RB.sha256
    assert str(RB.model.valid_from) in call("RULEBOOK_INFO", "適用年度")


def test_expense_examples_spill_the_annex_list():
    rows = call_raw("EXPENSE_EXAMPLES")
    assert rows[0] == ["区分", "項目ID", "経費項目", "出典"]
    assert [r[1] for r in rows[1:]] == [i.id for _, i in RB.items]
    four = call_raw("EXPENSE_EXAMPLES", "④")
    assert [r[1] for r in four[1:]] == [i.id for i in RB.category(4).items]
    assert call_raw("EXPENSE_EXAMPLES", "コーディネーター") == four


def test_fiscal_index_half_up_twice():
    rev, dem = [[445, 1, 1]], [[1000], [3], [3]]
    # independent check: exact fractions rounded half-up, per year then the mean
    def half_up(x: Fraction) -> Fraction:
        return Fraction(int(x * 100 + Fraction(1, 2)), 100)
    yearly = [half_up(Fraction(r, d)) for r, d in zip([445, 1, 1], [1000, 3, 3])]
    expect = half_up(sum(yearly) / 3)
    assert call("FISCAL_INDEX", rev, dem) == float(expect) == float(fiscal.fiscal_index([445, 1, 1], [1000, 3, 3]))
    assert call("FISCAL_INDEX", [["１，０００", "2,000", 3000]], [[4000, 4000, 4000]]) == 0.5


# ---- bad arguments: #VALUE! with a Japanese message naming the argument and value -------------

BAD = [
    ("ELIGIBLE_AMOUNT", (1, "abc"), {}, ["事業費", "abc"]),
    ("MEASURE_AMOUNT", (9, 1000), {}, ["区分", "9"]),
    ("MEASURE_AMOUNT", (1, 1000), {"apportion_ratio": "1.5"}, ["按分率", "1.5"]),
    ("MEASURE_RATE", (1, "昭和50"), {}, ["年度", "昭和50"]),
    ("MEASURE_RATE", (1, 2025, "3"), {}, ["財政力補正係数", "3"]),
    ("CHECK_LINE", ([[1], [2]], [[1, 2, 3]]), {}, ["大きさ"]),
    ("COORD_AMOUNT", (1000, "常勤"), {}, ["従事形態", "常勤"]),
    ("COORD_CAP", ("パート",), {}, ["従事形態", "パート"]),
    ("COORD_CAP", ([["専任", "兼務"]],), {}, ["従事形態"]),
    ("RULE_TEXT", ("NO-SUCH-RULE",), {}, ["ルールID", "NO-SUCH-RULE"]),
    ("RULEBOOK_INFO", ("色",), {}, ["項目", "色"]),
    ("EXPENSE_EXAMPLES", (9,), {}, ["区分", "9"]),
    ("FISCAL_INDEX", ([[1, 2]], [[1, 2, 3]]), {}, ["基準財政収入額", "3"]),
    ("FISCAL_INDEX", ([[1, 2, 3]], [[1, 0, 3]]), {}, ["需要額", "0"]),
    ("FISCAL_INDEX", ([[1, "x", 3]], [[1, 2, 3]]), {}, ["基準財政収入額", "x"]),
    ("EVALUATE_TABLE", ([["a", "b"], [1, 2]],), {}, ["表", "見出し"]),
    ("EVALUATE_TABLE", ([["区分", "事業費"]],), {}, ["表"]),
]


@pytest.mark.parametrize("name,args,named,words", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_give_a_value_error_with_a_japanese_message(name, args, named, words):
    with pytest.raises(XlwingsError) as e:
        call(name, *args, **named)
    msg = str(e.value)
    assert JAPANESE.search(msg) and "Traceback" not in msg and len(msg) < 600
    for w in words:
        assert w in msg, (msg, w)
    # the Japanese display name fails the same way
    with pytest.raises(XlwingsError):
        call(name + udfs.JA_SUFFIX, *args, **named)


def test_check_line_explains_a_bad_value_in_words():
    text = call("CHECK_LINE", 1, "abc")
    assert text.startswith("エラー: ") and "事業費" in text and "abc" in text


def test_every_function_has_an_error_test():
    assert {b[0] for b in BAD} >= set(REQUIRED)


def test_unexpected_failure_is_a_short_message_not_a_traceback(monkeypatch):
    def boom(*a, **k):
        raise ZeroDivisionError("deep inside")
    monkeypatch.setattr(engine, "evaluate_one", boom)  # what a one-cell formula calls
    monkeypatch.setattr(udfs, "_RESULTS", {})  # no result kept from an earlier call
    with pytest.raises(XlwingsError) as e:
        call("MEASURE_AMOUNT", 1, 1000)
    assert "予期しない問題" in str(e.value) and "Traceback" not in str(e.value)


def test_rulebook_is_loaded_once_per_process(monkeypatch):
    call("MEASURE_AMOUNT", 1, 1000)

    def no_reload(*a, **k):
        raise AssertionError("rulebook loaded again")
    monkeypatch.setattr(rulebook, "load", no_reload)
    for i in range(20):
        call("MEASURE_AMOUNT", 1, 1000 + i)
        call("COORD_CAP", "専任")
        call("RULE_TEXT", "EXCL-FOOD")


@pytest.mark.parametrize("runtime", ["1.4", "1.2"])
def test_spilled_table_cells_are_written_as_xlwings_default_writes_them(runtime):
    """EVALUATE_TABLE's return converter skips xlwings' per-cell preparation only where it changes
    nothing: every kind of cell comes out as the default conversion gives it."""
    import asyncio
    import datetime as dt

    import numpy as np
    from xlwings import conversion

    cells = ["", "対象", "#N/A", "#VALUE!", "#其他", 0, 12, -3, 1.5, float("nan"), float("inf"), None, True,
             np.int64(7), np.float64(2.5), dt.date(2025, 4, 1), pd.NA, Decimal("0.5")]
    options = {"runtime": runtime, "date_format": "yyyy/m/d"}
    for value in ([cells, list(reversed(cells))], cells, "#N/A", "text", 3, None, []):
        want = asyncio.run(conversion.async_write(value, None, dict(options), engine_name="officejs"))
        got = asyncio.run(conversion.async_write(value, None, dict(options, convert=udfs._spill_converter()),
                                                 engine_name="officejs"))
        assert repr(got) == repr(want), value
    assert udfs.EVALUATE_TABLE.__xlfunc__["ret"]["options"]["convert"].__name__ == "SpillCells"


def test_quick_whole_yen_is_parse_yen():
    from tokkou import normalize
    for v in (0, 1, 999, 10**12, 10**12 + 1, -1, 123_456_789):
        quick = normalize._yen_quick(v)
        assert quick is None or normalize.parse_yen(v) == (quick, None)
        assert (quick is None) == (not 0 <= v <= normalize.MAX_YEN)


def test_functions_of_one_line_share_its_result_but_never_across_cell_types(monkeypatch):
    """ELIGIBLE_AMOUNT, MEASURE_AMOUNT and CHECK_LINE of one line: the engine runs once; a value of
    another type (TRUE vs 1, "1" vs 1) is another line."""
    calls = []
    real = engine.evaluate_one

    def counted(fields, *a, **k):
        calls.append(dict(fields))
        return real(fields, *a, **k)
    monkeypatch.setattr(engine, "evaluate_one", counted)
    udfs._RESULTS.clear()
    line = {"category": 1, "cost": 1_234_567, "fiscal_year": 2025, "body_type": "市町村"}
    assert call("ELIGIBLE_AMOUNT", **line) == 1_234_567
    assert call("MEASURE_AMOUNT", **line) == 617_283
    assert call("CHECK_LINE", **line) == "対象"
    assert len(calls) == 1
    assert call("CHECK_LINE", **dict(line, cost=True)).startswith("エラー")
    assert call("CHECK_LINE", **dict(line, cost=1_234_567.0)) == "対象"
    assert len(calls) == 3
    assert call("EXPLAIN_LINE", **line).startswith("事業費 1,234,567")
    assert len(calls) == 4  # EXPLAIN_LINE asks for the trace: its own result
