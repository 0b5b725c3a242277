"""Every workbook of shared/field/review (and reliability/external_link.xlsx) gives the result its README row calls right.

The files are copies under tests/field/. They are all the sample's body and year, so a folder of
them also exercises duplicates: those findings are checked on their own, below.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tokkou.review import review_file

FIELD = Path(__file__).parent / "field"
REVIEW = FIELD / "review"


def _findings(name: str, folder: Path = REVIEW):
    """The findings of a file, less the one note (情報) that the sample was made with an earlier template."""
    return [f for f in review_file(folder / name).findings if not _earlier_version_note(f)]


def _earlier_version_note(f) -> bool:
    return f.rule_id == "REVIEW-RULEBOOK" and f.severity == "info"


@pytest.mark.parametrize("name", ["libreoffice_resaved_sample.xlsx", "excel_like_save_shared_formulas.xlsx",
                                  "addin_saved_by_officejs_xldudf.xlsx", "addin_filled_baseline.xlsx",
                                  "array_formula_in_O5.xlsx"])
def test_legitimate_saves_have_no_finding(name):
    """LibreOffice's FALSE(), Excel's shared formulas, Office.js' _xldudf_ and an array-entered formula."""
    fr = review_file(REVIEW / name)
    assert fr.readable and [f for f in fr.findings if not _earlier_version_note(f)] == []
    assert len(fr.lines) == 18


def test_addin_not_loaded_is_one_finding():
    fs = _findings("addin_not_loaded_name_errors.xlsx")
    assert [(f.rule_id, f.severity) for f in fs] == [("REVIEW-ADDIN", "warning")]
    assert "アドインが読み込まれていません" in fs[0].message


def test_date_in_an_amount_cell_is_one_input_finding():
    fs = _findings("date_typed_in_cost_E5.xlsx")
    assert [(f.sheet, f.cell, f.rule_id, f.severity) for f in fs] == [("事業", "E5", "INPUT", "error")]
    assert fs[0].found == "2025/4/1"  # text as offices write a date (README), so JSON can hold it
    assert "事業費" in fs[0].message


def test_strict_open_xml_is_one_finding_naming_the_format():
    fs = _findings("strict_open_xml_sample.xlsx")
    assert len(fs) == 1 and fs[0].severity == "error" and "Strict Open XML" in fs[0].message


def test_external_link_is_one_warning_naming_the_target():
    fs = _findings("external_link.xlsx", FIELD / "reliability")
    assert [(f.sheet, f.cell, f.rule_id, f.severity) for f in fs] == [("事業", "E5", "REVIEW-RISK", "warning")]
    assert r"\\attacker.invalid\share\secret.xlsx" in fs[0].message and "開いていません" in fs[0].message


def test_json_over_the_field_folder(tmp_path):
    """--json is written for the whole batch (array formula, date cell, Strict file included): JST, numbers."""
    out = tmp_path / "r.xlsx"
    run = subprocess.run([sys.executable, "-m", "tokkou.cli", "review", str(REVIEW), "-o", str(out),
                          "--json", str(tmp_path / "r.json"), "--quiet"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["run"]["time"].endswith("+09:00")
    assert len(doc["summary"]) == len(list(REVIEW.glob("*.xlsx")))
    by_file: dict[str, list] = {}
    for f in doc["findings"]:
        if f["rule_id"] != "REVIEW-DUPLICATE" and not (f["rule_id"] == "REVIEW-RULEBOOK" and f["severity"] == "情報"):
            by_file.setdefault(f["file"], []).append(f["rule_id"])
    assert by_file == {"addin_not_loaded_name_errors.xlsx": ["REVIEW-ADDIN"],
                       "date_typed_in_cost_E5.xlsx": ["INPUT"], "strict_open_xml_sample.xlsx": ["REVIEW-FILE"]}
    lines = doc["lines"]
    assert lines and all(isinstance(r["measure_amount"], int) for r in lines if r["status"] != "error")
    rates = [r["rate"] for r in lines if r["status"] in ("eligible", "partial")]
    assert rates and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in rates)  # numbers, not text
    dated = [r for r in lines if r["file"] == "date_typed_in_cost_E5.xlsx" and r["cell"] == "E5"]
    assert [r["cost"] for r in dated] == ["2025-04-01T00:00:00"]
    _review_workbook_reads_as_japanese(out)


def _review_workbook_reads_as_japanese(out: Path) -> None:
    """指摘 and 明細 in Japanese; an error line's amounts blank (never the text <NA>); one 区分 spelling."""
    from openpyxl import load_workbook
    wb = load_workbook(out, read_only=True)
    findings = list(wb["指摘"].iter_rows(values_only=True))
    assert findings[0][:6] == ("ファイル", "シート", "セル", "ルールID", "重要度", "内容")
    rows = list(wb["明細"].iter_rows(values_only=True))
    head, body = rows[0], rows[1:]
    for key in ("区分", "事業費", "対象経費", "措置額", "判定", "理由", "計算過程"):
        assert key in head, key
    col = {h: i for i, h in enumerate(head)}
    assert {r[col["判定"]] for r in body} <= {"対象", "一部対象", "対象外", "エラー"}
    errors = [r for r in body if r[col["判定"]] == "エラー"]
    assert errors and all(r[col["対象経費"]] is None and r[col["措置額"]] is None for r in errors)
    assert all(v != "<NA>" for r in body for v in r)
    assert {r[col["区分"]] for r in body} == {"①情報発信", "②相談窓口", "③きっかけづくり", "④コーディネーター", "⑤受入環境整備"}


def test_duplicates_in_the_field_folder_are_counted_once(tmp_path):
    """Seven readable returns of one body and year: one counted (by name, the save times being equal)."""
    from tokkou import rulebook
    from tokkou.review import report_tables, review_all
    reviews = review_all(sorted(REVIEW.glob("*.xlsx")), jobs=1, progress=False)
    tables = report_tables(reviews, rulebook.get())
    s = tables["summary"]
    counted = s[s["集計"] == "含む"]
    readable = s[(s["読込"] == "可")]
    assert list(counted["ファイル"]) == ["libreoffice_resaved_sample.xlsx"]  # last by name of the readable ones
    dup = tables["findings"][tables["findings"]["rule_id"] == "REVIEW-DUPLICATE"]
    assert sorted(dup["file"]) == sorted(set(readable["ファイル"]) - {"libreoffice_resaved_sample.xlsx"})
    assert all("ファイル名の順" in m for m in dup["message"])
    assert int(tables["categories"]["措置額"].sum()) == int(counted["措置額合計"].sum()) == 15_490_000


def test_returns_of_an_earlier_template_are_compared_with_its_own_formulas(tmp_path):
    """The field files were built before rule messages moved to the ルール sheet: their own formulas are used,
    and the summary says which; a template of an unrecorded version costs one formula finding, not 750."""
    from tokkou import rulebook
    from tokkou.review import report_tables
    fr = review_file(REVIEW / "libreoffice_resaved_sample.xlsx")
    assert fr.rulebook_hash != rulebook.get().sha256
    # no error or warning; one note of the lowest severity naming the form's version and the current one
    (note,) = fr.findings
    assert (note.sheet, note.rule_id, note.severity) == ("表紙", "REVIEW-RULEBOOK", "info")
    assert fr.rulebook_hash[:12] in note.message and rulebook.get().short_hash in note.message
    assert "誤りではありません" in note.message
    row = report_tables([fr], rulebook.get())["summary"].iloc[0]
    assert row["照合した計算式"] == f"作成時の版（{fr.rulebook_hash[:12]}）の様式"
    import workbooks as W
    unknown = W.rewrite(REVIEW / "libreoffice_resaved_sample.xlsx", tmp_path / "unknown.xlsx",
                        {"xl/sharedStrings.xml": lambda x: x.replace(fr.rulebook_hash.encode(), b"0" * 64)})
    fs = review_file(unknown).findings
    assert sorted((f.rule_id, f.severity) for f in fs) == [("REVIEW-FORMULA", "error"), ("REVIEW-RULEBOOK", "warning")]
    assert "記録のない別の版" in next(f.message for f in fs if f.rule_id == "REVIEW-FORMULA")
