"""Excel custom functions (xlwings UDFs): thin faces over tokkou.engine, with Japanese help.

Classic xlwings (Windows: `UDF Modules` = tokkou.udfs) and the Office.js path (xlwings Lite /
xlwings Server) register the same functions. No rule is applied here: every amount, rate and
reason comes from `engine.evaluate_line` / `evaluate_records` / `evaluate_frame`; caps and
rates come from the rulebook.

Cell conventions (README「Excel 関数」):
- an argument cell holding an Excel error (#N/A …) makes the result that same error (as Excel's
  own functions do); CHECK_LINE and EVALUATE_TABLE instead explain it in words;
- a blank optional argument takes its default; a line whose 区分 and 事業費 are both blank gives a
  blank result (so formulas can be filled down past the last line);
- a bad argument raises `UdfError`: Excel shows #VALUE! and the Japanese message (Office.js shows
  it on the cell's error flag; classic xlwings shows it in the cell);
- line functions given ranges evaluate every cell through the batch path and spill the results;
  there a bad line gives #VALUE! in its own cell only.
"""
from __future__ import annotations

import importlib.util
import inspect
import sys
import types
import unicodedata
from decimal import Decimal
from typing import Any, Callable, Iterable

import pandas as pd
import xlwings as xw

from . import columns, engine, fiscal, rulebook
from .normalize import BY_KEY, EXCEL_ERRORS, OUTPUT_COLUMNS, Parsers, is_blank, parse_decimal, parse_year

# True when xw.func is the Office.js decorator (xlwings Lite, xlwings Server, XLWINGS_ON_SERVER).
OFFICEJS = getattr(xw.func, "__module__", "") == "xlwings.pro.udfs_officejs"

# xlwings' Office.js path checks each argument (and each cell it cleans) for Pyodide's JsNull by
# importing pyodide.ffi. Outside Pyodide (xlwings Server) that import fails anew every time, a
# sys.path scan of ~0.15 ms per argument. Recording the package as absent makes the very same
# ImportError immediate; recording pyodide.ffi too skips importlib's module lock and parent
# import on each try (~4 µs per argument: ~100 µs of every 24-argument call). Inside Pyodide
# (xlwings Lite) the package exists and nothing changes.
if OFFICEJS and "pyodide" not in sys.modules and importlib.util.find_spec("pyodide") is None:
    sys.modules["pyodide"] = None
    sys.modules["pyodide.ffi"] = None

from .errors import UdfError  # noqa: E402 - an XlwingsError: Excel shows #VALUE! with the Japanese message


# ---- argument help (Excel's function wizard / formula tooltip) -------------------------------

# Help and order come from the column registry (tokkou.columns): one place per argument.
ARG_DOCS: dict[str, str] = columns.arg_docs()
LINE_ARGS: tuple[str, ...] = columns.udf_args("line")
COORD_ARGS: tuple[str, ...] = columns.udf_args("coord")
RATE_ARGS: tuple[str, ...] = columns.udf_args("rate")
assert set(LINE_ARGS) <= set(BY_KEY) and set(ARG_DOCS) == set(LINE_ARGS)

_PERSON_PLACEHOLDER = "（この行）#"


# ---- shared helpers ------------------------------------------------------------------------------

_RULEBOOK: list = []


def _rb():
    """The rulebook, loaded once per process (rulebook.get resolves paths on every call)."""
    if not _RULEBOOK:
        _RULEBOOK.append(rulebook.get())
    return _RULEBOOK[0]


_PARSERS: dict[str, Parsers] = {}


def _parsers() -> Parsers:
    rb = _rb()
    p = _PARSERS.get(rb.sha256)
    if p is None:
        p = _PARSERS[rb.sha256] = Parsers(rb)
    return p


_DEFAULT_YEAR: dict[str, int] = {}


def default_year() -> int:
    """The latest fiscal year the rulebook defines values for (2025 for the FY2025 rulebook)."""
    rb = _rb()
    year = _DEFAULT_YEAR.get(rb.sha256)
    if year is None:
        year = _DEFAULT_YEAR[rb.sha256] = max([rb.model.valid_from, *rb.param_years()])
    return year


def _error_value(v: Any) -> str | None:
    """'#N/A' etc. when v is an Excel error value (as _cell leaves it, or typed as text)."""
    if isinstance(v, str):
        s = unicodedata.normalize("NFKC", v).strip().upper()
        if s in EXCEL_ERRORS:
            return s
    return None


# Classic xlwings hands error cells over as these COM error codes (raw values).
_COM_ERRORS = {-2146826281: "#DIV/0!", -2146826246: "#N/A", -2146826259: "#NAME?", -2146826288: "#NULL!",
               -2146826252: "#NUM!", -2146826265: "#REF!", -2146826273: "#VALUE!"}
_ERROR_TYPES = {"NotAvailable": "#N/A", "Value": "#VALUE!", "Div0": "#DIV/0!", "Ref": "#REF!", "Num": "#NUM!",
                "Name": "#NAME?", "Null": "#NULL!"}


def _cell(v: Any) -> Any:
    """One raw cell value: blank → None, an Excel error → its text ('#N/A'), else the value."""
    if v is None or (isinstance(v, str) and v == ""):
        return None
    if isinstance(v, dict):  # Office.js (runtime 1.4) typed values: errors, formatted numbers …
        if v.get("type") == "Error":
            return v.get("basicValue") or _ERROR_TYPES.get(v.get("errorType"), "#VALUE!")
        return v.get("basicValue")
    if not OFFICEJS and type(v) is int and v in _COM_ERRORS:
        return _COM_ERRORS[v]
    return v


def _grid(v: Any) -> list[list[Any]]:
    """Any argument as a 2-D list of clean cells (a blank/omitted argument is one blank cell).

    Arguments arrive raw (convert="raw"): xlwings' own per-cell cleaning costs more than the
    engine on a large table, so the cells are cleaned here, once.
    """
    if isinstance(v, list):
        if not v:
            return [[None]]
        rows = v if isinstance(v[0], list) else [v]  # a one-row range arrives flattened
        plain = _PLAIN_CELLS
        return [[c if type(c) in plain and c != "" else _cell(c) for c in row] for row in rows]
    return [[_cell(v)]]


# Cells `_cell` returns unchanged (a non-empty text, a number; classic xlwings' ints may be error codes).
_PLAIN_CELLS = frozenset((str, float) if not OFFICEJS else (str, float, int))


def _scalar(name: str, v: Any, label: str | None = None) -> Any:
    g = _grid(v)
    if len(g) != 1 or len(g[0]) != 1:
        raise UdfError(f"引数「{label or name}」には1つのセルか値を指定してください（{len(g)}行×{len(g[0])}列の範囲です）。")
    cell = g[0][0]
    return None if is_blank(cell) else cell


def _show(v: Any) -> str:
    s = str(v)
    return s if len(s) <= 40 else s[:37] + "…"


def _udf(fn: Callable) -> Callable:
    """Turn any unexpected failure into a short Japanese #VALUE! message (never a traceback)."""

    def guarded(*args):
        try:
            return fn(*args)
        except UdfError:
            raise
        except rulebook.RulebookError as exc:
            raise UdfError(f"ルールブックを読み込めません: {str(exc)[:200]}") from None
        except Exception as exc:  # noqa: BLE001 - a cell must never show a traceback
            raise UdfError(f"予期しない問題が起きました（{type(exc).__name__}: {str(exc)[:120]}）。") from None

    return guarded


# ---- lines: arguments → records → engine ------------------------------------------------------

def _records(values: dict[str, Any], fixed: dict[str, Any] | None = None):
    """Broadcast the arguments (scalars or equal-sized ranges) into records, row-major.

    Returns (rows, cols, records); a record is None when its 区分 and 事業費 are both blank.
    """
    grids = {k: _grid(v) for k, v in values.items()}
    shapes = {k: (len(g), len(g[0])) for k, g in grids.items()}
    for k, g in grids.items():
        if any(len(r) != shapes[k][1] for r in g):
            raise UdfError(f"引数「{k}」の範囲の形が不正です。")
    big = {s for s in shapes.values() if s != (1, 1)}
    if len(big) > 1:
        shown = "、".join(f"{k}: {r}行×{c}列" for k, (r, c) in shapes.items() if (r, c) != (1, 1))
        raise UdfError(f"範囲の引数の大きさが揃っていません（{shown}）。")
    rows, cols = big.pop() if big else (1, 1)
    year = default_year()
    out: list[dict[str, Any] | None] = []
    for i in range(rows):
        for j in range(cols):
            rec = {}
            for k, g in grids.items():
                cell = g[0][0] if shapes[k] == (1, 1) else g[i][j]
                rec[k] = None if is_blank(cell) else cell
            if "category" in values and rec.get("category") is None and rec.get("cost") is None:
                out.append(None)
                continue
            if fixed:
                rec.update(fixed)
            _fill_defaults(rec, year, len(out), single=rows == cols == 1)
            out.append(rec)
    return rows, cols, out


def _fill_defaults(rec: dict[str, Any], year: int, index: int, single: bool = True) -> None:
    """Face-level defaults of a formula line (the engine's own defaults cover the rest).

    A single-cell formula is one coordinator by itself; over a range, ④ lines need their
    コーディネーターID exactly as in `tokkou calc` (the per-person cap spans lines)."""
    if rec.get("fiscal_year") is None:
        rec["fiscal_year"] = year
    if rec.get("body_type") is None and rec.get("body_code") is None:
        rec["body_type"] = _rb().model.body_types[1].label  # 市町村: most callers are municipalities
    if rec.get("person_id") is None and single:
        rec["person_id"] = f"{_PERSON_PLACEHOLDER}{index + 1}"  # one formula line = one coordinator


def _evaluate(records: list[dict[str, Any] | None], trace: bool = True) -> list[engine.LineResult | None]:
    # blank fields are left out: the engine reads an absent field as blank, and each field costs
    present = [{k: v for k, v in r.items() if v is not None} for r in records if r is not None]
    if not present:
        return [None] * len(records)
    if len(present) == 1:
        results = iter([engine.evaluate_one(present[0], _rb(), trace=trace)])
    else:
        results = iter(engine.evaluate_records(present, _rb(), trace=trace))
    return [None if r is None else next(results) for r in records]


# One line's result by its exact arguments: a sheet asks ELIGIBLE_AMOUNT, MEASURE_AMOUNT and
# CHECK_LINE of the same line, and a full recalculation asks again. Keys hold each value's type
# (1, 1.0 and TRUE are equal in Python, not as cells) and a float's repr (0.0 and -0.0).
_RESULTS: dict[tuple, engine.LineResult] = {}
_RESULTS_MAX = 20_000
_KEY_TEXT_MAX = 200  # a line with a longer text is not kept (as engine_xp's _PARSED)


def _line_result(fields: dict[str, Any], trace: bool) -> engine.LineResult:
    rb = _rb()
    if any(isinstance(v, str) and len(v) > _KEY_TEXT_MAX for v in fields.values()):  # (a 32k-char 事業名)
        return engine.evaluate_one(fields, rb, trace=trace)  # not kept: 20,000 such keys would hold GBs
    try:
        key = (rb.sha256, trace, *((k, v.__class__, repr(v) if v.__class__ is float else v) for k, v in fields.items()))
        hit = _RESULTS.get(key)
    except TypeError:  # an unhashable cell (a list from a JSON array): not kept
        return engine.evaluate_one(fields, rb, trace=trace)
    if hit is None:
        if len(_RESULTS) >= _RESULTS_MAX:
            _RESULTS.clear()
        hit = _RESULTS[key] = engine.evaluate_one(fields, rb, trace=trace)
    return hit


def _first_error(rec: dict[str, Any] | None, keys: Iterable[str]) -> str | None:
    if rec is None:
        return None
    for k in keys:
        e = _error_value(rec.get(k))
        if e:
            return e
    return None


_RANGE = object()  # an argument of more than one cell


def _one_cell(v: Any) -> Any:
    """A one-cell argument's clean value (as `_grid` gives it), or _RANGE."""
    if isinstance(v, list):
        if len(v) != 1:
            return None if not v else _RANGE
        v = v[0]
        if isinstance(v, list):
            if len(v) != 1:
                return _RANGE
            v = v[0]
    return _cell(v)


def _one_cell_record(keys: tuple[str, ...], args: tuple) -> dict[str, Any] | None:
    """The filled arguments of a formula whose every argument is one cell (what Excel sends per
    cell, so this is the common call), by key; None when an argument is a range."""
    rec: dict[str, Any] = {}
    for k, v in zip(keys, args):
        if v is None:
            continue
        cell = _one_cell(v)
        if cell is _RANGE:
            return None
        if cell is not None and not is_blank(cell):
            rec[k] = cell
    return rec


def _line_function(name: str, keys: tuple[str, ...], pick: Callable[[engine.LineResult], Any],
                   explain_errors: bool = False, fixed: dict[str, Any] | None = None, trace: bool = False) -> Callable:
    """A UDF over the line arguments `keys`: one value per line, spilled for ranges. `trace`: the
    engine's 計算過程 is needed (EXPLAIN_LINE); the other functions skip building it."""
    category_at = keys.index("category") if "category" in keys else len(keys)

    def one_line(rec: dict[str, Any], blank_check: bool):
        """The same steps as the range path below, for one line (`_records`, `_evaluate`)."""
        if blank_check and rec.get("category") is None and rec.get("cost") is None:
            return ""
        if fixed:
            rec.update(fixed)
        _fill_defaults(rec, default_year(), 0)
        err = None if explain_errors else _first_error(rec, keys)
        if err:
            return err
        present = {k: v for k, v in rec.items() if v is not None}
        return pick(_line_result(present, trace))

    def run(*args):
        rec = _one_cell_record(keys, args)
        if rec is not None:
            return one_line(rec, len(args) > category_at)
        values = dict(zip(keys, args))
        rows, cols, records = _records(values, fixed)
        errors = [None if explain_errors else _first_error(r, keys) for r in records]
        results = _evaluate([None if e else r for r, e in zip(records, errors)], trace)
        single = rows == cols == 1
        cells = []
        for rec, err, res in zip(records, errors, results):
            if err:
                cells.append(err)
            elif res is None:
                cells.append("")
            else:
                cells.append(_pick_or_fail(name, res, pick, single))
        if single:
            return cells[0]
        return [cells[i * cols:(i + 1) * cols] for i in range(rows)]

    return run


def _pick_or_fail(name: str, res: engine.LineResult, pick, single: bool):
    try:
        return pick(res)
    except UdfError:
        if single:
            raise
        return "#VALUE!"


def _amount(field: str):
    def pick(res: engine.LineResult):
        if res.status == "error":
            raise UdfError(res.reasons)
        return getattr(res, field)
    return pick


def _rate(res: engine.LineResult):
    if res.status == "error":  # as the other functions' errors: the reasons alone
        raise UdfError(res.reasons)
    if res.status == "excluded":
        raise UdfError(f"{engine.STATUS_JA['excluded']}: {res.reasons}")
    return float(res.rate) if res.rate is not None else ""


def _explain(res: engine.LineResult) -> str:
    """計算過程: the engine's trace; an error line says why it was not computed."""
    if res.status == "error":
        return f"{engine.STATUS_JA['error']}: {res.reasons}"
    return res.trace


def _check(res: engine.LineResult) -> str:
    if res.status == "eligible":
        return engine.STATUS_JA["eligible"]
    return f"{engine.STATUS_JA[res.status]}: {res.reasons}"


# ---- the functions -----------------------------------------------------------------------------

def _coord_amount(*args):
    values = dict(zip(COORD_ARGS, args))
    costs = _grid(values["cost"])
    for v in values.values():
        for row in _grid(v):
            for cell in row:
                if _error_value(cell):
                    return _error_value(cell)
    if all(is_blank(c) for row in costs for c in row):
        return ""
    _, _, records = _records(values, fixed={"category": 4, "person_id": _PERSON_PLACEHOLDER + "1"})
    lines = [{k: v for k, v in r.items() if v is not None} for r in records
             if r is not None and r.get("cost") is not None]
    if len(lines) == 1:
        results = [engine.evaluate_line(_rb(), **lines[0])]
    else:
        results = engine.evaluate_records(lines, _rb())
    for r in results:
        if r.status == "error":
            raise UdfError(r.reasons)
    return sum(r.measure_amount for r in results)


def _coord_cap(employment=None, fiscal_year=None):
    emp = _scalar("employment", employment, "従事形態")
    fy = _scalar("fiscal_year", fiscal_year, "年度")
    for v in (emp, fy):
        if _error_value(v):
            return _error_value(v)
    if emp is None:
        raise UdfError("引数「従事形態」(employment) を入力してください（専任 または 兼務）。")
    year = default_year() if fy is None else fy
    # The engine validates the inputs and the scope (年度, 従事形態) on a zero-cost ④ line.
    res = engine.evaluate_line(_rb(), category=4, cost=0, employment=emp, fiscal_year=year,
                               body_type=_rb().model.body_types[1].label, person_id=_PERSON_PLACEHOLDER)
    if res.status == "error":
        raise UdfError(res.reasons)
    y, _ = parse_year(year)
    if res.status == "excluded":
        raise UdfError(f"{engine.STATUS_JA['excluded']}: {_exclusions(res, y)}")
    idx, _ = _parsers().employments.parse(emp)
    return _rb().param(f"coord_cap_{_rb().model.employments[idx].id}", y)


def _exclusions(res: engine.LineResult, year: int) -> str:
    """The sentences of the rules that excluded the line (not 「④…に当たります」, which is no problem)."""
    ctx = engine.context(_rb())
    bucket = int(ctx.year_bucket([year])[0])
    texts = [ctx.event_text(e, bucket) for e in res.events if e[1] == "excluded"]
    return " ".join(texts) or res.reasons


_RULE_PARTS = {"title": "title", "名称": "title", "見出し": "title", "citation": "citation", "出典": "citation",
               "quote": "quote", "引用": "quote", "条文": "quote", "basis": "basis", "根拠": "basis"}


def _rule_text(rule_id=None, part=None):
    rid = _scalar("rule_id", rule_id, "ルールID")
    p = _scalar("part", part, "項目")
    for v in (rid, p):
        if _error_value(v):
            return _error_value(v)
    if rid is None:
        raise UdfError("引数「ルールID」(rule_id) を入力してください（例: CAP-COORD-DEDICATED）。")
    key = unicodedata.normalize("NFKC", str(rid)).strip().upper().replace("_", "-")
    try:
        rule = _rb().rule(key)
    except KeyError:
        raise UdfError(f"引数「ルールID」(rule_id) の値「{_show(rid)}」: ルールブックにないルールIDです"
                       f"（例: {', '.join(_rb().rule_ids[:3])}）。") from None
    basis = "通知" if rule.basis == "notice" else "解釈（通知に定めなし）"
    if p is None:
        return f"{rule.id} {rule.title}（{rule.citation}、{basis}）「{rule.quote}」"
    field = _RULE_PARTS.get(unicodedata.normalize("NFKC", str(p)).strip().lower())
    if field is None:
        raise UdfError(f"引数「項目」(part) の値「{_show(p)}」: 出典・引用・名称・根拠 のいずれかを指定してください。")
    return basis if field == "basis" else getattr(rule, field)


def _rulebook_rows() -> list[tuple[str, str, Any]]:
    rb = _rb()
    years = "・".join(str(y) for y in rb.param_years())
    n = rb.model.notice
    return [
        ("name", "ルールブック", rb.name),
        ("title", "名称", rb.model.title),
        ("valid_from", "適用開始年度", rb.model.valid_from),
        ("years", "適用年度", f"{rb.model.valid_from}年度（令和{rb.model.valid_from - 2018}年度）以降"
                              f"（値の改定年度: {years}）"),
        ("notice", "通知", f"{'・'.join(n.numbers)}（{n.date_ja}）{n.title}"),
        ("hash", "SHA-256", rb.sha256),
        ("short_hash", "ハッシュ（短縮）", rb.short_hash),
    ]


def _rulebook_info(item=None):
    it = _scalar("item", item, "項目")
    if _error_value(it):
        return _error_value(it)
    rows = _rulebook_rows()
    if it is None:
        return [[ja, value] for _, ja, value in rows]
    key = unicodedata.normalize("NFKC", str(it)).strip().lower()
    for k, ja, value in rows:
        if key in (k, ja.lower()):
            return value
    raise UdfError(f"引数「項目」(item) の値「{_show(it)}」: "
                   f"{'・'.join(ja for _, ja, _ in rows)} のいずれかを指定してください。")


def _expense_examples(category=None):
    c = _scalar("category", category, "区分")
    if _error_value(c):
        return _error_value(c)
    rb = _rb()
    wanted = None
    if c is not None:
        wanted, problem = _parsers().category(c)
        if problem:
            raise UdfError(f"引数「区分」(category) の値「{_show(c)}」: {problem}。")
    rows = [["区分", "項目ID", "経費項目", "出典"]]
    for cat, item in rb.items:
        if wanted is None or cat.id == wanted:
            rows.append([f"{cat.symbol}{cat.name}", item.id, item.label, "、".join(item.sources)])
    return rows


def _fiscal_index(revenues=None, demands=None):
    def cells(name, label, v):
        flat = [c for row in _grid(v) for c in row]
        for c in flat:
            if _error_value(c):
                return _error_value(c), None
        if len(flat) != fiscal.YEARS or any(is_blank(c) for c in flat):
            raise UdfError(f"引数「{label}」({name}) には{fiscal.YEARS}年度分の値（{fiscal.YEARS}つのセル）を指定してください。")
        parsed = []
        for c in flat:
            d, problem = parse_decimal(c)
            if problem:
                raise UdfError(f"引数「{label}」({name}) の値「{_show(c)}」: {problem}。")
            parsed.append(d)
        return None, parsed

    err, rev = cells("revenues", "基準財政収入額", revenues)
    if err:
        return err
    err, dem = cells("demands", "基準財政需要額", demands)
    if err:
        return err
    try:
        return float(fiscal.fiscal_index(rev, dem))
    except fiscal.FiscalIndexError as exc:
        raise UdfError(str(exc)) from None


def _evaluate_table(table=None, fiscal_year=None, header=True):
    grid = _grid(table)
    fy = _scalar("fiscal_year", fiscal_year, "年度")
    hdr = _scalar("header", header, "見出し")
    if _error_value(fy):
        return _error_value(fy)
    titles, grid, unit = _split_titles(grid)
    if len(grid) < 2:
        raise UdfError("引数「表」(table) には見出し行とデータ行を含む範囲を指定してください。")
    names = ["" if is_blank(h) else str(h) for h in grid[0]]
    if not any(engine.header_key(h) in BY_KEY for h in names):
        raise UdfError(f"引数「表」(table) の見出し行に既知の列がありません（例: 年度・区分・事業費）。"
                       f"見出し: {_show('、'.join(n for n in names if n))}")
    seen: dict[str, int] = {}
    cols = []
    for i, n in enumerate(names):
        n = n or f"列{i + 1}"
        seen[n] = seen.get(n, -1) + 1
        cols.append(n if not seen[n] else f"{n}.{seen[n]}")
    data = grid[1:]
    filled = [i for i, r in enumerate(data) if any(type(c) is int or not is_blank(c) for c in r)]
    out_header = [ja for _, ja in OUTPUT_COLUMNS]
    blank_row = [""] * len(out_header)
    body = [list(blank_row) for _ in data]
    if filled:
        df = pd.DataFrame([data[i] for i in filled], columns=cols, dtype=object)
        defaults = {"fiscal_year": default_year() if fy is None else fy}
        result = engine.evaluate_frame(df, _rb(), defaults, unit=unit)
        values = [_table_column(k, result[k].tolist()) for k, _ in OUTPUT_COLUMNS]
        for i, row in zip(filled, zip(*values)):
            body[i] = list(row)
    show_header = True if hdr is None else bool(hdr) if isinstance(hdr, (bool, int, float)) else \
        str(hdr).strip().upper() not in ("FALSE", "0", "いいえ", "×", "なし")
    return [list(blank_row) for _ in titles] + ([out_header] if show_header else []) + body


def _split_titles(grid: list[list[Any]]):
    """(title rows, the table from its header row, yen per unit of a 「単位：千円」 title line):
    the header row is found as `tokkou calc` finds it (reading.find_header); else the first row."""
    from . import amounts, reading
    top, _ = reading.find_header(grid)
    if not top:
        return [], grid, None
    unit = next((u for r in grid[:top] if (u := amounts.title_unit(r))), None)
    return grid[:top], grid[top:], unit


def _table_column(key: str, values: list) -> list:
    """`_table_cell` over a result column, the common cells (int, Decimal, str) taken directly."""
    if key == "status":
        return [_table_cell(key, v) for v in values]
    cell = _table_cell
    return [v if (t := type(v)) is int or t is str else float(v) if t is Decimal else cell(key, v) for v in values]


def _table_cell(key: str, v: Any):
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    if key == "status":
        return engine.STATUS_JA.get(v, v)
    if isinstance(v, Decimal):
        return float(v)
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


# ---- registration --------------------------------------------------------------------------------

# (python name, Japanese display name, description, implementation, [(arg, doc)], required)
_FUNCTIONS: list[tuple[str, str, str, Callable, list[tuple[str, str]], int]] = []


def _line_args(keys: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(k, ARG_DOCS[k]) for k in keys]


def _define(name: str, ja: str, doc: str, impl: Callable, args: list[tuple[str, str]],
            required: int) -> None:
    _FUNCTIONS.append((name, ja, doc, impl, args, required))


_define("ELIGIBLE_AMOUNT", "対象経費", "対象経費（円）: 事業費から特定財源・起債対象経費・対象外経費を除き按分した額。"
        "対象外の事業は0。", _line_function("ELIGIBLE_AMOUNT", LINE_ARGS, _amount("eligible_cost")),
        _line_args(LINE_ARGS), 2)
_define("MEASURE_AMOUNT", "措置額", "特別交付税の措置額（円）: 対象経費×措置率（財政力補正後）。"
        "④は1人当たり上限を適用。", _line_function("MEASURE_AMOUNT", LINE_ARGS, _amount("measure_amount")),
        _line_args(LINE_ARGS), 2)
_define("MEASURE_RATE", "措置率", "措置率: ①②③⑤は0.5×財政力補正係数、④は上限内で対象経費に乗じる率。",
        _line_function("MEASURE_RATE", RATE_ARGS, _rate, fixed={"cost": 0}), _line_args(RATE_ARGS), 1)
_define("CHECK_LINE", "対象判定", "経費の行の判定: 対象なら「対象」、そうでなければ判定と理由（ルールID付き）。",
        _line_function("CHECK_LINE", LINE_ARGS, _check, explain_errors=True), _line_args(LINE_ARGS), 2)
_define("EXPLAIN_LINE", "計算過程", "経費の行の計算過程: 事業費から控除・按分・措置率・補正係数・端数処理まで。"
        "④はこの人の行の合計・上限・按分。", _line_function("EXPLAIN_LINE", LINE_ARGS, _explain, explain_errors=True, trace=True),
        _line_args(LINE_ARGS), 2)
_define("COORD_AMOUNT", "コーディネーター措置額",
        "④コーディネーター1人の措置額（円）: その人の経費（範囲可）を合算し、専任・兼務の上限を適用。",
        _coord_amount, [(k, ARG_DOCS[k] + ("（この人の経費の範囲も可）" if k == "cost" else ""))
                        for k in COORD_ARGS], 2)
_define("COORD_CAP", "コーディネーター上限額", "④コーディネーター1人当たりの上限額（円）: 専任・兼務別。ルールブックの値。",
        _coord_cap, [("employment", "従事形態: 専任 または 兼務"),
                     ("fiscal_year", ARG_DOCS["fiscal_year"])], 1)
_define("RULE_TEXT", "根拠条文", "ルールの根拠: 通知の該当箇所（出典）と引用。",
        _rule_text, [("rule_id", "ルールID（例: CAP-COORD-DEDICATED、EXCL-FOOD）"),
                     ("part", "項目: 省略時は全体。出典・引用・名称・根拠 のいずれか")], 1)
_define("RULEBOOK_INFO", "ルールブック情報", "使用中のルールブック: 名称・適用年度・通知・ハッシュ（SHA-256）。",
        _rulebook_info, [("item", "項目: 省略時は一覧。名称・適用年度・通知・SHA-256 など")], 0)
_define("EXPENSE_EXAMPLES", "経費項目一覧", "別添の経費項目の一覧（区分・項目ID・経費項目・出典）をスピルで表示。",
        _expense_examples, [("category", "区分: 1〜5、①〜⑤または区分名。省略時は全区分")], 0)
_define("FISCAL_INDEX", "財政力指数",
        "財政力指数: 3か年の基準財政収入額÷基準財政需要額（各年度小数2位未満四捨五入）の平均（小数2位未満四捨五入）。",
        _fiscal_index, [("revenues", "基準財政収入額: 3か年度分の範囲（3つのセル）"),
                        ("demands", "基準財政需要額: 3か年度分の範囲（収入額と同じ年度順）")], 2)
_define("EVALUATE_TABLE", "一括算定",
        "経費の表を一括算定: 見出し行（年度・区分・事業費 など）付きの範囲から、対象経費・措置率・措置額・判定・理由をスピルで表示。",
        _evaluate_table, [("table", "表: 見出し行（英語キーまたは日本語の列名）とデータ行の範囲"),
                          ("fiscal_year", "年度が空欄の行に使う年度: 省略時 2025（令和7年度）"),
                          ("header", "見出し: TRUE（省略時）で結果の見出し行を付ける、FALSE で付けない")], 1)

# Functions whose result is a large spilled table: written by `_spill_converter` (Office.js).
_SPILLS = frozenset({"EVALUATE_TABLE"})


def _spill_converter():
    """The return converter of a spilled table on Office.js: exactly xlwings' default write (2-D,
    then its per-cell preparation), except that the cells the preparation returns unchanged (text
    not starting with #, int, a float that is a number) skip its chain of type tests — a third of
    a 10,000-row EVALUATE_TABLE went there."""
    from xlwings.conversion import Converter, accessors
    from xlwings.pro._xlofficejs import engine as officejs

    prepare = officejs.prepare_xl_data_element

    class SpillCells(Converter):
        base = accessors["raw"]

        @staticmethod
        def write_value(value, options):
            if not isinstance(value, (list, tuple)):
                value = [[value]]
            elif value and not isinstance(value[0], (list, tuple)):
                value = [value]
            return [[x if ((t := type(x)) is str and not x.startswith("#")) or t is int or (t is float and x == x)
                     else prepare(x, options) for x in row] for row in value]

    return SpillCells


# Japanese display names: Office.js allows any Unicode letters in a function's `name` (the id
# stays ASCII), so xlwings Lite/Server show both; classic xlwings has no display names.
JA_SUFFIX = "_JA"


def _make(name: str, doc: str, impl: Callable, params: list[str], required: int) -> Callable:
    guarded = _udf(impl)

    def udf(*args):
        return guarded(*args)

    fn = types.FunctionType(udf.__code__, udf.__globals__, name, None, udf.__closure__)
    fn.__doc__ = doc
    fn.__qualname__ = name
    fn.__module__ = __name__
    fn.__signature__ = inspect.Signature([
        inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          **({} if i < required else {"default": None}))
        for i, p in enumerate(params)])
    return fn


def _register(fn: Callable, args: list[tuple[str, str]], display: str | None = None) -> Callable:
    for arg, doc in args:
        # raw: cells are cleaned by _grid (error cells must not turn into blanks, and it is faster)
        fn = xw.arg(arg, "raw", doc=doc)(fn)
    if OFFICEJS and fn.__name__.removesuffix(JA_SUFFIX) in _SPILLS:
        fn = xw.ret(_spill_converter())(fn)
    # xw.func last: xw.arg re-runs xw.func without options, which would drop `name`
    return xw.func(name=display)(fn) if OFFICEJS and display else xw.func(fn)


__all__: list[str] = []
for _name, _ja, _doc, _impl, _args, _required in _FUNCTIONS:
    _params = [a for a, _ in _args]
    globals()[_name] = _register(_make(_name, _doc, _impl, _params, _required), _args)
    __all__.append(_name)
    # Defined everywhere (so `from tokkou.udfs import *` works); registered on Office.js only.
    _alias = _make(_name + JA_SUFFIX, f"{_doc}（{_name} と同じ）", _impl, _params, _required)
    globals()[_name + JA_SUFFIX] = _register(_alias, _args, _ja) if OFFICEJS else _alias
    __all__.append(_name + JA_SUFFIX)

JA_NAMES = {name: ja for name, ja, *_ in _FUNCTIONS}
del _name, _ja, _doc, _impl, _args, _required, _params, _alias
