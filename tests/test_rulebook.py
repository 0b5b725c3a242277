"""The rulebook schema stops bad YAML with file, key path and value; values drive results."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from tokkou import engine, rulebook
from tokkou.rulebook import RulebookError

SPEC_RULE_IDS = """SCOPE-BODY SCOPE-FY SCOPE-SINGLE SCOPE-PURPOSE CAT-1 CAT-2 CAT-3 CAT-4 CAT-5 RATE-GENERAL
CAP-COORD-DEDICATED CAP-COORD-CONCURRENT COORD-COSTS EXCL-FOOD EXCL-CASH EXCL-NEWBUILD EXCL-REGIONAL-BOND
EXCL-DIGITAL-BOND COND-STUDY COND-STUDY-PLAN APPORTION-MIXED ROUTE-MIGRATION SELECT-COOPERATOR INCL-PREF-GRANT
INTERP-SPECIFIC-REVENUE INTERP-ROUNDING INTERP-PRORATION INTERP-FISCAL-CORRECTION""".split()


from rulecases import edit_yaml as _edit  # noqa: E402  (rules_copy: a fixture in conftest)


def test_every_spec_rule_is_in_the_rulebook_with_citation_and_quote():
    rb = rulebook.get()
    for rid in SPEC_RULE_IDS:
        r = rb.rule(rid)
        assert r.citation and r.quote, rid
        assert r.basis == ("interpretation" if rid.startswith("INTERP-") else "notice"), rid
    assert rb.model.notice.numbers == ["総行政第71号", "総行応第133号"]


def test_caps_and_rates_come_from_the_notice():
    rb = rulebook.get()
    assert rb.param("coord_cap_dedicated", 2025) == 5_000_000
    assert rb.param("coord_cap_concurrent", 2025) == 400_000
    assert str(rb.param("general_rate", 2025)) == "0.5"
    # a value holds until a later entry replaces it
    assert rb.param("coord_cap_dedicated", 2031) == 5_000_000


def test_every_annex_example_has_a_stable_id():
    rb = rulebook.get()
    ids = [i.id for _, i in rb.items]
    assert len(ids) == len(set(ids)) == 34
    sources = {s for _, i in rb.items for s in i.sources}
    assert {"別添(1)", "別添(2)", "記2(2)①", "記2(2)②", "記2(2)③", "記2(2)④", "記2(2)⑤"} <= sources


@pytest.mark.parametrize("name, edit, expect", [
    ("rules.yaml", lambda d: d["rules"][0].update(colour="red"), ["rules.yaml", "rules.0.colour", "red"]),
    ("parameters.yaml", lambda d: d["parameters"]["coord_cap_dedicated"]["values"][0].update(value="五百万"),
     ["parameters.yaml", "coord_cap_dedicated", "五百万"]),
    ("rules.yaml", lambda d: d["rules"][3].pop("citation"), ["rules.yaml", "rules.3.citation", "必須の項目がありません"]),
    ("rules.yaml", lambda d: d["rules"][4].update(citation=""), ["rules.yaml", "rules.4.citation"]),
    ("rules.yaml", lambda d: d["rules"].append(dict(d["rules"][0])), ["rules.yaml", "ルールID「SCOPE-BODY」が重複"]),
    ("interpretations.yaml", lambda d: d["interpretations"]["rounding"].update(unit=7),
     ["interpretations.yaml", "interpretations.rounding.unit", "7"]),
    ("interpretations.yaml", lambda d: d["interpretations"]["fiscal_correction"].update(max_coefficient="二"),
     ["interpretations.yaml", "interpretations.fiscal_correction.max_coefficient", "二"]),
    ("categories.yaml", lambda d: d["categories"][0]["items"].append(dict(d["categories"][0]["items"][0])),
     ["categories.yaml", "経費項目ID「C1-01」が重複"]),
])
def test_schema_errors_name_file_key_and_value(rules_copy, name, edit, expect):
    _edit(rules_copy, name, edit)
    with pytest.raises(RulebookError) as exc:
        rulebook.load(rules_copy)
    for part in expect:
        assert part in str(exc.value), (part, str(exc.value))


def test_yaml_is_read_with_safe_load(rules_copy):
    (rules_copy / "evil.yaml").write_text("x: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(RulebookError, match="evil.yaml"):
        rulebook.load(rules_copy)


def test_rules_check_cli(rules_copy):
    ok = subprocess.run([sys.executable, "-m", "tokkou.cli", "rules", "check", str(rules_copy)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout
    _edit(rules_copy, "rules.yaml", lambda d: d["rules"][0].update(basis="hunch"))
    bad = subprocess.run([sys.executable, "-m", "tokkou.cli", "rules", "check", str(rules_copy)],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "rules.yaml" in bad.stderr and "hunch" in bad.stderr and "Traceback" not in bad.stderr


def test_rules_check_catches_a_message_the_engine_needs(rules_copy):
    def drop(d):
        next(r for r in d["rules"] if r["id"] == "CAP-COORD-DEDICATED")["messages"].pop("capped")
    _edit(rules_copy, "rules.yaml", drop)
    out = subprocess.run([sys.executable, "-m", "tokkou.cli", "rules", "check", str(rules_copy)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "CAP-COORD-DEDICATED.messages.capped" in out.stderr, out.stderr


def test_rules_show_lists_ids_citations_and_values():
    out = subprocess.run([sys.executable, "-m", "tokkou.cli", "rules", "show"], capture_output=True, text=True,
                         env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    for rid in ("CAP-COORD-DEDICATED", "記2(3)②", "5,000,000円", "INTERP-ROUNDING"):
        assert rid in out.stdout
    assert "{" not in out.stdout and "'" not in out.stdout  # values as a person writes them, not dicts


def test_changing_cap_and_rate_in_yaml_changes_results_without_code(rules_copy):
    lines = pd.DataFrame([
        {"body_type": "市町村", "fiscal_year": 2025, "category": 4, "person_id": "A", "employment": "専任", "cost": 6_000_000},
        {"body_type": "市町村", "fiscal_year": 2025, "category": 1, "cost": 1_000_000},
    ])
    before = engine.evaluate_frame(lines, rulebook.load(rules_copy))
    assert list(before["measure_amount"]) == [5_000_000, 500_000]

    def edit(d):
        d["parameters"]["coord_cap_dedicated"]["values"][0]["value"] = 5_500_000
        d["parameters"]["general_rate"]["values"][0]["value"] = "0.75"
    _edit(rules_copy, "parameters.yaml", edit)
    after = engine.evaluate_frame(lines, rulebook.load(rules_copy))
    assert list(after["measure_amount"]) == [5_500_000, 750_000]
    assert "5,500,000円" in after["reasons"][0]


def test_line_exclusions_are_read_from_the_yaml(rules_copy):
    line = pd.DataFrame([{"body_type": "市町村", "fiscal_year": 2025, "category": 1, "cost": 1000, "cash_benefit": "はい"}])
    assert engine.evaluate_frame(line, rulebook.load(rules_copy))["status"][0] == "eligible"  # ⑤ only

    def widen(d):
        next(r for r in d["rules"] if r["id"] == "EXCL-CASH")["when"]["categories"] = [1, 5]
    _edit(rules_copy, "rules.yaml", widen)
    out = engine.evaluate_frame(line, rulebook.load(rules_copy))
    assert out["status"][0] == "excluded" and "EXCL-CASH" in out["rule_ids"][0]


def test_a_condition_naming_an_unknown_purpose_stops_loading(rules_copy):
    def bad(d):
        next(r for r in d["rules"] if r["id"] == "ROUTE-MIGRATION")["when"]["main_purpose"] = "emigration"
    _edit(rules_copy, "rules.yaml", bad)
    with pytest.raises(RulebookError, match="emigration"):
        rulebook.load(rules_copy)
