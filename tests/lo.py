"""LibreOffice headless: recalculate an .xlsx (or render it to PDF) with a fresh profile.

LibreOffice keeps the cached values of an .xlsx on load unless its profile says
Calc/Formula/Load/OOXMLRecalcMode = 0 (always recalculate) — SPEC §5. Every call here uses its own
temporary profile with that setting, so a cached value can never pass for a computed one.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


class LibreOfficeError(Exception):
    """soffice is missing or the conversion failed."""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def make_profile(folder: Path) -> str:
    """A profile folder whose settings force recalculation on load; returns its file URL."""
    user = folder / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(_XCU, encoding="utf-8")
    return folder.resolve().as_uri()


def convert(src: Path, out_dir: Path, fmt: str = "xlsx", timeout: float = 180) -> Path:
    """Open `src` in LibreOffice (recalculating every formula) and save it as `fmt` in out_dir."""
    exe = soffice()
    if not exe:
        raise LibreOfficeError("LibreOffice (soffice) が見つかりません。")
    src, out_dir = Path(src).resolve(), Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tokkou-lo-") as tmp:
        profile = make_profile(Path(tmp) / "profile")
        filt = {"xlsx": "xlsx:Calc MS Excel 2007 XML", "pdf": "pdf:calc_pdf_Export"}.get(fmt, fmt)
        cmd = [exe, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nolockcheck",
               "--convert-to", filt, "--outdir", str(out_dir), str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = out_dir / f"{src.stem}.{fmt}"
    if proc.returncode != 0 or not out.exists():
        raise LibreOfficeError(f"LibreOffice の変換に失敗しました: {(proc.stderr or proc.stdout)[-300:]}")
    return out


def recalc(src: Path, out_dir: Path) -> Path:
    """The workbook as LibreOffice computes it (formulas recalculated, values cached)."""
    return convert(src, out_dir, "xlsx")


def render_png(src: Path, page: int, out_png: Path, dpi: int = 110,
               crop: tuple[int, int, int, int] | None = None) -> Path:
    """One printed page of a workbook as PNG (LibreOffice → PDF → pdftoppm), for the README.

    crop: (x, y, width, height) in pixels at `dpi`.
    """
    with tempfile.TemporaryDirectory(prefix="tokkou-png-") as tmp:
        pdf = convert(src, Path(tmp), "pdf")
        stem = Path(tmp) / "page"
        box = [] if crop is None else ["-x", str(crop[0]), "-y", str(crop[1]), "-W", str(crop[2]), "-H", str(crop[3])]
        subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-png", "-singlefile", *box,
                        str(pdf), str(stem)], check=True, capture_output=True, timeout=120)
        out_png = Path(out_png)
        shutil.move(str(stem.with_suffix(".png")), out_png)
    return out_png


def need_soffice() -> None:
    """Skip a test without LibreOffice; in CI (CI=true) fail instead — a skipped cross-check proves nothing."""
    import os

    import pytest
    if soffice():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("LibreOffice (soffice) is required in CI")
    pytest.skip("LibreOffice (soffice) is not installed")
