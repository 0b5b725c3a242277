"""Ordinary failures are ordinary (issue 11 item 6): an output place that cannot take the file ends in
exit 2 and one Japanese line, the previous output intact and no temporary file left; outputs follow the
umask; inputs that are not regular files are refused; an output that is an input under another name is
refused (os.path.samefile).

Real failures where this machine allows them (a tmpfs of 64 KiB for a full disk, a read-only tmpfs —
both need root), simulated ones (ENOSPC, EACCES raised where the file is written) everywhere.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tokkou import cli, files

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "workbook_templates" / "examples" / "sample_lines.csv"
PREVIOUS = b"previous output\n"


def tokkou(*args, cwd=None, umask=None, timeout=120):
    pre = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run([sys.executable, "-m", "tokkou.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, preexec_fn=pre, timeout=timeout)


def one_japanese_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("エラー: ") and "Traceback" not in stderr and "Errno" not in stderr, stderr
    return lines[0]


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(files.TEMP_PREFIX))


def mount_tmpfs(where: Path, size: str, readonly: bool = False) -> bool:
    where.mkdir(exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if r.returncode != 0:
        return False
    (where / "結果.csv").write_bytes(PREVIOUS)
    if readonly:
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
    return True


@pytest.fixture
def mounts():
    made: list[Path] = []
    yield made
    for m in made:
        subprocess.run(["umount", str(m)], capture_output=True)


def big_input(tmp_path: Path, copies: int = 300) -> Path:
    src = tmp_path / "in.csv"
    df = pd.read_csv(SAMPLE, dtype=str)
    pd.concat([df] * copies, ignore_index=True).to_csv(src, index=False)
    return src


def test_full_disk_is_one_line_and_leaves_the_previous_output(tmp_path, mounts):
    disk = tmp_path / "disk"
    if not mount_tmpfs(disk, "64k"):
        pytest.skip("mounting a tmpfs needs root; the simulated ENOSPC test covers this case")
    mounts.append(disk)
    r = tokkou("calc", big_input(tmp_path), "-o", disk / "結果.csv", "--quiet")
    assert r.returncode == 2
    assert "ディスクの空き容量が足りません" in one_japanese_line(r.stderr)
    assert (disk / "結果.csv").read_bytes() == PREVIOUS and temp_files(disk) == []


def test_read_only_place_is_refused_before_any_work(tmp_path, mounts):
    place = tmp_path / "ro"
    if mount_tmpfs(place, "1m", readonly=True):
        mounts.append(place)
        reason = "読み取り専用"
    elif os.geteuid() != 0:
        place.mkdir(exist_ok=True)
        (place / "結果.csv").write_bytes(PREVIOUS)
        place.chmod(0o555)
        reason = "権限がありません"
    else:
        pytest.skip("root without mount: the simulated EACCES test covers this case")
    r = tokkou("calc", SAMPLE, "-o", place / "結果.csv", "--quiet")
    assert r.returncode == 2 and reason in one_japanese_line(r.stderr)
    assert (place / "結果.csv").read_bytes() == PREVIOUS and temp_files(place) == []
    r = tokkou("template", "build", "-o", place / "様式")
    assert r.returncode == 2 and one_japanese_line(r.stderr)


def test_simulated_full_disk_while_writing(tmp_path, monkeypatch, capsys):
    """ENOSPC from the writer itself (the CSV writer, XlsxWriter) halfway through the file."""
    from tokkou import csv_writer
    out = tmp_path / "結果.xlsx"
    out.write_bytes(PREVIOUS)

    def full(df, fh, *a, **k):
        fh.write(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(csv_writer, "write", full)
    assert cli.main(["calc", str(SAMPLE), "-o", str(tmp_path / "結果.csv"), "--quiet"]) == 2
    assert "ディスクの空き容量が足りません" in one_japanese_line(capsys.readouterr().err)
    assert not (tmp_path / "結果.csv").exists() and temp_files(tmp_path) == []
    import xlsxwriter

    def full_close(self):  # as XlsxWriter reports it: its own exception, raised while handling the OSError
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise xlsxwriter.exceptions.FileCreateError(exc)
    monkeypatch.setattr(xlsxwriter.Workbook, "close", full_close)
    assert cli.main(["calc", str(SAMPLE), "-o", str(out), "--quiet"]) == 2
    assert "ディスクの空き容量が足りません" in one_japanese_line(capsys.readouterr().err)
    assert out.read_bytes() == PREVIOUS and temp_files(tmp_path) == []


def test_simulated_no_permission(tmp_path, monkeypatch, capsys):
    out = tmp_path / "結果.csv"
    out.write_bytes(PREVIOUS)

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(files.tempfile, "mkstemp", denied)
    assert cli.main(["calc", str(SAMPLE), "-o", str(out), "--quiet"]) == 2
    assert "書き込む権限がありません" in one_japanese_line(capsys.readouterr().err)
    assert out.read_bytes() == PREVIOUS


def test_output_naming_a_folder(tmp_path):
    (tmp_path / "out.csv").mkdir()
    for target in (tmp_path, tmp_path / "out.csv"):
        r = tokkou("calc", SAMPLE, "-o", target)
        assert r.returncode == 2 and "フォルダです" in one_japanese_line(r.stderr)
    assert temp_files(tmp_path) == []


def test_review_checks_its_output_place_before_it_starts(tmp_path, monkeypatch, capsys):
    from tokkou import review
    monkeypatch.setattr(review, "review_all", lambda *a, **k: pytest.fail("reviewed before checking the output"))
    shutil.copy(ROOT / "workbook_templates" / "examples" / "nichiiki_kankei_sample.xlsx", tmp_path / "a.xlsx")
    (tmp_path / "確認結果.xlsx").mkdir()
    assert cli.main(["review", str(tmp_path / "a.xlsx"), "-o", str(tmp_path / "確認結果.xlsx"), "--quiet"]) == 2
    assert "フォルダです" in one_japanese_line(capsys.readouterr().err)
    monkeypatch.setattr(files.tempfile, "mkstemp", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied")))
    assert cli.main(["review", str(tmp_path / "a.xlsx"), "-o", str(tmp_path / "r.xlsx"), "--quiet"]) == 2
    assert "権限がありません" in one_japanese_line(capsys.readouterr().err)
    assert cli.main(["review", str(tmp_path / "a.xlsx"), "-o", str(tmp_path / "a.xlsx"), "--quiet"]) == 2


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, mask, mode):
    for name in ("結果.csv", "結果.xlsx", "結果.json"):
        assert tokkou("calc", SAMPLE, "-o", tmp_path / name, "--quiet", umask=mask).returncode == 0
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    if mask != 0o002:
        return  # templates once: a mode mkstemp's 0600 could not give
    assert tokkou("template", "build", "-o", tmp_path / "様式", umask=mask).returncode == 0
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "様式").rglob("*.xlsx")} == {mode}


def test_calc_refuses_fifos_devices_and_links_to_them(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    for src in (fifo, zero, Path("/dev/null"), Path("/dev/zero")):
        r = tokkou("calc", src, "-o", tmp_path / "out.csv", timeout=30)
        assert r.returncode == 2 and "通常のファイルではありません" in one_japanese_line(r.stderr), src
    r = tokkou("calc", SAMPLE, "-o", "/dev/null")
    assert r.returncode == 2 and "通常のファイルではありません" in one_japanese_line(r.stderr)


def test_an_input_under_another_name_is_never_overwritten(tmp_path):
    """Hard link, symlink and `..` reach the input by another name, as a case variant does on a
    case-insensitive file system (NTFS, APFS): os.path.samefile sees one file in all of them."""
    src = tmp_path / "in.csv"
    shutil.copy(SAMPLE, src)
    before = src.read_bytes()
    os.link(src, tmp_path / "hard.csv")
    (tmp_path / "soft.csv").symlink_to(src)
    (tmp_path / "sub").mkdir()
    for other in (tmp_path / "hard.csv", tmp_path / "soft.csv", tmp_path / "sub" / ".." / "in.csv"):
        r = tokkou("calc", src, "-o", other)
        assert r.returncode == 2 and "入力ファイルと同じ" in one_japanese_line(r.stderr), other
    assert src.read_bytes() == before
    assert files.same_file(src, tmp_path / "hard.csv") and not files.same_file(src, tmp_path / "new.csv")


def test_case_variant_is_the_same_file_where_the_file_system_says_so(tmp_path, monkeypatch):
    """On a case-insensitive file system `IN.CSV` stats as the very file `in.csv` (same device and inode);
    samefile decides by that, never by comparing names. Simulated by a stat that folds case."""
    src = tmp_path / "in.csv"
    shutil.copy(SAMPLE, src)
    real_stat = os.stat

    def folding_stat(p, *a, **k):
        return real_stat(str(p).lower() if str(p).lower() == str(src).lower() else p, *a, **k)
    monkeypatch.setattr(os, "stat", folding_stat)
    assert files.same_file(tmp_path / "IN.CSV", src)
    with pytest.raises(files.InputError, match="入力ファイルと同じ"):
        files.check_output(tmp_path / "IN.CSV", [src])
