"""Read and write expense-line tables (.csv in UTF-8/UTF-8-BOM/cp932, .xlsx, .json) safely."""
from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pandas as pd

from . import reading

SUFFIXES = (".csv", ".xlsx", ".json")
MAX_INPUT_BYTES = 512 * 1024 * 1024

from . import cellsafe
from .errors import InputError
from .files import atomic_write, check_input_file


def read(path: str | Path) -> "reading.Table":
    """The table of a .csv/.xlsx/.json file, found as offices keep it (reading.py, SPEC §4.1)."""
    p = check_input_file(path)
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{p}: 対応していない形式です（.csv / .xlsx / .json）。")
    if p.stat().st_size > MAX_INPUT_BYTES:
        raise InputError(f"{p}: ファイルが大きすぎます（512MB まで）。")
    try:
        if suffix == ".csv":
            return reading.read_csv_table(p, reading.decode(p.read_bytes(), p))
        if suffix == ".xlsx":
            return _read_xlsx(p)
        df = _read_json(p)
        return reading.Table(df, None, 1, None, reading.unread_headers(df.columns))
    except InputError:
        raise
    except reading.TableNotFound as exc:
        raise InputError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        from .files import read_reason
        raise InputError(f"{p}: 読み込めません（{read_reason(exc)}）。") from None


def _read_xlsx(p: Path) -> "reading.Table":
    if not zipfile.is_zipfile(p):
        raise InputError(f"{p}: .xlsx ではありません（壊れているか別の形式です）。")
    from openpyxl import load_workbook

    from . import layout, template_reader
    source = p
    if reading.is_strict(p):  # 「Strict Open XML スプレッドシート」: same content, other namespaces
        source = reading.transitional(p)
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        hint = "（Strict Open XML 形式の可能性があります。Excel で「Excel ブック (*.xlsx)」として保存し直してください）" \
            if source is not p else ""
        from .files import read_reason
        raise InputError(f"{p}: .xlsx として読み込めません{hint}（{read_reason(exc)}）。") from None
    reading.era_date_formats(wb)
    if {layout.SHEET_LINES, layout.SHEET_COORD} <= set(wb.sheetnames) and source is p:
        wb.close()  # a filled tokkou template: its lines, as the layout defines them
        df = template_reader.read_lines(p)
        return reading.Table(df, layout.SHEET_LINES, layout.LINES_FIRST_ROW - 1, None, [],
                             template_sheets=(layout.SHEET_LINES, layout.SHEET_COORD))
    try:
        return reading.read_workbook_table(p, wb)
    finally:
        wb.close()


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


escape_formulas = cellsafe.escape_cells  # the column-wise cell escaping (kept under its old name)


def write_table(df: pd.DataFrame, out: str | Path, inputs: list[Path] = (), headers=None) -> None:
    """Write atomically in the format of the suffix; never over an input file. `headers`: the
    header texts of a .csv/.xlsx (an input's repeated header written as it was, not 事業費.1);
    a .json keeps the column names, which are unique keys."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{out}: 出力形式は .csv / .xlsx / .json のいずれかです。")
    if suffix == ".xlsx" and cellsafe.xlsx_shape_problem(df):
        raise InputError(f"{out}: {cellsafe.xlsx_shape_problem(df)}")
    def write(tmp: Path) -> None:
        if suffix == ".csv":
            cellsafe.write_csv(df, tmp, headers)
        elif suffix == ".xlsx":
            _write_xlsx(df, str(tmp), headers)
        else:
            tmp.write_text(df.to_json(orient="records", force_ascii=False, indent=1, default_handler=str),
                           encoding="utf-8")
    atomic_write(out, write, inputs)


def _write_xlsx(df: pd.DataFrame, path: str, headers=None) -> None:
    import xlsxwriter
    wb = xlsxwriter.Workbook(path, {"strings_to_formulas": False, "strings_to_urls": False,
                                    "strings_to_numbers": False, "constant_memory": True})
    ws = wb.add_worksheet("結果")
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    head_quoted = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                 "quote_prefix": True})
    quoted = wb.add_format({"quote_prefix": True})  # formula-like text stays text when edited in Excel
    yen = wb.add_format({"num_format": "#,##0"})
    dates = _date_formats(wb)
    money_cols = {"eligible_cost", "measure_amount", "対象経費", "措置額"}

    def text(i: int, j: int, v: str, fmt=None) -> None:
        fmt = (head_quoted if fmt is head else quoted) if cellsafe.formula_like(v) else fmt
        if ws.write_string(i, j, v, fmt) == -2:  # XlsxWriter cut it to 32,767 characters
            raise InputError(f"{path}: {cellsafe.too_long(i + 1, df.columns[j], v)}")

    for j, name in enumerate(df.columns):
        text(0, j, str(name if headers is None else headers[j]), head)
        ws.set_column(j, j, 40 if name in ("reasons", "理由") else 14, yen if name in money_cols else None)
    for i, row in enumerate(df.itertuples(index=False), start=1):
        for j, v in enumerate(row):
            if isinstance(v, (dt.date, dt.time)) and v is not pd.NaT:  # datetime and Timestamp too
                ws.write_datetime(i, j, _naive(v), dates(v))
                continue
            cell = cellsafe.xlsx_cell(v)
            if cell is None:
                continue
            kind, value = cell
            if kind == "text" and value == "":  # a CSV's empty cell stays blank (ISBLANK), not empty text
                continue
            if kind == "bool":
                ws.write_boolean(i, j, value)
            elif kind == "number":
                ws.write_number(i, j, value)
            else:
                text(i, j, value)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(df), 1), max(len(df.columns) - 1, 0))
    wb.close()


def _date_formats(wb):
    """The cell format of a date (yyyy/m/d), a date and time, or a time, made once per workbook."""
    made: dict[str, object] = {}

    def fmt(v):
        if isinstance(v, dt.datetime):
            code = "yyyy/m/d" if v.time() == dt.time() else "yyyy/m/d h:mm:ss"
        else:
            code = "yyyy/m/d" if isinstance(v, dt.date) else "h:mm:ss"
        if code not in made:
            made[code] = wb.add_format({"num_format": code})
        return made[code]
    return fmt


def _naive(v):
    """XlsxWriter writes no time zone: a zoned time is written as its local wall time."""
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    return v.replace(tzinfo=None) if isinstance(v, (dt.datetime, dt.time)) and v.tzinfo else v
