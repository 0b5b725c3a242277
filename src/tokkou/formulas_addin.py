"""Add-in formulas of the line sheets: calls of the tokkou UDFs, argument order from the registry.

`calls` is the structured form (UDF name, [argument spec]) that the tests also evaluate through the
Office.js call path; the other functions return formula text for one cell.
"""
from __future__ import annotations

from . import columns, layout as L
from . import formulas_native as native
from .formula_parts import positional, render

# The body's values, as the 団体情報 sheet names them.
_BODY = {"fiscal_year": "TK_FY", "body_type": "TK_B_TYPE", "body_code": "TK_B_CODE", "fiscal_correction": "TK_COEF_IN"}
_LINE_INPUTS = ("category", "cost", "specific_revenue", "bond_amount", "excluded_amount", "apportion_ratio",
                "main_purpose", "item", "national_subsidy", "cash_benefit", "new_construction", "pref_grant")
_PERSON_INPUTS = ("employment", "other_measure", "study_coordinator", "in_strategy_plan", "months_served")


def calls(ctx, sheet: str, r: int, blanks: bool = False) -> dict:
    """{result key: (UDF name, [argument spec])} for one row of the add-in variant.

    blanks: pass blank cells as "" explicitly (argument kind "blankable"), so Excel desktop and
    Excel for the web hand the function the same value.
    """
    cols = ctx.lines if sheet == L.SHEET_LINES else ctx.coord
    kind = "blankable" if blanks else "cell"
    cell = lambda k: (kind, f"{cols[k]}{r}")  # noqa: E731
    ref = lambda k: ("cell", f"{cols[k]}{r}")  # noqa: E731 - inside an array Excel itself makes a blank 0
    body = {k: (kind if blanks else "name", v) for k, v in _BODY.items()}
    line_args, coord_args, rate_args = (columns.udf_args(f) for f in ("line", "coord", "rate"))
    if sheet == L.SHEET_LINES:
        line = {**body, **{k: cell(k) for k in _LINE_INPUTS}}
        args = positional(line_args, line)
        return {"eligible_cost": ("ELIGIBLE_AMOUNT", args), "measure_amount": ("MEASURE_AMOUNT", args),
                "reasons": ("CHECK_LINE", args),
                "rate": ("MEASURE_RATE", positional(rate_args, {**body, "category": cell("category")}))}
    amounts = ctx.amounts
    food_i = next(i for i, c in enumerate(amounts) if c is ctx.food)
    arr = lambda parts: ("array", parts)  # noqa: E731
    costs = arr([("cell", f"{c.letter}{r}") for c in amounts])
    spec = arr([ref("specific_revenue")] + [("lit", 0)] * (len(amounts) - 1))
    food = arr([ref("food_amount") if i == food_i else ("lit", 0) for i in range(len(amounts))])
    items = arr([ref("placement")] + [("lit", ctx.item_choice(c.item)) for c in amounts[1:]])
    person = {**body, "cost": costs, "specific_revenue": spec, "food_amount": food, "item": items,
              **{k: cell(k) for k in _PERSON_INPUTS}}
    line = {**person, "category": ("lit", 4), "person_id": ref("person_id")}
    return {"measure_amount": ("COORD_AMOUNT", positional(coord_args, person)),
            "eligible_cost": ("ELIGIBLE_AMOUNT", positional(line_args, line)),
            "reasons": ("CHECK_LINE", positional(line_args, line)),
            "cap": ("COORD_CAP", [cell("employment"), body["fiscal_year"]])}


def status_formula(key: str, x: dict) -> str:
    """判定 and the helper columns, read back from the 理由 text the UDF gives."""
    rs, st = x["reasons"], x["status"]
    if key == "status":
        return f'=IF({rs}="","",IF(ISNUMBER(FIND(":",{rs})),LEFT({rs},FIND(":",{rs})-1),{rs}))'
    if key == "_err":
        return f'=IF({st}="エラー",{rs},"")'
    if key == "_excl":
        return f'=IF({st}="対象外",{rs},"")'
    if key == "_state":
        return f'=IF({st}="",0,IF({st}="エラー",1,IF({st}="対象外",2,3)))'
    raise KeyError(key)


def line(ctx, key: str, x: dict, r: int) -> str:
    if key == "_cat":
        return native.line_cat(ctx, x, r)
    s = x["_state"]
    c = {k: render(v) for k, v in calls(ctx, L.SHEET_LINES, r, ctx.blanks).items()}
    if key == "eligible_cost":
        return f'=IF({s}=0,"",IFERROR({c["eligible_cost"]},""))'
    if key == "measure_amount":
        return f'=IF({s}=0,"",IFERROR({c["measure_amount"]},""))'
    if key == "rate":
        return f'=IF({s}<=1,"",IFERROR({c["rate"]},""))'
    if key == "reasons":
        return f'=IF({native._filled(ctx, r)}=0,"",{c["reasons"]})'
    return status_formula(key, x)


def coord(ctx, key: str, x: dict, r: int) -> str:
    if key in ("_lines", "_cost_total"):
        return native.COORD[key](ctx, x, r)
    n = x["_lines"]
    c = {k: render(v) for k, v in calls(ctx, L.SHEET_COORD, r, ctx.blanks).items()}
    if key == "measure_amount":
        return f'=IF({n}=0,"",IFERROR({c["measure_amount"]},""))'
    if key == "eligible_cost":
        return f'=IF({n}=0,"",IFERROR(SUM({c["eligible_cost"]}),""))'
    if key == "cap":
        return f'=IF({n}=0,"",IFERROR({c["cap"]},""))'
    if key == "reasons":
        return f'=IF({n}=0,"",IFERROR(INDEX({c["reasons"]},1,1),""))'
    if key == "status":
        t, v = x["eligible_cost"], x["measure_amount"]
        return (f'=IF({n}=0,"",IF({v}="","エラー",IF({t}=0,"対象外",'
                f'IF(AND({v}={t},{t}={x["_cost_total"]}),"対象","一部対象"))))')
    return status_formula(key, x)
