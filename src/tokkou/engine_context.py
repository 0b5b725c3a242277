"""What the engine knows of one rulebook, built once: lookups, the event table, message texts.

Every value the engine takes from the rulebook passes through an accessor here that records it
(`used`), so `tokkou rules check` can prove both ways that the rulebook and the engine agree: a
parameter, setting or item flag the engine never reads is reported, one it needs and cannot find
is a `RulebookError` in Japanese — never a KeyError.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from . import columns, items, render
from .normalize import INPUT_COLUMNS, Parsers, reference_bodies
from .rulebook import Rulebook, RulebookError

# Exclusions the engine decides from structure, not from a `when:` condition.
STRUCTURAL_EXCLUSIONS = (("SCOPE-FY", "excluded"), ("SCOPE-BODY", "excluded"))
PERSON_EXCLUSIONS = (("SELECT-COOPERATOR", "excluded"), ("COND-STUDY-PLAN", "excluded"))
# Every other (rule, message variant) a result can show, in the order reasons are written.
LINE_EVENTS: tuple[tuple[str, str], ...] = (
    ("CAT-1", "applied"), ("CAT-2", "applied"), ("CAT-3", "applied"), ("CAT-4", "applied"),
    ("CAT-5", "applied"), ("CAT-1", "classified"), ("CAT-2", "classified"), ("CAT-3", "classified"),
    ("CAT-4", "classified"), ("CAT-5", "classified"), ("INCL-PREF-GRANT", "applied"),
    ("INTERP-SPECIFIC-REVENUE", "deducted"), ("INTERP-SPECIFIC-REVENUE", "not_deducted"),
    ("EXCL-DIGITAL-BOND", "deducted"), ("EXCL-DIGITAL-BOND", "deducted_all"),
    ("EXCL-REGIONAL-BOND", "deducted"), ("SCOPE-PURPOSE", "deducted"),
    ("EXCL-FOOD", "deducted"), ("EXCL-FOOD", "ignored"), ("INTERP-SPECIFIC-REVENUE", "exceeds"),
    ("APPORTION-MIXED", "applied"), ("RATE-GENERAL", "applied"),
    ("INTERP-FISCAL-CORRECTION", "applied"), ("INTERP-FISCAL-CORRECTION", "not_applied"),
    ("INTERP-FISCAL-CORRECTION", "index_ignored"), ("COORD-COSTS", "applied"), ("INTERP-COORD-RATE", "applied"),
    ("CAP-COORD-DEDICATED", "within"), ("CAP-COORD-DEDICATED", "capped"),
    ("CAP-COORD-CONCURRENT", "within"), ("CAP-COORD-CONCURRENT", "capped"),
    ("INTERP-PRORATION", "prorated"), ("INTERP-PRORATION", "not_prorated"), ("INTERP-ROUNDING", "applied"),
)
# Rule-level input problems: the line becomes `error`, citing the rule that needs the value.
RULE_ERRORS = (("APPORTION-MIXED", "missing"), ("INTERP-COORD-PERSON", "missing_person"),
               ("INTERP-COORD-PERSON", "missing_employment"), ("INTERP-COORD-PERSON", "conflict"),
               ("INCL-PREF-GRANT", "not_prefecture"))
# Texts shown outside line results (body totals).
OTHER_MESSAGES = (("INTERP-BODY-ROUNDING", "applied"),)
# Rules whose notes items.py adds when its messages exist (open 経費項目, 予算の節): shown, not required.
NOTE_RULES = ("ITEM-OPEN",)
# Wordings for excluded lines (engine_wording.word_excluded): used when the rulebook has them; an
# older rulebook without them still loads, and its excluded lines just leave the sentence out.
OPTIONAL_EVENTS = frozenset([(f"CAT-{c}", "classified") for c in range(1, 6)] + [("EXCL-DIGITAL-BOND", "deducted_all")])
MAX_EVENTS = 63  # one int64 bit each
KIND_NONE, KIND_GENERAL, KIND_COORDINATOR = 0, 1, 2


def yes_no_columns() -> dict[str, Any]:
    """The yes/no input columns of the column registry, by key (`when.flag` may name any)."""
    return {k: columns.BY_KEY[k] for k in columns.flags()}


def _has_message(rb: Rulebook, event: tuple[str, str]) -> bool:
    rid, variant = event
    return rid in rb.rule_ids and variant in rb.rule(rid).messages


def _index(entries, ident: str, where: str) -> int:
    for i, e in enumerate(entries):
        if e.id == ident:
            return i
    raise RulebookError(f"{where}: id「{ident}」の項目が必要です（エンジンが使います）。")


class Context:
    """Per-rulebook lookups: parsers, vocabulary indices, events and their message texts."""

    def __init__(self, rb: Rulebook):
        self.rb = rb
        self.used: set[str] = set()
        self.parsers = Parsers(rb)
        # per input column: its parser, and whether a blank is an error (category: see who_and_when)
        self.inputs = tuple((col, self.parsers.for_kind(col.kind), col.required and col.key != "category")
                            for col in INPUT_COLUMNS)
        m = rb.model
        self.body_eligible = np.array([b.eligible for b in m.body_types] + [False])
        self.body_labels = [b.label for b in m.body_types]
        self.prefecture = _index(m.body_types, "prefecture", "body_types")
        self.purpose = {p.id: i for i, p in enumerate(m.main_purposes)}
        for pid in ("dual_residence", "tourism_industry"):
            _index(m.main_purposes, pid, "main_purposes")
        self.dedicated = _index(m.employments, "dedicated", "employments")
        self.concurrent = _index(m.employments, "concurrent", "employments")
        self.no_measure = _index(m.other_measures, "none", "other_measures")
        self.flag_columns = yes_no_columns()
        self.reference = reference_bodies()
        self.matcher = items.ItemMatcher(rb)
        self.years = rb.param_years()
        self.when_rules = [(r.id, r.when) for r in m.rules if r.when is not None]
        exclusions = list(dict.fromkeys(list(STRUCTURAL_EXCLUSIONS) + [(rid, "excluded") for rid, _ in self.when_rules]
                                        + list(PERSON_EXCLUSIONS)))
        self.exclusions: tuple[tuple[str, str], ...] = tuple(exclusions)
        self.events: tuple[tuple[str, str], ...] = self.exclusions + tuple(
            e for e in LINE_EVENTS if e not in exclusions and (e not in OPTIONAL_EVENTS or _has_message(rb, e)))
        if len(self.events) > MAX_EVENTS:
            raise RulebookError(f"{rb.path}: when のあるルールが多すぎます（結果の種類 {len(self.events)}、上限 {MAX_EVENTS}）。")
        self.bit = {e: np.int64(1) << np.int64(i) for i, e in enumerate(self.events)}
        self.bit_int = {e: 1 << i for i, e in enumerate(self.events)}  # the one-line path's (Python ints)
        self.exclusion_mask = np.int64(0)
        for e in self.exclusions:
            self.exclusion_mask |= self.bit[e]
        self._messages: dict[tuple[int, int], tuple[str, str]] = {}
        self._rule_errors: dict[tuple[str, str], str] = {}
        self._decoded: dict[int, tuple[tuple[str, str], ...]] = {}
        self._tables: dict[tuple, np.ndarray] = {}  # rulebook tables built once (read-only): a call is one line in a UDF
        self._reads: dict[tuple, Any] = {}  # parameters and settings already read (and recorded in `used`)
        self.probing = False          # True while engine._verify runs the probe
        self.missing: list[str] = []  # parameters the probe asked for and did not find

    # ---- recorded reads ------------------------------------------------------------------------
    def param(self, name: str, dtype=object) -> np.ndarray:
        """The parameter's value per period bucket (see `year_bucket`)."""
        hit = self._reads.get(("param", name, dtype))  # a UDF line reads a dozen of these: be quick
        if hit is not None:
            return hit
        self.used.add(f"parameters.{name}")
        if name not in self.rb.model.parameters:
            problem = (f"{self.rb.path}/parameters.yaml: parameters.{name}: "
                       f"パラメータ「{name}」がありません（エンジンが使います）。")
            if not self.probing:
                raise RulebookError(problem)
            self.missing.append(problem)  # the probe goes on, to list every problem at once
            return np.array([Decimal(0)] * len(self.years), dtype=object)
        hit = self._reads[("param", name, dtype)] = self._table(
            ("param", name, dtype), lambda: np.array([self.rb.param(name, y) for y in self.years], dtype=dtype))
        return hit

    def _table(self, key: tuple, make) -> np.ndarray:
        """A per-rulebook array, built on first use and shared (read-only) after."""
        hit = self._tables.get(key)
        if hit is None:
            hit = self._tables[key] = make()
            hit.flags.writeable = False
        return hit

    def setting(self, name: str):
        hit = self._reads.get(("setting", name))
        if hit is None:
            self.used.add(f"interpretations.{name}")
            hit = self._reads[("setting", name)] = getattr(self.rb.interp, name)
        return hit

    def item_flag(self, name: str) -> np.ndarray:
        """Per item index (and -1 = no item → False): the item's flag."""
        hit = self._tables.get(("item_flag", name))
        if hit is not None:
            return hit
        self.used.add(f"items.{name}")
        return self._table(("item_flag", name),
                           lambda: np.array([getattr(i, name) for _, i in self.rb.items] + [False], dtype=bool))

    def category_flag(self, name: str) -> np.ndarray:
        """Per category id 0..5: some item of the category carries the flag (the category's default)."""
        self.used.add(f"items.{name}")

        def make():
            out = np.zeros(6, dtype=bool)
            for c, i in self.rb.items:
                out[c.id] |= bool(getattr(i, name))
            return out
        return self._table(("category_flag", name), make)

    def item_category(self) -> np.ndarray:
        return self._table(("item_category",), lambda: np.array([c.id for c, _ in self.rb.items] + [0], dtype=np.int64))

    def category_kind(self) -> np.ndarray:
        """Per category id 0..5: KIND_GENERAL or KIND_COORDINATOR from `rate_kind` (0: none)."""
        self.used.add("categories.rate_kind")
        kinds = {"general": KIND_GENERAL, "coordinator": KIND_COORDINATOR}

        def make():
            out = np.zeros(6, dtype=np.int64)
            for c in self.rb.model.categories:
                out[c.id] = kinds[c.rate_kind]
            return out
        return self._table(("category_kind",), make)

    # ---- periods and texts -----------------------------------------------------------------------
    def year_bucket(self, fy: np.ndarray, xp=None) -> np.ndarray:
        """Index of the parameter period each year falls in (xp: engine_xp namespace, numpy by default)."""
        if xp is None:
            return np.maximum(np.searchsorted(np.array(self.years), fy, side="right") - 1, 0)
        return xp.bucket(self.years, fy)

    def message_params(self, bucket: int) -> dict[str, str]:
        year = self.years[bucket]
        return render.message_params(self.rb.params_for(year), self.rb.interp.rounding.unit,
                                     self.rb.interp.body_rounding.unit)

    def reason_text(self, mask: int, bucket: int) -> tuple[str, str]:
        """(reasons, rule IDs) of an event mask in a parameter period; cached."""
        key = (mask, bucket)
        hit = self._messages.get(key)
        if hit is None:
            params = self.message_params(bucket)
            parts, ids = [], []
            for i, (rid, variant) in enumerate(self.events):
                if mask >> i & 1:
                    parts.append(render.event_sentence(rid, self.rb.rule(rid).messages.get(variant, ""), params))
                    if rid not in ids:
                        ids.append(rid)
            hit = (render.reasons(parts), " ".join(ids))
            self._messages[key] = hit
        return hit

    def event_text(self, event: tuple[str, str], bucket: int = 0) -> str:
        """The sentence of one event, as results show it ([ID] text)."""
        return self.reason_text(int(self.bit[event]), bucket)[0]

    def decode(self, mask: int) -> list[tuple[str, str]]:
        hit = self._decoded.get(mask)
        if hit is None:
            if len(self._decoded) > 4096:
                self._decoded.clear()
            hit = self._decoded[mask] = tuple(e for i, e in enumerate(self.events) if mask >> i & 1)
        return list(hit)

    def rule_error(self, rid: str, variant: str) -> str:
        """The sentence of a rule-level input problem (cached: one per rule and variant)."""
        hit = self._rule_errors.get((rid, variant))
        if hit is None:
            text = render.event_sentence(rid, self.rb.rule(rid).messages.get(variant, ""), self.message_params(0))
            hit = self._rule_errors[(rid, variant)] = text
        return hit
