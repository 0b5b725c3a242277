"""`tokkou review`: check returned templates against the engine, file by file, safely.

Per workbook: the bytes are screened before any XML parser sees them (size, zip directory, DOCTYPE,
CFB containers); its parts are read for what is risky or out of place (review_parts); then the
inputs are read through `template_reader.read_lines`, recomputed by the engine, and compared with what the
workbook shows (cached values) and, canonically (formula_compare), with the formulas the builder
writes. A file that cannot be read costs one finding; the batch goes on. Which folder entries are
reviewed is review_collect's; the report is review_report's.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
import signal
import warnings
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import pandas as pd

from . import engine, layout as L, review_parts, review_versions, rulebook as rulebook_mod, template_reader, workbook_read
from .files import read_reason
from .formula_compare import first_difference, same_formula
from .review_versions import read_formulas as _read_formulas
from .normalize import BY_KEY, date_text
from .review_collect import Skipped, collect
from .review_report import (SEVERITY_JA, identity, plain as _plain, report_tables, total,  # noqa: F401 - re-exported
                            write_json, write_xlsx)
from .rulebook import Rulebook

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100  # a member that inflates more than this (and past 1 MB) is a zip bomb
MAX_MEMBERS = 5000
MAX_PART_BYTES = 40 * 1024 * 1024  # one sheet's XML; the template's largest is a few MB
MANY_FORMULAS = 20  # in a template of an unknown version, more differing formulas than this are one finding
FILE_SECONDS = 60.0  # per file; a file past it is one finding and the batch goes on
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# DTD declarations in the XML encodings a workbook part may use (defusedxml refuses the rest later)
_DTD_MARKS = tuple(m.encode(enc) for m in ("<!DOCTYPE", "<!ENTITY") for enc in ("utf-8", "utf-16-le", "utf-16-be"))


@dataclass
class Finding:
    file: str
    sheet: str
    cell: str
    rule_id: str
    severity: str  # error | warning | info
    message: str
    found: Any = ""
    expected: Any = ""


def _shown(v: Any) -> Any:
    """A finding's cell value as the report shows it: a date as 2025/4/1 (README), else plain()."""
    return date_text(v) if isinstance(v, (_dt.date, _dt.time)) else _plain(v)


@dataclass
class FileReview:
    file: str
    sha256: str = ""
    readable: bool = False
    body_name: str = ""
    body_code: str = ""
    variant: str = ""
    rulebook_hash: str = ""
    saved_at: str = ""  # when the workbook was last saved (docProps/core.xml), ISO 8601
    counted: bool = True  # False: another return of the same body and year is the one counted
    formulas_from: str = ""  # which template's formulas the formula cells were compared with
    findings: list[Finding] = field(default_factory=list)
    lines: pd.DataFrame | None = None

    def add(self, sheet, cell, rule_id, severity, message, found="", expected=""):
        self.findings.append(Finding(self.file, sheet, cell, rule_id, severity, message,
                                     _shown(found), _shown(expected)))


# ---- screening the bytes -----------------------------------------------------------------------

def screen(path: Path, fr: FileReview) -> bool:
    """True when the file may be opened by openpyxl; otherwise one finding says why not."""
    def stop(msg, rule="REVIEW-FILE"):
        fr.add("", "", rule, "error", msg)
        return False

    try:
        size = path.stat().st_size
    except OSError as exc:
        return stop(f"ファイルを読めません（{exc.strerror}）。")
    if size > MAX_FILE_BYTES:
        return stop(f"ファイルが大きすぎます（{size:,} バイト、上限 {MAX_FILE_BYTES:,}）。様式の行を増やしていないか確認してください。")
    with path.open("rb") as fh:
        head = fh.read(8)
        if head == CFB_MAGIC:
            data = head + fh.read()
            if "EncryptionInfo".encode("utf-16-le") in data:
                return stop("パスワードで保護（暗号化）されたブックです。パスワードを外して提出してください。")
            return stop("Excel 97-2003 形式（.xls）のブックです。配布した様式（.xlsx）で提出してください。")
    if not zipfile.is_zipfile(path):
        return stop("Excel ブック（.xlsx）ではありません（壊れているか別の形式です）。")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                return stop(f"ブック内の部品が多すぎます（{len(infos):,} 個）。")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNZIPPED_BYTES:
                return stop(f"展開後の大きさが上限を超えます（{total:,} バイト）。圧縮爆弾の可能性があるため開きません。")
            for i in infos:
                if i.file_size > 1024 * 1024 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                    return stop(f"部品「{i.filename}」の圧縮率が異常です（{i.file_size:,} バイトに展開）。圧縮爆弾の可能性があるため開きません。")
                if i.file_size > MAX_PART_BYTES:
                    return stop(f"部品「{i.filename}」が大きすぎます（{i.file_size:,} バイト）。様式の範囲外に大量の行や書式がないか確認してください。")
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                return stop("Excel ブック（.xlsx）の構成になっていません。")
            for i in infos:
                if i.filename.endswith((".xml", ".rels", ".vml")):
                    with zf.open(i) as member:
                        prolog = member.read(65536)
                    if any(mark in prolog for mark in _DTD_MARKS):
                        return stop(f"部品「{i.filename}」に DOCTYPE/ENTITY 宣言があります（XML エンティティ爆弾の可能性）。開きません。")
            if any(n.lower().endswith("vbaproject.bin") for n in names) or path.suffix.lower() == ".xlsm":
                fr.add("", "", "REVIEW-FILE", "warning",
                       "マクロを含むブックです。マクロは実行せず、入力値だけを確認しました。配布した様式（.xlsx）での提出を求めてください。")
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, ValueError) as exc:
        return stop(f"ブックを開けません（{read_reason(exc)}）。")
    return True


# ---- what the builder writes ----------------------------------------------------------------------

@lru_cache(maxsize=4)
def expected_formulas(variant: str, rb_path: str) -> dict[tuple[str, int, str], str]:
    """{(sheet, row, key): formula} the template of that variant holds (tokkou.formulas, no workbook written)."""
    from . import formulas
    return formulas.expected_formulas(variant, rulebook_mod.get(rb_path))


# ---- one workbook ---------------------------------------------------------------------------------

class _TimeUp(BaseException):
    """BaseException: libraries that wrap every Exception (openpyxl does) must not swallow it."""


_ARMED = [False]


def _alarm(signum, frame):
    if _ARMED[0]:
        _ARMED[0] = False
        raise _TimeUp


def review_file(path: str | Path, rules: str | None = None, time_limit: float = FILE_SECONDS) -> FileReview:
    """Every finding for one returned workbook; never raises for a bad file, never runs past time_limit."""
    import signal
    from .errors import InputError
    path = Path(path)
    fr = FileReview(file=str(path))
    if not path.is_file():  # a FIFO or a device named on the command line would never end
        fr.add("", "", "REVIEW-FILE", "error", "通常のファイルではありません（フォルダ・デバイス・パイプなど）。")
        return fr
    timed = hasattr(signal, "setitimer") and _in_main_thread()
    if timed:
        previous = signal.signal(signal.SIGALRM, _alarm)
        _ARMED[0] = True
        signal.setitimer(signal.ITIMER_REAL, time_limit)
    try:
        if path.stat().st_size <= MAX_FILE_BYTES:
            fr.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        if screen(path, fr):
            with warnings.catch_warnings():  # openpyxl's warnings about odd parts are not the user's business
                warnings.simplefilter("ignore")
                _review_workbook(path, fr, rulebook_mod.get(rules), rules)
        _ARMED[0] = False  # from here on a late alarm is ignored
    except _TimeUp:
        _ARMED[0] = False
        fr.readable, fr.lines = False, None
        fr.add("", "", "REVIEW-FILE", "error",
               f"{time_limit:.0f} 秒以内に確認できませんでした（様式の範囲外に大量の行や書式がある可能性）。このファイルは確認していません。")
    except InputError as exc:
        _ARMED[0] = False
        fr.readable, fr.lines = False, None
        fr.add("", "", "REVIEW-FILE", "error", str(exc).replace(f"{path}: ", ""))
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        _ARMED[0] = False
        fr.readable, fr.lines = False, None
        if template_reader.xml_forbidden(exc):  # defusedxml, behind the screen: DTD, entity, external reference
            fr.add("", "", "REVIEW-FILE", "error",
                   "XML に DTD・エンティティ宣言または外部参照があります（XML 爆弾・外部参照の可能性）。開きません。")
        else:
            fr.add("", "", "REVIEW-FILE", "error", f"このファイルは確認できませんでした（{read_reason(exc)}）。")
    finally:
        _ARMED[0] = False
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return fr


def _in_main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


def _review_workbook(path: Path, fr: FileReview, rb: Rulebook, rules: str | None) -> None:
    from .errors import InputError
    lay = L.get(rb)
    parts = review_parts.inspect(path, {L.SHEET_LINES: L.LINES_FIRST_ROW + L.LINES_COUNT - 1,
                                        L.SHEET_COORD: L.COORD_FIRST_ROW + L.COORD_COUNT - 1})
    if parts.strict:
        fr.add("", "", "REVIEW-FILE", "error",
               "「Strict Open XML スプレッドシート」形式で保存されたブックのため確認していません。"
               "Excel で「Excel ブック (*.xlsx)」を選んで保存し直し、提出し直すよう求めてください。")
        return
    fr.saved_at = parts.saved_at
    for sheet, cell, message in parts.risks:
        fr.add(sheet, cell, "REVIEW-RISK", "warning", message)
    raw: dict = {}
    # one read of the file: values for the lines, formulas for _formula_findings (workbook_read)
    book = template_reader._open(path, partial(workbook_read.Book, parts=parts.sheet_xml))
    try:
        lines = template_reader.read_lines(path, rb, raw=raw, book=book)
    except InputError:
        if "sheetnames" not in raw:
            raise
        lines = None
    names = raw["sheetnames"]
    missing = [s for s in (L.SHEET_COVER, L.SHEET_BODY, L.SHEET_LINES, L.SHEET_COORD) if s not in names]
    if missing:
        _sheet_finding(fr, names, missing)
        return
    _rows_below_findings(fr, parts)
    fr.readable = True
    _cover_findings(fr, raw, rb)
    fr.body_name = str(lines["body_name"].iloc[0] or "") if len(lines) else ""
    fr.body_code = str(lines["body_code"].iloc[0] or "") if len(lines) else ""
    res, details = engine.evaluate_frame_details(lines, rb, trace=True)  # trace: 明細's 計算過程
    fr.lines = res
    if lines.empty:
        fr.add(L.SHEET_LINES, "", "REVIEW-EMPTY", "info", "入力された事業・コーディネーターがありません。")
        return
    bad_rows = _input_findings(fr, res, details, lay, {k: f"{L.BODY_CELLS[k]}" for k, _ in L.BODY_FIELDS})
    shifted = _row_findings(fr, raw, lay)
    # on a sheet whose rows moved, every later cell differs: the one row finding says it all
    shown = {k: v for k, v in raw.items() if k[0] not in shifted and k not in bad_rows}
    if fr.variant == "addin" and _addin_not_loaded(raw, lay):
        fr.add(L.SHEET_LINES, "", "REVIEW-ADDIN", "warning",
               "アドインが読み込まれていません（計算列に #NAME? が保存されています）。表示されている計算結果は確認できないため、"
               "入力値からエンジンで計算し直した結果で集計しました。アドインを読み込んで再計算・保存するか、標準の様式で提出するよう求めてください。")
    else:
        _value_findings(fr, res, details, shown, lay, rb)
    _formula_findings(fr, book, lay, rules, rb, skip=shifted)


def _sheet_finding(fr: FileReview, names: list[str], missing: list[str]) -> None:
    """Sheets of the form that are missing: a renamed sheet when some are there, another kind of file when none is."""
    extra = [s for s in names if s not in L.SHEETS]
    if not any(s in L.SHEETS for s in names):
        fr.add("", "", "REVIEW-SHEET", "error",
               "このファイルは特別交付税（二地域居住・関係人口）の様式ではないようです（様式のシート"
               f"「{'」「'.join(missing)}」がどれもありません。ブックのシート: {'・'.join(names) or 'なし'}）。"
               "団体が独自に作った一覧表は `tokkou calc` で計算できます。様式での提出を求めるか、calc で計算してください。")
        return
    hint = f"（様式にないシート: {'・'.join(extra)}。名前を変えていませんか）" if extra else ""
    fr.add("・".join(missing), "", "REVIEW-SHEET", "error", f"シート「{'」「'.join(missing)}」がありません{hint}。")


def _rows_below_findings(fr: FileReview, parts) -> None:
    """Data written below the template's last row (found in the sheet XML, whatever <dimension> says)."""
    for sheet, last in ((L.SHEET_LINES, L.LINES_FIRST_ROW + L.LINES_COUNT - 1),
                        (L.SHEET_COORD, L.COORD_FIRST_ROW + L.COORD_COUNT - 1)):
        if sheet in parts.rows_below:
            first, end = parts.rows_below[sheet]
            rows = f"{first:,} 行目" if first == end else f"{first:,}〜{end:,} 行目"
            fr.add(sheet, f"A{first}", "REVIEW-ROWS", "warning",
                   f"様式の範囲（{last}行目まで）の外に入力があります（{rows}）。範囲外は読まずに確認しました。"
                   "行を追加した場合は様式の行に入れ直してください。", end, last)


def _cover_findings(fr: FileReview, raw: dict, rb: Rulebook) -> None:
    """Variant, rulebook version and layout version, as the cover records them."""
    fr.variant = "addin" if "UDF" in str(raw.get((L.SHEET_COVER, "variant")) or "") else "native"  # cover says which
    fr.rulebook_hash = str(raw.get((L.SHEET_COVER, "rulebook_hash")) or "")
    version = raw.get((L.SHEET_COVER, "layout_version"))
    if _plain(version) != L.LAYOUT_VERSION:
        # only one layout exists so far; another one is read with this layout's cells, so say so
        fr.add(L.SHEET_COVER, L.COVER_CELLS["layout_version"], "REVIEW-LAYOUT", "warning",
               "様式のバージョンがこのツールの知らないものです。現在の様式のセル位置で読み取りました。",
               version, L.LAYOUT_VERSION)
    if fr.rulebook_hash != rb.sha256 and review_versions.known(fr.rulebook_hash):
        # a template handed out earlier is no error (its own formulas are compared), but the prefecture
        # must know who still uses it: one finding of the lowest severity naming both versions
        fr.add(L.SHEET_COVER, L.COVER_CELLS["rulebook_hash"], "REVIEW-RULEBOOK", "info",
               f"以前に配布された様式（ルールブック版 {fr.rulebook_hash[:12]}）で作られています（現在の版は {rb.short_hash}）。"
               "誤りではありません。計算式は作成時の版の様式と照合し、計算結果は現在のルールブックで確認しました。"
               "次回からは現在の様式を使うよう伝えてください。",
               fr.rulebook_hash[:12], rb.short_hash)
    elif fr.rulebook_hash != rb.sha256:
        fr.add(L.SHEET_COVER, L.COVER_CELLS["rulebook_hash"], "REVIEW-RULEBOOK", "warning",
               "記録のない別のルールブック版で作られた様式です。計算式は現在の様式の計算式と照合し、"
               "計算結果は現在のルールブックで、その年度に有効な値により確認しました。",
               fr.rulebook_hash[:12] or "（なし）", rb.short_hash)


def _addin_not_loaded(raw: dict, lay) -> bool:
    """Cached #NAME? in a calculated column: Excel saved the add-in template without its functions."""
    calc = {L.SHEET_LINES: [L._index(c.letter) for c in L.LINE_COLUMNS if c.kind in ("calc", "helper")],
            L.SHEET_COORD: [L._index(c.letter) for c in lay.coord_columns if c.kind in ("calc", "helper")]}
    for key, values in raw.items():
        if isinstance(key, tuple) and key[0] in calc and isinstance(values, tuple):
            if any(i < len(values) and values[i] == "#NAME?" for i in calc[key[0]]):
                return True
    return False


def _input_findings(fr: FileReview, res: pd.DataFrame, details, lay, body_cells) -> set[tuple[str, int]]:
    """Engine errors as findings on the cell holding the bad value (団体情報 ones once); the cell comes
    from the engine's structured error keys (`Details.error_keys_at`), not from the reason text.

    Returns the (sheet, row) of the lines in error: their shown results are not compared again."""
    seen: set = set()
    rows: set[tuple[str, int]] = set()
    status = res["status"].to_numpy()
    for i in (j for j in range(len(res)) if status[j] == "error"):
        line = res.iloc[i]
        keys = [k for k in details.error_keys_at(i) if k in BY_KEY]
        sheet, cell = line["sheet"], line["cell"]
        rows.add((sheet, int(line["row"])))
        for k in keys or [None]:
            if k in body_cells:
                where = (L.SHEET_BODY, body_cells[k])
            elif k is not None:
                cols = L.LINES if sheet == L.SHEET_LINES else lay.coord
                col = cols.get(k)
                where = (sheet, f"{col.letter}{line['row']}" if col is not None else cell)
            else:
                where = (sheet, cell)
            key = (where, line["reasons"] if k not in body_cells else k)
            if key in seen:
                continue
            seen.add(key)
            found = line.get(k, "") if k else ""
            fr.add(where[0], where[1], (line["rule_ids"] or "INPUT").split()[0], "error", line["reasons"], found)
    return rows


def _row_findings(fr: FileReview, raw: dict, lay) -> set[str]:
    """The fixed No./ID column must still count 1, 2, 3 … (a deleted or inserted row shifts it).

    Returns the sheets whose rows moved."""
    shifted: set[str] = set()
    for sheet, first, count, col, expect in (
            (L.SHEET_LINES, L.LINES_FIRST_ROW, L.LINES_COUNT, L.LINES["line_no"], lambda i: i + 1),
            (L.SHEET_COORD, L.COORD_FIRST_ROW, L.COORD_COUNT, lay.coord["person_id"], L.coordinator_id)):
        i_col = L._index(col.letter)
        for i in range(count):
            row = raw.get((sheet, first + i))
            found = row[i_col] if row is not None and i_col < len(row) else None
            if _plain(found) != expect(i):
                fr.add(sheet, f"{col.letter}{first + i}", "REVIEW-ROWS", "error",
                       "様式の行が削除・挿入・並べ替えされています（番号が合いません）。以降の行の計算式も確認してください。",
                       found, expect(i))
                shifted.add(sheet)
                break
    return shifted


def _same(found, expected) -> bool:
    t = type(found)
    if (t is str or t is int or t is float) and type(expected) is t and found == expected:
        return True  # equal as they are (the comparison below finds such values equal too)
    if found is None and (expected is None or (type(expected) is str and expected == "")):
        return True
    found, expected = _plain(found), _plain(expected)
    if expected == "" or expected is None:
        return found in ("", None)
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if isinstance(found, bool) or not isinstance(found, (int, float)):
            return False
        return abs(Decimal(str(found)) - Decimal(str(expected))) < Decimal("1e-9")
    return str(found) == str(expected)


def _value_findings(fr: FileReview, res: pd.DataFrame, details, raw: dict, lay, rb: Rulebook) -> None:
    """What the workbook shows (cached results) against the engine on the same inputs."""
    from .expected import engine_cached
    expected = engine_cached(None, rb, result=res, details=details)
    shown = {L.SHEET_LINES: [c for c in L.LINE_COLUMNS if c.key in ("eligible_cost", "rate", "measure_amount", "status")],
             L.SHEET_COORD: [c for c in lay.coord_columns if c.key in ("eligible_cost", "cap", "measure_amount", "status")]}
    shown = {sheet: [(c, L._index(c.letter)) for c in cols] for sheet, cols in shown.items()}
    uncalculated = 0
    for (sheet, row), values in sorted(((k, v) for k, v in raw.items() if k[0] in shown), key=lambda kv: kv[0][1]):
        for c, i in shown[sheet]:
            found = values[i] if i < len(values) else None
            exp = expected.get((sheet, row, c.key), "")
            if found is None and exp not in ("", None):
                uncalculated += 1
                continue
            if not _same(found, exp):
                fr.add(sheet, f"{c.letter}{row}", "REVIEW-VALUE", "error",
                       f"表示されている{c.header.replace('（円）', '')}がエンジンの再計算と一致しません（数式の上書き・改変、または手入力の可能性）。",
                       found, exp)
    if uncalculated:
        fr.add(L.SHEET_LINES, "", "REVIEW-VALUE", "warning",
               f"計算結果が保存されていないセルが {uncalculated} 個あります（再計算せずに保存されたブック）。Excel で開いて保存し直すよう求めてください。")


def _formula_findings(fr: FileReview, path: Path | workbook_read.Book, lay, rules: str | None, rb: Rulebook, skip=frozenset()) -> None:
    """Formula cells must hold the builder's formula, compared canonically (formula_compare):
    a typed value or a really edited formula is a finding showing the first token that differs.
    A template of another rulebook version is compared with that version's formulas when they are
    known (review_versions); otherwise with today's, and many differences there are one finding."""
    want = review_versions.expected_formulas(fr.rulebook_hash, fr.variant) if fr.rulebook_hash != rb.sha256 else None
    unknown_version = fr.rulebook_hash != rb.sha256 and want is None
    fr.formulas_from = f"作成時の版（{fr.rulebook_hash[:12]}）の様式" if want is not None else "現在の様式"
    if want is None:
        want = expected_formulas(fr.variant, str(Path(rules).resolve()) if rules else str(rulebook_mod.default_rules_dir().resolve()))
    want_xml, want_rows = _as_xml(want, lay)
    matched: set = set()  # rows whose every calculated cell is the template's formula, as XML text
    have = _read_formulas(path, lay, xml=True, same=want_rows, matched=matched)
    before = len(fr.findings)
    for key, formula in want.items():
        if key[0] in skip or key[:2] in matched:
            continue
        got = have.get(key)
        if type(got) is bytes:  # a plain formula's XML text: the template's own text is the usual case
            if got == want_xml.get(key):
                continue
            got = workbook_read.formula_text(got)
        text = getattr(got, "text", got)  # an array-entered formula (ArrayFormula) is compared by its text
        if isinstance(text, str) and text.startswith("=") and isinstance(formula, str) \
                and same_formula(text, formula, key[1]):
            continue
        if got == formula:
            continue
        sheet, row, ckey = key
        cols = L.LINES if sheet == L.SHEET_LINES else lay.coord
        cell = f"{cols[ckey].letter}{row}"
        if isinstance(text, str) and text.startswith("=") and isinstance(formula, str):
            pos, a, b, found, expected = first_difference(text, formula)
            fr.add(sheet, cell, "REVIEW-FORMULA", "error",
                   f"計算式が様式から変更されています（{pos} 番目の要素が「{a[:60]}」、様式では「{b[:60]}」）。",
                   found, expected)
        else:
            fr.add(sheet, cell, "REVIEW-FORMULA", "error", "計算式のセルに値が直接入力されています（計算式が上書きされています）。",
                   got, str(formula)[:200])
    differ = fr.findings[before:]
    if unknown_version and len(differ) > MANY_FORMULAS:
        first = differ[0]
        del fr.findings[before:]
        fr.add(first.sheet, first.cell, "REVIEW-FORMULA", "error",
               f"計算式 {len(differ):,} セルが現在の様式と違います。記録のない別の版の様式のため、計算式を確認できません"
               "（計算結果は入力値から計算し直して確認しました）。現在の様式で提出し直すよう求めてください。",
               first.found, first.expected)


_XML_FORMS: dict[int, tuple] = {}
_UNEQUAL = object()  # a cell not compared as XML text: its row is compared cell by cell


def _as_xml(want: dict, lay) -> tuple[dict, dict]:
    """({key: the formula's text as XML writes it (without "=")}, {(sheet, row): those of the row's
    calculated cells in column order}): equal bytes are the same text, so the usual row is one
    comparison. Kept per expected-formulas dict (those are cached and few)."""
    hit = _XML_FORMS.get(id(want))
    if hit is None or hit[0] is not want:
        if len(_XML_FORMS) > 16:
            _XML_FORMS.clear()
        xml = {k: f[1:].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()
               for k, f in want.items() if isinstance(f, str) and f.startswith("=")}
        keys = review_versions.calculated_columns(lay)
        rows = {(sheet, row): tuple(xml.get((sheet, row, k), _UNEQUAL) for k in keys[sheet])
                for sheet, row, _ in want if sheet in keys}
        hit = _XML_FORMS[id(want)] = (want, xml, rows)
    return hit[1], hit[2]


# ---- many workbooks ----------------------------------------------------------------------------------

class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: the run stops, workers are ended, temporary files removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, frame):
    raise Stopped(signum)


def _worker_init() -> None:
    """Workers die on SIGTERM/SIGHUP (the main process ends them) and leave Ctrl-C to the main process."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class stoppable:
    """Context: SIGTERM and SIGHUP raise `Stopped` in the main thread (so `finally` blocks run)."""

    def __enter__(self):
        self.previous = {}
        if _in_main_thread():
            for s in (signal.SIGTERM, signal.SIGHUP):
                self.previous[s] = signal.signal(s, _stop)
        return self

    def __exit__(self, *exc):
        for s, h in self.previous.items():
            signal.signal(s, h)
        return False


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def skipped_review(entry: Skipped) -> FileReview:
    """A folder entry that is not reviewed, as a file review with its one finding."""
    fr = FileReview(file=str(entry.path))
    fr.add("", "", "REVIEW-FILE", entry.severity, entry.message)
    return fr


def review_all(paths: list[Path], rules: str | None = None, jobs: int = 2, progress: bool = True) -> list[FileReview]:
    """Review every file, in order, on `jobs` processes (at most the core count); a progress bar on the terminal.

    A SIGTERM/SIGHUP (inside `stoppable`) or Ctrl-C ends the workers before it propagates."""
    import multiprocessing
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    rulebook_mod.get(rules)  # a broken rulebook stops here, once, with its own message
    jobs = max(1, min(jobs, cores()))
    results: list[FileReview] = []
    cols = (TextColumn("確認中"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*cols, disable=not progress, transient=False) as bar:
        task = bar.add_task("review", total=len(paths))
        if jobs <= 1 or len(paths) < 4:
            for p in paths:
                results.append(review_file(p, rules))
                bar.advance(task)
            return results
        pool = multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_init)
        try:
            chunk = max(1, min(32, len(paths) // (jobs * 8)))
            for fr in pool.imap(partial(review_file, rules=rules), paths, chunksize=chunk):
                results.append(fr)
                bar.advance(task)
            pool.close()
        except BaseException:
            pool.terminate()  # SIGTERM to every worker, then wait for them
            raise
        finally:
            pool.join()
    return results


# ---- one run (the command line calls this) ----------------------------------------------------------

def run(inputs: list[str], out: Path, json_path: Path | None = None, rules: str | None = None,
        jobs: int = 2, quiet: bool = False) -> int:
    """Review `inputs` (files or folders) into the workbook `out` (and `json_path`); 0 when written.

    Every output place is checked before any work (it names no input, -o and --json differ, it is a
    writable file place). SIGTERM/SIGHUP end the workers and leave no temporary file (exit 128+signal).
    Raises InputError for a bad argument."""
    import sys
    with stoppable():
        try:
            return _run(inputs, Path(out), Path(json_path) if json_path else None, rules, jobs, quiet)
        except Stopped as stop:
            print(f"中断しました（{signal.Signals(stop.signum).name} を受け取りました）。処理中のプロセスを終了し、"
                  "書きかけのファイルは残していません。", file=sys.stderr)
            return 128 + stop.signum


def _run(inputs: list[str], out: Path, json_path: Path | None, rules: str | None, jobs: int, quiet: bool) -> int:
    import sys
    from .errors import InputError
    from .files import check_output, same_file
    if out.suffix.lower() != ".xlsx":
        raise InputError(f"{out}: 確認結果は .xlsx で出力します。")
    if json_path is not None and (same_file(out, json_path) or out.resolve() == json_path.resolve()):
        raise InputError(f"{json_path}: -o と --json に同じファイルが指定されています。別々のファイルを指定してください。")
    paths, skipped = collect(inputs)
    for t in [out] + ([json_path] if json_path else []):
        check_output(t, paths)
    if not paths and not skipped:
        raise InputError("確認するファイル（.xlsx）がありません。")
    rb = rulebook_mod.get(rules)
    if jobs > cores() and not quiet:
        print(f"--jobs {jobs} は CPU のコア数を超えるため {cores()} で処理します。", file=sys.stderr)
    reviewed = review_all(paths, rules, jobs=max(1, jobs), progress=not quiet)
    reviews = reviewed + [skipped_review(e) for e in skipped]
    reviews.sort(key=lambda fr: str(fr.file))
    tables = report_tables(reviews, rb)
    ident = identity(rb, tables)
    write_xlsx(tables, ident, out)
    if json_path:
        write_json(tables, ident, json_path)
    if not quiet:
        from .terminal import review_summary
        review_summary(summary_counts(reviewed, len(skipped), tables), out)
    return 0


def summary_counts(reviewed: list[FileReview], skipped: int, tables) -> dict[str, int]:
    """What the terminal summary counts: the workbooks reviewed (the progress bar's total), the folder
    entries not reviewed, and the findings and 措置額 of the whole report."""
    return {"reviewed": len(reviewed), "skipped": skipped,
            "unread": sum(not fr.readable for fr in reviewed),
            # a file that could not be read has its error finding too: counted once, as unreadable
            "with_errors": sum(fr.readable and any(f.severity == "error" for f in fr.findings) for fr in reviewed),
            "findings": len(tables["findings"]), "total": total(tables),
            "info": int((tables["findings"]["severity"] == SEVERITY_JA["info"]).sum())}
