"""Generated expense lines over every rule, as offices type them (used by bench_calc.py and tests).

Real local governments from the bundled list; every category and several items of each; routing
(移住・定住), apportioning (観光・産業振興 with a ratio), 地域留学 with 学校魅力化, national subsidies,
cash benefits, new construction, bonds, specific revenue, out-of-scope bodies and years, ④ persons
(専任/兼務, other measures, the plan, food) and the value spellings people use (full-width digits,
thousands separators, 円, 令和7/R7/2025, はい/いいえ/○/×). Deterministic for a seed.
"""
from __future__ import annotations

import csv
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

HEADERS = ["団体コード", "団体名", "団体区分", "年度", "区分", "経費項目", "事業名", "事業費", "特定財源",
           "起債対象経費", "対象外経費", "按分率", "主目的", "国庫補助事業", "現金給付", "新築", "財政力補正係数",
           "コーディネーターID", "従事形態", "他制度適用", "地域留学コーディネーター", "総合戦略位置付け", "飲食費"]

_ITEMS = {1: ["C1-01", "C1-03", "C1-05", "C1-08", ""], 2: ["C2-01", ""], 3: ["C3-01", "C3-03", "C3-04", "C3-06", ""],
          4: ["C4-01", "C4-02", "C4-03", "C4-07", "C4-11"], 5: ["C5-01", "C5-03", "C5-04", ""]}
_CAT_TEXT = {1: ["1", "①"], 2: ["2", "②"], 3: ["3", "③"], 4: ["4", "④"], 5: ["5", "⑤"]}
_FW = str.maketrans("0123456789,", "０１２３４５６７８９，")


def _bodies() -> pd.DataFrame:
    with files("tokkou").joinpath("data/local_government_codes.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    df = pd.DataFrame(rows)
    df["name"] = df["prefecture"] + df["city"].fillna("")
    return df


def _yen_text(v: int, style: int) -> str:
    if style == 1:
        return f"{v:,}"
    if style == 2:
        return f"{v:,}円"
    if style == 3:
        return f"{v:,}".translate(_FW)
    return str(v)


def generate(n: int, seed: int = 7) -> pd.DataFrame:
    """n lines (strings, as in a CSV) with the column headers of HEADERS."""
    rng = np.random.default_rng(seed)
    bodies = _bodies()
    b = bodies.iloc[rng.integers(0, len(bodies), n)].reset_index(drop=True)
    cat = rng.choice([1, 2, 3, 4, 5], n, p=[0.25, 0.1, 0.25, 0.2, 0.2])
    cost = rng.integers(0, 8_000_000, n)
    style = rng.integers(0, 4, n)
    purpose = rng.choice(["二地域居住・関係人口"] * 14 + ["移住・定住", "観光・産業振興", "学校魅力化", ""], n)
    ratio = np.where(purpose == "観光・産業振興", rng.choice(["0.5", "0.25", "1/3", "0.333333"], n), "")
    ratio = np.where(ratio == "1/3", "0.3", ratio)
    person = rng.integers(1, 6, n)
    coord = cat == 4
    out = {
        "団体コード": np.where(rng.random(n) < 0.9, b["code"], ""),
        "団体名": b["name"].to_numpy(),
        "団体区分": np.where(rng.random(n) < 0.5, b["body_type"], ""),
        "年度": rng.choice(["令和7", "R7", "2025", "2025", "令和7年度", "2024"], n, p=[.3, .2, .2, .2, .08, .02]),
        "区分": [_CAT_TEXT[c][i] for c, i in zip(cat, rng.integers(0, 2, n))],
        "経費項目": [_ITEMS[c][i % len(_ITEMS[c])] for c, i in zip(cat, rng.integers(0, 10, n))],
        "事業名": [f"事業{i}" for i in range(n)],
        "事業費": [_yen_text(int(v), int(s)) for v, s in zip(cost, style)],
        "特定財源": np.where(rng.random(n) < 0.2, (cost // 4).astype(str), ""),
        "起債対象経費": np.where((rng.random(n) < 0.1) & np.isin(cat, [1, 3]), (cost // 3).astype(str), ""),
        "対象外経費": np.where(rng.random(n) < 0.05, (cost // 10).astype(str), ""),
        "按分率": ratio,
        "主目的": purpose,
        "国庫補助事業": rng.choice(["いいえ", "", "", "はい", "×", "0"], n, p=[.4, .4, .1, .03, .04, .03]),
        "現金給付": np.where(cat == 5, rng.choice(["いいえ", "はい", ""], n, p=[.6, .05, .35]), ""),
        "新築": np.where(cat == 3, rng.choice(["いいえ", "はい", "○", ""], n, p=[.5, .05, .05, .4]), ""),
        "財政力補正係数": rng.choice(["1.0", "", "0.9", "1.1", "１．０"], n),
        "コーディネーターID": np.where(coord, np.char.add("K-", person.astype(str)), ""),
        "従事形態": np.where(coord, np.where(person <= 2, "専任", "兼務"), ""),
        "他制度適用": np.where(coord, rng.choice(["なし", "", "地域おこし協力隊", "集落支援員"], n,
                                                 p=[.5, .44, .03, .03]), ""),
        "地域留学コーディネーター": np.where(coord, rng.choice(["いいえ", "", "はい"], n, p=[.5, .45, .05]), ""),
        "総合戦略位置付け": np.where(coord, rng.choice(["はい", "", "いいえ"], n, p=[.5, .4, .1]), ""),
        "飲食費": np.where(coord & (rng.random(n) < 0.1), (cost // 20).astype(str), ""),
    }
    return pd.DataFrame(out, columns=HEADERS)


def write_csv(path: Path, n: int, seed: int = 7) -> Path:
    generate(n, seed).to_csv(path, index=False, encoding="utf-8")
    return path
