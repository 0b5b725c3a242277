"""Output cells a spreadsheet can neither run nor cut (issue 11 (3)).

CSV: a text cell (or header) that a spreadsheet would take for a formula — starting with = + - @,
a tab or a line break — is written with a leading apostrophe; line ends are CRLF, so the csv module
quotes every cell holding a CR or LF and it stays one cell. XLSX: text is always written as text
(never a formula) and marked quote-prefixed, Excel's own "typed with a leading apostrophe", so editing
the cell cannot turn it into one; Excel's limits are checked and refused, never cut.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import pandas as pd

XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLS = 16_384
XLSX_MAX_CHARS = 32_767
EXACT_FLOAT_INT = 2**53  # beyond this an integer written as an Excel number loses digits

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"[+\-]?[\d,]*\.?\d+")  # a signed number is data, not a formula


def formula_like(v: Any) -> bool:
    """True for text a spreadsheet could evaluate (or a DDE payload use) when it opens the file.

    A lone sign ("-" for nothing, as offices type it) and a signed number ("-1", "+1,000") are data."""
    return (isinstance(v, str) and v.startswith(_FORMULA_START) and v not in ("-", "+")
            and not _NUMBER.fullmatch(v))


def escape_text(v: Any) -> Any:
    """The cell as a spreadsheet must read it: formula-like text gets a leading apostrophe."""
    return "'" + v if formula_like(v) else v


# Kinds of column (pandas' infer_dtype, NA skipped) that hold no text at all: never escaped.
_NO_TEXT = frozenset({"empty", "integer", "floating", "mixed-integer-float", "decimal", "complex", "boolean",
                      "datetime64", "datetime", "date", "timedelta64", "timedelta", "time", "period", "bytes"})
FORMULA_AFTER_NUL = re.compile("\0[" + re.escape("".join(_FORMULA_START)) + "]")  # a cell start, texts joined by NUL


def _may_hold_formula(col: pd.Series) -> bool:
    """False only when no cell of the column is text starting like a formula (then nothing to escape).

    Column operations, not a Python call per cell: the texts are joined with a NUL before each, so a
    cell starting with one of _FORMULA_START shows as NUL + that character. A NUL inside a cell can
    only add a false alarm, which the exact per-cell pass then settles."""
    if col.dtype.kind in "iufcbmM":
        return False
    values = col.to_numpy(dtype=object)
    try:
        joined = "\0".join(values)
    except TypeError:  # not only text: blanks (None/NaN), numbers, Decimals …
        from pandas.api.types import infer_dtype
        kind = infer_dtype(values, skipna=True)
        if kind in _NO_TEXT:
            return False
        if kind != "string":
            return True  # text mixed with other values: the exact pass decides
        joined = "\0".join(values[~pd.isna(values)])
    return FORMULA_AFTER_NUL.search("\0" + joined) is not None


def escape_cells(df: pd.DataFrame) -> pd.DataFrame:
    """df with every formula-like text cell escaped; only the columns holding one are mapped cell by
    cell, the others stay as they are (the caller's frame is never changed)."""
    out = df
    for j in range(df.shape[1]):
        col = df.iloc[:, j]
        if len(col) and _may_hold_formula(col):
            if out is df:
                out = df.copy(deep=False)
            out.isetitem(j, col.map(escape_text))
    return out


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """escape_cells, and the headers escaped like cells."""
    out = escape_cells(df)
    if any(formula_like(c) for c in df.columns):
        out = out.copy(deep=False) if out is df else out
        out.columns = [escape_text(c) for c in df.columns]
    return out


def write_csv(df: pd.DataFrame, path, header=None) -> None:
    """UTF-8 with BOM (Excel opens it as UTF-8), CRLF line ends, formula-like text escaped.
    Written column-wise (csv_writer), else by pandas for kinds of cell only it converts.
    `header`: the header texts to write (default: the column names; duplicates allowed)."""
    from . import csv_writer
    with open(path, "wb") as fh:
        if csv_writer.write(df, fh, escape_text, FORMULA_AFTER_NUL, header):
            return
    names = [escape_text(h) for h in header] if header is not None else True
    csv_safe(df).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n", header=names)


def xlsx_shape_problem(df: pd.DataFrame) -> str | None:
    """Why df cannot be one .xlsx sheet (rows/columns over Excel's limits), else None."""
    if len(df) + 1 > XLSX_MAX_ROWS:
        return (f"{len(df):,} 行あり、.xlsx の上限（見出しを含め {XLSX_MAX_ROWS:,} 行）を超えます。"
                "出力を .csv にしてください。")
    if df.shape[1] > XLSX_MAX_COLS:
        return (f"{df.shape[1]:,} 列あり、.xlsx の上限 {XLSX_MAX_COLS:,} 列を超えます。出力を .csv にしてください。")
    return None


def too_long(row: int, column: Any, text: str) -> str:
    """The refusal for one text cell over Excel's limit (row is the sheet row, 1 = header)."""
    return (f"{row} 行目・列「{str(column)[:40]}」のセルが {len(text):,} 文字あり、.xlsx の上限 "
            f"{XLSX_MAX_CHARS:,} 文字を超えます（切り詰めずに中止しました）。出力を .csv にしてください。")


def xlsx_cell(v: Any) -> tuple[str, Any] | None:
    """How one value goes into a sheet: ("bool"|"number"|"text", value), or None for blank.

    Integers past 2**53 and non-finite floats are written as text, so no digit is lost silently.
    """
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool) or type(v).__name__ == "bool_":
        return "bool", bool(v)
    if isinstance(v, int) or (hasattr(v, "dtype") and v.dtype.kind in "iu"):
        n = int(v)
        return ("number", n) if abs(n) < EXACT_FLOAT_INT else ("text", str(n))
    if isinstance(v, (float, Decimal)) or (hasattr(v, "dtype") and v.dtype.kind == "f"):
        f = float(v)
        return ("number", f) if math.isfinite(f) else ("text", str(v))
    return "text", str(v)
