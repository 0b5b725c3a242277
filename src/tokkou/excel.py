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
    conf.parent.mkdir(parents=True, exist_ok=True)
    tmp = conf.with_name(conf.name + ".tokkou-tmp")
    tmp.write_bytes("".join(lines).encode("utf-8", errors="surrogateescape"))
    os.replace(tmp, conf)
    return value, previous


# ---- xlwings Lite ------------------------------------------------------------------------------

def lite_requirements(package: str | None = None) -> str:
    pkg = package or f"tokkou=={__version__}"
    return (
        "# xlwings Lite: エディタの requirements.txt タブに貼り付けてください（tokkou lite export で生成）。\n"
        "# pandas・numpy・pydantic・PyYAML は Pyodide 同梱版が使われます（版を固定しないでください）。\n"
        "# tokkou が PyPI にない場合は、2行目を tokkou の wheel の URL（CORS 許可のある場所）に置き換えます。\n"
        "xlwings\n"
        f"{pkg}\n"
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


def export_lite(folder: Path, package: str | None = None, force: bool = False) -> list[Path]:
    """Write requirements.txt and main.py into `folder`; never overwrite unless `force`."""
    from .errors import InputError
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: フォルダではありません。")
    files = {folder / "requirements.txt": lite_requirements(package), folder / "main.py": lite_main()}
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise InputError(f"{existing[0]}: すでにあります。上書きしません（上書きするときは --force）。")
    folder.mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        tmp = path.with_name(path.name + ".tokkou-tmp")
        tmp.write_text(content, encoding="utf-8", newline="\n")
        os.replace(tmp, path)
    return list(files)
