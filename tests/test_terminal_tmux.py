"""What a user sees in a real terminal (issue 13): `tokkou calc` and `tokkou rules show` run inside tmux
at 80 and 120 columns; the captured screen has no row wider than the terminal, and every rule ID and
every amount appears on the screen whole, as often as in an unbroken (400-column) rendering.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from rich.cells import cell_len

from tokkou import rulebook

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "workbook_templates" / "examples" / "sample_lines.csv"
DONE = "__TOKKOU_DONE__"
AMOUNT = re.compile(r"(?<![\d,])\d{1,3}(?:,\d{3})+(?:円)?(?![\d,])")

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None and os.environ.get("CI") != "true",
                                reason="tmux not installed (CI installs it)")


def screen(args: list[str], width: int, cwd: Path) -> list[str]:
    """Run `python -m tokkou.cli ARGS` in a detached tmux window of `width` columns; the screen rows."""
    sock = f"tokkou-{uuid.uuid4().hex[:8]}"
    command = " ".join([sys.executable, "-m", "tokkou.cli", *args]) + f"; echo {DONE}; sleep 600"
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    subprocess.run(tmux + ["new-session", "-d", "-x", str(width), "-y", "200", "-c", str(cwd), command],
                   check=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = subprocess.run(tmux + ["capture-pane", "-p", "-S", "0", "-E", "199"], capture_output=True,
                                  text=True, check=True).stdout
            if DONE in text:
                return text.split(DONE)[0].splitlines()
            time.sleep(0.3)
        raise AssertionError(f"tokkou {' '.join(args)} did not finish in tmux:\n{text}")
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)


def whole_counts(rows: list[str], words: set[str]) -> dict[str, int]:
    return {w: sum(len(re.findall(rf"(?<![\w-]){re.escape(w)}(?![\w-])", r)) for r in rows) for w in words}


def amounts(rows: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for r in rows:
        for a in AMOUNT.findall(r):
            found[a] = found.get(a, 0) + 1
    return found


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tty")
    shutil.copy(SAMPLE, d / "明細.csv")
    return d


@pytest.fixture(scope="module")
def wide(work) -> dict[str, list[str]]:
    return {"calc": screen(["calc", "明細.csv", "-o", "wide.csv"], 400, work),
            "rules": screen(["rules", "show"], 400, work)}


@pytest.mark.parametrize("width", [80, 120])
def test_calc_summary_fits_and_keeps_amounts_whole(work, wide, width):
    rows = screen(["calc", "明細.csv", "-o", f"out{width}.csv"], width, work)
    assert max(cell_len(r) for r in rows) <= width
    reference = amounts(wide["calc"])
    assert "15,490,000" in reference and "26,160,000" in reference  # the sample's totals
    assert amounts(rows) == reference
    labels = {"①情報発信", "②相談窓口", "③きっかけづくり", "④コーディネーター", "⑤受入環境整備", "合計"}
    assert all(n >= 1 for n in whole_counts(rows, labels).values())
    assert any(f"out{width}.csv" in r for r in rows)  # the path written is printed


@pytest.mark.parametrize("width", [80, 120])
def test_rules_show_fits_and_never_breaks_an_id_or_amount(work, wide, width):
    rows = screen(["rules", "show"], width, work)
    assert max(cell_len(r) for r in rows) <= width
    ids = set(rulebook.get().rule_ids)
    reference = whole_counts(wide["rules"], ids)
    assert all(n >= 1 for n in reference.values()), reference
    assert whole_counts(rows, ids) == reference
    ref_amounts = amounts(wide["rules"])
    assert {"5,000,000円", "400,000円"} <= set(ref_amounts)
    assert amounts(rows) == ref_amounts
    assert not any("{" in r or "':" in r for r in rows)  # values as text, never a Python dict


@pytest.fixture(scope="module")
def returned(tmp_path_factory) -> Path:
    """A folder as prefectures get it: one form and five entries that are not reviewed."""
    d = tmp_path_factory.mktemp("returned")
    shutil.copy(ROOT / "tests" / "field" / "review" / "date_typed_in_cost_E5.xlsx", d / "茅野市.xlsx")
    for name in ("一覧.csv", "メモ.txt", "様式.ods", ".隠し.xlsx", "~$茅野市.xlsx"):
        (d / name).write_text("x", encoding="utf-8")
    return d


@pytest.mark.parametrize("width", [80, 120])
def test_review_summary_keeps_numbers_with_units_and_counts_what_the_bar_counts(returned, width):
    rows = screen(["review", "茅野市.xlsx", "一覧.csv", "メモ.txt", "様式.ods", ".隠し.xlsx", "~$茅野市.xlsx",
                   "-o", f"../確認{width}.xlsx"], width, returned)
    assert max(cell_len(r) for r in rows) <= width
    text = "\n".join(rows)
    assert not re.search(r"\d\s*\n\s*[件円]", text), text  # a count never split from its unit
    assert "6/6" in text and "確認したファイル 6件" in text, text  # named on the command line: all six reviewed
    folder = screen(["review", ".", "-o", f"../確認{width}f.xlsx"], width, returned)
    text = "\n".join(folder)
    assert max(cell_len(r) for r in folder) <= width
    assert not re.search(r"\d\s*\n\s*[件円]", text), text
    assert "1/1" in text and "確認したファイル 1件" in text and "確認対象外 5件" in text, text
    assert re.search(r"指摘 \d+件", text) and "措置額合計 14,890,000円" in text, text
