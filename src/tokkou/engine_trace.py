"""計算過程 (trace): the arithmetic of each line in Japanese, from the engine's own numbers.

Built on request only (calc, review's 明細, EXPLAIN_LINE): the batch path without it stays a
pure numpy pass. The words live in `render`; this module picks the numbers per line. Lines of one
kind (the same deductions, ratio, rate, coefficient, cap shape) share one render template, filled
with each line's amounts.
"""
from __future__ import annotations

import copy
import dataclasses
from decimal import Decimal

import numpy as np
import pandas as pd

from . import render
from .engine_context import KIND_COORDINATOR

_PERSON = ("cap", "full_cap", "months", "sum", "rated", "total", "lines")


def trace_column(s, rule_ids: np.ndarray) -> np.ndarray:
    """One trace text per line of a finished `LineState`: error and excluded lines once per
    distinct text, the others from one render template per kind of line."""
    s = _as_arrays(s)
    rule_ids = np.asarray(rule_ids, dtype=object)
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
    idx = np.flatnonzero(~err & ~excluded)
    if len(idx):
        _template_traces(s, idx, out)
    return out


def _as_arrays(s):
    """The state with numpy columns (the one-line path hands its values over as 1-element lists)."""
    if all(isinstance(v, np.ndarray) for v in s.a.values()):
        return s
    ps = s.person
    if ps is not None:
        ps = copy.copy(ps)
        for f in dataclasses.fields(ps):
            value = getattr(ps, f.name)
            if isinstance(value, list):
                setattr(ps, f.name, np.asarray(value, dtype=object if f.name == "person_rate" else None))
    return dataclasses.replace(s, a={k: np.asarray(v) for k, v in s.a.items()}, person=ps)


def _template_traces(s, idx: np.ndarray, out: np.ndarray) -> None:
    """Lines idx (neither error nor excluded): one template per kind of line, filled per line."""
    a = s.a
    numbers, person = _numbers(s, idx)
    deducted = [numbers[k] != 0 for k in ("spec", "bond", "excl", "food")]
    negative = numbers["cost"] - sum(numbers[k] for k in ("spec", "bond", "excl", "food")) < 0
    r_num, r_den = a["r_num"][idx], a["r_den"][idx]
    coord = a["kind"][idx] == KIND_COORDINATOR
    has_person = person >= 0
    prorated = has_person & numbers["part_year"] & (numbers["cap"] != numbers["full_cap"])
    shape = _shape_codes([*deducted, negative, np.where(r_num != r_den, r_num, 0), np.where(r_num != r_den, r_den, 0),
                          coord, a["bucket"][idx], np.where(coord, -1, a["coef_code"][idx]), has_person, prorated,
                          has_person & (numbers["lines"] == 1)])
    order = np.argsort(shape, kind="stable")
    bounds = np.searchsorted(shape[order], np.arange(int(shape.max()) + 2))
    for g in range(len(bounds) - 1):
        rows = order[bounds[g]:bounds[g + 1]]
        r = rows[0]
        template = _template(s, int(idx[r]), tuple(bool(d[r]) for d in deducted), bool(negative[r]),
                             int(person[r]), bool(prorated[r]))
        out[idx[rows]] = _fill(template, {k: v[rows] for k, v in numbers.items()})


def _template(s, i: int, deducted: tuple[bool, ...], negative: bool, j: int, prorated: bool) -> str:
    """The render template of line i's kind (j: its place among the ④ persons' lines, or -1)."""
    a = s.a
    unit = s.ctx.rb.interp.rounding.unit
    ratio = None
    if a["r_num"][i] != a["r_den"][i]:
        ratio = Decimal(int(a["r_num"][i])) / Decimal(int(a["r_den"][i]))
    if a["kind"][i] != KIND_COORDINATOR:
        return render.general_trace_template(deducted, negative, ratio, False,
                                             s.ctx.param("general_rate")[int(a["bucket"][i])],
                                             render.coef_text(s.coef_table[int(a["coef_code"][i])]), unit)
    head = render.general_trace_template(deducted, negative, ratio, True, None, None, unit)
    if j < 0:
        return head
    ps = s.person
    return render.coordinator_trace_template(head, prorated, Decimal(ps.person_rate[j]), int(ps.lines[j]) == 1, unit)


def _shape_codes(keys: list[np.ndarray]) -> np.ndarray:
    """Codes 0.. of the distinct combinations of the key columns, in first-seen order."""
    if len(keys[0]) <= 64:  # a few lines (EXPLAIN_LINE: one): two pd.factorize per key cost ~0.3 ms
        seen: dict[tuple, int] = {}
        return np.array([seen.setdefault(t, len(seen)) for t in zip(*(np.asarray(k).tolist() for k in keys))],
                        dtype=np.int64)
    code = np.zeros(len(keys[0]), dtype=np.int64)
    for k in keys:
        kc, ku = pd.factorize(k)
        code, _ = pd.factorize(code * len(ku) + kc)
    return code


def _fill(template: str, numbers: dict[str, np.ndarray]) -> list[str]:
    """The template filled line by line with the texts of its fields (render.trace_number_format)."""
    names = render.template_fields(template)
    positional = template
    for i, name in enumerate(names):
        positional = positional.replace("{" + name + "}", "{" + str(i) + "}")
    columns = [list(map(render.trace_number_format(k).format, numbers[k].tolist())) for k in names]
    return [positional.format(*vals) for vals in zip(*columns)]


def _numbers(s, idx: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The amounts a trace cites for the lines idx (特定財源 only when deducted, 飲食費 only where the
    category excludes it; a ④ person's sum, cap and share where the line has one), and each line's
    place among the persons' lines (-1: none)."""
    a = s.a
    zero = np.zeros(len(idx), dtype=np.int64)
    deduct = s.ctx.rb.interp.specific_revenue.deduct
    numbers = {"cost": a["cost"][idx], "spec": a["specific_revenue"][idx] if deduct else zero,
               "bond": a["bond_amount"][idx], "excl": a["excluded_amount"][idx],
               "food": np.where(a["food_cat"][idx], a["food_amount"][idx], 0), "base": a["base"][idx],
               "eligible": a["eligible"][idx], "measure": a["measure"][idx]}
    place = np.full(s.n, -1, dtype=np.int64)
    ps = s.person
    if ps is not None:
        place[ps.idx] = np.arange(len(ps.idx))
    person = place[idx]
    some = np.clip(person, 0, None)
    for k, src in zip(_PERSON, ("cap", "full_cap", "months", "person_sum", "rated", "total", "lines")):
        numbers[k] = np.where(person >= 0, getattr(ps, src)[some], 0) if ps is not None else zero
    numbers["part_year"] = (np.where(person >= 0, ps.part_year[some], False) if ps is not None
                            else np.zeros(len(idx), dtype=bool))
    return numbers, person
