"""The native template follows the rulebook, proven by LibreOffice recalculation (recalculating profile).

- A FY2026 cap added to a copy of the rulebook: the template's 理由 cites the 2026 cap and equals the
  engine's reason (messages are looked up per fiscal period on the ルール sheet).
- A `when:` exclusion added on each yes/no column in turn: the engine and the template both exclude,
  with nothing in src/ changed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

import lo
from tokkou import columns, engine, layout as L, rulebook, templates
from tokkou.template_reader import read_lines

ROOT = Path(__file__).resolve().parents[1]
RB = rulebook.get()
YES, NO = L.YES, L.NO


need_soffice = lo.need_soffice


def rules_copy(tmp_path: Path, edit) -> rulebook.Rulebook:
    rules = tmp_path / "rules"
    shutil.copytree(RB.path, rules)
    edit(rules)
    return rulebook.load(rules)


def segment(reasons: str, rid: str) -> str:
    """The "[RID] sentence" part of an engine reason text."""
    start = reasons.index(f"[{rid}]")
    end = reasons.find(" [", start + 1)
    return reasons[start:] if end < 0 else reasons[start:end]


def recalculated(tmp_path: Path, rb, fill: templates.Fill, name: str):
    src = templates.build_workbook(tmp_path / f"{name}.xlsx", "native", rb, fill)
    done = lo.recalc(src, tmp_path / f"{name}_lo")
    return src, openpyxl.load_workbook(done, data_only=True)


# ---- messages per fiscal period ------------------------------------------------------------------

def _cap_2026(rules: Path):
    p = rules / "parameters.yaml"
    text = p.read_text(encoding="utf-8")
    old = "      - {from: 2025, value: 5000000}"
    assert text.count(old) == 1
    p.write_text(text.replace(old, old + "\n      - {from: 2026, value: 6000000}"), encoding="utf-8")


def test_fy2026_cap_is_cited_by_the_native_reasons_as_by_the_engine(tmp_path):
    need_soffice()
    rb = rules_copy(tmp_path, _cap_2026)
    assert (rb.param("coord_cap_dedicated", 2025), rb.param("coord_cap_dedicated", 2026)) == (5_000_000, 6_000_000)
    lay = L.get(rb)
    cc = lay.coord
    people = [{"person_name": "専任A", "employment": "専任", "other_measure": "なし", "study_coordinator": NO,
               "placement": L.item_choice(L.placement_items(rb)[0]), "reward": 7_000_000},
              {"person_name": "専任B", "employment": "専任", "other_measure": "なし", "study_coordinator": NO,
               "placement": L.item_choice(L.placement_items(rb)[0]), "reward": 5_500_000}]
    for year, cap in ((2026, 6_000_000), (2025, 5_000_000)):
        body = {"body_name": "茅野市", "body_code": "202142", "body_type": "市町村", "fiscal_year": year}
        src, wb = recalculated(tmp_path, rb, templates.Fill(body=body, coordinators=people), f"fy{year}")
        res = engine.evaluate_frame(read_lines(src, rb), rb)
        ws = wb[L.SHEET_COORD]
        for i, row in enumerate(res.itertuples()):
            r = L.COORD_FIRST_ROW + i
            shown = ws[f"{cc['reasons'].letter}{r}"].value or ""
            assert ws[f"{cc['measure_amount'].letter}{r}"].value == row.measure_amount
            assert ws[f"{cc['cap'].letter}{r}"].value == cap
            if row.measure_amount < row.cost:  # over the cap of that fiscal year
                assert shown == segment(row.reasons, "CAP-COORD-DEDICATED"), (year, r, shown, row.reasons)
                assert f"{cap:,}円" in shown
            else:
                assert shown == "", (year, r, shown)
        assert res["measure_amount"].tolist() == [cap, min(5_500_000, cap)]
# ---- a `when:` exclusion on every yes/no column --------------------------------------------------

def _when_rule(flag: str):
    def edit(rules: Path):
        p = rules / "rules.yaml"
        text = p.read_text(encoding="utf-8")
        p.write_text(text.rstrip("\n") + f"""
  - id: TEST-WHEN-{flag.upper().replace('_', '-')}
    title: 試験用の除外（{flag}）
    citation: 記2(2)
    quote: 以下に掲げる地方単独事業とする
    basis: notice
    when: {{flag: {flag}}}
    messages:
      excluded: 試験用の除外です（{columns.BY_KEY[flag].ja}）。
""", encoding="utf-8")
    return edit


def _src_state() -> str:
    out = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout


@pytest.mark.parametrize("flag", columns.flags())
def test_a_when_rule_on_any_yes_no_column_excludes_in_engine_and_native_template(tmp_path, flag):
    need_soffice()
    before = _src_state()
    rb = rules_copy(tmp_path, _when_rule(flag))
    rid = f"TEST-WHEN-{flag.upper().replace('_', '-')}"
    assert rb.rule(rid).when.flag == flag
    body = {"body_name": "茅野市", "body_code": "202142", "body_type": "都道府県" if flag == "pref_grant" else "市町村",
            "fiscal_year": 2025}
    if flag == "pref_grant":
        body.update(body_name="長野県", body_code="200000")
    sheet = "lines" if flag in {c.key for c in columns.on_sheet("lines")} else "coord"
    cat = {c.id: L.category_choice(c) for c in rb.model.categories}
    if sheet == "lines":
        rows = [{"category": cat[1], "cost": 1_000_000, flag: v} for v in (YES, NO)]
        fill = templates.Fill(body=body, lines=rows)
    else:
        placement = L.item_choice(L.placement_items(rb)[0])
        rows = [{"employment": "兼務", "reward": 300_000, "placement": placement, "in_strategy_plan": YES,
                 flag: v} for v in (YES, NO)]
        fill = templates.Fill(body=body, coordinators=rows)
    src, wb = recalculated(tmp_path, rb, fill, flag)
    res = engine.evaluate_frame(read_lines(src, rb), rb)
    lay = L.get(rb)
    cols = {c.key: c.letter for c in (L.LINE_COLUMNS if sheet == "lines" else lay.coord_columns)}
    ws = wb[L.SHEET_LINES if sheet == "lines" else L.SHEET_COORD]
    first = L.LINES_FIRST_ROW if sheet == "lines" else L.COORD_FIRST_ROW
    yes, no = res.iloc[0], res.iloc[1]
    assert yes["status"] == "excluded" and rid in yes["rule_ids"].split(), yes["reasons"]
    assert no["status"] != "excluded" and rid not in no["rule_ids"].split()
    assert ws[f"{cols['status']}{first}"].value == "対象外"
    # the deciding (first) exclusion, as the engine words it; for 国庫補助事業 that is SCOPE-SINGLE, which the
    # rulebook lists first — the new rule still excludes, and the line's rule IDs name it
    shown = ws[f"{cols['reasons']}{first}"].value
    assert shown == yes["reasons"].split(" [")[0]
    assert shown == segment(yes["reasons"], rid) or flag == "national_subsidy"
    assert ws[f"{cols['measure_amount']}{first}"].value == 0
    assert ws[f"{cols['status']}{first + 1}"].value != "対象外"
    assert ws[f"{cols['measure_amount']}{first + 1}"].value == no["measure_amount"] > 0
    assert _src_state() == before  # nothing in src/ changed: the rulebook alone drove both
