"""計算過程 (trace): the arithmetic of each line in Japanese, from the engine's own numbers.

Built on request only (calc, review's 明細, EXPLAIN_LINE): the batch path without it stays a
pure numpy pass. The words live in `render`; this module picks the numbers per line.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from . import render
from .engine_context import KIND_COORDINATOR


def trace_column(s, rule_ids: np.ndarray) -> np.ndarray:
    """One trace text per line of a finished `LineState`."""
    a = s.a
    unit = s.ctx.rb.interp.rounding.unit
    rates = s.ctx.param("general_rate")
    deduct = s.ctx.rb.interp.specific_revenue.deduct
    out = np.empty(s.n, dtype=object)
    person_row = {}
    ps = s.person
    if ps is not None:
        person_row = {int(r): j for j, r in enumerate(ps.idx)}
    cols = {k: a[k] for k in ("cost", "specific_revenue", "bond_amount", "excluded_amount", "food_amount",
                              "base", "eligible", "measure", "r_num", "r_den", "kind", "bucket", "coef_code")}
    for i in range(s.n):
        if a["err"][i]:
            out[i] = render.error_trace()
        elif a["excluded"][i]:
            out[i] = render.excluded_trace([x for x in str(rule_ids[i]).split()
                                            if (x, "excluded") in s.ctx.exclusions])
        else:
            t = _line_numbers(cols, i, a["food_cat"][i], unit, deduct)
            if cols["kind"][i] == KIND_COORDINATOR and i in person_row:
                out[i] = render.coordinator_trace({**t, **_person_numbers(ps, person_row[i])})
            elif cols["kind"][i] == KIND_COORDINATOR:
                out[i] = render.general_trace({**t, "coordinator": True})
            else:
                t["general_rate"] = rates[int(cols["bucket"][i])]
                t["coef"] = s.coef_table[int(cols["coef_code"][i])]
                out[i] = render.general_trace(t)
    return out


def _line_numbers(c, i: int, food_cat: bool, unit: int, deduct: bool) -> dict:
    ratio = None
    if c["r_num"][i] != c["r_den"][i]:
        ratio = Decimal(int(c["r_num"][i])) / Decimal(int(c["r_den"][i]))
    return {"cost": int(c["cost"][i]), "spec": int(c["specific_revenue"][i]) if deduct else 0, "bond": int(c["bond_amount"][i]),
            "excl": int(c["excluded_amount"][i]), "food": int(c["food_amount"][i]) if food_cat else 0,
            "base": int(c["base"][i]), "ratio": ratio, "eligible": int(c["eligible"][i]),
            "measure": int(c["measure"][i]), "unit": unit}


def _person_numbers(ps, j: int) -> dict:
    return {"cap": int(ps.cap[j]), "full_cap": int(ps.full_cap[j]), "months": int(ps.months[j]),
            "prorated": bool(ps.part_year[j]) and int(ps.cap[j]) != int(ps.full_cap[j]),
            "sum": int(ps.person_sum[j]), "rated": int(ps.rated[j]), "total": int(ps.total[j]),
            "lines": int(ps.lines[j]), "person_rate": Decimal(ps.person_rate[j])}
