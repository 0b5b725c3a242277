"""review._same's shortcuts (equal values of one type, a blank against nothing) agree with its full comparison."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from tokkou import review
from tokkou.review_report import plain


def _same_in_full(found, expected) -> bool:
    """The comparison without shortcuts (as review compared before them)."""
    found, expected = plain(found), plain(expected)
    if expected == "" or expected is None:
        return found in ("", None)
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if isinstance(found, bool) or not isinstance(found, (int, float)):
            return False
        return abs(Decimal(str(found)) - Decimal(str(expected))) < Decimal("1e-9")
    return str(found) == str(expected)


VALUES = st.one_of(st.none(), st.just(""), st.booleans(), st.integers(-10**12, 10**12), st.text(max_size=4),
                   st.floats(allow_nan=False, allow_infinity=False, width=32), st.sampled_from([0, 0.0, 1, 1.0, "0", "1", True]))


@settings(max_examples=400)
@given(VALUES, VALUES)
def test_same_agrees_with_the_full_comparison(found, expected):
    assert review._same(found, expected) == _same_in_full(found, expected)


@given(VALUES)
def test_a_value_is_the_same_as_itself_both_ways(v):
    assert review._same(v, v) == _same_in_full(v, v)
