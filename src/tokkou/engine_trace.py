"""計算過程 (trace): the arithmetic of each line in Japanese, from the engine's own numbers.

Built on request only (calc, review's 明細, EXPLAIN_LINE): the batch path without it stays a
pure numpy pass. The words live in `render`; this module picks the numbers per line.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from . import render
from .engine_context import KIND_COORDINATOR


def trace_column(s, rule_ids: np.ndarray) -> np.ndarray:
    """One trace text per line of a finished `LineState`: error and excluded lines once per
    distinct text, ①②③⑤ lines from one template per kind of line (`render.general_trace_template`),
    ④ lines one by one."""
    a = s.a
    out = np.empty(s.n, dtype=object)
    err, excluded = a["err"], a["excluded"]
    out[err] = render.error_trace()
    ex = np.flatnonzero(~err & excluded)
    if len(ex):
        codes, uniq = pd.factorize(rule_ids[ex])
        texts = [render.excluded_trace([x for x in str(u).split() if (x, "excluded") in s.ctx.exclusions])
                 for u in uniq.tolist()]
        out[ex] = np.array(texts, dtype=object)[codes]
    coord = a["kind"] == KIND_COORDINATOR
    _general_traces(s, np.flatnonzero(~err & ~excluded & ~coord), out)
    _coordinator_traces(s, np.flatnonzero(~err & ~excluded & coord), out)
    return out


def _general_traces(s, idx: np.ndarray, out: np.ndarray) -> None:
    """①②③⑤ lines: the template of each distinct (deductions, ratio, rate, coefficient), filled
    with the line's yen amounts."""
    if not len(idx):
        return
    a = s.a
    numbers = _numbers(s, idx)
    deducted = [numbers[k] != 0 for k in ("spec", "bond", "excl", "food")]
    negative = numbers["cost"] - sum(numbers[k] for k in ("spec", "bond", "excl", "food")) < 0
    r_num, r_den = a["r_num"][idx], a["r_den"][idx]
    num_codes, _ = pd.factorize(r_num)
    den_codes, dens = pd.factorize(r_den)
    ratio_codes, ratios = pd.factorize(np.where(r_num != r_den, num_codes * len(dens) + den_codes, -1))
    bits = sum(d.astype(np.int64) << k for k, d in enumerate(deducted)) + (negative.astype(np.int64) << 4)
    key = ((bits * (len(ratios) + 1) + ratio_codes) * (int(a["bucket"].max(initial=0)) + 1) + a["bucket"][idx]) \
        * (len(s.coef_table) + 1) + a["coef_code"][idx]
    shape, shapes = pd.factorize(key)
    first = np.full(len(shapes), len(idx), dtype=np.int64)
    np.minimum.at(first, shape, np.arange(len(idx)))
    unit = s.ctx.rb.interp.rounding.unit
    rates = s.ctx.param("general_rate")
    order = np.argsort(shape, kind="stable")
    bounds = np.searchsorted(shape[order], np.arange(len(shapes) + 1))
    for g, row in enumerate(first.tolist()):
        rows = order[bounds[g]:bounds[g + 1]]
        ratio = None
        if r_num[row] != r_den[row]:
            ratio = Decimal(int(r_num[row])) / Decimal(int(r_den[row]))
        template = render.general_trace_template(tuple(bool(d[row]) for d in deducted), bool(negative[row]), ratio,
                                                 False, rates[int(a["bucket"][idx[row]])],
                                                 s.coef_table[int(a["coef_code"][idx[row]])], unit)
        out[idx[rows]] = _fill(template, {k: v[rows] for k, v in numbers.items()})


def _fill(template: str, numbers: dict[str, np.ndarray]) -> list[str]:
    """The template filled line by line with the yen texts (render.yen's format) of its fields."""
    names = render.template_fields(template)
    positional = template
    for i, name in enumerate(names):
        positional = positional.replace("{" + name + "}", "{" + str(i) + "}", 1)
    columns = [[f"{v:,}" for v in numbers[k].tolist()] for k in names]
    return [positional.format(*vals) for vals in zip(*columns)]


def _numbers(s, idx: np.ndarray) -> dict[str, np.ndarray]:
    """The yen amounts a trace cites, for the lines idx (特定財源 only when deducted, 飲食費 only
    where the category excludes it)."""
    a = s.a
    zero = np.zeros(len(idx), dtype=np.int64)
    deduct = s.ctx.rb.interp.specific_revenue.deduct
    return {"cost": a["cost"][idx], "spec": a["specific_revenue"][idx] if deduct else zero,
            "bond": a["bond_amount"][idx], "excl": a["excluded_amount"][idx],
            "food": np.where(a["food_cat"][idx], a["food_amount"][idx], 0), "base": a["base"][idx],
            "eligible": a["eligible"][idx], "measure": a["measure"][idx]}


def _coordinator_traces(s, idx: np.ndarray, out: np.ndarray) -> None:
    """④ lines one by one: each cites its person's sum, cap and share."""
    a = s.a
    unit = s.ctx.rb.interp.rounding.unit
    deduct = s.ctx.rb.interp.specific_revenue.deduct
    ps = s.person
    person_row = {int(r): j for j, r in enumerate(ps.idx)} if ps is not None else {}
    cols = {k: a[k] for k in ("cost", "specific_revenue", "bond_amount", "excluded_amount", "food_amount",
                              "base", "eligible", "measure", "r_num", "r_den")}
    for i in idx.tolist():
        t = _line_numbers(cols, i, a["food_cat"][i], unit, deduct)
        if i in person_row:
            out[i] = render.coordinator_trace({**t, **_person_numbers(ps, person_row[i])})
        else:
            out[i] = render.general_trace({**t, "coordinator": True})


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
