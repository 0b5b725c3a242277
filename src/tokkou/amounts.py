"""Amounts, ratios and years as offices write them (SPEC §4.1 "Units", "Amount cells", "Dates").

- a unit in a cell scales that cell: 「120万円」, 「1,200千円」, 「1.2百万円」 (``split_unit``, ``normalize.parse_yen``);
- a unit in a header scales its column: 「事業費（千円）」 (``header_unit``, ``with_unit``);
- a lone dash is 0; an Excel float within 0.001 yen of a whole yen is that yen;
- 「3割」「3割5分」 are ratios (``ratio_text``);
- a date in a 年度 cell gives its fiscal year, April–March (``fiscal_year_of_date``).

Every parser returns (value, None) or (None, problem); a problem is a short Japanese phrase.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np

# unit word → yen per unit. 「千」 alone is accepted in a cell (「120万」 is how people write it).
UNITS: dict[str, int] = {"円": 1, "千円": 1_000, "万円": 10_000, "十万円": 100_000, "百万円": 1_000_000,
                         "千万円": 10_000_000, "億円": 100_000_000}
_CELL_UNITS = {**UNITS, **{k[:-1]: v for k, v in UNITS.items() if k != "円"}}
_UNIT_RE = re.compile(r"^(.*?)(" + "|".join(sorted(map(re.escape, _CELL_UNITS), key=len, reverse=True)) + r")$")
DASHES = frozenset({"-", "−", "―", "‐", "—", "–", "ー", "ｰ"})
NOISE = Decimal("0.001")  # an Excel float this close to a whole yen is that yen (SPEC §4.1)


def fold(text: str) -> str:
    """NFKC, blanks removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def split_unit(s: str) -> tuple[str, int, str | None]:
    """(number text, yen per unit, problem) of folded cell text: 「1.2百万円」 → ("1.2", 1000000, None);
    a trailing word that is no unit (「12ドル」) is the problem, naming it."""
    m = _UNIT_RE.match(s)
    if m:
        return m.group(1), _CELL_UNITS[m.group(2)], None
    unit = re.search(r"[^\d.,\-+▲△%]+$", s)
    if unit and re.fullmatch(r"[-+▲△]?[\d.,]+", s[:unit.start()]):
        return s, 1, f"単位「{unit.group(0)}」を読めません（円・千円・万円・百万円）"
    return s, 1, None


def whole_yen(d: Decimal) -> tuple[int | None, str | None]:
    """A Decimal amount as whole yen: within 0.001 yen of a whole yen is that yen (Excel's float
    noise); any other fraction, or a negative, is an error."""
    n = d.to_integral_value()
    if abs(d - n) > NOISE:
        return None, "金額は円単位の整数で入力してください"
    if n < 0:
        return None, "金額に負の値は入力できません"
    return int(n), None


_HEADER_UNIT = re.compile(r"[\[［(（〔【<＜]\s*(?:単位\s*[:：]?\s*)?([^\]］)）〕】>＞]*)[\]］)）〕】>＞]\s*$")


@lru_cache(maxsize=4096)
def header_unit(header: str) -> tuple[int | None, str | None]:
    """(yen per unit, None) for 「事業費（千円）」「金額(万円)」「(円)」; (None, None) when no unit is named;
    (None, unit text) when a unit is named that cannot be read (「（千ドル）」)."""
    m = _HEADER_UNIT.search(unicodedata.normalize("NFKC", str(header)))
    if not m:
        return None, None
    word = fold(m.group(1))
    if word in UNITS:
        return UNITS[word], None
    if "円" in word or "単位" in m.group(0) or re.search(r"ドル|ユーロ|USD|EUR|\$", word):
        return None, word
    return None, None  # 「財源内訳（県補助金）」: a note, not a unit


_TITLE_UNIT = re.compile(r"単位\s*[:：]?\s*(百万円|千万円|十万円|千円|万円|億円|円)")


def title_unit(cells) -> int | None:
    """Yen per unit of a 「（単位：千円）」 line above a table (None when the line names none)."""
    for c in cells:
        if isinstance(c, str):
            m = _TITLE_UNIT.search(unicodedata.normalize("NFKC", c))
            if m:
                return UNITS[m.group(1)]
    return None


def with_unit(v: Any, scale: int) -> Any:
    """A cell of a column whose header (or title line) gives a unit: the value with that unit
    written after it, so ``normalize.parse_yen`` scales it; cells that carry their own unit, blanks
    and dashes stay as they are."""
    if v is None or isinstance(v, bool) or scale == 1:
        return v
    if isinstance(v, float) and v != v:
        return v
    if isinstance(v, (int, np.integer)):
        return f"{int(v)}{_unit_word(scale)}"
    if isinstance(v, (float, np.floating)):
        return f"{repr(float(v))}{_unit_word(scale)}" if math.isfinite(v) else v
    s = fold(str(v))
    if not s or s in DASHES or _UNIT_RE.match(s) or not re.search(r"\d", s):
        return v
    return f"{s}{_unit_word(scale)}"


def _unit_word(scale: int) -> str:
    return next(k for k, n in UNITS.items() if n == scale)


_WARI = re.compile(r"^(\d+(?:\.\d+)?)割(?:(\d)分)?(?:(\d)厘)?$")


def ratio_text(v: Any) -> Any:
    """「3割」→ "0.3", 「3割5分」→ "0.35"; anything else unchanged."""
    if not isinstance(v, str) or "割" not in v or len(v) > 20:
        return v
    m = _WARI.match(unicodedata.normalize("NFKC", v).strip())
    if not m:
        return v
    d = Decimal(m.group(1)) / 10 + Decimal(m.group(2) or 0) / 100 + Decimal(m.group(3) or 0) / 1000
    return str(d)


# --- 年度 from a date -----------------------------------------------------------------------
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_ERAS = {"令和": 2018, "R": 2018, "平成": 1988, "H": 1988}
_DATE_RES = (
    re.compile(r"^(\d{4})[/\-.年](\d{1,2})[/\-.月](\d{1,2})日?$"),
    re.compile(r"^(令和|平成|R|H)(\d{1,2}|元)[/\-.年](\d{1,2})[/\-.月](\d{1,2})日?$"),
)


def _fy(d: dt.date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def fiscal_year_of_date(v: Any) -> tuple[int | None, str | None] | None:
    """The fiscal year (April–March) of a date in a 年度 cell, or None when v is no date.

    Dates: a datetime/date, an Excel serial (20000–80000), 2025/4/1, 2025-04-01, R7.4.1,
    令和7年4月1日. A date that does not exist is an error.
    """
    if isinstance(v, (dt.datetime, dt.date)):
        return _fy(v if isinstance(v, dt.date) else v.date()), None
    if hasattr(v, "to_pydatetime"):  # pandas Timestamp
        return _fy(v.to_pydatetime().date()), None
    if isinstance(v, (int, np.integer, float, np.floating)) and not isinstance(v, bool):
        if isinstance(v, (float, np.floating)) and not math.isfinite(v):
            return None
        if 20000 <= v <= 80000:
            return _fy(_EXCEL_EPOCH + dt.timedelta(days=int(v))), None
        return None
    s = fold(str(v)).upper()
    if re.fullmatch(r"\d{5}(\.\d+)?", s) and 20000 <= float(s) <= 80000:
        return _fy(_EXCEL_EPOCH + dt.timedelta(days=int(float(s)))), None
    for i, pat in enumerate(_DATE_RES):
        m = pat.match(s)
        if not m:
            continue
        if i == 0:
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        else:
            n = 1 if m.group(2) == "元" else int(m.group(2))
            if n < 1 or (m.group(1) in ("平成", "H") and n > 31):
                return None, "その和暦の年はありません"
            y, mo, d = _ERAS[m.group(1)] + n, int(m.group(3)), int(m.group(4))
        try:
            return _fy(dt.date(y, mo, d)), None
        except ValueError:
            return None, "その日付はありません"
    return None


def scale_column(values: np.ndarray, header: str, table_unit: int | None = None) -> np.ndarray:
    """An amount column with its header's unit (else the table's 「単位：千円」) written into each
    cell for ``parse_amount``; a unit that cannot be read is carried into the cells, so each
    filled cell is an error naming it. Unchanged (same array) when the unit is yen."""
    scale, bad = header_unit(header)
    if bad is not None:
        return np.array([v if _blank(v) else f"{v}{bad}" for v in values], dtype=object)
    scale = scale or table_unit or 1
    if scale == 1:
        return values
    if values.dtype.kind in "iu" and (len(values) == 0 or np.abs(values).max() <= 10**12 // scale):
        return values.astype(np.int64) * scale
    return np.array([with_unit(v, scale) for v in values], dtype=object)


def scale_cell(v: Any, header: str) -> Any:
    """One cell of a field named `header` (「事業費（千円）」), as ``scale_column`` reads it."""
    scale, bad = header_unit(header)
    if bad is not None:
        return v if _blank(v) else f"{v}{bad}"
    return with_unit(v, scale) if scale and scale != 1 else v


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())
