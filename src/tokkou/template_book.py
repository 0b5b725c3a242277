"""The workbook being built: formats, names, page setup and cell writers shared by every sheet."""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from . import layout as L
from .rulebook import Rulebook

FIXED_TIME = _dt.datetime(2025, 4, 2, 0, 0, 0)  # the notice's date: reproducible docProps
_NUM_FORMATS = {"yen": "#,##0", "ratio": "0.0#####", "rate": "0.0####", "int": "0", "bool": "@"}
_HEADER_COLORS = (("input", "#FFE699"), ("fixed", "#D9D9D9"), ("calc", "#BDD7EE"), ("helper", "#EDEDED"))


@dataclass
class Fill:
    """Inputs to write into a template (sample, tests): body values, 事業 rows, coordinator rows."""

    body: dict[str, Any] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)          # keys: layout.LINE_COLUMNS inputs
    coordinators: list[dict[str, Any]] = field(default_factory=list)   # keys: coordinator inputs
    cached: dict | None = None  # {(sheet, row, key): value} cached results of formula cells


class Book:
    """An XlsxWriter workbook with the template's formats, defined names and writers."""

    def __init__(self, path: Path, variant: str, rb: Rulebook, fill: Fill | None):
        self.path, self.variant, self.rb, self.fill = path, variant, rb, fill or Fill()
        self.lay = L.get(rb)
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                                   "strings_to_urls": False})
        self.wb.set_properties({"title": f"{rb.model.title} 算定様式", "created": FIXED_TIME,
                                "author": "tokkou", "comments": f"rulebook sha256 {rb.sha256}"})
        self.wb.set_calc_mode("auto")
        self._fmt_cache: dict = {}
        self.names: dict[str, str] = {}
        self.ws = {name: self.wb.add_worksheet(name) for name in L.SHEETS}
        self.wb.worksheets()[0].activate()

    def fmt(self, kind: str = "text", locked: bool = True, **extra):
        key = (kind, locked, tuple(sorted(extra.items())))
        if key not in self._fmt_cache:
            props = {"font_name": "Meiryo UI", "font_size": 10, "valign": "vcenter", "border": 1,
                     "border_color": "#BFBFBF", "locked": locked}
            props["num_format"] = "@" if kind == "text" and not locked else _NUM_FORMATS.get(kind, "General")
            if not locked:
                props["bg_color"] = "#FFF9DB"
            elif kind != "title":
                props["bg_color"] = "#F2F2F2"
            props.update(extra)
            self._fmt_cache[key] = self.wb.add_format(props)
        return self._fmt_cache[key]

    def define(self, name: str, sheet: str, first: tuple[int, int], last: tuple[int, int] | None = None):
        ref = f"'{sheet}'!" + xl_rowcol_to_cell(*first, row_abs=True, col_abs=True)
        if last and last != first:
            ref += ":" + xl_rowcol_to_cell(*last, row_abs=True, col_abs=True)
        self.wb.define_name(name, "=" + ref)
        self.names[name] = ref

    def page(self, ws, header_row: int | None = None, landscape=True):
        ws.set_paper(9)
        if landscape:
            ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_footer("&C&P / &N")
        if header_row is not None:
            ws.repeat_rows(header_row - 1)
        ws.hide_gridlines(1)  # gridlines on screen, not in print (no <printOptions gridLines>)

    @staticmethod
    def protect(ws):
        ws.protect("", {"format_columns": True, "format_rows": True, "autofilter": True, "sort": False})

    def header(self, ws, title: str, note: str, cols, header_row: int):
        ws.write(0, 0, title, self.fmt("title", bold=True, font_size=14, border=0))
        ws.write(1, 0, note, self.fmt("title", border=0, font_color="#595959"))
        hf = {k: self.fmt("text", bold=True, text_wrap=True, align="center", bg_color=bg) for k, bg in _HEADER_COLORS}
        ws.set_row(header_row - 1, 42)
        for c in cols:
            i = L._index(c.letter)
            ws.write(header_row - 1, i, c.header, hf[c.kind])
            opts = {"hidden": True, "level": 1} if c.kind == "helper" else {}
            ws.set_column(i, i, c.width, None, opts)

    def write_value(self, ws, r: int, col: int, value, f):
        """A typed input value (blank, text, boolean or number) with its format."""
        if value is None or value == "":
            ws.write_blank(r, col, None, f)
        elif isinstance(value, str):
            ws.write_string(r, col, value, f)
        elif isinstance(value, bool):
            ws.write_boolean(r, col, value, f)
        else:
            ws.write_number(r, col, value, f)

    def cached(self, sheet: str, r: int, key: str):
        default = 0 if key in ("_cat", "_state", "_lines", "_cost_total") else ""
        if self.fill.cached is None:
            return default
        return self.fill.cached.get((sheet, r, key), default)

    def write_rows(self, ws, sheet: str, cols, first: int, n: int, fills: list, formula, write_fixed):
        """The n rows of a line sheet: fixed numbering, input cells (filled or blank), formulas with caches."""
        for i in range(n):
            r = first + i
            row_fill = fills[i] if i < len(fills) else {}
            for c in cols:
                col = L._index(c.letter)
                if c.kind == "fixed":
                    write_fixed(r - 1, col, i)
                elif c.kind == "input":
                    self.write_value(ws, r - 1, col, row_fill.get(c.key), self.fmt(c.fmt, locked=False))
                else:
                    ws.write_formula(r - 1, col, formula(c.key, r),
                                     self.fmt(c.fmt if c.fmt != "text" else "General", text_wrap=c.key == "reasons"),
                                     self.cached(sheet, r, c.key))

    def validate(self, ws, validations):
        for rng, opts in validations:
            ws.data_validation(rng, opts)
