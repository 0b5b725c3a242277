"""`tokkou bundle`: a folder to carry to a PC without internet (LGWAN): wheels + 導入手順.txt + install.cmd.

The wheels are tokkou's and every dependency's, for the target platform and Python, fetched with
`pip download --only-binary=:all:`. pip evaluates environment markers for the machine it runs on, not
for `--platform` (pandas needs tzdata and xlwings needs pywin32 only on Windows), so each wheel's
requirements are read again with the target's markers and whatever is missing is fetched too.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser as _EmailParser
from pathlib import Path

from . import __version__
from .errors import InputError

WHEELS = "wheels"
GUIDE = "導入手順.txt"
INSTALL_CMD = "install.cmd"
INSTALL_SH = "install.sh"


@dataclass
class Bundle:
    folder: Path
    platform: str
    python: str
    wheels: list[Path] = field(default_factory=list)


def make(folder: Path, platform: str | None = None, python: str | None = None, wheel: Path | None = None) -> Bundle:
    """Write the offline installation folder; returns what was written. Raises InputError
    (folder not empty, no tokkou wheel, pip download failed — with pip's last line)."""
    folder = Path(folder)
    python = python or f"{sys.version_info.major}.{sys.version_info.minor}"
    if not _valid_python(python):
        raise InputError(f"--python「{python}」: 3.12 のように「3.小数」で指定してください。")
    _prepare(folder)
    target = platform or None
    with tempfile.TemporaryDirectory(prefix="tokkou-bundle-") as tmp:
        own = Path(wheel) if wheel else build_wheel(Path(tmp))
        if not own.is_file() or own.suffix != ".whl":
            raise InputError(f"{own}: tokkou の wheel（.whl）ではありません。")
        wheels = folder / WHEELS
        wheels.mkdir(exist_ok=True)
        download([str(own)], wheels, target, python)
        for _ in range(5):  # requirements only the target's markers ask for (tzdata, pywin32)
            missing = missing_requirements(wheels, target_environment(target, python))
            if not missing:
                break
            download(missing, wheels, target, python)
    tag = target or _native_tag()
    _write_guides(folder, tag, python)
    return Bundle(folder, tag, python, sorted(wheels.glob("*.whl")))


def _valid_python(v: str) -> bool:
    parts = v.split(".")
    return len(parts) == 2 and all(p.isdigit() for p in parts) and parts[0] == "3"


def _prepare(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: フォルダではありません。")
    if folder.is_dir() and any(p.name != WHEELS for p in folder.iterdir()) and not (folder / GUIDE).exists():
        raise InputError(f"{folder}: 空でないフォルダです。新しいフォルダを指定してください。")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from .files import os_reason
        raise InputError(f"{folder}: フォルダを作れません（{os_reason(exc)}）。") from None


def source_dir() -> Path | None:
    """The source checkout this tokkou runs from (editable install), or None for an installed wheel."""
    root = Path(__file__).resolve().parent.parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "rules").is_dir() else None


def build_wheel(out: Path) -> Path:
    src = source_dir()
    if src is None:
        raise InputError("tokkou の wheel が見つかりません。--wheel で tokkou の wheel（.whl）を指定してください"
                         "（ソースのフォルダで python -m build を実行すると dist/ にできます）。")
    _pip(["wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(src)], "tokkou の wheel を作れませんでした")
    found = sorted(out.glob("tokkou-*.whl"))
    if not found:
        raise InputError("tokkou の wheel を作れませんでした。")
    return found[-1]


def download(requirements: list[str], dest: Path, platform: str | None, python: str) -> None:
    args = ["download", "--quiet", "--only-binary=:all:", "--dest", str(dest), "--python-version", python]
    if platform:
        args += ["--platform", platform, "--implementation", "cp"]
    _pip(args + requirements, "wheel を取得できませんでした（インターネットへの接続と --platform・--python を確認してください）")


def _pip(args: list[str], what: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        last = next((ln.strip() for ln in reversed((r.stderr or r.stdout).splitlines()) if ln.strip()), "")
        raise InputError(f"{what}: {last[:300]}")


def target_environment(platform: str | None, python: str) -> dict[str, str]:
    """PEP 508 marker values of the target (platform tag such as win_amd64, Python such as 3.12)."""
    from packaging.markers import default_environment
    env = dict(default_environment())
    env.update(python_version=python, python_full_version=f"{python}.0", implementation_name="cpython",
               platform_python_implementation="CPython")
    if platform and platform.startswith("win"):
        env.update(sys_platform="win32", platform_system="Windows", os_name="nt",
                   platform_machine="AMD64" if platform.endswith("amd64") else "x86" if platform == "win32" else "ARM64")
    elif platform and platform.startswith("macosx"):
        env.update(sys_platform="darwin", platform_system="Darwin", os_name="posix",
                   platform_machine="arm64" if platform.endswith("arm64") else "x86_64")
    elif platform and ("linux" in platform):
        env.update(sys_platform="linux", platform_system="Linux", os_name="posix",
                   platform_machine=platform.split("_", 2)[-1] if platform.count("_") >= 2 else env["platform_machine"])
    return env


def wheel_requirements(whl: Path) -> tuple[str, list[str]]:
    """(project name, Requires-Dist lines) from a wheel's METADATA."""
    with zipfile.ZipFile(whl) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        msg = _EmailParser().parsestr(z.read(meta).decode("utf-8"))
    return msg["Name"], msg.get_all("Requires-Dist") or []


def missing_requirements(wheels: Path, env: dict[str, str]) -> list[str]:
    """Requirements of the wheels in `wheels` that apply on the target and no wheel there provides."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename
    have = {canonicalize_name(parse_wheel_filename(w.name)[0]) for w in wheels.glob("*.whl")}
    missing: dict[str, str] = {}
    for whl in sorted(wheels.glob("*.whl")):
        for line in wheel_requirements(whl)[1]:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
                continue
            name = canonicalize_name(req.name)
            if name not in have:
                missing[name] = f"{req.name}{req.specifier}"
    return sorted(missing.values())


def _native_tag() -> str:
    from packaging.tags import sys_tags
    return next(t.platform for t in sys_tags() if t.platform != "any")


def _write_guides(folder: Path, platform: str, python: str) -> None:
    from .files import atomic_write
    guide = guide_text(platform, python).replace("\n", "\r\n")
    atomic_write(folder / GUIDE, lambda p: p.write_bytes(b"\xef\xbb\xbf" + guide.encode("utf-8")))
    cmd = install_cmd(python).replace("\n", "\r\n")
    atomic_write(folder / INSTALL_CMD, lambda p: p.write_bytes(cmd.encode("cp932")))
    atomic_write(folder / INSTALL_SH, lambda p: p.write_text(install_sh(python), encoding="utf-8", newline="\n"))
    os.chmod(folder / INSTALL_SH, os.stat(folder / INSTALL_SH).st_mode | 0o111)


def install_cmd(python: str) -> str:
    # cmd.exe reads a batch file in the console code page (cp932 on Japanese Windows): written as cp932.
    return f"""@echo off
rem tokkou {__version__} をインターネットなしで導入します（tokkou bundle で作成）。
setlocal
cd /d "%~dp0"
set "PY=python"
where py >nul 2>nul && set "PY=py -{python}"
echo Python を確認しています（{python} が必要です）...
%PY% --version || goto nopython
%PY% -m pip install --no-index --find-links "%~dp0{WHEELS}" tokkou || goto failed
%PY% -m tokkou.cli --version || goto failed
echo.
echo 導入しました。使い方は {GUIDE} を見てください。
pause
exit /b 0
:nopython
echo Python {python}（64ビット）が見つかりません。{GUIDE} の手順1を見てください。
pause
exit /b 1
:failed
echo 導入できませんでした。上の表示と {GUIDE} を確認してください。
pause
exit /b 1
"""


def install_sh(python: str) -> str:
    return f"""#!/bin/sh
# tokkou {__version__}: install without internet (made by `tokkou bundle`). Use the Python {python} you will run.
set -e
here="$(cd "$(dirname "$0")" && pwd)"
"${{PYTHON:-python3}}" -m pip install --no-index --find-links "$here/{WHEELS}" tokkou
"${{PYTHON:-python3}}" -m tokkou.cli --version
"""


def guide_text(platform: str, python: str) -> str:
    """導入手順.txt: the steps for the bundle's platform (Windows: install.cmd; Linux/Mac: install.sh)."""
    windows = platform.startswith("win")
    steps = _windows_steps(python) if windows else _posix_steps(python)
    other = (f"Windows 以外（Linux・Mac）では {INSTALL_SH} を実行します（PYTHON=python{python} sh {INSTALL_SH}）。"
             if windows else f"この一式は {platform} 用です。Windows 用は導入先に合わせて "
                             f"tokkou bundle --platform win_amd64 で作り直してください。")
    return f"""tokkou {__version__} 導入手順（インターネットに接続しない PC 向け）

このフォルダには tokkou と必要なパッケージの wheel（{WHEELS} フォルダ、{platform} 用、Python {python} 用）が
入っています。導入先の PC でインターネットに接続する必要はありません。

{steps}
{other}
"""


def _windows_steps(python: str) -> str:
    return f"""1. Python {python}（64ビット版）を入れます。
   python.org の「Windows installer (64-bit)」（python-{python}.x-amd64.exe）をインターネットに接続できる PC で
   入手して持ち込み、実行します（「Add python.exe to PATH」にチェック）。既に入っていれば不要です。
2. このフォルダを丸ごと導入先の PC にコピーします（USB メモリなど、庁内の持込み手順に従ってください）。
3. {INSTALL_CMD} をダブルクリックします（またはコマンドプロンプトで実行）。
   中で実行するのは次のコマンドです:
     py -{python} -m pip install --no-index --find-links "このフォルダ\\{WHEELS}" tokkou
   最後に「tokkou {__version__}」と表示されれば導入できています。
4. Excel で tokkou の関数（=COORD_CAP("専任") など）を使う場合は、コマンドプロンプトで次を実行します。
     xlwings addin install
     tokkou excel setup
   そのあと Excel の xlwings タブで「Import Functions」を押します。
5. コマンドで算定する場合: tokkou calc 入力.xlsx （結果は「入力_算定結果.xlsx」として同じフォルダに書き出されます）
"""


def _posix_steps(python: str) -> str:
    return f"""1. Python {python} を入れます（既に入っていれば不要です。python{python} --version で確かめられます）。
2. このフォルダを丸ごと導入先の PC にコピーします（USB メモリなど、庁内の持込み手順に従ってください）。
3. 端末でこのフォルダに移り、次を実行します（仮想環境の中で実行する場合は PYTHON=python を付けます）:
     PYTHON=python{python} sh {INSTALL_SH}
   中で実行するのは次のコマンドです:
     python{python} -m pip install --no-index --find-links "このフォルダ/{WHEELS}" tokkou
   最後に「tokkou {__version__}」と表示されれば導入できています。
4. コマンドで算定します: tokkou calc 入力.xlsx （結果は「入力_算定結果.xlsx」として同じフォルダに書き出されます）
   Excel の関数（=COORD_CAP("専任") など）は Windows の Excel で使います（Windows 用の一式で導入）。
"""


__all__ = ["make", "Bundle", "missing_requirements", "target_environment", "wheel_requirements", "build_wheel"]
