"""What a returned workbook holds besides cells, read from its zip parts without following anything.

- the format: Strict Open XML (other namespaces; openpyxl reads no sheet of it);
- risky content, one warning each naming its target: links to other books (`externalLinks` parts
  and the cells whose formulas use them), data connections and queries (`connections.xml`, query
  tables, Power Query), OLE objects (embedded or linked);
- data written below the template's rows, found from the sheet XML itself (a stale `<dimension>`
  can claim the sheet ends at the template's last row);
- the time the workbook was last saved (docProps/core.xml), to choose between two returns of one body.

Called after `review.screen` (size, zip bomb and DTD checks), on parts it has already vetted.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from defusedxml import ElementTree as ET

STRICT_NS = b"http://purl.oclc.org/ooxml/"
_ROW = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?row\b([^>]*)>")
_ROW_PLAIN = re.compile(rb"<row\b([^>]*)>")  # the usual spelling: a literal start is much faster
_ROW_R = re.compile(rb'\br="(\d+)"')
_DATA = re.compile(rb"<(?:[A-Za-z][\w.-]*:)?(?:v|f|is)[\s>/]")
_EXT_F = re.compile(rb"<f\b[^>]*>[^<]*?\[(\d+)\]")  # a formula naming book [n]
_CELL_R = re.compile(rb'<c\b[^>]*?\br="([A-Z]+\d+)"')
_SECRET = re.compile(r"(?i)\b(password|pwd)\s*=\s*[^;]*")
MAX_TARGET = 200


@dataclass
class Parts:
    """What review_parts found in one workbook."""

    strict: bool = False
    saved_at: str = ""  # dcterms:modified, ISO 8601 as written
    risks: list[tuple[str, str, str]] = field(default_factory=list)  # (sheet, cell, message)
    rows_below: dict[str, tuple[int, int]] = field(default_factory=dict)  # sheet → (first, last) row with data
    sheet_xml: dict[str, bytes] = field(default_factory=dict)  # part → bytes of the sheets read here (a reader reuses them)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(zf: zipfile.ZipFile, name: str):
    try:
        return ET.fromstring(zf.read(name))
    except KeyError:
        return None


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str, str]]:
    """{Id: (type, target, mode)} of a part's relationships; internal targets resolved to part names."""
    folder, base = posixpath.split(part)
    root = _xml(zf, posixpath.join(folder, "_rels", base + ".rels"))
    out: dict[str, tuple[str, str, str]] = {}
    for rel in [] if root is None else root:
        target, mode = rel.get("Target", ""), rel.get("TargetMode", "")
        if mode != "External":
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], target, mode)
    return out


def _shown(target: str) -> str:
    target = _SECRET.sub(lambda m: f"{m.group(1)}=***", target)
    return target if len(target) <= MAX_TARGET else target[:MAX_TARGET] + "…"


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """{sheet name: part name} from workbook.xml and its relationships."""
    root = _xml(zf, "xl/workbook.xml")
    rels = _rels(zf, "xl/workbook.xml")
    out = {}
    for el in [] if root is None else root.iter():
        if _local(el.tag) == "sheet":
            rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), "")
            if rid in rels:
                out[el.get("name", "")] = rels[rid][1]
    return out


def inspect(path, last_rows: dict[str, int]) -> Parts:
    """Parts of the workbook at `path`; last_rows: {sheet: the template's last row} to look below."""
    found = Parts()
    with zipfile.ZipFile(path) as zf:
        with zf.open("xl/workbook.xml") as fh:
            found.strict = STRICT_NS in fh.read(4096)
        if found.strict:
            return found
        found.saved_at = _saved_at(zf)
        sheets = sheet_parts(zf)
        names = set(zf.namelist())
        _external_links(zf, sheets, found)
        _connections(zf, names, found)
        _ole_objects(zf, sheets, names, found)
        for sheet, last in last_rows.items():
            part = sheets.get(sheet)
            if part in names:
                xml = found.sheet_xml[part] = zf.read(part)
                below = rows_with_data_below(xml, last)
                if below:
                    found.rows_below[sheet] = below
    return found


def _saved_at(zf: zipfile.ZipFile) -> str:
    root = _xml(zf, "docProps/core.xml")
    for el in [] if root is None else root:
        if _local(el.tag) == "modified" and el.text:
            return el.text.strip()
    return ""


def rows_with_data_below(xml: bytes, last: int) -> tuple[int, int] | None:
    """(first, last) row number past `last` holding a value, formula or inline text; None if none.

    Reads the row elements themselves, so a `<dimension>` that stops at the template does not hide them.
    """
    first = end = None
    number = 0
    rows = list((_ROW_PLAIN if b"<row" in xml else _ROW).finditer(xml))
    for i, m in enumerate(rows):
        r = _ROW_R.search(m.group(1))
        number = int(r.group(1)) if r else number + 1  # rows without r= count on from the previous one
        if number <= last:
            continue
        stop = rows[i + 1].start() if i + 1 < len(rows) else len(xml)
        if _DATA.search(xml, m.end(), stop):
            first = first or number
            end = number
    return (first, end) if first else None


def _external_links(zf: zipfile.ZipFile, sheets: dict[str, str], found: Parts) -> None:
    """One warning per linked book, naming its target and the first cells whose formulas use it."""
    root = _xml(zf, "xl/workbook.xml")
    rels = _rels(zf, "xl/workbook.xml")
    refs = [next((v for k, v in el.attrib.items() if _local(k) == "id"), "")
            for el in ([] if root is None else root.iter()) if _local(el.tag) == "externalReference"]
    if not refs:
        return
    users: dict[int, list[tuple[str, str]]] = {}
    for sheet, part in sheets.items():
        if part not in zf.namelist():
            continue
        xml = zf.read(part)
        for m in _EXT_F.finditer(xml):
            c = _CELL_R.match(xml, xml.rfind(b"<c ", 0, m.start()))
            users.setdefault(int(m.group(1)), []).append((sheet, c.group(1).decode() if c else ""))
    for n, rid in enumerate(refs, 1):
        part = rels.get(rid, ("", "", ""))[1]
        targets = [t for _, t, mode in _rels(zf, part).values()] if part else []
        target = _shown(", ".join(targets) or part or "（不明）")
        cells = users.get(n, [])
        where = "・".join(f"{s}!{c}" for s, c in cells[:5]) + ("など" if len(cells) > 5 else "")
        used = f"（{where} の計算式が参照）" if cells else ""
        sheet, cell = cells[0] if cells else ("", "")
        found.risks.append((sheet, cell, f"外部ブックへのリンクがあります: {target}{used}。リンク先は開いていません。"
                                         "Excel で開くと更新の確認が出て、ネットワーク上のパスでは Windows の資格情報が送られるおそれがあります。"
                                         "値を直接入力して提出し直すよう求めてください。"))


def _connections(zf: zipfile.ZipFile, names: set[str], found: Parts) -> None:
    """One warning per data connection (with the query tables loading it) and per Power Query package."""
    tables: dict[str, list[str]] = {}
    for name in sorted(n for n in names if n.startswith("xl/queryTables/") and n.endswith(".xml")):
        q = _xml(zf, name)
        if q is not None:
            tables.setdefault(q.get("connectionId", ""), []).append(q.get("name", posixpath.basename(name)))
    root = _xml(zf, "xl/connections.xml") if "xl/connections.xml" in names else None
    seen: set[str] = set()
    for conn in [] if root is None else root:
        if _local(conn.tag) != "connection":
            continue
        cid = conn.get("id", "")
        seen.add(cid)
        target = conn.get("sourceFile") or conn.get("odcFile") or ""
        for sub in conn:
            target = target or sub.get("connection") or sub.get("url") or sub.get("sourceFile") or ""
        on_open = "（開くたびに更新する設定）" if conn.get("refreshOnLoad") in ("1", "true") else ""
        loads = f"、読み込み先のクエリ表: {'・'.join(tables.get(cid, []))}" if tables.get(cid) else ""
        found.risks.append(("", "", f"データ接続「{conn.get('name', cid)}」があります{on_open}: 接続先 {_shown(target or '（不明）')}{loads}。"
                                    "接続先には接続していません。Excel で開くと外部のデータを読み込むおそれがあります。"))
    for cid, qs in tables.items():
        if cid not in seen:
            found.risks.append(("", "", f"クエリ表「{'・'.join(qs)}」があります（接続 ID {cid}）。接続先には接続していません。"))
    for name in sorted(n for n in names if n.startswith("customXml/item") and n.endswith(".xml")):
        with zf.open(name) as fh:
            if b"DataMashup" in fh.read(4096):
                found.risks.append(("", "", f"Power Query のクエリ（{name}）があります。クエリは実行していません。"))


def _ole_objects(zf: zipfile.ZipFile, sheets: dict[str, str], names: set[str], found: Parts) -> None:
    """One warning per OLE object: linked ones name their source, embedded ones their part."""
    named: set[str] = set()
    for sheet, part in sheets.items():
        rels = _rels(zf, part) if part in names else {}
        for rid, (kind, target, mode) in rels.items():
            if kind in ("oleObject", "package"):
                named.add(target)
                what = "リンクされた" if mode == "External" else "埋め込まれた"
                found.risks.append((sheet, "", f"{what} OLE オブジェクトがあります: {_shown(target)}。開いていません。"
                                               "提出元に内容を確認してください。"))
    for name in sorted(n for n in names if n.startswith("xl/embeddings/") and n not in named):
        found.risks.append(("", "", f"埋め込まれた OLE オブジェクトがあります: {name}。開いていません。提出元に内容を確認してください。"))
