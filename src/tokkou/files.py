"""Files the user names: inputs that can be read safely, outputs written atomically, never over an input.

An output is written to a temporary file beside it and moved over it in one step, so a failure
(no permission, read-only place, full disk, Ctrl+C) leaves the previous output as it was and no
temporary file behind. Each failure a user can cause is an `InputError` with one Japanese line.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from .errors import InputError

TEMP_PREFIX = ".tokkou-"  # .gitignore'd; a crash between write and rename leaves only this name

_OS_REASONS = {
    errno.ENOSPC: "ディスクの空き容量が足りません",
    errno.EDQUOT: "ディスクの使用量の上限（クォータ）に達しました",
    errno.EROFS: "読み取り専用の場所です",
    errno.EACCES: "書き込む権限がありません",
    errno.EPERM: "書き込む権限がありません",
    errno.EISDIR: "フォルダです。ファイル名を指定してください",
    errno.ENOENT: "フォルダがありません",
    errno.ENOTDIR: "途中の名前がフォルダではありません",
    errno.ENAMETOOLONG: "名前が長すぎます",
    errno.EFBIG: "ファイルが大きすぎます",
}


def os_reason(exc: OSError) -> str:
    """A Japanese phrase for an operating-system error (errno), for one-line messages."""
    return _OS_REASONS.get(exc.errno or 0) or exc.strerror or "読み書きに失敗しました"


def read_reason(exc: BaseException) -> str:
    """A Japanese phrase for why a user's file could not be read (never a Python type name)."""
    import zipfile
    if isinstance(exc, OSError) and exc.errno:
        return os_reason(exc)
    if isinstance(exc, (zipfile.BadZipFile, EOFError)):
        return "ファイルが壊れているか、途中で切れています"
    if isinstance(exc, NotImplementedError):
        return "対応していない圧縮・暗号化の方式で保存されています"
    if isinstance(exc, UnicodeError):
        return "文字コードを判別できません"
    return "ブックの中身を読み取れません。Excel で開き「Excel ブック (*.xlsx)」として保存し直してください"


def check_input_file(path: str | Path) -> Path:
    """An existing regular file (symlinks followed). Folders, FIFOs and devices (`/dev/zero`) are refused,
    since reading them would never end or read nothing. Raises InputError."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"{p}: ファイルが見つかりません。") from None
    except OSError as exc:
        raise InputError(f"{p}: 読み込めません（{os_reason(exc)}）。") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{p}: フォルダではなくファイルを指定してください。")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{p}: 通常のファイルではありません（デバイス・パイプなど）。読み込みません。")
    return p


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when both names reach one file: symlinks, hard links, `..`, and a case variant on a
    case-insensitive file system (os.path.samefile compares device and inode)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve() if Path(a).exists() else False


def check_output(out: str | Path, inputs: Iterable[str | Path] = (), what: str = "出力") -> Path:
    """Refuse, before any work, an output that names an input, a folder, a device or a place that cannot
    take a new file (missing folder, no permission, read-only). Raises InputError."""
    out = Path(out)
    for i in inputs:
        if same_file(out, i):
            raise InputError(f"{out}: 入力ファイルと同じです。入力を上書きしません。別の{what}先を指定してください。")
    if out.is_dir():
        raise InputError(f"{out}: フォルダです。{what}するファイルの名前を指定してください（例: {out / ('結果' + (out.suffix or '.xlsx'))}）。")
    if out.exists() and not out.is_file():
        raise InputError(f"{out}: 通常のファイルではありません（デバイス・パイプなど）。書き込みません。")
    parent = out.parent
    if not parent.is_dir():
        raise InputError(f"{parent}: {what}先のフォルダがありません。")
    probe_writable(parent)
    return out


def probe_writable(folder: Path) -> None:
    """Create and remove a temporary file in `folder`: the only sure test (permissions, read-only mounts,
    ACLs, root squash all answer here)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
    except OSError as exc:
        raise InputError(f"{folder}: 書き込めません（{os_reason(exc)}）。") from None
    os.close(fd)
    os.unlink(tmp)


def umask_mode(base: int = 0o666) -> int:
    """File mode for a new file as the user's umask makes it (mkstemp itself creates 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


def atomic_write(target: str | Path, write: Callable[[Path], None], inputs: Iterable[str | Path] = ()) -> Path:
    """Call write(tmp) on a temporary file beside `target`, then replace `target` in one step.

    On any failure the temporary file is removed and `target` is left as it was; an OSError becomes an
    InputError naming the target (full disk, no permission, read-only place). The new file has the
    mode the user's umask gives. `inputs` are never overwritten.
    """
    target = check_output(target, inputs)
    try:
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=target.suffix, dir=target.parent)
    except OSError as exc:
        raise InputError(f"{target}: 書き込めません（{os_reason(exc)}）。") from None
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, umask_mode())
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        os_error = _os_error_in(exc)
        if os_error is None:
            raise
        raise InputError(f"{target}: 書き込めませんでした（{os_reason(os_error)}）。前の内容はそのままです。") from None
    return target


def _os_error_in(exc: BaseException) -> OSError | None:
    """The OSError behind exc (writers such as XlsxWriter wrap it in their own exception)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def write_text(target: str | Path, text: str, inputs: Iterable[str | Path] = ()) -> Path:
    """Text (UTF-8, LF) written atomically, as atomic_write."""
    return atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8", newline="\n"), inputs)


__all__ = ["atomic_write", "write_text", "check_output", "check_input_file", "same_file", "probe_writable",
           "umask_mode", "os_reason", "TEMP_PREFIX"]
