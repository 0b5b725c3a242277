"""Formulas and data validations of the 団体情報 and 集計 sheets, and the line sheets' validations.

Pure text, like tokkou.formulas: the builder writes them, the limits test measures them.
A validation is (cell range, XlsxWriter data_validation options).
"""
from __future__ import annotations

from . import columns, layout as L
from .formula_parts import MAX_YEN, q

ERROR_TITLE = "入力できない値です"
YES_NO_MESSAGE = "「はい」か「いいえ」を選んでください。"

# Names of the 団体情報 cells (inputs, then calculated checks).
BODY_NAMES = {"body_name": "TK_B_NAME", "body_code": "TK_B_CODE", "body_type": "TK_B_TYPE",
              "fiscal_year": "TK_FY", "fiscal_correction": "TK_COEF_IN"}
BODY_CALC_NAMES = {"code_norm": "TK_CODE", "code_ok": "TK_CODE_OK", "code_type": "TK_CODE_TYPE",
                   "type_eff": "TK_TYPE", "body_error": "TK_BODY_ERR", "body_excluded": "TK_BODY_EXCL",
                   "coef_eff": "TK_COEF", "period": "TK_PERIOD", "general_rate": "TK_RATE",
                   "general_rate_n": "TK_RATE_N", "cap_dedicated": "TK_CAP_DED", "cap_concurrent": "TK_CAP_CON",
                   "coord_rate_n": "TK_CRATE_N"}


def code_checks(code: str) -> tuple[str, str]:
    """(six ASCII digits?, check digit right?) for a 団体コード held in `code` (SPEC §5)."""
    digits = "AND(" + ",".join(f'ISNUMBER(FIND(MID({code},{i},1),"0123456789"))' for i in range(1, 7)) + ")"
    check = (f"MOD(11-MOD(6*MID({code},1,1)+5*MID({code},2,1)+4*MID({code},3,1)+3*MID({code},4,1)"
             f"+2*MID({code},5,1),11),10)=VALUE(MID({code},6,1))")
    return digits, check


def _coef_bad(x: str) -> str:
    return f"IF(ISNUMBER({x}),OR({x}<TK_COEF_MIN,{x}>TK_COEF_MAX,ABS({x}*10000-ROUND({x}*10000,0))>0.000001),TRUE)"


def _body_error() -> str:
    return ('IF(TK_FY="",' + q("年度（団体情報シート）が未入力です。") + ","
            "IF(IF(ISNUMBER(TK_FY),OR(TK_FY<>INT(TK_FY),TK_FY<1989,TK_FY>2100),TRUE),"
            + q("年度は西暦4桁（例: 2025）で入力してください。") + ","
            "IF(TK_CODE_OK=0," + q("団体コードが正しくありません（6桁・検査数字）。") + ","
            'IF(AND(TK_B_TYPE<>"",ISNA(MATCH(TK_B_TYPE,TK_BODY_TYPES,0))),'
            + q("団体区分は一覧から選んでください。") + ","
            'IF(TK_TYPE="",' + q("団体区分または団体コードを入力してください。") + ","
            'IF(AND(TK_B_TYPE<>"",TK_CODE_TYPE<>"",TK_B_TYPE<>TK_CODE_TYPE),'
            + q("団体区分と団体コードが食い違っています。") + ","
            'IF(IF(TK_COEF_IN="",FALSE,' + _coef_bad("TK_COEF_IN") + "),"
            + q("財政力補正係数は0〜2、小数4桁までで入力してください。") + ',"")))))))')


def body_formulas(ctx) -> dict[str, str]:
    """{calculated field of 団体情報: formula without "="}, in layout.BODY_CALC_FIELDS order."""
    n = "TK_CODE"
    digits, check = code_checks(n)
    bt = lambda ident: q(ctx.vocab(ctx.m.body_types, ident))  # noqa: E731
    out = {
        "code_norm": 'IF(TK_B_CODE="","",IF(ISNUMBER(TK_B_CODE),TEXT(TK_B_CODE,"000000"),TRIM(TK_B_CODE)))',
        "code_ok": f'IF({n}="",1,IF(LEN({n})<>6,0,IF({digits},IF({check},1,0),0)))',
        "code_type": (f'IF(OR({n}="",TK_CODE_OK=0),"",IF(MID({n},3,3)="000",{bt("prefecture")},'
                      f'IF(AND(VALUE({n})>=131016,VALUE({n})<=131237),{bt("special_ward")},{bt("municipality")})))'),
        "type_eff": 'IF(TK_B_TYPE<>"",TK_B_TYPE,TK_CODE_TYPE)',
        "body_error": _body_error(),
        "body_excluded": ('IF(TK_BODY_ERR<>"","",IF(TK_FY<TK_VALID_FROM,' + ctx.msg("SCOPE-FY:excluded") + ","
                          "IF(INDEX(TK_BODY_ELIG,MATCH(TK_TYPE,TK_BODY_TYPES,0))=0,"
                          + ctx.msg("SCOPE-BODY:excluded") + ',"")))'),
        "coef_eff": 'IF(TK_COEF_IN="",TK_COEF_DEFAULT,TK_COEF_IN)',
        "period": "IF(ISNUMBER(TK_FY),IFERROR(MATCH(TK_FY,TK_P_YEARS,1),1),1)",
        "general_rate": 'IF(TK_BODY_ERR<>"","",INDEX(TK_P_GENERAL,TK_PERIOD)*TK_COEF)',
        "general_rate_n": 'IF(TK_BODY_ERR<>"",0,ROUND(TK_RATE*TK_RATE_SCALE,0))',
        "cap_dedicated": "INDEX(TK_P_CAP_DED,TK_PERIOD)",
        "cap_concurrent": "INDEX(TK_P_CAP_CON,TK_PERIOD)",
        "coord_rate_n": "ROUND(INDEX(TK_P_CRATE,TK_PERIOD)*TK_CRATE_SCALE,0)",
    }
    assert list(out) == [k for k, _ in L.BODY_CALC_FIELDS]
    return out


def _dv(opts: dict) -> dict:
    return {**opts, "error_title": ERROR_TITLE}


def _list(source: str, msg: str = "一覧から選んでください。") -> dict:
    return {"validate": "list", "source": source, "error_title": ERROR_TITLE, "error_message": msg}


def body_validations() -> list[tuple[str, dict]]:
    """Data validations of the 団体情報 inputs (each formula within Excel's 255 characters)."""
    cell = L.BODY_CELLS
    code, coef = cell["body_code"], cell["fiscal_correction"]
    # digits and check digit without an array constant (validation formulas may not hold one):
    # TEXT(c,"000000")=c&"" holds for six digits only; any other text makes MID(…)*n an error (= refused)
    weights = "+".join(f"{w}*MID({code},{i},1)" for i, w in enumerate((6, 5, 4, 3, 2), 1))
    code_ok = (f'=AND(LEN({code})=6,TEXT({code},"000000")={code}&"",'
               f"MOD(11-MOD({weights},11),10)=--MID({code},6,1))")
    return [
        (code, _dv({"validate": "custom", "value": code_ok, "input_title": "団体コード",
                    "input_message": "6桁の数字（検査数字付き）",
                    "error_message": "団体コードは6桁の数字で、最後の1桁は検査数字です。"})),
        (cell["body_type"], _dv({"validate": "list", "source": "=TK_BODY_TYPES", "error_message": "一覧から選んでください。"})),
        (cell["fiscal_year"], _dv({"validate": "integer", "criteria": "between", "minimum": 1989, "maximum": 2100,
                                   "input_message": "西暦（例: 2025）", "error_message": "年度は西暦4桁で入力してください。"})),
        (coef, _dv({"validate": "custom",
                    "value": f"=AND(ISNUMBER({coef}),{coef}>=TK_COEF_MIN,{coef}<=TK_COEF_MAX,"
                             f"ABS({coef}*10000-ROUND({coef}*10000,0))<0.000001)",
                    "error_message": "0〜2、小数4桁までの数値を入力してください。"})),
        (cell["body_name"], _dv({"validate": "length", "criteria": "<=", "value": 100,
                                 "error_message": "100文字以内で入力してください。"})),
    ]


def _yen() -> dict:
    return {"validate": "integer", "criteria": "between", "minimum": 0, "maximum": MAX_YEN,
            "input_message": "円単位の整数（0以上）", "error_title": ERROR_TITLE,
            "error_message": "金額は0以上の整数（円単位）で入力してください。"}


def lines_validations() -> list[tuple[str, dict]]:
    """Data validations of the 事業 input columns, one per column range."""
    C = {c.key: c.letter for c in L.LINE_COLUMNS}
    first, last = L.LINES_FIRST_ROW, L.LINES_FIRST_ROW + L.LINES_COUNT - 1
    rng = lambda key: f"{C[key]}{first}:{C[key]}{last}"  # noqa: E731
    a = f"{C['apportion_ratio']}{first}"
    out = [
        (rng("category"), _list("=TK_CAT_LINES")),
        (rng("item"), _list(f'=INDIRECT(IF(${C["category"]}{first}="","TK_ITEMS_LINES","TK_ITEMS_"&'
                            f'IFERROR(INDEX(TK_CAT_IDS,MATCH(${C["category"]}{first},TK_CAT_ALL,0)),"LINES")))',
                            "区分に対応する経費項目（別添の例示）から選んでください。")),
        (rng("project_name"), {"validate": "length", "criteria": "<=", "value": 200,
                               "error_message": "200文字以内で入力してください。"}),
    ]
    out += [(rng(k), _yen()) for k in ("cost", "specific_revenue", "bond_amount", "excluded_amount")]
    out.append((rng("apportion_ratio"), {
        "validate": "custom",
        "value": f"=AND(ISNUMBER({a}),{a}>=0,{a}<=1,ABS({a}*TK_RATIO_SCALE-ROUND({a}*TK_RATIO_SCALE,0))<0.000001)",
        "input_message": "0〜1（小数6桁まで）。空欄は1", "error_title": ERROR_TITLE,
        "error_message": "按分率は0〜1、小数6桁までで入力してください。"}))
    out.append((rng("main_purpose"), _list("=TK_PURPOSES")))
    out += [(rng(c.key), _list("=TK_YESNO", YES_NO_MESSAGE)) for c in columns.on_sheet("lines", "input") if c.is_flag]
    return out


def coord_validations(lay) -> list[tuple[str, dict]]:
    """Data validations of the コーディネーター input columns."""
    C = {c.key: c.letter for c in lay.coord_columns}
    first, last = L.COORD_FIRST_ROW, L.COORD_FIRST_ROW + L.COORD_COUNT - 1
    rng = lambda key: f"{C[key]}{first}:{C[key]}{last}"  # noqa: E731
    out = [
        (rng("person_name"), {"validate": "length", "criteria": "<=", "value": 100,
                              "error_message": "100文字以内で入力してください。"}),
        (rng("employment"), _list("=TK_EMP")),
        (rng("other_measure"), _list("=TK_OTHER")),
    ]
    out += [(rng(c.key), _list("=TK_YESNO", YES_NO_MESSAGE)) for c in columns.on_sheet("coord", "input") if c.is_flag]
    out += [
        (rng("months_served"), {"validate": "integer", "criteria": "between", "minimum": 1, "maximum": 12,
                                "error_message": "従事月数は1〜12の整数です。"}),
        (rng("placement"), _list("=TK_PLACEMENTS")),
    ]
    out += [(rng(c.key), _yen()) for c in lay.coord_columns if c.kind == "input" and c.fmt == "yen"]
    return out


def summary_formulas(rb, lay) -> dict[tuple[int, str], str]:
    """{(sheet row, column key): formula} of the 集計 sheet: one row per category, then 合計."""
    LC = {c.key: c.letter for c in L.LINE_COLUMNS}
    CC = {c.key: c.letter for c in lay.coord_columns}
    lf, ll = L.LINES_FIRST_ROW, L.LINES_FIRST_ROW + L.LINES_COUNT - 1
    cf, cl = L.COORD_FIRST_ROW, L.COORD_FIRST_ROW + L.COORD_COUNT - 1
    lr = lambda k: f"'{L.SHEET_LINES}'!${LC[k]}${lf}:${LC[k]}${ll}"  # noqa: E731
    cr = lambda k: f"'{L.SHEET_COORD}'!${CC[k]}${cf}:${CC[k]}${cl}"  # noqa: E731
    first = L.SUMMARY_FIRST_ROW
    out: dict[tuple[int, str], str] = {}
    for i, cat in enumerate(rb.model.categories):
        k = cat.id
        if k == 4:
            f = {"lines": f'=COUNTIF({cr("_state")},">0")', "cost": f"=SUM({cr('_cost_total')})",
                 "eligible_cost": f"=SUM({cr('eligible_cost')})", "measure_amount": f"=SUM({cr('measure_amount')})",
                 "errors": f'=COUNTIF({cr("_state")},1)'}
        else:
            f = {"lines": f'=COUNTIFS({lr("_cat")},{k},{lr("_state")},">0")',
                 "cost": f'=SUMIFS({lr("cost")},{lr("_cat")},{k},{lr("_state")},">0")',
                 "eligible_cost": f'=SUMIFS({lr("eligible_cost")},{lr("_cat")},{k})',
                 "measure_amount": f'=SUMIFS({lr("measure_amount")},{lr("_cat")},{k})',
                 "errors": f'=COUNTIFS({lr("_cat")},{k},{lr("_state")},1)'}
        for key, text in f.items():
            out[(first + i, key)] = text
    total = {"lines": f'=COUNTIF({lr("_state")},">0")+COUNTIF({cr("_state")},">0")',
             "errors": f'=COUNTIF({lr("_state")},1)+COUNTIF({cr("_state")},1)'}
    for c in L.SUMMARY_COLUMNS[1:]:
        out[(first + 5, c.key)] = total.get(c.key, f"=SUM({c.letter}{first}:{c.letter}{first + 4})")
    return out
