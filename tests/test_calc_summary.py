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
