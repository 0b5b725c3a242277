"""Read cells as people type them: full-width digits, 1,000円, 令和7, はい/○, Japanese headers.

Every parser returns (value, None) or (None, problem) — the problem is a short Japanese phrase the
engine turns into a reason naming the column and the value.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from decimal import Decimal
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import amounts
from . import columns
from .columns import Column
from .rulebook import Rulebook

MAX_YEN = 10**12  # 1兆円: keeps every product inside int64 and no real line is larger


# The columns are declared once, in tokkou.columns; these names are kept for the engine and faces.
INPUT_COLUMNS: tuple[Column, ...] = columns.INPUTS
OUTPUT_COLUMNS: tuple[tuple[str, str], ...] = tuple((c.key, c.ja) for c in columns.OUTPUTS)
BY_KEY = columns.BY_KEY


def _fold(text: str) -> str:
    """NFKC (full-width → ASCII), trimmed, inner blanks removed — for matching."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).strip()


# Header index: every name of every registry column (key, Japanese name, synonyms).
_HEADER_INDEX: dict[str, str] = {_fold(name).lower(): c.key
                                 for c in columns.INPUTS + columns.OUTPUTS for name in columns.names(c)}


@lru_cache(maxsize=4096)
def _header_key(h: str) -> str | None:
    folded = _fold(h).lower()
    cut = re.sub(r"[\[［(（].*?[\]］)）]$", "", folded) or folded  # "事業費（円）" → "事業費"
    return _HEADER_INDEX.get(cut) or _HEADER_INDEX.get(folded)


def header_key(header: Any) -> str | None:
    """The English key a header names (key, Japanese name or alias), else None."""
    if header is None:
        return None
    return _header_key(str(header))


# Excel shows these in a cell; xlwings/openpyxl hand them over as text.
EXCEL_ERRORS = frozenset({"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!",
                          "#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#UNKNOWN!"})


def is_blank(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and _fold(v) == ""


def _str(v: Any) -> str:
    """str(v) that cannot fail or blow up: an int too long to print is described, not printed."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and int(v).bit_length() > 256:
        return f"{'-' if v < 0 else ''}約{int(int(v).bit_length() * 0.30103)}桁の整数"
    try:
        return str(v)
    except Exception:  # noqa: BLE001 - a cell object whose __str__ fails is still shown
        return "（表示できない値）"


def _show(v: Any) -> str:
    if isinstance(v, (_dt.date, _dt.time)):  # a date as Japanese offices write it (2025/4/1), not ISO
        return date_text(v)
    s = _str(v)
    return s if len(s) <= 40 else s[:37] + "…"


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return _fold(_str(v))


def _excel_error(v: Any) -> str | None:
    if isinstance(v, str) and _fold(v).upper() in EXCEL_ERRORS:
        return f"Excelのエラー値「{_fold(v).upper()}」です"
    return None


# ---- bounded numbers (issue 11) -------------------------------------------------------------
# Every numeric parser calls guard_number first: nothing is converted (Decimal → int, quantize,
# int64) before its length, exponent and magnitude are known to be small, so no cell can hang or
# overflow the run.
MAX_NUMBER_CHARS = 40  # longer than any amount, rate or count anyone types (1兆円 is 13 digits)
MAX_MAGNITUDE = 10**15  # |x| below this: Decimal quantize and int64 products stay exact
TOO_LONG = f"数値として長すぎます（{MAX_NUMBER_CHARS}文字まで）"
TOO_LARGE = "数値が大きすぎます"
NOT_A_NUMBER = "数値ではありません"
EXPONENT = ("指数表記（1e20、1.23457E+11 など）は読めません（Excel の指数表示では桁が失われています）。"
            "数値を桁どおりに入力してください")
_EXPONENT_TEXT = re.compile(r"\d\s*[eE]\s*[+\-]?\s*\d")


DATE_TYPED = "日付が入力されています（{what}を入力してください）"
TIME_TYPED = "時刻が入力されています（{what}を入力してください）"


def date_text(v: Any) -> str:
    """A date, datetime or time as Japanese offices write it: 2025/4/1, 2025/4/1 9:30, 9:30."""
    if isinstance(v, _dt.datetime):
        day = f"{v.year}/{v.month}/{v.day}"
        return day if v.time() == _dt.time() else f"{day} {v.hour}:{v.minute:02d}"
    if isinstance(v, _dt.date):
        return f"{v.year}/{v.month}/{v.day}"
    return f"{v.hour}:{v.minute:02d}"


def _not_a_number(v: Any, what: str) -> str:
    """Why a cell that is neither a number nor text is no number, in a user's words (never a type name)."""
    if isinstance(v, _dt.date):  # datetime and pandas' Timestamp too: a date typed or formatted in the cell
        return DATE_TYPED.format(what=what)
    if isinstance(v, _dt.time):
        return TIME_TYPED.format(what=what)
    if isinstance(v, (list, tuple, dict, set)):  # a JSON array or object in one cell
        return "1つのセルには1つの値を入力してください（値の並びや組は読めません）"
    return NOT_A_NUMBER


def guard_number(v: Any, what: str = "数値") -> str | None:
    """The problem with a cell as a number before any conversion (type, non-finite, length,
    exponent, magnitude), else None. Cheap on any input: a huge int is compared, never formatted."""
    if isinstance(v, (bool, np.bool_)):
        return NOT_A_NUMBER
    if isinstance(v, (int, np.integer)):
        return None if -MAX_MAGNITUDE < int(v) < MAX_MAGNITUDE else TOO_LARGE
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return NOT_A_NUMBER
        return None if abs(float(v)) < MAX_MAGNITUDE else TOO_LARGE
    if isinstance(v, Decimal):
        if not v.is_finite():
            return NOT_A_NUMBER
        return None if v.is_zero() or v.adjusted() < 15 else TOO_LARGE
    if not isinstance(v, str):
        return _not_a_number(v, what)
    if len(v) > MAX_NUMBER_CHARS and len(v.strip()) > MAX_NUMBER_CHARS:
        return TOO_LONG
    if _EXPONENT_TEXT.search(unicodedata.normalize("NFKC", v)):
        return EXPONENT
    return None


_PLAIN_NUMBER = re.compile(r"[+\-]?(\d+|\d{1,3}(,\d{3})+)(\.\d*)?|[+\-]?\.\d+")


def _number_text(v: str) -> tuple[str | None, str | None]:
    """Folded number text (full-width → ASCII, ends trimmed), or the problem: a blank between
    digits (`100 200` is two numbers, not 100200)."""
    s = unicodedata.normalize("NFKC", v).strip()
    if re.search(r"[\d,.]\s+[\d,.]", s):
        return None, "数字の間に空白があります（1つのセルに1つの数値を入力してください）"
    return re.sub(r"\s+", "", s), None


def _plain_decimal(s: str) -> tuple[Decimal | None, str | None]:
    """Decimal of `1234`, `1,234.5`, `-0.5` only; anything else (`1,2,3`, `1,00`, `1_000`) is refused."""
    if not _PLAIN_NUMBER.fullmatch(s):
        if "_" in s:
            return None, "「_」を含む数値は読めません"
        if re.fullmatch(r"[+\-]?[\d,]+(\.\d*)?", s):
            return None, "桁区切りのカンマの位置が正しくありません（1,000 のように3桁ごと）"
        return None, "数値として読めません"
    d = Decimal(s.replace(",", ""))  # at most MAX_NUMBER_CHARS digits, no exponent
    if not d.is_zero() and d.adjusted() >= 15:
        return None, TOO_LARGE
    return d, None


def parse_decimal(v: Any) -> tuple[Decimal | None, str | None]:
    problem = guard_number(v)
    if problem:
        return None, problem
    if isinstance(v, (int, np.integer)):
        return Decimal(int(v)), None
    if isinstance(v, (float, np.floating)):
        return Decimal(repr(float(v))), None
    if isinstance(v, Decimal):
        return v, None
    s, problem = _number_text(v)
    if problem:
        return None, problem
    s = s.replace("▲", "-").replace("△", "-")
    pct = s.endswith("%")
    if pct:
        s = s[:-1]
    d, problem = _plain_decimal(s)
    if problem:
        return None, problem
    return (d / 100 if pct else d), None


_EU_GROUPING = re.compile(r"\d{1,3}(\.\d{3})+")


def _yen_text(v: str) -> tuple[Decimal | None, str | None]:
    s, problem = _number_text(v)
    if problem:
        return None, problem
    s = s.replace("¥", "").replace("\\", "").replace("￥", "")
    if s in amounts.DASHES:
        return Decimal(0), None  # a lone dash is 0 (SPEC §4.1)
    s, scale, problem = amounts.split_unit(s)
    if problem:
        return None, problem
    if _EU_GROUPING.fullmatch(s):
        return None, "「.」が小数点か桁区切りか判別できません（円単位の整数で入力してください）"
    d, problem = _plain_decimal(s.replace("▲", "-").replace("△", "-"))
    if problem:
        return None, problem if problem != "数値として読めません" else "金額として読めません"
    return d * scale, None


def parse_yen(v: Any) -> tuple[int | None, str | None]:
    """Whole yen from a cell as typed: 1,200,000円, 「１２０万円」, 「1.2百万円」, 「-」 (0), Excel float
    noise (amounts.py); bounded before any conversion (guard_number); ≤ 1兆円."""
    problem = guard_number(v, "金額")
    if problem:
        return None, problem if problem != NOT_A_NUMBER else "金額ではありません"
    if isinstance(v, (int, np.integer)):
        d = Decimal(int(v))
    elif isinstance(v, (float, np.floating)):
        d = Decimal(repr(float(v)))
    else:
        d, problem = _yen_text(_str(v))
        if problem:
            return None, problem
    n, problem = amounts.whole_yen(d)
    if problem:
        return None, problem
    if n > MAX_YEN:
        return None, "金額が大きすぎます（1兆円以下）"
    return n, None


# 和暦: era → (year before 元年, last year of the era); 平成31 and 昭和64 exist, 平成32 and 昭和65 do not.
_ERAS = {"令和": (2018, None), "R": (2018, None), "平成": (1988, 31), "H": (1988, 31),
         "昭和": (1925, 64), "S": (1925, 64)}
YEAR_FORMAT = "年度として読めません（2025・令和7・R7 のように入力）"


def _era_year(s: str) -> tuple[int | None, str | None] | None:
    """令和7 / R7 / 平成31 / 令和元 → the year, or a problem; None when s is not era text."""
    m = re.fullmatch(r"(令和|平成|昭和|R|H|S)(元\d*|\d{1,3})", s)
    if not m:
        return None
    era, num = m.group(1), m.group(2)
    n = 1 if num == "元" else 0 if num.startswith("元") else int(num)  # 令和元7: no such year
    base, last = _ERAS[era]
    if n < 1 or (last is not None and n > last):
        return None, f"{era}{num}年という年はありません"
    return base + n, None


def parse_year(v: Any) -> tuple[int | None, str | None]:
    if isinstance(v, str) and len(v.strip()) > MAX_NUMBER_CHARS:
        return None, YEAR_FORMAT
    from_date = amounts.fiscal_year_of_date(v)  # a date typed in 年度: its fiscal year (April–March)
    if from_date is not None:
        v, err = from_date
        if err:
            return None, err
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        y = int(v)
    elif isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
        y = int(v)
    else:
        s = _fold(_str(v)).upper().replace("年度", "").replace("年", "")
        era = _era_year(s)
        if era is not None:
            if era[1]:
                return era
            y = era[0]
        elif re.fullmatch(r"\d{4}", s):
            y = int(s)
        else:
            return None, YEAR_FORMAT
    if not 1989 <= y <= 2100:
        return None, YEAR_FORMAT
    return y, None


_TRUE = {"TRUE", "1", "はい", "○", "〇", "◯", "有", "あり", "YES", "Y", "該当", "T"}
_FALSE = {"FALSE", "0", "いいえ", "×", "✕", "無", "なし", "NO", "N", "非該当", "F", "-", "ー"}


def parse_bool(v: Any) -> tuple[bool | None, str | None]:
    if isinstance(v, (bool, np.bool_)):
        return bool(v), None
    if isinstance(v, (int, np.integer, float, np.floating)) and v in (0, 1):
        return bool(v), None
    s = _fold(_str(v)).upper()
    if s in _TRUE:
        return True, None
    if s in _FALSE:
        return False, None
    return None, "はい／いいえ（○／×、1／0）で入力してください"


RATIO_FORMAT = "按分率として読めません（0〜1 または 0%〜100%）"


def parse_ratio(v: Any, max_decimals: int) -> tuple[Decimal | None, str | None]:
    d, err = parse_decimal(amounts.ratio_text(v))  # 「3割」 → 0.3
    if err:
        return None, RATIO_FORMAT if err in ("数値として読めません", NOT_A_NUMBER) else err
    if not 0 <= d <= 1:  # before any quantize: d is bounded from here on
        return None, "按分率は0から1（0%〜100%）の範囲で入力してください"
    step = Decimal(1).scaleb(-max_decimals)
    if isinstance(v, (float, np.floating)) and abs(d - d.quantize(step)) < Decimal("1e-12"):
        d = d.quantize(step)  # Excel's binary noise on a typed 0.35
    if d != d.quantize(step):
        return None, f"按分率は小数{max_decimals}桁までで入力してください"
    return d.normalize(), None


def parse_months(v: Any) -> tuple[int | None, str | None]:
    d, err = parse_decimal(v)
    if err or d != d.to_integral_value() or not 1 <= d <= 12:
        return None, "従事月数は1から12の整数で入力してください"
    return int(d), None


def check_digit(code5: str) -> int:
    """JIS X 0402 check digit of the first five digits (SPEC §5)."""
    total = sum(w * int(c) for w, c in zip((6, 5, 4, 3, 2), code5))
    return (11 - total % 11) % 10


@lru_cache(maxsize=1)
def reference_bodies() -> dict[str, str]:
    """Code → body type of the 1,788 bodies shipped with the package (data/README.md)."""
    import csv
    from importlib.resources import files
    with files("tokkou").joinpath("data/local_government_codes.csv").open(encoding="utf-8") as fh:
        return {r["code"]: r["body_type"] for r in csv.DictReader(fh)}


def parse_body_code(v: Any) -> tuple[str | None, str | None]:
    if isinstance(v, (int, np.integer, float, np.floating)) and not isinstance(v, bool):
        if guard_number(v) or not 0 <= v < 10**6 or not float(v).is_integer():
            return None, "団体コードは6桁の数字です"
        s = f"{int(v):06d}"  # a number cell loses the leading 0 of 01xxxx
    elif isinstance(v, str) and len(v) <= MAX_NUMBER_CHARS:
        s = _fold(v)
    else:
        return None, "団体コードは6桁の数字（検査数字付き）で入力してください"
    if re.fullmatch(r"[^\d\x00-\x7f]+", s):  # a body's name where the code goes (the row UDFs' body_code)
        from . import bodies
        return bodies.code_for_name(s)
    if re.fullmatch(r"\d{5}", s):
        # five digits: a CSV saved by Excel drops the leading 0 of 01xxxx–09xxxx, and some systems
        # use the code without its check digit. Take whichever is a known body, when only one is.
        known = reference_bodies()
        fits = [c for c in ("0" + s, s + str(check_digit(s))) if c in known and check_digit(c[:5]) == int(c[5])]
        if len(fits) == 1:
            return fits[0], None
        return None, "団体コードは6桁の数字（検査数字付き）で入力してください"
    if not re.fullmatch(r"\d{6}", s):
        return None, "団体コードは6桁の数字（検査数字付き）で入力してください"
    if check_digit(s[:5]) != int(s[5]):
        return None, f"団体コードの検査数字が正しくありません（正しくは{s[:5]}{check_digit(s[:5])}）"
    return s, None


def body_type_from_code(code: str, reference: dict[str, str]) -> str:
    """Body type label from a valid code: the reference list first, else the code's structure."""
    if code in reference:
        return reference[code]
    if code[2:5] == "000":
        return "都道府県"
    if 131016 <= int(code) <= 131237:
        return "特別区"
    return "市町村"


class Vocabulary:
    """Maps labels, aliases and English ids of a rulebook vocabulary to an index."""

    def __init__(self, entries, extra: dict[str, int] | None = None):
        self.labels = [e.label for e in entries]
        self.index: dict[str, int] = {}
        for i, e in enumerate(entries):
            for name in (e.id, e.label, *e.aliases):
                self.index[_fold(name).lower()] = i
        for name, i in (extra or {}).items():
            self.index[_fold(name).lower()] = i

    def parse(self, v: Any) -> tuple[int | None, str | None]:
        i = self.index.get(_text(v).lower())
        if i is None:
            return None, f"「{'」「'.join(self.labels)}」のいずれかを入力してください"
        return i, None


_CIRCLED = {"①": 1, "②": 2, "③": 3, "④": 4, "⑤": 5}


class Parsers:
    """All cell parsers for one rulebook (vocabularies, items)."""

    def __init__(self, rb: Rulebook):
        m = rb.model
        self.body_types = Vocabulary(m.body_types, {"prefecture": 0, "municipality": 1})
        self.purposes = Vocabulary(m.main_purposes)
        self.employments = Vocabulary(m.employments)
        self.other_measures = Vocabulary(m.other_measures)
        self.categories: dict[str, int] = {}
        for c in m.categories:
            for name in (str(c.id), c.symbol, c.name, c.title, f"{c.symbol}{c.name}"):
                self.categories[_fold(name).lower()] = c.id
        self.items: dict[str, int] = {}
        self.item_category: list[int] = []
        for idx, (c, it) in enumerate(rb.items):
            self.items[_fold(it.id).lower()] = idx
            self.items[_fold(it.label).lower()] = idx
            self.items[_fold(f"{it.id} {it.label}").lower()] = idx
            self.item_category.append(c.id)
        self.max_decimals = m.interpretations.apportion.max_decimals

    def category(self, v: Any) -> tuple[int | None, str | None]:
        key = _text(v).lower()
        if key in self.categories:
            return self.categories[key], None
        if key[:1] in _CIRCLED:
            return _CIRCLED[key[:1]], None
        return None, "区分は1〜5、①〜⑤または区分名で入力してください"

    def item(self, v: Any) -> tuple[int | None, str | None]:
        """An annex item by its ID (「C3-06」, 「C3-06 移住体験住宅…」); any other wording is open
        (None, no problem): the engine matches it within the line's category (items.py)."""
        key = _text(v).lower()
        m = re.match(r"(c[1-5]-\d{2})", key)
        if m:
            if m.group(1) in self.items:
                return self.items[m.group(1)], None
            return None, "別添の経費項目IDとして見つかりません"
        return None, None

    def for_kind(self, kind: str) -> Callable[[Any], tuple[Any, str | None]]:
        return self._by_kind[kind]

    @property
    def _by_kind(self) -> dict[str, Callable[[Any], tuple[Any, str | None]]]:
        cached = self.__dict__.get("_kinds")
        if cached is not None:
            return cached
        self._kinds = {
            "yen": parse_yen,
            "year": parse_year,
            "bool": parse_bool,
            "decimal": parse_decimal,
            "ratio": lambda v: parse_ratio(v, self.max_decimals),
            "months": parse_months,
            "body_code": parse_body_code,
            "body_type": self.body_types.parse,
            "main_purpose": self.purposes.parse,
            "employment": self.employments.parse,
            "other_measure": self.other_measures.parse,
            "category": self.category,
            "item": self.item,
            "text": lambda v: (_text(v), None),
        }
        return self._kinds


@dataclass
class Parsed:
    """One parsed column: per-row codes into the parsed distinct values (-1 = blank)."""

    codes: np.ndarray
    values: list
    given: np.ndarray
    direct: np.ndarray | None = None  # numeric fast path: the values themselves

    def take(self, fill, dtype=object) -> np.ndarray:
        if self.direct is not None:
            return self.direct
        table = np.array([fill if v is None else v for v in self.values] + [fill], dtype=dtype)
        return table[self.codes]

    def value_codes(self) -> tuple[np.ndarray, int]:
        """Per-row codes of the parsed value (equal values, equal codes; blank/bad = -1), and their count."""
        if self.direct is not None:
            codes, uniq = pd.factorize(self.direct)
            return codes.astype(np.int64), len(uniq)
        seen: dict = {}
        table = np.array([-1 if v is None else seen.setdefault(v, len(seen)) for v in self.values] + [-1],
                         dtype=np.int64)
        return table[self.codes], len(seen)

    def value_at(self, row: int):
        if self.direct is not None:
            return self.direct[row]
        code = int(self.codes[row])  # codes index values + [None] (the last: blank); no copy per call
        if code < 0:
            code += len(self.values) + 1
        return self.values[code] if code != len(self.values) else None

    def map(self, fn, fill, dtype=object) -> np.ndarray:
        """Apply fn to each distinct parsed value (not per row)."""
        table = np.array([fill if v is None else fn(v) for v in self.values] + [fill], dtype=dtype)
        return table[self.codes]


def absent(n: int) -> Parsed:
    """A column the input does not have: every row blank."""
    return Parsed(codes=np.zeros(n, dtype=np.int64), values=[], given=np.zeros(n, dtype=bool))


def parse_column(values, parser, column: Column, errors: dict[int, list[str]]) -> Parsed:
    """Parse one column, once per distinct value; bad values add a reason to `errors[row]`.

    A million-row column of a few hundred distinct entries costs a few hundred parses.
    """
    n = len(values)
    if isinstance(values, np.ndarray) and values.dtype == object and n > 64 and is_blank(values[0]) \
            and pd.isna(values).all():
        return absent(n)
    if column.kind == "yen" and isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return _yen_fast(values, column, errors)
    if n <= 64:
        uniques = list(values)
        codes = np.arange(n)
    else:
        codes, uniq = _factorize(values)
        uniques = list(uniq)
    parsed_vals, parsed_err, parsed_given = _parse_uniques(uniques, parser)
    codes = np.where(codes < 0, len(uniques), codes)
    given = np.array(parsed_given + [False], dtype=bool)[codes]
    if any(parsed_err):
        bad = np.array([e is not None for e in parsed_err] + [False])
        for row in np.flatnonzero(bad[codes]):
            errors.setdefault(int(row), []).append(value_problem(column, uniques[codes[row]], parsed_err[codes[row]]))
    return Parsed(codes=codes, values=parsed_vals, given=given)


def _parse_uniques(uniques: list, parser) -> tuple[list, list, list]:
    """parse_value of each distinct cell: (values, problems, given); amounts in the commonest
    spellings in one pass of _yen_quick first (the same answer parse_value gives them)."""
    n = len(uniques)
    if parser is parse_yen:
        vals = list(map(_yen_quick, uniques))
        rest = [i for i, v in enumerate(vals) if v is None]
        errs, given = [None] * n, [True] * n
    else:
        vals, rest, errs, given = [None] * n, range(n), [None] * n, [True] * n
    for i in rest:
        val, err, given[i] = parse_value(uniques[i], parser)
        vals[i], errs[i] = (None if err else val), err
    return vals, errs, given


def parse_value(u: Any, parser) -> tuple[Any, str | None, bool]:
    """One distinct cell of a column: (value, problem, given). parse_column's step, and the whole of
    it for the one-line path (engine_xp.One)."""
    if parser is parse_yen and (val := _yen_quick(u)) is not None:
        return val, None, True
    if is_blank(u):
        return None, None, False
    val, err = _parse_cell(parser, u)
    return val, err, True


def value_problem(column: Column, u: Any, problem: str) -> str:
    return f"列「{column.ja}」({column.key}) の値「{_show(u)}」: {problem}。"


class _Shown:
    """A cell stand-in shown as `text`; equal (and hashed) by its class and its slots' values."""

    __slots__ = ()

    def _key(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


class Opaque(_Shown):
    """A cell value that cannot be hashed (a list or dict in a JSON cell), shown as typed."""

    __slots__ = ("text", "type_name")

    def __init__(self, v: Any):
        self.text, self.type_name = _show(repr(v)), type(v).__name__


class Conflict(_Shown):
    """One line's cell where two columns meaning the same field (`cost` and 事業費, or 事業費 twice)
    hold different values: that cell is an error naming both columns, never a silent pick."""

    __slots__ = ("text", "problem")

    def __init__(self, names: tuple[str, str], values: tuple[Any, Any]):
        self.text = f"{_show(values[0])}／{_show(values[1])}"
        self.problem = f"列{names[0]}と列{names[1]}に違う値があります。どちらか一方にしてください"


def same_cell(a: Any, b: Any) -> bool:
    """Two cells that say the same thing (1000 and 1,000, full or half width)."""
    def norm(v):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return _fold(_str(v)).replace(",", "")
    return norm(a) == norm(b)


def _factorize(values):
    """pd.factorize, with unhashable cells (lists, dicts) replaced by an Opaque first."""
    try:
        return pd.factorize(values, use_na_sentinel=True)
    except TypeError:
        safe = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            try:
                hash(v)
                safe[i] = v
            except TypeError:
                safe[i] = Opaque(v)
        return pd.factorize(safe, use_na_sentinel=True)


def _parse_cell(parser, u: Any) -> tuple[Any, str | None]:
    """One distinct cell through its parser; an unusable value is that cell's error, never the run's."""
    if isinstance(u, Conflict):
        return None, u.problem
    if isinstance(u, (Opaque, list, dict, tuple, set)):  # JSON arrays/objects: no column takes them
        return None, "1つのセルには1つの値を入力してください（値の並びや組は読めません）"
    err = _excel_error(u)
    if err:
        return None, err
    try:
        return parser(u)
    except Exception:  # noqa: BLE001 - one cell must never stop a run; the parsers' own tests catch bugs
        return None, "値として読めません"


# The commonest amount spellings (1234567, 1,234,567, 1,234,567円; ASCII, at most 12 digits so
# always within MAX_YEN): what parse_yen gives them, without its general path (a property test
# holds the two equal). Anything else returns None and goes through parse_yen.
_QUICK_YEN = re.compile(r"(\d{1,3}(?:,\d{3}){1,3}|\d{1,12})円?", re.ASCII)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９，", "0123456789,")  # their NFKC forms, as parse_yen folds


def _yen_quick(u: Any) -> int | None:
    if type(u) is int and 0 <= u <= MAX_YEN:  # a whole number of yen as Excel sends it
        return u
    if type(u) is str and len(u) <= 16 and ((m := _QUICK_YEN.fullmatch(u))
                                            or (m := _QUICK_YEN.fullmatch(u.translate(_FULL_WIDTH)))):
        return int(m.group(1).replace(",", ""))
    return None


def _yen_fast(values: np.ndarray, column: Column, errors: dict[int, list[str]]) -> Parsed:
    arr = values.astype(np.int64, copy=False)
    bad = (arr < 0) | (arr > MAX_YEN)
    if bad.any():
        for row in np.flatnonzero(bad):
            _, err = parse_yen(int(arr[row]))
            errors.setdefault(int(row), []).append(
                f"列「{column.ja}」({column.key}) の値「{arr[row]}」: {err}。")
        arr = np.where(bad, 0, arr)
    n = len(arr)
    return Parsed(codes=np.zeros(n, dtype=np.int64), values=[], given=np.ones(n, dtype=bool), direct=arr)
