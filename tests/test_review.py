"""`tokkou review` over a folder of correct, tampered, mis-filled and hostile workbooks."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import workbooks as W
from tokkou import engine, layout as L
import lo

CASES = {
    "ok.xlsx": lambda d: shutil.copy(W.SAMPLE, d / "ok.xlsx"),
    "typed.xlsx": lambda d: W.typed_over(d / "typed.xlsx"),
    "formula.xlsx": lambda d: W.changed_formula(d / "formula.xlsx"),
    "cached.xlsx": lambda d: W.changed_cached(d / "cached.xlsx"),
    "deleted.xlsx": lambda d: W.deleted_row(d / "deleted.xlsx"),
    "code.xlsx": lambda d: W.wrong_code(d / "code.xlsx"),
    "text.xlsx": lambda d: W.text_in_number_cell(d / "text.xlsx"),
    "renamed.xlsx": lambda d: W.renamed_sheet(d / "renamed.xlsx"),
    "missing.xlsx": lambda d: W.missing_sheet(d / "missing.xlsx"),
    "notx.xlsx": lambda d: W.not_xlsx(d / "notx.xlsx"),
    "trunc.xlsx": lambda d: W.truncated(d / "trunc.xlsx"),
    "bomb.xlsx": lambda d: W.zip_bomb(d / "bomb.xlsx"),
    "entity.xlsx": lambda d: W.entity_bomb(d / "entity.xlsx"),
    "pw.xlsx": lambda d: W.password_protected(d / "pw.xlsx"),
    "macro.xlsm": lambda d: W.with_macros(d / "macro.xlsm"),
    "million.xlsx": lambda d: W.million_rows(d / "million.xlsx"),
    "old.xlsx": lambda d: W.old_rulebook(d / "old.xlsx"),
    "latedtd.xlsx": lambda d: W.late_doctype(d / "latedtd.xlsx"),
    "xxe.xlsx": lambda d: W.utf16_xxe(d / "xxe.xlsx"),
}


def _need_soffice():
    if lo.soffice() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice (soffice) is required in CI")
        pytest.skip("LibreOffice (soffice) is not installed")


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("returned")
    for make in CASES.values():
        make(folder)
    _need_soffice()
    xls = W.xls_biff(folder)  # a real BIFF file written by LibreOffice
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    out = tmp_path_factory.mktemp("report")
    t = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "tokkou.cli", "review", str(folder), "-o", str(out / "review.xlsx"),
                          "--json", str(out / "review.json")], capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - t
    assert run.returncode == 0, run.stderr
    doc = json.loads((out / "review.json").read_text(encoding="utf-8"))
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    return {"doc": doc, "run": run, "out": out, "before": before, "after": after, "folder": folder,
            "xls": xls.name, "elapsed": elapsed}


def findings(r, file):
    """The file's findings, except REVIEW-DUPLICATE: every case here is the sample's body and year
    (test_duplicates_of_one_body_are_counted_once checks those findings)."""
    return [f for f in r["doc"]["findings"] if f["file"] == file and f["rule_id"] != "REVIEW-DUPLICATE"]


def test_correct_file_has_no_finding(reviewed):
    assert findings(reviewed, "ok.xlsx") == []


def test_typed_over_formula_is_found_at_its_cell(reviewed):
    fs = findings(reviewed, "typed.xlsx")
    assert {(f["sheet"], f["cell"], f["rule_id"]) for f in fs} == {("事業", "Q5", "REVIEW-FORMULA"), ("事業", "Q5", "REVIEW-VALUE")}
    value = next(f for f in fs if f["rule_id"] == "REVIEW-VALUE")
    assert (value["found"], value["expected"]) == (700000, 600000)


def test_changed_formula_is_found(reviewed):
    fs = findings(reviewed, "formula.xlsx")
    assert [(f["sheet"], f["cell"], f["rule_id"]) for f in fs] == [("事業", "Q6", "REVIEW-FORMULA")]
    # the edit wrapped the formula in (...)*2: the first token differs, and the finding starts there
    assert fs[0]["found"].startswith("(IF(") and fs[0]["expected"].startswith("IF(")
    assert "「(」" in fs[0]["message"] and "「IF(」" in fs[0]["message"]


def test_changed_cached_value_is_found(reviewed):
    fs = findings(reviewed, "cached.xlsx")
    assert [(f["sheet"], f["cell"], f["rule_id"], f["found"]) for f in fs] == [("事業", "Q8", "REVIEW-VALUE", 123)]
    assert fs[0]["expected"] == 1_800_000


def test_deleted_row_is_one_finding_at_the_first_moved_row(reviewed):
    fs = findings(reviewed, "deleted.xlsx")
    assert [(f["sheet"], f["cell"], f["rule_id"]) for f in fs] == [("事業", "A6", "REVIEW-ROWS")]


def test_mis_filled_inputs_name_sheet_cell_and_value(reviewed):
    code = findings(reviewed, "code.xlsx")
    first = code[0]
    assert (first["sheet"], first["cell"], first["found"]) == ("団体情報", L.BODY_CELLS["body_code"], "202141")
    assert "検査数字" in first["message"]
    assert sum(f["rule_id"] == "INPUT" for f in code) == 1  # the body-level error is reported once
    text = findings(reviewed, "text.xlsx")
    assert any(f["cell"] == "E7" and f["found"] == "百万円くらい" and "事業費" in f["message"] for f in text)


@pytest.mark.parametrize("file, words", [
    ("renamed.xlsx", ["事業", "事業一覧"]), ("missing.xlsx", ["コーディネーター"]), ("notx.xlsx", ["ではありません"]),
    ("trunc.xlsx", [".xlsx"]), ("bomb.xlsx", ["圧縮爆弾"]), ("entity.xlsx", ["エンティティ"]), ("pw.xlsx", ["パスワード"]),
    ("latedtd.xlsx", ["エンティティ"]), ("xxe.xlsx", ["エンティティ"]),
])
def test_broken_and_hostile_files_give_one_clear_finding(reviewed, file, words):
    fs = findings(reviewed, file)
    assert len(fs) == 1 and fs[0]["severity"] == "エラー", fs
    for w in words:
        assert w in fs[0]["message"]


def test_xls_biff_file(reviewed):
    fs = findings(reviewed, reviewed["xls"])
    assert len(fs) == 1 and ".xls" in fs[0]["message"]


def test_macro_workbook_is_reviewed_without_running_anything(reviewed):
    fs = findings(reviewed, "macro.xlsm")
    assert [f["severity"] for f in fs] == ["警告"] and "マクロ" in fs[0]["message"]
    row = next(s for s in reviewed["doc"]["summary"] if s["ファイル"] == "macro.xlsm")
    assert row["措置額合計"] == 15_490_000


def test_million_row_range_is_bounded(reviewed):
    fs = findings(reviewed, "million.xlsx")
    assert [(f["sheet"], f["rule_id"], f["severity"]) for f in fs] == [("事業", "REVIEW-ROWS", "警告")]
    assert reviewed["elapsed"] < 120


def test_inputs_untouched_and_sha256_recorded(reviewed):
    assert reviewed["before"] == reviewed["after"]
    by_file = {s["ファイル"]: s["SHA-256"] for s in reviewed["doc"]["summary"]}
    assert by_file["ok.xlsx"] == hashlib.sha256(W.SAMPLE.read_bytes()).hexdigest()
    assert len(reviewed["doc"]["summary"]) == len(CASES) + 1  # every file has its line, readable or not


def test_report_identity_and_totals_equal_calc(reviewed, tmp_path):
    doc = reviewed["doc"]
    assert doc["run"]["rulebook_sha256"] and doc["run"]["tool"].startswith("tokkou")
    calc_out = tmp_path / "calc.csv"
    assert subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", str(W.SAMPLE), "-o", str(calc_out), "--quiet", "--lang", "en"]).returncode == 0
    calc = pd.read_csv(calc_out, dtype=str, encoding="utf-8-sig")
    ok = next(s for s in doc["summary"] if s["ファイル"] == "ok.xlsx")
    assert ok["措置額合計"] == calc["measure_amount"].astype(int).sum()
    lines = [l for l in doc["lines"] if l["file"] == "ok.xlsx"]
    assert sorted(l["measure_amount"] for l in lines) == sorted(calc["measure_amount"].astype(int))


def test_review_workbook_opens_in_libreoffice_without_errors(reviewed, tmp_path):
    _need_soffice()
    src = reviewed["out"] / "review.xlsx"
    wb = openpyxl.load_workbook(src, read_only=True)
    assert wb.sheetnames == ["概要", "指摘", "明細", "区分別"]
    wb.close()
    back = lo.convert(src, tmp_path, "xlsx")
    wb = openpyxl.load_workbook(back, data_only=True)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert not any(isinstance(v, str) and v.startswith("#") and v.endswith(("!", "?", "A")) for v in row)
    cats = {r[0]: r[1] for r in wb["区分別"].iter_rows(min_row=2, values_only=True)}
    counted = [s["措置額合計"] for s in reviewed["doc"]["summary"] if s["集計"] == "含む"]
    # the readable cases are all the sample's body and year (but code.xlsx, another code, all errors):
    # that body is counted once
    assert sorted(counted) == [0, 15_490_000]
    assert sum(cats.values()) == sum(counted) == reviewed["doc"]["run"]["total"]


def test_output_never_over_an_input_and_errors_are_one_line(tmp_path):
    src = tmp_path / "in.xlsx"
    shutil.copy(W.SAMPLE, src)
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "review", str(src), "-o", str(src)], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "同じ" in r.stderr
    assert src.read_bytes() == W.SAMPLE.read_bytes()
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "review", str(tmp_path / "nothing"), "-o", str(tmp_path / "r.xlsx")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "見つかりません" in r.stderr


def test_addin_variant_is_recognised_and_reviewed(tmp_path):
    """An add-in template is compared with the add-in formulas, not the native ones."""
    from tokkou import rulebook, templates
    rb = rulebook.get()
    fill = templates.sample_fill(rb)
    path = templates.build_workbook(tmp_path / "addin.xlsx", "addin", rb, fill)
    from tokkou.review import review_file
    fr = review_file(path)
    assert fr.variant == "addin"
    assert [f for f in fr.findings if f.rule_id == "REVIEW-FORMULA"] == []
    assert engine.STATUS_JA  # the recomputed lines are there
    assert len(fr.lines) == 18


def test_openpyxl_parses_with_defusedxml():
    """The second line of defence behind the DOCTYPE screen: openpyxl uses defusedxml when installed."""
    import openpyxl.xml
    assert openpyxl.xml.DEFUSEDXML is True


def test_other_rulebook_and_layout_versions_are_flagged_and_still_reviewed(reviewed):
    fs = findings(reviewed, "old.xlsx")
    assert {(f["sheet"], f["cell"], f["rule_id"], f["severity"]) for f in fs} == {
        ("表紙", L.COVER_CELLS["rulebook_hash"], "REVIEW-RULEBOOK", "警告"),
        ("表紙", L.COVER_CELLS["layout_version"], "REVIEW-LAYOUT", "警告")}
    row = next(s for s in reviewed["doc"]["summary"] if s["ファイル"] == "old.xlsx")
    assert row["措置額合計"] == 15_490_000


def test_a_file_past_the_time_limit_is_one_finding():
    from tokkou.review import review_file
    fr = review_file(W.SAMPLE, time_limit=0.001)
    assert [f.rule_id for f in fr.findings] == ["REVIEW-FILE"] and "秒以内" in fr.findings[0].message
    assert review_file(W.SAMPLE).findings == []  # and the alarm is gone afterwards


def test_fifo_named_on_the_command_line_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", "review", str(fifo), "-o", str(tmp_path / "r.xlsx"),
                        "--json", str(tmp_path / "r.json"), "--quiet"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert "通常のファイルではありません" in doc["findings"][0]["message"]
