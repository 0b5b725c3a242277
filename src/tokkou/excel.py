"""`tokkou excel setup` (classic xlwings) and `tokkou lite export` (xlwings Lite).

Neither imports xlwings: they only write configuration and code files, so they work on any
machine (the workbook is then used on the user's Windows/Mac/web Excel).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from . import __version__

UDF_MODULE = "tokkou.udfs"
CONF_KEY = "UDF MODULES"  # the key the xlwings add-in's ribbon writes and reads


def user_config_path() -> Path:
    """~/.xlwings/xlwings.conf (macOS: Excel's sandbox folder), as xlwings itself locates it.

    Resolved at call time so that HOME (USERPROFILE on Windows) is honoured.
    """
    home = Path(os.path.expanduser("~"))
    if sys.platform == "darwin":
        return home / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "xlwings.conf"
    return home / ".xlwings" / "xlwings.conf"


_LINE = re.compile(r'^\s*"([^"]*)"\s*,\s*"([^"]*)"\s*$')


def add_udf_module(conf: Path, module: str = UDF_MODULE) -> tuple[str, str | None]:
    """Add `module` to the `UDF Modules` entry of an xlwings.conf, keeping every other line.

    Returns (new value, previous value or None). Writes atomically; a file already listing the
    module is left byte-for-byte unchanged.
    """
    raw = conf.read_bytes() if conf.exists() else b""
    text = raw.decode("utf-8", errors="surrogateescape")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    previous = None
    for i, line in enumerate(lines):
        m = _LINE.match(line.rstrip("\r\n"))
        if m and m.group(1).strip().upper() == CONF_KEY:
            previous = m.group(2)
            modules = [s.strip() for s in previous.split(";") if s.strip()]
            if module in modules:
                return previous, previous
            value = ";".join(modules + [module])
            ending = line[len(line.rstrip("\r\n")):] or newline
            lines[i] = f'"{m.group(1)}","{value}"{ending}'
            break
    else:
        value = module
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        lines.append(f'"{CONF_KEY}","{value}"{newline}')
    from .files import atomic_write
    conf.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(lines).encode("utf-8", errors="surrogateescape")
    atomic_write(conf, lambda tmp: tmp.write_bytes(data))
    return value, previous


# ---- xlwings Lite ------------------------------------------------------------------------------

WHEEL_NAME = f"tokkou-{__version__}-py3-none-any.whl"


def lite_requirements(package: str) -> str:
    """requirements.txt for xlwings Lite: xlwings and tokkou from `package` (the wheel's URL, or its file name
    when a local wheel was copied beside it and still has to be put at a URL)."""
    local = not package.startswith(("http://", "https://"))
    note = ("# この wheel（同じフォルダにコピーしました）を Excel から読める Web サーバー（CORS 許可）に置き、\n"
            "# 次の行をその URL に書き換えてください。\n") if local else ""
    return (
        "# xlwings Lite: エディタの requirements.txt タブに貼り付けてください（tokkou lite export で生成）。\n"
        "# pandas・numpy・pydantic・PyYAML は Pyodide 同梱版が使われます（版を固定しないでください）。\n"
        "# tokkou は PyPI にないため、tokkou の wheel の URL を指定します（python -m build で dist/ に作成）。\n"
        "xlwings\n"
        f"{note}{package}\n"
    )


def lite_main() -> str:
    from . import udfs
    names = sorted(udfs.__all__)
    imports = "".join(f"    {n},\n" for n in names)
    return (
        '"""xlwings Lite 用 main.py（tokkou lite export で生成）。\n\n'
        "tokkou の Excel 関数（ELIGIBLE_AMOUNT・MEASURE_AMOUNT・CHECK_LINE など、日本語名 措置額 など）を\n"
        "このブックで使えるようにします。xlwings Lite は main.py にある @func の関数を登録します。\n"
        '"""\n'
        "from tokkou.udfs import (  # noqa: F401 - imported to be registered by xlwings Lite\n"
        f"{imports})\n"
    )


def export_lite(folder: Path, package: str, force: bool = False) -> list[Path]:
    """Write requirements.txt and main.py into `folder` (and copy the wheel when `package` is a local
    wheel); never overwrite unless `force`. Raises InputError."""
    import shutil

    from .errors import InputError
    from .files import write_text
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: フォルダではありません。")
    wheel = None
    if not package.startswith(("http://", "https://")):
        wheel = Path(package)
        if not (wheel.is_file() and wheel.name.startswith("tokkou-") and wheel.suffix == ".whl"):
            raise InputError(f"{package}: tokkou の wheel（{WHEEL_NAME}）のファイルか、その URL（https://…）を指定してください。")
        package = wheel.name
    files = {folder / "requirements.txt": lite_requirements(package), folder / "main.py": lite_main()}
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise InputError(f"{existing[0]}: すでにあります。上書きしません（上書きするときは --force）。")
    folder.mkdir(parents=True, exist_ok=True)
    written = [write_text(path, content) for path, content in files.items()]
    if wheel is not None and not (folder / wheel.name).exists():
        shutil.copyfile(wheel, folder / wheel.name)
        written.append(folder / wheel.name)
    return written
