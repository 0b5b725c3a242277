"""A function's #VALUE! message says what is wrong, worded alike across the functions."""
from __future__ import annotations

import pytest

from officejs import XlwingsError, call, params


def _message(name, *args, **named) -> str:
    with pytest.raises(XlwingsError) as e:
        call(name, *args, **named)
    return str(e.value)


@pytest.mark.parametrize("name, args", [("MEASURE_RATE", (1, "昭和50")), ("MEASURE_RATE", (1, 2025, "3")),
                                         ("MEASURE_AMOUNT", (9, 1000)), ("ELIGIBLE_AMOUNT", (1, "abc")),
                                         ("COORD_CAP", ("パート",)), ("COORD_AMOUNT", (1000, "常勤"))])
def test_input_errors_start_alike(name, args):
    msg = _message(name, *args)
    assert msg.startswith("[入力エラー] 列「"), msg


def test_coord_cap_of_a_year_before_the_measure_says_only_that():
    msg = _message("COORD_CAP", "専任", "令和6")
    assert msg.startswith("対象外: [SCOPE-FY]") and "令和7年度" in msg, msg
    assert "CAT-4" not in msg and "当たります" not in msg, msg
    assert call("COORD_CAP", "専任", "令和7") > 0


def test_readme_gives_each_line_functions_arguments_in_their_real_order():
    """The README's 「行の関数（…）の引数は `…` の順」 and 「X の引数は `…` の順」 match the functions'
    argument lists (MEASURE_RATE's is 区分, 年度, 財政力補正係数, not 区分, 事業費)."""
    import re
    from pathlib import Path

    from tokkou.normalize import BY_KEY
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    checked = set()
    for group, single, args in re.findall(r"(?:行の関数（([A-Z_・]+)）|([A-Z_]+) )の引数は `([^`]*)` の順", text):
        listed = [a.strip() for a in args.split(",") if a.strip() != "…"]
        for name in (group or single).split("・"):
            real = [BY_KEY[k].ja for k in params(name)]
            assert real[:len(listed)] == listed, (name, listed, real)
            checked.add(name)
    assert {"ELIGIBLE_AMOUNT", "MEASURE_AMOUNT", "CHECK_LINE", "MEASURE_RATE"} <= checked, checked
