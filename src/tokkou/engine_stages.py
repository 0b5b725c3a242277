"""The engine's stages, in the order of the notice. Each takes and fills one `LineState`.

inputs → who and when → amounts → fiscal correction → exclusions → eligible cost →
rate and measure (④ in `coordinators`) → status and reasons. One vectorised pass over all
lines: every stage works on whole columns through `s.xp` (engine_xp): numpy arrays for a batch,
plain Python scalars for one line (UDFs) — the same rule code either way. With `ONE`, `~` on a
Python bool is not negation: masks are negated with `xp.not_`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping, Sequence

import numpy as np

from . import coordinators, engine_wording as wording, render
from .engine_context import KIND_COORDINATOR, KIND_GENERAL, RULE_ERRORS, Context
from .engine_xp import BATCH
from .normalize import Parsed, body_type_from_code

_RULE_ERR_BIT = {e: np.int64(1) << np.int64(i) for i, e in enumerate(RULE_ERRORS)}
_STATUSES = np.array(["eligible", "partial", "excluded", "error"], dtype=object)


@dataclass
class LineState:
    """Everything the stages know about n lines: parsed inputs, events, amounts, results."""

    ctx: Context
    n: int
    P: dict[str, Parsed] = field(default_factory=dict)
    errors: dict[int, list[tuple[str | None, str]]] = field(default_factory=dict)
    a: dict[str, np.ndarray] = field(default_factory=dict)  # named integer/bool columns
    rule_err: np.ndarray | None = None
    events: np.ndarray | None = None
    flags: dict[str, np.ndarray] = field(default_factory=dict)  # yes/no columns by key
    coef_p: Parsed | None = None           # 財政力補正係数 per line (codes into coef_values)
    coef_values: list = field(default_factory=list)
    default_coef: Decimal = Decimal(1)
    table_used: bool = False
    coef_table: list = field(default_factory=list)  # coefficient per rate code (a["coef_code"])
    person: Any = None  # coordinators.PersonState when there are ④ lines
    columns: Mapping[str, Any] = field(default_factory=dict)  # the raw input columns by key
    wording: Any = None  # items.Reading: 経費項目 read as examples, 節 notes
    xp: Any = BATCH      # engine_xp.BATCH (numpy columns) or ONE (one line, Python scalars)

    def error(self, row: int, key: str | None, text: str) -> None:
        self.errors.setdefault(int(row), []).append((key, text))

    def mark(self, where: np.ndarray, event: tuple[str, str]) -> None:
        """Set an event on the rows of a boolean mask or of an index array (ONE: a bool)."""
        if self.xp.one:
            if where:
                self.events |= self.ctx.bit_int[event]
            return
        bit = self.ctx.bit[event]
        if where.dtype == bool:
            np.bitwise_or(self.events, bit, out=self.events, where=where)
        else:
            self.events[where] |= bit

    def rule_error(self, where: np.ndarray, event: tuple[str, str]) -> None:
        if self.xp.one:
            if where:
                self.rule_err |= int(_RULE_ERR_BIT[event])
        else:
            self.rule_err[where] |= _RULE_ERR_BIT[event]


def read_inputs(s: LineState, columns: Mapping[str, Sequence[Any]], defaults: Mapping[str, Any] | None) -> None:
    """Inputs (SPEC §4.1): every column parsed once per distinct value; blanks take their default."""
    n, xp, P = s.n, s.xp, s.P
    s.columns = columns
    for col, parser, required in s.ctx.inputs:  # INPUT_COLUMNS
        key = col.key
        values = columns.get(key)
        default = defaults.get(key) if defaults else None
        if values is None and default is not None:
            values = xp.full(n, default, object)
        if values is None:
            P[key] = xp.absent(n)
        else:
            values = xp.with_default(values, default)
            found: dict[int, list[str]] = {}
            P[key] = xp.parse_column(values, parser, col, found)
            for row, msgs in found.items():
                for msg in msgs:
                    s.error(row, key, msg)
        if required:
            for row in xp.each(xp.not_(P[key].given)):
                s.error(row, key, f"列「{col.ja}」({key}) が未入力です。")
    s.rule_err = xp.full(n, 0, np.int64)
    s.events = xp.full(n, 0, np.int64)


def who_and_when(s: LineState) -> None:
    """Who and when — 記2(1) 対象団体 (body type, or derived from 団体コード), 記2 なお書き (年度),
    記2(2) 区分 (typed, or from the 経費項目 of 別添)."""
    ctx, P, a, xp, at = s.ctx, s.P, s.a, s.xp, s.xp.at
    if xp.any(P["body_name"].given):
        P["body_code"] = wording.codes_from_names(P["body_code"], P["body_name"], P["body_type"].given, s.error)
    btype = P["body_type"].take(-1, np.int64)
    if xp.any(P["body_code"].given):
        derived = P["body_code"].map(lambda c: ctx.body_labels.index(body_type_from_code(c, ctx.reference)), -1, np.int64)
        clash = (btype >= 0) & (derived >= 0) & (btype != derived)
        for row in xp.each(clash):
            s.error(row, "body_type", f"列「団体区分」の「{ctx.body_labels[at(btype, row)]}」と団体コード"
                    f"「{P['body_code'].value_at(row)}」（{ctx.body_labels[at(derived, row)]}）が食い違っています。")
        btype = xp.where(btype >= 0, btype, derived)
    for row in xp.each(btype < 0):
        if not at(P["body_type"].given, row) and not at(P["body_code"].given, row):
            s.error(row, "body_type", "列「団体区分」(body_type) または「団体コード」(body_code) を入力してください。")
    cat = P["category"].take(0, np.int64)
    item = P["item"].take(-1, np.int64)
    item_cat = xp.lookup(ctx.item_category(), item)
    for row in xp.each((item >= 0) & (cat > 0) & (item_cat != cat)):
        s.error(row, "item", f"列「経費項目」の「{ctx.rb.items[at(item, row)][1].id}」は区分{at(item_cat, row)}の項目で、"
                f"区分{at(cat, row)}と合いません。")
    cat = xp.where((cat == 0) & (item >= 0), item_cat, cat)
    for row in xp.each((cat == 0) & xp.not_(P["category"].given)):
        s.error(row, "category", "列「区分」(category) が未入力です（経費項目からも判別できません）。")
    a["btype"], a["cat"], a["item"] = btype, cat, item
    a["fy"] = P["fiscal_year"].take(0, np.int64)
    a["bucket"] = ctx.year_bucket(a["fy"], xp)
    a["kind"] = xp.lookup(ctx.category_kind(), cat)
    a["coord"] = a["kind"] == KIND_COORDINATOR


def amounts(s: LineState) -> None:
    """Amounts and yes/no columns — 記2(3) (都道府県の市町村への補助金), 記2(4)① (按分率が必要な複合事業)."""
    ctx, P, a = s.ctx, s.P, s.a
    for k in ("cost", "specific_revenue", "bond_amount", "excluded_amount", "food_amount"):
        a[k] = P[k].take(0, np.int64)
    ratio = P["apportion_ratio"]
    a["r_num"] = ratio.map(lambda d: d.as_integer_ratio()[0], 1, np.int64)
    a["r_den"] = ratio.map(lambda d: d.as_integer_ratio()[1], 1, np.int64)
    a["purpose"] = P["main_purpose"].take(ctx.purpose["dual_residence"], np.int64)
    s.flags = {k: P[k].take(False, bool) for k in ctx.flag_columns if k in P}
    s.wording = wording.read_wording(ctx, s.columns, P, a["item"], a["cat"], s.flags)
    a["item"] = s.wording.item
    a["is_pref"] = a["btype"] == ctx.prefecture
    not_ = s.xp.not_
    s.rule_error(s.flags["pref_grant"] & not_(a["is_pref"]) & (a["btype"] >= 0), ("INCL-PREF-GRANT", "not_prefecture"))
    apportion = ctx.setting("apportion")
    if apportion.require_ratio_for_mixed:
        mixed = a["purpose"] == ctx.purpose["tourism_industry"]
        s.rule_error(mixed & not_(ratio.given), ("APPORTION-MIXED", "missing"))


def fiscal_correction(s: LineState) -> None:
    """財政力補正 — 記2(3)① 「財政力に応じ、補正を講じる」 (INTERP-FISCAL-CORRECTION): the typed
    coefficient, else the rulebook's band for the 財政力指数, else the default."""
    fc, xp = s.ctx.setting("fiscal_correction"), s.xp
    lo, hi = Decimal(fc.min_coefficient), Decimal(fc.max_coefficient)
    coef_p = s.P["fiscal_correction"]
    if fc.table and xp.any(s.P["fiscal_index"].given):
        coef_p = _coef_from_table(xp, s.n, coef_p, s.P["fiscal_index"], fc.table)
    default = Decimal(fc.default_coefficient)
    values = [default if v is None else v for v in coef_p.values] + [default]
    bad = [not _coefficient_ok(v, lo, hi) for v in values]
    for row in xp.each(xp.lookup(bad, coef_p.codes) & coef_p.given):
        s.error(row, "fiscal_correction", f"列「財政力補正係数」(fiscal_correction) の値「{values[xp.at(coef_p.codes, row)]}」: "
                f"{lo}〜{hi}、小数4桁までで入力してください。")
    values = [default if b else v for v, b in zip(values, bad)]  # an error line; keeps rates inside int64
    s.coef_p, s.coef_values, s.default_coef = coef_p, values, default
    s.table_used = bool(fc.table)


def _coefficient_ok(v: Decimal, lo: Decimal, hi: Decimal) -> bool:
    # compare the exponent before quantize: quantize of 1E+999999 would raise, not answer
    return lo <= v <= hi and v.as_tuple().exponent >= -4


def _coef_from_table(xp, n: int, coef_parsed: Parsed, index_parsed: Parsed, table) -> Parsed:
    """Coefficient per line: typed coefficient first, else the band its 財政力指数 falls in."""
    bands = [(Decimal(b.below), Decimal(b.coefficient)) for b in table]
    at = xp.at

    def lookup(idx: Decimal):
        return next((c for below, c in bands if idx < below), None)

    values = [coef_parsed.values[at(coef_parsed.codes, i)] if at(coef_parsed.given, i)
              else (lookup(index_parsed.values[at(index_parsed.codes, i)]) if at(index_parsed.given, i) else None)
              for i in range(n)]
    return xp.parsed(values)


def exclusions(s: LineState) -> None:
    """Exclusions — 記2 なお書き (SCOPE-FY), 記2(1) (SCOPE-BODY), then every rule with `when:` in
    rulebook order (記2(2), 記2(4)①②, 記2(2)③⑤ …), then the ④ person rules (記2(4)③, 記2(2)④)."""
    ctx, a, xp = s.ctx, s.a, s.xp
    s.mark(a["fy"] < ctx.rb.model.valid_from, ("SCOPE-FY", "excluded"))
    s.mark((a["btype"] >= 0) & xp.not_(xp.lookup(ctx.body_eligible, a["btype"])), ("SCOPE-BODY", "excluded"))
    for rid, cond in ctx.when_rules:
        hit = xp.full(s.n, True, bool)
        if cond.flag:  # a flag outside the registry is refused by rules check; here it never holds
            hit &= s.flags.get(cond.flag, False)
        if cond.main_purpose:
            hit &= a["purpose"] == ctx.purpose[cond.main_purpose]
        if cond.categories:
            hit &= xp.isin(a["cat"], cond.categories)
        s.mark(hit, (rid, "excluded"))
    coordinators.group_persons(s)
    a["err"] = xp.mask_of_rows(s.n, s.errors) | (s.rule_err != 0)
    a["excluded"] = (s.events & ctx.exclusion_mask) != 0
    a["counted"] = xp.not_(a["err"]) & xp.not_(a["excluded"])


def eligible_cost(s: LineState) -> None:
    """対象経費 — cost less 特定財源 (INTERP-SPECIFIC-REVENUE), the bonds' 対象経費 (記2(4)④⑤),
    対象外経費 (記2(4)①), 飲食費 where the category excludes it (別添(2)), times 按分率 (記2(4)①)."""
    ctx, a, xp = s.ctx, s.a, s.xp
    deduct = ctx.setting("specific_revenue").deduct
    food_cat = xp.lookup(ctx.category_flag("food_excluded"), a["cat"]) | xp.lookup(ctx.item_flag("food_excluded"), a["item"])
    digital = _digital_bond(ctx, a["cat"], a["item"])
    cost, spec, bond, excl, food = (a[k] for k in ("cost", "specific_revenue", "bond_amount", "excluded_amount",
                                                   "food_amount"))
    a["food_cat"] = food_cat
    base = cost - (spec if deduct else 0) - bond - excl - xp.where(food_cat, food, 0)
    counted = a["counted"]
    s.mark(counted & (spec > 0), ("INTERP-SPECIFIC-REVENUE", "deducted" if deduct else "not_deducted"))
    s.mark(counted & (bond > 0) & digital, ("EXCL-DIGITAL-BOND", "deducted"))
    s.mark(counted & (bond > 0) & xp.not_(digital), ("EXCL-REGIONAL-BOND", "deducted"))
    s.mark(counted & (excl > 0), ("SCOPE-PURPOSE", "deducted"))
    s.mark(counted & (food > 0) & food_cat, ("EXCL-FOOD", "deducted"))
    s.mark(counted & (food > 0) & xp.not_(food_cat), ("EXCL-FOOD", "ignored"))
    s.mark(counted & (base <= 0) & (cost > 0), ("INTERP-SPECIFIC-REVENUE", "exceeds"))
    s.mark(counted & (a["r_num"] != a["r_den"]), ("APPORTION-MIXED", "applied"))
    a["base"] = xp.maximum(base, 0)
    a["eligible"] = xp.where(counted, a["base"] * a["r_num"] // a["r_den"], 0)
    for c in range(1, 6):
        s.mark(xp.not_(a["err"]) & (a["cat"] == c), (f"CAT-{c}", "applied"))
    s.mark(counted & s.flags["pref_grant"] & a["is_pref"], ("INCL-PREF-GRANT", "applied"))


def _digital_bond(ctx: Context, cat: np.ndarray, item: np.ndarray) -> np.ndarray:
    """Which bond a line's 起債対象経費 is: デジタル活用推進事業債 for a registration system (item flag
    `digital_bond`), 地域活性化事業債 for facility work (`facility`); without either, the category's kind."""
    item_digital, item_facility = ctx.item_flag("digital_bond")[item], ctx.item_flag("facility")[item]
    by_category = ctx.category_flag("digital_bond")[cat]
    return item_digital | (~item_facility & by_category)


def rate_and_measure(s: LineState) -> None:
    """措置率と措置額 — 記2(3)①: ①②③⑤ 0.5 × 財政力補正係数, floored to the rounding unit
    (INTERP-ROUNDING); ④ per person under the cap of 記2(3)② (`coordinators.apply_caps`)."""
    ctx, a, xp = s.ctx, s.a, s.xp
    unit = ctx.setting("rounding").unit
    rates = ctx.param("general_rate")
    general = a["kind"] == KIND_GENERAL
    n = s.n
    a["rate_obj"] = xp.full(n, None, object)
    a["measure"] = xp.full(n, 0, np.int64)
    codes, uniq = xp.factorize_pairs(a["bucket"], s.coef_p.codes)
    table = [rates[b] * s.coef_values[c] for b, c in uniq]
    ratios = [r.as_integer_ratio() for r in table]
    rate_num = xp.lookup([p for p, _ in ratios], codes, np.int64)
    rate_den = xp.lookup([q for _, q in ratios], codes, np.int64)
    a["rate_obj"] = xp.fill(a["rate_obj"], general, xp.sub(xp.lookup([r.normalize() for r in table], codes, object),
                                                              general))
    g_count = general & a["counted"]
    q, rem = xp.divmod(a["eligible"] * xp.where(general, rate_num, 0), xp.where(general, rate_den, 1) * unit)
    a["measure"] = xp.fill(a["measure"], g_count, xp.sub(q, g_count) * unit)
    s.mark(g_count & (rem != 0), ("INTERP-ROUNDING", "applied"))  # something below the unit was cut
    s.mark(g_count, ("RATE-GENERAL", "applied"))
    corrected = xp.lookup([s.coef_values[c] != s.default_coef for _, c in uniq] + [False], codes, bool)
    applied = corrected | (s.default_coef != 1)
    s.mark(g_count & applied, ("INTERP-FISCAL-CORRECTION", "applied"))
    s.mark(g_count & xp.not_(applied), ("INTERP-FISCAL-CORRECTION", "not_applied"))
    if not s.table_used:
        s.mark(g_count & s.P["fiscal_index"].given & xp.not_(s.P["fiscal_correction"].given),
               ("INTERP-FISCAL-CORRECTION", "index_ignored"))
    a["coef_code"] = codes
    s.coef_table = [s.coef_values[c] for _, c in uniq]
    coordinators.apply_caps(s)


def status_and_reasons(s: LineState) -> dict[str, np.ndarray]:
    """判定と理由 (SPEC §2 Statuses): error first, then excluded (a rule, or nothing left), partial
    (less than the whole cost counts), eligible; reasons from the events of each line."""
    ctx, a, xp = s.ctx, s.a, s.xp
    err, cost, eligible, measure = a["err"], a["cost"], a["eligible"], a["measure"]
    nothing = (cost > 0) & (measure == 0) & (eligible == 0)
    less = (eligible < cost) | (a["coord"] & (measure < eligible))
    code = xp.where(err, 3, xp.where(a["excluded"] | nothing, 2, xp.where(less, 1, 0)))
    s.events = wording.word_excluded(ctx, s.events, code == 2, xp)
    s.events = xp.fill(s.events, err, 0)
    reasons = xp.full(s.n, None, object)
    rule_ids = xp.full(s.n, None, object)
    ok = xp.not_(err)
    if xp.any(ok):
        rcodes, runiq = xp.factorize_pairs(xp.sub(s.events, ok), xp.sub(a["bucket"], ok))
        texts = [ctx.reason_text(int(m), int(b)) for m, b in runiq]
        reasons = xp.fill(reasons, ok, xp.lookup([t[0] for t in texts], rcodes, object))
        rule_ids = xp.fill(rule_ids, ok, xp.lookup([t[1] for t in texts], rcodes, object))
    for row in xp.each(err):
        msgs = [text for _, text in s.errors.get(int(row), [])]
        ids = [render.INPUT_ERROR_ID] if msgs else []
        rule_msgs = []
        for i, (rid, variant) in enumerate(RULE_ERRORS):
            if xp.at(s.rule_err, row) >> i & 1:
                rule_msgs.append(ctx.rule_error(rid, variant))
                ids += [rid] if rid not in ids else []
        reasons = xp.set_at(reasons, row, render.input_errors(msgs, rule_msgs))
        rule_ids = xp.set_at(rule_ids, row, " ".join(ids))
    wording.append_notes(s.wording, err, reasons, rule_ids)
    a["rate_obj"] = xp.fill(a["rate_obj"], err, None)
    return {"eligible_cost": eligible, "rate": a["rate_obj"], "measure_amount": measure,
            "status": xp.lookup(_STATUSES, code), "reasons": reasons, "rule_ids": rule_ids, "error": err}
