"""The usual spelling of a sheet's XML, read by regular expressions: workbook_read's fast path.

Excel, LibreOffice and tokkou's builder write cells one way: `<c r="E5" s="20" t="s"><f>…</f><v>…</v></c>`
inside `<row r="5" …>`, UTF-8, the spreadsheet namespace as the only default namespace (declared on the
root in double quotes), no CDATA, comments or DTD. A part in that spelling is first proven well-formed by
expat (no handlers, so at C speed), then the content of its sheetData is read token by token with no gap:
row start tags (attributes strictly `name="value"`), cells in the usual spelling, `</row>` and whitespace.
Anything else (another spelling, rich inline text, a prefix, a stray or unknown element, a cell outside
an open row) sends the whole part back to the full parser (`Unusual`). Values are converted exactly as workbook_read's
`_CellParser` converts them; a cell of a rarer kind (date style, shared or array formula, inline or
ISO-date type, a reference in its value) is handed to that parser as the element the XML parser
would have built. Measured on the benchmark's 事業 sheet (1.4 MB): about 14 ms against 24 ms for
ElementTree plus openpyxl's cell conversion; expat's check is a third of it.
"""
from __future__ import annotations

import re
from xml.etree.ElementTree import Element, SubElement
from xml.parsers import expat

from openpyxl.utils.cell import column_index_from_string
from openpyxl.worksheet._reader import _cast_number
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.xml.constants import SHEET_MAIN_NS


NO_FORMULA = object()  # a cell without a formula (None is a formula cell's possible value)


class Unusual(Exception):
    """The part is not in the usual spelling: read it with the full parser."""


# attributes as the usual writers spell them: each `name="value"` after whitespace. A double-quoted value
# holds no `"` or `<`, so in attributes matching this a search for `\sname="` finds only a real attribute
_ATTRS = rb'(?:\s+[A-Za-z_][\w.:-]*="[^"<]*")*'
_ROOT = re.compile(rb"<[A-Za-z_][\w.:-]*(" + _ATTRS + rb")\s*>")
_MAIN = re.compile(rb'\s' + re.escape(f'xmlns="{SHEET_MAIN_NS}"'.encode()))
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_DEFAULT_NS = re.compile(rb"xmlns\s*=")
# a DTD, CDATA, comment or processing instruction; a carriage return (XML rewrites line ends); a
# spreadsheet element under a prefix (the expressions below read unprefixed names only)
_ODD = re.compile(rb"<(?:[!?]|[A-Za-z_][\w.-]*:(?:row|c|f|v|is|si|t|sheetData|dimension)[\s/>])")
_REFERENCE = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#x([0-9A-Fa-f]+)|#([0-9]+));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def plain_xml(data: bytes) -> bool:
    """Whether `data` is well-formed UTF-8 XML whose root declares the spreadsheet namespace as the
    only default namespace, with no DTD, CDATA, comment, processing instruction or carriage return."""
    rest = data
    if data.startswith(b"<?xml"):
        end = data.find(b"?>")
        enc = _ENCODING.search(data, 0, end)
        if end < 0 or (enc and enc.group(1).lower() not in (b"utf-8", b"utf8")):
            return False
        rest = data[end + 2:].lstrip()
    if not rest.startswith(b"<") or b"\r" in rest or _ODD.search(rest):
        return False
    root = _ROOT.match(rest)  # the root's start tag; a `>` inside one of its values: not the usual spelling
    if root is None or not _MAIN.search(root.group(1)) or len(_DEFAULT_NS.findall(data)) != 1:
        return False
    parser = expat.ParserCreate()
    try:
        parser.Parse(data, True)
    except expat.ExpatError:
        return False
    return True


def _reference(m: re.Match) -> str:
    name, hexa, dec = m.groups()
    return _NAMED[name] if name else chr(int(hexa, 16) if hexa else int(dec))


def text(raw: bytes) -> str:
    """Character data of a well-formed part as the XML parser gives it (references resolved).

    One pass, as XML resolves them: `&#38;amp;` is `&amp;`, never `&`. Well-formedness (expat) leaves no
    other reference and no reference to a character XML forbids."""
    s = raw.decode("utf-8")
    if "&" not in s:
        return s
    return _REFERENCE.sub(_reference, s)


# ---- shared strings ------------------------------------------------------------------------------

_SI = re.compile(rb'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>')
_SI_TAG = re.compile(rb"<si[\s/>]")


def shared_strings(data: bytes) -> list[str]:
    """The shared strings of a plain `<si><t>…</t></si>` table, as openpyxl's read_string_table gives them."""
    if not plain_xml(data):
        raise Unusual
    found = _SI.findall(data)
    if len(found) != len(_SI_TAG.findall(data)):  # every <si> start tag, however spelled, read
        raise Unusual
    return [text(t).replace("x005F_", "") for t in found]


# ---- sheets --------------------------------------------------------------------------------------

_DATA = re.compile(rb"<sheetData\s*(/?)>")
_DIMENSION = re.compile(rb'<dimension ref="([A-Z0-9:$]*)"\s*/>')
_ROW_R = re.compile(rb'\sr="(\d+)"')  # searched in attributes matching _ATTRS only
_ROW_TAG = re.compile(rb"<row[\s/>]")
# Whitespace, then one of: a row's start tag (strict attributes; 1 attributes, 2 "/" if self-closing), a cell
# in the usual spelling (3-9), `</row>` (10), or any other character (11: the part is handed back). Every
# position of the content is thus inside a token: findall leaves no gap but trailing whitespace.
_TOKEN = re.compile(
    rb'\s*(?:<row(' + _ATTRS + rb')\s*(/?)>'
    rb'|<c r="([A-Z]{1,3})(\d+)"(?: s="(\d+)")?(?: t="([A-Za-z]+)")?'
    rb'(?:/>|>(<f(?: [^>]*?)?(?:/>|>[^<]*</f>))?(?:<v>([^<]*)</v>|<v/>)?'
    rb'(<is><t(?: xml:space="preserve")?>[^<]*</t></is>)?</c>)'
    rb'|(</row>)|(\S))')
_INLINE = re.compile(rb'<is><t( xml:space="preserve")?>([^<]*)</t></is>')
_F_ELEMENT = re.compile(rb'<f((?: [^>]*?)?)(?:/>|>([^<]*)</f>)')
_F_ATTRS = re.compile(rb'(?: [A-Za-z]+="[^"<&\t\n]*")*\s*')
_F_ATTR = re.compile(rb'([A-Za-z]+)="([^"]*)"')
_COLUMNS: dict[bytes, int] = {}
_FAST_TYPES = (b"n", b"s", b"str", b"b", b"e")
_C_TAG, _F_TAG, _V_TAG, _IS_TAG, _T_TAG = (f"{{{SHEET_MAIN_NS}}}{t}" for t in ("c", "f", "v", "is", "t"))
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _sheet_data(data: bytes) -> tuple[bytes, bytes, bytes]:
    """(what precedes <sheetData>, its content, what follows it); Unusual unless there is exactly one."""
    m = _DATA.search(data)
    if m is None:
        raise Unusual  # no cell data at all: rare enough for the full parser
    if m.group(1):
        head, body, tail = data[:m.start()], b"", data[m.end():]
    else:
        end = data.find(b"</sheetData>", m.end())
        if end < 0:
            raise Unusual
        head, body, tail = data[:m.start()], data[m.end():end], data[end:]
    if b"<sheetData" in head or b"<sheetData" in tail:
        raise Unusual
    return head, body, tail


def _bounds(head: bytes):
    if b"<dimension" not in head:
        return None
    m = _DIMENSION.search(head)
    if m is None or head.count(b"<dimension") != head[:m.start()].count(b"<dimension") + 1:
        raise Unusual
    return SheetDimension(ref=m.group(1).decode()).boundaries


def _column(letters: bytes) -> int:
    col = _COLUMNS.get(letters)
    if col is None:
        col = _COLUMNS[letters] = column_index_from_string(letters.decode())
    return col


def read_sheet(data: bytes, parser) -> tuple[list, tuple | None]:
    """(rows, dimension bounds) of a plain sheet part, rows as workbook_read.Sheet holds them.

    parser: workbook_read's `_CellParser` (its shared strings and date styles; it converts rare cells).
    Cells with neither formula nor value are left out when the part declares its dimension (a reader
    then always knows the width; an absent cell reads None as an empty one does).
    Raises Unusual for a part not in the usual spelling."""
    if not plain_xml(data):
        raise Unusual
    head, body, tail = _sheet_data(data)
    if _ROW_TAG.search(head) or _ROW_TAG.search(tail):
        raise Unusual  # rows outside sheetData: the full parser's business
    bounds = _bounds(head)
    return _rows(_TOKEN.findall(body), parser, keep_empty=bounds is None), bounds


def _rows(tokens: list[tuple], parser, keep_empty: bool) -> list:
    rows: list = []
    cells: list | None = None
    strings, dates, columns = parser.shared_strings, parser.date_formats, _COLUMNS
    for row_attrs, closed, letters, digits, s, t, f, v, inline, row_end, other in tokens:
        if not letters:
            if other:
                raise Unusual  # another spelling, an unknown element, a gap
            if row_end:
                if cells is None:
                    raise Unusual
                cells = None
                continue
            r = _ROW_R.search(row_attrs)
            if r is None or cells is not None:
                raise Unusual  # a row without its number, or a row inside a row
            row_cells: list = []
            rows.append((int(r.group(1)), row_cells))
            cells = None if closed else row_cells
            continue
        if cells is None:
            raise Unusual  # a cell outside any open row
        if inline:
            cells.append(_rare_cell(parser, letters + digits, s, t or None, f, v, inline))
            continue
        if not f and not v:  # no formula, no value: None whatever its type and style
            if keep_empty:
                cells.append((columns.get(letters) or _column(letters), None, NO_FORMULA))
            continue
        if (f and f[2] != 62) or (v and 38 in v) or (t and t not in _FAST_TYPES) or ((not t or t == b"n") and s and int(s) in dates):
            # 62: the ">" of a plain "<f>"; 38: "&", a reference in the value
            cells.append(_rare_cell(parser, letters + digits, s, t or None, f, v))
            continue
        if not v:
            value = None
        elif not t or t == b"n":
            value = _cast_number(v.decode())
        elif t == b"s":
            value = strings[int(v)]
        elif t == b"b":
            value = bool(int(v))
        else:
            value = text(v)
        # a plain formula stays bytes (its XML text) until asked for: most are only compared (workbook_read)
        cells.append((columns.get(letters) or _column(letters), value, f[3:-4] if f else NO_FORMULA))
    if cells is not None:
        raise Unusual
    return rows


def _rare_cell(parser, ref: bytes, s: bytes, t: bytes | None, f: bytes, v: bytes, inline: bytes = b"") -> tuple:
    """A cell the fast loop does not convert, given to the parser as the element XML parsing builds."""
    attrib = {"r": ref.decode()}
    if s:
        attrib["s"] = s.decode()
    if t:
        attrib["t"] = t.decode()
    cell = Element(_C_TAG, attrib)
    if f:
        m = _F_ELEMENT.fullmatch(f)
        if m is None or not _F_ATTRS.fullmatch(m.group(1)):
            raise Unusual
        formula = SubElement(cell, _F_TAG, {k.decode(): a.decode() for k, a in _F_ATTR.findall(m.group(1))})
        formula.text = text(m.group(2)) if m.group(2) else None
    if v:
        SubElement(cell, _V_TAG).text = text(v)
    if inline:
        m = _INLINE.fullmatch(inline)
        attrib = {_XML_SPACE: "preserve"} if m.group(1) else {}
        SubElement(SubElement(cell, _IS_TAG), _T_TAG, attrib).text = text(m.group(2)) if m.group(2) else None
    got = parser.parse_cell(cell)
    return got["column"], got["value"], got.get("formula", NO_FORMULA)
