"""Build returned workbooks for the review tests: correct, tampered, mis-filled and hostile.

Everything is made here from the committed sample by editing the .xlsx parts directly, so the
cached values and formulas are exactly what the builder wrote except where a case changes them.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from tokkou import layout as L

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "workbook_templates" / "examples" / "nichiiki_kankei_sample.xlsx"


def sheet_part(sheet: str) -> str:
    """The builder writes the sheets in layout order: sheetN.xml is the N-th of L.SHEETS."""
    return f"xl/worksheets/sheet{L.SHEETS.index(sheet) + 1}.xml"


def rewrite(src: Path, dst: Path, edits: dict[str, callable], add: dict[str, bytes] | None = None,
            drop: set[str] = frozenset()) -> Path:
    """Copy a zip, passing chosen members' bytes through an edit function."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = zin.read(info)
            if info.filename in edits:
                data = edits[info.filename](data)
            zout.writestr(info.filename, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def edit_cell(sheet: str, ref: str, fn) -> dict:
    """An edit replacing the <c r="ref" …>…</c> element of a sheet by fn(old_element_bytes)."""
    def apply(xml: bytes) -> bytes:
        pat = re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', re.S)
        m = pat.search(xml)
        assert m, f"{sheet}!{ref} not found"
        return xml[:m.start()] + fn(m.group(0)) + xml[m.end():]
    return {sheet_part(sheet): apply}


def typed_over(dst: Path, sheet=L.SHEET_LINES, ref="Q5", value=700000) -> Path:
    """A formula cell overwritten with a typed number."""
    return rewrite(SAMPLE, dst, edit_cell(sheet, ref, lambda el: f'<c r="{ref}"><v>{value}</v></c>'.encode()))


def changed_formula(dst: Path, ref="Q6") -> Path:
    """A formula edited (rate doubled) — its cached value left as it was."""
    def fn(el: bytes) -> bytes:
        return re.sub(rb"<f>(.*?)</f>", lambda m: b"<f>(" + m.group(1) + b")*2</f>", el, count=1, flags=re.S)
    return rewrite(SAMPLE, dst, edit_cell(L.SHEET_LINES, ref, fn))


def changed_cached(dst: Path, ref="Q8", value=123) -> Path:
    """Only the cached result differs from what the formula gives."""
    return rewrite(SAMPLE, dst, edit_cell(L.SHEET_LINES, ref,
                                          lambda el: re.sub(rb"<v>[^<]*</v>", f"<v>{value}</v>".encode(), el)))


def deleted_row(dst: Path) -> Path:
    """The 事業 row 6 deleted by hand: the rows below move up one."""
    part = sheet_part(L.SHEET_LINES)

    def fn(xml: bytes) -> bytes:
        xml = re.sub(rb'<row r="6"[^>]*>.*?</row>', b"", xml, count=1, flags=re.S)

        def shift(m):
            r = int(m.group(2))
            return m.group(1) + str(r - 1 if r > 6 else r).encode()
        xml = re.sub(rb'(<row r=")(\d+)', shift, xml)
        return re.sub(rb'(<c r="[A-Z]+)(\d+)', shift, xml)
    return rewrite(SAMPLE, dst, {part: fn})


def wrong_code(dst: Path) -> Path:
    """団体コード typed with a wrong check digit."""
    return rewrite(SAMPLE, dst, {"xl/sharedStrings.xml": lambda x: x.replace(b">202142<", b">202141<")})


def text_in_number_cell(dst: Path, ref="E7") -> Path:
    """事業費 typed as text that is not an amount."""
    return rewrite(SAMPLE, dst, edit_cell(L.SHEET_LINES, ref,
                                          lambda el: f'<c r="{ref}" t="inlineStr"><is><t>百万円くらい</t></is></c>'.encode()))


def renamed_sheet(dst: Path) -> Path:
    return rewrite(SAMPLE, dst, {"xl/workbook.xml": lambda x: x.replace('name="事業"'.encode(), 'name="事業一覧"'.encode())})


def missing_sheet(dst: Path) -> Path:
    def fn(x: bytes) -> bytes:
        return re.sub(rb'<sheet name="' + L.SHEET_COORD.encode() + rb'"[^>]*/>', b"", x)
    return rewrite(SAMPLE, dst, {"xl/workbook.xml": fn})


def not_xlsx(dst: Path) -> Path:
    dst.write_text("団体名,事業費\n茅野市,1000\n", encoding="utf-8")
    return dst


def truncated(dst: Path) -> Path:
    data = SAMPLE.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def zip_bomb(dst: Path) -> Path:
    """A tiny file whose sheet inflates 5,000-fold (8 MB of the same byte)."""
    with zipfile.ZipFile(SAMPLE) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
        zout.writestr("xl/worksheets/sheet99.xml", b"<" + b" " * (8 * 1024 * 1024) + b"/>")
    return dst


def entity_bomb(dst: Path) -> Path:
    """The billion-laughs DOCTYPE put in front of sharedStrings.xml."""
    lol = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
           + b"]>")
    return rewrite(SAMPLE, dst, {"xl/sharedStrings.xml": lambda x: lol + re.sub(rb"^<\?xml[^>]*\?>", b"", x).replace(
        b">202142<", b">&lol9;<", 1)})


def password_protected(dst: Path, password: str = "secret") -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile
    out = io.BytesIO()
    with SAMPLE.open("rb") as fh:
        OOXMLFile(fh).encrypt(password, out)
    dst.write_bytes(out.getvalue())
    return dst


def xls_biff(dst_dir: Path) -> Path:
    import lo
    return lo.convert(SAMPLE, dst_dir, "xls")


def with_macros(dst: Path) -> Path:
    """The sample saved as .xlsm with a VBA project part (never executed)."""
    ct = (b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>')
    return rewrite(SAMPLE, dst, {"[Content_Types].xml": lambda x: x.replace(b"<Default ", ct + b"<Default ", 1)},
                   add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1Attribute VB_Name = \"Module1\"\nShell \"calc\""})


def million_rows(dst: Path) -> Path:
    """A used range to row 1,048,576 on 事業 (one stray value at the very bottom)."""
    part = sheet_part(L.SHEET_LINES)

    def fn(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:X1048576"/>', xml)
        return xml.replace(b"</sheetData>", b'<row r="1048576"><c r="A1048576"><v>1</v></c></row></sheetData>')
    return rewrite(SAMPLE, dst, {part: fn})


def old_rulebook(dst: Path) -> Path:
    """A template whose cover names another rulebook version (hash) and an unknown layout version."""
    import re as _re
    from tokkou import rulebook
    h = rulebook.get().sha256.encode()

    def strings(x: bytes) -> bytes:
        return x.replace(h, b"0" * 64)

    def cover(xml: bytes) -> bytes:
        ref = L.COVER_CELLS["layout_version"].encode()
        return _re.sub(rb'(<c r="' + ref + rb'"[^>]*>)<v>[^<]*</v>', rb"\g<1><v>99</v>", xml)
    return rewrite(SAMPLE, dst, {"xl/sharedStrings.xml": strings, sheet_part(L.SHEET_COVER): cover})


def late_doctype(dst: Path) -> Path:
    """The DTD behind a 70 KB comment, past the byte screen's window: defusedxml must refuse it."""
    part = sheet_part(L.SHEET_LINES)
    dtd = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    return rewrite(SAMPLE, dst, {part: lambda x: re.sub(rb"^(<\?xml[^>]*\?>)", lambda m: m.group(1) + b"<!--" + b"x" * 70000 + b"-->" + dtd, x)})


def utf16_xxe(dst: Path) -> Path:
    """sharedStrings.xml re-encoded as UTF-16 with an external entity."""
    def fn(x: bytes) -> bytes:
        body = re.sub(rb"^<\?xml[^>]*\?>", b"", x).decode("utf-8")
        doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + body
        return doc.replace(">202142<", ">&xxe;<", 1).encode("utf-16")
    return rewrite(SAMPLE, dst, {"xl/sharedStrings.xml": fn})
