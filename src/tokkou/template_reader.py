"""Read a filled template back: engine input lines (SPEC §4.1 keys) from 団体情報, 事業, コーディネーター.

Sheet names, rows and columns come from tokkou.layout, so a template is read with exactly the
mapping it was written with.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from . import layout as L
from . import rulebook as rulebook_mod
from .rulebook import Rulebook

# Columns of the returned frame, in order.
KEYS = ["sheet", "row", "cell", *[k for k, _ in L.BODY_FIELDS], "category", "item", "project_name", "cost",
        "specific_revenue", "bond_amount", "excluded_amount", "apportion_ratio", "main_purpose",
        "national_subsidy", "cash_benefit", "new_construction", "pref_grant", "person_id", "person_name",
        "employment", "other_measure", "study_coordinator", "in_strategy_plan", "months_served", "food_amount"]
POSITION_JA = {"sheet": "シート", "row": "行", "cell": "セル"}  # where a line was read (the amount cell)
_PERSON = ("person_name", "employment", "other_measure", "study_coordinator", "in_strategy_plan", "months_served")


def headers_ja(rb: Rulebook | None = None) -> dict[str, str]:
    """Japanese header of each column `read_lines` returns (KEYS): シート・行・セル for the position,
    the registry's Japanese name (columns.ALL) for an engine key, else the template's own header
    (事業名, 氏名・役職)."""
    from . import columns
    lay = L.get(rb)
    own = {**{c.key: c.header for c in L.LINE_COLUMNS}, **{c.key: c.header for c in lay.coord_columns}}
    return {k: POSITION_JA.get(k) or (columns.ALL[k].ja if k in columns.ALL else own[k]) for k in KEYS}


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _zero_or_blank(v: Any) -> bool:
    return _blank(v) or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0)


def xml_forbidden(exc: BaseException | None) -> bool:
    """Whether defusedxml refused the XML (openpyxl wraps its error in a ValueError)."""
    seen = 0
    while exc is not None and seen < 10:
        if "Forbidden" in type(exc).__name__:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _open(p: Path, reader=None):
    """openpyxl's read-only workbook of p (or `reader(p)`'s, e.g. workbook_read.Book), read errors in Japanese."""
    from openpyxl import load_workbook

    from .errors import InputError
    try:
        if reader:
            return reader(p)
        wb = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        if xml_forbidden(exc):  # defusedxml refused a DTD, entity or external reference
            raise InputError(f"{p}: XML に DTD・エンティティ宣言または外部参照があります（XML 爆弾・外部参照の可能性）。開きません。") from None
        from .files import read_reason
        raise InputError(f"{p}: 読み込めません（{read_reason(exc)}）。") from None
    from .reading import era_date_formats
    era_date_formats(wb)  # 年度 typed as a date shown 令和7年度
    return wb


def _column_c(ws, first: int, count: int) -> list:
    """Values of column C, rows first … first+count-1 (missing rows as None)."""
    rows = list(ws.iter_rows(min_row=first, max_row=first + count - 1, min_col=3, max_col=3, values_only=True))
    rows += [(None,)] * (count - len(rows))
    return [row[0] if row else None for row in rows]


def _body(wb, raw: dict | None) -> dict:
    values = _column_c(wb[L.SHEET_BODY], L.BODY_FIRST_ROW, len(L.BODY_FIELDS))
    if raw is not None and L.SHEET_COVER in wb.sheetnames:
        cover = _column_c(wb[L.SHEET_COVER], L.COVER_FIRST_ROW, len(L.COVER_FIELDS))
        for (key, _), v in zip(L.COVER_FIELDS, cover):
            raw[(L.SHEET_COVER, key)] = v
    return {key: v for (key, _), v in zip(L.BODY_FIELDS, values)}


def _positions(cols) -> list[tuple[str, int]]:
    """(key, zero-based column index) of each column, computed once per sheet read."""
    return [(c.key, L._index(c.letter)) for c in cols]


def _row_values(row: tuple, positions: list[tuple[str, int]]) -> dict:
    n = len(row)
    return {key: row[i] if i < n else None for key, i in positions}


def _lines(wb, body: dict, raw: dict | None) -> list[dict]:
    records = []
    inputs = _positions([c for c in L.LINE_COLUMNS if c.kind == "input"])
    rows = wb[L.SHEET_LINES].iter_rows(min_row=L.LINES_FIRST_ROW, max_row=L.LINES_FIRST_ROW + L.LINES_COUNT - 1,
                                       max_col=len(L.LINE_COLUMNS), values_only=True)
    for r, row in enumerate(rows, L.LINES_FIRST_ROW):
        if raw is not None:
            raw[(L.SHEET_LINES, r)] = row
        vals = _row_values(row, inputs)
        if all(_blank(v) for v in vals.values()):
            continue
        records.append({**body, **vals, "sheet": L.SHEET_LINES, "row": r, "cell": f"{L.LINES['cost'].letter}{r}"})
    return records


def _people(wb, body: dict, lay: L.Layout, raw: dict | None) -> list[dict]:
    records = []
    positions = _positions(lay.coord_columns)
    rows = wb[L.SHEET_COORD].iter_rows(min_row=L.COORD_FIRST_ROW, max_row=L.COORD_FIRST_ROW + L.COORD_COUNT - 1,
                                       max_col=len(lay.coord_columns), values_only=True)
    for r, row in enumerate(rows, L.COORD_FIRST_ROW):
        if raw is not None:
            raw[(L.SHEET_COORD, r)] = row
        v = _row_values(row, positions)
        person = {**body, "category": 4, "person_id": v["person_id"] or L.coordinator_id(r - L.COORD_FIRST_ROW),
                  **{k: v[k] for k in _PERSON}, "sheet": L.SHEET_COORD, "row": r}
        if not _zero_or_blank(v["reward"]):
            records.append({**person, "item": v["placement"], "cost": v["reward"],
                            "specific_revenue": v["specific_revenue"], "cell": f"{lay.coord['reward'].letter}{r}"})
        for c in lay.coord_columns:
            if c.item and not _zero_or_blank(v[c.key]):
                rec = {**person, "item": c.item, "cost": v[c.key], "cell": f"{c.letter}{r}"}
                if c.item == lay.food_item_id:
                    rec["food_amount"] = v["food_amount"]
                records.append(rec)
    return records


def read_lines(path: str | Path, rb: Rulebook | None = None, raw: dict | None = None, book=None) -> pd.DataFrame:
    """Engine input lines (SPEC §4.1 keys) of a filled template, inputs as typed.

    事業: one line per row with any input. コーディネーター: per person row, one line for the
    報償費等 (item = 配置の種類, 特定財源 deducted there) and one per non-zero cost column
    (飲食費 on the food item's line); a zero or blank amount makes no line. Every line gets the
    団体情報 values. Extra columns: `sheet`, `row`, `cell` (the amount cell) locate the source.
    `raw`, when given, receives every row read as {(sheet, row): values tuple}, the cover's values
    as {(SHEET_COVER, key): value}, "sheetnames" and "max_row" (declared used range of 事業 and
    コーディネーター), so a caller needs no second pass over the file.
    `book`: the workbook already opened by `_open` (review reads each file once); closed here.
    Raises errors.InputError (Japanese) for a file that cannot be read or lacks the sheets.
    """
    from .errors import InputError

    rb = rb or rulebook_mod.get()
    p = Path(path)
    wb = book if book is not None else _open(p)
    try:
        if raw is not None:
            raw["sheetnames"] = list(wb.sheetnames)
            # the used range each sheet declares (<dimension>): cheap, and rows past it are never read
            raw["max_row"] = {s: wb[s].max_row for s in (L.SHEET_LINES, L.SHEET_COORD) if s in wb.sheetnames}
        missing = [s for s in (L.SHEET_BODY, L.SHEET_LINES, L.SHEET_COORD) if s not in wb.sheetnames]
        if missing:
            raise InputError(f"{p}: シート「{'」「'.join(missing)}」がありません（様式が違います）。")
        body = _body(wb, raw)
        records = _lines(wb, body, raw) + _people(wb, body, L.get(rb), raw)
    finally:
        wb.close()
    return pd.DataFrame(records, columns=KEYS, dtype=object)
