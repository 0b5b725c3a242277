"""Which entries of the named files and folders `tokkou review` reviews, and why the others are not.

Every folder entry is accounted for: a workbook is reviewed; anything else (another format, a
dangling link, a pipe, a hidden or lock file, a subfolder, a folder named *.xlsx) becomes one
finding naming it and saying why it was not reviewed. Nothing is opened to decide: a FIFO or a
device is recognised by `lstat`, so it can never block the run.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

REVIEWED = (".xlsx", ".xlsm", ".xls")  # .xls is opened only to say it is the old format
_SYSTEM_FILES = {"thumbs.db", "desktop.ini", ".ds_store"}
# suffix → (severity, why). Formats a return may arrive in are errors: the body's return went unreviewed.
_OTHER_FORMATS = {
    ".ods": ("error", "OpenDocument 形式（.ods）のため確認していません。Excel ブック（.xlsx）で保存し直して提出するよう求めてください"
                      "（LibreOffice では「名前を付けて保存」で「Excel 2007-365 (.xlsx)」を選びます）。"),
    ".xlsb": ("error", "Excel バイナリブック（.xlsb）のため確認していません。配布した様式（.xlsx）で保存し直して提出するよう求めてください。"),
    ".csv": ("error", "CSV ファイルのため様式としては確認していません（計算式も団体情報もありません）。配布した様式（.xlsx）での提出を求めてください。"
                      "一覧の計算だけなら tokkou calc を使えます。"),
    ".pdf": ("error", "PDF のため確認していません（入力値を読めません）。配布した様式（.xlsx）での提出を求めてください。"),
    ".xltx": ("error", "Excel テンプレート（.xltx）のため確認していません。ブック（.xlsx）として保存し直してください。"),
}


@dataclass(frozen=True)
class Skipped:
    """A folder entry not reviewed: one finding says why."""

    path: Path
    severity: str  # error | warning | info
    message: str


def _why_not(p: Path) -> Skipped | None:
    """None when `p` (a folder entry) is a workbook to review; otherwise why it is not."""
    name = p.name
    try:
        st = os.lstat(p)
    except OSError as exc:
        return Skipped(p, "error", f"読めません（{exc.strerror}）。")
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(p)
        except OSError:
            target = "?"
        if not p.exists():
            return Skipped(p, "error", f"リンク先（{target}）が存在しないシンボリックリンクのため確認していません。")
        if p.is_dir():
            return Skipped(p, "warning", f"フォルダ（{target}）へのリンクのため、中は確認していません。そのフォルダを指定してください。")
        st = os.stat(p)  # a link to a file is reviewed as that file (below)
    if stat.S_ISDIR(st.st_mode):
        if p.suffix.lower() in REVIEWED:
            return Skipped(p, "error", f"「{p.suffix}」という名前のフォルダで、ブックではありません。確認していません。")
        return Skipped(p, "warning", "フォルダのため中は確認していません（フォルダごと確認するときはそのフォルダを指定してください）。")
    if not stat.S_ISREG(st.st_mode):
        kind = "名前付きパイプ（FIFO）" if stat.S_ISFIFO(st.st_mode) else "ソケット" if stat.S_ISSOCK(st.st_mode) else "デバイス"
        return Skipped(p, "error", f"通常のファイルではなく{kind}のため、開かずに確認対象から外しました。")
    suffix = p.suffix.lower()
    if name.startswith("~$"):
        return Skipped(p, "info", "Excel がブックを開いている間に作る一時ファイル（~$）のため確認していません。")
    if name.lower() in _SYSTEM_FILES:
        return Skipped(p, "info", "OS が作る管理用のファイルのため確認していません。")
    if name.startswith("."):
        if suffix in REVIEWED:
            return Skipped(p, "warning", "隠しファイル（名前が「.」で始まる）のため確認していません。提出されたブックであれば、"
                                         "名前の先頭の「.」を外してからもう一度確認してください。")
        return Skipped(p, "info", "隠しファイル（名前が「.」で始まる）のため確認していません。")
    if suffix in REVIEWED:
        return None
    if suffix in _OTHER_FORMATS:
        severity, why = _OTHER_FORMATS[suffix]
        return Skipped(p, severity, why)
    what = f"拡張子「{p.suffix}」" if p.suffix else "拡張子のない"
    return Skipped(p, "warning", f"{what}のファイルで、様式のブック（.xlsx）ではないため確認していません。")


def collect(paths: list[str]) -> tuple[list[Path], list[Skipped]]:
    """(workbooks to review, entries not reviewed) for the files and folders named, in name order.

    A file named on the command line is always reviewed (review_file says what it is); a name
    that does not exist raises InputError.
    """
    from .errors import InputError
    files: list[Path] = []
    skipped: list[Skipped] = []
    for p in map(Path, paths):
        if p.is_dir():
            for entry in sorted(p.iterdir(), key=lambda e: e.name):
                why = _why_not(entry)
                if why is None:
                    files.append(entry)
                else:
                    skipped.append(why)
        elif p.exists():
            files.append(p)
        else:
            raise InputError(f"{p}: ファイルまたはフォルダが見つかりません。")
    return files, skipped
