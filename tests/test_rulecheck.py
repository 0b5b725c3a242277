"""`tokkou rules check`: the rulebook and the engine agree both ways; hostile rulebooks are refused
in Japanese with file, key and value, in bounded time and memory; calc never shows a KeyError."""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tokkou import engine, engine_stages, rulebook
from tokkou.engine_context import yes_no_columns
from tokkou.rulebook import RulebookError

FIELD = Path(__file__).parent / "field" / "reliability"


def cli(*args, limit_mb: int | None = None, timeout: float = 120):
    def limits():
        if limit_mb:
            resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
    return subprocess.run([sys.executable, "-m", "tokkou.cli", *args], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limits if limit_mb else None)


from rulecases import edit_yaml as _edit  # noqa: E402  (rules_copy: a fixture in conftest)


def _rule(d, rid):
    return next(r for r in d["rules"] if r["id"] == rid)


def _refused(folder, *parts):
    out = cli("rules", "check", str(folder))
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    for p in parts:
        assert p in out.stderr, (p, out.stderr)
    assert "Traceback" not in out.stderr and "KeyError" not in out.stderr
    return out.stderr


# ---- the field's hostile rulebooks (shared/field/reliability, copied under tests/) -------------------

def test_duplicate_yaml_key_refused():
    _refused(FIELD / "rules_dup_key", "parameters.yaml", "キー「coord_cap_dedicated」が重複", "10行目と16行目")


def test_missing_and_misspelled_parameter_refused():
    err = _refused(FIELD / "rules_missing_param", "parameters.yaml", "parameters.coord_cap_concurrent:",
                   "パラメータ「coord_cap_concurrent」がありません", "coord_cap_concurrentX")
    assert "エンジンが使いません" in err


def test_unknown_placeholder_refused():
    _refused(FIELD / "rules_bad_placeholder", "rules.yaml", "CAP-COORD-DEDICATED", "messages.capped", "{nope}")


def test_cap_of_1e18_refused_and_no_arithmetic_overflows(tmp_path):
    _refused(FIELD / "rules_cap_1e18_monthly", "parameters.yaml", "parameters.coord_cap_dedicated",
             "1,000,000,000,000,000,000")
    out = cli("calc", str(FIELD / "coord_big.csv"), "-o", str(tmp_path / "o.csv"), "--rules",
              str(FIELD / "rules_cap_1e18_monthly"))
    assert out.returncode == 2 and "KeyError" not in out.stderr and not (tmp_path / "o.csv").exists()


def test_largest_allowed_cap_with_monthly_proration_stays_exact(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(FIELD / "rules_cap_1e18_monthly", rules)
    _edit(rules, "parameters.yaml",
          lambda d: d["parameters"]["coord_cap_dedicated"]["values"][0].update(value=rulebook.MAX_PARAM_YEN))
    for src, expect in (("coord_big.csv", [8_000_000]), ("coord_months.csv", [5_000_000, 5_000_000])):
        out = cli("calc", str(FIELD / src), "-o", str(tmp_path / "o.csv"), "--rules", str(rules), "--quiet", "--lang", "en")
        assert out.returncode == 0, out.stderr
        assert list(pd.read_csv(tmp_path / "o.csv")["measure_amount"]) == expect


def test_alias_bomb_refused_in_bounded_time_and_memory():
    t = time.perf_counter()
    _refused(FIELD / "rules_bomb", "zz_bomb.yaml", "エイリアス")
    assert time.perf_counter() - t < 30
    out = cli("rules", "check", str(FIELD / "rules_bomb"), limit_mb=1024)
    assert out.returncode == 2 and "エイリアス" in out.stderr, out.stderr


def test_recursive_alias_and_deep_nesting_refused(rules_copy):
    (rules_copy / "zz.yaml").write_text("x: &a [1, *a]\n", encoding="utf-8")
    _refused(rules_copy, "zz.yaml")
    (rules_copy / "zz.yaml").write_text("x: " + "[" * 200 + "]" * 200 + "\n", encoding="utf-8")
    _refused(rules_copy, "zz.yaml", "入れ子が深すぎます")


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_fifo_or_device_as_rule_file_refused_without_reading(rules_copy, tmp_path, kind):
    target = rules_copy / "zz.yaml"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    t = time.perf_counter()
    _refused(rules_copy, "zz.yaml", "FIFO" if kind == "fifo" else "デバイス")
    out = cli("calc", str(tmp_path / "none.csv"), "-o", str(tmp_path / "o.csv"), "--rules", str(target), timeout=60)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert time.perf_counter() - t < 60


# ---- rules drive the engine, both ways ---------------------------------------------------------------

def test_misspelled_parameter_refused_and_calc_never_shows_keyerror(rules_copy, tmp_path):
    def rename(d):
        d["parameters"]["coord_cap_dedicatd"] = d["parameters"].pop("coord_cap_dedicated")
        for r in d.get("rules", []):
            pass
    _edit(rules_copy, "parameters.yaml", rename)
    _edit(rules_copy, "rules.yaml", lambda d: [m.update({k: v.replace("coord_cap_dedicated", "coord_cap_dedicatd")
                                                         for k, v in m.items()})
                                               for m in (r["messages"] for r in d["rules"])])
    _refused(rules_copy, "parameters.yaml", "coord_cap_dedicatd", "パラメータ「coord_cap_dedicated」がありません")
    csv = tmp_path / "in.csv"
    csv.write_text("団体区分,年度,区分,事業費,コーディネーターID,従事形態\n市町村,2025,4,100,A,専任\n", encoding="utf-8")
    out = cli("calc", str(csv), "-o", str(tmp_path / "o.csv"), "--rules", str(rules_copy))
    assert out.returncode == 2 and "KeyError" not in out.stderr and "coord_cap_dedicated" in out.stderr


def test_unknown_flag_in_when_refused(rules_copy):
    _edit(rules_copy, "rules.yaml", lambda d: _rule(d, "EXCL-CASH")["when"].update(flag="cash_benefitt"))
    _refused(rules_copy, "rules.yaml", "EXCL-CASH", "when.flag", "cash_benefitt", "はい/いいえの列ではありません")


def test_duplicate_rule_id_across_two_files_names_both(rules_copy):
    data = yaml.safe_load((rules_copy / "rules.yaml").read_text(encoding="utf-8"))
    extra = {"rules": [dict(_rule(data, "SCOPE-FY"))]}
    (rules_copy / "rules_2026.yaml").write_text(yaml.safe_dump(extra, allow_unicode=True), encoding="utf-8")
    _refused(rules_copy, "ルールID「SCOPE-FY」が重複", "rules.yaml の rules.1", "rules_2026.yaml の rules.0")


def test_rules_may_be_split_across_files(rules_copy):
    data = yaml.safe_load((rules_copy / "rules.yaml").read_text(encoding="utf-8"))
    moved = [r for r in data["rules"] if r["id"].startswith("INTERP-")]
    data["rules"] = [r for r in data["rules"] if not r["id"].startswith("INTERP-")]
    (rules_copy / "rules.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (rules_copy / "rules_interp.yaml").write_text(yaml.safe_dump({"rules": moved}, allow_unicode=True), encoding="utf-8")
    rb = engine.check(rules_copy)
    assert len(rb.rule_ids) == len(rulebook.get().rule_ids)


def test_pydantic_english_is_replaced_by_japanese(rules_copy):
    _edit(rules_copy, "rules.yaml", lambda d: d["rules"][3].pop("quote"))
    err = _refused(rules_copy, "rules.yaml", "rules.3.quote", "必須の項目がありません")
    assert "Field required" not in err


@pytest.mark.parametrize("flag", sorted(yes_no_columns()))
def test_a_when_exclusion_on_any_yes_no_column_excludes_without_code(rules_copy, flag):
    def add(d):
        d["rules"].append({"id": "EXCL-TEST", "title": "試験", "citation": "記2(2)", "quote": "試験", "basis": "notice",
                           "when": {"flag": flag}, "messages": {"excluded": f"{flag}のため対象外です。"}})
    _edit(rules_copy, "rules.yaml", add)
    rb = engine.check(rules_copy)
    assert ("EXCL-TEST", "excluded") in engine.context(rb).exclusions
    base = {"body_type": "都道府県", "fiscal_year": 2025, "category": 4, "cost": 1000, "person_id": "A",
            "employment": "兼務"}
    lines = pd.DataFrame([{**base, flag: "はい"}, {**base, flag: "いいえ"}], dtype=object)
    out = engine.evaluate_frame(lines, rb)
    assert out["status"][0] == "excluded" and "EXCL-TEST" in out["rule_ids"][0], out["reasons"][0]
    assert "EXCL-TEST" not in out["rule_ids"][1]


def test_when_rules_are_applied_in_rulebook_order(rules_copy):
    line = pd.DataFrame([{"body_type": "市町村", "fiscal_year": 2025, "category": 5, "cost": 1000,
                          "national_subsidy": "はい", "cash_benefit": "はい"}], dtype=object)
    assert engine.evaluate_frame(line, rulebook.load(rules_copy))["rule_ids"][0].split()[:2] == ["SCOPE-SINGLE", "EXCL-CASH"]

    def swap(d):
        cash = _rule(d, "EXCL-CASH")
        d["rules"].remove(cash)
        d["rules"].insert(0, cash)
    _edit(rules_copy, "rules.yaml", swap)
    assert engine.evaluate_frame(line, rulebook.load(rules_copy))["rule_ids"][0].split()[:2] == ["EXCL-CASH", "SCOPE-SINGLE"]


def test_removing_the_engines_use_of_a_flag_fails_the_check(rules_copy, monkeypatch):
    engine.check(rules_copy)

    def without_facility(ctx, cat, item):
        return ctx.item_flag("digital_bond")[item] | ctx.category_flag("digital_bond")[cat]
    monkeypatch.setattr(engine_stages, "_digital_bond", without_facility)
    with pytest.raises(RulebookError, match="経費項目のフラグ「facility」"):
        engine.check(rules_copy)


def test_an_unused_setting_or_rule_fails_the_check(rules_copy):
    def add(d):
        d["rules"].append({"id": "NEW-RULE", "title": "新", "citation": "記2", "quote": "新", "basis": "notice",
                           "messages": {"applied": "新しいルール"}})
    _edit(rules_copy, "rules.yaml", add)
    _refused(rules_copy, "NEW-RULE", "エンジンで適用されていません")


def test_item_flags_drive_the_bond_kind_and_food(rules_copy):
    line = pd.DataFrame([{"body_type": "市町村", "fiscal_year": 2025, "category": 5, "item": "C5-04", "cost": 1000,
                          "bond_amount": 100, "food_amount": 50}], dtype=object)
    before = engine.evaluate_frame(line, rulebook.load(rules_copy))
    assert "EXCL-REGIONAL-BOND" in before["rule_ids"][0] and before["eligible_cost"][0] == 900

    def flag(d):
        it = next(i for c in d["categories"] for i in c["items"] if i["id"] == "C5-04")
        it.update(digital_bond=True, food_excluded=True)
    _edit(rules_copy, "categories.yaml", flag)
    after = engine.evaluate_frame(line, rulebook.load(rules_copy))
    assert "EXCL-DIGITAL-BOND" in after["rule_ids"][0] and after["eligible_cost"][0] == 850


def test_rate_kind_drives_which_categories_are_capped_per_person(rules_copy):
    _edit(rules_copy, "categories.yaml", lambda d: d["categories"][1].update(rate_kind="coordinator"))
    line = pd.DataFrame([{"body_type": "市町村", "fiscal_year": 2025, "category": 2, "cost": 900_000,
                          "person_id": "A", "employment": "兼務"}], dtype=object)
    out = engine.evaluate_frame(line, engine.check(rules_copy))
    assert out["measure_amount"][0] == 400_000 and "CAP-COORD-CONCURRENT" in out["rule_ids"][0]
