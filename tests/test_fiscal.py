"""財政力指数 (特別交付税に関する省令): per-year ratios half-up to 2 decimals, then their mean."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, strategies as st

from tokkou import fiscal


def reference(revs, dems) -> Decimal:
    """Independent: Decimal quantize with ROUND_HALF_UP at a precision no ratio here can exhaust."""
    with localcontext() as ctx:
        ctx.prec = 60
        yearly = [(Decimal(r) / Decimal(d)).quantize(Decimal("0.01"), ROUND_HALF_UP) for r, d in zip(revs, dems)]
        return (sum(yearly) / 3).quantize(Decimal("0.01"), ROUND_HALF_UP)


amounts = st.integers(0, 10**12)
positive = st.integers(1, 10**12)


@given(st.lists(amounts, min_size=3, max_size=3), st.lists(positive, min_size=3, max_size=3))
def test_matches_an_independent_half_up_computation(revs, dems):
    assert fiscal.fiscal_index(revs, dems) == reference(revs, dems)


def test_half_up_at_the_boundary_each_step():
    # 0.445 → 0.45 (half up, not to even); mean (0.45+0.33+0.33)/3 = 0.37
    assert fiscal.yearly_ratios([445, 1, 1], [1000, 3, 3]) == [Decimal("0.45"), Decimal("0.33"), Decimal("0.33")]
    assert fiscal.fiscal_index([445, 1, 1], [1000, 3, 3]) == Decimal("0.37")
    # the mean rounds too: (0.12+0.13+0.13)/3 = 0.1266… → 0.13; (0.10+0.10+0.11)/3 = 0.1033… → 0.10
    assert fiscal.fiscal_index([12, 13, 13], [100, 100, 100]) == Decimal("0.13")
    assert fiscal.fiscal_index([10, 10, 11], [100, 100, 100]) == Decimal("0.10")


@pytest.mark.parametrize("revs,dems,word", [([1, 2], [1, 2, 3], "3年度分"), ([1, 2, 3], [1, 0, 3], "需要額"),
                                             ([-1, 2, 3], [1, 2, 3], "負")])
def test_bad_inputs_are_named(revs, dems, word):
    with pytest.raises(fiscal.FiscalIndexError, match=word):
        fiscal.fiscal_index(revs, dems)
