"""`tokkou review`: check returned templates against the engine, file by file, safely.

Per workbook: the bytes are screened before any XML parser sees them (size, zip directory, DOCTYPE,
CFB containers), then the inputs are read through `template_reader.read_lines`, recomputed by the engine,
and compared with what the workbook shows (cached values) and with the formulas the builder
writes. A file that cannot be read costs one finding; the batch goes on.
"""
from __future__ import annotations

import hashlib
import re
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__, engine, layout as L, rulebook as rulebook_mod, template_reader, workbook_read
from .normalize import BY_KEY
from .rulebook import Rulebook
from .files import atomic_write

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100  # a member that inflates more than this (and past 1 MB) is a zip bomb
MAX_MEMBERS = 5000
MAX_PART_BYTES = 40 * 1024 * 1024  # one sheet's XML; the template's largest is a few MB
FILE_SECONDS = 60.0  # per file; a file past it is one finding and the batch goes on
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# DTD declarations in the XML encodings a workbook part may use (defusedxml refuses the rest later)
_DTD_MARKS = tuple(m.encode(enc) for m in ("<!DOCTYPE", "<!ENTITY") for enc in ("utf-8", "utf-16-le", "utf-16-be"))
SEVERITY_JA = {"error": "エラー", "warning": "警告", "info": "情報"}


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


@dataclass
class FileReview:
    file: str
    sha256: str = ""
    readable: bool = False
    body_name: str = ""
    body_code: str = ""
    variant: str = ""
    rulebook_hash: str = ""
    findings: list[Finding] = field(default_factory=list)
    lines: pd.DataFrame | None = None

    def add(self, sheet, cell, rule_id, severity, message, found="", expected=""):
        self.findings.append(Finding(self.file, sheet, cell, rule_id, severity, message,
                                     _plain(found), _plain(expected)))


def _plain(v):
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


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
        return stop(f"ブックが壊れています（{type(exc).__name__}）。")
    return True


# ---- what the builder writes ----------------------------------------------------------------------

@lru_cache(maxsize=4)
def expected_formulas(variant: str, rb_path: str) -> dict[tuple[str, int, str], str]:
    """{(sheet, row, key): formula} the template of that variant holds (tokkou.formulas, no workbook written)."""
    from . import formulas
    return formulas.expected_formulas(variant, rulebook_mod.get(rb_path))


def _read_formulas(path: Path | workbook_read.Book, lay) -> dict[tuple[str, int, str], str]:
    from openpyxl import load_workbook
    wb = path.formula_view() if isinstance(path, workbook_read.Book) else load_workbook(path, read_only=True, data_only=False)
    out: dict[tuple[str, int, str], str] = {}
    try:
        for sheet, first, count, cols in ((L.SHEET_LINES, L.LINES_FIRST_ROW, L.LINES_COUNT, L.LINE_COLUMNS),
                                          (L.SHEET_COORD, L.COORD_FIRST_ROW, L.COORD_COUNT, lay.coord_columns)):
            if sheet not in wb.sheetnames:
                continue
            calc = [c for c in cols if c.kind in ("calc", "helper")]
            for r, row in enumerate(wb[sheet].iter_rows(min_row=first, max_row=first + count - 1,
                                                        max_col=len(cols), values_only=True), first):
                for c in calc:
                    i = L._index(c.letter)
                    out[(sheet, r, c.key)] = row[i] if i < len(row) else None
    finally:
        wb.close()
    return out


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
            fr.add("", "", "REVIEW-FILE", "error",
                   f"このファイルは確認できませんでした（{type(exc).__name__}: {str(exc)[:120]}）。")
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
    raw: dict = {}
    # one read of the file: values for the lines, formulas for _formula_findings (workbook_read)
    book = template_reader._open(path, workbook_read.Book)
    try:
        lines = template_reader.read_lines(path, rb, raw=raw, book=book)
    except InputError:
        if "sheetnames" not in raw:
            raise
        lines = None
    names = raw["sheetnames"]
    missing = [s for s in (L.SHEET_COVER, L.SHEET_BODY, L.SHEET_LINES, L.SHEET_COORD) if s not in names]
    if missing:
        extra = [s for s in names if s not in L.SHEETS]
        hint = f"（様式にないシート: {'・'.join(extra)}。名前を変えていませんか）" if extra else ""
        fr.add("・".join(missing), "", "REVIEW-SHEET", "error", f"シート「{'」「'.join(missing)}」がありません{hint}。")
        return
    used = raw["max_row"]
    for sheet, last in ((L.SHEET_LINES, L.LINES_FIRST_ROW + L.LINES_COUNT - 1),
                        (L.SHEET_COORD, L.COORD_FIRST_ROW + L.COORD_COUNT - 1)):
        if (used.get(sheet) or 0) > last:
            fr.add(sheet, f"A{last + 1}", "REVIEW-ROWS", "warning",
                   f"様式の範囲（{last}行目まで）の外にも入力があります（使用範囲 {used[sheet]:,} 行）。"
                   f"範囲外は読まずに確認しました。行を追加した場合は様式の行に入れ直してください。", used[sheet], last)
    fr.readable = True
    fr.variant = "addin" if "UDF" in str(raw.get((L.SHEET_COVER, "variant")) or "") else "native"  # cover says which
    fr.rulebook_hash = str(raw.get((L.SHEET_COVER, "rulebook_hash")) or "")
    body_cells = {k: f"{L.BODY_CELLS[k]}" for k, _ in L.BODY_FIELDS}
    fr.body_name = str(lines["body_name"].iloc[0] or "") if len(lines) else ""
    fr.body_code = str(lines["body_code"].iloc[0] or "") if len(lines) else ""
    version = raw.get((L.SHEET_COVER, "layout_version"))
    if _plain(version) != L.LAYOUT_VERSION:
        # only one layout exists so far; another one is read with this layout's cells, so say so
        fr.add(L.SHEET_COVER, L.COVER_CELLS["layout_version"], "REVIEW-LAYOUT", "warning",
               "様式のバージョンがこのツールの知らないものです。現在の様式のセル位置で読み取りました。",
               version, L.LAYOUT_VERSION)
    if fr.rulebook_hash != rb.sha256:
        fr.add(L.SHEET_COVER, L.COVER_CELLS["rulebook_hash"], "REVIEW-RULEBOOK", "warning",
               "別のルールブック版で作られた様式です。現在のルールブックで、その年度に有効な値により確認しました。",
               fr.rulebook_hash[:12] or "（なし）", rb.short_hash)
    if lines.empty:
        fr.add(L.SHEET_LINES, "", "REVIEW-EMPTY", "info", "入力された事業・コーディネーターがありません。")
        fr.lines = engine.evaluate_frame(lines, rb)
        return
    res = engine.evaluate_frame(lines, rb)
    fr.lines = res
    _input_findings(fr, res, lay, body_cells)
    shifted = _row_findings(fr, raw, lay)
    # on a sheet whose rows moved, every later cell differs: the one row finding says it all
    _value_findings(fr, res, {k: v for k, v in raw.items() if k[0] not in shifted}, lay, rb)
    _formula_findings(fr, book, lay, rules, rb, skip=shifted)


_KEY_IN_REASON = re.compile(r"\(([a-z_]+)\)")


def _input_findings(fr: FileReview, res: pd.DataFrame, lay, body_cells) -> None:
    """Engine errors as findings on the cell holding the bad value (団体情報 ones once)."""
    seen: set = set()
    for _, line in res[res["status"] == "error"].iterrows():
        keys = [k for k in _KEY_IN_REASON.findall(line["reasons"]) if k in BY_KEY]
        sheet, cell = line["sheet"], line["cell"]
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
    found, expected = _plain(found), _plain(expected)
    if expected == "" or expected is None:
        return found in ("", None)
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if isinstance(found, bool) or not isinstance(found, (int, float)):
            return False
        return abs(Decimal(str(found)) - Decimal(str(expected))) < Decimal("1e-9")
    return str(found) == str(expected)


def _value_findings(fr: FileReview, res: pd.DataFrame, raw: dict, lay, rb: Rulebook) -> None:
    """What the workbook shows (cached results) against the engine on the same inputs."""
    from .templates import engine_cached
    expected = engine_cached(None, rb, result=res)
    shown = {L.SHEET_LINES: [c for c in L.LINE_COLUMNS if c.key in ("eligible_cost", "rate", "measure_amount", "status")],
             L.SHEET_COORD: [c for c in lay.coord_columns if c.key in ("eligible_cost", "cap", "measure_amount", "status")]}
    uncalculated = 0
    for (sheet, row), values in sorted(((k, v) for k, v in raw.items() if k[0] in shown), key=lambda kv: kv[0][1]):
        for c in shown[sheet]:
            i = L._index(c.letter)
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
    """Formula cells must hold the builder's formula: a typed number or an edited formula is a finding."""
    want = expected_formulas(fr.variant, str(Path(rules).resolve()) if rules else str(rulebook_mod.default_rules_dir().resolve()))
    have = _read_formulas(path, lay)
    for key, formula in want.items():
        got = have.get(key)
        if got == formula or key[0] in skip:
            continue
        sheet, row, ckey = key
        cols = L.LINES if sheet == L.SHEET_LINES else lay.coord
        cell = f"{cols[ckey].letter}{row}"
        if isinstance(got, str) and got.startswith("="):
            fr.add(sheet, cell, "REVIEW-FORMULA", "error", "計算式が様式から変更されています。", got[:200], formula[:200])
        else:
            fr.add(sheet, cell, "REVIEW-FORMULA", "error", "計算式のセルに値が直接入力されています（計算式が上書きされています）。",
                   got, formula[:200])


# ---- many workbooks ----------------------------------------------------------------------------------

def collect(paths: list[str]) -> list[Path]:
    """Files named, and .xlsx/.xlsm/.xls files in folders named (sorted); missing names raise."""
    from .errors import InputError
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in (".xlsx", ".xlsm", ".xls")
                          and not f.name.startswith(("~$", ".")))
        elif p.exists():
            out.append(p)
        else:
            raise InputError(f"{p}: ファイルまたはフォルダが見つかりません。")
    return out


def review_all(paths: list[Path], rules: str | None = None, jobs: int = 2, progress: bool = True) -> list[FileReview]:
    """Review every file, in order, on `jobs` processes; a progress bar on the terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    rulebook_mod.get(rules)  # a broken rulebook stops here, once, with its own message
    results: list[FileReview | None] = [None] * len(paths)
    cols = (TextColumn("確認中"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*cols, disable=not progress, transient=False) as bar:
        task = bar.add_task("review", total=len(paths))
        if jobs <= 1 or len(paths) < 4:
            for i, p in enumerate(paths):
                results[i] = review_file(p, rules)
                bar.advance(task)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                chunk = max(1, min(32, len(paths) // (jobs * 8)))
                for i, fr in enumerate(pool.map(review_file, paths, [rules] * len(paths), chunksize=chunk)):
                    results[i] = fr
                    bar.advance(task)
    return [r for r in results if r is not None]


# ---- the report -------------------------------------------------------------------------------------

def report_tables(reviews: list[FileReview], rb: Rulebook) -> dict[str, pd.DataFrame]:
    """summary (one row per file/body), findings, lines (recomputed), categories."""
    cats = {c.id: f"{c.symbol}{c.name}" for c in rb.model.categories}
    from .normalize import Parsers
    parsers = Parsers(rb)
    frames, rows = [], []
    for fr in reviews:
        row = {"ファイル": Path(fr.file).name, "団体名": fr.body_name, "団体コード": fr.body_code,
               "読込": "可" if fr.readable else "不可",
               "指摘（エラー）": sum(f.severity == "error" for f in fr.findings),
               "指摘（警告）": sum(f.severity == "warning" for f in fr.findings)}
        lines = fr.lines if fr.lines is not None else pd.DataFrame()
        for s in ("eligible", "partial", "excluded", "error"):
            row[engine.STATUS_JA[s]] = int((lines["status"] == s).sum()) if len(lines) else 0
        cat_ids = lines["category"].map(lambda v: parsers.category(v)[0]) if len(lines) else pd.Series(dtype=object)
        for cid, label in cats.items():
            sel = lines.loc[cat_ids == cid, "measure_amount"] if len(lines) else pd.Series(dtype=object)
            row[f"措置額{label}"] = int(pd.to_numeric(sel, errors="coerce").fillna(0).sum())
        row["措置額合計"] = sum(row[f"措置額{label}"] for label in cats.values())
        row["SHA-256"] = fr.sha256  # last: long, and only for proving which bytes were judged
        rows.append(row)
        if len(lines):
            part = lines.copy()
            part.insert(0, "file", Path(fr.file).name)
            frames.append(part)
    summary = pd.DataFrame(rows)
    findings = pd.DataFrame([{**asdict(f), "file": Path(f.file).name, "severity": SEVERITY_JA[f.severity]}
                             for fr in reviews for f in fr.findings],
                            columns=["file", "sheet", "cell", "rule_id", "severity", "message", "found", "expected"])
    lines = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    by_cat = pd.DataFrame({"区分": list(cats.values()),
                           "措置額": [int(summary[f"措置額{c}"].sum()) if len(summary) else 0 for c in cats.values()]})
    return {"summary": summary, "findings": findings, "lines": lines, "categories": by_cat}


def identity(rb: Rulebook) -> dict[str, str]:
    from datetime import datetime, timezone
    return {"tool": f"tokkou {__version__}", "rulebook": rb.name, "rulebook_sha256": rb.sha256,
            "time": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")}


IDENTITY_JA = {"tool": "作成ツール", "rulebook": "ルールブック", "rulebook_sha256": "ルールブックのハッシュ（SHA-256）",
               "time": "実行日時"}


def write_xlsx(tables: dict[str, pd.DataFrame], ident: dict[str, str], out: Path) -> None:
    import xlsxwriter

    def write(tmp: Path) -> None:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                       "strings_to_numbers": False, "nan_inf_to_errors": True})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"})
        yen = wb.add_format({"num_format": "#,##0"})
        for title, key in (("概要", "summary"), ("指摘", "findings"), ("明細", "lines")):
            ws = wb.add_worksheet(title)
            df = tables[key]
            start = 0
            if key == "summary":
                for i, (k, v) in enumerate(ident.items()):
                    ws.write_string(i, 0, IDENTITY_JA.get(k, k), head)
                    ws.write_string(i, 1, str(v))
                start = len(ident) + 1
            _write_frame(ws, df, start, head, yen)
            ws.set_landscape()
            ws.set_paper(9)  # A4
            ws.fit_to_pages(1, 0)
            ws.repeat_rows(start)
        ws = wb.add_worksheet("区分別")
        _write_frame(ws, tables["categories"], 0, head, yen)
        chart = wb.add_chart({"type": "column"})
        n = len(tables["categories"])
        chart.add_series({"name": "措置額", "categories": ["区分別", 1, 0, n, 0], "values": ["区分別", 1, 1, n, 1]})
        chart.set_title({"name": "区分別の措置額（全団体）"})
        chart.set_legend({"none": True})
        ws.insert_chart("D2", chart)
        wb.close()
    atomic_write(out, write)


def _write_frame(ws, df: pd.DataFrame, start: int, head, yen) -> None:
    cols = list(df.columns)
    for j, c in enumerate(cols):
        ws.write_string(start, j, str(c), head)
        money = c in ("eligible_cost", "measure_amount", "cost") or str(c).startswith("措置額")
        width = 60 if c in ("reasons", "message") else 30 if c in ("ファイル", "SHA-256", "found", "expected") else 14
        ws.set_column(j, j, width, yen if money else None)
    for i, row in enumerate(df.itertuples(index=False), start=start + 1):
        for j, v in enumerate(row):
            v = _plain(v)
            if v is pd.NA or v is None or (isinstance(v, float) and v != v) or v == "":
                continue
            if isinstance(v, bool):
                ws.write_boolean(i, j, v)
            elif isinstance(v, (int, float)):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, str(v))
    if cols:
        ws.autofilter(start, 0, start + max(len(df), 1), len(cols) - 1)
        ws.freeze_panes(start + 1, 0)


def write_json(tables: dict[str, pd.DataFrame], ident: dict[str, str], out: Path) -> None:
    import json

    def records(df):
        return [{k: _jsonable(v) for k, v in r.items()} for r in df.to_dict("records")]
    doc = {"run": ident, **{k: records(v) for k, v in tables.items()}}
    atomic_write(out, lambda tmp: tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8"))


def _jsonable(v):
    v = _plain(v)
    if v is pd.NA or (isinstance(v, float) and v != v):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


# ---- one run (the command line calls this) ----------------------------------------------------------

def run(inputs: list[str], out: Path, json_path: Path | None = None, rules: str | None = None,
        jobs: int = 2, quiet: bool = False) -> int:
    """Review `inputs` (files or folders) into the workbook `out` (and `json_path`); 0 when written.

    Every output place is checked before any work (it names no input, it is a writable file place).
    Raises InputError for a bad argument."""
    from .errors import InputError
    from .files import check_output
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise InputError(f"{out}: 確認結果は .xlsx で出力します。")
    paths = collect(inputs)
    targets = [out] + ([Path(json_path)] if json_path else [])
    for t in targets:
        check_output(t, paths)
    if not paths:
        raise InputError("確認するファイル（.xlsx）がありません。")
    rb = rulebook_mod.get(rules)
    reviews = review_all(paths, rules, jobs=max(1, jobs), progress=not quiet)
    tables = report_tables(reviews, rb)
    ident = identity(rb)
    write_xlsx(tables, ident, out)
    if json_path:
        write_json(tables, ident, Path(json_path))
    if not quiet:
        _print_summary(tables, out)
    return 0


def _print_summary(tables, out: Path) -> None:
    from rich.console import Console
    s, f = tables["summary"], tables["findings"]
    con = Console()
    files = len(s)
    bad = int((s["読込"] == "不可").sum()) if files else 0
    with_findings = int((s["指摘（エラー）"] > 0).sum()) if files else 0
    total = int(s["措置額合計"].sum()) if files else 0
    con.print(f"{files} ファイルを確認: 読めないファイル {bad}、エラーの指摘があるファイル {with_findings}、"
              f"指摘 {len(f)} 件、措置額合計 {total:,} 円 → {out}")
