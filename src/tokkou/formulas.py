"""Every formula of the templates as text: `formula(variant, sheet, key, row) → "=…"`.

Pure: nothing here writes a workbook. The builder (templates) writes these texts and the review
compares returned workbooks against `expected_formulas`; both call this module, so they cannot
disagree. Native formulas live in formulas_native, add-in (UDF) formulas in formulas_addin.
Rule messages are not inside formulas: `message(key)` looks them up on the ルール sheet, whose
table `message_table(rb)` gives per parameter period.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import engine, formula_parts as parts, formulas_addin, formulas_native, layout as L
from . import rulebook as rulebook_mod
from .rulebook import Rulebook

VARIANTS = L.VARIANTS
ADDIN_BLANKS = True  # the add-in template passes blank cells as "" (SPEC §4.2, office-js issue 5262)
INLINE_MESSAGES = False  # True only to reproduce layout-1 templates (texts inside formulas)


@dataclass
class Ctx:
    """What formulas need of one rulebook: vocabularies, columns, exclusions, messages."""

    rb: Rulebook
    lay: L.Layout
    lines: dict[str, str]          # 事業 column key → letter
    coord: dict[str, str]          # コーディネーター column key → letter
    amounts: tuple[L.Col, ...]     # コーディネーター amount columns: 報償費等, then each cost item
    food: L.Col                    # the amount column whose 飲食費 is deducted
    exclusions: list               # the rulebook's `when:` exclusions (rule id, condition), engine order
    blanks: bool = ADDIN_BLANKS
    inline: dict[str, str] = field(default_factory=dict)  # message texts when INLINE_MESSAGES

    @property
    def m(self):
        return self.rb.model

    @staticmethod
    def vocab(entries, ident: str) -> str:
        return next(e.label for e in entries if e.id == ident)

    def item_choice(self, item_id: str) -> str:
        return L.item_choice(next(it for _, it in self.rb.items if it.id == item_id))

    def msg(self, key: str) -> str:
        """The formula text giving rule message `key` ("RULE-ID:variant")."""
        if self.inline:
            return parts.q(self.inline[key])
        return parts.message(key)


def context(rb: Rulebook | None = None, inline_messages: bool | None = None) -> Ctx:
    """The formula context of a rulebook (cached). inline_messages: texts inside formulas, as layout-1
    templates built before messages moved to the ルール sheet had them (for reviewing those)."""
    rb = rb or rulebook_mod.get()
    inline = INLINE_MESSAGES if inline_messages is None else inline_messages
    key = (rb.sha256, ADDIN_BLANKS, inline)
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        ctx = _CONTEXTS[key] = _context(rb, ADDIN_BLANKS, inline)
    return ctx


_CONTEXTS: dict[tuple, Ctx] = {}


def _context(rb: Rulebook, blanks: bool, inline: bool) -> Ctx:
    lay = L.get(rb)
    amounts = tuple([lay.coord["reward"]] + [c for c in lay.coord_columns if c.item])
    food = next(c for c in amounts if c.item == lay.food_item_id)
    ctx = Ctx(rb, lay, {c.key: c.letter for c in L.LINE_COLUMNS}, {c.key: c.letter for c in lay.coord_columns},
              amounts, food, list(engine.line_exclusions(rb)), blanks)
    if inline:
        ctx.inline = {key: texts[0] for key, texts in message_table(rb)}
        for rid, variant in engine.RULE_ERRORS:
            ctx.inline[f"{rid}:{variant}"] = rb.rule(rid).messages[variant]
    return ctx


# ---- messages --------------------------------------------------------------------------------

def message_table(rb: Rulebook) -> list[tuple[str, list[str]]]:
    """[(key "RULE-ID:variant", [text for each parameter period])] as the engine words them.

    Each text is rendered with that period's parameters, so a FY2026 cap shows in FY2026 reasons.
    """
    ectx = engine.context(rb)
    periods = range(len(rb.param_years()))
    out = [(f"{rid}:{variant}", [ectx.event_text((rid, variant), b) for b in periods])
           for rid, variant in ectx.events]
    out += [(f"{rid}:{variant}", [ectx.rule_error(rid, variant)] * len(periods)) for rid, variant in engine.RULE_ERRORS]
    return out


# ---- line sheets -----------------------------------------------------------------------------

def formula(variant: str, sheet: str, key: str, row: int, rb: Rulebook | None = None) -> str:
    """The formula of a calculated or helper cell of 事業 / コーディネーター, e.g. "=IF(…)"."""
    return _formula(context(rb), variant, sheet, key, row)


def _formula(ctx: Ctx, variant: str, sheet: str, key: str, row: int) -> str:
    if variant not in VARIANTS:
        raise ValueError(variant)
    cols = ctx.lines if sheet == L.SHEET_LINES else ctx.coord
    x = {k: f"{v}{row}" for k, v in cols.items()}
    if sheet == L.SHEET_LINES:
        return formulas_native.LINE[key](ctx, x, row) if variant == "native" else formulas_addin.line(ctx, key, x, row)
    if sheet == L.SHEET_COORD:
        return formulas_native.COORD[key](ctx, x, row) if variant == "native" else formulas_addin.coord(ctx, key, x, row)
    raise KeyError(sheet)


def row_formulas(variant: str, sheet: str, row: int, rb: Rulebook | None = None) -> dict[str, str]:
    """{column key: formula} of every calculated and helper cell of one row."""
    ctx = context(rb)
    cols = L.LINE_COLUMNS if sheet == L.SHEET_LINES else ctx.lay.coord_columns
    return {c.key: _formula(ctx, variant, sheet, c.key, row) for c in cols if c.kind in ("calc", "helper")}


def expected_formulas(variant: str, rb: Rulebook | None = None,
                      inline_messages: bool | None = None) -> dict[tuple[str, int, str], str]:
    """{(sheet, row, key): formula} of every formula cell of 事業 and コーディネーター."""
    ctx = context(rb, inline_messages)
    out: dict[tuple[str, int, str], str] = {}
    for sheet, first, count, cols in ((L.SHEET_LINES, L.LINES_FIRST_ROW, L.LINES_COUNT, L.LINE_COLUMNS),
                                      (L.SHEET_COORD, L.COORD_FIRST_ROW, L.COORD_COUNT, ctx.lay.coord_columns)):
        keys = [c.key for c in cols if c.kind in ("calc", "helper")]
        for r in range(first, first + count):
            for key in keys:
                out[(sheet, r, key)] = _formula(ctx, variant, sheet, key, r)
    return out


def addin_calls(sheet: str, row: int, rb: Rulebook | None = None) -> dict:
    """{result key: (UDF name, [argument spec])} of one add-in row (tests evaluate these)."""
    ctx = context(rb)
    return formulas_addin.calls(ctx, sheet, row, ctx.blanks)


render = parts.render
floordiv = parts.floordiv
q = parts.q
Formula = Callable[..., str]
