"""The column registry: every input and output column of an expense line, declared once.

Each `Column` holds what every face needs to know about it: the English key (SPEC §4.1), the
Japanese name, the synonyms offices write in their headers, the parser kind, whether it is
required, its unit, the UDF argument help, and the template sheets that hold it. The faces are
filters over this module:

- header index (normalize.header_key): `names(col)` of every column in `INPUTS + OUTPUTS`;
- engine parsing: `INPUTS` in order, `col.kind` names the parser, `col.required`;
- yes/no columns (`when.flag` in the rulebook, template checks): `flags()`;
- UDF arguments: `udf_args("line" | "coord" | "rate")` gives the order, `col.doc` the help;
- template layout: `on_sheet("body" | "lines" | "coord")`, `col.header` and `col.fmt`.

Adding a column: add one `Column(...)` below (and, for a UDF argument, its key to `UDF_ARGS`).
This module imports nothing from tokkou, so every other module may import it.
"""
from __future__ import annotations

from dataclasses import dataclass

# Template cell formats by parser kind (templates: yen | ratio | rate | text | bool | int).
_FMT = {"yen": "yen", "ratio": "ratio", "rate": "rate", "bool": "bool", "months": "int"}


@dataclass(frozen=True)
class Column:
    """One column of an expense line. Shapes: strings and tuples of strings only."""

    key: str                          # English key: the interchange column name (SPEC §4.1)
    ja: str                           # Japanese name: accepted as a header, used in messages
    kind: str                         # parser kind (normalize.Parsers.for_kind) or output value kind
    synonyms: tuple[str, ...] = ()    # other headers that mean this column (offices' own wording)
    required: bool = False            # a line without it is an error
    role: str = "input"               # input | output
    unit: str = ""                    # 円 for amounts; shown in template headers as （円）
    doc: str = ""                     # UDF argument help (Excel function wizard), Japanese
    sheets: tuple[str, ...] = ()      # template sheets holding it: body | lines | coord
    template_header: str = ""         # template header when not `ja` + unit

    @property
    def aliases(self) -> tuple[str, ...]:
        """Synonyms (older name, kept for callers that say aliases)."""
        return self.synonyms

    @property
    def header(self) -> str:
        """The header the templates show: 「事業費（円）」."""
        if self.template_header:
            return self.template_header
        return f"{self.ja}（{self.unit}）" if self.unit else self.ja

    @property
    def fmt(self) -> str:
        """Template cell format: yen | ratio | rate | bool | int | text."""
        return _FMT.get(self.kind, "text")

    @property
    def is_flag(self) -> bool:
        """A yes/no column (はい/いいえ, TRUE/FALSE, ○/×)."""
        return self.kind == "bool"


def _yen(key: str, ja: str, doc: str, synonyms: tuple[str, ...] = (), **kw) -> Column:
    return Column(key, ja, "yen", synonyms, unit="円", doc=doc, **kw)


# Inputs, in the order of SPEC §4.1 (the engine parses them in this order).
INPUTS: tuple[Column, ...] = (
    Column("body_code", "団体コード", "body_code", ("地方公共団体コード", "全国地方公共団体コード"),
           doc="団体コード（6桁、検査数字付き）: 省略可。入力すると団体区分を判定", sheets=("body",)),
    Column("body_name", "団体名", "text", ("市町村名", "自治体名", "団体名称"), sheets=("body",)),
    Column("body_type", "団体区分", "body_type",
           doc="団体区分: 都道府県・市町村・特別区・一部事務組合・広域連合。団体コードも空欄なら市町村",
           sheets=("body",)),
    Column("fiscal_year", "年度", "year", required=True,
           doc="年度: 2025・令和7・R7。省略時はルールブックの最新年度（2025）", sheets=("body",)),
    Column("category", "区分", "category", ("事業区分",), required=True,
           doc="区分: 1〜5、①〜⑤または区分名（例: ①、情報発信）", sheets=("lines",)),
    Column("item", "経費項目", "item", ("対象経費の例", "内容", "事業内容", "経費の内容"),
           doc="経費項目: 別添の項目ID（C1-01 など）または名称。省略可", sheets=("lines",)),
    # 予算の節 (地方自治法施行規則 別記): read as 節, gives warnings only (items.py, SPEC §2)
    Column("budget_section", "節", "text", ("予算の節", "節区分", "費目")),
    _yen("cost", "事業費", "事業費（円）: 1200000、１，２００，０００、1,200,000円 のどれでも可",
         ("経費", "総事業費", "金額", "予算額", "決算額", "決算見込額"), required=True, sheets=("lines",)),
    _yen("specific_revenue", "特定財源", "特定財源（円）: 国・都道府県補助金、寄附金、使用料等。省略時 0",
         ("財源内訳", "特定財源額"), sheets=("lines", "coord")),
    _yen("bond_amount", "起債対象経費", "起債対象経費（円）: デジタル活用推進事業債・地域活性化事業債の対象経費。省略時 0",
         ("地方債充当額",), sheets=("lines",)),
    _yen("excluded_amount", "対象外経費", "対象外経費（円）: 二地域居住・関係人口以外の経費。省略時 0",
         sheets=("lines",)),
    Column("apportion_ratio", "按分率", "ratio", doc="按分率: 0〜1 または 0%〜100%。省略時 1", sheets=("lines",)),
    Column("main_purpose", "主目的", "main_purpose",
           doc="主目的: 二地域居住・関係人口（省略時）・移住・定住・観光・産業振興・学校魅力化・その他",
           sheets=("lines",)),
    Column("national_subsidy", "国庫補助事業", "bool",
           doc="国庫補助事業か: TRUE/FALSE、はい/いいえ、○/×。省略時 FALSE", sheets=("lines",)),
    Column("cash_benefit", "現金給付", "bool", doc="現金給付か（⑤）: TRUE/FALSE。省略時 FALSE", sheets=("lines",)),
    Column("new_construction", "新築", "bool", doc="新築か（③の施設整備）: TRUE/FALSE。省略時 FALSE",
           sheets=("lines",)),
    Column("pref_grant", "市町村への補助金", "bool", ("市町村への補助金・交付金", "市町村補助"),
           doc="都道府県から市町村への補助金・交付金か: TRUE/FALSE。省略時 FALSE", sheets=("lines",)),
    Column("fiscal_correction", "財政力補正係数", "decimal", ("補正係数",),
           doc="財政力補正係数: 省略時 1.0（補正前）", sheets=("body",)),
    Column("fiscal_index", "財政力指数", "decimal", doc="財政力指数: 補正係数の表がルールブックにあるときに使用。省略可"),
    Column("person_id", "コーディネーターID", "text", ("コーディネーター", "コーディネーター氏名", "コーディネーター名"),
           doc="コーディネーターID（④）: 省略時はこの行を1人として計算", sheets=("coord",)),
    Column("employment", "従事形態", "employment", ("専任・兼務", "専任／兼務", "専任兼務の別"), doc="従事形態（④）: 専任 または 兼務", sheets=("coord",)),
    Column("other_measure", "他制度適用", "other_measure",
           doc="他制度適用（④）: なし（省略時）・地域おこし協力隊・集落支援員", sheets=("coord",)),
    Column("study_coordinator", "地域留学コーディネーター", "bool",
           doc="地域留学コーディネーターか（④）: TRUE/FALSE。省略時 FALSE", sheets=("coord",)),
    Column("in_strategy_plan", "総合戦略位置付け", "bool", ("総合戦略への位置付け",),
           doc="地方版総合戦略等への位置付けがあるか（④の地域留学）: TRUE/FALSE", sheets=("coord",)),
    Column("months_served", "従事月数", "months", doc="従事月数（④、1〜12）: 省略時 12", sheets=("coord",)),
    _yen("food_amount", "飲食費", "飲食費（円）: ④の交流経費から除く額。省略時 0", ("うち飲食費",),
         sheets=("coord",), template_header="うち飲食費（円）"),
)

# Outputs, in the order calc writes them.
OUTPUTS: tuple[Column, ...] = (
    Column("eligible_cost", "対象経費", "yen", role="output", unit="円", sheets=("lines", "coord")),
    Column("rate", "措置率", "rate", role="output", sheets=("lines",)),
    Column("measure_amount", "措置額", "yen", role="output", unit="円", sheets=("lines", "coord")),
    Column("status", "判定", "status", role="output", sheets=("lines", "coord")),
    Column("reasons", "理由", "text", role="output", sheets=("lines", "coord")),
    Column("rule_ids", "適用ルール", "text", role="output"),
)

BY_KEY: dict[str, Column] = {c.key: c for c in INPUTS}           # inputs only (what the engine reads)
ALL: dict[str, Column] = {c.key: c for c in INPUTS + OUTPUTS}    # inputs and outputs

# UDF signatures: argument order per function family (the order users meet them: what every line
# needs first, then the usual deductions, then the rest). Argument help is each column's `doc`.
UDF_ARGS: dict[str, tuple[str, ...]] = {
    "line": ("category", "cost", "specific_revenue", "bond_amount", "excluded_amount", "apportion_ratio",
             "fiscal_year", "body_type", "main_purpose", "item", "national_subsidy", "cash_benefit",
             "new_construction", "fiscal_correction", "pref_grant", "body_code", "employment",
             "other_measure", "study_coordinator", "in_strategy_plan", "months_served", "food_amount",
             "person_id", "fiscal_index"),
    "coord": ("cost", "employment", "fiscal_year", "specific_revenue", "food_amount", "other_measure",
              "study_coordinator", "in_strategy_plan", "months_served", "body_type", "body_code", "item",
              "excluded_amount", "bond_amount", "apportion_ratio", "main_purpose", "national_subsidy"),
    "rate": ("category", "fiscal_year", "fiscal_correction", "body_type", "employment", "fiscal_index"),
}


def names(col: Column) -> tuple[str, ...]:
    """Every header that names `col`: key, Japanese name, synonyms."""
    return (col.key, col.ja, *col.synonyms)


def flags() -> tuple[str, ...]:
    """Keys of the yes/no input columns, in registry order."""
    return tuple(c.key for c in INPUTS if c.is_flag)


def udf_args(family: str) -> tuple[str, ...]:
    """Argument keys of a UDF family ("line", "coord", "rate"), in call order."""
    return UDF_ARGS[family]


def arg_docs() -> dict[str, str]:
    """{key: UDF argument help} of every input that is a UDF argument."""
    used = {k for keys in UDF_ARGS.values() for k in keys}
    return {c.key: c.doc for c in INPUTS if c.key in used}


def on_sheet(sheet: str, role: str | None = None) -> tuple[Column, ...]:
    """Registry columns a template sheet ("body", "lines", "coord") holds, optionally by role."""
    return tuple(c for c in INPUTS + OUTPUTS if sheet in c.sheets and (role is None or c.role == role))


def _check() -> None:
    keys = [c.key for c in INPUTS + OUTPUTS]
    assert len(keys) == len(set(keys)), "duplicate column key"
    for family, args in UDF_ARGS.items():
        assert set(args) <= set(BY_KEY), family
        assert all(BY_KEY[k].doc for k in args), family


_check()
