"""The one place where the rules are applied.

`evaluate_columns` is the core: raw columns in (any cell values), result columns out. The batch
path (`evaluate_frame`, a DataFrame) and the single-line path (`evaluate_line`, keyword values)
both call it, so they cannot disagree; the arithmetic is integer numpy throughout.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import amounts, items as items_mod
from . import rulebook as rulebook_mod
from .normalize import (BY_KEY, INPUT_COLUMNS, OUTPUT_COLUMNS, Parsers, absent, body_type_from_code, header_key,
                        is_blank, parse_column, reference_bodies)
from .rulebook import Rulebook

# Every (rule, message variant) a result can show, in the order reasons are written.
EVENTS: tuple[tuple[str, str], ...] = (
    ("SCOPE-FY", "excluded"),
    ("SCOPE-BODY", "excluded"),
    ("SCOPE-SINGLE", "excluded"),
    ("ROUTE-MIGRATION", "excluded"),
    ("SCOPE-PURPOSE", "excluded"),
    ("COND-STUDY", "excluded"),
    ("EXCL-CASH", "excluded"),
    ("EXCL-NEWBUILD", "excluded"),
    ("SELECT-COOPERATOR", "excluded"),
    ("COND-STUDY-PLAN", "excluded"),
    ("CAT-1", "applied"),
    ("CAT-2", "applied"),
    ("CAT-3", "applied"),
    ("CAT-4", "applied"),
    ("CAT-5", "applied"),
    ("CAT-1", "classified"),
    ("CAT-2", "classified"),
    ("CAT-3", "classified"),
    ("CAT-4", "classified"),
    ("CAT-5", "classified"),
    ("INCL-PREF-GRANT", "applied"),
    ("INTERP-SPECIFIC-REVENUE", "deducted"),
    ("INTERP-SPECIFIC-REVENUE", "not_deducted"),
    ("EXCL-DIGITAL-BOND", "deducted"),
    ("EXCL-DIGITAL-BOND", "deducted_all"),
    ("EXCL-REGIONAL-BOND", "deducted"),
    ("SCOPE-PURPOSE", "deducted"),
    ("EXCL-FOOD", "deducted"),
    ("EXCL-FOOD", "ignored"),
    ("INTERP-SPECIFIC-REVENUE", "exceeds"),
    ("APPORTION-MIXED", "applied"),
    ("RATE-GENERAL", "applied"),
    ("INTERP-FISCAL-CORRECTION", "applied"),
    ("INTERP-FISCAL-CORRECTION", "not_applied"),
    ("INTERP-FISCAL-CORRECTION", "index_ignored"),
    ("COORD-COSTS", "applied"),
    ("INTERP-COORD-RATE", "applied"),
    ("CAP-COORD-DEDICATED", "within"),
    ("CAP-COORD-DEDICATED", "capped"),
    ("CAP-COORD-CONCURRENT", "within"),
    ("CAP-COORD-CONCURRENT", "capped"),
    ("INTERP-PRORATION", "prorated"),
    ("INTERP-PRORATION", "not_prorated"),
    ("INTERP-ROUNDING", "applied"),
)
BIT = {e: np.int64(1) << np.int64(i) for i, e in enumerate(EVENTS)}
EXCLUSIONS = EVENTS[:10]
# Rule-level input problems: the line becomes `error`, citing the rule that needs the value.
RULE_ERRORS = (("APPORTION-MIXED", "missing"), ("INTERP-COORD-PERSON", "missing_person"),
               ("INTERP-COORD-PERSON", "missing_employment"), ("INTERP-COORD-PERSON", "conflict"),
               ("INCL-PREF-GRANT", "not_prefecture"))

_STATUSES = np.array(["eligible", "partial", "excluded", "error"], dtype=object)
STATUS_JA = {"eligible": "対象", "partial": "一部対象", "excluded": "対象外", "error": "エラー"}


@dataclass(frozen=True)
class LineResult:
    eligible_cost: int | None
    rate: Decimal | None
    measure_amount: int | None
    status: str
    reasons: str
    rule_ids: tuple[str, ...] = field(default=())


class _Context:
    """Per-rulebook lookups built once: parsers, vocab indices, message texts."""

    def __init__(self, rb: Rulebook):
        self.rb = rb
        self.parsers = Parsers(rb)
        m = rb.model
        self.body_eligible = np.array([b.eligible for b in m.body_types] + [False])
        self.body_labels = [b.label for b in m.body_types]
        self.prefecture = next(i for i, b in enumerate(m.body_types) if b.id == "prefecture")
        ids = [p.id for p in m.main_purposes]
        self.purpose = {k: ids.index(k) for k in ids}
        emp = [e.id for e in m.employments]
        self.dedicated, self.concurrent = emp.index("dedicated"), emp.index("concurrent")
        self.no_measure = [o.id for o in m.other_measures].index("none")
        items = rb.items
        self.item_cat = np.array([c.id for c, _ in items] + [0])
        self.item_flag = {f: np.array([getattr(i, f) for _, i in items] + [False])
                          for f in ("digital_bond", "facility", "study", "food_excluded")}
        self.rate_kind = {c.id: c.rate_kind for c in m.categories}
        self.reference = reference_bodies()
        self.line_exclusions = line_exclusions(rb)
        self.matcher = items_mod.ItemMatcher(rb)
        missing = [f"{rid}.messages.{v}" for rid, v in EVENTS + RULE_ERRORS
                   if rid not in rb.rule_ids or v not in rb.rule(rid).messages]
        if missing:
            raise rulebook_mod.RulebookError(f"{rb.path}/rules.yaml: the engine needs these messages: {', '.join(missing)}")
        self._messages: dict[tuple[int, int], tuple[str, str]] = {}

    def year_bucket(self, fy: np.ndarray) -> np.ndarray:
        """Index of the parameter period each year falls in."""
        years = np.array(self.rb.param_years())
        return np.maximum(np.searchsorted(years, fy, side="right") - 1, 0)

    def reason_text(self, mask: int, bucket: int) -> tuple[str, str]:
        key = (mask, bucket)
        hit = self._messages.get(key)
        if hit is None:
            year = self.rb.param_years()[bucket]
            params = {k: _fmt_param(v) for k, v in self.rb.params_for(year).items()}
            unit = self.rb.interp.rounding.unit
            params["rounding_unit_label"] = {1: "円", 10: "10円", 100: "100円", 1000: "千円"}[unit]
            parts, ids = [], []
            for i, (rid, variant) in enumerate(EVENTS):
                if mask >> i & 1:
                    text = self.rb.rule(rid).messages[variant].format(**params)
                    parts.append(f"[{rid}] {text}")
                    if rid not in ids:
                        ids.append(rid)
            hit = (" ".join(parts), " ".join(ids))
            self._messages[key] = hit
        return hit

    def rule_error(self, rid: str, variant: str) -> str:
        return f"[{rid}] {self.rb.rule(rid).messages[variant]}"


def line_exclusions(rb: Rulebook) -> list[tuple[str, Any]]:
    """The rulebook's line-level exclusions (`when:`), in the order results list them."""
    return [(rid, rb.rule(rid).when) for rid, variant in EXCLUSIONS
            if variant == "excluded" and rid in rb.rule_ids and rb.rule(rid).when is not None]


def _fmt_param(v) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


_CONTEXTS: dict[str, _Context] = {}


def context(rb: Rulebook | None = None) -> _Context:
    rb = rb or rulebook_mod.get()
    ctx = _CONTEXTS.get(rb.sha256)
    if ctx is None or ctx.rb is not rb:
        ctx = _CONTEXTS[rb.sha256] = _Context(rb)
    return ctx


def _frac_arrays(parsed, fill: Decimal):
    """Numerator/denominator int64 arrays of a Decimal column (per distinct value)."""
    num = parsed.map(lambda d: d.as_integer_ratio()[0], fill.as_integer_ratio()[0], np.int64)
    den = parsed.map(lambda d: d.as_integer_ratio()[1], fill.as_integer_ratio()[1], np.int64)
    return num, den


def evaluate_columns(columns: Mapping[str, Sequence[Any]], n: int, rb: Rulebook | None = None,
                     defaults: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Apply every rule to n lines given as {key: values}; returns the output columns."""
    ctx = context(rb)
    rb = ctx.rb
    interp = rb.interp
    errors: dict[int, list[str]] = {}
    parsed = {}
    for col in INPUT_COLUMNS:
        values = columns.get(col.key)
        default = defaults.get(col.key) if defaults else None
        if values is None and default is not None:
            values = np.full(n, default, dtype=object)
        if values is None:
            parsed[col.key] = absent(n)
        else:
            if not isinstance(values, np.ndarray):
                values = np.asarray(list(values), dtype=object)
            if default is not None and values.dtype == object:
                blank = np.array([is_blank(v) for v in values], dtype=bool)
                if blank.any():
                    values = values.copy()
                    values[blank] = default
            parsed[col.key] = parse_column(values, ctx.parsers.for_kind(col.kind), col, errors)
        if col.required and col.key != "category":
            for row in np.flatnonzero(~parsed[col.key].given):
                errors.setdefault(int(row), []).append(f"列「{col.ja}」({col.key}) が未入力です。")

    P = parsed
    rule_err = np.zeros(n, dtype=np.int64)
    rule_err_bits = {e: np.int64(1) << np.int64(i) for i, e in enumerate(RULE_ERRORS)}

    # --- who and when -------------------------------------------------------------------
    if P["body_name"].given.any():
        P["body_code"] = _codes_from_names(P["body_code"], P["body_name"], P["body_type"].given, errors)
    btype = P["body_type"].take(-1, np.int64)
    if P["body_code"].given.any():
        derived = P["body_code"].map(lambda c: ctx.body_labels.index(body_type_from_code(c, ctx.reference)), -1, np.int64)
        clash = (btype >= 0) & (derived >= 0) & (btype != derived)
        for row in np.flatnonzero(clash):
            errors.setdefault(int(row), []).append(
                f"列「団体区分」の「{ctx.body_labels[btype[row]]}」と団体コード「{P['body_code'].value_at(row)}」"
                f"（{ctx.body_labels[derived[row]]}）が食い違っています。")
        btype = np.where(btype >= 0, btype, derived)
    for row in np.flatnonzero(btype < 0):
        if not P["body_type"].given[row] and not P["body_code"].given[row]:
            errors.setdefault(int(row), []).append("列「団体区分」(body_type) または「団体コード」(body_code) を入力してください。")
    fy = P["fiscal_year"].take(0, np.int64)
    cat = P["category"].take(0, np.int64)
    item = P["item"].take(-1, np.int64)
    item_cat = ctx.item_cat[item]
    bad_item = (item >= 0) & (cat > 0) & (item_cat != cat)
    for row in np.flatnonzero(bad_item):
        errors.setdefault(int(row), []).append(
            f"列「経費項目」の「{rb.items[item[row]][1].id}」は区分{item_cat[row]}の項目で、区分{cat[row]}と合いません。")
    cat = np.where((cat == 0) & (item >= 0), item_cat, cat)
    for row in np.flatnonzero((cat == 0) & ~P["category"].given):
        errors.setdefault(int(row), []).append("列「区分」(category) が未入力です（経費項目からも判別できません）。")

    # --- amounts ------------------------------------------------------------------------
    cost = P["cost"].take(0, np.int64)
    spec = P["specific_revenue"].take(0, np.int64)
    bond = P["bond_amount"].take(0, np.int64)
    excl = P["excluded_amount"].take(0, np.int64)
    food = P["food_amount"].take(0, np.int64)
    one = Decimal(1)
    r_num, r_den = _frac_arrays(P["apportion_ratio"], one)
    ratio_given = P["apportion_ratio"].given

    purpose = P["main_purpose"].take(ctx.purpose["dual_residence"], np.int64)
    flag = {k: P[k].take(False, bool) for k in ("national_subsidy", "cash_benefit", "new_construction",
                                                 "pref_grant", "study_coordinator", "in_strategy_plan")}
    wording = _read_wording(ctx, columns, P, item, cat, flag)
    item = wording.item
    is_pref = btype == ctx.prefecture
    rule_err[flag["pref_grant"] & ~is_pref & (btype >= 0)] |= rule_err_bits[("INCL-PREF-GRANT", "not_prefecture")]
    mixed = purpose == ctx.purpose["tourism_industry"]
    if interp.apportion.require_ratio_for_mixed:
        rule_err[mixed & ~ratio_given] |= rule_err_bits[("APPORTION-MIXED", "missing")]

    # --- fiscal correction (INTERP-FISCAL-CORRECTION) -----------------------------------
    fc = interp.fiscal_correction
    lo, hi = Decimal(fc.min_coefficient), Decimal(fc.max_coefficient)
    coef_p = P["fiscal_correction"]
    if fc.table and P["fiscal_index"].given.any():
        coef_p = _coef_from_table(P["fiscal_correction"], P["fiscal_index"], fc.table)
    default_coef = Decimal(fc.default_coefficient)
    coef_values = [default_coef if v is None else v for v in coef_p.values] + [default_coef]
    bad_coef = np.array([not (lo <= v <= hi and v == v.quantize(Decimal("0.0001"))) for v in coef_values])
    for row in np.flatnonzero(bad_coef[coef_p.codes] & coef_p.given):
        errors.setdefault(int(row), []).append(
            f"列「財政力補正係数」(fiscal_correction) の値「{coef_values[coef_p.codes[row]]}」: "
            f"{lo}〜{hi}、小数4桁までで入力してください。")
    # a refused coefficient is that line's error; it must not reach the int64 rate arithmetic below
    coef_values = [default_coef if b else v for v, b in zip(coef_values, bad_coef)]

    # --- per-line exclusions --------------------------------------------------------------
    bucket = ctx.year_bucket(fy)
    events = np.zeros(n, dtype=np.int64)

    def mark(where, event):
        """Set an event on the rows of a boolean mask or of an index array."""
        if where.dtype == bool:
            np.bitwise_or(events, BIT[event], out=events, where=where)
        else:
            events[where] |= BIT[event]

    mark(fy < rb.model.valid_from, ("SCOPE-FY", "excluded"))
    mark((btype >= 0) & ~ctx.body_eligible[btype], ("SCOPE-BODY", "excluded"))
    for rid, cond in ctx.line_exclusions:
        hit = np.ones(n, dtype=bool)
        if cond.flag:
            hit &= flag[cond.flag]
        if cond.main_purpose:
            hit &= purpose == ctx.purpose[cond.main_purpose]
        if cond.categories:
            hit &= np.logical_or.reduce([cat == c for c in cond.categories])
        mark(hit, (rid, "excluded"))

    # --- category ④: one person across lines ---------------------------------------------
    coord = cat == 4
    emp = P["employment"].take(-1, np.int64)
    other = P["other_measure"].take(-1, np.int64)
    months = P["months_served"].take(12, np.int64)
    months_given = P["months_served"].given
    study = flag["study_coordinator"] | ctx.item_flag["study"][item]
    gid = np.full(n, -1, dtype=np.int64)
    if coord.any():
        missing_person = coord & ~P["person_id"].given
        if interp.coordinator_identity.require_person_id:
            rule_err[missing_person] |= rule_err_bits[("INTERP-COORD-PERSON", "missing_person")]
        idx = np.flatnonzero(coord)
        gid[idx] = _person_groups(P, idx, fy)
        ng = int(gid.max()) + 1
        g = gid[idx]
        g_emp = _consolidate(emp[idx], g, ng)
        g_other = _consolidate(other[idx], g, ng)
        g_months = _consolidate(np.where(months_given[idx], months[idx], -1), g, ng)
        conflict = (g_emp == -2) | (g_other == -2) | (g_months == -2)
        rule_err[idx[conflict[g]]] |= rule_err_bits[("INTERP-COORD-PERSON", "conflict")]
        rule_err[idx[(g_emp == -1)[g]]] |= rule_err_bits[("INTERP-COORD-PERSON", "missing_employment")]
        g_study = np.zeros(ng, dtype=bool)
        g_plan = np.zeros(ng, dtype=bool)
        np.logical_or.at(g_study, g, study[idx])
        np.logical_or.at(g_plan, g, flag["in_strategy_plan"][idx])
        emp[idx] = g_emp[g]
        other_l = g_other[g]
        mark(idx[(other_l >= 0) & (other_l != ctx.no_measure)], ("SELECT-COOPERATOR", "excluded"))
        mark(idx[(g_study & ~g_plan)[g]], ("COND-STUDY-PLAN", "excluded"))
        months[idx] = np.where(g_months[g] > 0, g_months[g], 12)

    # --- errors decide first ---------------------------------------------------------------
    err = np.zeros(n, dtype=bool)
    if errors:
        err[np.fromiter(errors.keys(), dtype=np.int64)] = True
    err |= rule_err != 0
    excluded = (events & _mask(EXCLUSIONS)) != 0

    # --- eligible cost ----------------------------------------------------------------------
    deduct_spec = interp.specific_revenue.deduct
    food_cat = coord  # 別添(2): food is excluded from ④ exchange costs
    base = cost - (spec if deduct_spec else 0) - bond - excl - np.where(food_cat, food, 0)
    counted = ~err & ~excluded
    mark(counted & (spec > 0), ("INTERP-SPECIFIC-REVENUE", "deducted" if deduct_spec else "not_deducted"))
    mark(counted & (bond > 0) & (cat == 1), ("EXCL-DIGITAL-BOND", "deducted"))
    mark(counted & (bond > 0) & (cat != 1), ("EXCL-REGIONAL-BOND", "deducted"))
    mark(counted & (excl > 0), ("SCOPE-PURPOSE", "deducted"))
    mark(counted & (food > 0) & food_cat, ("EXCL-FOOD", "deducted"))
    mark(counted & (food > 0) & ~food_cat, ("EXCL-FOOD", "ignored"))
    mark(counted & (base <= 0) & (cost > 0), ("INTERP-SPECIFIC-REVENUE", "exceeds"))
    mark(counted & (r_num != r_den), ("APPORTION-MIXED", "applied"))
    base = np.maximum(base, 0)
    eligible = np.where(counted, base * r_num // r_den, 0)
    for c in range(1, 6):
        mark(~err & (cat == c), (f"CAT-{c}", "applied"))
    mark(counted & flag["pref_grant"] & is_pref, ("INCL-PREF-GRANT", "applied"))

    # --- rate and measure ---------------------------------------------------------------------
    unit = interp.rounding.unit
    general = ~coord & (cat > 0)
    rate_obj = np.full(n, None, dtype=object)
    measure = np.zeros(n, dtype=np.int64)
    rate_num = np.zeros(n, dtype=np.int64)
    rate_den = np.ones(n, dtype=np.int64)
    # distinct (period, coefficient) pairs → exact Decimal rate
    codes, uniq = _factorize_pairs(bucket, coef_p.codes)
    years = rb.param_years()
    table_rate, table_num, table_den = [], [], []
    for b, c in uniq:
        r = rb.param("general_rate", years[b]) * coef_values[c]
        table_rate.append(r.normalize())
        nmr, dnm = r.as_integer_ratio()
        table_num.append(nmr)
        table_den.append(dnm)
    g_rate = np.array(table_rate, dtype=object)[codes]
    rate_obj[general] = g_rate[general]
    rate_num[general] = np.array(table_num, dtype=np.int64)[codes][general]
    rate_den[general] = np.array(table_den, dtype=np.int64)[codes][general]
    g_count = general & counted
    q, rem = np.divmod(eligible * rate_num, rate_den * unit)
    measure[g_count] = q[g_count] * unit
    mark(g_count & (rem != 0), ("INTERP-ROUNDING", "applied"))  # something below the unit was cut
    mark(g_count, ("RATE-GENERAL", "applied"))
    corrected = np.array([coef_values[c] != default_coef for _, c in uniq] + [False])[codes]
    mark(g_count & (corrected | (default_coef != 1)), ("INTERP-FISCAL-CORRECTION", "applied"))
    mark(g_count & ~(corrected | (default_coef != 1)), ("INTERP-FISCAL-CORRECTION", "not_applied"))
    if not fc.table:
        mark(g_count & P["fiscal_index"].given & ~P["fiscal_correction"].given,
             ("INTERP-FISCAL-CORRECTION", "index_ignored"))

    if coord.any():
        _coordinators(ctx, coord, counted, err, gid, emp, months, months_given, fy, bucket, eligible,
                      measure, rate_obj, events)

    # --- status, reasons ---------------------------------------------------------------------
    status_code = np.where(err, 3, np.where(excluded | ((cost > 0) & (measure == 0) & (eligible == 0)), 2,
                                            np.where((eligible < cost) | (coord & (measure < eligible)), 1, 0)))
    _word_excluded(events, status_code == 2)
    status = _STATUSES[status_code]
    events[err] = 0
    reasons = np.empty(n, dtype=object)
    rule_ids = np.empty(n, dtype=object)
    ok = ~err
    if ok.any():
        rcodes, runiq = _factorize_pairs(events[ok], bucket[ok])
        texts = [ctx.reason_text(int(m), int(b)) for m, b in runiq]
        reasons[ok] = np.array([t[0] for t in texts], dtype=object)[rcodes]
        rule_ids[ok] = np.array([t[1] for t in texts], dtype=object)[rcodes]
    for row in np.flatnonzero(err):
        msgs = list(errors.get(int(row), []))
        ids = ["INPUT"] if msgs else []
        for i, (rid, variant) in enumerate(RULE_ERRORS):
            if rule_err[row] >> i & 1:
                msgs.append(ctx.rule_error(rid, variant))
                if rid not in ids:
                    ids.append(rid)
        reasons[row] = ("[入力エラー] " if errors.get(int(row)) else "") + " ".join(msgs)
        rule_ids[row] = " ".join(ids)
    _append_notes(wording, err, reasons, rule_ids)
    rate_obj[err] = None
    return {"eligible_cost": eligible, "rate": rate_obj, "measure_amount": measure,
            "status": status, "reasons": reasons, "rule_ids": rule_ids, "error": err}


def _codes_from_names(code_p, name_p, type_given, errors):
    """団体コード from 団体名 where the code is blank (bodies.py); a name that disagrees with the
    code, or that two bodies share, is an error; a name not in the list needs 団体区分 or a code."""
    from . import bodies
    from .normalize import Parsed
    n = len(name_p.codes)
    values: list = []
    seen: dict = {}
    for row in range(n):
        code = code_p.value_at(row) if code_p.given[row] else None
        name = name_p.value_at(row) if name_p.given[row] else None
        key = (code, name, bool(type_given[row]), bool(code_p.given[row]))
        if key not in seen:
            seen[key] = _body_of(bodies, code, name, key[2], key[3])
        found, problem = seen[key]
        if problem:
            errors.setdefault(row, []).append(f"列「団体名」(body_name) の値「{name}」: {problem}。")
        values.append(found)
    given = np.array([v is not None for v in values], dtype=bool) | code_p.given
    return Parsed(codes=np.arange(n), values=values, given=given)


def _body_of(bodies, code, name, type_given: bool, code_given: bool):
    if name is None or code_given:
        if code is not None and name is not None and not bodies.name_matches(code, name):
            return code, f"団体コード「{code}」（{bodies.full_name(code)}）と食い違っています"
        return code, None
    found, problem = bodies.code_for_name(name)
    if found is None and type_given and "複数" not in problem:
        return None, None  # an informal name with its 団体区分: nothing depends on the code
    return found, problem


def _read_wording(ctx, columns, P, item, cat, flag):
    """Open 経費項目 and 予算の節 (items.py): example per line, notes, 新築 written in the wording."""
    if "item" not in columns and "budget_section" not in columns:
        return items_mod.Reading(item, {}, {}, None)
    given = {k: (P[k].given, flag[k]) for k in ("cash_benefit", "new_construction")}
    wording = items_mod.resolve(ctx.rb, ctx.matcher, columns.get("item"), item, cat, columns.get("budget_section"), given)
    flag["new_construction"] |= wording.new_construction & ~P["new_construction"].given
    return wording


def _append_notes(wording, err, reasons, rule_ids) -> None:
    """Info notes and 節 warnings after the reasons of lines that are not errors (status unchanged)."""
    for row, extra in wording.notes.items():
        if err[row]:
            continue
        reasons[row] = f"{reasons[row]} {' '.join(extra)}".strip()
        added = [i for i in wording.note_ids.get(row, []) if i not in rule_ids[row].split()]
        if added:
            rule_ids[row] = " ".join([rule_ids[row], *added]).strip()


# An excluded line's reason never says it was computed (「算定しました」): its category is named, not applied.
_EXCLUDED_SWAPS = tuple((BIT[(f"CAT-{c}", "applied")], BIT[(f"CAT-{c}", "classified")]) for c in range(1, 6)) + (
    (BIT[("EXCL-DIGITAL-BOND", "deducted")], BIT[("EXCL-DIGITAL-BOND", "deducted_all")]),)
_COMPUTING = BIT[("COORD-COSTS", "applied")] | BIT[("INTERP-COORD-RATE", "applied")]


def _word_excluded(events: np.ndarray, excluded: np.ndarray) -> None:
    if not excluded.any():
        return
    for old, new in _EXCLUDED_SWAPS:
        hit = excluded & ((events & old) != 0)
        events[hit] = (events[hit] & ~old) | new
    events[excluded] &= ~_COMPUTING


def _mask(events) -> np.int64:
    m = np.int64(0)
    for e in events:
        m |= BIT[e]
    return m


def _factorize_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Codes of distinct (a, b) pairs of non-negative ints (b small), and the pairs."""
    if len(a) <= 64:
        return _small_factorize([(int(x), int(y)) for x, y in zip(a, b)])
    m = int(b.max(initial=0)) + 1
    codes, uniq = pd.factorize(a.astype(np.int64) * m + b)
    return codes, [(int(u) // m, int(u) % m) for u in uniq]


def _small_factorize(keys: list) -> tuple[np.ndarray, list]:
    seen: dict = {}
    codes = np.array([seen.setdefault(k, len(seen)) for k in keys], dtype=np.int64)
    return codes, list(seen)


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
    big = np.iinfo(np.int64).max
    lo = np.full(ng, big, dtype=np.int64)
    hi = np.full(ng, -1, dtype=np.int64)
    given = values >= 0
    np.minimum.at(lo, g[given], values[given])
    np.maximum.at(hi, g[given], values[given])
    return np.where(hi < 0, -1, np.where(lo == hi, hi, -2))


def _coef_from_table(coef_parsed, index_parsed, table):
    """Coefficient per line: typed coefficient first, else the band its 財政力指数 falls in."""
    from .normalize import Parsed
    bands = [(Decimal(b.below), Decimal(b.coefficient)) for b in table]

    def lookup(idx: Decimal):
        for below, c in bands:
            if idx < below:
                return c
        return None

    n = len(coef_parsed.codes)
    values = [coef_parsed.values[coef_parsed.codes[i]] if coef_parsed.given[i]
              else (lookup(index_parsed.values[index_parsed.codes[i]]) if index_parsed.given[i] else None)
              for i in range(n)]
    given = np.array([v is not None for v in values], dtype=bool)
    return Parsed(codes=np.arange(n), values=values, given=given)


def _coordinators(ctx, coord, counted, err, gid, emp, months, months_given, fy, bucket, eligible,
                  measure, rate_obj, events):
    """④: per person, min(sum of eligible × rate, cap); the capped total split back onto lines."""
    rb = ctx.rb
    unit = rb.interp.rounding.unit
    monthly = rb.interp.proration.mode == "monthly"
    years = rb.param_years()
    idx = np.flatnonzero(coord & ~err)
    if not len(idx):
        return
    g = gid[idx]
    ng = int(gid.max()) + 1
    caps_d = np.array([rb.param("coord_cap_dedicated", y) for y in years], dtype=np.int64)
    caps_c = np.array([rb.param("coord_cap_concurrent", y) for y in years], dtype=np.int64)
    rates = [rb.param("coordinator_rate", y) for y in years]
    r_num = np.array([r.as_integer_ratio()[0] for r in rates], dtype=np.int64)
    r_den = np.array([r.as_integer_ratio()[1] for r in rates], dtype=np.int64)
    b = bucket[idx]
    dedicated = emp[idx] == ctx.dedicated
    cap = np.where(dedicated, caps_d[b], caps_c[b])
    part_year = months_given[idx] & (months[idx] < 12)
    if monthly:
        cap = np.where(part_year, cap * months[idx] // 12, cap)
    e = np.where(counted[idx], eligible[idx], 0)
    # per-person sums; every line of a person shares period, employment and months
    S = np.zeros(ng, dtype=np.int64)
    np.add.at(S, g, e)
    g_cap = np.zeros(ng, dtype=np.int64)
    g_num = np.ones(ng, dtype=np.int64)
    g_den = np.ones(ng, dtype=np.int64)
    g_cap[g] = cap
    g_num[g] = r_num[b]
    g_den[g] = r_den[b]
    rated = S * g_num // g_den
    T = np.minimum(rated, g_cap) // unit * unit
    capped_g = rated > g_cap
    # split T over the person's lines: floor share, then largest remainders (ties: row order)
    Sl, Tl = S[g], T[g]
    safe = np.where(Sl > 0, Sl, 1)
    if len(e) and int(e.max(initial=0)) * int(T.max(initial=0)) >= 2**62:
        share, rem = np.divmod(e.astype(object) * Tl.astype(object), safe.astype(object))
        share, rem = share.astype(np.int64), rem.astype(np.int64)
    else:
        share, rem = np.divmod(e * Tl, safe)
    got = np.zeros(ng, dtype=np.int64)
    np.add.at(got, g, share)
    short = T - got
    order = np.lexsort((idx, -rem, g))
    gs = g[order]
    first = np.r_[0, np.flatnonzero(np.diff(gs)) + 1]
    pos = np.arange(len(gs)) - np.repeat(first, np.diff(np.r_[first, len(gs)]))
    bump = np.zeros(len(gs), dtype=np.int64)
    bump[(pos < short[gs]) & (e[order] > 0)] = 1
    share[order] += bump
    line_counted = counted[idx]
    measure[idx[line_counted]] = share[line_counted]
    rate_obj[idx] = np.array([r.normalize() for r in rates], dtype=object)[b]
    ok = idx[line_counted]
    capped_l = capped_g[g][line_counted]
    ded_l = dedicated[line_counted]
    events[ok] |= BIT[("COORD-COSTS", "applied")] | BIT[("INTERP-COORD-RATE", "applied")]
    for is_ded, name in ((True, "CAP-COORD-DEDICATED"), (False, "CAP-COORD-CONCURRENT")):
        sel = ded_l == is_ded
        events[ok[sel & capped_l]] |= BIT[(name, "capped")]
        events[ok[sel & ~capped_l]] |= BIT[(name, "within")]
    pl = part_year[line_counted]
    events[ok[pl]] |= BIT[("INTERP-PRORATION", "prorated" if monthly else "not_prorated")]
    rounded = (np.minimum(rated, g_cap) != T)[g][line_counted]
    events[ok[rounded]] |= BIT[("INTERP-ROUNDING", "applied")]


# ---- faces of the core ---------------------------------------------------------------------

def frame_columns(df: pd.DataFrame, unit: int | None = None) -> dict[str, np.ndarray]:
    """A DataFrame's input columns by key (headers may be keys or Japanese aliases).

    Amount columns are read in the unit their header names (「事業費（千円）」), else in `unit`
    (yen per unit of a 「（単位：千円）」 line above the table), else in yen.
    """
    cols: dict[str, np.ndarray] = {}
    for name in df.columns:
        key = header_key(name)
        if key not in BY_KEY:
            continue
        s = df[name]
        arr = s.to_numpy() if s.dtype.kind in "iub" else s.to_numpy(dtype=object)  # missing stays NaN/NA
        if BY_KEY[key].kind == "yen":
            arr = amounts.scale_column(arr, str(name), unit)
        if key in cols:  # two headers for one column (e.g. 起債対象経費 and 地方債充当額): first filled wins
            first = cols[key].astype(object)
            blank = np.array([is_blank(v) for v in first], dtype=bool)
            first[blank] = arr[blank]
            arr = first
        cols[key] = arr
    return cols


def evaluate_frame(df: pd.DataFrame, rb: Rulebook | None = None,
                   defaults: Mapping[str, Any] | None = None, unit: int | None = None) -> pd.DataFrame:
    """Batch path: the input frame with the result columns (English keys) appended.

    `unit`: yen per unit of amount columns whose header names none (a 「単位：千円」 title line)."""
    cols = frame_columns(df, unit)
    out = evaluate_columns(cols, len(df), rb, defaults)
    result = df.copy()
    output_names = {k for k, _ in OUTPUT_COLUMNS}
    for name in list(result.columns):
        if header_key(name) in output_names:
            result = result.drop(columns=name)  # stale results in the input are replaced
    for key, _ in OUTPUT_COLUMNS:
        values = out[key]
        if key in ("eligible_cost", "measure_amount"):
            values = pd.arrays.IntegerArray(values, out["error"].copy())  # error lines: blank, not 0
        result[key] = values
    return result


def evaluate_records(records: Sequence[Mapping[str, Any]], rb: Rulebook | None = None,
                     defaults: Mapping[str, Any] | None = None) -> list[LineResult]:
    n = len(records)
    keys: dict[str, np.ndarray] = {}
    for rec in records:
        for k in rec:
            key = header_key(k)
            if key in BY_KEY and key not in keys:
                keys[key] = np.empty(n, dtype=object)
    for i, rec in enumerate(records):
        for k, v in rec.items():
            key = header_key(k)
            if key in keys:
                if BY_KEY[key].kind == "yen":  # 「事業費（千円）」 as a field name: read as a header is
                    v = amounts.scale_cell(v, str(k))
                keys[key][i] = v
    out = evaluate_columns(keys, n, rb, defaults)
    err = out["error"]
    return [LineResult(None if err[i] else int(out["eligible_cost"][i]), out["rate"][i],
                       None if err[i] else int(out["measure_amount"][i]), out["status"][i],
                       out["reasons"][i], tuple(out["rule_ids"][i].split())) for i in range(n)]


def evaluate_line(rb: Rulebook | None = None, defaults: Mapping[str, Any] | None = None,
                  **fields: Any) -> LineResult:
    """Single-line path (UDFs): one line's fields by key, Japanese names accepted."""
    return evaluate_records([fields], rb, defaults)[0]
