"""More returned workbooks for the review tests, made from the committed sample by editing its parts."""
from __future__ import annotations

import re
from pathlib import Path

import workbooks as W
from tokkou import layout as L


def other_body(dst: Path, code: str = "202029", name: str = "松本市", src: Path = W.SAMPLE) -> Path:
    """The sample as another 市 returned it (name and code changed, nothing else)."""
    return W.rewrite(src, dst, {"xl/sharedStrings.xml": lambda x: x.replace(">茅野市<".encode(), f">{name}<".encode())
                                .replace(b">202142<", f">{code}<".encode())})


def saved_at(src: Path, dst: Path, when: str) -> Path:
    """A copy whose docProps/core.xml says it was last saved at `when` (ISO 8601, UTC 'Z')."""
    return W.rewrite(src, dst, {"docProps/core.xml": lambda x: re.sub(
        rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + when.encode() + rb"\g<2>", x)})


def data_below(dst: Path, row: int = 400, styled_only_row: int = 500) -> Path:
    """A value typed in 事業!E{row}, below the template, the <dimension> left at the template's end;
    plus a row that only carries a style (no data) further down."""
    def fn(xml: bytes) -> bytes:
        extra = (f'<row r="{row}"><c r="E{row}"><v>5000000</v></c></row>'
                 f'<row r="{styled_only_row}"><c r="A{styled_only_row}" s="1"/></row>').encode()
        return xml.replace(b"</sheetData>", extra + b"</sheetData>")
    return W.rewrite(W.SAMPLE, dst, {W.sheet_part(L.SHEET_LINES): fn})


CONNECTIONS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<connections xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               '<connection id="1" name="予算システム" type="1" refreshedVersion="6" refreshOnLoad="1" saveData="1">'
               '<dbPr connection="DSN=yosan;UID=zaisei;Password=hunter2;SERVER=\\\\fileserv\\db" command="SELECT *"/>'
               '</connection></connections>').encode()
QUERY_TABLE = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<queryTable xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" name="外部データ_1" '
               'connectionId="1" autoFormatId="16" applyNumberFormats="0"/>').encode()
MASHUP = ('<?xml version="1.0" encoding="utf-16"?><DataMashup xmlns="http://schemas.microsoft.com/DataMashup">'
          'AAAAAA==</DataMashup>').encode()


def risky_parts(dst: Path) -> Path:
    """The sample with a data connection refreshing on open (and its query table), an embedded OLE
    object and a Power Query package."""
    return W.rewrite(W.SAMPLE, dst, {}, add={"xl/connections.xml": CONNECTIONS,
                                             "xl/queryTables/queryTable1.xml": QUERY_TABLE,
                                             "xl/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0" + b"\0" * 60,
                                             "customXml/item1.xml": MASHUP})


def edit_formula_reference(src: Path, dst: Path, sheet: str, ref: str, old: str, new: str) -> Path:
    """One formula really edited: the first reference `old` in it becomes `new`; its cached value kept."""
    def fn(el: bytes) -> bytes:
        m = re.search(rb"<f[^>]*>(.*?)</f>", el, re.S)
        assert m and re.search(rb"\b" + old.encode() + rb"\b", m.group(1)), el[:300]
        f = re.sub(rb"\b" + old.encode() + rb"\b", new.encode(), m.group(1), count=1)
        return el[:m.start(1)] + f + el[m.end(1):]
    part = _part_of(src, sheet)
    return W.rewrite(src, dst, {part: _edit(ref, fn)})


def set_input(src: Path, dst: Path, sheet: str, ref: str, value: int) -> Path:
    """A number typed into an input cell (its style kept)."""
    def fn(el: bytes) -> bytes:
        style = re.search(rb'\ss="(\d+)"', el)
        s = b' s="' + style.group(1) + b'"' if style else b""
        return b'<c r="' + ref.encode() + b'"' + s + b"><v>" + str(value).encode() + b"</v></c>"
    return W.rewrite(src, dst, {_part_of(src, sheet): _edit(ref, fn)})


def _edit(ref: str, fn):
    def apply(xml: bytes) -> bytes:
        pat = re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', re.S)
        m = pat.search(xml)
        assert m, ref
        return xml[:m.start()] + fn(m.group(0)) + xml[m.end():]
    return apply


def _part_of(path: Path, sheet: str) -> str:
    """The sheet's part in any writer's file (LibreOffice numbers parts its own way)."""
    import zipfile

    from tokkou.review_parts import sheet_parts
    with zipfile.ZipFile(path) as zf:
        return sheet_parts(zf)[sheet]
