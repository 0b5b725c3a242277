"""Native Excel formulas of the line sheets (事業, コーディネーター): no add-in needed.

Each formula mirrors one stage of the engine and takes every number and message from the ルール
sheet (named ranges TK_*). Every function returns formula text for one cell; nothing is written.
`x` maps a column key to its cell on the row ("E5").
"""
from __future__ import annotations

from . import columns, layout as L
from .formula_parts import all_of, any_of, bad_yen, chain, floordiv, present, q

YES, NO = L.YES, L.NO


def _filled(ctx, r: int) -> str:
    """COUNTA over the 事業 row's input cells (0 = an unused row)."""
    return f'COUNTA({ctx.lines["category"]}{r}:{ctx.lines["pref_grant"]}{r})'


def _yes_no_checks(sheet: str, x: dict) -> list[tuple[str, str]]:
    """Every yes/no column of the sheet must hold はい or いいえ (or stay blank)."""
    return [(f'AND({x[c.key]}<>"",{x[c.key]}<>{q(YES)},{x[c.key]}<>{q(NO)})',
             q(f"{c.ja}は「はい」か「いいえ」で入力してください。"))
            for c in columns.on_sheet(sheet, "input") if c.is_flag]


def exclusion_checks(ctx, sheet: str, x: dict) -> list[tuple[str, str]]:
    """The rulebook's `when:` exclusions, as conditions over the cells this sheet holds.

    A yes/no column the sheet does not hold is blank there (never yes); a missing 主目的 is the
    default purpose; on the コーディネーター sheet every row is category ④.
    """
    held = {c.key for c in columns.on_sheet(sheet, "input")}
    default_purpose = ctx.rb.model.main_purposes[0].id
    out = []
    for rid, cond in ctx.exclusions:
        parts = []
        if cond.flag:
            if cond.flag not in held:
                continue
            parts.append(f"{x[cond.flag]}={q(YES)}")
        if cond.main_purpose:
            if "main_purpose" in held:
                parts.append(f"{x['main_purpose']}={q(ctx.vocab(ctx.m.main_purposes, cond.main_purpose))}")
            elif cond.main_purpose != default_purpose:
                continue
        if cond.categories:
            if sheet == "coord":
                if 4 not in cond.categories:
                    continue
            else:
                parts.append(any_of([f'{x["_cat"]}={c}' for c in cond.categories]))
        out.append((all_of(parts) if parts else "TRUE", ctx.msg(f"{rid}:excluded")))
    return out


# ---- 事業 -------------------------------------------------------------------------------------

def line_cat(ctx, x: dict, r: int) -> str:
    return (f'=IF({x["category"]}="",IF({x["item"]}="",0,IFERROR(INDEX(TK_ITEM_CAT,MATCH({x["item"]},TK_ITEM_ALL,0)),0)),'
            f'IFERROR(INDEX(TK_CAT_IDS,MATCH({x["category"]},TK_CAT_ALL,0)),0))')


def line_err(ctx, x: dict, r: int) -> str:
    ja = lambda k: columns.ALL[k].ja  # noqa: E731
    checks = [
        ('TK_BODY_ERR<>""', "TK_BODY_ERR"),
        (f'AND({x["category"]}<>"",ISNA(MATCH({x["category"]},TK_CAT_ALL,0)))', q("区分は一覧から選んでください。")),
        (f'AND({x["item"]}<>"",ISNA(MATCH({x["item"]},TK_ITEM_ALL,0)))', q("経費項目は一覧（別添の例示）から選んでください。")),
        (f'{x["_cat"]}=0', q("区分が未入力です。")),
        (f'IF(AND({x["category"]}<>"",{x["item"]}<>""),INDEX(TK_ITEM_CAT,MATCH({x["item"]},TK_ITEM_ALL,0))<>{x["_cat"]},FALSE)',
         q("経費項目が区分と合いません。")),
        (f'{x["_cat"]}=4', q("④コーディネーターは「コーディネーター」シートに入力してください。")),
        (f'{x["cost"]}=""', q("事業費が未入力です。")),
    ]
    for k in ("cost", "specific_revenue", "bond_amount", "excluded_amount"):
        checks.append((bad_yen(x[k]), q(f"{ja(k)}は0以上の整数（円）で入力してください。")))
    a = x["apportion_ratio"]
    checks.append((f'IF({a}="",FALSE,IF(ISNUMBER({a}),OR({a}<0,{a}>1,ABS({a}*TK_RATIO_SCALE-ROUND({a}*TK_RATIO_SCALE,0))>0.000001),TRUE))',
                   q("按分率は0〜1、小数6桁までで入力してください。")))
    p = x["main_purpose"]
    checks.append((f'AND({p}<>"",ISNA(MATCH({p},TK_PURPOSES,0)))', q("主目的は一覧から選んでください。")))
    checks += _yes_no_checks("lines", x)
    tourism = q(ctx.vocab(ctx.m.main_purposes, "tourism_industry"))
    checks.append((f'AND(TK_REQUIRE_RATIO=1,{p}={tourism},{a}="")', ctx.msg("APPORTION-MIXED:missing")))
    checks.append((f'AND({x["pref_grant"]}={q(YES)},TK_TYPE<>{q(ctx.vocab(ctx.m.body_types, "prefecture"))})',
                   ctx.msg("INCL-PREF-GRANT:not_prefecture")))
    return f'=IF({_filled(ctx, r)}=0,"",' + chain(checks) + ")"


def line_excl(ctx, x: dict, r: int) -> str:
    return "=" + chain([('TK_BODY_EXCL<>""', "TK_BODY_EXCL")] + exclusion_checks(ctx, "lines", x))


def line_state(ctx, x: dict, r: int) -> str:
    return f'=IF({_filled(ctx, r)}=0,0,IF({x["_err"]}<>"",1,IF({x["_excl"]}<>"",2,3)))'


def line_eligible(ctx, x: dict, r: int) -> str:
    base = (f'MAX(0,{x["cost"]}-IF(TK_DEDUCT=1,{x["specific_revenue"]},0)-{x["bond_amount"]}'
            f'-{x["excluded_amount"]})')
    n = f'IF({x["apportion_ratio"]}="",TK_RATIO_SCALE,ROUND({x["apportion_ratio"]}*TK_RATIO_SCALE,0))'
    return f'=IF({x["_state"]}<3,IF({x["_state"]}=2,0,""),{floordiv(base, n, "TK_RATIO_SCALE")})'


def line_rate(ctx, x: dict, r: int) -> str:
    return f'=IF({x["_state"]}<=1,"",TK_RATE)'


def line_measure(ctx, x: dict, r: int) -> str:
    amount = floordiv(x["eligible_cost"], "TK_RATE_N", "TK_RATE_SCALE")
    s = x["_state"]
    return f'=IF({s}<=1,"",IF({s}=2,0,INT({amount}/TK_UNIT)*TK_UNIT))'


def line_status(ctx, x: dict, r: int) -> str:
    s = x["_state"]
    return (f'=IF({s}=0,"",IF({s}=1,"エラー",IF(OR({s}=2,AND({x["cost"]}>0,{x["measure_amount"]}=0,'
            f'{x["eligible_cost"]}=0)),"対象外",IF({x["eligible_cost"]}<{x["cost"]},"一部対象","対象"))))')


def line_reasons(ctx, x: dict, r: int) -> str:
    s = x["_state"]
    return f'=IF({s}=1,{x["_err"]},IF({s}=2,{x["_excl"]},""))'


LINE = {"_cat": line_cat, "_err": line_err, "_excl": line_excl, "_state": line_state,
        "eligible_cost": line_eligible, "rate": line_rate, "measure_amount": line_measure,
        "status": line_status, "reasons": line_reasons}


# ---- コーディネーター ---------------------------------------------------------------------------

def coord_lines(ctx, x: dict, r: int) -> str:
    return "=" + "+".join(present(f"{c.letter}{r}") for c in ctx.amounts)


def coord_cost_total(ctx, x: dict, r: int) -> str:
    return "=SUM(" + ",".join(f"{c.letter}{r}" for c in ctx.amounts) + ")"


def coord_err(ctx, x: dict, r: int) -> str:
    checks = [
        ('TK_BODY_ERR<>""', "TK_BODY_ERR"),
        (f'{x["employment"]}=""', ctx.msg("INTERP-COORD-PERSON:missing_employment")),
        (f'ISNA(MATCH({x["employment"]},TK_EMP,0))', q("従事形態は一覧から選んでください。")),
        (f'AND({x["other_measure"]}<>"",ISNA(MATCH({x["other_measure"]},TK_OTHER,0)))', q("他制度適用は一覧から選んでください。")),
    ]
    checks += _yes_no_checks("coord", x)
    mo = x["months_served"]
    checks.append((f'IF({mo}="",FALSE,IF(ISNUMBER({mo}),OR({mo}<>INT({mo}),{mo}<1,{mo}>12),TRUE))',
                   q("従事月数は1〜12の整数で入力してください。")))
    checks.append((f'AND({present(x["reward"])}=1,{x["placement"]}<>"",ISNA(MATCH({x["placement"]},TK_PLACEMENTS,0)))',
                   q("配置の種類は一覧から選んでください。")))
    for c in ctx.amounts:
        checks.append((bad_yen(f"{c.letter}{r}"), q(f"{c.header.replace('（円）', '')}は0以上の整数（円）で入力してください。")))
    checks.append((f'IF({present(x["reward"])}=1,{bad_yen(x["specific_revenue"])},FALSE)',
                   q("特定財源は0以上の整数（円）で入力してください。")))
    checks.append((f'IF({present(ctx.food.letter + str(r))}=1,{bad_yen(x["food_amount"])},FALSE)',
                   q("飲食費は0以上の整数（円）で入力してください。")))
    return f'=IF({x["_lines"]}=0,"",' + chain(checks) + ")"


def coord_excl(ctx, x: dict, r: int) -> str:
    none = q(ctx.vocab(ctx.m.other_measures, "none"))
    study = (f'OR({x["study_coordinator"]}={q(YES)},AND({present(x["reward"])}=1,'
             f'IFERROR(INDEX(TK_PLACE_STUDY,MATCH({x["placement"]},TK_PLACEMENTS,0)),0)=1))')
    checks = [('TK_BODY_EXCL<>""', "TK_BODY_EXCL")] + exclusion_checks(ctx, "coord", x) + [
        (f'AND({x["other_measure"]}<>"",{x["other_measure"]}<>{none})', ctx.msg("SELECT-COOPERATOR:excluded")),
        (f'AND({study},{x["in_strategy_plan"]}<>{q(YES)})', ctx.msg("COND-STUDY-PLAN:excluded")),
    ]
    return "=" + chain(checks)


def coord_state(ctx, x: dict, r: int) -> str:
    return f'=IF({x["_lines"]}=0,0,IF({x["_err"]}<>"",1,IF({x["_excl"]}<>"",2,3)))'


def coord_eligible(ctx, x: dict, r: int) -> str:
    parts = [f'MAX(0,{x["reward"]}-IF(TK_DEDUCT=1,{x["specific_revenue"]},0))']
    for c in ctx.amounts[1:]:
        cell = f"{c.letter}{r}"
        parts.append(f'MAX(0,{cell}-{x["food_amount"]})' if c is ctx.food else f"N({cell})")
    s = x["_state"]
    return f'=IF({s}<3,IF({s}=2,0,""),' + "+".join(parts) + ")"


def coord_cap(ctx, x: dict, r: int) -> str:
    ded = q(ctx.vocab(ctx.m.employments, "dedicated"))
    base = f'IF({x["employment"]}={ded},TK_CAP_DED,TK_CAP_CON)'
    mo, s = x["months_served"], x["_state"]
    return f'=IF({s}<=1,"",IF(AND(TK_PRORATE=1,{mo}<>"",{mo}<12),INT({base}*{mo}/12),{base}))'


def _rated(x: dict) -> str:
    return floordiv(x["eligible_cost"], "TK_CRATE_N", "TK_CRATE_SCALE")


def coord_measure(ctx, x: dict, r: int) -> str:
    s = x["_state"]
    return f'=IF({s}<=1,"",IF({s}=2,0,INT(MIN({_rated(x)},{x["cap"]})/TK_UNIT)*TK_UNIT))'


def coord_status(ctx, x: dict, r: int) -> str:
    s, t = x["_state"], x["eligible_cost"]
    return (f'=IF({s}=0,"",IF({s}=1,"エラー",IF(OR({s}=2,{t}=0),"対象外",'
            f'IF(AND({x["measure_amount"]}={t},{t}={x["_cost_total"]}),"対象","一部対象"))))')


def coord_reasons(ctx, x: dict, r: int) -> str:
    ded = q(ctx.vocab(ctx.m.employments, "dedicated"))
    capped = (f'IF({_rated(x)}>{x["cap"]},IF({x["employment"]}={ded},{ctx.msg("CAP-COORD-DEDICATED:capped")},'
              f'{ctx.msg("CAP-COORD-CONCURRENT:capped")}),"")')
    s = x["_state"]
    return f'=IF({s}=1,{x["_err"]},IF({s}=2,{x["_excl"]},IF({s}=3,{capped},"")))'


COORD = {"_lines": coord_lines, "_cost_total": coord_cost_total, "_err": coord_err, "_excl": coord_excl,
         "_state": coord_state, "eligible_cost": coord_eligible, "cap": coord_cap, "measure_amount": coord_measure,
         "status": coord_status, "reasons": coord_reasons}
