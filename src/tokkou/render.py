"""Every Japanese text a result shows, rendered in one place from structured results.

The engine decides with rule events (rule ID, message variant) and error keys (column keys);
this module turns them into the sentences users read: reasons (理由), input errors, the
arithmetic trace (計算過程) and labels. Faces call these functions and never parse text back.
"""
from __future__ import annotations

import string
from functools import lru_cache
from decimal import Decimal
from typing import Any, Iterable, Mapping

UNIT_LABELS = {1: "円", 10: "10円", 100: "100円", 1000: "千円"}
STATUS_JA = {"eligible": "対象", "partial": "一部対象", "excluded": "対象外", "error": "エラー"}
INPUT_ERROR_ID = "INPUT"
INPUT_ERROR_PREFIX = "[入力エラー] "


def yen(v: int) -> str:
    """1200000 → 「1,200,000」."""
    return f"{int(v):,}"


def param_text(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


def message_fields(text: str) -> list[str]:
    """Placeholder names of a message ({coord_cap_dedicated} → coord_cap_dedicated); ValueError if malformed."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def message_params(params: Mapping[str, Any], rounding_unit: int, body_unit: int) -> dict[str, str]:
    """The values a message may cite: the period's parameters and the unit labels."""
    out = {k: param_text(v) for k, v in params.items()}
    out["rounding_unit_label"] = UNIT_LABELS[rounding_unit]
    out["body_rounding_unit_label"] = UNIT_LABELS[body_unit]
    return out


EXTRA_PLACEHOLDERS = ("rounding_unit_label", "body_rounding_unit_label")


class _Known(dict):
    """Placeholders `rules check` has not vetted stay as written instead of raising."""

    def __missing__(self, key):
        return "{" + key + "}"


def event_sentence(rule_id: str, text: str, params: Mapping[str, str]) -> str:
    try:
        return f"[{rule_id}] {text.format_map(_Known(params))}"
    except (ValueError, IndexError, AttributeError, KeyError):  # malformed braces: refused by rules check
        return f"[{rule_id}] {text}"


def reasons(sentences: Iterable[str]) -> str:
    return " ".join(sentences)


def input_errors(messages: list[str], rule_sentences: list[str]) -> str:
    """The reason of an `error` line: column problems first (prefixed), then rule-level problems."""
    return (INPUT_ERROR_PREFIX if messages else "") + " ".join(messages + rule_sentences)


# ---- 計算過程 (trace) -------------------------------------------------------------------------

def rate_text(r: Decimal) -> str:
    """0.5 → 「0.5」, 1 → 「1」, 0.55 → 「0.55」 (no exponent, no trailing zeros)."""
    return format(r.normalize(), "f")


_DEDUCTIONS = (("特定財源", "spec"), ("起債対象経費", "bond"), ("対象外経費", "excl"), ("飲食費", "food"))
TRACE_NUMBERS = ("cost", "spec", "bond", "excl", "food", "base", "eligible", "measure")  # a template's fields


def general_trace(t: Mapping[str, Any]) -> str:
    """「事業費 1,200,000 − 特定財源 200,000 = 1,000,000 × 0.5 × 補正係数 1.0 = 500,000（円未満切捨て）」."""
    return _filled(_head_template(t, bool(t.get("coordinator"))), t)


def _head_template(t: Mapping[str, Any], coordinator: bool) -> str:
    deducted = tuple(bool(t.get(key)) for _, key in _DEDUCTIONS)
    raw = t["cost"] - sum(t.get(k) or 0 for _, k in _DEDUCTIONS)
    coef = t.get("coef")
    return general_trace_template(deducted, raw < 0, t.get("ratio"), coordinator,
                                  t.get("general_rate"), None if coef is None else coef_text(coef), t.get("unit"))


def coef_text(coef: Decimal) -> str:
    """財政力補正係数 as the trace writes it: as given (「1.00」 stays 「1.00」), an integer with 「.0」 (1 → 「1.0」)."""
    return format(coef, "f") if coef.as_tuple().exponent < 0 else f"{coef}.0"


def _filled(template: str, t: Mapping[str, Any]) -> str:
    return template.format(**{k: trace_number(k, t.get(k) or 0) for k in template_fields(template)})


PLAIN_NUMBERS = ("months", "lines")  # counts in a trace, written without a thousands separator


def trace_number(field: str, v: int) -> str:
    """A trace template's field as written: yen with separators, a count (PLAIN_NUMBERS) as is."""
    return trace_number_format(field).format(int(v))


def trace_number_format(field: str) -> str:
    """The format of a trace template's field for str.format: 「{:,}」 (yen), 「{:d}」 (a count)."""
    return "{:d}" if field in PLAIN_NUMBERS else "{:,}"


@lru_cache(maxsize=4096)
def template_fields(template: str) -> tuple[str, ...]:
    """The fields a trace template cites, each once, in order of first appearance."""
    return tuple(dict.fromkeys(message_fields(template)))


@lru_cache(maxsize=4096)
def general_trace_template(deducted: tuple[bool, ...], negative: bool, ratio: Decimal | None, coordinator: bool,
                           general_rate: Decimal | None, coef: str | None, unit: int | None) -> str:
    """The general trace with its yen amounts as fields ({cost} … {measure}, TRACE_NUMBERS): one
    template per kind of line, filled per line (`str.format` with `yen` texts) by the batch trace.
    `deducted`: which of 特定財源, 起債対象経費, 対象外経費, 飲食費 the line deducts; `negative`: the
    deductions exceed the cost; `coef`: the 財政力補正係数 as written (coef_text) — a text, not a Decimal,
    since equal Decimals (1.0, 1.00) share a cache entry but are written differently."""
    text = "事業費 {cost}" + "".join(f" − {label} {{{key}}}" for (label, key), d in zip(_DEDUCTIONS, deducted) if d)
    if any(deducted):
        text += " = {base}" + ("（控除が事業費以上のため0）" if negative else "")
    if ratio is not None:
        text += f" × 按分率 {rate_text(ratio)} = {{eligible}}"
    if coordinator:
        return text
    text += f" × {rate_text(general_rate)} × 補正係数 {coef} = {{measure}}"
    return text + f"（{UNIT_LABELS[unit]}未満切捨て）"


def coordinator_trace(t: Mapping[str, Any]) -> str:
    """④: the line's eligible cost, the person's sum, the cap and this line's share of it."""
    template = coordinator_trace_template(_head_template(t, True), bool(t.get("prorated")), t["person_rate"],
                                          t["lines"] == 1, t["unit"])
    return _filled(template, t)


@lru_cache(maxsize=4096)
def coordinator_trace_template(head: str, prorated: bool, person_rate: Decimal, single: bool, unit: int) -> str:
    """④'s trace as a template: `head` (general_trace_template of a coordinator line), then the
    person's sum ({lines} lines, {sum}), the cap ({cap}, prorated from {full_cap} over {months}) and
    this line's share ({total} × {eligible}/{sum} = {measure})."""
    cap = "上限 {cap}" + ("（{full_cap} × {months}/12）" if prorated else "")
    rated = "" if person_rate == 1 else f" × 率 {rate_text(person_rate)} = {{rated}}"
    person = f"この人の{{lines}}行の合計 {{sum}}{rated}"
    total = f"min({{rated}}, {cap}) = {{total}}"
    if single:
        return f"{head}。{person}、{total}（{UNIT_LABELS[unit]}未満切捨て）"
    share = "この行の按分 {total} × {eligible}/{sum} = {measure}"
    return f"{head}。{person}、{total}、{share}（端数は合計が一致するよう調整）"


def excluded_trace(rule_ids: list[str]) -> str:
    return f"対象外（{'・'.join(rule_ids)}）のため 0"


def error_trace() -> str:
    return "入力エラーのため計算していません"


# ---- body totals (地方交付税法第22条) ------------------------------------------------------------

def fiscal_year_label(year: int) -> str:
    """2025 → 「2025年度（令和7年度）」; a year before 令和 stays 「2018年度」."""
    return f"{year}年度（令和{year - 2018}年度）" if year >= 2019 else f"{year}年度"


def body_total_label(unit: int) -> str:
    return f"措置額合計（{UNIT_LABELS[unit]}単位・地方交付税法第22条）"
