"""`tokkou calc`: read lines, evaluate through the batch path, write them back with results."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import engine, rulebook
from .columnwise import map_distinct
from .normalize import OUTPUT_COLUMNS
from .files import check_output
from .tabular import read_table, write_table


@dataclass
class Summary:
    source: Path
    output: Path
    rulebook: str
    by_category: pd.DataFrame  # index: category label; columns: lines, statuses, amounts
    errors: int
    bodies: list = field(default_factory=list)  # totals.BodyTotal per body and year (地方交付税法第22条)


def default_output(src: Path) -> Path:
    """`<入力名>_算定結果.<ext>` beside the input (.xlsx for a filled template or any .xlsx, else the input's)."""
    src = Path(src)
    return src.with_name(f"{src.stem}_算定結果{src.suffix.lower() or '.csv'}")


def run(src: Path, out: Path, rules: str | None = None, year: str | None = None) -> Summary:
    """Read `src`, evaluate every line, write `out`; the output place is checked before any work.
    Raises InputError (file, output place) or RulebookError."""
    check_output(out, [src])
    rb = rulebook.get(rules)
    df = read_table(src)
    defaults = {"fiscal_year": year} if year else None
    result = engine.evaluate_frame(df, rb, defaults, trace=True)  # 計算過程 (trace) column
    write_table(result, out, inputs=[src])
    return Summary(src, out, f"{rb.name} {rb.short_hash}", summarize(result, rb),
                   int((result["status"] == "error").sum()), body_totals(result, rb))


def body_totals(result: pd.DataFrame, rb: rulebook.Rulebook) -> list:
    """Each body's 措置額 total in yen and rounded per 地方交付税法第22条 (totals.body_totals)."""
    from . import totals
    cols = {engine.header_key(c): c for c in result.columns}
    keys = {k: cols[k] for k in ("body_code", "body_name", "fiscal_year") if k in cols}
    frame = pd.DataFrame({k: result[c].astype(object) for k, c in keys.items()})
    frame["measure_amount"] = pd.to_numeric(result["measure_amount"], errors="coerce").fillna(0).astype("int64")
    return totals.body_totals(frame.to_dict("records"), rb)


def summarize(result: pd.DataFrame, rb: rulebook.Rulebook) -> pd.DataFrame:
    """Lines, status counts and yen totals per category, with a 合計 row."""
    from .normalize import Parsers, is_blank
    parsers = Parsers(rb)
    cat_col = next((c for c in result.columns if engine.header_key(c) == "category"), None)
    labels = {c.id: f"{c.symbol}{c.name}" for c in rb.model.categories}

    def label(v):
        if cat_col is None or is_blank(v):
            return "（区分なし）"
        cid, err = parsers.category(v)
        return labels[cid] if cid else "（区分不明）"

    cats = map_distinct(result[cat_col], label) if cat_col else pd.Series("（区分なし）", index=result.index)
    frame = pd.DataFrame({
        "区分": cats,
        "status": result["status"],
        "対象経費": pd.to_numeric(result["eligible_cost"], errors="coerce").fillna(0).astype("int64"),
        "措置額": pd.to_numeric(result["measure_amount"], errors="coerce").fillna(0).astype("int64"),
    })
    order = [labels[i] for i in range(1, 6)] + ["（区分なし）", "（区分不明）"]
    rows = []
    for name in order:
        part = frame[frame["区分"] == name]
        if name not in labels.values() and part.empty:
            continue
        rows.append(_row(name, part))
    rows.append(_row("合計", frame))
    return pd.DataFrame(rows).set_index("区分")


def _row(name: str, part: pd.DataFrame) -> dict:
    counts = part["status"].value_counts()
    return {"区分": name, "行数": len(part),
            **{engine.STATUS_JA[s]: int(counts.get(s, 0)) for s in ("eligible", "partial", "excluded", "error")},
            "対象経費": int(part["対象経費"].sum()), "措置額": int(part["措置額"].sum())}


def print_summary(s: Summary) -> None:
    from rich.console import Console

    from .terminal import category_table
    con = Console()
    con.print(f"算定結果 {s.source.name} → {s.output.name}")
    con.print(f"ルールブック {s.rulebook}")
    category_table(s.by_category, con)
    _print_bodies(s.bodies, con)
    if s.errors:
        con.print(f"[yellow]エラーの行が {s.errors} 行あります。出力の「理由」(reasons) 列を確認してください。[/yellow]")


def _print_bodies(bodies: list, con, limit: int = 20) -> None:
    """Per body: 措置額 in yen and rounded to 千円 per 地方交付税法第22条 (INTERP-BODY-ROUNDING)."""
    from .render import UNIT_LABELS, yen
    if not bodies:
        return
    unit = UNIT_LABELS[bodies[0].unit]
    con.print(f"団体ごとの措置額合計（{unit}単位は地方交付税法第22条による）")
    for b in bodies[:limit]:
        who = b.body_name or b.body
        year = f" {b.fiscal_year}年度" if b.fiscal_year not in (None, "") else ""
        con.print(f"  {who}{year}: {yen(b.total_yen)}円 → {yen(b.rounded_units)}{unit}")
    if len(bodies) > limit:
        con.print(f"  ほか {len(bodies) - limit} 団体（出力ファイルの措置額列を団体ごとに合計）")


__all__ = ["run", "body_totals", "summarize", "print_summary", "OUTPUT_COLUMNS"]
