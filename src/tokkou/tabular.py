"""Read and write expense-line tables (.csv in UTF-8/UTF-8-BOM/cp932, .xlsx, .json) safely."""
from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pandas as pd

SUFFIXES = (".csv", ".xlsx", ".json")
MAX_INPUT_BYTES = 512 * 1024 * 1024

from .errors import InputError
from .files import atomic_write, check_input_file


def read_table(path: str | Path) -> pd.DataFrame:
    """Every cell as typed (text stays text: 団体コード keeps its leading zero)."""
    p = check_input_file(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{p}: 対応していない形式です（.csv / .xlsx / .json）。")
    if p.stat().st_size > MAX_INPUT_BYTES:
        raise InputError(f"{p}: ファイルが大きすぎます（512MB まで）。")
    try:
        if suffix == ".csv":
            return _read_csv(p)
        if suffix == ".xlsx":
            return _read_xlsx(p)
        return _read_json(p)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise InputError(f"{p}: 読み込めません（{type(exc).__name__}: {str(exc)[:120]}）。") from None


def _read_csv(p: Path) -> pd.DataFrame:
    raw = p.read_bytes()
    for enc in ("utf-8-sig", "cp932"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(f"{p}: 文字コードを判別できません（UTF-8 または Shift_JIS で保存してください）。")
    from io import StringIO
    df = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True)
    return _drop_empty_rows(df)


def _read_xlsx(p: Path) -> pd.DataFrame:
    if not zipfile.is_zipfile(p):
        raise InputError(f"{p}: .xlsx ではありません（壊れているか別の形式です）。")
    from openpyxl import load_workbook

    from . import layout, template_reader
    wb = load_workbook(p, read_only=True, data_only=True)
    if {layout.SHEET_LINES, layout.SHEET_COORD} <= set(wb.sheetnames):
        wb.close()  # a filled tokkou template: its lines, as the layout defines them
        return template_reader.read_lines(p)
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InputError(f"{p}: 1枚目のシートが空です。")
        header = [("" if h is None else str(h)) for h in header]
        while header and header[-1] == "":
            header.pop()
        data = []
        for r in rows:
            r = list(r[: len(header)]) + [None] * max(0, len(header) - len(r))
            data.append(r)
    finally:
        wb.close()
    df = pd.DataFrame(data, columns=_unique(header), dtype=object)
    return _drop_empty_rows(df)


def _read_json(p: Path) -> pd.DataFrame:
    data = json.loads(p.read_text(encoding="utf-8-sig"), parse_int=_json_number(int), parse_float=_json_number(float))
    if isinstance(data, dict) and "lines" in data:
        data = data["lines"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{p}: JSON は行オブジェクトの配列（または {{\"lines\": [...]}}）にしてください。")
    return pd.DataFrame(data, dtype=object)


def _json_number(convert):
    """A JSON number literal longer than any real value stays text, so that cell (not the whole
    file) is the error: Python refuses ints over 4,300 digits and turns 1e999 into inf."""
    from .normalize import MAX_NUMBER_CHARS

    def parse(text: str):
        return convert(text) if len(text) <= MAX_NUMBER_CHARS else text
    return parse


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        n = n or f"列{i + 1}"
        if n in seen:
            seen[n] += 1
            n = f"{n}.{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out


def _drop_empty_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Trailing fully blank rows only (Excel's formatted-but-empty tail); inner rows stay."""
    if df.empty:
        return df
    blank = df.apply(lambda c: c.map(lambda v: v is None or (isinstance(v, str) and v.strip() == "")
                                     or (isinstance(v, float) and v != v)))
    filled = ~blank.all(axis=1)
    if not filled.any():
        return df.iloc[0:0]
    last = filled[filled].index[-1]
    return df.loc[:last].reset_index(drop=True)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape_cell(v):
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def write_table(df: pd.DataFrame, out: str | Path, inputs: list[Path] = ()) -> None:
    """Write atomically in the format of the suffix; never over an input file."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{out}: 出力形式は .csv / .xlsx / .json のいずれかです。")

    def write(tmp: Path) -> None:
        if suffix == ".csv":
            safe = df.apply(lambda c: c.map(_escape_cell)) if len(df) else df
            safe.to_csv(tmp, index=False, encoding="utf-8-sig")
        elif suffix == ".xlsx":
            _write_xlsx(df, str(tmp))
        else:
            tmp.write_text(df.to_json(orient="records", force_ascii=False, indent=1, default_handler=str),
                           encoding="utf-8")
    atomic_write(out, write, inputs)


def _write_xlsx(df: pd.DataFrame, path: str) -> None:
    import xlsxwriter
    wb = xlsxwriter.Workbook(path, {"strings_to_formulas": False, "strings_to_urls": False,
                                    "strings_to_numbers": False, "constant_memory": True})
    ws = wb.add_worksheet("結果")
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    yen = wb.add_format({"num_format": "#,##0"})
    money_cols = {"eligible_cost", "measure_amount"}
    for j, name in enumerate(df.columns):
        ws.write_string(0, j, str(name), head)
        ws.set_column(j, j, 40 if name == "reasons" else 14, yen if name in money_cols else None)
    for i, row in enumerate(df.itertuples(index=False), start=1):
        for j, v in enumerate(row):
            if v is None or (isinstance(v, float) and v != v):
                continue
            if isinstance(v, bool):
                ws.write_boolean(i, j, v)
            elif isinstance(v, int) or (hasattr(v, "dtype") and getattr(v, "dtype").kind in "iu"):
                ws.write_number(i, j, int(v))
            elif isinstance(v, (float, Decimal)):
                ws.write_number(i, j, float(v))
            else:
                ws.write_string(i, j, str(v))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(df), 1), max(len(df.columns) - 1, 0))
    wb.close()
