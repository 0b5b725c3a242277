"""The array namespaces the engine's stages run on: `BATCH` (numpy columns, n lines) and `ONE`
(plain Python scalars, one line). The stages are written once against `s.xp`, so the single-line
path (UDFs, `evaluate_line`) applies the very same rule code without building numpy arrays.

Conventions of the scalar namespace: a column is the line's value; a boolean mask is a Python
bool; a row set (`rows`, `subset`) is a bool "this line belongs"; a per-person column (one line is
at most one person) is the person's value.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any

import numpy as np
import pandas as pd

from .normalize import Parsed, absent, is_blank, parse_column, parse_value, value_problem


def factorize_pairs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Codes of distinct (x, y) pairs of non-negative ints (y small), and the pairs."""
    if len(x) <= 64:
        seen: dict = {}
        codes = np.array([seen.setdefault((int(p), int(q)), len(seen)) for p, q in zip(x, y)], dtype=np.int64)
        return codes, list(seen)
    m = int(y.max(initial=0)) + 1
    codes, uniq = pd.factorize(x.astype(np.int64) * m + y)
    return codes, [(int(u) // m, int(u) % m) for u in uniq]


class Batch:
    """numpy: every column is an array of n values."""

    one = False
    where = staticmethod(np.where)
    maximum = staticmethod(np.maximum)
    minimum = staticmethod(np.minimum)
    divmod = staticmethod(np.divmod)
    parse_column = staticmethod(parse_column)

    @staticmethod
    def not_(x):
        return ~x

    @staticmethod
    def any(mask) -> bool:
        return bool(mask.any())

    @staticmethod
    def each(mask):
        """Row numbers where the mask holds (for per-row messages)."""
        return np.flatnonzero(mask)

    @staticmethod
    def rows(mask):
        """A row set: the rows where the mask holds."""
        return np.flatnonzero(mask)

    @staticmethod
    def subset(rows, mask):
        """The rows of a row set where a mask over that set holds."""
        return rows[mask]

    @staticmethod
    def at(col, row):
        return col[row]

    @staticmethod
    def sub(col, sel):
        """A column restricted to a row set or mask (or a per-person column spread by group)."""
        return col[sel]

    @staticmethod
    def lookup(table, codes, dtype=None):
        """Per line: table[code] (a table, list or array, indexed by a code column)."""
        if not isinstance(table, np.ndarray):
            table = np.array(table, dtype=dtype)
        return table[codes]

    @staticmethod
    def set_at(col, row, value):
        col[row] = value
        return col

    @staticmethod
    def absent(n: int) -> Parsed:
        return absent(n)

    @staticmethod
    def with_default(values, default):
        """An input column as an array, its blank cells holding `default` (when there is one)."""
        if not isinstance(values, np.ndarray):
            values = np.asarray(list(values), dtype=object)
        if default is not None and values.dtype == object:
            blank = np.array([is_blank(v) for v in values], dtype=bool)
            if blank.any():
                values = values.copy()
                values[blank] = default
        return values

    @staticmethod
    def size(rows) -> int:
        return len(rows)

    @staticmethod
    def clip(x, lo, hi):
        return x.clip(lo, hi)

    @staticmethod
    def count_groups(g) -> int:
        return int(g.max(initial=-1)) + 1

    @staticmethod
    def muldiv(a, b, c):
        """a * b // c exactly (int64, or Python ints where the product could overflow)."""
        if len(a) and int(a.max(initial=0)) * int(b.max(initial=1)) >= 2**62:  # many 1兆円 lines
            return (a.astype(object) * b.astype(object) // c.astype(object)).astype(np.int64)
        return a * b // c

    @staticmethod
    def divmod_exact(a, b, c):
        """divmod(a * b, c) exactly (as muldiv)."""
        if len(a) and int(a.max(initial=0)) * int(b.max(initial=0)) >= 2**62:
            q, r = np.divmod(a.astype(object) * b.astype(object), c.astype(object))
            return q.astype(np.int64), r.astype(np.int64)
        return np.divmod(a * b, c)

    @staticmethod
    def rank_in_group(g, key, tie):
        """Each line's position within its group, ordered by key then tie (0 = first)."""
        order = np.lexsort((tie, key, g))
        gs = g[order]
        first = np.r_[0, np.flatnonzero(np.diff(gs)) + 1]
        pos = np.empty(len(gs), dtype=np.int64)
        pos[order] = np.arange(len(gs)) - np.repeat(first, np.diff(np.r_[first, len(gs)]))
        return pos

    @staticmethod
    def full(n, value, dtype):
        return np.full(n, value, dtype=dtype)

    @staticmethod
    def mask_of_rows(n, rows) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        if rows:
            out[np.fromiter(rows, dtype=np.int64)] = True
        return out

    @staticmethod
    def fill(target, mask, values):
        """target[mask] = values (values given for the masked rows only); returns target."""
        target[mask] = values
        return target

    @staticmethod
    def isin(x, values):
        return np.isin(x, values)

    @staticmethod
    def bucket(years: list, fy):
        return np.maximum(np.searchsorted(np.array(years), fy, side="right") - 1, 0)

    @staticmethod
    def factorize(key):
        return pd.factorize(key)[0].astype(np.int64)

    @staticmethod
    def factorize_pairs(x, y):
        return factorize_pairs(x, y)

    @staticmethod
    def arange(n):
        return np.arange(n)

    @staticmethod
    def parsed(values: list) -> Parsed:
        """A parsed column from one parsed value per line (None: blank)."""
        return Parsed(codes=np.arange(len(values)), values=values,
                      given=np.array([v is not None for v in values], dtype=bool))

    # ---- per-person (group) columns: g = group number per line, ng groups ----
    @staticmethod
    def group_min(g, values, ng, fill):
        out = np.full(ng, fill, dtype=np.int64)
        np.minimum.at(out, g, values)
        return out

    @staticmethod
    def group_max(g, values, ng, fill):
        out = np.full(ng, fill, dtype=np.int64)
        np.maximum.at(out, g, values)
        return out

    @staticmethod
    def group_any(g, mask, ng):
        out = np.zeros(ng, dtype=bool)
        np.logical_or.at(out, g, mask)
        return out

    @staticmethod
    def group_sum(g, values, ng):
        out = np.zeros(ng, dtype=np.int64)
        np.add.at(out, g, values)
        return out

    @staticmethod
    def group_count(g, ng):
        return np.bincount(g, minlength=ng)

    @staticmethod
    def scatter(g, values, ng, fill):
        """Per group: the value of its (last) line."""
        out = np.full(ng, fill, dtype=np.int64)
        out[g] = values
        return out


# Parsed cells of the one-line path by (parser, type, value): parsing is a pure function of those
# (the parsers belong to one rulebook's `Parsers`), and results are immutable (int, Decimal, bool, str).
_CACHED_TYPES = frozenset((str, int, float, bool))
_PARSED: dict[tuple, tuple[Any, str | None, bool]] = {}
_PARSED_MAX = 50_000


class One:
    """Python scalars: one line."""

    one = True

    @staticmethod
    def where(c, a, b):
        return a if c else b

    maximum = staticmethod(max)
    minimum = staticmethod(min)
    divmod = staticmethod(divmod)

    @staticmethod
    def not_(x):
        return not x

    @staticmethod
    def any(mask) -> bool:
        return bool(mask)

    @staticmethod
    def each(mask):
        return (0,) if mask else ()

    @staticmethod
    def rows(mask):
        return bool(mask)

    @staticmethod
    def subset(rows, mask):
        return bool(rows and mask)

    @staticmethod
    def at(col, row):
        return col

    @staticmethod
    def sub(col, sel):
        return col

    @staticmethod
    def lookup(table, code, dtype=None):
        if isinstance(table, np.ndarray):
            return table.item(code)
        return table[code]

    @staticmethod
    def set_at(col, row, value):
        return value

    @staticmethod
    def absent(n: int) -> ParsedOne:
        return ABSENT_ONE

    @staticmethod
    def with_default(value, default):
        return default if default is not None and is_blank(value) else value

    @staticmethod
    def size(rows) -> int:
        return 1

    @staticmethod
    def clip(x, lo, hi):
        return min(max(x, lo), hi)

    @staticmethod
    def count_groups(g) -> int:
        return 1

    @staticmethod
    def muldiv(a, b, c):
        return a * b // c

    @staticmethod
    def divmod_exact(a, b, c):
        return divmod(a * b, c)

    @staticmethod
    def rank_in_group(g, key, tie):
        return 0

    @staticmethod
    def full(n, value, dtype):
        return value

    @staticmethod
    def mask_of_rows(n, rows) -> bool:
        return bool(rows)

    @staticmethod
    def fill(target, mask, values):
        return values if mask else target

    @staticmethod
    def isin(x, values):
        return x in values

    @staticmethod
    def bucket(years: list, fy):
        return max(bisect_right(years, fy) - 1, 0)

    @staticmethod
    def factorize(key):
        return 0

    @staticmethod
    def factorize_pairs(x, y):
        return 0, [(int(x), int(y))]

    @staticmethod
    def arange(n):
        return 0

    @staticmethod
    def parsed(values: list) -> ParsedOne:
        return ParsedOne(values=values[:1], given=values[0] is not None)

    @staticmethod
    def parse_column(value, parser, column, errors: dict[int, list[str]]) -> ParsedOne:
        """parse_column for one cell: the same per-value step (`normalize.parse_value`), computed once
        per distinct (parser, value) — Excel recalculates the same 区分, 年度, 団体区分 in every line."""
        kind = type(value)
        if kind in _CACHED_TYPES and (len(value) <= 200 if kind is str else value == value):  # no huge keys, no NaN
            key = (parser, kind, repr(value) if kind is float else value)  # 0.0 and -0.0 parse apart
            hit = _PARSED.get(key)
            if hit is None:
                if len(_PARSED) >= _PARSED_MAX:
                    _PARSED.clear()
                hit = _PARSED[key] = parse_value(value, parser)
            val, err, given = hit
        else:
            val, err, given = parse_value(value, parser)
        if err:
            errors.setdefault(0, []).append(value_problem(column, value, err))
        return ParsedOne(values=[None if err else val], given=given)

    @staticmethod
    def group_min(g, values, ng, fill):
        return values

    group_max = group_min

    @staticmethod
    def group_any(g, mask, ng):
        return bool(mask)

    @staticmethod
    def group_sum(g, values, ng):
        return values

    @staticmethod
    def group_count(g, ng):
        return 1

    @staticmethod
    def scatter(g, values, ng, fill):
        return values


class ParsedOne:
    """`normalize.Parsed` of one line: code 0 into `values` (+ blank), `given` a bool."""

    __slots__ = ("values", "given")
    codes = 0

    def __init__(self, values: list, given: bool):
        self.values = values
        self.given = given

    def take(self, fill, dtype=object) -> Any:
        v = self.values[0] if self.values else None
        return fill if v is None else v

    def value_codes(self) -> tuple[int, int]:
        v = self.values[0] if self.values else None
        return (-1, 0) if v is None else (0, 1)

    def value_at(self, row: int):
        return self.values[0] if self.values else None

    def map(self, fn, fill, dtype=object) -> Any:
        v = self.values[0] if self.values else None
        return fill if v is None else fn(v)


ABSENT_ONE = ParsedOne(values=[], given=False)
BATCH, ONE = Batch(), One()
