"""What the terminal shows: tables that follow the terminal's width, IDs and amounts never broken.

Values are written as a person writes them (`上限額 5,000,000円`, `措置率 0.5`), never as Python dicts.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .rulebook import Rulebook

# Japanese words for the settings of interpretations.yaml (a key not listed shows as `key 値`).
_SETTING_LABELS = {
    "deduct": "控除", "unit": "単位", "mode": "方法", "default_coefficient": "既定の係数",
    "min_coefficient": "係数の下限", "max_coefficient": "係数の上限", "table": "財政力指数からの表",
    "require_person_id": "コーディネーターID必須", "require_ratio_for_mixed": "複合事業の按分率必須",
    "max_decimals": "按分率の小数桁数の上限",
}
_WORDS = {"floor": "切捨て", "none": "しない", "monthly": "月割り", "ceil": "切上げ", "round": "四捨五入",
          "half_up": "四捨五入"}
_SKIP = ("rule", "basis", "description")


def yen(v: int) -> str:
    return f"{int(v):,}円"


def plain(v: Any) -> str:
    """One value as a person writes it: はい/いいえ, 1,000 for numbers, なし for an empty list."""
    if isinstance(v, bool):
        return "はい" if v else "いいえ"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (float, Decimal)):
        return format(Decimal(str(v)).normalize(), "f")
    if isinstance(v, str):
        return _WORDS.get(v, v)
    if isinstance(v, (list, tuple)):
        return "、".join(plain(x) for x in v) if v else "なし"
    if isinstance(v, dict):
        return " ".join(f"{_SETTING_LABELS.get(k, k)} {plain(x)}" for k, x in v.items())
    return str(v)


def parameter_text(rb: Rulebook, name: str, year: int) -> str:
    p = rb.model.parameters[name]
    value = rb.param(name, year)
    return f"{p.description} {yen(value) if p.unit == 'yen' else plain(value)}"


def setting_texts(setting) -> list[str]:
    out = []
    for key, value in setting.model_dump().items():
        if key in _SKIP:
            continue
        label = _SETTING_LABELS.get(key, key)
        if key == "unit" and isinstance(value, int):
            out.append(f"{label} {'円未満' if value == 1 else f'{value:,}円未満'}")
        elif key == "table" and isinstance(value, list) and value:
            out.append(f"{label} " + "、".join(plain(v) for v in value))
        else:
            out.append(f"{label} {plain(value)}")
    return out


def rule_values(rb: Rulebook, year: int) -> dict[str, list[str]]:
    """Rule ID → the values that rule uses in `year`, as text."""
    values: dict[str, list[str]] = {}
    for name, p in rb.model.parameters.items():
        values.setdefault(p.rule, []).append(parameter_text(rb, name, year))
    interp = rb.interp
    for key in type(interp).model_fields:
        s = getattr(interp, key)
        values.setdefault(s.rule, []).extend(setting_texts(s))
    return values


def print_rules(rb: Rulebook, year: int | None = None, console=None) -> None:
    """The rulebook as a table as wide as the terminal: ID (never broken), 出典, 根拠, 内容 and 値."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    year = year or rb.model.valid_from
    con = console or Console()
    values = rule_values(rb, year)
    note = f"{year}年度は適用前です（{rb.model.valid_from}年度から）。値は最初の年度のものです。" \
        if year < rb.model.valid_from else None
    id_width = max(len(r.id) for r in rb.model.rules)
    con.print(f"{rb.model.title}", soft_wrap=False)
    con.print(f"ルールブック {rb.name}　sha256 {rb.short_hash}　{year}年度の値")
    t = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, expand=False)
    t.add_column("ルールID・根拠", no_wrap=True, min_width=id_width)
    t.add_column("出典", overflow="fold", max_width=12)
    t.add_column("内容・値", overflow="fold")
    for r in rb.model.rules:
        basis = "通知" if r.basis == "notice" else "解釈"
        body = "\n".join([r.title] + [f"・{v}" for v in values.get(r.id, [])])
        t.add_row(f"{r.id}\n{basis}", r.citation, body)
    con.print(t)
    if note:
        con.print(note)


def category_table(by_category, console=None) -> None:
    """calc's summary (区分 × 行数・判定・対象経費・措置額) as wide as the terminal. Counts and amounts never
    wrap: when one table is too wide, amounts and counts are shown as two narrower tables."""
    from rich.console import Console
    con = console or Console()
    columns = [str(c) for c in by_category.columns]
    whole = _summary_table(by_category, columns)
    from rich.measure import Measurement
    natural = Measurement.get(con, con.options.update(max_width=10_000), whole).maximum
    if natural <= con.width:
        con.print(whole)
        return
    amounts = [c for c in columns if c in ("行数", "対象経費", "措置額")]
    con.print(_summary_table(by_category, amounts))
    con.print(_summary_table(by_category, [c for c in columns if c not in amounts or c == "行数"]))


def _summary_table(by_category, columns: list[str]):
    from rich.table import Table
    t = Table(box=None, padding=(0, 1), collapse_padding=True, pad_edge=False, header_style="bold underline")
    t.add_column("区分", overflow="fold")
    for col in columns:
        t.add_column(col, justify="right", no_wrap=True)
    for name, row in by_category.iterrows():
        t.add_row(str(name), *[f"{int(row[c]):,}" for c in columns], style="bold" if name == "合計" else None)
    return t


def _finding_parts(counts: dict[str, int]) -> str:
    parts = [f"うち情報 {counts['info']:,}件"] if counts.get("info") else []
    parts += ["確認対象外の項目を含む"] if counts["skipped"] else []
    return f"（{'、'.join(parts)}）" if parts else ""


def review_summary(counts: dict[str, int], out, console=None) -> None:
    """review's closing lines. Each line is short and a number is written against its unit (18件,
    15,490,000円), so no terminal width splits a count from what it counts."""
    from rich.console import Console
    from rich.text import Text
    con = console or Console()
    skipped = (f"（フォルダ内の確認対象外 {counts['skipped']:,}件は「指摘」に理由を記載）"
               if counts["skipped"] else "")
    for line in (f"確認したファイル {counts['reviewed']:,}件{skipped}",
                 f"読めないファイル {counts['unread']:,}件、読めたうちエラーの指摘があるファイル {counts['with_errors']:,}件",
                 f"指摘 {counts['findings']:,}件" + _finding_parts(counts),
                 f"措置額合計 {counts['total']:,}円（同じ団体・年度は1ファイルだけ集計）",
                 f"確認結果 → {out}"):
        con.print(Text(line), overflow="fold")


__all__ = ["category_table", "print_rules", "review_summary", "rule_values", "plain", "yen"]
