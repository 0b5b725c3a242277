"""Find the expense table in a file the way offices keep it (SPEC §4.1 "Reading tables as offices keep them").

- the header row is the first row, among the first ``HEADER_SCAN`` rows, holding at least
  ``MIN_KNOWN`` known headers (title rows, 「（単位：円）」 lines and blank rows above it are skipped);
- in a workbook, the sheet whose header row holds the most known headers is read;
- CSV: the delimiter (comma, tab, semicolon) is the one giving the best header row; a trailing
  delimiter never shifts columns;
- every column is kept in input order; blank rows stay as blank rows;
- Strict Open XML workbooks are read by translating their namespaces.
"""
from __future__ import annotations

import csv
import io
import operator
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from . import amounts
from .normalize import BY_KEY, OUTPUT_COLUMNS, header_key, is_blank

HEADER_SCAN = 30
MIN_KNOWN = 3
DELIMITERS = (",", "\t", ";")
EXPECTED = ("年度", "区分", "事業費")  # the columns a line needs (SPEC §4.1 inputs)
_OUTPUT_KEYS = {k for k, _ in OUTPUT_COLUMNS}


from .errors import TableNotFound  # noqa: E402 - no header row anywhere (an InputError: one Japanese line)


@dataclass
class Table:
    """A table as read: ``frame`` keeps every column and row (blank rows blank)."""

    frame: pd.DataFrame
    sheet: str | None = None
    header_row: int = 1  # 1-based row (or line) of the header in the file
    unit: int | None = None  # yen per unit of a 「（単位：千円）」 line above the header
    unread: list[str] = field(default_factory=list)  # headers the tool does not read
    written: dict[str, str] = field(default_factory=dict)  # column name → header as written, where they differ
    template_sheets: tuple[str, ...] = ()  # a filled template: the sheets its lines were read from (columns are keys)

    def headers(self, columns: Iterable[Any]) -> list[str]:
        """The header texts to write for `columns` (a repeated input header as the file had it)."""
        return [self.written.get(c, c) for c in columns]

    @property
    def blank(self) -> np.ndarray:
        return blank_rows(self.frame)


def known_count(cells: Iterable[Any]) -> int:
    """How many cells of a row are headers the tool reads (input or output columns)."""
    keys = {header_key(c) for c in cells if isinstance(c, str) and c.strip()}
    return len(keys & (set(BY_KEY) | _OUTPUT_KEYS))


def find_header(rows: list[list[Any]]) -> tuple[int | None, int]:
    """(index of the first row with ≥ MIN_KNOWN known headers, its count), else (None, best count)."""
    best = 0
    for i, row in enumerate(rows[:HEADER_SCAN]):
        n = known_count(row)
        if n >= MIN_KNOWN:
            return i, n
        best = max(best, n)
    return None, best


def unread_headers(columns: Iterable[Any], written: dict[str, str] | None = None) -> list[str]:
    """Headers that name no input column: passed through unchanged, listed on the terminal, each
    once as written (a repeated known header is read: its cells are compared with the first's)."""
    out: list[str] = []
    for c in columns:
        text = (written or {}).get(c, str(c))
        if header_key(text) not in BY_KEY and header_key(text) not in _OUTPUT_KEYS and text not in out:
            out.append(text)
    return out


def repeated_headers(names: list[Any], unique: list[str]) -> dict[str, str]:
    """unique_names' `事業費.1` → the header as written (`事業費`), for the output's header line."""
    return {u: str(n).strip() for n, u in zip(names, unique) if not is_blank(n) and u != str(n).strip()}


def not_found(path: Path, sheets: list[str] | None) -> TableNotFound:
    where = f"シート「{'」「'.join(sheets)}」の" if sheets else ""
    return TableNotFound(
        f"{path}: {where}先頭{HEADER_SCAN}行に見出し行が見つかりません。見出しには既知の列名を{MIN_KNOWN}つ以上"
        f"含めてください（必要な列: {'・'.join(EXPECTED)}。ほかに 団体コード・団体名・経費項目・特定財源 など）。")


def unique_names(names: list[Any]) -> list[str]:
    """Header texts, blanks named 列N, duplicates suffixed .1, .2 (pandas' convention)."""
    used: set[str] = set()
    out = []
    for i, n in enumerate(names):
        base = ("" if is_blank(n) else str(n).strip()) or f"列{i + 1}"
        name, k = base, 0
        while name in used:  # a header written 事業費.1 beside two 事業費 still gets a name of its own
            k += 1
            name = f"{base}.{k}"
        used.add(name)
        out.append(name)
    return out


def blank_rows(df: pd.DataFrame) -> np.ndarray:
    """Rows with nothing in any cell (a blank row passes through blank, without a status)."""
    if df.empty:
        return np.zeros(len(df), dtype=bool)
    blank = np.ones(len(df), dtype=bool)
    for name in df.columns:
        s = df[name]
        if s.dtype.kind in "iufcbM":
            blank &= s.isna().to_numpy()
        else:
            blank &= _blank_cells(s.to_numpy(dtype=object))
        if not blank.any():
            break
    return blank


def _blank_cells(vals: np.ndarray) -> np.ndarray:
    """Per cell: NA, or text of blanks only (trailing NULs ignored, as numpy's text arrays do);
    decided once per distinct value."""
    try:
        codes, uniques = pd.factorize(vals)
    except TypeError:  # unhashable cells (JSON lists): one by one
        col = pd.isna(vals)
        strs = np.array([isinstance(v, str) for v in vals], dtype=bool)
        if strs.any():
            col[strs] = np.char.strip(vals[strs].astype(str)) == ""
        return col
    table = [isinstance(u, str) and u.rstrip("\0").strip() == "" for u in uniques.tolist()]
    return np.array(table + [True], dtype=bool)[codes]


def trim_tail(df: pd.DataFrame) -> pd.DataFrame:
    """Drop trailing fully blank rows (a formatted-but-empty tail); inner blank rows stay."""
    blank = blank_rows(df)
    if not len(blank) or not blank[-1]:
        return df
    filled = np.flatnonzero(~blank)
    return df.iloc[: (filled[-1] + 1 if len(filled) else 0)].reset_index(drop=True)


def drop_empty_columns(df: pd.DataFrame, header: list[Any]) -> pd.DataFrame:
    """Columns with neither a header nor a value (a trailing delimiter, a formatted tail)."""
    keep = [c for c, h in zip(df.columns, header) if not is_blank(h) or not blank_rows(df[[c]]).all()]
    return df[keep] if len(keep) != len(df.columns) else df


# ---- CSV -------------------------------------------------------------------------------------------

def decode(raw: bytes, p: Path) -> str:
    for enc in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise TableNotFound(f"{p}: 文字コードを判別できません（UTF-8 または Shift_JIS で保存してください）。")


def _head_rows(text: str, delim: str) -> tuple[list[list[str]], list[int]]:
    """The first rows and the character offset where each starts."""
    rows, starts = [], []
    buf = io.StringIO(text)
    reader = csv.reader(buf, delimiter=delim)
    pos = 0
    lines = io.StringIO(text).readlines()  # the reader's own lines: a CR inside a quoted cell is no line end
    line_no = 0
    try:
        for row in reader:
            starts.append(pos)
            rows.append(row)
            while line_no < reader.line_num:
                pos += len(lines[line_no]) if line_no < len(lines) else 0
                line_no += 1
            if len(rows) >= HEADER_SCAN:
                break
    except csv.Error:  # not this delimiter (a quoted CR looks unquoted to it): the rows so far
        pass
    return rows, starts


def read_csv_table(p: Path, text: str) -> Table:
    best = None
    for delim in DELIMITERS:
        rows, starts = _head_rows(text[:200_000], delim)
        i, n = find_header(rows)
        if i is not None and (best is None or n > best[0]):
            best = (n, delim, i, rows, starts)
    if best is None:
        raise not_found(p, None)
    _, delim, i, rows, starts = best
    body = text[starts[i]:]
    header = rows[i]
    # as wide as the widest line: a trailing delimiter adds an empty column (dropped below),
    # a cell past the last header keeps its data under 列N — nothing shifts, nothing is lost
    width = max(len(header), max(map(operator.methodcaller("count", delim), body.splitlines()), default=-1) + 1)
    names = header + [""] * (width - len(header))
    # bytes, not a StringIO: pandas re-encodes a text buffer chunk by chunk, slower than the parse
    df = pd.read_csv(io.BytesIO(body.encode("utf-8")), encoding="utf-8", sep=delim, dtype=str, keep_default_na=False, header=None,
                     skiprows=1, names=list(range(width)), skip_blank_lines=False, index_col=False)
    df.columns = unique_names(names)
    written = repeated_headers(names, list(df.columns))
    df = drop_empty_columns(trim_tail(df), names)
    unit = next((u for r in rows[:i] if (u := amounts.title_unit(r))), None)
    return Table(df, None, i + 1, unit, unread_headers(df.columns, written), written)


# ---- XLSX ------------------------------------------------------------------------------------------

_STRICT = {
    b"http://purl.oclc.org/ooxml/spreadsheetml/main": b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    b"http://purl.oclc.org/ooxml/officeDocument/relationships":
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    b"http://purl.oclc.org/ooxml/drawingml/main": b"http://schemas.openxmlformats.org/drawingml/2006/main",
    b"http://purl.oclc.org/ooxml/officeDocument/extendedProperties":
        b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
}


def is_strict(p: Path | io.BytesIO) -> bool:
    with zipfile.ZipFile(p) as z:
        name = next((n for n in z.namelist() if re.fullmatch(r"xl/workbook\d*\.xml", n)), None)
        return bool(name) and b"purl.oclc.org/ooxml/spreadsheetml" in z.read(name)[:4000]


def transitional(p: Path) -> io.BytesIO:
    """A Strict Open XML workbook rewritten with the transitional namespaces openpyxl reads."""
    out = io.BytesIO()
    with zipfile.ZipFile(p) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith((".xml", ".rels")):
                for old, new in _STRICT.items():
                    data = data.replace(old, new)
                data = data.replace(b' conformance="strict"', b"")
            dst.writestr(info.filename, data)
    out.seek(0)
    return out


_ERA_CODE = re.compile(r"(?<![_\\])(?:g+|e+(?![+-]))", re.I)  # ggg 令和, e 7: a Japanese-era date


def era_date_formats(wb) -> None:
    """Read cells formatted with a Japanese-era date format (「[$-ja-JP-x-gannen]ggge"年度"」 shows
    令和7年度) as the dates they are: openpyxl knows only d/m/y/h/s date codes and would give the
    serial number (45748). Adds those styles to the workbook's date styles before any row is read."""
    try:
        from openpyxl.styles.numbers import BUILTIN_FORMATS_MAX_SIZE, STRIP_RE, builtin_format_code
        custom = list(wb._number_formats)
        for idx, style in enumerate(wb._cell_styles):
            n = style.numFmtId
            fmt = custom[n - BUILTIN_FORMATS_MAX_SIZE] if n >= BUILTIN_FORMATS_MAX_SIZE else builtin_format_code(n)
            bare = STRIP_RE.sub("", (fmt or "").split(";")[0])
            if bare.lower() != "general" and _ERA_CODE.search(bare):
                wb._date_formats.add(idx)
    except (AttributeError, IndexError, TypeError, ImportError):  # another openpyxl: its own reading stands
        pass


def _sheet_head(ws) -> list[list[Any]]:
    return [list(r) for r in ws.iter_rows(max_row=HEADER_SCAN, values_only=True)]


def read_workbook_table(p: Path, wb) -> Table:
    """The sheet whose header row holds the most known headers (first such sheet on a tie)."""
    best = None
    for ws in wb.worksheets:
        head = _sheet_head(ws)
        i, n = find_header(head)
        if i is not None and (best is None or n > best[0]):
            best = (n, ws, i, head)
    if best is None:
        raise not_found(p, list(wb.sheetnames))
    _, ws, i, head = best
    header = list(head[i])
    rows = [list(r) for r in ws.iter_rows(min_row=i + 2, values_only=True)]
    width = max([len(header), *(_last_filled(r) for r in rows)]) if rows else len(header)
    header = (header + [None] * width)[:width]
    data = [(r + [None] * width)[:width] for r in rows]
    df = pd.DataFrame(data, columns=unique_names(header), dtype=object)
    written = repeated_headers(header, list(df.columns))
    df = drop_empty_columns(trim_tail(df), header)
    unit = next((u for r in head[:i] if (u := amounts.title_unit(r))), None)
    return Table(df, ws.title, i + 1, unit, unread_headers(df.columns, written), written)


def _last_filled(row: list[Any]) -> int:
    for j in range(len(row) - 1, -1, -1):
        if not is_blank(row[j]):
            return j + 1
    return 0
