"""`tokkou calc`: read lines, evaluate through the batch path, write them back with results."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import amounts, columns, engine, rulebook
from .columnwise import map_distinct
from .normalize import OUTPUT_COLUMNS, header_key
from .files import check_output
from .layout import SHEET_BODY
from .reading import Table
from .tabular import read, write_table


@dataclass
class Summary:
    source: Path
    output: Path
    rulebook: str
    by_category: pd.DataFrame  # index: category label; columns: lines, statuses, amounts
    errors: int
    bodies: list = field(default_factory=list)  # totals.BodyTotal per body and year (地方交付税法第22条)
    lines: int = 0  # lines read (blank rows not counted)
    blank_rows: int = 0
    top_reasons: tuple[tuple[str, int], ...] = ()  # the three most frequent reasons, with counts
    unread: tuple[str, ...] = ()  # headers not read (passed through unchanged)
    notes: tuple[str, ...] = ()  # where the table was found, units read
    totals: Path | None = None  # the --totals file written (every body-year total)


def default_output(src: Path) -> Path:
    """`<入力名>_算定結果.<ext>` beside the input (.xlsx for a filled template or any .xlsx, else the input's)."""
    src = Path(src)
    return src.with_name(f"{src.stem}_算定結果{src.suffix.lower() or '.csv'}")


def run(src: Path, out: Path, rules: str | None = None, year: str | None = None,
        lang: str | None = None, totals_out: Path | None = None) -> Summary:
    """Read `src`, evaluate every line, write `out`; the output place is checked before any work.
    `lang` ja|en: output headers and status values (default: the input headers' language; JSON
    keys and values stay English). `totals_out` (.csv/.xlsx): every body-year total (totals_frame).
    Raises InputError (file, output place) or RulebookError."""
    check_output(out, [src])
    if totals_out is not None:
        check_totals_output(totals_out, src, out)
    rb = rulebook.get(rules)
    table = read(src)
    defaults = {"fiscal_year": year} if year else None
    result, details, blank = evaluate_table_details(table, rb, defaults)
    language = lang or input_language(table)
    shown = localize(result, language, Path(out).suffix.lower(), input_names_ja(table, rb))
    write_table(shown, out, inputs=[src], headers=table.headers(shown.columns))
    lines = result[~blank]
    per_body = body_totals(lines, details, rb)
    if totals_out is not None:
        write_table(totals_frame(per_body), totals_out, inputs=[src, out])
    return Summary(src, out, f"{rb.name} {rb.short_hash}", summarize(lines, rb),
                   int((lines["status"] == "error").sum()), per_body, lines=len(lines),
                   blank_rows=int(blank.sum()), top_reasons=top_reasons(lines), unread=tuple(table.unread),
                   notes=reading_notes(table), totals=None if totals_out is None else Path(totals_out))


def check_totals_output(path: Path, src: Path, out: Path) -> None:
    """--totals: a .csv/.xlsx that is neither the input nor the output (checked before any work)."""
    from .errors import InputError
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(f"{path}: 団体別の合計の出力形式は .csv / .xlsx のいずれかです。")
    if path.absolute() == Path(out).absolute():
        raise InputError(f"{path}: 算定結果の出力と同じです。別のファイル名を指定してください。")
    check_output(path, [src, out], what="団体別合計の出力")


def totals_frame(per_body: list) -> pd.DataFrame:
    """Every body-year total of `body_totals`, for --totals: 団体コード, 団体名, 年度 (2025; blank when
    unread), 年度表示, 行数, 措置額合計（円）, 措置額合計（千円: rounded per 地方交付税法第22条)."""
    from .render import UNIT_LABELS
    unit = UNIT_LABELS[per_body[0].unit] if per_body else "千円"
    return pd.DataFrame({
        "団体コード": [b.body if b.body.isdigit() else "" for b in per_body],
        "団体名": [b.body_name or ("" if b.body.isdigit() else b.body) for b in per_body],
        "年度": [b.fiscal_year for b in per_body],
        "年度表示": [_year_label(b.fiscal_year) for b in per_body],
        "行数": [b.lines for b in per_body],
        "措置額合計（円）": [b.total_yen for b in per_body],
        f"措置額合計（{unit}）": [b.rounded_units for b in per_body],
    }, dtype=object)


def _year_label(year) -> str:
    from .render import fiscal_year_label
    return "（年度不明）" if year is None else fiscal_year_label(year)


def evaluate_table(table: Table, rb: rulebook.Rulebook, defaults=None) -> tuple[pd.DataFrame, np.ndarray]:
    """Every row of the table with results; blank rows stay blank (no status). Returns (frame, blank mask)."""
    result, _, blank = evaluate_table_details(table, rb, defaults)
    return result, blank


def evaluate_table_details(table: Table, rb: rulebook.Rulebook, defaults=None):
    """Every row of the table with results; blank rows stay blank (no status).
    Returns (frame, details of the non-blank rows in order, blank mask)."""
    df = table.frame
    blank = table.blank
    if not blank.any():
        return (*engine.evaluate_frame_details(df, rb, defaults, trace=True, unit=table.unit), blank)
    part, details = engine.evaluate_frame_details(df[~blank], rb, defaults, trace=True, unit=table.unit)
    return part.reindex(df.index), details, blank


def input_language(table) -> str:
    """ja for a filled template (a Japanese form, its columns read by position) and when the
    recognised headers are mostly Japanese (対象経費…, 対象/対象外), else en. `table`: a
    reading.Table, or the headers alone."""
    if isinstance(table, Table):
        if table.template_sheets:
            return "ja"
        table = table.frame.columns
    headers = table
    known = [str(h) for h in headers if header_key(h) is not None]
    ascii_ = sum(h.isascii() for h in known)
    return "en" if known and ascii_ > len(known) - ascii_ else "ja"


def input_names_ja(table: Table, rb: rulebook.Rulebook) -> dict[str, str]:
    """Japanese headers of the input columns when the table's columns are keys, not headers as
    written (a filled template: シート, 行, セル, 団体名 …); else none (a header stays as typed)."""
    if not table.template_sheets:
        return {}
    from .template_reader import headers_ja
    return headers_ja(rb)


def localize(result: pd.DataFrame, lang: str, suffix: str, inputs_ja: dict | None = None) -> pd.DataFrame:
    """Output headers and status values in `lang`; a .json output keeps English keys and values.
    `inputs_ja`: Japanese headers of input columns named by key (input_names_ja)."""
    if lang != "ja" or suffix == ".json":
        return result
    out = result.copy()
    out["status"] = out["status"].map(lambda v: engine.STATUS_JA.get(v, v))
    names = {k: v for k, v in (inputs_ja or {}).items() if k in out.columns}
    names.update({c.key: c.ja for c in columns.OUTPUTS if c.key in out.columns})
    if "trace" in out.columns:
        names.setdefault("trace", "計算過程")
    return out.rename(columns=names)


_TAG = r"\[(?:[A-Z][A-Z0-9-]*|入力エラー)\]"  # a reason's rule ID; a value may hold other brackets
_FRAGMENT = re.compile(rf"{_TAG}(?:(?!{_TAG}).)*", re.S)
_BACKGROUND = ("[CAT-", "[ITEM-OPEN]", "[RATE-", "[INTERP-FISCAL-CORRECTION]", "[INTERP-ROUNDING]")


def top_reasons(result: pd.DataFrame, n: int = 3) -> tuple[tuple[str, int], ...]:
    """The n most frequent reasons of error and excluded lines and of the 確認 warnings, with
    counts; the cell values inside a reason are left out so like reasons count together, except a
    節「…」, which is written back: 節「扶助費」 when the grouped lines all read so, 節「交際費」・「食糧費」
    when they read differently (`_sections`). Each distinct (status, reasons) pair is read once
    (first-seen order, so ties rank as before) and counted with its number of lines."""
    counts: Counter = Counter()
    sections: dict[str, dict[str, None]] = {}
    pairs = pd.DataFrame({"s": result["status"].astype(object), "r": result["reasons"].astype(object)})
    for (status, text), lines in pairs.groupby(["s", "r"], sort=False, dropna=False).size().items():
        if not isinstance(text, str):
            continue
        for frag in _FRAGMENT.findall(text):
            frag = frag.strip()
            if frag.startswith("[入力エラー]"):
                for sentence in re.split(r"(?<=。)\s+", frag[len("[入力エラー]"):].strip()):
                    counts[f"[入力エラー] {re.sub(r'の値「[^」]*」', 'の値', sentence)}"] += lines
            elif "確認:" in frag or (status in ("error", "excluded") and not frag.startswith(_BACKGROUND)):
                key = _SECTION.sub(_SECTION_MARK, frag)
                counts[key] += lines
                sections.setdefault(key, {}).update(dict.fromkeys(_SECTION.findall(frag)))
    return tuple((_sections(key, list(sections.get(key, ()))), c) for key, c in counts.most_common(n))


_SECTION = re.compile(r"節「([^」]*)」")
_SECTION_MARK = "節\0"  # a placeholder no reason holds


def _sections(key: str, names: list[str], limit: int = 3) -> str:
    """A grouped reason with its 節「…」 written back: the names its lines held, at most `limit`."""
    if _SECTION_MARK not in key:
        return key
    shown = "・".join(f"「{s}」" for s in names[:limit]) + ("ほか" if len(names) > limit else "")
    return key.replace(_SECTION_MARK, f"節{shown}")


def reading_notes(table: Table) -> tuple[str, ...]:
    """Where the table was found and which units were read, for the terminal."""
    notes = []
    if table.template_sheets:
        notes.append(f"記入済み様式のシート「{'」「'.join(table.template_sheets)}」から読みました"
                     f"（見出し行は各シートの{table.header_row}行目、団体の情報はシート「{SHEET_BODY}」）。")
    elif table.sheet or table.header_row != 1:
        where = f"シート「{table.sheet}」の" if table.sheet else ""
        notes.append(f"見出し行: {where}{table.header_row}行目")
    if table.unit and table.unit != 1:
        notes.append(f"表の上の「単位」の行により、単位の書かれていない金額の列を{_unit_name(table.unit)}単位で読みました。")
    for h in table.frame.columns:
        scale, bad = amounts.header_unit(str(h))
        if scale and scale != 1:
            notes.append(f"列「{h}」は{_unit_name(scale)}単位で読みました（円に換算）。")
        elif bad:
            notes.append(f"列「{h}」の単位「{bad}」は読めません（その列の値はエラー）。")
    return tuple(notes)


def _unit_name(scale: int) -> str:
    return next(k for k, v in amounts.UNITS.items() if v == scale)


def body_totals(result: pd.DataFrame, details: engine.Details, rb: rulebook.Rulebook) -> list:
    """Each body's 措置額 total in yen and rounded per 地方交付税法第22条 (totals.body_totals_columns),
    per body as the engine resolved it (団体コード; a 団体名 read to its code counts with that code)
    and 年度 as the engine read it. `details` are the lines of `result`, row for row."""
    from . import bodies, totals
    cols = {engine.header_key(c): c for c in result.columns}
    n = len(result)
    typed = (map_distinct(result[cols["body_name"]], totals.cell_text).to_numpy() if "body_name" in cols
             else np.full(n, "", dtype=object))
    codes = details.body_codes()
    code_ok = np.array([c is not None for c in codes], dtype=bool)
    key = np.where(code_ok, codes, np.where(typed != "", typed, "（団体不明）"))
    names = typed.copy()
    official = {c: bodies.full_name(c) for c in pd.unique(codes[code_ok])}
    names[code_ok] = [official[c] or t for c, t in zip(codes[code_ok], typed[code_ok])]
    fy = np.asarray(details.fiscal_years, dtype=np.int64)
    years = np.where(fy > 0, fy.astype(object), None)
    amount = pd.to_numeric(result["measure_amount"], errors="coerce").fillna(0).astype("int64").to_numpy()
    return by_body_then_year(totals.body_totals_columns(key, names, years, amount, rb))


def by_body_then_year(per_body: list) -> list:
    """Body-year totals ordered by body (first seen), then year ascending, an unread year last."""
    rank: dict = {}
    for b in per_body:
        rank.setdefault(b.body, len(rank))
    return sorted(per_body, key=lambda b: (rank[b.body], b.fiscal_year is None, b.fiscal_year or 0))


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
    for note in s.notes:
        con.print(note)
    if not s.lines:
        con.print("[yellow]読み取った行がありません（見出し行の下に行がありません）。[/yellow]")
        return
    category_table(s.by_category, con)
    _print_bodies(s.bodies, con, totals=s.totals)
    if s.blank_rows:
        con.print(f"空行 {s.blank_rows} 行はそのまま空行として出力しました。")
    if s.errors:
        con.print(f"[yellow]エラーの行が {s.errors} 行あります。出力の「理由」列を確認してください。[/yellow]")
    if s.top_reasons:
        con.print("主な理由（多い順）:")
        for text, count in s.top_reasons:
            # soft wrap: the terminal folds the sentence right after its ID (rich would leave the ID
            # alone on its line and start the Japanese sentence at column 0)
            con.print(f"  {count}行: {text}", markup=False, highlight=False, soft_wrap=True)
    if s.unread:
        con.print(f"読み取っていない列（そのまま出力）: {'、'.join(s.unread)}", markup=False)


def _print_bodies(bodies: list, con, limit: int = 20, totals: Path | None = None) -> None:
    """Per body: 措置額 in yen and rounded to 千円 per 地方交付税法第22条 (INTERP-BODY-ROUNDING)."""
    from .render import UNIT_LABELS, yen
    if not bodies:
        return
    unit = UNIT_LABELS[bodies[0].unit]
    con.print(f"団体ごとの措置額合計（{unit}単位は地方交付税法第22条による）")
    for b in bodies[:limit]:
        who = b.body_name or b.body
        con.print(f"  {who} {_year_label(b.fiscal_year)}: {yen(b.total_yen)}円 → {yen(b.rounded_units)}{unit}",
                  markup=False, highlight=False)
    if len(bodies) > limit:
        where = f"{totals.name} に書き出しました" if totals else "すべての団体・年度は --totals 団体別.csv で書き出せます"
        con.print(f"  ほか {len(bodies) - limit} 団体・年度（{where}）", markup=False)


__all__ = ["run", "body_totals", "summarize", "print_summary", "OUTPUT_COLUMNS"]
