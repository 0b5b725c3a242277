"""The column-wise CSV writer gives the bytes pandas' to_csv gives, escaping included (issue 12)."""
from __future__ import annotations

import io
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokkou import cellsafe, csv_writer

TEXT = st.text(alphabet=st.sampled_from(list('ab,"\r\n =+-@\t1円事業\'')), max_size=8)
CELL = st.one_of(st.none(), TEXT, st.integers(-10**6, 10**6), st.sampled_from([Decimal("0.5"), Decimal("0.50"), Decimal("1")]))


def _pandas(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    cellsafe.csv_safe(df).to_csv(buf, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return buf.getvalue()


def _ours(df: pd.DataFrame) -> bytes | None:
    buf = io.BytesIO()
    return buf.getvalue() if csv_writer.write(df, buf, cellsafe.escape_text, cellsafe.FORMULA_AFTER_NUL) else None


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(
    st.lists(st.lists(TEXT, min_size=n, max_size=n), min_size=2, max_size=5),   # text columns
    st.lists(st.lists(CELL, min_size=n, max_size=n), min_size=0, max_size=2),   # mixed columns
    st.lists(st.one_of(st.none(), st.integers(0, 10**12)), min_size=n, max_size=n),
    st.lists(TEXT, min_size=8, max_size=8, unique=True))))
def test_same_bytes_as_pandas(data):
    texts, mixed, ints, names = data
    cols = {names[i]: pd.Series(c, dtype="str") for i, c in enumerate(texts)}
    cols.update({names[4 + i]: pd.Series(c, dtype=object) for i, c in enumerate(mixed)})
    cols[names[7]] = pd.array(ints, dtype="Int64")
    df = pd.DataFrame(cols)
    ours = _ours(df)
    assert ours is not None and ours == _pandas(df)


def test_merged_low_cardinality_columns_keep_their_rows():
    n = 1000
    df = pd.DataFrame({"a": ["x", "y,z", None, "=1"] * (n // 4), "b": [str(i % 3) for i in range(n)],
                       "c": [f"r{i}" for i in range(n)], "d": pd.array([None, 5] * (n // 2), dtype="Int64")})
    assert _ours(df) == _pandas(df)


def test_floats_go_through_pandas():
    df = pd.DataFrame({"a": [1.5, None], "b": ["x", "y"]})
    assert _ours(df) is None


@pytest.mark.parametrize("cell", [lambda i: f'=x{i}' if i % 7 == 0 else f'a,"{i}"\n',  # formulas: escaped
                                  lambda i: f'a"{i}"' if i % 3 else f"b,{i}",               # quotes
                                  lambda i: f"c,{i}" if i % 2 else f"d\r{i}",              # separators only
                                  lambda i: f"plain{i}"])
def test_a_column_of_mostly_distinct_texts_is_written_cell_by_cell_with_the_same_bytes(cell):
    n = 20_000
    df = pd.DataFrame({"name": [None if i % 11 == 0 else cell(i) for i in range(n)],
                       "body": [f"b{i % 50}" for i in range(n)]}, dtype="str")
    assert csv_writer._mostly_distinct(df["name"].to_numpy(dtype=object))
    assert not csv_writer._mostly_distinct(df["body"].to_numpy(dtype=object))
    assert _ours(df) == _pandas(df)


@pytest.mark.parametrize("dtype, big", [("uint64", 2**64 - 1), ("uint64", 2**63), ("UInt64", 2**63),
                                        ("uint8", 255), ("int16", -32768), ("Int8", -128), ("Int64", -2**63)])
def test_integer_columns_of_every_kind_as_pandas_writes_them(dtype, big):
    import numpy as np
    n = pd.Series(np.array([big, 0, 1, big], dtype=dtype.lower())).astype(dtype)
    if dtype[0].isupper():
        n[3] = None
    df = pd.DataFrame({"n": n, "t": ["a", "b,c", "=1", "d"]})
    want = _pandas(df)
    assert f"\r\n{big},a\r\n".encode() in want
    ours = _ours(df)
    assert ours is None or ours == want
