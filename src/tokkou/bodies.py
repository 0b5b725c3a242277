"""Bodies by name (SPEC §4.1 "Bodies"): 団体名 → 団体コード through the bundled list of 1,788 bodies.

「長野県茅野市」 and 「茅野市」 name the same body; a name two bodies share (府中市) needs the code;
a code and a name that disagree are an error. Used alike by calc, EVALUATE_TABLE and the row UDFs
(all through the engine).
"""
from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from importlib.resources import files


def _key(name: str) -> str:
    return re.sub(r"[\s　]+", "", unicodedata.normalize("NFKC", str(name)))


@lru_cache(maxsize=1)
def directory() -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """(code → full name 「長野県茅野市」, name key → codes) for every bundled body."""
    full: dict[str, str] = {}
    index: dict[str, list[str]] = {}
    with files("tokkou").joinpath("data/local_government_codes.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            pref, city = r["prefecture"], r["city"]
            full[r["code"]] = pref + city
            names = {pref + city} | ({city} if city else set())
            for n in names:
                index.setdefault(_key(n), []).append(r["code"])
    return full, {k: tuple(v) for k, v in index.items()}


@lru_cache(maxsize=4096)
def code_for_name(name: str) -> tuple[str | None, str | None]:
    """(code, None) when exactly one body has that name; (None, problem) when none or several."""
    full, index = directory()
    codes = index.get(_key(name), ())
    if len(codes) == 1:
        return codes[0], None
    if len(codes) > 1:
        shown = "・".join(f"{full[c]}（{c}）" for c in codes[:4])
        return None, f"同じ名前の団体が複数あります（{shown}）。団体コードを入力してください"
    return None, "団体の一覧にない名前です。団体コードを入力するか、「長野県茅野市」のように書いてください"


def name_matches(code: str, name: str) -> bool:
    """Whether `name` names the body of `code` (full name or the city part); unknown codes pass."""
    full, index = directory()
    if code not in full:
        return True
    return code in index.get(_key(name), ())


def full_name(code: str) -> str | None:
    return directory()[0].get(code)
