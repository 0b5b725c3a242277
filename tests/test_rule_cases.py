"""Every rule of the rulebook is proven by at least one YAML case, through both engine paths."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from tokkou import engine, rulebook, totals
from rulecases import load_cases, rulebook_with

CASES = load_cases()


def test_every_rule_id_has_a_case():
    rb = rulebook.get()
    covered = {c["rule"] for c in CASES}
    missing = [rid for rid in rb.rule_ids if rid not in covered]
    assert not missing, f"rule IDs without a YAML case: {missing}"
    unknown = covered - set(rb.rule_ids)
    assert not unknown, f"cases name rules not in the rulebook: {unknown}"


def test_every_interpretation_setting_has_a_case_changing_it():
    rb = rulebook.get()
    changed = {k.split(".")[1] for c in CASES for k in c.get("settings", {}) if k.startswith("interpretations.")}
    settings = set(type(rb.interp).model_fields) - {"apportion"}  # apportion: the missing-ratio case
    assert settings <= changed | {"apportion"}, settings - changed


def test_cases_cite_the_rule_citation():
    """A case's citation names at least one section its rule cites."""
    rb = rulebook.get()
    for c in CASES:
        tokens = [t.split("（")[0].strip() for t in rb.rule(c["rule"]).citation.split(",")]
        assert any(t and t in c["citation"] for t in tokens), (c["_id"], tokens, c["citation"])


def _check(result, exp, where):
    for key in ("eligible_cost", "measure_amount", "status"):
        if key in exp:
            assert result[key] == exp[key], f"{where}: {key} {result[key]!r} != {exp[key]!r}; {result['reasons']}"
    if "rate" in exp:
        assert result["rate"] == Decimal(exp["rate"]), f"{where}: rate {result['rate']} != {exp['rate']}"
    ids = result["rule_ids"].split()
    for rid in exp.get("ids", []):
        assert rid in ids, f"{where}: {rid} not in {ids}; {result['reasons']}"
    for rid in exp.get("not_ids", []):
        assert rid not in ids, f"{where}: {rid} unexpectedly in {ids}"
    if "reason_has" in exp:
        assert exp["reason_has"] in result["reasons"], f"{where}: {exp['reason_has']!r} not in {result['reasons']!r}"
    if "trace" in exp:
        assert result["trace"] == exp["trace"], f"{where}: trace {result['trace']!r} != {exp['trace']!r}"


def test_every_case_asserts_a_trace():
    """計算過程: each case checks the arithmetic text of at least one of its lines."""
    missing = [c["_id"] for c in CASES if not any("trace" in e for e in c["expected"])]
    assert not missing, f"cases without a trace assertion: {missing}"


@pytest.mark.parametrize("case", CASES, ids=[c["_id"] for c in CASES])
def test_rule_case(case, tmp_path):
    rb = rulebook_with(case["settings"], tmp_path) if case.get("settings") else rulebook.get()
    assert len(case["lines"]) == len(case["expected"]), case["_id"]
    batch = engine.evaluate_frame(pd.DataFrame(case["lines"], dtype=object), rb, trace=True)
    for i, exp in enumerate(case["expected"]):
        row = batch.iloc[i]
        _check({k: row[k] for k in ("eligible_cost", "rate", "measure_amount", "status", "reasons", "rule_ids", "trace")},
               exp, f"{case['_id']} line {i + 1} (batch)")
    if "body_totals" in case:
        got = [(t.body, t.total_yen, t.rounded_yen) for t in totals.body_totals(batch.to_dict("records"), rb)]
        want = [(b["body"], b["total_yen"], b["rounded_yen"]) for b in case["body_totals"]]
        assert got == want, f"{case['_id']}: body totals {got} != {want}"
    # the single-line path agrees wherever a line does not share a coordinator with another line
    persons = [l.get("person_id") for l in case["lines"]]
    for i, line in enumerate(case["lines"]):
        if line.get("category") in (4, "④") and (persons.count(line.get("person_id")) > 1 or not line.get("person_id")):
            continue
        r = engine.evaluate_line(rb, **line)
        _check({"eligible_cost": r.eligible_cost, "rate": r.rate, "measure_amount": r.measure_amount,
                "status": r.status, "reasons": r.reasons, "rule_ids": " ".join(r.rule_ids), "trace": r.trace},
               case["expected"][i], f"{case['_id']} line {i + 1} (single)")
