"""calc's terminal summary: the most frequent reasons, counted whole even when a value holds brackets."""
from __future__ import annotations

import pandas as pd

from tokkou import calc


def test_a_value_with_brackets_is_one_reason_not_two():
    text = "[入力エラー] 列「事業費」(cost) の値「[1, 2]」: 1つのセルには1つの値を入力してください（list は読めません）。"
    lines = pd.DataFrame({"status": ["error", "error"], "reasons": [text, text.replace("[1, 2]", "[3]")]})
    (reason, count), = calc.top_reasons(lines)
    assert count == 2 and reason.startswith("[入力エラー] 列「事業費」(cost) の値: 1つのセルには")


def test_rule_fragments_are_split_at_rule_ids_only():
    text = "[ROUTE-MIGRATION] 移住・定住対策が主目的の事業は本措置ではありません。 [CAT-3] ③きっかけづくりの事業に当たります。"
    lines = pd.DataFrame({"status": ["excluded"], "reasons": [text]})
    assert calc.top_reasons(lines) == (("[ROUTE-MIGRATION] 移住・定住対策が主目的の事業は本措置ではありません。", 1),)


def _calc(tmp_path, rows) -> tuple[calc.Summary, str]:
    import subprocess
    import sys
    src = tmp_path / "lines.csv"
    pd.DataFrame(rows).to_csv(src, index=False)
    out = subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", str(src), "-o", str(tmp_path / "o.csv")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return calc.run(src, tmp_path / "o2.csv"), out.stdout


def test_body_totals_group_by_resolved_body_and_year_as_read(tmp_path):
    """One body's lines of one year are one total however the year and the body were typed
    (INTERP-BODY-ROUNDING rounds once per body and year)."""
    rows = [{"団体コード": "454010", "団体名": "", "年度": "2025", "区分": 1, "事業費": 1_000_999},
            {"団体コード": "", "団体名": "宮崎県高鍋町", "年度": "R7", "区分": 1, "事業費": 1_000_999},
            {"団体コード": "454010", "団体名": "高鍋町", "年度": "令和7年度", "区分": 1, "事業費": 1_000_999},
            {"団体コード": "454010", "団体名": "", "年度": "2026", "区分": 1, "事業費": 2_000},
            {"団体コード": "", "団体名": "どこかの村", "年度": "", "区分": 1, "事業費": 2_000}]
    s, stdout = _calc(tmp_path, rows)
    got = [(b.body, b.body_name, b.fiscal_year, b.lines, b.total_yen, b.rounded_yen) for b in s.bodies]
    assert got[0] == ("454010", "宮崎県高鍋町", 2025, 3, 3 * 500_499, 1_501_000)  # rounded once, not thrice
    assert got[1] == ("454010", "宮崎県高鍋町", 2026, 1, 1_000, 1_000)
    assert got[2][:3] == ("どこかの村", "どこかの村", None) and len(got) == 3
    assert "宮崎県高鍋町 2025年度（令和7年度）: 1,501,497円 → 1,501千円" in stdout
    assert "年度年度" not in stdout and "R7年度" not in stdout


def test_more_bodies_than_shown_are_counted_as_body_and_year(tmp_path):
    rows = [{"団体コード": "454010", "年度": y, "区分": 1, "事業費": 1000} for y in range(2025, 2047)]
    s, stdout = _calc(tmp_path, rows)
    assert len(s.bodies) == 22 and "ほか 2 団体・年度" in stdout


def test_section_checks_count_together_and_name_the_sections_they_read(tmp_path):
    """「確認: 節「扶助費」…」 of many lines is one reason that still reads 節「扶助費」, not 「確認: 節。」."""
    rows = [{"団体コード": "454010", "年度": "2025", "区分": c, "事業費": 100_000 + i, "節": s}
            for i, (c, s) in enumerate([(5, "扶助費"), (5, "扶助費"), (5, "扶助費"), (1, "交際費"), (2, "食糧費")])]
    _, stdout = _calc(tmp_path, rows)
    assert "  3行: [EXCL-CASH] 確認: 節「扶助費」。予算の節が扶助費のため" in stdout, stdout
    assert "  2行: [EXCL-FOOD] 確認: 節「交際費」・「食糧費」。" in stdout, stdout
    assert "確認: 節。" not in stdout


def test_many_sections_in_one_reason_are_cut_with_hoka():
    texts = [f"[EXCL-FOOD] 確認: 節「節{i}」。確認してください。" for i in range(5)]
    lines = pd.DataFrame({"status": ["eligible"] * 5, "reasons": texts})
    assert calc.top_reasons(lines) == (("[EXCL-FOOD] 確認: 節「節0」・「節1」・「節2」ほか。確認してください。", 5),)
