"""The review's report: tables (概要, 指摘, 明細, 区分別), duplicates of one body, and the .xlsx/.json writers.

Two returns of the same body and fiscal year are one body: the latest (by the time the workbook was
last saved, else by file name) is counted, every other gets one finding and stays out of the totals.
Every value written is a number or text (dates, times and formula objects become text), so the JSON
and the workbook are always written; times are in JST.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__, columns, engine, totals
from . import layout as L
from .rulebook import Rulebook
from .files import atomic_write

JST = dt.timezone(dt.timedelta(hours=9), "JST")
SEVERITY_JA = {"error": "エラー", "warning": "警告", "info": "情報"}
COUNTED, NOT_COUNTED, UNREAD = "含む", "除く（重複）", "除く（読めない）"
IDENTITY_JA = {"tool": "作成ツール", "rulebook": "ルールブック", "rulebook_sha256": "ルールブックのハッシュ（SHA-256）",
               "time": "実行日時（日本時間）", "total": "措置額合計（円、同じ団体・年度は1ファイルだけ集計）",
               "total_thousand": "措置額合計（千円、団体ごとに地方交付税法第22条により端数処理した額の合計）"}


def plain(v: Any) -> Any:
    """A cell value as a number or text a report can hold (datetime → ISO text, formula objects → their text)."""
    if v is None or v is pd.NA:  # an error line's amounts: a blank cell, never the text <NA>
        return ""
    if isinstance(v, bool) or isinstance(v, (str, int)):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() else v
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v)
    text = getattr(v, "text", None)  # openpyxl ArrayFormula / DataTableFormula
    if isinstance(text, str):
        return text
    if hasattr(v, "item"):  # numpy scalars
        return plain(v.item())
    return str(v)


def jst(iso: str) -> str:
    """An ISO 8601 time (UTC 'Z' or with offset) shown in JST; text that is not a time stays as it is."""
    try:
        t = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone.utc)
    return t.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")


# ---- duplicates ------------------------------------------------------------------------------

def _body_key(fr) -> tuple[str, Any] | None:
    from .normalize import parse_year
    lines = fr.lines
    if lines is None or not len(lines):
        return None
    first = lines.iloc[0]
    code = re.sub(r"\D", "", str(plain(first.get("body_code")) or ""))
    body = code or str(first.get("body_name") or "").strip()
    year, _ = parse_year(first.get("fiscal_year")) if plain(first.get("fiscal_year")) != "" else (None, None)
    if not body:
        return None
    return body, year if year is not None else str(plain(first.get("fiscal_year")))


def mark_duplicates(reviews: list) -> None:
    """Same body and fiscal year in several files: count the latest, one finding on each other file."""
    groups: dict[tuple, list] = {}
    for fr in reviews:
        key = _body_key(fr) if fr.readable else None
        if key is not None:
            groups.setdefault(key, []).append(fr)
    for (body, year), frs in groups.items():
        if len(frs) < 2:
            continue
        stamps = [fr.saved_at for fr in frs]
        by_time = all(stamps) and len(set(stamps)) == len(stamps)
        if by_time:
            keep = max(frs, key=lambda fr: dt.datetime.fromisoformat(fr.saved_at.replace("Z", "+00:00")).timestamp()
                       if _is_time(fr.saved_at) else 0)
            basis = f"最終保存日時が最も新しい（{jst(keep.saved_at)}）"
        else:
            keep = max(frs, key=lambda fr: Path(fr.file).name)
            basis = "保存日時で決められないため、ファイル名の順で最後の"
        names = "・".join(Path(fr.file).name for fr in frs)
        label = frs[0].body_name or body
        for fr in frs:
            if fr is keep:
                continue
            fr.counted = False
            fr.add("", "", "REVIEW-DUPLICATE", "warning",
                   f"{label}（{body}）の{_year_ja(year)}の様式が {len(frs)} ファイルあります（{names}）。"
                   f"{basis}「{Path(keep.file).name}」だけを集計し、このファイルは集計から除きました。",
                   Path(fr.file).name, Path(keep.file).name)


def _is_time(s: str) -> bool:
    try:
        dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def _year_ja(year) -> str:
    return f"令和{year - 2018}年度" if isinstance(year, int) and year >= 2019 else f"{year}年度"


# ---- tables ----------------------------------------------------------------------------------

def _summary_row(fr, cats: dict, parsers, rb: Rulebook) -> tuple[dict, pd.DataFrame]:
    row = {"ファイル": Path(fr.file).name, "団体名": fr.body_name, "団体コード": fr.body_code,
           "読込": "可" if fr.readable else "不可", "集計": _counted(fr),
           "指摘（エラー）": sum(f.severity == "error" for f in fr.findings),
           "指摘（警告）": sum(f.severity == "warning" for f in fr.findings)}
    lines = fr.lines if fr.lines is not None else pd.DataFrame()
    status = [v for v in lines["status"] if isinstance(v, str)] if len(lines) else []
    for s in ("eligible", "partial", "excluded", "error"):
        row[engine.STATUS_JA[s]] = status.count(s)
    if len(lines):  # yen amounts are whole numbers: their sums do not depend on the order of adding
        cat_ids = np.array([parsers.category(v)[0] for v in lines["category"]], dtype=object)
        amounts = pd.to_numeric(lines["measure_amount"], errors="coerce").fillna(0).to_numpy()
    for cid, label in cats.items():
        row[f"措置額{label}"] = int(amounts[cat_ids == cid].sum()) if len(lines) else 0
    row["措置額合計"] = sum(row[f"措置額{label}"] for label in cats.values())
    # the body's total rounded per 地方交付税法第22条 by the engine's function (INTERP-BODY-ROUNDING)
    # (body_totals reads these four columns only: a frame of all of them costs far more per file)
    used = [c for c in ("body_code", "body_name", "fiscal_year", "measure_amount") if c in lines.columns]
    row["措置額合計（千円）"] = (sum(t.rounded_units for t in totals.body_totals(lines[used].to_dict("records"), rb))
                             if len(lines) else 0)
    row["最終保存日時"] = jst(fr.saved_at) if fr.saved_at else ""
    row["様式のルールブック版"] = fr.rulebook_hash[:12]
    row["照合した計算式"] = fr.formulas_from
    row["SHA-256"] = fr.sha256  # last: long, and only for proving which bytes were judged
    return row, lines


def _counted(fr) -> str:
    return UNREAD if not fr.readable else COUNTED if fr.counted else NOT_COUNTED


def report_tables(reviews: list, rb: Rulebook) -> dict[str, pd.DataFrame]:
    """summary (one row per file or folder entry), findings, lines (recomputed), categories (counted files)."""
    from .normalize import Parsers
    cats = {c.id: f"{c.symbol}{c.name}" for c in rb.model.categories}
    parsers = Parsers(rb)
    mark_duplicates(reviews)
    frames, rows = [], []
    for fr in reviews:
        row, lines = _summary_row(fr, cats, parsers, rb)
        rows.append(row)
        if len(lines):
            part = lines.copy()
            part.insert(0, "file", Path(fr.file).name)
            part.insert(1, "集計", _counted(fr))
            frames.append(part)
    summary = pd.DataFrame(rows)
    findings = pd.DataFrame([{**asdict(f), "file": Path(f.file).name, "severity": SEVERITY_JA[f.severity]}
                             for fr in reviews for f in fr.findings],
                            columns=["file", "sheet", "cell", "rule_id", "severity", "message", "found", "expected"])
    lines = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if "category" in lines.columns:  # one spelling per 区分 (the 事業 sheet holds labels, ④ rows the number)
        lines["category"] = [cats.get(parsers.category(c)[0], c) if c not in (None, "") else c
                             for c in lines["category"]]
    counted = summary[summary["集計"] == COUNTED] if len(summary) else summary
    by_cat = pd.DataFrame({"区分": list(cats.values()),
                           "措置額": [int(counted[f"措置額{c}"].sum()) if len(counted) else 0 for c in cats.values()]})
    return {"summary": summary, "findings": findings, "lines": lines, "categories": by_cat}


def total(tables: dict[str, pd.DataFrame], column: str = "措置額合計") -> int:
    """措置額 of every counted file (each body and fiscal year once): 円, or 千円 rounded body by body."""
    s = tables["summary"]
    return int(s.loc[s["集計"] == COUNTED, column].sum()) if len(s) else 0


def identity(rb: Rulebook, tables: dict[str, pd.DataFrame] | None = None) -> dict[str, Any]:
    ident: dict[str, Any] = {"tool": f"tokkou {__version__}", "rulebook": rb.name, "rulebook_sha256": rb.sha256,
                             "time": dt.datetime.now(JST).isoformat(timespec="seconds")}
    if tables is not None:
        ident["total"] = total(tables)
        ident["total_thousand"] = total(tables, "措置額合計（千円）")
    return ident


# ---- writers ---------------------------------------------------------------------------------

def write_xlsx(tables: dict[str, pd.DataFrame], ident: dict[str, Any], out: Path) -> None:
    import xlsxwriter

    def write(tmp: Path) -> None:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "strings_to_numbers": False, "nan_inf_to_errors": True})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"})
        yen = wb.add_format({"num_format": "#,##0"})
        for title, key in (("概要", "summary"), ("指摘", "findings"), ("明細", "lines")):
            ws = wb.add_worksheet(title)
            start = 0
            if key == "summary":
                for i, (k, v) in enumerate(ident.items()):
                    ws.write_string(i, 0, IDENTITY_JA.get(k, k), head)
                    if isinstance(v, int):
                        ws.write_number(i, 1, v, yen)
                    else:
                        ws.write_string(i, 1, str(v))
                start = len(ident) + 1
            frame = tables[key]
            if key == "lines" and "status" in frame.columns:
                frame = frame.assign(status=frame["status"].map(lambda v: engine.STATUS_JA.get(v, v)))
            _write_frame(ws, frame, start, head, yen)
            ws.set_landscape()
            ws.set_paper(9)  # A4
            ws.fit_to_pages(1, 0)
            ws.repeat_rows(start)
        ws = wb.add_worksheet("区分別")
        _write_frame(ws, tables["categories"], 0, head, yen)
        chart = wb.add_chart({"type": "column"})
        n = len(tables["categories"])
        chart.add_series({"name": "措置額", "categories": ["区分別", 1, 0, n, 0], "values": ["区分別", 1, 1, n, 1]})
        chart.set_title({"name": "区分別の措置額（全団体、重複を除く）"})
        chart.set_legend({"none": True})
        ws.insert_chart("D2", chart)
        wb.close()
    atomic_write(out, write)


_MONEY = ("措置額合計（千円）", "eligible_cost", "measure_amount", "cost", "specific_revenue", "bond_amount", "excluded_amount", "cap")


_HEADERS_JA = {"file": "ファイル", "sheet": "シート", "cell": "セル", "row": "行", "rule_id": "ルールID",
               "severity": "重要度", "message": "内容", "found": "ブックの値", "expected": "期待される値",
               "trace": "計算過程", **{c.key: c.ja for c in columns.INPUTS + columns.OUTPUTS}}


def header_ja(key: str) -> str:
    """The Japanese header of a report column: the registry's name, else the template's (事業名, 氏名・役職)."""
    if key in _HEADERS_JA:
        return _HEADERS_JA[key]
    col = L.LINES.get(key) or L.get().coord.get(key)
    return col.header if col is not None else key


def _write_frame(ws, df: pd.DataFrame, start: int, head, yen) -> None:
    """One table; English keys become Japanese headers here (the JSON keeps the keys)."""
    cols = list(df.columns)
    for j, c in enumerate(cols):
        ws.write_string(start, j, header_ja(str(c)), head)
        money = c in _MONEY or str(c).startswith("措置額")
        width = 60 if c in ("reasons", "message") else 30 if c in ("ファイル", "SHA-256", "found", "expected") else 14
        ws.set_column(j, j, width, yen if money else None)
    for i, row in enumerate(df.itertuples(index=False), start=start + 1):
        for j, v in enumerate(row):
            if isinstance(v, Decimal):  # a rate: a number in the workbook
                ws.write_number(i, j, float(v))
                continue
            v = plain(v)
            if v is pd.NA or (isinstance(v, float) and v != v) or v == "":
                continue
            if isinstance(v, bool):
                ws.write_boolean(i, j, v)
            elif isinstance(v, (int, float)):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, str(v))
    if cols:
        ws.autofilter(start, 0, start + max(len(df), 1), len(cols) - 1)
        ws.freeze_panes(start + 1, 0)


def jsonable(v: Any) -> Any:
    """A JSON value for any cell: numbers stay numbers (rates too), everything else is text."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, Decimal):
        v = float(v)
    v = plain(v)
    return None if isinstance(v, float) and not math.isfinite(v) else v


def write_json(tables: dict[str, pd.DataFrame], ident: dict[str, Any], out: Path) -> None:
    def records(df):
        return [{str(k): jsonable(v) for k, v in r.items()} for r in df.to_dict("records")]
    doc = {"run": ident, **{k: records(v) for k, v in tables.items()}}
    text = json.dumps(doc, ensure_ascii=False, indent=1, default=str)
    atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
