"""The one description of the workbook template layout (tokkou.template_reader reads a filled one).

The builder (templates.py), the review and the tests all take sheet names, rows and column letters
from here, so a filled template is read back with exactly the mapping it was written with.
Columns that depend on the rulebook (the coordinator cost items) come from `get(rb)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

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


# ---- column letters ------------------------------------------------------------------------

def _index(letter: str) -> int:
    """Zero-based column index of a column letter ("A" → 0)."""
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n - 1
