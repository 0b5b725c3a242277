"""団体名 → 団体コード decided once per distinct value gives what the per-line loop gave."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from gen_lines import generate  # noqa: E402

from tokkou import engine, rulebook  # noqa: E402


def per_line(code_p, name_p, type_given, error):
    """The per-line loop as it was (the oracle)."""
    from tokkou import bodies
    from tokkou.engine_wording import _body_of
    from tokkou.normalize import Parsed
    n = len(name_p.codes)
    values, seen = [], {}
    for row in range(n):
        code = code_p.value_at(row) if code_p.given[row] else None
        name = name_p.value_at(row) if name_p.given[row] else None
        key = (code, name, bool(type_given[row]), bool(code_p.given[row]))
        if key not in seen:
            seen[key] = _body_of(bodies, code, name, key[2], key[3])
        found, problem = seen[key]
        if problem:
            error(row, "body_name", f"列「団体名」(body_name) の値「{name}」: {problem}。")
        values.append(found)
    given = np.array([v is not None for v in values], dtype=bool) | code_p.given
    return Parsed(codes=np.arange(n), values=values, given=given)


def frame() -> pd.DataFrame:
    df = generate(3000, seed=5)
    df.loc[::3, "団体コード"] = ""
    df.loc[::5, "団体区分"] = ""
    df.loc[1::7, "団体名"] = "府中市"          # two bodies share it
    df.loc[2::11, "団体名"] = "どこでもない町"   # not in the list
    df.loc[4::13, "団体名"] = ""
    df.loc[6::17, "団体コード"] = "131016"      # a code that disagrees with the name
    df.loc[8::19, "団体コード"] = "12345x"      # a bad code
    return df


def test_same_codes_values_and_errors_as_per_line(monkeypatch):
    rb = rulebook.get()
    df = frame()
    new = engine.evaluate_frame(df, rb)
    from tokkou import engine_wording
    monkeypatch.setattr(engine_wording, "codes_from_names", per_line)
    old = engine.evaluate_frame(df, rb)
    pd.testing.assert_frame_equal(new, old)
    assert (new["status"] == "error").any() and (new["status"] != "error").any()


# ---- amounts: the quick spellings give exactly what parse_yen gives ------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

from tokkou import normalize  # noqa: E402

_SPELLINGS = st.one_of(
    st.integers(0, 10**13).map(str),
    st.integers(0, 10**13).map(lambda v: f"{v:,}"),
    st.integers(0, 10**13).map(lambda v: f"{v:,}円"),
    st.integers(0, 10**13).map(lambda v: f"{v}円"),
    st.integers(0, 10**6).map(lambda v: f"{v:07d}"),
    st.text(alphabet="0123456789,円 ．.-+¥千万百e１２", max_size=18),
    st.integers(0, 10**13).map(lambda v: f"{v:,}".translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))),
    st.text(alphabet="０１２３４５６７８９，,0１円 ", max_size=18),
)


@settings(max_examples=3000, deadline=None)
@given(_SPELLINGS)
def test_quick_amounts_equal_parse_yen(text):
    quick = normalize._yen_quick(text)
    if quick is not None:
        assert normalize.parse_yen(text) == (quick, None)


def test_quick_amounts_are_used_and_the_rest_still_parsed():
    assert normalize._yen_quick("1,234,567円") == 1234567
    assert normalize._yen_quick("１２３") == 123 and normalize._yen_quick("１，２３４円") == 1234
    assert normalize._yen_quick("1,23") is None and normalize._yen_quick("１，２３") is None
    assert normalize._yen_quick("9999999999999") is None  # 13 digits: parse_yen decides (too large)
