"""Expected cell values of a filled template: what each formula cell should show, from the engine.

The builder writes them as cached results (so a filled sample opens with its values shown), and
the review compares a returned workbook's cached results against them. Keys are
(sheet, row, column key).
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from . import engine, layout as L
from .rulebook import Rulebook
from .normalize import parse_year
from .template_reader import read_lines

COEF_DECIMALS = 4  # the engine accepts 財政力補正係数 with at most 4 decimals


def decimals(d: Decimal) -> int:
    return max(0, -d.normalize().as_tuple().exponent)


def rate_scales(rb: Rulebook) -> tuple[int, int]:
    """(10^decimals of 措置率×補正係数, 10^decimals of the ④ rate) over every period: exact integers."""
    years = rb.param_years()
    rate = max(decimals(rb.param("general_rate", y)) for y in years) + COEF_DECIMALS
    crate = max(decimals(rb.param("coordinator_rate", y)) for y in years)
    return 10 ** rate, 10 ** crate


def body_values(rb: Rulebook, body: dict) -> dict:
    """Cached values of the 団体情報 calculations: only meaningful for a filled, valid body."""
    if not body.get("fiscal_year"):
        return {}
    fy = int(body["fiscal_year"])
    coef = Decimal(str(body.get("fiscal_correction") or rb.interp.fiscal_correction.default_coefficient))
    rate = rb.param("general_rate", fy) * coef
    scale, cscale = rate_scales(rb)
    period = int(engine.context(rb).year_bucket([fy])[0]) + 1
    return {"general_rate_n": int(rate * scale), "coord_rate_n": int(rb.param("coordinator_rate", fy) * cscale),
            "code_norm": str(body.get("body_code") or ""), "code_ok": 1, "type_eff": body.get("body_type") or "",
            "code_type": body.get("body_type") or "", "body_error": "", "body_excluded": "",
            "coef_eff": float(coef), "period": period, "general_rate": float(rate),
            "cap_dedicated": rb.param("coord_cap_dedicated", fy),
            "cap_concurrent": rb.param("coord_cap_concurrent", fy)}


def engine_cached(path: Path | None, rb: Rulebook, result=None, details=None) -> dict:
    """Cached values for a filled workbook's formula cells: the engine's results on read_lines.

    `result`, `details`: the engine's output on those lines (`engine.evaluate_frame_details`),
    when the caller has it already. Per sheet row (a coordinator row is several engine lines):
    amounts summed, statuses merged (one status, else エラー if any, else 一部対象), the deciding
    rule's sentence as 理由 — decided from the engine's events, never by reading its text.
    """
    from .normalize import Parsers
    parsers = Parsers(rb)
    ctx = engine.context(rb)
    if result is None or details is None:
        result, details = engine.evaluate_frame_details(read_lines(path, rb), rb)
    cached: dict = {}
    columns = _Columns(result)
    for (sheet, row), idx in result.groupby(["sheet", "row"], sort=False).indices.items():
        grp = _Group(columns, idx)
        events = [details.events_at(int(i)) for i in idx]  # positions: line i of the details
        rec = _row_values(sheet, grp, events, rb, ctx, parsers)
        for k, v in rec.items():
            cached[(sheet, int(row), k)] = v
    return cached


class _Columns(dict):
    """A frame's columns as lists, each made when first asked for (a frame slice per row costs far more)."""

    def __init__(self, frame):
        super().__init__()
        self.frame = frame

    def __missing__(self, key):
        values = self[key] = self.frame[key].tolist()
        return values


class _Values(list):
    """One column of a row's lines; `.iloc[i]` as a Series slice answers it."""

    @property
    def iloc(self):
        return self


class _Group:
    """The lines of one sheet row: `grp[column]` and `len(grp)`, as `frame.iloc[idx]` gives them."""

    def __init__(self, columns: _Columns, idx):
        self.columns, self.idx = columns, idx

    def __getitem__(self, key) -> _Values:
        values = self.columns[key]
        return _Values(values[i] for i in self.idx)

    def __len__(self) -> int:
        return len(self.idx)


def _row_values(sheet: str, grp, events: list, rb: Rulebook, ctx, parsers) -> dict:
    """One sheet row's cached values; `events`: the engine's events of each of its lines."""
    st = set(grp["status"])
    status = st.pop() if len(st) == 1 else ("error" if "error" in st else "partial")
    first = events[0][0] if events and events[0] else None
    excl = status != "error" and first in ctx.exclusions  # the deciding event of the row's first line
    rec: dict = {"_state": L.STATE_ERROR if status == "error" else (L.STATE_EXCLUDED if excl else L.STATE_COUNTED),
                 "status": engine.STATUS_JA[status], "reasons": ""}
    fy = parse_year(grp["fiscal_year"].iloc[0])[0] if status != "error" else None
    bucket = int(ctx.year_bucket([fy])[0]) if fy is not None else 0
    if status == "error":
        rec.update(eligible_cost="", measure_amount="", rate="", cap="", reasons=grp["reasons"].iloc[0])
        rec["_err"] = rec["reasons"]
    else:
        rec["eligible_cost"] = int(sum(grp["eligible_cost"]))
        rec["measure_amount"] = int(sum(grp["measure_amount"]))
        if excl:
            rec["reasons"] = rec["_excl"] = ctx.event_text(first, bucket)
    if sheet == L.SHEET_LINES:
        if status != "error":
            rec["rate"] = float(grp["rate"].iloc[0])
        c = grp["category"].iloc[0]
        rec["_cat"] = (parsers.category(c)[0] or 0) if c not in (None, "") else 0
        rec["_cost"] = int(grp["cost"].iloc[0]) if status != "error" else 0
        return rec
    rec["_lines"] = len(grp)
    rec["_cost_total"] = int(sum(int(v) for v in grp["cost"]))
    if status != "error":
        ded = parsers.employments.parse(grp["employment"].iloc[0])[0] == 0
        rec["cap"] = rb.param("coord_cap_dedicated" if ded else "coord_cap_concurrent", int(fy))
        for rid in ("CAP-COORD-DEDICATED", "CAP-COORD-CONCURRENT"):
            if not excl and any((rid, "capped") in e for e in events):
                rec["reasons"] = ctx.event_text((rid, "capped"), bucket)
    return rec


def summary_cached(cached: dict, rb: Rulebook) -> dict:
    """Cached values of the 集計 sheet from the line sheets' cached values."""
    out = {}
    first = L.SUMMARY_FIRST_ROW
    totals = {k: 0 for k in ("lines", "cost", "eligible_cost", "measure_amount", "errors")}
    for i, cat in enumerate(rb.model.categories):
        vals = {k: 0 for k in totals}
        for (sheet, row, key), v in cached.items():
            if key != "_state":
                continue
            is_cat = (sheet == L.SHEET_COORD) if cat.id == 4 else (
                sheet == L.SHEET_LINES and cached.get((sheet, row, "_cat")) == cat.id)
            if not is_cat:
                continue
            vals["lines"] += 1
            vals["errors"] += v == L.STATE_ERROR
            for k in ("eligible_cost", "measure_amount"):
                e = cached.get((sheet, row, k))
                vals[k] += e if isinstance(e, int) else 0
            vals["cost"] += cached.get((sheet, row, "_cost_total"), 0) if sheet == L.SHEET_COORD else \
                cached.get((sheet, row, "_cost"), 0)
        for k, v in vals.items():
            out[(L.SHEET_SUMMARY, first + i, k)] = v
            totals[k] += v
    for k, v in totals.items():
        out[(L.SHEET_SUMMARY, first + 5, k)] = v
    return out
