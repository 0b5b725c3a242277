"""CSV text of a frame, column by column: the bytes pandas' `to_csv` (the csv module, QUOTE_MINIMAL)
writes, without its Python call per cell.

A column of text is escaped (`escape`, cellsafe's formula escaping) and quoted once per distinct
value; neighbouring columns with few distinct value pairs are joined per pair, not per row.
Integers and Decimals are printed with `str` as the csv module does. A frame with any other kind
of cell (floats, booleans, dates: JSON input) goes through pandas itself, so the bytes never depend
on which path wrote them.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, BinaryIO, Callable, Sequence

import numpy as np
import pandas as pd


LINE_END = "\r\n"
_CHUNK = 50_000     # rows per encoded block: bounded memory for a 190 MB output
_MERGE_MAX = 4_096  # distinct value pairs up to which two columns are joined per pair


def quote(text: str) -> str:
    """One field as the csv module writes it (QUOTE_MINIMAL, `"` doubled, CRLF line ends)."""
    if "," in text or '"' in text or "\r" in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


class _Coded:
    """A run of columns as per-row codes into their joined fields (code -1: every cell NA)."""

    def __init__(self, codes: np.ndarray, fields: list[str]):
        self.codes, self.fields = codes, fields

    def merge(self, other: "_Coded") -> "_Coded | None":
        """Both runs as one, or None when they have too many distinct pairs."""
        m = len(other.fields) + 1
        pair = (self.codes.astype(np.int64) + 1) * m + (other.codes + 1)
        codes, uniques = pd.factorize(pair)
        if len(uniques) > _MERGE_MAX:
            return None
        mine, theirs = [""] + self.fields, [""] + other.fields
        return _Coded(codes, [mine[u // m] + "," + theirs[u % m] for u in uniques.tolist()])

    def texts(self) -> list[str]:
        return np.array(self.fields + [""], dtype=object)[self.codes].tolist()


def _coded(col: pd.Series, escape: "Escape") -> _Coded | list[str] | None:
    """A text column coded per distinct value, other columns as their fields, None for a kind of
    cell pandas must write."""
    kind = col.dtype.kind
    if kind == "i":  # signed ints and pandas' Int*; unsigned ones above int64 would wrap: pandas writes them
        na = col.isna().to_numpy()
        texts = col.to_numpy(dtype=np.int64, na_value=0).astype(str).astype(object)
        texts[na] = ""
        return texts.tolist()
    if not (isinstance(col.dtype, pd.StringDtype) or kind == "O"):
        return None
    arr = col.to_numpy(dtype=object)
    if isinstance(col.dtype, pd.StringDtype) or pd.api.types.infer_dtype(arr, skipna=True) in ("string", "empty"):
        if _mostly_distinct(arr):  # (a name or trace per line): no gain in coding it
            return _texts(np.where(pd.isna(arr), "", arr).tolist(), escape)
        codes, uniques = pd.factorize(arr)
        return _Coded(codes, [quote(escape(u)) for u in uniques.tolist()])
    return _cells(arr, escape)


def _texts(texts: list[str], escape: "Escape") -> list[str]:
    """quote(escape(v)) of each text, screened column-wise first: cells only go through `escape`
    when one may start like a formula (escape.screen finds a NUL, the start of each cell in the
    joined text, then a formula's first character)."""
    joined = "\0" + "\0".join(texts)
    if escape.screen is None or escape.screen.search(joined):
        return [quote(escape(v)) for v in texts]
    if '"' in joined:
        return [quote(v) for v in texts]
    if "," not in joined and "\r" not in joined and "\n" not in joined:
        return texts
    return ['"' + v + '"' if ("," in v or "\r" in v or "\n" in v) else v for v in texts]


def _mostly_distinct(arr: np.ndarray, sample: int = 8_192) -> bool:
    return len(arr) > 2 * sample and len(set(arr[:sample].tolist())) > sample // 2


def _cells(arr: np.ndarray, escape: "Escape") -> list[str] | None:
    """Fields of a column of mixed cells (NA, text, integers, Decimals), each object printed once."""
    seen: dict[int, str] = {}
    out = [""] * len(arr)
    for i in np.flatnonzero(~pd.isna(arr)).tolist():
        v = arr[i]
        text = seen.get(id(v))  # the same object, the same text (equal Decimals may print apart)
        if text is None:
            if isinstance(v, bool) or not isinstance(v, (str, int, Decimal, np.integer)):
                return None
            text = seen[id(v)] = quote(str(escape(v)))
        out[i] = text
    return out


def _fields(df: pd.DataFrame, escape: "Escape") -> list[list[str]] | None:
    runs: list = []
    for j in range(df.shape[1]):
        col = _coded(df.iloc[:, j], escape)
        if col is None:
            return None
        merged = None
        if isinstance(col, _Coded) and runs and isinstance(runs[-1], _Coded):
            merged = runs[-1].merge(col)
        if merged is not None:
            runs[-1] = merged
        else:
            runs.append(col)
    return [r.texts() if isinstance(r, _Coded) else r for r in runs]


class Escape:
    """A cell's escaping: `fn` (a cell → the cell as written) and `screen`, a pattern that finds
    every text `fn` could change in the texts joined with a NUL before each (None: no screen)."""

    def __init__(self, fn: Callable[[Any], Any], screen: re.Pattern | None = None):
        self.fn, self.screen = fn, screen

    def __call__(self, v: Any) -> Any:
        return self.fn(v)


def write(df: pd.DataFrame, fh: BinaryIO, escape: Callable[[Any], Any] = lambda v: v,
          screen: re.Pattern | None = None, header: Sequence[str] | None = None) -> bool:
    """Write df as UTF-8 with BOM, a header line and CRLF line ends, every text cell and header
    through `escape` (`screen`: see Escape); `header`: the texts of the header line (default: the
    column names). False (nothing written) when a column or header needs pandas' conversion."""
    if df.shape[1] < 2 or len(df) == 0 or not all(isinstance(c, str) for c in df.columns):
        return False  # a lone empty field is quoted by the csv module: leave such frames to it
    escape = Escape(escape, screen)
    cols = _fields(df, escape)
    if cols is None:
        return False
    names = df.columns if header is None else header
    fh.write(("\ufeff" + ",".join(quote(escape(c)) for c in names) + LINE_END).encode("utf-8"))
    for start in range(0, len(df), _CHUNK):
        rows = zip(*(c[start:start + _CHUNK] for c in cols))
        fh.write((LINE_END.join(map(",".join, rows)) + LINE_END).encode("utf-8"))
    return True
