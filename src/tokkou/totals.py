"""Each body's total 措置額, in yen and rounded per 地方交付税法第22条 (INTERP-BODY-ROUNDING).

Line amounts stay in yen (INTERP-ROUNDING); only the body's total is rounded, to the unit the
rulebook's `body_rounding` setting gives (千円: under 500円 dropped, 500円 and over raised).
Calc's summary and the review's 概要 both call `body_totals`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from . import render
from .rulebook import Rulebook


@dataclass(frozen=True)
class BodyTotal:
    body: str              # 団体コード, else 団体名, else （団体不明）
    body_name: str
    fiscal_year: Any       # as given (2025, 令和7 …); None when the lines have none
    lines: int
    total_yen: int         # sum of line 措置額 (円)
    rounded_yen: int       # rounded per 地方交付税法第22条 (円, a multiple of the unit)
    unit: int              # 1000 = 千円

    @property
    def rounded_units(self) -> int:
        """The rounded total in units (千円 when unit is 1000)."""
        return self.rounded_yen // self.unit


def _setting(rb: Rulebook, ctx=None):
    return ctx.setting("body_rounding") if ctx is not None else rb.interp.body_rounding


def round_body_total(total_yen: int, rb: Rulebook, ctx=None) -> int:
    """地方交付税法第22条: under half a unit dropped, half and over raised (half_up); or floor.
    `ctx`: the engine context, when the caller is the rulebook check (it records the read)."""
    st = _setting(rb, ctx)
    unit = st.unit
    q, r = divmod(int(total_yen), unit)
    if st.mode == "half_up" and 2 * r >= unit:
        q += 1
    return q * unit


def body_totals(lines: Iterable[Mapping[str, Any]], rb: Rulebook, ctx=None) -> list[BodyTotal]:
    """Totals per body (code, else name) and fiscal year, in first-seen order.

    `lines`: mappings with `measure_amount` (円; blank/None counts 0), `body_code`, `body_name`
    and optionally `fiscal_year` (as the engine read it, or as typed).
    """
    bodies, names, years, amounts = [], [], [], []
    for ln in lines:
        code, name = cell_text(ln.get("body_code")), cell_text(ln.get("body_name"))
        fy = ln.get("fiscal_year")
        years.append(None if fy is None or fy != fy or str(fy).strip() == "" else fy)  # NaN/blank: no year
        bodies.append(code or name or "（団体不明）")
        names.append(name)
        amounts.append(_yen(ln.get("measure_amount")))
    return body_totals_columns(bodies, names, years, amounts, rb, ctx)


def body_totals_columns(bodies, names, years, amounts, rb: Rulebook, ctx=None) -> list[BodyTotal]:
    """Totals per (body, fiscal year), in first-seen order, from columns of equal length: `bodies`
    (the grouping key), `names` (the first non-empty one is shown), `years` (None: none), `amounts`
    (integer 円). Each group's total is rounded once (round_body_total)."""
    import numpy as np
    import pandas as pd
    unit = _setting(rb, ctx).unit
    n = len(bodies)
    if n == 0:
        return []
    body_codes, body_uniq = pd.factorize(np.asarray(bodies, dtype=object))
    year_arr = np.empty(n, dtype=object)
    year_arr[:] = list(years)
    year_codes, year_uniq = pd.factorize(year_arr, use_na_sentinel=False)
    codes, uniq = pd.factorize(body_codes.astype(np.int64) * (len(year_uniq) + 1) + year_codes)
    amount = np.asarray(amounts, dtype=np.int64)
    sums = np.bincount(codes, weights=None, minlength=len(uniq)).astype(np.int64)
    total = np.zeros(len(uniq), dtype=np.int64)
    np.add.at(total, codes, amount)
    name_arr = np.asarray(names, dtype=object)
    filled = np.flatnonzero(name_arr != "")
    first_name = [""] * len(uniq)
    for g, row in zip(*np.unique(codes[filled], return_index=True)):
        first_name[g] = name_arr[filled[row]]
    out = []
    for g, key in enumerate(uniq):
        b, y = divmod(int(key), len(year_uniq) + 1)
        fy = year_uniq[y]
        fy = None if fy is None or fy != fy else fy
        out.append(BodyTotal(body_uniq[b], first_name[g], fy, int(sums[g]), int(total[g]),
                             round_body_total(int(total[g]), rb, ctx), unit))
    return out


def _yen(amount: Any) -> int:
    try:
        return int(amount) if amount is not None and amount == amount else 0
    except (TypeError, ValueError):
        return 0


def cell_text(v: Any) -> str:
    """A typed cell as trimmed text; None and NaN are ''."""
    if v is None or v != v:  # None or NaN
        return ""
    return str(v).strip()


def label(rb: Rulebook) -> str:
    return render.body_total_label(rb.interp.body_rounding.unit)
