"""財政力指数 as 特別交付税に関する省令 defines it, in exact arithmetic.

For each of the three preceding years 基準財政収入額 ÷ 基準財政需要額 is rounded half-up to two
decimals; the mean of the three rounded ratios is rounded half-up to two decimals again.
"""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Sequence

YEARS = 3
_CENT = Fraction(1, 100)

from .errors import FiscalIndexError


def round_half_up_2(x: Fraction) -> Decimal:
    """Round a non-negative exact value half-up to two decimals (四捨五入)."""
    if x < 0:
        raise FiscalIndexError("財政力指数の計算に負の値は使えません。")
    cents = (x / _CENT * 2 + 1) // 2  # floor(x*100 + 1/2), exact
    return Decimal(int(cents)).scaleb(-2)


def _exact(v) -> Fraction:
    if isinstance(v, bool):
        raise TypeError
    if isinstance(v, float):
        return Fraction(Decimal(repr(v)))
    return Fraction(Decimal(v)) if not isinstance(v, (int, Fraction)) else Fraction(v)


def yearly_ratios(revenues: Sequence, demands: Sequence) -> list[Decimal]:
    """基準財政収入額 ÷ 基準財政需要額 per year, each rounded half-up to two decimals."""
    if len(revenues) != YEARS or len(demands) != YEARS:
        raise FiscalIndexError(
            f"基準財政収入額と基準財政需要額は{YEARS}年度分ずつ必要です"
            f"（収入額{len(revenues)}件、需要額{len(demands)}件）。")
    out = []
    for i, (r, d) in enumerate(zip(revenues, demands), start=1):
        try:
            rev, dem = _exact(r), _exact(d)
        except (TypeError, ValueError, ArithmeticError):
            raise FiscalIndexError(f"{i}年度目の値が数値ではありません（収入額「{r}」、需要額「{d}」）。") from None
        if rev < 0:
            raise FiscalIndexError(f"{i}年度目の基準財政収入額「{r}」が負の値です。")
        if dem <= 0:
            raise FiscalIndexError(f"{i}年度目の基準財政需要額「{d}」は0より大きい値にしてください。")
        out.append(round_half_up_2(rev / dem))
    return out


def fiscal_index(revenues: Sequence, demands: Sequence) -> Decimal:
    """財政力指数: the half-up mean (2 decimals) of the three half-up yearly ratios."""
    ratios = yearly_ratios(revenues, demands)
    return round_half_up_2(sum((Fraction(r) for r in ratios), Fraction(0)) / YEARS)
