"""Canonical comparison of Excel formulas (SPEC §4.3 "Review never cries wolf").

Formulas are split by openpyxl's tokenizer (`openpyxl.formula.Tokenizer`). We use it rather than
the `formulas` package: openpyxl already reads every workbook here, its tokenizer is a small pure
function from text to typed tokens (function, reference, number, text, operator), and `formulas`
would pull in numpy/schedula and a whole evaluator just to split text.

Canonical tokens make equal what only the saving program changed, and nothing else:
- function names case-folded, without the `_xlfn.`, `_xlws.`, `_xldudf_` prefixes (and `[2]!_xldudf_NAME`);
- `TRUE()`/`FALSE()` equal `TRUE`/`FALSE`;
- numbers by value (`0.5`, `.50`, `5E-1`);
- whitespace (except a space between two references: Excel's intersection operator), `$` and
  sheet-name quoting ignored; references and sheet names case-folded (Excel ignores their case).
Text constants, operators, every reference and every function stay as they are, so a real edit is
still a difference, and `first_difference` names the first token that differs.

Speed: the template's formulas differ from row to row only in their row numbers, so each formula is
canonicalised with its row numbers relative to the row it sits in and cached by that shape; a
LibreOffice-saved workbook then costs one tokenizer run per column, not one per cell.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from openpyxl.formula.tokenizer import Token, Tokenizer, TokenizerError

# An A1 cell reference (column letters, row digits). The look-arounds keep it out of names
# (TK_X5), function names (LOG10(), numbers (1E5) and unquoted sheet names (AB5!A1).
_CELL = re.compile(r"(?<![A-Za-z0-9_.\\])(\$?[A-Za-z]{1,3})(\$?)(\d+)(?![\d(A-Za-z_.!\[])")
# For the cache key: text constants and quoted sheet names (kept as they are), or a cell reference.
_SHAPE = re.compile(r'("(?:[^"]|"")*"|\'(?:[^\']|\'\')*\')|' + _CELL.pattern)
_PREFIXES = ("_xlfn.", "_xlws.", "_xldudf_")
_UDF_LINK = re.compile(r"^\[\d+\]!(?=_xldudf_)", re.IGNORECASE)
_CACHE_MAX = 20_000
_cache: dict[str, tuple] = {}  # row-relative shape → canonical tokens
_TEXT_CACHE_MAX = 8_000  # a template's formulas and one other program's spelling of them
_by_text: dict[tuple[str, int], tuple] = {}  # (formula, row) → canonical tokens


def function_name(raw: str) -> str:
    """`[2]!_xldudf_eligible_amount(` → `ELIGIBLE_AMOUNT`."""
    name = _UDF_LINK.sub("", raw[:-1] if raw.endswith("(") else raw)
    stripped = True
    while stripped:
        stripped = False
        for p in _PREFIXES:
            if name[:len(p)].lower() == p:
                name, stripped = name[len(p):], True
    return name.upper()


def _split_sheet(ref: str) -> tuple[str | None, str]:
    """`'事業'!$A$1` → ("事業", "$A$1"); a reference without a sheet → (None, ref)."""
    if ref.startswith("'"):
        i = 1
        while i < len(ref):
            if ref[i] == "'":
                if ref[i + 1:i + 2] == "'":
                    i += 2
                    continue
                break
            i += 1
        if ref[i + 1:i + 2] == "!":
            return ref[1:i].replace("''", "'"), ref[i + 2:]
        return None, ref
    if "!" in ref:
        sheet, _, addr = ref.rpartition("!")
        return sheet, addr
    return None, ref


def _relative(m: re.Match, row: int) -> str:
    """A relative row number as its offset from `row` (`E5` in row 5 → `E{+0}`); `E$5` stays."""
    return m.group(0) if m.group(2) else f"{m.group(1)}{{{int(m.group(3)) - row:+d}}}"


def _reference(value: str, row: int | None) -> str:
    sheet, addr = _split_sheet(value)
    if row is not None:
        addr = _CELL.sub(lambda m: _relative(m, row), addr)
    addr = addr.replace("$", "").upper()
    return addr if sheet is None else f"{sheet.upper()}!{addr}"


def _number(value: str) -> str:
    try:
        d = Decimal(value).normalize()
    except InvalidOperation:
        return value
    return format(d, "f") if d == d.to_integral_value() and abs(d) < Decimal("1e30") else str(d)


def canonical_tokens(formula: str, row: int | None = None, with_source: bool = False) -> tuple:
    """Canonical tokens of `formula` (with or without its leading `=`).

    row: when given, relative row numbers of A1 references are written as offsets from it (`E5` in
    row 5 → `E{+0}`, `E$5` stays `E5`), so the same column's formulas share one canonical form.
    with_source: pairs (canonical token, token as written), for showing a difference.
    A formula the tokenizer cannot split (an unclosed quote) is one token: its text without spaces.
    """
    text = formula if formula.startswith("=") else "=" + formula
    try:
        items = Tokenizer(text).items
    except (TokenizerError, IndexError, ValueError):
        tok = ("RAW", re.sub(r"\s+", "", text))
        return ((tok, text),) if with_source else (tok,)
    out: list = []
    i, n = 0, len(items)
    while i < n:
        t = items[i]
        src = t.value
        if t.type == Token.WSPACE:
            prev = out[-1][0] if out else None
            nxt = next((x for x in items[i + 1:] if x.type != Token.WSPACE), None)
            if (prev is not None and prev[0] in ("R", Token.CLOSE)) and nxt is not None and (
                    (nxt.type == Token.OPERAND and nxt.subtype == Token.RANGE) or nxt.subtype == Token.OPEN):
                out.append((("OI", " "), src))  # the intersection operator
            i += 1
            continue
        if t.type == Token.FUNC and t.subtype == Token.OPEN:
            name = function_name(src)
            close = i + 1
            while close < n and items[close].type == Token.WSPACE:
                close += 1
            if name in ("TRUE", "FALSE") and close < n and items[close].type == Token.FUNC \
                    and items[close].subtype == Token.CLOSE:
                out.append((("L", name), "".join(x.value for x in items[i:close + 1])))
                i = close + 1
                continue
            tok = ("F", name)
        elif t.type == Token.OPERAND:
            if t.subtype == Token.RANGE and src.upper() in ("TRUE", "FALSE"):
                tok = ("L", src.upper())  # the tokenizer knows only the upper-case spelling
            elif t.subtype == Token.RANGE:
                tok = ("R", _reference(src, row))
            elif t.subtype == Token.NUMBER:
                tok = ("N", _number(src))
            elif t.subtype in (Token.LOGICAL, Token.ERROR):
                tok = (t.subtype[0], src.upper())
            else:
                tok = ("T", src)
        elif t.type in (Token.FUNC, Token.PAREN, Token.ARRAY):
            tok = (t.subtype, t.type) if t.subtype == Token.CLOSE else (t.subtype, t.type, src)
        else:  # operators and separators
            tok = (t.type, src)
        out.append((tok, src))
        i += 1
    return tuple(out) if with_source else tuple(tok for tok, _ in out)


def shape_key(formula: str, row: int) -> str:
    """The formula with each relative A1 row number written as an offset from `row`, text untouched."""
    def sub(m: re.Match) -> str:
        if m.group(1):
            return m.group(1)
        return m.group(0) if m.group(3) else f"{m.group(2)}{{{int(m.group(4)) - row:+d}}}"
    return _SHAPE.sub(sub, formula)


def canonical_in_row(formula: str, row: int) -> tuple:
    """canonical_tokens(formula, row), cached by the formula's row-relative shape (and by its text)."""
    hit = _by_text.get((formula, row))
    if hit is not None:
        return hit
    key = shape_key(formula, row)
    hit = _cache.get(key)
    if hit is None:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        hit = _cache[key] = canonical_tokens(formula, row)
    if len(_by_text) >= _TEXT_CACHE_MAX:
        _by_text.clear()
    _by_text[(formula, row)] = hit
    return hit


def same_formula(found: str, expected: str, row: int | None = None) -> bool:
    """Whether two formula texts (in the same cell of `row`, when given) are the same formula once canonical."""
    if found == expected:
        return True
    if row is not None and canonical_in_row(found, row) == canonical_in_row(expected, row):
        return True
    # different shapes may still be one formula when only a `$` moved (E$5 and E5 in row 5)
    return canonical_tokens(found) == canonical_tokens(expected)


def first_difference(found: str, expected: str, width: int = 80) -> tuple[int, str, str, str, str]:
    """Where two formulas first differ, once canonical.

    Returns (1-based token position, token as found, token as expected, found text from that token on,
    expected text from that token on) — the texts cut to `width` characters. A formula that ends
    early shows 「（式の終わり）」. Equal formulas give (0, "", "", "", "").
    """
    a = canonical_tokens(found, with_source=True)
    b = canonical_tokens(expected, with_source=True)
    end = "（式の終わり）"
    for i in range(max(len(a), len(b))):
        ta = a[i] if i < len(a) else None
        tb = b[i] if i < len(b) else None
        if ta is None or tb is None or ta[0] != tb[0]:
            return (i + 1, ta[1] if ta else end, tb[1] if tb else end,
                    _tail(found, a, i, width, end), _tail(expected, b, i, width, end))
    return 0, "", "", "", ""


def _tail(formula: str, tokens: tuple, i: int, width: int, end: str) -> str:
    """The formula's text from its i-th token on (found by walking the tokens' source text)."""
    if i >= len(tokens):
        return end
    text = formula if formula.startswith("=") else "=" + formula
    cursor = 1
    for _, src in tokens[:i + 1]:
        at = text.find(src, cursor)
        if at < 0:
            return tokens[i][1]
        start, cursor = at, at + len(src)
    piece = text[start:start + width]
    return ("…" if start > 1 else "") + piece + ("…" if len(text) > start + width else "")
