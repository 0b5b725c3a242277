"""One read per workbook: cached values and formulas of the sheets asked for, from one pass each.

Review needs, of a returned template, the values Excel saved (inputs and cached results) and the
formulas of the result columns. openpyxl reads them in two separate passes (`data_only=True`,
then `False`), each through defusedxml's pure-Python XML handlers. Here each sheet's XML is
parsed once, by the standard library's C parser (expat through ElementTree's C tree builder, not
defusedxml's Python handlers), and every cell gives both. The workbook-level parts (content
types, shared strings, workbook, styles: small files) are read by openpyxl's own reader, and
every cell is converted by openpyxl's own `WorkSheetParser.parse_cell`/`parse_formula`, so
values (numbers, shared and inline strings, booleans, errors, dates by cell style) and formulas
(shared formulas translated, array formulas) are exactly what openpyxl gives.

`Book` answers the part of openpyxl's read-only workbook API the template reader uses
(`sheetnames`, `book[name].max_row`, `iter_rows(..., values_only=True)`, `close()`); its
`formula_view()` answers as openpyxl with `data_only=False` does, from the same pass. Callers screen the file first (review.screen); here a DOCTYPE that got past the
screen is still refused (`DTDForbidden`, from expat before the root element), so no entity is
ever declared and nothing external is ever fetched.
"""
from __future__ import annotations

import io
from types import SimpleNamespace
from pathlib import Path
from typing import IO, Iterator
from xml.etree import ElementTree

from openpyxl import Workbook
from openpyxl.packaging.relationship import get_rels_path
from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader, _find_workbook_part
from openpyxl.reader.strings import read_string_table
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils import coordinate_to_tuple
from openpyxl.worksheet._reader import WorkSheetParser, _cast_number
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.constants import ARC_STYLE, SHEET_MAIN_NS

from . import workbook_scan

_ROW = f"{{{SHEET_MAIN_NS}}}row"
_DIMENSION = f"{{{SHEET_MAIN_NS}}}dimension"
_DATA = f"{{{SHEET_MAIN_NS}}}sheetData"
_FORMULA = f"{{{SHEET_MAIN_NS}}}f"


class DTDForbidden(ValueError):
    """A sheet's XML declares a DTD (entity bomb or external reference): never parsed further."""


class _Reader(ExcelReader):
    """openpyxl's workbook reader, minus building worksheet objects: it notes where sheets are.

    Shared strings in the usual spelling are read by workbook_scan; the stylesheet, which review needs
    only for its date styles, is read once per distinct styles part (returns of one template share it)."""

    def read(self):
        """openpyxl's ExcelReader.read (read-only), its errors worded as openpyxl words them."""
        steps = (("read manifest", self.read_manifest), ("read strings", self.read_strings),
                 ("read workbook", self.read_workbook), ("read properties", self.read_properties),
                 ("read custom properties", self.read_custom), ("read theme", self.read_theme),
                 ("read stylesheet", lambda: _apply_date_styles(self.archive, self.wb)),
                 ("read worksheets", self.read_worksheets))
        try:
            for action, step in steps:
                step()
        except ValueError as e:
            raise ValueError(
                f"Unable to read workbook: could not {action} from {self.archive.filename}.\n"
                "This is most probably because the workbook source files contain some invalid XML.\n"
                "Please see the exception for more details."
                ) from e

    def read_strings(self):
        ct = self.package.find(SHARED_STRINGS)
        if ct is None:
            return
        data = self.archive.read(ct.PartName[1:])
        try:
            self.shared_strings = workbook_scan.shared_strings(data)
        except workbook_scan.Unusual:
            self.shared_strings = read_string_table(io.BytesIO(data))

    def read_workbook(self):
        """openpyxl's, unless this workbook part and its relationships were read before: then only what a
        Book keeps of them (the date epoch, the sheets) is taken from _WORKBOOKS."""
        self._sheets_known = None
        self._workbook_key = _workbook_key(self.archive, _find_workbook_part(self.package).PartName[1:])
        hit = _WORKBOOKS.get(self._workbook_key) if self._workbook_key else None
        if hit is not None:
            epoch, self._sheets_known = hit
            self.wb = SimpleNamespace(epoch=epoch, _date_formats={}, _timedelta_formats={})  # as Workbook() has them
            return
        super().read_workbook()
        self.parser.assign_names = lambda: None  # defined names are not needed (and sheets are not built)

    def read_worksheets(self):
        sheets = self._sheets_known
        if sheets is None:
            sheets = [(sheet.name, rel.target, rel.Type) for sheet, rel in self.parser.find_sheets()]
            if self._workbook_key:
                if len(_WORKBOOKS) >= 16:
                    _WORKBOOKS.clear()
                _WORKBOOKS[self._workbook_key] = (self.wb.epoch, sheets)
        # as openpyxl: a sheet whose part is missing is no sheet
        self.sheet_parts: list[tuple[str, str | None]] = [
            (name, None if "chartsheet" in kind else target) for name, target, kind in sheets if target in self.valid_files]


_WORKBOOKS: dict[tuple, tuple] = {}  # (part, its bytes, its relationships' bytes) → (epoch, sheets)


def _workbook_key(archive, part: str) -> tuple | None:
    """What openpyxl's reading of the workbook part depends on; None when it reads more (external links)."""
    data = archive.read(part)
    if b"externalReference" in data:
        return None
    try:
        rels = archive.read(get_rels_path(part))
    except KeyError:
        return None
    return part, data, rels


_STYLES: dict[bytes, tuple[dict, dict]] = {}  # styles part → (date styles, timedelta styles)


def _apply_date_styles(archive, target) -> None:
    """openpyxl's apply_stylesheet, answered from _STYLES when this styles part was seen before (the
    date and timedelta styles are all a Book keeps of it; returns of one template share the part)."""
    wb = target
    try:
        data = archive.read(ARC_STYLE)
    except KeyError:
        apply_stylesheet(archive, wb)
        return
    hit = _STYLES.get(data)
    if hit is None:
        if not isinstance(wb, Workbook):  # the workbook part came from _WORKBOOKS: styles need a real one
            wb = Workbook()
        apply_stylesheet(archive, wb)
        if len(_STYLES) >= 16:
            _STYLES.clear()
        hit = _STYLES[data] = (frozenset(wb._date_formats), frozenset(wb._timedelta_formats))
    target._date_formats, target._timedelta_formats = set(hit[0]), set(hit[1])


_VALUE = f"{{{SHEET_MAIN_NS}}}v"
_COORDS: dict[str, tuple[int, int]] = {}  # "O5" → (5, 15): the same template's cells recur in every file


def _coordinate(ref: str) -> tuple[int, int]:
    hit = _COORDS.get(ref)
    if hit is None:
        if len(_COORDS) > 500_000:
            _COORDS.clear()
        hit = _COORDS[ref] = coordinate_to_tuple(ref)
    return hit


class _CellParser(WorkSheetParser):
    """openpyxl's cell conversion, giving the cached value and (for formula cells) the formula.

    The usual cells (numbers without a date style, shared strings, formula strings, booleans,
    errors) are converted here exactly as `WorkSheetParser.parse_cell` converts them, without its
    general path; every other cell (inline strings, dates, cells without a reference) goes to it."""

    def parse_cell(self, element):
        t = element.get("t")
        ref = element.get("r")
        style = element.get("s", 0)
        if style:
            style = int(style)
        if ref is None or t == "inlineStr" or t == "d" or (t in (None, "n") and style in self.date_formats):
            cell = super().parse_cell(element)  # data_only=True: the value Excel saved
        else:
            row, column = _coordinate(ref)
            self.col_counter = column
            data_type = t or "n"
            value = element.findtext(_VALUE, None) or None
            if value is not None:
                if data_type == "n":
                    value = _cast_number(value)
                elif data_type == "s":
                    value = self.shared_strings[int(value)]
                elif data_type == "b":
                    value = bool(int(value))
                elif data_type == "str":
                    data_type = "s"
            cell = {"row": row, "column": column, "value": value, "data_type": data_type, "style_id": style}
        if element.find(_FORMULA) is not None:
            cell["formula"] = self.parse_formula(element)  # what data_only=False gives
        return cell


_NO_FORMULA = workbook_scan.NO_FORMULA


class Sheet:
    """One worksheet's rows as read: the read-only worksheet API the template reader uses.

    rows: [(row index, [(column, value, formula or _NO_FORMULA), ...]), ...] in document order; a
    formula is its text, an ArrayFormula, or (workbook_scan) bytes: the XML text of a plain `<f>` element.
    formulas: 0 values, 1 formulas as openpyxl gives them, 2 formulas with plain ones as XML bytes."""

    def __init__(self, title: str, rows: list[tuple[int, list[tuple]]], bounds, formulas: int = 0):
        self.title = title
        self._rows = rows
        self._formulas = formulas
        self.min_column, self.min_row, self.max_column, self.max_row = bounds or (1, 1, None, None)
        self._bounds = bounds

    def iter_rows(self, min_row=None, max_row=None, min_col=None, max_col=None,
                  values_only=True) -> Iterator[tuple]:
        """As openpyxl's ReadOnlyWorksheet.iter_rows(values_only=True): missing rows and cells are None;
        rows past the sheet's last row are not produced (unless rows beyond max_row exist)."""
        if not values_only:
            raise NotImplementedError("values only")
        min_col, min_row = min_col or 1, min_row or 1
        max_col, max_row = max_col or self.max_column, max_row or self.max_row
        empty = (None,) * (max_col + 1 - min_col) if max_col is not None else ()
        formulas = self._formulas
        counter, idx = min_row, 1
        for idx, cells in self._rows:
            if max_row is not None and idx > max_row:
                break
            for _ in range(counter, idx):
                counter += 1
                yield empty
            if counter <= idx:
                counter += 1
                yield _row_values(cells, min_col, max_col, formulas)
        if max_row is not None and max_row < idx:
            for _ in range(counter, max_row + 1):
                yield empty

    def formula_view(self, xml: bool = False) -> "Sheet":
        """The same sheet as openpyxl reads it with data_only=False: formula cells give their formula
        (xml: a plain formula as the bytes of its XML text, `formula_text` turns it into text)."""
        return Sheet(self.title, self._rows, self._bounds, formulas=2 if xml else 1)


def formula_text(xml: bytes) -> str:
    """A plain formula's XML text (as a formula view with xml=True gives it) as openpyxl gives it."""
    return "=" + workbook_scan.text(xml)


def _row_values(cells: list[tuple], min_col: int, max_col: int | None, formulas: int) -> tuple:
    if not cells and not max_col:
        return ()
    max_col = max_col or cells[-1][0]
    out = [None] * (max_col + 1 - min_col)
    for col, value, formula in cells:
        if min_col <= col <= max_col:
            if not formulas or formula is _NO_FORMULA:
                out[col - min_col] = value
            elif formulas == 1 and type(formula) is bytes:
                out[col - min_col] = "=" + workbook_scan.text(formula)
            else:
                out[col - min_col] = formula
    return tuple(out)


class Book:
    """A workbook's sheet names; each worksheet read (values and formulas, one pass) when first asked for."""

    def __init__(self, source: str | Path | IO[bytes], parts: dict[str, bytes] | None = None):
        """parts: {part name: bytes} already read from this same file (each used once, instead of reading it again)."""
        reader = _Reader(source, read_only=True, data_only=True)
        self._archive = reader.archive
        try:
            reader.read()
        except BaseException:
            self._archive.close()
            raise
        wb = reader.wb
        self._parts = dict(reversed(reader.sheet_parts))  # first sheet of a name wins, as openpyxl's wb[name]
        self.sheetnames = [name for name, _ in reader.sheet_parts]
        self._context = (reader.shared_strings, wb.epoch, wb._date_formats, wb._timedelta_formats)
        self._sheets: dict[str, Sheet] = {}
        self._formula_view = 0
        self._known = dict(parts or {})

    def __getitem__(self, name: str) -> Sheet:
        sheet = self._sheets.get(name)
        if sheet is None:
            if name not in self._parts:
                raise KeyError(f"Worksheet {name} does not exist.")
            if self._parts[name] is None:
                raise TypeError(f"{name} is a chartsheet")
            part = self._parts[name]
            data = self._known.pop(part, None)
            sheet = self._sheets[name] = _read_sheet(self._archive if data is None else {part: data},
                                                     part, name, *self._context)
        return sheet.formula_view(self._formula_view == 2) if self._formula_view else sheet

    def formula_view(self, xml: bool = False) -> "Book":
        """This book as openpyxl reads it with data_only=False (formula cells give their formula;
        xml: plain formulas as the bytes of their XML text, see Sheet.formula_view)."""
        view = object.__new__(Book)
        view.__dict__.update(self.__dict__)
        view._formula_view = 2 if xml else 1
        return view

    def close(self) -> None:
        """Close the file; sheets already read stay readable."""
        self._archive.close()


def _read_sheet(archive, part: str, title: str, strings, epoch, date_formats, timedelta_formats) -> Sheet:
    """archive: the zip file, or {part: its bytes}."""
    parser = _CellParser(None, strings, data_only=True, epoch=epoch, date_formats=date_formats,
                         timedelta_formats=timedelta_formats)
    data = archive[part] if isinstance(archive, dict) else archive.read(part)
    _refuse_dtd(data, part)
    try:
        rows, bounds = workbook_scan.read_sheet(data, parser)  # the usual spelling, at regex speed
    except workbook_scan.Unusual:
        parser = _CellParser(None, strings, data_only=True, epoch=epoch, date_formats=date_formats,
                             timedelta_formats=timedelta_formats)  # fresh: no shared formula seen twice
        rows, bounds = _parse_sheet(data, parser)
    return Sheet(title, rows, bounds)


def _parse_sheet(data: bytes, parser: "_CellParser") -> tuple[list, tuple | None]:
    """Rows and dimension bounds of any sheet part, by the C XML parser (element by element)."""
    rows: list[tuple[int, list[tuple]]] = []
    bounds = None
    seen_data = False  # as openpyxl: a <dimension> after the cell data is not read
    for _, el in ElementTree.iterparse(io.BytesIO(data)):
        tag = el.tag
        if tag == _ROW:
            idx, cells = parser.parse_row(el)
            rows.append((idx, [(c["column"], c["value"], c.get("formula", _NO_FORMULA)) for c in cells]))
            el.clear()
        elif tag == _DATA:
            seen_data = True
        elif tag == _DIMENSION and not seen_data and bounds is None:
            bounds = SheetDimension.from_tree(el).boundaries
    return rows, bounds


class _RootReached(Exception):
    pass


def _refuse_dtd(data: bytes, part: str) -> None:
    """Raise DTDForbidden when the XML declares a DTD or entity before its root element (any encoding)."""
    from xml.parsers import expat

    def refuse(*_):
        raise DTDForbidden(f"{part}: DTD/ENTITY")

    def root(*_):
        raise _RootReached

    p = expat.ParserCreate()
    p.StartDoctypeDeclHandler = refuse
    p.EntityDeclHandler = refuse
    p.StartElementHandler = root
    try:
        p.Parse(data, True)
    except _RootReached:
        return
    except expat.ExpatError:
        return  # not well-formed: the parse proper reports it as openpyxl would
