"""A function's #VALUE! message says what is wrong, worded alike across the functions."""
from __future__ import annotations

import pytest

from officejs import XlwingsError, call


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
