"""The one description of the workbook template layout, and `read_lines` to read a filled one.

The builder (templates.py), the review and the tests all take sheet names, rows and column letters
from here, so a filled template is read back with exactly the mapping it was written with.
Columns that depend on the rulebook (the coordinator cost items) come from `get(rb)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import columns, rulebook as rulebook_mod
from .rulebook import Rulebook

LAYOUT_VERSION = 1  # bump when a cell moves; the cover records it
BASENAME = "nichiiki_kankei"
VARIANTS = ("native", "addin")
SAMPLE_NAME = f"{BASENAME}_sample.xlsx"


def file_name(variant: str) -> str:
    return f"{BASENAME}_{variant}.xlsx"


# ---- sheets ---------------------------------------------------------------------------------
SHEET_COVER = "表紙"
SHEET_BODY = "団体情報"
SHEET_LINES = "事業"
SHEET_COORD = "コーディネーター"
SHEET_SUMMARY = "集計"
SHEET_ANNEX = "別添"
SHEET_RULES = "ルール"  # protected parameters and dropdown lists, generated from the YAML
SHEETS = (SHEET_COVER, SHEET_BODY, SHEET_LINES, SHEET_COORD, SHEET_SUMMARY, SHEET_ANNEX, SHEET_RULES)

# ---- 表紙: label in column B, value in column C --------------------------------------------
COVER_FIRST_ROW = 4
COVER_FIELDS: tuple[tuple[str, str], ...] = (
    ("rulebook_title", "ルールブック"),
    ("rulebook_name", "ルールブック名"),
    ("notice_numbers", "通知番号"),
    ("notice_date", "通知日"),
    ("notice_title", "通知名"),
    ("valid_years", "適用年度"),
    ("rulebook_hash", "ルールブックのハッシュ（SHA-256）"),
    ("layout_version", "様式バージョン"),
    ("variant", "計算方式"),
    ("tokkou_version", "作成ツール"),
)
COVER_CELLS = {key: f"C{COVER_FIRST_ROW + i}" for i, (key, _) in enumerate(COVER_FIELDS)}

# ---- 団体情報: label in column B, input in column C ------------------------------------------
BODY_FIRST_ROW = 4
BODY_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (k, columns.ALL[k].ja) for k in ("body_name", "body_code", "body_type", "fiscal_year", "fiscal_correction"))
BODY_CELLS = {key: f"C{BODY_FIRST_ROW + i}" for i, (key, _) in enumerate(BODY_FIELDS)}
# Calculated cells below the inputs (locked): checks the lines' formulas read.
BODY_CALC_FIRST_ROW = BODY_FIRST_ROW + len(BODY_FIELDS) + 2
BODY_CALC_FIELDS: tuple[tuple[str, str], ...] = (
    ("code_norm", "団体コード（6桁）"),
    ("code_ok", "団体コードの検査数字（1=正しい）"),
    ("code_type", "団体コードから見た団体区分"),
    ("type_eff", "適用する団体区分"),
    ("body_error", "団体情報の入力エラー"),
    ("body_excluded", "団体・年度による対象外"),
    ("coef_eff", "適用する財政力補正係数"),
    ("period", "適用するパラメータの期間（ルールシートの行）"),
    ("general_rate", "①②③⑤の措置率"),
    ("general_rate_n", "措置率（整数化）"),
    ("cap_dedicated", "④専任の上限額"),
    ("cap_concurrent", "④兼務の上限額"),
    ("coord_rate_n", "④の率（整数化）"),
)
BODY_CALC_CELLS = {key: f"C{BODY_CALC_FIRST_ROW + i}" for i, (key, _) in enumerate(BODY_CALC_FIELDS)}


@dataclass(frozen=True)
class Col:
    """One column of a line sheet. kind: fixed (builder-written constant), input, calc, helper."""

    letter: str
    key: str          # SPEC §4.1 key for inputs/outputs; a private name for the rest
    header: str       # Japanese header shown in the header row
    kind: str
    width: float = 12
    item: str | None = None  # coordinator cost columns: the 別添 item id the amount is for
    fmt: str = "text"        # yen | ratio | rate | text | bool | int


def _letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _cols(specs) -> tuple[Col, ...]:
    return tuple(Col(_letter(i), *spec) for i, spec in enumerate(specs))


def _reg(key: str, width: float, kind: str | None = None) -> tuple:
    """A column spec from the registry (tokkou.columns): header and format declared there."""
    c = columns.ALL[key]
    return (key, c.header, kind or ("calc" if c.role == "output" else "input"), width, None, c.fmt)


# ---- 事業 (categories ①②③⑤) -------------------------------------------------------------
LINES_HEADER_ROW = 4
LINES_FIRST_ROW = 5
LINES_COUNT = 300
LINES_CATEGORIES = (1, 2, 3, 5)
LINE_COLUMNS: tuple[Col, ...] = _cols((
    ("line_no", "No.", "fixed", 5, None, "int"),
    _reg("category", 16),
    _reg("item", 36),
    ("project_name", "事業名", "input", 28),
    _reg("cost", 14),
    _reg("specific_revenue", 14),
    _reg("bond_amount", 14),
    _reg("excluded_amount", 14),
    _reg("apportion_ratio", 9),
    _reg("main_purpose", 18),
    _reg("national_subsidy", 9),
    _reg("cash_benefit", 9),
    _reg("new_construction", 9),
    _reg("pref_grant", 10),
    _reg("eligible_cost", 14),
    _reg("rate", 8),
    _reg("measure_amount", 14),
    _reg("status", 9),
    _reg("reasons", 40),
    # helpers (locked, grouped/hidden): other formulas and the 集計 sheet read them
    ("_cat", "区分番号", "helper", 6, None, "int"),
    ("_err", "入力エラー", "helper", 20),
    ("_excl", "対象外の理由", "helper", 20),
    ("_state", "状態", "helper", 6, None, "int"),
))
LINES = {c.key: c for c in LINE_COLUMNS}

# _state values in both sheets' helper columns
STATE_UNUSED, STATE_ERROR, STATE_EXCLUDED, STATE_COUNTED = 0, 1, 2, 3

# ---- コーディネーター (category ④, one row per person) ----------------------------------------
COORD_HEADER_ROW = 4
COORD_FIRST_ROW = 5
COORD_COUNT = 50
COORD_ID_FORMAT = "K-{:03d}"  # person_id written by the builder, one per row


def coordinator_id(index: int) -> str:
    return COORD_ID_FORMAT.format(index + 1)


def placement_items(rb: Rulebook) -> list:
    """④ items that are the person's placement (報償費等): one choice per person."""
    return [it for it in rb.category(4).items if it.placement]


def cost_items(rb: Rulebook) -> list:
    """④ items other than the placement: one amount column each (別添(2))."""
    return [it for it in rb.category(4).items if not it.placement]


def food_item(rb: Rulebook):
    """The ④ item whose 飲食 part is excluded (EXCL-FOOD): 飲食費 is deducted on its line."""
    return next(it for it in rb.category(4).items if it.food_excluded)


def _coord_specs(rb: Rulebook) -> list:
    specs = [
        _reg("person_id", 10, "fixed"),
        ("person_name", "氏名・役職", "input", 18),
        _reg("employment", 8),
        _reg("other_measure", 14),
        _reg("study_coordinator", 10),
        _reg("in_strategy_plan", 10),
        _reg("months_served", 7),
        ("placement", "配置の種類", "input", 30),
        ("reward", "報償費等（円）", "input", 13, None, "yen"),
        _reg("specific_revenue", 13),
    ]
    for it in cost_items(rb):
        short = it.label.replace("に要する経費", "").replace("に係る経費", "")
        specs.append((f"cost_{it.id}", f"{short}（円）", "input", 13, it.id, "yen"))
    specs += [
        _reg("food_amount", 12),
        _reg("eligible_cost", 14),
        ("cap", "上限額（円）", "calc", 13, None, "yen"),
        _reg("measure_amount", 14),
        _reg("status", 9),
        _reg("reasons", 40),
        ("_lines", "経費の行数", "helper", 6, None, "int"),
        ("_err", "入力エラー", "helper", 20),
        ("_excl", "対象外の理由", "helper", 20),
        ("_state", "状態", "helper", 6, None, "int"),
        ("_cost_total", "経費合計", "helper", 14, None, "yen"),
    ]
    return specs


# ---- 集計 ------------------------------------------------------------------------------------
SUMMARY_HEADER_ROW = 4
SUMMARY_FIRST_ROW = 5  # rows ①..⑤ then 合計
SUMMARY_COLUMNS: tuple[Col, ...] = _cols((
    ("category", "区分", "fixed", 24),
    ("lines", "行数", "calc", 8, None, "int"),
    ("cost", "事業費（円）", "calc", 16, None, "yen"),
    ("eligible_cost", "対象経費（円）", "calc", 16, None, "yen"),
    ("measure_amount", "措置額（円）", "calc", 16, None, "yen"),
    ("errors", "エラー行数", "calc", 10, None, "int"),
))

# ---- 別添 / ルール ---------------------------------------------------------------------------
ANNEX_HEADER_ROW = 3
ANNEX_FIRST_ROW = 4
ANNEX_COLUMNS = ("ID", "区分", "経費項目", "出典", "注意")

YES, NO = "はい", "いいえ"


@dataclass(frozen=True)
class Layout:
    """Everything rulebook-dependent about the layout (the coordinator columns)."""

    coord_columns: tuple[Col, ...]
    placement_ids: tuple[str, ...]
    food_item_id: str
    coord: dict = field(default_factory=dict)

    def coord_col(self, key: str) -> Col:
        return self.coord[key]


_LAYOUTS: dict[str, Layout] = {}


def get(rb: Rulebook | None = None) -> Layout:
    rb = rb or rulebook_mod.get()
    lay = _LAYOUTS.get(rb.sha256)
    if lay is None:
        cols = _cols(_coord_specs(rb))
        lay = _LAYOUTS[rb.sha256] = Layout(cols, tuple(i.id for i in placement_items(rb)), food_item(rb).id,
                                           {c.key: c for c in cols})
    return lay


def item_choice(item) -> str:
    """How an item appears in a dropdown (the engine accepts "ID label")."""
    return f"{item.id} {item.label}"


def category_choice(cat) -> str:
    return f"{cat.symbol}{cat.name}"


# ---- reading a filled template back --------------------------------------------------------

def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _zero_or_blank(v: Any) -> bool:
    return _blank(v) or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0)


def read_lines(path: str | Path, rb: Rulebook | None = None, raw: dict | None = None) -> pd.DataFrame:
    """Engine input lines (SPEC §4.1 keys) of a filled template, inputs as typed.

    事業: one line per row with any input. コーディネーター: per person row, one line for the
    報償費等 (item = 配置の種類, 特定財源 deducted there) and one per non-zero cost column
    (飲食費 on the food item's line); a zero or blank amount makes no line. Every line gets the
    団体情報 values. Extra columns: `sheet`, `row`, `cell` (the amount cell) locate the source.
    `raw`, when given, receives every row read as {(sheet, row): values tuple}, the cover's values
    as {(SHEET_COVER, key): value}, "sheetnames" and "max_row" (declared used range of 事業 and
    コーディネーター), so a caller needs no second pass over the file.
    """
    from openpyxl import load_workbook

    from .errors import InputError

    rb = rb or rulebook_mod.get()
    lay = get(rb)
    p = Path(path)
    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        if xml_forbidden(exc):  # defusedxml refused a DTD, entity or external reference
            raise InputError(f"{p}: XML に DTD・エンティティ宣言または外部参照があります（XML 爆弾・外部参照の可能性）。開きません。") from None
        raise InputError(f"{p}: 読み込めません（{type(exc).__name__}）。") from None
    try:
        if raw is not None:
            raw["sheetnames"] = list(wb.sheetnames)
            # the used range each sheet declares (<dimension>): cheap, and rows past it are never read
            raw["max_row"] = {s: wb[s].max_row for s in (SHEET_LINES, SHEET_COORD) if s in wb.sheetnames}
        missing = [s for s in (SHEET_BODY, SHEET_LINES, SHEET_COORD) if s not in wb.sheetnames]
        if missing:
            raise InputError(f"{p}: シート「{'」「'.join(missing)}」がありません（様式が違います）。")
        body_ws = wb[SHEET_BODY]
        last = BODY_FIRST_ROW + len(BODY_FIELDS) - 1
        body_rows = list(body_ws.iter_rows(min_row=BODY_FIRST_ROW, max_row=last, min_col=3, max_col=3,
                                           values_only=True))
        body_rows += [(None,)] * (len(BODY_FIELDS) - len(body_rows))
        body = {key: body_rows[i][0] if body_rows[i] else None for i, (key, _) in enumerate(BODY_FIELDS)}
        if raw is not None and SHEET_COVER in wb.sheetnames:
            cover = list(wb[SHEET_COVER].iter_rows(min_row=COVER_FIRST_ROW, max_row=COVER_FIRST_ROW + len(COVER_FIELDS) - 1,
                                                   min_col=3, max_col=3, values_only=True))
            cover += [(None,)] * (len(COVER_FIELDS) - len(cover))
            for i, (key, _) in enumerate(COVER_FIELDS):
                raw[(SHEET_COVER, key)] = cover[i][0] if cover[i] else None
        records: list[dict] = []
        inputs = [c for c in LINE_COLUMNS if c.kind == "input"]
        ws = wb[SHEET_LINES]
        for r, row in enumerate(ws.iter_rows(min_row=LINES_FIRST_ROW, max_row=LINES_FIRST_ROW + LINES_COUNT - 1,
                                             max_col=len(LINE_COLUMNS), values_only=True), LINES_FIRST_ROW):
            if raw is not None:
                raw[(SHEET_LINES, r)] = row
            vals = {c.key: row[_index(c.letter)] if _index(c.letter) < len(row) else None for c in inputs}
            if all(_blank(v) for v in vals.values()):
                continue
            rec = {**body, **vals, "sheet": SHEET_LINES, "row": r, "cell": f"{LINES['cost'].letter}{r}"}
            records.append(rec)
        ws = wb[SHEET_COORD]
        cc = lay.coord
        for r, row in enumerate(ws.iter_rows(min_row=COORD_FIRST_ROW, max_row=COORD_FIRST_ROW + COORD_COUNT - 1,
                                             max_col=len(lay.coord_columns), values_only=True), COORD_FIRST_ROW):
            if raw is not None:
                raw[(SHEET_COORD, r)] = row
            v = {c.key: row[_index(c.letter)] if _index(c.letter) < len(row) else None
                 for c in lay.coord_columns}
            person = {**body, "category": 4, "person_id": v["person_id"] or coordinator_id(r - COORD_FIRST_ROW),
                      "person_name": v["person_name"], "employment": v["employment"],
                      "other_measure": v["other_measure"], "study_coordinator": v["study_coordinator"],
                      "in_strategy_plan": v["in_strategy_plan"], "months_served": v["months_served"],
                      "sheet": SHEET_COORD, "row": r}
            if not _zero_or_blank(v["reward"]):
                records.append({**person, "item": v["placement"], "cost": v["reward"],
                                "specific_revenue": v["specific_revenue"], "cell": f"{cc['reward'].letter}{r}"})
            for c in lay.coord_columns:
                if c.item and not _zero_or_blank(v[c.key]):
                    rec = {**person, "item": c.item, "cost": v[c.key], "cell": f"{c.letter}{r}"}
                    if c.item == lay.food_item_id:
                        rec["food_amount"] = v["food_amount"]
                    records.append(rec)
    finally:
        wb.close()
    keys = ["sheet", "row", "cell", *[k for k, _ in BODY_FIELDS], "category", "item", "project_name", "cost",
            "specific_revenue", "bond_amount", "excluded_amount", "apportion_ratio", "main_purpose",
            "national_subsidy", "cash_benefit", "new_construction", "pref_grant", "person_id", "person_name",
            "employment", "other_measure", "study_coordinator", "in_strategy_plan", "months_served", "food_amount"]
    return pd.DataFrame(records, columns=keys, dtype=object)


def xml_forbidden(exc: BaseException | None) -> bool:
    """Whether defusedxml refused the XML (openpyxl wraps its error in a ValueError)."""
    seen = 0
    while exc is not None and seen < 10:
        if "Forbidden" in type(exc).__name__:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _index(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n - 1
