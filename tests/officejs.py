"""Call tokkou's Excel functions exactly as Office.js does (xlwings Lite / xlwings Server).

tests/conftest.py sets XLWINGS_ON_SERVER=true and XLWINGS_LICENSE_KEY=noncommercial before
anything imports xlwings. With CI=true a missing xlwings fails the tests instead of skipping them.
"""
from __future__ import annotations

import asyncio
import os

import pytest

if os.environ.get("CI") == "true":
    import xlwings  # noqa: F401 - in CI a missing xlwings must fail, not skip
else:
    pytest.importorskip("xlwings")

import xlwings as xw  # noqa: E402
from xlwings import XlwingsError, server  # noqa: E402

from tokkou import udfs  # noqa: E402

assert udfs.OFFICEJS, "xlwings was imported before XLWINGS_ON_SERVER=true was set"


def error(code: str) -> dict:
    """An Excel error value as Office.js (runtime 1.4) sends it in an argument."""
    kinds = {"#N/A": "NotAvailable", "#VALUE!": "Value", "#DIV/0!": "Div0", "#REF!": "Ref",
             "#NUM!": "Num", "#NAME?": "Name", "#NULL!": "Null"}
    return {"type": "Error", "basicValue": code, "errorType": kinds[code]}


def as_arg(v):
    """A Python value as Office.js sends one argument: a 2-D list; None = argument omitted."""
    if v is None:
        return None
    if isinstance(v, list):
        return v if v and isinstance(v[0], list) else [v]
    return [[v]]


def params(func_name: str) -> list[str]:
    return [a["name"] for a in getattr(udfs, func_name).__xlfunc__["args"]]


def payload(func_name: str, *args, **named) -> dict:
    names = params(func_name)
    values = list(args) + [None] * (len(names) - len(args))
    for k, v in named.items():
        values[names.index(k)] = v
    return {"func_name": func_name, "args": [as_arg(v) for v in values], "caller_address": "Sheet1!B2",
            "version": xw.__version__, "client": "Office.js", "runtime": "1.4",
            "culture_info_name": "ja-JP", "date_format": "yyyy/m/d"}


def call_raw(func_name: str, *args, module=udfs, **named):
    return asyncio.run(server.custom_functions_call(payload(func_name, *args, **named), module))


def call(func_name: str, *args, module=udfs, **named):
    """The result cells; a 1×1 result is returned as its single value."""
    out = call_raw(func_name, *args, module=module, **named)
    if isinstance(out, list) and len(out) == 1 and isinstance(out[0], list) and len(out[0]) == 1:
        return out[0][0]
    return out


def meta(module=udfs) -> dict:
    return server.custom_functions_meta(module)


__all__ = ["XlwingsError", "call", "call_raw", "error", "meta", "params", "payload", "udfs"]
