"""`tokkou calc` end to end through the console script, on real files."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tokkou import engine

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "workbook_templates" / "examples" / "sample_lines.csv"


def tokkou(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tokkou.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_sample_runs_and_prints_the_summary(tmp_path):
    out = tmp_path / "結果.csv"
    r = tokkou("calc", SAMPLE, "-o", out)
    assert r.returncode == 0, r.stderr
    for word in ("①情報発信", "④コーディネーター", "合計", "措置額"):
        assert word in r.stdout
    df = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert len(df) == 18
    # Japanese headers in → Japanese result headers and statuses out (SPEC §4.1 "Language")
    assert {"対象外", "一部対象", "対象"} <= set(df["判定"])
    # the dedicated coordinator over the cap: that person's lines add up to the cap exactly
    k01 = df[df["コーディネーターID"] == "K-01"]
    assert k01["措置額"].astype(int).sum() == 5_000_000
    assert k01["対象経費"].astype(int).sum() > 5_000_000
    total = df["措置額"].astype(int).sum()
    assert f"{total:,}" in r.stdout


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_csv_encodings_excel_writes(tmp_path, encoding):
    src = tmp_path / "in.csv"
    src.write_bytes(SAMPLE.read_text(encoding="utf-8").encode(encoding))
    out = tmp_path / "out.csv"
    assert tokkou("calc", src, "-o", out, "--quiet").returncode == 0
    df = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert df["団体名"].iloc[0] == "茅野市" and df["団体コード"].iloc[0] == "202142"


def test_xlsx_in_xlsx_and_json_out(tmp_path):
    src = tmp_path / "in.xlsx"
    pd.read_csv(SAMPLE, dtype=str).to_excel(src, index=False)
    out = tmp_path / "out.xlsx"
    r = tokkou("calc", src, "-o", out, "--quiet", "--lang", "en")
    assert r.returncode == 0, r.stderr
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert header[-7:] == ["eligible_cost", "rate", "measure_amount", "status", "reasons", "rule_ids", "trace"]
    assert isinstance(ws.cell(2, header.index("measure_amount") + 1).value, int)
    jout = tmp_path / "out.json"
    assert tokkou("calc", src, "-o", jout, "--quiet").returncode == 0
    rows = json.loads(jout.read_text(encoding="utf-8"))
    expect = engine.evaluate_frame(pd.read_csv(SAMPLE, dtype=str))
    assert [r["measure_amount"] for r in rows] == list(expect["measure_amount"])


def test_never_overwrites_its_input(tmp_path):
    src = tmp_path / "in.csv"
    shutil.copy(SAMPLE, src)
    before = src.read_bytes()
    r = tokkou("calc", src, "-o", src)
    assert r.returncode == 2 and "上書き" in r.stderr and "Traceback" not in r.stderr
    assert src.read_bytes() == before


def test_csv_output_escapes_formula_injection(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("団体区分,年度,区分,事業費,事業名\n市町村,2025,1,1000,=HYPERLINK(\"http://x\")\n"
                   "市町村,2025,1,1000,@SUM(A1)\n市町村,2025,1,-5,+cmd\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert tokkou("calc", src, "-o", out, "--quiet").returncode == 0
    df = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert list(df["事業名"]) == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "'+cmd"]
    assert df["判定"].iloc[2] == "エラー" and "-5" in df["理由"].iloc[2]


@pytest.mark.parametrize("content, name, message", [
    (b"PK\x03\x04garbage", "broken.xlsx", ".xlsx ではありません"),
    (b"\x81\xff\xfe\x00\x80", "binary.csv", "文字コード"),
    (b'{"a": 1}', "wrong.json", "JSON"),
    (b"a,b\n1,2\n", "data.txt", "対応していない形式"),
])
def test_unusable_files_give_one_line_and_exit_2(tmp_path, content, name, message):
    src = tmp_path / name
    src.write_bytes(content)
    r = tokkou("calc", src, "-o", tmp_path / "out.csv")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.csv").exists()


def test_missing_input_and_bad_output_suffix(tmp_path):
    r = tokkou("calc", tmp_path / "nope.csv", "-o", tmp_path / "out.csv")
    assert r.returncode == 2 and "見つかりません" in r.stderr
    r = tokkou("calc", SAMPLE, "-o", tmp_path / "out.pdf")
    assert r.returncode == 2 and "出力形式" in r.stderr


def test_bad_lines_do_not_stop_the_others(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("団体区分,年度,区分,事業費\n市町村,令和7,①,\"1,000円\"\n市町村,令和7,①,abc\n市町村,令和7,⑤,#N/A\n"
                   "市町村,,①,1000\n市町村,R7,②,２０００\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    r = tokkou("calc", src, "-o", out)
    assert r.returncode == 0
    df = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert list(df["判定"]) == ["対象", "エラー", "エラー", "エラー", "対象"]
    assert "abc" in df["理由"][1] and "#N/A" in df["理由"][2] and "年度" in df["理由"][3]
    assert "エラーの行が 3 行" in r.stdout
    r = tokkou("calc", src, "-o", tmp_path / "out2.csv", "--year", "令和7", "--quiet")
    df = pd.read_csv(tmp_path / "out2.csv", dtype=str, encoding="utf-8-sig")
    assert df["判定"][3] == "対象"


def test_output_is_written_atomically(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("previous result", encoding="utf-8")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    assert tokkou("calc", bad, "-o", out).returncode == 2
    assert out.read_text(encoding="utf-8") == "previous result"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tokkou-")]


def test_calc_reads_a_filled_template_and_agrees_with_the_table_sample(tmp_path):
    """The README's first command: the filled template gives the same lines and totals as the CSV sample."""
    xlsx = ROOT / "workbook_templates" / "examples" / "nichiiki_kankei_sample.xlsx"
    r = tokkou("calc", xlsx, "-o", tmp_path / "算定結果.xlsx")
    assert r.returncode == 0, r.stderr
    from_template = pd.read_excel(tmp_path / "算定結果.xlsx", dtype=object)
    assert {"シート", "セル"} <= set(from_template.columns)  # each line says where it came from
    assert len(from_template) == 18
    from_csv = engine.evaluate_frame(pd.read_csv(SAMPLE, dtype=str))
    assert sorted(from_template["措置額"].astype(int)) == sorted(from_csv["measure_amount"].astype(int))
    assert "15,490,000" in r.stdout


def test_rules_check_and_show_take_rules_as_calc_does(rules_copy):
    """`rules check --rules DIR` / `rules show --rules DIR` as `calc --rules DIR`; the folder alone still works."""
    for args in (("--rules", rules_copy), (rules_copy,), ("--rules", rules_copy, rules_copy)):
        r = tokkou("rules", "check", *args)
        assert r.returncode == 0 and r.stdout.startswith(f"OK: {rules_copy}"), (args, r.stdout, r.stderr)
        r = tokkou("rules", "show", *args)
        assert r.returncode == 0 and "CAP-COORD-DEDICATED" in r.stdout, (args, r.stderr)
    r = tokkou("rules", "check", rules_copy, "--rules", rules_copy.parent)
    assert r.returncode == 2 and "フォルダが2つ指定されています" in r.stderr and "Traceback" not in r.stderr
    r = tokkou("rules", "check", "--rules", rules_copy.parent / "none")
    assert r.returncode == 2 and "使い方" not in r.stderr and "ありません" in r.stderr, r.stderr
