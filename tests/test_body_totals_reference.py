"""totals.body_totals (review's 概要 and the rulebook probe) groups as before issue 12: its columns
version gives what the per-record loop of before gave (kept here as the reference)."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tokkou import rulebook, totals


def old_body_totals(lines, rb):  # totals.body_totals as of commit 6e48002, verbatim but for names
    unit = rb.interp.body_rounding.unit
    acc: dict = {}
    for ln in lines:
        code = totals.cell_text(ln.get("body_code"))
        name = totals.cell_text(ln.get("body_name"))
        fy = ln.get("fiscal_year")
        fy = None if fy is None or fy != fy or str(fy).strip() == "" else fy
        key = (code or name or "（団体不明）", fy)
        amount = ln.get("measure_amount")
        slot = acc.setdefault(key, [name, 0, 0])
        slot[0] = slot[0] or name
        slot[1] += 1
        try:
            slot[2] += int(amount) if amount is not None and amount == amount else 0
        except (TypeError, ValueError):
            pass
    return [totals.BodyTotal(body, name, fy, n, total, totals.round_body_total(total, rb), unit)
            for (body, fy), (name, n, total) in acc.items()]


CELL = st.one_of(st.none(), st.just(float("nan")), st.sampled_from(["", " ", "202142", "203211", "x"]))
LINE = st.fixed_dictionaries({
    "body_code": CELL, "body_name": st.one_of(CELL, st.sampled_from(["宮崎県高鍋町", " 高鍋町 "])),
    "fiscal_year": st.one_of(CELL, st.sampled_from([2025, 2025.0, "2025", "R7", 2024, Decimal("2025")])),
    "measure_amount": st.one_of(st.none(), st.just(float("nan")), st.integers(-10**6, 10**9),
                                st.sampled_from(["12", "abc", 1.5])),
})


@settings(max_examples=400, deadline=None)
@given(st.lists(LINE, max_size=30))
def test_body_totals_group_and_round_as_before(lines):
    rb = rulebook.get()
    assert totals.body_totals(lines, rb) == old_body_totals(lines, rb)
