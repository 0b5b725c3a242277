"""Small pieces of Excel formula text shared by the native and add-in formulas (pure strings)."""
from __future__ import annotations

MAX_YEN = 10**12


def q(text: str) -> str:
    """An Excel string literal."""
    return '"' + str(text).replace('"', '""') + '"'


def floordiv(a: str, n: str, s: str) -> str:
    """floor(a × n ÷ s) for integers 0 ≤ a ≤ 1e12, 0 ≤ n ≤ s, exact in IEEE doubles.

    a×n can exceed 2^53, so a is split at s: floor(a·n/s) = ⌊a/s⌋·n + ⌊(a mod s)·n/s⌋, and every
    product stays below 2^53. (ROUNDDOWN(a*0.29,0) can floor 28.999999… to 28; this cannot.)
    """
    hi = f"INT(({a})/{s})"
    return f"({hi}*{n}+INT((({a})-{hi}*{s})*{n}/{s}))"


def chain(checks: list[tuple[str, str]]) -> str:
    """IF(c1,m1,IF(c2,m2,…,"")): the first condition that holds decides."""
    out = '""'
    for cond, val in reversed(checks):
        out = f"IF({cond},{val},{out})"
    return out


def any_of(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"OR({','.join(parts)})"


def all_of(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"AND({','.join(parts)})"


def message(key: str) -> str:
    """The text of rule message `key` ("RULE-ID:variant") for the body's fiscal period.

    Message texts live on the ルール sheet (one row per key, one column per parameter period), so
    rewording a message in the rulebook changes that sheet, never a formula.
    """
    return f"INDEX(TK_MSG,MATCH({q(key)},TK_MSG_KEYS,0),TK_PERIOD)"


def bad_yen(c: str) -> str:
    """TRUE when cell c holds something other than blank or a whole yen amount 0 … 1兆."""
    return f'IF({c}="",FALSE,IF(ISNUMBER({c}),OR({c}<0,{c}<>INT({c}),{c}>{MAX_YEN}),TRUE))'


def present(c: str) -> str:
    """1 when cell c holds a non-zero value, else 0 (a blank or a 0 makes no line)."""
    return f'IF({c}="",0,IF({c}=0,0,1))'


def positional(order, given: dict) -> list:
    """Arguments in the UDF's order; unused ones in the middle become "" (blank = default)."""
    last = max(i for i, k in enumerate(order) if k in given)
    return [given.get(k, ("lit", "")) for k in order[: last + 1]]


def render(call) -> str:
    """A UDF call (name, [argument spec]) as formula text."""
    func, args = call
    return f"{func}(" + ",".join(render_arg(a) for a in args) + ")"


def render_arg(a) -> str:
    """One argument spec: ("cell"|"name", ref), ("blankable", ref), ("lit", value) or ("array", [specs])."""
    kind, v = a
    if kind in ("cell", "name"):
        return v
    if kind == "blankable":
        # a blank cell passed as "" explicitly: Excel desktop would pass an empty cell to an Office.js
        # function as 0 (office-js issue 5262), Excel for the web as null; "" means blank on both.
        return f'IF({v}="","",{v})'
    if kind == "lit":
        return q(v) if isinstance(v, str) else str(v)
    # a 1×n array from cells: CHOOSE({1,2,…},a,b,…) works in Excel and LibreOffice
    return "CHOOSE({" + ",".join(str(i + 1) for i in range(len(v))) + "}," + ",".join(render_arg(p) for p in v) + ")"
