"""The add-in template passes blanks explicitly: Excel desktop and Excel for the web give one result.

Excel for the web hands an empty cell to an Office.js custom function as null, Excel desktop may hand
it over as 0 (office-js issue 5262) — for 按分率 that is the difference between 1 and 0. The add-in
template's formulas pass each input cell as IF(c="","",c), so a blank arrives as "" on both clients
while a 0 typed by a user still arrives as 0. Proven through the Office.js call path with the field
payloads (tests/field/udfs/empty_cell_as_zero_payloads.json).
"""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import openpyxl
import pytest

from tokkou import columns, engine, formulas, layout as L, rulebook, templates

officejs = pytest.importorskip("officejs") if os.environ.get("CI") != "true" else __import__("officejs")

from xlwings import server  # noqa: E402 - after officejs set up the Office.js path
import xlwings as xw  # noqa: E402

RB = rulebook.get()
PAYLOADS = json.loads((Path(__file__).parent / "field" / "udfs" / "empty_cell_as_zero_payloads.json")
                      .read_text(encoding="utf-8"))
LINE_FUNCS = ("MEASURE_AMOUNT", "ELIGIBLE_AMOUNT", "CHECK_LINE")
BODY_KEYS = {"fiscal_year", "body_type", "body_code", "fiscal_correction"}
NAMES = {"TK_FY": "fiscal_year", "TK_B_TYPE": "body_type", "TK_B_CODE": "body_code", "TK_COEF_IN": "fiscal_correction"}


def _pairs():
    by_label = {p["_label"]: p for p in PAYLOADS}
    for func in LINE_FUNCS:
        web = by_label[f"{func} web (empty cell -> null)"]
        desktop = next(p for label, p in by_label.items() if label.startswith(f"{func} desktop"))
        yield func, web, desktop


def _server(payload: dict):
    p = {k: v for k, v in payload.items() if not k.startswith("_")}
    p.setdefault("version", xw.__version__)
    out = asyncio.run(server.custom_functions_call(p, officejs.udfs))
    return out[0][0] if isinstance(out, list) and len(out) == 1 and len(out[0]) == 1 else out


def _fill_from(web: dict) -> templates.Fill:
    """The template row whose cells hold what the web payload shows (null = an empty cell)."""
    values = {k: (a[0][0] if a else None) for k, a in zip(columns.udf_args("line"), web["args"])}
    body = {k: values[k] for k in BODY_KEYS}
    line = {k: v for k, v in values.items() if k not in BODY_KEYS and v is not None}
    return templates.Fill(body=body, lines=[line])


def _argument(spec, ws, body: dict, empty):
    """What a client hands the function for one argument; `empty` is its value for an empty cell."""
    kind, ref = spec
    if kind == "lit":
        return None if ref == "" else ref
    raw = body.get(NAMES[ref]) if ref in NAMES else ws[ref].value
    blank = raw is None or raw == ""
    if kind == "blankable":  # IF(c="","",c): the formula itself hands over "" for an empty cell
        return "" if blank else raw
    return empty if blank else raw


def _client_call(call, ws, body, empty):
    func, specs = call
    return officejs.call(func, *[_argument(s, ws, body, empty) for s in specs])


def test_field_payloads_show_the_client_difference():
    """Without the template's blank handling the two clients disagree on the same line."""
    web = {f: _server(w) for f, w, _ in _pairs()}
    desktop = {f: _server(d) for f, _, d in _pairs()}
    assert web["MEASURE_AMOUNT"] != desktop["MEASURE_AMOUNT"]  # 按分率 empty → 1 on the web, 0 on desktop


@pytest.mark.parametrize("func, web, desktop", list(_pairs()), ids=LINE_FUNCS)
def test_the_addin_template_gives_one_result_on_desktop_and_web(tmp_path, func, web, desktop):
    fill = _fill_from(web)
    path = templates.build_workbook(tmp_path / "addin.xlsx", "addin", RB, fill)
    ws = openpyxl.load_workbook(path)[L.SHEET_LINES]
    row = L.LINES_FIRST_ROW
    key = {"MEASURE_AMOUNT": "measure_amount", "ELIGIBLE_AMOUNT": "eligible_cost", "CHECK_LINE": "reasons"}[func]
    call = formulas.addin_calls(L.SHEET_LINES, row, RB)[key]
    assert call[0] == func
    assert templates.render(call) in ws[f"{L.LINES[key].letter}{row}"].value
    on_web = _client_call(call, ws, fill.body, None)
    on_desktop = _client_call(call, ws, fill.body, 0)
    assert on_web == on_desktop == _server(web)  # the web's reading (blank = default) on both clients
    res = engine.evaluate_line(RB, **fill.body, **fill.lines[0])
    expected = {"MEASURE_AMOUNT": res.measure_amount, "ELIGIBLE_AMOUNT": res.eligible_cost,
                "CHECK_LINE": engine.STATUS_JA[res.status] if res.status == "eligible" else None}[func]
    if expected is not None:
        assert on_web == expected


def test_a_zero_typed_in_apportion_ratio_still_means_zero(tmp_path):
    _, web, _ = next(_pairs())
    fill = _fill_from(web)
    fill.lines[0]["apportion_ratio"] = 0
    path = templates.build_workbook(tmp_path / "addin.xlsx", "addin", RB, fill)
    ws = openpyxl.load_workbook(path)[L.SHEET_LINES]
    call = formulas.addin_calls(L.SHEET_LINES, L.LINES_FIRST_ROW, RB)["measure_amount"]
    assert _client_call(call, ws, fill.body, None) == _client_call(call, ws, fill.body, 0) == 0
    fill.lines[0]["apportion_ratio"] = None
    assert engine.evaluate_line(RB, **fill.body, **fill.lines[0]).measure_amount > 0
