"""④ コーディネーター: one person across lines — 記2(3)② (per-person caps), 別添(2) (all costs inside
the one cap), 記2(4)③ (one measure per person), 記2(2)④ (地域留学 coordinators in the plan).

A person is the same body (code, else name), fiscal year and `person_id`. The stages call
`group_persons` (who is who, person-level exclusions and input conflicts) and `apply_caps`
(sum, cap, split back onto the person's lines so they add up); both work on one `PersonState`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    COND-STUDY-PLAN (記2(2)④); conflicting or missing 従事形態 are input errors (INTERP-COORD-PERSON).
    Runs on `s.xp` (engine_xp): for one line, the person is that line."""
    ctx, P, a, xp = s.ctx, s.P, s.a, s.xp
    sub, subset = xp.sub, xp.subset
    identity = ctx.setting("coordinator_identity")
    item_study = ctx.item_flag("study")
    coord = a["coord"]
    a["emp"] = P["employment"].take(-1, np.int64)
    if not xp.any(coord):
        return
    idx = xp.rows(coord)
    if identity.require_person_id:
        s.rule_error(subset(idx, xp.not_(sub(P["person_id"].given, idx))), ("INTERP-COORD-PERSON", "missing_person"))
    g = _person_groups(xp, P, idx, a["fy"])
    ng = xp.count_groups(g)
    months = sub(P["months_served"].take(12, np.int64), idx)
    months_given = sub(P["months_served"].given, idx)
    g_emp = _consolidate(xp, sub(a["emp"], idx), g, ng)
    g_other = _consolidate(xp, sub(P["other_measure"].take(-1, np.int64), idx), g, ng)
    g_months = _consolidate(xp, xp.where(months_given, months, -1), g, ng)
    conflict = (g_emp == -2) | (g_other == -2) | (g_months == -2)
    s.rule_error(subset(idx, sub(conflict, g)), ("INTERP-COORD-PERSON", "conflict"))
    s.rule_error(subset(idx, sub(g_emp == -1, g)), ("INTERP-COORD-PERSON", "missing_employment"))
    study = sub(s.flags["study_coordinator"], idx) | xp.lookup(item_study, sub(a["item"], idx))
    g_study = xp.group_any(g, study, ng)
    g_plan = xp.group_any(g, sub(s.flags["in_strategy_plan"], idx), ng)
    a["emp"] = xp.fill(a["emp"], idx, sub(g_emp, g))
    other = sub(g_other, g)
    s.mark(subset(idx, (other >= 0) & (other != ctx.no_measure)), ("SELECT-COOPERATOR", "excluded"))
    s.mark(subset(idx, sub(g_study & xp.not_(g_plan), g)), ("COND-STUDY-PLAN", "excluded"))
    person_months = sub(g_months, g)
    months = xp.where(person_months > 0, person_months, 12)
    s.person = PersonState(idx=idx, g=g, ng=ng, months=months, part_year=months_given & (months < 12))


def _person_groups(xp, P, idx: np.ndarray, fy: np.ndarray) -> np.ndarray:
    """Group number of each ④ line: one person = same body (code, else name), year and person id."""
    code, n_code = P["body_code"].value_codes()
    name, _ = P["body_name"].value_codes()
    pid, n_pid = P["person_id"].value_codes()
    code, name, pid = xp.sub(code, idx), xp.sub(name, idx), xp.sub(pid, idx)
    body = xp.where(code >= 0, code, n_code + 1 + name)
    lone = pid < 0
    size = xp.size(idx)
    pid = xp.where(lone, n_pid + xp.arange(size), pid)  # a line without id stands alone
    key = (body * 256 + xp.clip(xp.sub(fy, idx) - 1900, 0, 255)) * (n_pid + size + 1) + pid
    return xp.factorize(key)


def _consolidate(xp, values: np.ndarray, g: np.ndarray, ng: int) -> np.ndarray:
    """Per group: the one value given (≥0), -1 when none given, -2 when they differ."""
    top = np.iinfo(np.int64).max
    given = values >= 0
    lo = xp.group_min(g, xp.where(given, values, top), ng, top)
    hi = xp.group_max(g, xp.where(given, values, -1), ng, -1)
    return xp.where(hi < 0, -1, xp.where(lo == hi, hi, -2))


def _period_values(ctx):
    """Caps (円) and the coordinator rate per parameter period; proration and rounding settings."""
    caps_d = ctx.param("coord_cap_dedicated", np.int64)
    caps_c = ctx.param("coord_cap_concurrent", np.int64)
    rates = list(ctx.param("coordinator_rate"))
    monthly = ctx.setting("proration").mode == "monthly"
    unit = ctx.setting("rounding").unit
    return caps_d, caps_c, rates, monthly, unit


def apply_caps(s) -> None:
    """記2(3)②: per person, min(sum of eligible cost × rate, cap for 専任 or 兼務), floored to the
    rounding unit; the capped total is split back onto the person's lines (largest remainders)."""
    ctx, a, xp = s.ctx, s.a, s.xp
    sub = xp.sub
    caps_d, caps_c, rates, monthly, unit = _period_values(ctx)  # read even without ④ lines: rules check
    ps = s.person
    if ps is None:
        return
    keep = xp.not_(sub(a["err"], ps.idx))
    if not xp.any(keep):
        s.person = None
        return
    idx, g, months, part_year = xp.subset(ps.idx, keep), sub(ps.g, keep), sub(ps.months, keep), sub(ps.part_year, keep)
    b = sub(a["bucket"], idx)
    dedicated = sub(a["emp"], idx) == ctx.dedicated
    full_cap = xp.where(dedicated, xp.lookup(caps_d, b), xp.lookup(caps_c, b))
    cap = xp.where(part_year, full_cap * months // 12, full_cap) if monthly else full_cap
    counted = sub(a["counted"], idx)
    e = xp.where(counted, sub(a["eligible"], idx), 0)
    total, rated, person_sum = _person_totals(xp, ps.ng, g, e, cap, b, rates, unit)
    share = _split(xp, idx, g, e, total, ps.ng)
    a["measure"] = xp.fill(a["measure"], xp.subset(idx, counted), sub(share, counted))
    a["rate_obj"] = xp.fill(a["rate_obj"], idx, xp.lookup([r.normalize() for r in rates], b, object))
    _mark_events(s, xp.subset(idx, counted), sub(dedicated, counted), sub(rated > cap, counted),
                 sub(part_year, counted), monthly, sub(xp.minimum(rated, cap) != total, counted))
    lines = sub(xp.group_count(g, ps.ng), g)
    ps.idx, ps.g, ps.dedicated, ps.cap, ps.full_cap = idx, g, dedicated, cap, full_cap
    ps.person_sum, ps.rated, ps.total, ps.lines = person_sum, rated, total, lines
    ps.months, ps.part_year = months, part_year
    ps.person_rate = xp.lookup(rates, b, object)


def _person_totals(xp, ng, g, e, cap, b, rates, unit):
    """Per ④ line: the person's capped total T, the rated sum and the plain sum of eligible costs."""
    S = xp.group_sum(g, e, ng)
    nums = [r.as_integer_ratio()[0] for r in rates]
    dens = [r.as_integer_ratio()[1] for r in rates]
    g_num = xp.scatter(g, xp.lookup(nums, b, np.int64), ng, 1)
    g_den = xp.scatter(g, xp.lookup(dens, b, np.int64), ng, 1)
    g_cap = xp.scatter(g, cap, ng, 0)
    rated = xp.muldiv(S, g_num, g_den)
    T = xp.minimum(rated, g_cap) // unit * unit
    return xp.sub(T, g), xp.sub(rated, g), xp.sub(S, g)


def _split(xp, idx, g, e, Tl, ng):
    """Each line's share of its person's total: floor share, then largest remainders (ties: row order)."""
    Sl = xp.sub(xp.group_sum(g, e, ng), g)
    share, rem = xp.divmod_exact(e, Tl, xp.where(Sl > 0, Sl, 1))
    short = xp.scatter(g, Tl, ng, 0) - xp.group_sum(g, share, ng)
    pos = xp.rank_in_group(g, -rem, idx)  # largest remainder first, ties in row order
    return share + xp.where((pos < xp.sub(short, g)) & (e > 0), 1, 0)


def _mark_events(s, ok, dedicated, capped, part_year, monthly, rounded) -> None:
    subset, not_ = s.xp.subset, s.xp.not_
    s.mark(ok, ("COORD-COSTS", "applied"))
    s.mark(ok, ("INTERP-COORD-RATE", "applied"))
    for is_ded, name in ((True, "CAP-COORD-DEDICATED"), (False, "CAP-COORD-CONCURRENT")):
        sel = dedicated == is_ded
        s.mark(subset(ok, sel & capped), (name, "capped"))
        s.mark(subset(ok, sel & not_(capped)), (name, "within"))
    s.mark(subset(ok, part_year), ("INTERP-PRORATION", "prorated" if monthly else "not_prorated"))
    s.mark(subset(ok, rounded), ("INTERP-ROUNDING", "applied"))
