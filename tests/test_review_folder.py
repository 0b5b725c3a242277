"""Review of folders as prefectures receive them: every entry accounted for, duplicates counted once,
risky content named, LibreOffice round trips clean, and a run that stops cleanly on SIGTERM/SIGHUP."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lo
import review_cases as C
import workbooks as W
from tokkou.review import cores, review_file

SAMPLE_TOTAL = 15_490_000


def _need_soffice():
    if lo.soffice() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice (soffice) is required in CI")
        pytest.skip("LibreOffice (soffice) is not installed")


def _review(args: list, tmp: Path, **kw) -> tuple[subprocess.CompletedProcess, dict | None]:
    out, js = tmp / "report" / "r.xlsx", tmp / "report" / "r.json"
    out.parent.mkdir(exist_ok=True)
    run = subprocess.run([sys.executable, "-m", "tokkou.cli", "review", *map(str, args), "-o", str(out),
                          "--json", str(js), "--quiet"], capture_output=True, text=True, timeout=600, **kw)
    doc = json.loads(js.read_text(encoding="utf-8")) if js.exists() else None
    return run, doc


# ---- every entry of a folder -------------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    _need_soffice()
    d = tmp_path_factory.mktemp("mixed")
    shutil.copy(W.SAMPLE, d / "chino.xlsx")
    other = C.other_body(d / "matsumoto_src.xlsx")
    # two returns of 松本市: the later save wins although its name sorts first
    C.saved_at(other, d / "a_matsumoto_latest.xlsx", "2026-01-10T01:00:00Z")
    C.saved_at(other, d / "b_matsumoto_old.xlsx", "2025-12-01T01:00:00Z")
    other.unlink()
    (d / "notes.txt").write_text("提出物一覧", encoding="utf-8")
    (d / "data.bin").write_bytes(os.urandom(64))
    ods = lo.convert(W.SAMPLE, d / "ods", "ods")
    shutil.move(str(ods), d / "shiojiri.ods")
    (d / "ods").rmdir()
    os.symlink(d / "gone.xlsx", d / "dangling.xlsx")
    os.mkfifo(d / "pipe.xlsx")
    shutil.copy(W.SAMPLE, d / ".hidden.xlsx")
    (d / "folder.xlsx").mkdir()
    (d / "~$chino.xlsx").write_bytes(b"\0" * 165)
    run, doc = _review([d], tmp_path_factory.mktemp("out"))
    assert run.returncode == 0, run.stderr
    return doc


ODD = {"notes.txt": "拡張子「.txt」", "data.bin": "拡張子「.bin」", "shiojiri.ods": ".xlsx）で保存し直して",
       "dangling.xlsx": "リンク先", "pipe.xlsx": "名前付きパイプ", ".hidden.xlsx": "隠しファイル",
       "folder.xlsx": "フォルダ", "~$chino.xlsx": "一時ファイル"}


def test_every_folder_entry_has_its_row_and_each_odd_one_one_finding(mixed):
    files = {s["ファイル"] for s in mixed["summary"]}
    assert files == set(ODD) | {"chino.xlsx", "a_matsumoto_latest.xlsx", "b_matsumoto_old.xlsx"}
    for name, words in ODD.items():
        fs = [f for f in mixed["findings"] if f["file"] == name]
        assert len(fs) == 1 and words in fs[0]["message"], (name, fs)
    assert [f for f in mixed["findings"] if f["file"] in ("chino.xlsx", "a_matsumoto_latest.xlsx")] == []


def test_duplicate_body_is_one_finding_and_counted_once(mixed):
    fs = [f for f in mixed["findings"] if f["file"] == "b_matsumoto_old.xlsx"]
    assert [(f["rule_id"], f["severity"]) for f in fs] == [("REVIEW-DUPLICATE", "警告")]
    assert "a_matsumoto_latest.xlsx" in fs[0]["message"] and "保存日時" in fs[0]["message"]
    rows = {s["ファイル"]: s for s in mixed["summary"]}
    assert rows["b_matsumoto_old.xlsx"]["集計"] == "除く（重複）"
    assert rows["a_matsumoto_latest.xlsx"]["集計"] == rows["chino.xlsx"]["集計"] == "含む"
    assert rows["b_matsumoto_old.xlsx"]["措置額合計"] == SAMPLE_TOTAL  # its own figure is still shown
    assert mixed["run"]["total"] == 2 * SAMPLE_TOTAL  # two bodies, not three returns
    assert sum(c["措置額"] for c in mixed["categories"]) == 2 * SAMPLE_TOTAL
    assert {r["集計"] for r in mixed["lines"] if r["file"] == "b_matsumoto_old.xlsx"} == {"除く（重複）"}


# ---- risky content -------------------------------------------------------------------------------

def test_connections_queries_and_ole_are_named_never_followed(tmp_path):
    fr = review_file(C.risky_parts(tmp_path / "risky.xlsx"))
    msgs = [f.message for f in fr.findings]
    assert [f.rule_id for f in fr.findings] == ["REVIEW-RISK"] * 3, msgs
    conn, ole, pq = sorted(msgs, key=lambda m: ("データ接続" not in m, "OLE" not in m))
    assert "予算システム" in conn and "開くたびに更新" in conn and "外部データ_1" in conn and r"\\fileserv\db" in conn
    assert "hunter2" not in conn and "Password=***" in conn
    assert "oleObject1.bin" in ole and "Power Query" in pq
    assert fr.readable and len(fr.lines) == 18


def test_data_below_the_template_is_found_behind_a_stale_dimension(tmp_path):
    fr = review_file(C.data_below(tmp_path / "below.xlsx"))
    assert [(f.sheet, f.cell, f.rule_id, f.severity) for f in fr.findings] == [("事業", "A400", "REVIEW-ROWS", "warning")]
    assert "400 行目" in fr.findings[0].message


# ---- LibreOffice round trip ------------------------------------------------------------------------

def test_libreoffice_round_trip_is_clean_and_one_real_edit_is_one_finding(tmp_path):
    _need_soffice()
    saved = lo.convert(W.SAMPLE, tmp_path / "lo", "xlsx")
    fr = review_file(saved)
    assert fr.readable and [f for f in fr.findings if f.severity == "error"] == [], fr.findings
    assert int(fr.lines["measure_amount"].fillna(0).sum()) == SAMPLE_TOTAL

    changed = C.set_input(W.SAMPLE, tmp_path / "changed_src.xlsx", "事業", "E5", 1_500_000)
    saved2 = lo.convert(changed, tmp_path / "lo2", "xlsx")
    fr2 = review_file(saved2)
    assert fr2.readable and [f for f in fr2.findings if f.severity == "error"] == [], fr2.findings
    assert int(fr2.lines["measure_amount"].fillna(0).sum()) != SAMPLE_TOTAL  # the change went through

    edited = C.edit_formula_reference(saved, tmp_path / "edited.xlsx", "事業", "O6", "E6", "E7")
    fs = review_file(edited).findings
    assert [(f.sheet, f.cell, f.rule_id, f.severity) for f in fs] == [("事業", "O6", "REVIEW-FORMULA", "error")]
    assert fs[0].found.startswith("…E7") and fs[0].expected.startswith("…E6")


# ---- the command line --------------------------------------------------------------------------------

def test_o_and_json_naming_one_file_is_refused(tmp_path):
    src = tmp_path / "in.xlsx"
    shutil.copy(W.SAMPLE, src)
    same = tmp_path / "r.xlsx"
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "review", str(src), "-o", str(same), "--json", str(same)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "-o と --json" in r.stderr and "Traceback" not in r.stderr
    assert not same.exists()


def test_jobs_are_capped_at_the_core_count(tmp_path):
    assert cores() == len(os.sched_getaffinity(0))
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        shutil.copy(W.SAMPLE, folder / f"{i}.xlsx")
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "review", str(folder), "-o", str(tmp_path / "r.xlsx"),
                        "--jobs", "64"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"--jobs 64 は CPU のコア数を超えるため {cores()} で処理します" in r.stderr


def _children(pid: int) -> set[int]:
    out = set()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(p.name))
    return out


def _processes_naming(text: str) -> list[int]:
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                cmd = (p / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if text in cmd:
                found.append(int(p.name))
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_stops_workers_and_leaves_no_temp_file(tmp_path, signum):
    """Acceptance (issue 11): a review of 20 workbooks, a signal: no tokkou process and no temp file remain."""
    folder = tmp_path / "returns"
    folder.mkdir()
    for i in range(20):
        shutil.copy(W.SAMPLE, folder / f"{i:02d}.xlsx")
    tmpdir, out = tmp_path / "tmp", tmp_path / "out"
    tmpdir.mkdir()
    out.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    proc = subprocess.Popen([sys.executable, "-m", "tokkou.cli", "review", str(folder), "-o", str(out / "r.xlsx"),
                             "--json", str(out / "r.json"), "--jobs", "2", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 60
    workers: set[int] = set()
    while time.time() < deadline and len(workers) < min(2, cores()) and proc.poll() is None:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert proc.poll() is None and workers, "the review ended before the signal could be sent"
    time.sleep(0.5)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert "中断しました" in err and "Traceback" not in err
    time.sleep(0.2)
    assert _processes_naming(str(folder)) == []
    assert all(not Path(f"/proc/{w}").exists() for w in workers)
    assert list(out.iterdir()) == [] and list(tmpdir.iterdir()) == []
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:02d}.xlsx" for i in range(20)]


def test_summary_rounds_each_body_to_thousand_yen_and_lines_carry_the_trace(tmp_path):
    """概要: the body's total in 円 and in 千円 by the engine's 地方交付税法第22条 rounding; 明細: 計算過程."""
    from tokkou import rulebook
    from tokkou.review import identity, report_tables, review_all
    half = C.set_input(W.SAMPLE, tmp_path / "half.xlsx", "事業", "E5", 1_201_000)  # 600,500 on that line
    below = C.other_body(tmp_path / "below.xlsx", src=C.set_input(W.SAMPLE, tmp_path / "b_src.xlsx", "事業", "E5", 1_200_998))
    tables = report_tables(review_all([half, below], jobs=1, progress=False), rulebook.get())
    rows = {r["ファイル"]: r for r in tables["summary"].to_dict("records")}
    assert (rows["half.xlsx"]["措置額合計"], rows["half.xlsx"]["措置額合計（千円）"]) == (15_490_500, 15_491)
    assert (rows["below.xlsx"]["措置額合計"], rows["below.xlsx"]["措置額合計（千円）"]) == (15_490_499, 15_490)
    assert identity(rulebook.get(), tables)["total_thousand"] == 15_491 + 15_490
    line = tables["lines"][(tables["lines"]["file"] == "half.xlsx") & (tables["lines"]["cell"] == "E5")].iloc[0]
    assert "1,201,000" in line["trace"] and "600,500" in line["trace"]
