"""calc's output files stay byte for byte what they were before the performance work (issue 12).

The input: the benchmark's generated lines (a few thousand) with messy office rows added (blank
rows, unreadable values, formula-like text, bodies by name, brackets, line breaks). The expected
digests in golden/calc_digests.json were made by the calc of commit 6e48002 (before issue 12's
work). Regenerate them only for an intended change of the output: TOKKOU_WRITE_GOLDEN=1.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from gen_lines import generate  # noqa: E402

GOLDEN = Path(__file__).parent / "golden" / "calc_digests.json"
MESSY = [
    {"団体コード": "", "団体名": "宮崎県高鍋町", "年度": "R7", "区分": "①", "事業名": "=HYPERLINK(\"x\")", "事業費": "1,200,000円"},
    {"団体コード": "", "団体名": "どこかの村", "年度": "令和7年度", "区分": "3", "事業名": "+cmd|' /C calc'!A0", "事業費": "たくさん"},
    {},
    {"団体コード": "454010", "年度": "平成37", "区分": "6", "事業名": "@SUM(1)", "事業費": "-5"},
    {"団体コード": "45401", "年度": "2025", "区分": "②", "事業名": "改行\nあり,\"引用\"", "事業費": "１，０００"},
    {"団体コード": "454010", "年度": "", "区分": "", "経費項目": "C9-99", "事業名": "[1, 2]", "事業費": "1e3"},
    {"団体コード": "011002", "年度": "2025", "区分": "4", "経費項目": "C4-01", "事業費": "5000000",
     "コーディネーターID": "K-[x]", "従事形態": "専任", "総合戦略位置付け": "はい", "事業名": "-1+2"},
    {"団体名": "府中市", "年度": "2025", "区分": "5", "事業費": "300000", "現金給付": "はい"},
    {},
    {"団体コード": "454010", "年度": "2025", "区分": "1", "事業費": "100000", "特定財源": "200000",
     "按分率": "2", "財政力補正係数": "9.9", "主目的": "観光・産業振興"},
]
FORMATS = {"ja.csv": [], "en.csv": ["--lang", "en"], "ja.json": [], "ja.xlsx": []}


def _input(path: Path) -> Path:
    df = generate(3000, seed=11)
    messy = pd.DataFrame(MESSY, columns=df.columns).fillna("")
    pd.concat([df.iloc[:1500], messy, df.iloc[1500:]]).to_csv(path, index=False, encoding="utf-8")
    return path


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    if path.suffix == ".xlsx":  # every part but the creation time
        with zipfile.ZipFile(path) as z:
            for name in sorted(z.namelist()):
                if name != "docProps/core.xml":
                    h.update(name.encode() + b"\0" + z.read(name))
    else:
        h.update(path.read_bytes())
    return h.hexdigest()


def test_calc_outputs_are_unchanged(tmp_path):
    src = _input(tmp_path / "lines.csv")
    got = {}
    for name, extra in FORMATS.items():
        out = tmp_path / f"out_{name.replace('.', '_')}{Path(name).suffix}"
        r = subprocess.run([sys.executable, "-m", "tokkou.cli", "calc", str(src), "-o", str(out), *extra],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        got[name] = _digest(out)
    if os.environ.get("TOKKOU_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1) + "\n", encoding="utf-8")
        pytest.skip("golden digests written")
    assert got == json.loads(GOLDEN.read_text(encoding="utf-8"))
