"""The one place where the rules are applied.

`evaluate_columns` is the core: raw columns in (any cell values), result columns out, through the
named stages of `engine_stages` (④ in `coordinators`). The batch path (`evaluate_frame`, a
DataFrame) runs the stages on integer numpy columns; the single-line path (`evaluate_line`,
`evaluate_one`: UDFs) runs the very same stages on Python scalars (`engine_xp.ONE`), so no rule
exists twice and tests/test_engine.py holds the two equal field by field. Beside the text, every
result carries its structure (`Details`: rule events and error column keys per line) so faces
never parse text.
"""
from __future__ import annotations

import copy
import dataclasses
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from . import amounts
from . import engine_stages as stages
from . import rulebook as rulebook_mod
from .engine_context import RULE_ERRORS, Context
from .engine_xp import ONE
from .normalize import BY_KEY, OUTPUT_COLUMNS, header_key, is_blank
from .render import STATUS_JA
from .rulebook import Rulebook, RulebookError

TRACE_COLUMN = ("trace", "計算過程")
__all__ = ["LineResult", "Details", "context", "evaluate_columns", "evaluate_frame", "evaluate_frame_details",
           "evaluate_records", "evaluate_line", "line_exclusions", "check", "STATUS_JA", "OUTPUT_COLUMNS", "TRACE_COLUMN",
           "header_key"]


@dataclass(frozen=True)
class LineResult:
    eligible_cost: int | None
    rate: Decimal | None
    measure_amount: int | None
    status: str
    reasons: str
    rule_ids: tuple[str, ...] = field(default=())
    trace: str = ""
    events: tuple[tuple[str, str], ...] = field(default=())      # (rule ID, message variant), reason order
    error_keys: tuple[str, ...] = field(default=())               # input columns whose value is bad or missing


@dataclass
class Details:
    """Structured results per line, beside the text columns: decode on demand (cheap to keep)."""

    ctx: Context
    events: np.ndarray                      # int64 event mask per line (ctx.events bits)
    rule_errors: np.ndarray                 # int64 mask per line over RULE_ERRORS
    errors: dict[int, list[tuple[str | None, str]]]
    body_code: Any = None                   # normalize.Parsed: 団体コード as resolved (a 団体名 read to its code)
    fiscal_years: np.ndarray | None = None  # int64 年度 per line as read (0: blank or unreadable)

    def events_at(self, i: int) -> tuple[tuple[str, str], ...]:
        return tuple(self.ctx.decode(int(self.events[i])))

    def error_keys_at(self, i: int) -> tuple[str, ...]:
        """Input column keys named by line i's errors (in the order the errors were found)."""
        return _error_keys(self.errors.get(int(i), []))

    def body_codes(self) -> np.ndarray:
        """Object array: each line's 団体コード as the engine resolved it, None where it has none."""
        return self.body_code.take(None)

    def rule_errors_at(self, i: int) -> tuple[tuple[str, str], ...]:
        m = int(self.rule_errors[i])
        return tuple(e for b, e in enumerate(RULE_ERRORS) if m >> b & 1)


def _error_keys(errors: list[tuple[str | None, str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k for k, _ in errors if k))


_CONTEXTS: dict[str, Context] = {}
_VERIFYING = threading.local()  # .ctx: the Context this thread is verifying (its probe computes with it)


def context(rb: Rulebook | None = None) -> Context:
    """The engine's view of a rulebook, built and verified once (RulebookError when they disagree).
    Published for other threads only once verified: during the probe a missing parameter reads as
    zeros, and a concurrent UDF call must not compute (and cache) with that."""
    rb = rb or rulebook_mod.get()
    ctx = _CONTEXTS.get(rb.sha256)
    if ctx is not None and ctx.rb is rb:
        return ctx
    pending = getattr(_VERIFYING, "ctx", None)
    if pending is not None and pending.rb is rb:
        return pending
    ctx = Context(rb)
    _VERIFYING.ctx = ctx
    try:
        _verify(ctx)
    finally:
        _VERIFYING.ctx = pending
    _CONTEXTS[rb.sha256] = ctx
    return ctx


def _verify(ctx: Context) -> None:
    """`rules check`: static checks, the probe through every stage, then what the engine read
    against what the rulebook declares. Every problem found is listed in one RulebookError."""
    from . import rulecheck, totals
    problems = rulecheck.static_problems(ctx)
    ctx.probing = True
    try:
        out = evaluate_records(rulecheck.PROBE, ctx.rb, trace=True)
        totals.body_totals([{"body_name": "probe", "measure_amount": r.measure_amount} for r in out], ctx.rb, ctx)
    except RulebookError as exc:
        problems.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - a rulebook the engine cannot run is refused, not crashed on
        problems.append(f"{ctx.rb.path}: このルールブックではエンジンが計算できません"
                        f"（{type(exc).__name__}: {str(exc)[:200]}）。")
    finally:
        ctx.probing = False
    problems += ctx.missing + rulecheck.usage_problems(ctx)
    if problems:
        raise RulebookError("\n".join(dict.fromkeys(problems)))


def check(path: str | Path | None = None) -> Rulebook:
    """`tokkou rules check`: load (schema), then verify the engine and the rulebook agree both ways."""
    rb = rulebook_mod.load(path)
    context(rb)
    return rb


def line_exclusions(rb: Rulebook) -> list[tuple[str, Any]]:
    """Every rule with `when:` (a line-level exclusion), in rulebook order: (rule ID, condition)."""
    return list(context(rb).when_rules)


def evaluate_columns(columns: Mapping[str, Sequence[Any]], n: int, rb: Rulebook | None = None,
                     defaults: Mapping[str, Any] | None = None, trace: bool = False) -> dict[str, Any]:
    """Apply every rule to n lines given as {key: values}; returns the output columns (numpy arrays),
    `error` (bool per line), `trace` when asked, and `details` (`Details`)."""
    s = stages.LineState(ctx=context(rb), n=n)
    out = _run_stages(s, columns, defaults)
    if trace:
        from .engine_trace import trace_column
        out["trace"] = trace_column(s, out["rule_ids"])
    out["details"] = Details(s.ctx, s.events, s.rule_err, s.errors, s.P["body_code"], s.a["fy"])
    return out


def _run_stages(s: stages.LineState, columns: Mapping[str, Any], defaults: Mapping[str, Any] | None) -> dict:
    stages.read_inputs(s, columns, defaults)
    stages.who_and_when(s)
    stages.amounts(s)
    stages.fiscal_correction(s)
    stages.exclusions(s)
    stages.eligible_cost(s)
    stages.rate_and_measure(s)
    return stages.status_and_reasons(s)


# ---- faces of the core ---------------------------------------------------------------------

def frame_columns(df: pd.DataFrame, unit: int | None = None) -> dict[str, np.ndarray]:
    """A DataFrame's input columns by key (headers may be keys or Japanese aliases).

    Amount columns are read in the unit their header names (「事業費（千円）」), else in `unit`
    (yen per unit of a 「（単位：千円）」 line above the table), else in yen.
    """
    cols: dict[str, np.ndarray] = {}
    where: dict[str, str] = {}
    for pos, name in enumerate(df.columns):
        key = duplicate_header_key(name, df.columns)
        if key not in BY_KEY:
            continue
        s = df.iloc[:, pos]
        arr = s.to_numpy() if s.dtype.kind in "iub" else s.to_numpy(dtype=object)  # missing stays NaN/NA
        if BY_KEY[key].kind == "yen":
            arr = amounts.scale_column(arr, str(name), unit)
        label = f"「{str(name).rsplit('.', 1)[0] if key != header_key(name) else name}」({pos + 1}列目)"
        if key in cols:  # two headers for one field: the filled one, or an error where both differ
            arr = merge_duplicate(cols[key], arr, (where[key], label))
        else:
            where[key] = label
        cols[key] = arr
    return cols


def duplicate_header_key(name, columns) -> str | None:
    """The key of a header, including a repeated one the reader suffixed (`事業費.1` beside `事業費`)."""
    key = header_key(name)
    if key is None and isinstance(name, str) and "." in name:
        base, _, n = name.rpartition(".")
        if n.isdigit() and base in columns:
            key = header_key(base)
    return key


def merge_duplicate(first: np.ndarray, second: np.ndarray, names: tuple[str, str]) -> np.ndarray:
    """Per line: the filled one of two cells for one field; both filled and different → Conflict."""
    from .normalize import Conflict, same_cell
    out = first.astype(object)
    for row, (a, b) in enumerate(zip(out, second)):
        if is_blank(b):
            continue
        if is_blank(a):
            out[row] = b
        elif not same_cell(a, b):
            out[row] = Conflict(names, (a, b))
    return out


def evaluate_frame_details(df: pd.DataFrame, rb: Rulebook | None = None, defaults: Mapping[str, Any] | None = None,
                           trace: bool = False, unit: int | None = None) -> tuple[pd.DataFrame, Details]:
    """Batch path: the input frame with the result columns (English keys) appended, and `Details`
    (row i of the frame is line i of the details). `unit`: yen per unit of amount columns whose
    header names none (a 「単位：千円」 title line)."""
    out = evaluate_columns(frame_columns(df, unit), len(df), rb, defaults, trace)
    result = df.copy()
    output_names = {k for k, _ in OUTPUT_COLUMNS}
    for name in list(result.columns):
        if header_key(name) in output_names or (trace and str(name).strip() in TRACE_COLUMN):
            result = result.drop(columns=name)  # stale results in the input are replaced
    for key, _ in OUTPUT_COLUMNS:
        values = out[key]
        if key in ("eligible_cost", "measure_amount"):
            values = pd.arrays.IntegerArray(values, out["error"].copy())  # error lines: blank, not 0
        result[key] = values
    if trace:
        result[TRACE_COLUMN[0]] = out["trace"]
    return result, out["details"]


def evaluate_frame(df: pd.DataFrame, rb: Rulebook | None = None, defaults: Mapping[str, Any] | None = None,
                   trace: bool = False, unit: int | None = None) -> pd.DataFrame:
    """Batch path: the input frame with the result columns appended (`trace` adds 計算過程)."""
    return evaluate_frame_details(df, rb, defaults, trace, unit)[0]


def evaluate_records(records: Sequence[Mapping[str, Any]], rb: Rulebook | None = None,
                     defaults: Mapping[str, Any] | None = None, trace: bool = True) -> list[LineResult]:
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
    out = evaluate_columns(keys, n, rb, defaults, trace)
    err, d = out["error"], out["details"]
    return [LineResult(None if err[i] else int(out["eligible_cost"][i]), out["rate"][i],
                       None if err[i] else int(out["measure_amount"][i]), out["status"][i],
                       out["reasons"][i], tuple(out["rule_ids"][i].split()),
                       out["trace"][i] if trace else "", d.events_at(i), d.error_keys_at(i)) for i in range(n)]


def evaluate_line(rb: Rulebook | None = None, defaults: Mapping[str, Any] | None = None,
                  **fields: Any) -> LineResult:
    """Single-line path (UDFs): one line's fields by key, Japanese names accepted; with its trace."""
    return evaluate_one(fields, rb, defaults, trace=True)


# Columns whose reading is batch-only (bodies by name, open 経費項目 and 予算の節 wording): a line
# with one of them goes through evaluate_records, a batch of one.
_BATCH_ONLY = frozenset(("body_name", "item", "budget_section"))


def evaluate_one(fields: Mapping[str, Any], rb: Rulebook | None = None, defaults: Mapping[str, Any] | None = None,
                 trace: bool = False) -> LineResult:
    """One line through the same stages on Python scalars (engine_xp.ONE): no numpy arrays built.
    Equal to `evaluate_records([fields], ...)[0]` (tests/test_engine.py proves it)."""
    columns: dict[str, Any] = {}
    for k, v in fields.items():
        key = header_key(k)
        if key in BY_KEY:
            columns[key] = amounts.scale_cell(v, str(k)) if BY_KEY[key].kind == "yen" else v
    if not _BATCH_ONLY.isdisjoint(columns):
        return evaluate_records([fields], rb, defaults, trace)[0]
    s = stages.LineState(ctx=context(rb), n=1, xp=ONE)
    out = _run_stages(s, columns, defaults)
    err = out["error"]
    text = ""
    if trace:
        from .engine_trace import trace_column
        text = trace_column(_as_rows(s), [out["rule_ids"]])[0]
    return LineResult(None if err else int(out["eligible_cost"]), out["rate"], None if err else int(out["measure_amount"]),
                      out["status"], out["reasons"], tuple(out["rule_ids"].split()), text,
                      tuple(s.ctx.decode(int(s.events))), _error_keys(s.errors.get(0, [])))


def _as_rows(s: stages.LineState) -> stages.LineState:
    """A one-line state as a batch of one (1-element lists) for the row-wise trace."""
    ps = s.person
    if ps is not None:
        ps = copy.copy(ps)
        for f in dataclasses.fields(ps):
            if f.name not in ("ng",):
                setattr(ps, f.name, [0] if f.name == "idx" else [getattr(ps, f.name)])
    return dataclasses.replace(s, a={k: [v] for k, v in s.a.items()}, person=ps)
