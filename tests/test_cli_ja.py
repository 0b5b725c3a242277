"""The command line in Japanese (issue 13): usage, help and argparse errors; one `--year` reading for every
command; `tokkou rules` alone lists its subcommands; default output places, printed."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "workbook_templates" / "examples" / "sample_lines.csv"
ENGLISH = ("usage:", "error:", "options:", "positional arguments", "show this help", "the following arguments",
           "invalid choice", "invalid int value", "unrecognized arguments", "expected one argument",
           "show program's version")


def tokkou(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tokkou.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={"PATH": "/usr/bin:/bin", "COLUMNS": "100", "HOME": str(ROOT)})


def no_english(text: str) -> None:
    assert not [w for w in ENGLISH if w in text.lower()], text


@pytest.mark.parametrize("args", [[], ["-h"], ["calc", "-h"], ["rules", "show", "-h"], ["review", "-h"],
                                  ["template", "build", "-h"], ["excel", "setup", "-h"], ["lite", "export", "-h"],
                                  ["bundle", "-h"]])
def test_help_is_japanese(args):
    r = tokkou(*args)
    assert r.returncode in (0, 2)
    assert "使い方: tokkou" in r.stdout
    no_english(r.stdout + r.stderr)


HELPS = [[], ["calc"], ["rules", "check"], ["rules", "show"], ["review"], ["template", "build"], ["excel", "setup"],
         ["lite", "export"], ["bundle"]]


@pytest.mark.parametrize("args", HELPS)
def test_help_fits_80_columns_with_japanese_placeholders_lined_up(args):
    """Wide characters take two columns: every line fits an 80-column terminal, the placeholders are
    Japanese (no OUTPUT/RULES), and each option's help starts in the same column as the others'."""
    from tokkou.cli_ja import display_width
    r = subprocess.run([sys.executable, "-m", "tokkou.cli", *args, "-h"], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "COLUMNS": "80", "HOME": str(ROOT)})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(map(display_width, lines)) <= 80, r.stdout
    assert not any(w in r.stdout for w in ("OUTPUT", "RULES", "YEAR", "INPUT", "PATH", "JOBS", "CONF"))
    assert "コマンド:\n  コマンド" not in r.stdout and "サブコマンド:\n  サブコマンド" not in r.stdout
    starts = set()
    for line in lines:
        head = line[:2] == "  " and line[2:3] != " " and line.find("  ", 2)
        if head and head > 0 and line[head:].strip():
            starts.add(display_width(line[:len(line) - len(line[head:].lstrip())]))
    assert len(starts) <= 1, r.stdout


@pytest.mark.parametrize("args, words", [
    (["calc"], ["次の引数を指定してください: 入力"]),
    (["calc", "a.csv", "--bogus"], ["知らない引数です: --bogus"]),
    (["calc", "a.csv", "-o"], ["引数 -o/--output", "値を1つ指定してください"]),
    (["nosuch"], ["「nosuch」は選べません", "calc"]),
    (["review", "x", "-o", "r.xlsx", "--jobs", "0"], ["--jobs", "1 以上の整数"]),
    (["review", "x", "-o", "r.xlsx", "--jobs", "abc"], ["--jobs", "1 以上の整数"]),
    (["calc", "a.csv", "--year", "abc"], ["--year", "「abc」", "年度として読めません"]),
    (["rules", "show", "--year", "令和0"], ["--year", "「令和0」"]),
    (["rules", "show", "--year", "1e9"], ["--year", "「1e9」"]),
    (["lite", "export", "d"], ["--package"]),
])
def test_argument_errors_are_one_japanese_usage_and_line(args, words):
    r = tokkou(*args)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("使い方: tokkou") and "エラー: " in r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    no_english(r.stderr)


@pytest.mark.parametrize("group, subs", [("rules", ["check", "show"]), ("template", ["build"]),
                                         ("excel", ["setup"]), ("lite", ["export"])])
def test_a_command_group_alone_lists_its_subcommands(group, subs):
    r = tokkou(group)
    assert r.returncode == 2 and f"使い方: tokkou {group}" in r.stdout
    assert all(s in r.stdout for s in subs) and "calc" not in r.stdout.replace(f"tokkou {group}", "")


@pytest.mark.parametrize("text, year", [("2026", 2026), ("令和8", 2026), ("R8", 2026), ("r7", 2025), ("令和７年度", 2025)])
def test_rules_show_reads_the_year_as_calc_does(text, year, tmp_path):
    r = tokkou("rules", "show", "--year", text)
    assert r.returncode == 0, r.stderr
    assert f"{year}年度の値" in r.stdout
    src = tmp_path / "in.csv"
    src.write_text("団体区分,区分,事業費\n市町村,1,1000\n", encoding="utf-8")
    r = tokkou("calc", src, "-o", tmp_path / "out.csv", "--year", text, "--quiet")
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, encoding="utf-8-sig")
    assert out["判定"].iloc[0] != "エラー"  # Japanese headers in, Japanese result columns out


def test_calc_default_output_is_beside_the_input_and_printed(tmp_path):
    for name in ("明細.csv", "明細.json"):
        src = tmp_path / name
        if name.endswith(".csv"):
            shutil.copy(SAMPLE, src)
        else:
            pd.read_csv(SAMPLE, dtype=str).to_json(src, orient="records", force_ascii=False)
        r = tokkou("calc", src, "--quiet", cwd=ROOT)
        assert r.returncode == 0, r.stderr
        out = tmp_path / f"明細_算定結果{src.suffix}"
        assert out.exists() and f"書き出しました: {out}" in r.stdout
    before = (tmp_path / "明細_算定結果.csv").read_bytes()
    assert tokkou("calc", tmp_path / "明細.csv", "--quiet").returncode == 0  # a second run replaces its own output
    assert (tmp_path / "明細_算定結果.csv").read_bytes() == before


def test_template_build_writes_into_the_current_folder_and_says_where(tmp_path):
    r = tokkou("template", "build", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "workbook_templates"
    assert (folder / "nichiiki_kankei_native.xlsx").exists() and (folder / "examples").is_dir()
    assert f"様式を書き出しました: {folder}" in r.stdout


def test_bundle_names_the_install_script_of_its_platform(tmp_path, monkeypatch, capsys):
    """A Linux bundle says install.sh, a Windows one install.cmd (bundle.make itself is tested in test_packaging)."""
    from tokkou import bundle, cli
    for tag, script in (("linux_x86_64", "install.sh"), ("win_amd64", "install.cmd")):
        monkeypatch.setattr(bundle, "make", lambda folder, tag=tag, **kw: bundle.Bundle(Path(folder), tag, "3.12", []))
        assert cli.main(["bundle", "-o", str(tmp_path / tag)]) == 0
        said = capsys.readouterr().out.splitlines()[-1]
        assert script in said and ("install.cmd" in said) == (script == "install.cmd")


@pytest.mark.parametrize("platform", ["win_amd64", "manylinux_2_17_x86_64", "macosx_11_0_arm64"])
def test_bundle_guide_leads_with_its_platforms_steps(platform):
    """導入手順.txt of a Windows bundle says install.cmd and py -3.12; a Linux/Mac one says install.sh and
    python3.12 first and never sends the user to a Windows installer."""
    from tokkou.bundle import guide_text
    text = guide_text(platform, "3.12")
    steps = text.split("\n1. ", 1)[1]
    if platform.startswith("win"):
        assert "install.cmd" in steps.split("\n4. ")[0] and "py -3.12 -m pip" in steps
    else:
        assert "sh install.sh" in steps.split("\n4. ")[0] and "python3.12 -m pip" in steps
        assert "Windows installer" not in text and "ダブルクリック" not in text
