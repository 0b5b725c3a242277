"""④ コーディネーター: one person across lines — 記2(3)② (per-person caps), 別添(2) (all costs inside
the one cap), 記2(4)③ (one measure per person), 記2(2)④ (地域留学 coordinators in the plan).

A person is the same body (code, else name), fiscal year and `person_id`. The stages call
`group_persons` (who is who, person-level exclusions and input conflicts) and `apply_caps`
(sum, cap, split back onto the person's lines so they add up); both work on one `PersonState`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class PersonState:
    """The ④ lines (`idx`, row numbers) and per-person arrays (indexed by group number `g`)."""

    idx: np.ndarray          # rows of the ④ lines
    g: np.ndarray            # group (person) number of each ④ line
    ng: int                  # number of persons
    months: np.ndarray       # per ④ line: months served (12 when not given)
    part_year: np.ndarray    # per ④ line: months given and < 12
    dedicated: np.ndarray | None = None
    # filled by apply_caps, per ④ line
    cap: np.ndarray | None = None
    full_cap: np.ndarray | None = None
    person_sum: np.ndarray | None = None
    rated: np.ndarray | None = None
    total: np.ndarray | None = None
    lines: np.ndarray | None = None
    person_rate: np.ndarray | None = None


def group_persons(s) -> None:
    """Who is one person, and the rules decided per person: SELECT-COOPERATOR (記2(4)③),
    COND-STUDY-PLAN (記2(2)④); conflicting or missing 従事形態 are input errors (INTERP-COORD-PERSON)."""
    ctx, P, a = s.ctx, s.P, s.a
    identity = ctx.setting("coordinator_identity")
    item_study = ctx.item_flag("study")
    coord = a["coord"]
    a["emp"] = P["employment"].take(-1, np.int64)
    if not coord.any():
        return
    idx = np.flatnonzero(coord)
    if identity.require_person_id:
        s.rule_error(idx[~P["person_id"].given[idx]], ("INTERP-COORD-PERSON", "missing_person"))
    g = _person_groups(P, idx, a["fy"])
    ng = int(g.max(initial=-1)) + 1
    months = P["months_served"].take(12, np.int64)[idx]
    months_given = P["months_served"].given[idx]
    g_emp = _consolidate(a["emp"][idx], g, ng)
    g_other = _consolidate(P["other_measure"].take(-1, np.int64)[idx], g, ng)
    g_months = _consolidate(np.where(months_given, months, -1), g, ng)
    conflict = (g_emp == -2) | (g_other == -2) | (g_months == -2)
    s.rule_error(idx[conflict[g]], ("INTERP-COORD-PERSON", "conflict"))
    s.rule_error(idx[(g_emp == -1)[g]], ("INTERP-COORD-PERSON", "missing_employment"))
    study = s.flags["study_coordinator"][idx] | item_study[a["item"][idx]]
    g_study = np.zeros(ng, dtype=bool)
    g_plan = np.zeros(ng, dtype=bool)
    np.logical_or.at(g_study, g, study)
    np.logical_or.at(g_plan, g, s.flags["in_strategy_plan"][idx])
    a["emp"][idx] = g_emp[g]
    other = g_other[g]
    s.mark(idx[(other >= 0) & (other != ctx.no_measure)], ("SELECT-COOPERATOR", "excluded"))
    s.mark(idx[(g_study & ~g_plan)[g]], ("COND-STUDY-PLAN", "excluded"))
    months = np.where(g_months[g] > 0, g_months[g], 12)
    s.person = PersonState(idx=idx, g=g, ng=ng, months=months, part_year=months_given & (months < 12))


def _person_groups(P, idx: np.ndarray, fy: np.ndarray) -> np.ndarray:
    """Group number of each ④ line: one person = same body (code, else name), year and person id."""
    code, n_code = P["body_code"].value_codes()
    name, _ = P["body_name"].value_codes()
    pid, n_pid = P["person_id"].value_codes()
    code, name, pid = code[idx], name[idx], pid[idx]
    body = np.where(code >= 0, code, n_code + 1 + name)
    lone = pid < 0
    pid = np.where(lone, n_pid + np.arange(len(idx)), pid)  # a line without id stands alone
    key = (body * 256 + (fy[idx] - 1900).clip(0, 255)) * (n_pid + len(idx) + 1) + pid
    return pd.factorize(key)[0].astype(np.int64)


def _consolidate(values: np.ndarray, g: np.ndarray, ng: int) -> np.ndarray:
    """Per group: the one value given (≥0), -1 when none given, -2 when they differ."""
    lo = np.full(ng, np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(ng, -1, dtype=np.int64)
    given = values >= 0
    np.minimum.at(lo, g[given], values[given])
    np.maximum.at(hi, g[given], values[given])
    return np.where(hi < 0, -1, np.where(lo == hi, hi, -2))


def _period_values(ctx):
    """Caps (円) and the coordinator rate per parameter period; proration and rounding settings."""
    caps_d = ctx.param("coord_cap_dedicated").astype(np.int64)
    caps_c = ctx.param("coord_cap_concurrent").astype(np.int64)
    rates = list(ctx.param("coordinator_rate"))
    monthly = ctx.setting("proration").mode == "monthly"
    unit = ctx.setting("rounding").unit
    return caps_d, caps_c, rates, monthly, unit


def apply_caps(s) -> None:
    """記2(3)②: per person, min(sum of eligible cost × rate, cap for 専任 or 兼務), floored to the
    rounding unit; the capped total is split back onto the person's lines (largest remainders)."""
    ctx, a = s.ctx, s.a
    caps_d, caps_c, rates, monthly, unit = _period_values(ctx)
    ps = s.person
    if ps is None:
        return
    keep = ~a["err"][ps.idx]
    idx, g, months, part_year = ps.idx[keep], ps.g[keep], ps.months[keep], ps.part_year[keep]
    if not len(idx):
        s.person = None
        return
    b = a["bucket"][idx]
    dedicated = a["emp"][idx] == ctx.dedicated
    full_cap = np.where(dedicated, caps_d[b], caps_c[b])
    cap = np.where(part_year, full_cap * months // 12, full_cap) if monthly else full_cap
    counted = a["counted"][idx]
    e = np.where(counted, a["eligible"][idx], 0)
    total, rated, person_sum = _person_totals(ps.ng, g, e, cap, b, rates, unit)
    share = _split(idx, g, e, total, ps.ng)
    a["measure"][idx[counted]] = share[counted]
    a["rate_obj"][idx] = np.array([r.normalize() for r in rates], dtype=object)[b]
    _mark_events(s, idx[counted], dedicated[counted], (rated > cap)[counted], part_year[counted], monthly,
                 (np.minimum(rated, cap) != total)[counted])
    lines = np.bincount(g, minlength=ps.ng)[g]
    ps.idx, ps.g, ps.dedicated, ps.cap, ps.full_cap = idx, g, dedicated, cap, full_cap
    ps.person_sum, ps.rated, ps.total, ps.lines = person_sum, rated, total, lines
    ps.months, ps.part_year = months, part_year
    ps.person_rate = np.array(rates, dtype=object)[b]


def _person_totals(ng, g, e, cap, b, rates, unit):
    """Per ④ line: the person's capped total T, the rated sum and the plain sum of eligible costs."""
    S = np.zeros(ng, dtype=np.int64)
    np.add.at(S, g, e)
    nums = np.array([r.as_integer_ratio()[0] for r in rates], dtype=np.int64)
    dens = np.array([r.as_integer_ratio()[1] for r in rates], dtype=np.int64)
    g_num = np.ones(ng, dtype=np.int64)
    g_den = np.ones(ng, dtype=np.int64)
    g_cap = np.zeros(ng, dtype=np.int64)
    g_num[g], g_den[g], g_cap[g] = nums[b], dens[b], cap
    if len(S) and int(S.max(initial=0)) * int(g_num.max(initial=1)) >= 2**62:  # many 1兆円 lines: exact ints
        rated = (S.astype(object) * g_num.astype(object) // g_den.astype(object)).astype(np.int64)
    else:
        rated = S * g_num // g_den
    T = np.minimum(rated, g_cap) // unit * unit
    return T[g], rated[g], S[g]


def _split(idx, g, e, Tl, ng):
    """Each line's share of its person's total: floor share, then largest remainders (ties: row order)."""
    S = np.zeros(ng, dtype=np.int64)
    np.add.at(S, g, e)
    Sl = S[g]
    safe = np.where(Sl > 0, Sl, 1)
    if len(e) and int(e.max(initial=0)) * int(Tl.max(initial=0)) >= 2**62:
        share, rem = np.divmod(e.astype(object) * Tl.astype(object), safe.astype(object))
        share, rem = share.astype(np.int64), rem.astype(np.int64)
    else:
        share, rem = np.divmod(e * Tl, safe)
    got = np.zeros(ng, dtype=np.int64)
    np.add.at(got, g, share)
    T = np.zeros(ng, dtype=np.int64)
    T[g] = Tl
    short = T - got
    order = np.lexsort((idx, -rem, g))
    gs = g[order]
    first = np.r_[0, np.flatnonzero(np.diff(gs)) + 1]
    pos = np.arange(len(gs)) - np.repeat(first, np.diff(np.r_[first, len(gs)]))
    bump = np.zeros(len(gs), dtype=np.int64)
    bump[(pos < short[gs]) & (e[order] > 0)] = 1
    share[order] += bump
    return share


def _mark_events(s, ok, dedicated, capped, part_year, monthly, rounded) -> None:
    s.mark(ok, ("COORD-COSTS", "applied"))
    s.mark(ok, ("INTERP-COORD-RATE", "applied"))
    for is_ded, name in ((True, "CAP-COORD-DEDICATED"), (False, "CAP-COORD-CONCURRENT")):
        sel = dedicated == is_ded
        s.mark(ok[sel & capped], (name, "capped"))
        s.mark(ok[sel & ~capped], (name, "within"))
    s.mark(ok[part_year], ("INTERP-PRORATION", "prorated" if monthly else "not_prorated"))
    s.mark(ok[rounded], ("INTERP-ROUNDING", "applied"))
