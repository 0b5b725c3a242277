"""Engine properties: batch and single-line paths agree; caps hold per person; nothing is lost."""
from __future__ import annotations

import unicodedata
from decimal import Decimal

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokkou import engine, rulebook
from tokkou.normalize import parse_year

RB = rulebook.get()
ITEMS = {c.id: [i.id for i in c.items] for c in RB.model.categories}


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "0" <= ch <= "9" else ch for ch in s)


yen = st.integers(0, 30_000_000)
messy_yen = yen.flatmap(lambda v: st.sampled_from([v, str(v), f"{v:,}円", _fullwidth(f"{v:,}"), float(v)]))
small_yen = st.one_of(st.just(0), st.integers(0, 3_000_000)).flatmap(lambda v: st.sampled_from([v, str(v), None, ""]))


@st.composite
def line(draw, person_pool=None):
    cat = draw(st.integers(1, 5))
    rec = {
        "body_type": draw(st.sampled_from(["市町村", "都道府県", "特別区", "municipality"])),
        "fiscal_year": draw(st.sampled_from([2025, "令和7", "R8", 2024, "2027"])),
        "category": draw(st.sampled_from([cat, str(cat), "①②③④⑤"[cat - 1]])),
        "item": draw(st.one_of(st.none(), st.sampled_from(ITEMS[cat]))),
        "cost": draw(messy_yen),
        "specific_revenue": draw(small_yen),
        "bond_amount": draw(small_yen),
        "excluded_amount": draw(small_yen),
        "apportion_ratio": draw(st.sampled_from([None, 1, 0, "0.5", "0.333333", "25%", 0.4])),
        "main_purpose": draw(st.sampled_from([None, "二地域居住・関係人口", "移住・定住", "観光・産業振興", "学校魅力化", "その他"])),
        "national_subsidy": draw(st.sampled_from([None, "いいえ", "はい", 0])),
        "cash_benefit": draw(st.sampled_from([None, "×", "○"])),
        "new_construction": draw(st.sampled_from([None, "無", "有"])),
        "fiscal_correction": draw(st.sampled_from([None, "1.0", "0.8", "1.25", 1])),
        "food_amount": draw(small_yen),
    }
    if cat == 4:
        pid = draw(st.sampled_from(person_pool)) if person_pool else draw(st.uuids()).hex
        rec |= {"person_id": pid, "employment": draw(st.sampled_from(["専任", "兼務"])),
                "other_measure": draw(st.sampled_from([None, "なし", "地域おこし協力隊"])),
                "study_coordinator": draw(st.sampled_from([None, "いいえ", "はい"])),
                "in_strategy_plan": draw(st.sampled_from([None, "はい", "いいえ"]))}
    return rec


def _single(rec):
    r = engine.evaluate_line(**rec)
    return (r.eligible_cost, r.rate, r.measure_amount, r.status, r.reasons, " ".join(r.rule_ids))


def _batch_rows(df):
    def py(v):
        return None if v is pd.NA else int(v)
    return list(zip(map(py, df["eligible_cost"]), df["rate"], map(py, df["measure_amount"]), df["status"],
                    df["reasons"], df["rule_ids"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(line(), min_size=65, max_size=120))
def test_batch_equals_single_line_path(lines):
    """Independent lines (every coordinator its own person): both paths give identical results.

    More than 64 lines, so the batch takes its distinct-value path while the single path parses directly.
    """
    batch = engine.evaluate_frame(pd.DataFrame(lines, dtype=object))
    assert _batch_rows(batch) == [_single(rec) for rec in lines]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line(person_pool=["A", "B", "C"]), min_size=1, max_size=40))
def test_coordinator_caps_hold_per_person_and_lines_add_up(lines):
    df = engine.evaluate_frame(pd.DataFrame(lines, dtype=object))
    assert len(df) == len(lines)
    ok = df[df["status"] != "error"]
    assert (ok["measure_amount"] >= 0).all() and (ok["eligible_cost"] >= 0).all()
    cost = pd.Series([engine.evaluate_line(**{"body_type": "市町村", "fiscal_year": 2025, "category": 1, "cost": c["cost"]}).eligible_cost
                      for c in lines])
    assert (ok["eligible_cost"] <= cost[ok.index]).all()
    coord = ok[ok["category"].astype(str).isin(["4", "④"])]
    if coord.empty:
        return
    year = coord["fiscal_year"].map(lambda v: parse_year(v)[0])
    for (pid, fy), grp in coord.groupby([coord["person_id"], year]):
        emp = set(grp["employment"])
        cap = RB.param("coord_cap_dedicated" if emp == {"専任"} else "coord_cap_concurrent", 2025)
        total = int(grp["measure_amount"].sum())
        assert total <= cap
        assert total == min(int(grp["eligible_cost"].sum()), cap) or len(emp) > 1


def test_rows_are_never_dropped_or_reordered_and_unknown_columns_pass_through():
    df = pd.DataFrame({
        "メモ": ["a", "b", "c", "d"],
        "事業費": ["1000", "abc", "", "2,000円"],
        "年度": ["R7"] * 4, "区分": ["①"] * 4, "団体区分": ["市町村"] * 4,
        "備考": [1, 2, 3, 4],
    })
    out = engine.evaluate_frame(df)
    assert list(out.columns[:6]) == list(df.columns)
    assert list(out["メモ"]) == ["a", "b", "c", "d"] and list(out["備考"]) == [1, 2, 3, 4]
    assert list(out["status"]) == ["eligible", "error", "error", "eligible"]
    assert list(out["measure_amount"])[::3] == [500, 1000]


def test_money_is_exact_integer_yen_at_large_values():
    big = 999_999_999_999
    r = engine.evaluate_line(body_type="都道府県", fiscal_year=2025, category=1, cost=big, apportion_ratio="0.999999",
                             fiscal_correction="1.9999")
    exact_eligible = big * 999_999 // 1_000_000
    assert r.eligible_cost == exact_eligible
    assert r.measure_amount == int(Decimal(exact_eligible) * Decimal("0.5") * Decimal("1.9999") // 1)
    assert r.rate == Decimal("0.99995")


def test_split_uses_largest_remainders_and_sums_exactly():
    lines = [{"body_type": "市町村", "fiscal_year": 2025, "category": 4, "person_id": "P", "employment": "兼務", "cost": c}
             for c in (100_001, 100_001, 100_001, 100_001, 100_001)]
    out = engine.evaluate_frame(pd.DataFrame(lines))
    assert int(out["measure_amount"].sum()) == 400_000
    assert sorted(out["measure_amount"]) == [80_000] * 5


def test_large_batch_path_matches_small_path_for_shared_persons():
    rng = np.random.default_rng(7)
    rows = [{"body_name": f"町{rng.integers(3)}", "body_type": "市町村", "fiscal_year": 2025, "category": 4,
             "person_id": f"P{rng.integers(10)}", "employment": "専任", "cost": int(rng.integers(0, 2_000_000))}
            for _ in range(300)]
    big = engine.evaluate_frame(pd.DataFrame(rows))
    # evaluate each body's persons separately in small batches (≤64 lines each: the direct path)
    for (body, pid), grp in pd.DataFrame(rows).groupby(["body_name", "person_id"]):
        small = engine.evaluate_frame(grp.reset_index(drop=True))
        assert list(small["measure_amount"]) == list(big.loc[grp.index, "measure_amount"])


# ---- the one-line path (engine_xp.ONE: the same stages on Python scalars) equals the batch path ----

def _full(r: engine.LineResult):
    return (r.eligible_cost, r.rate, r.measure_amount, r.status, r.reasons, r.rule_ids, r.trace, r.events,
            r.error_keys)


def _one_equals_batch(rec, rb=None, defaults=None):
    one = engine.evaluate_one(rec, rb, defaults, trace=True)
    batch = engine.evaluate_records([rec], rb, defaults, trace=True)[0]
    assert _full(one) == _full(batch), rec
    assert type(one.eligible_cost) is type(batch.eligible_cost) and type(one.rate) is type(batch.rate)
    return one


MESSY = st.sampled_from([None, "", "#N/A", "abc", -5, "1,2,3", 1.5, "０.５", True, [1, 2], "1e9999", "令和"])


@st.composite
def messy_line(draw):
    """A line as offices type it, with any field replaced by a bad value now and then."""
    rec = draw(line(person_pool=["A", "B"]))
    rec["fiscal_index"] = draw(st.sampled_from([None, "0.3", "0.45", 0.9, "1.2", "x"]))
    rec["months_served"] = draw(st.sampled_from([None, 6, 12, "13", "3ヶ月"]))
    rec["pref_grant"] = draw(st.sampled_from([None, "はい", "いいえ"]))
    rec["body_code"] = draw(st.sampled_from([None, None, "131016", "13101", "012025", "999999", "130001"]))
    rec["fiscal_year"] = draw(st.sampled_from([rec["fiscal_year"], "", None]))  # blank: the default's
    for key in draw(st.lists(st.sampled_from(sorted(rec)), max_size=3)):
        rec[key] = draw(MESSY)
    if draw(st.booleans()):
        rec = {k: v for k, v in rec.items() if v is not None}
    return rec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_line(), st.sampled_from([None, {"fiscal_year": 2024}, {"fiscal_year": "令和8", "body_type": "都道府県"}]))
def test_one_line_path_equals_batch_on_random_lines(rec, defaults):
    """Every field of the result (reasons, rule events, error columns, trace) is the batch's."""
    _one_equals_batch(rec, defaults=defaults)


def test_one_line_path_equals_batch_on_every_rule_case(tmp_path):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from rulecases import load_cases, rulebook_with
    checked = 0
    for k, case in enumerate(load_cases()):
        rb = rulebook_with(case["settings"], tmp_path / str(k)) if case.get("settings") else RB
        for rec in case["lines"]:
            _one_equals_batch(rec, rb)
            checked += 1
    assert checked > 100


def test_one_line_path_builds_no_numpy_column(monkeypatch):
    """The scalar path really is scalar: no stage state holds an array (tables of the rulebook aside)."""
    from tokkou import engine_stages, engine_xp
    seen = []
    real = engine_stages.status_and_reasons

    def spy(s):
        out = real(s)
        if s.xp is engine_xp.ONE:
            seen.append([k for k, v in {**s.a, **out}.items() if isinstance(v, np.ndarray)])
        return out
    monkeypatch.setattr(engine_stages, "status_and_reasons", spy)
    r = engine.evaluate_line(body_type="市町村", fiscal_year=2025, category="④", cost=8_000_000, employment="専任",
                             person_id="K1", months_served=6)
    assert r.status == "partial" and seen == [[]]
