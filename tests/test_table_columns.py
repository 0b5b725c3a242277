"""The table layer's column operations give exactly what the per-cell code they replaced gave.

Each old per-cell function is kept here as the oracle; the new column operations must produce
the same bytes on the benchmark's generated lines (every rule, office-style values) and on
frames built to hit every edge (formula-like text of every kind, blanks of every kind, numbers,
Decimals, NUL inside a cell, duplicate headers).
"""
from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from gen_lines import generate  # noqa: E402

from tokkou import engine, rulebook, tabular  # noqa: E402

import re  # noqa: E402

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
SIGNED_NUMBER = re.compile(r"[+\-]?[\d,]*\.?\d+")


def old_escape_cell(v):
    """The per-cell escaping rule (the oracle, issue 11): formula-like text gets a leading apostrophe;
    a lone sign and a signed number are data."""
    if isinstance(v, str) and v.startswith(FORMULA_START) and v not in ("-", "+") and not SIGNED_NUMBER.fullmatch(v):
        return "'" + v
    return v


def old_csv_bytes(df: pd.DataFrame, tmp: Path) -> bytes:
    safe = df.apply(lambda c: c.map(old_escape_cell)) if len(df) else df.copy()
    safe.columns = [old_escape_cell(c) for c in df.columns]
    safe.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return tmp.read_bytes()


def new_csv_bytes(df: pd.DataFrame, tmp: Path) -> bytes:
    tabular.write_table(df, tmp)
    return tmp.read_bytes()


@pytest.fixture(scope="module")
def generated_result() -> pd.DataFrame:
    df = generate(3000, seed=11)
    # formula-like text in input columns, as a hostile or careless office could type it
    df.loc[::7, "事業名"] = "=HYPERLINK(\"http://x\",\"y\")"
    df.loc[3::11, "事業名"] = "-1+2"
    df.loc[5::13, "団体名"] = "@SUM(A1)"
    df.loc[9::17, "経費項目"] = "\tC1-01"
    df.loc[2::19, "主目的"] = "\r二地域居住・関係人口"
    df.loc[4::23, "按分率"] = "+0.5"
    return engine.evaluate_frame(df, rulebook.get())


def test_generated_lines_csv_is_byte_identical(generated_result, tmp_path):
    assert new_csv_bytes(generated_result, tmp_path / "new.csv") == old_csv_bytes(generated_result, tmp_path / "old.csv")
    assert b"'=HYPERLINK" in (tmp_path / "new.csv").read_bytes()  # the escaping really happened


def test_generated_lines_without_formulas_are_byte_identical(tmp_path):
    res = engine.evaluate_frame(generate(2000, seed=3), rulebook.get())
    assert new_csv_bytes(res, tmp_path / "new.csv") == old_csv_bytes(res, tmp_path / "old.csv")


@pytest.mark.parametrize("values", [
    ["=1+1", "a", None, np.nan, ""],
    ["a", "b\0=c", "d"],  # a NUL inside a cell is no formula start
    ["\0=x", "y"],
    ["x", "y", "-"],
    ["+", "@", "\t", "\r", "\r\n", " =not", "＝full-width"],
    [Decimal("0.5"), None, Decimal("1")],
    [Decimal("0.5"), "=2", None],
    [1, "=2", 3.5, True],
    [None, None],
    [np.nan, np.nan],
    [pd.NA, "x"],
    [pd.NA, "-1"],
    [b"=bytes", "ok"],
])
def test_edge_columns_are_byte_identical(values, tmp_path):
    df = pd.DataFrame({"a": pd.Series(values, dtype=object), "b": range(len(values))})
    df["c"] = pd.array([None if i % 2 else i for i in range(len(values))], dtype="Int64")
    df["d"] = pd.Series([str(v) if isinstance(v, str) else "t" for v in values], dtype="str")
    assert new_csv_bytes(df, tmp_path / "new.csv") == old_csv_bytes(df, tmp_path / "old.csv")


def test_duplicate_headers_and_empty_frames(tmp_path):
    df = pd.DataFrame([["=1", "x", "-2"], ["y", "@z", "w"]], columns=["a", "a", "=b"], dtype=object)
    assert new_csv_bytes(df, tmp_path / "new.csv") == old_csv_bytes(df, tmp_path / "old.csv")
    empty = pd.DataFrame(columns=["a", "b"], dtype=object)
    assert new_csv_bytes(empty, tmp_path / "e_new.csv") == old_csv_bytes(empty, tmp_path / "e_old.csv")


def test_escape_leaves_the_callers_frame_alone():
    df = pd.DataFrame({"a": ["=1", "b"]}, dtype=object)
    out = tabular.escape_formulas(df)
    assert out["a"].tolist() == ["'=1", "b"] and df["a"].tolist() == ["=1", "b"]


# ---- calc summary: category labels once per distinct value -------------------------------------

def test_summary_is_the_same_as_with_a_call_per_row(generated_result, monkeypatch):
    from tokkou import calc
    rb = rulebook.get()
    new = calc.summarize(generated_result, rb)
    monkeypatch.setattr(calc, "map_distinct", lambda s, fn: s.map(fn))  # the old per-row label
    old = calc.summarize(generated_result, rb)
    pd.testing.assert_frame_equal(new, old)
    assert new.loc["合計", "行数"] == len(generated_result)


@pytest.mark.parametrize("values", [
    ["1", "①", "1", "情報発信", "", "x", "①"],
    [1, 1.0, True, "1", Decimal("1"), None, np.nan, pd.NA, 4, "④"],
    [["unhashable"], "2", None],
    [],
])
def test_map_distinct_equals_map(values):
    from tokkou.columnwise import map_distinct
    from tokkou.normalize import Parsers
    parsers = Parsers(rulebook.get())
    calls = []

    def fn(v):
        calls.append(v)
        return (type(v).__name__, parsers.category(v)[0] if not isinstance(v, list) else None)

    s = pd.Series(values, dtype=object, index=range(10, 10 + len(values)), name="区分")
    got = map_distinct(s, fn)
    pd.testing.assert_series_equal(got, s.map(fn).astype(object))
    if all(isinstance(v, str) for v in values):
        assert len(calls) == len(set(values)) + len(values)  # once per distinct value (plus map's own calls)
