"""経費項目 is open, and 予算の節 are read as 節 (SPEC §2 "The expense examples are examples").

An 経費項目 that is not an annex item ID or label is matched forgivingly to an example of the
line's category: NFKC; 「に要する経費」「に係る経費」「等」, brackets and punctuation ignored; then
containment either way (also against each ・-separated part of a label); then a similarity
ranking (difflib). A match brings the example (and so its flags); no match leaves the line on its
category with an info note naming the two closest examples. Wording alone is never an error.

A 予算の節 (地方自治法施行規則 別記, 27 節) in 経費項目 or in `budget_section` [節] is read as a 節
and gives warnings that cite their rule (status unchanged): 扶助費 on ⑤ (EXCL-CASH), 工事請負費
on ③ with 新築 blank (EXCL-NEWBUILD), 交際費 / 食糧費 (EXCL-FOOD).
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .rulebook import Rulebook

# 地方自治法施行規則 別記 歳出予算の節 (27 since FY2020), as written there.
SECTIONS: tuple[str, ...] = (
    "報酬", "給料", "職員手当等", "共済費", "災害補償費", "恩給及び退職年金", "報償費", "旅費", "交際費",
    "需用費", "役務費", "委託料", "使用料及び賃借料", "工事請負費", "原材料費", "公有財産購入費", "備品購入費",
    "負担金、補助及び交付金", "扶助費", "貸付金", "補償、補塡及び賠償金", "償還金、利子及び割引料",
    "投資及び出資金", "積立金", "寄附金", "公課費", "繰出金",
)
FOOD_SUBSECTION = "食糧費"  # a 細節 of 需用費 that offices write as if it were a 節
SIMILAR_ENOUGH = 0.75  # difflib ratio from which a wording is taken as that example
_DROP = re.compile(r"に要する経費|に係る経費|に要する費用|の経費|経費$|等")
_PUNCT = re.compile(r"[\s・、，,。．.「」『』（）()［］\[\]【】〔〕<>＜＞{}｛｝\"'“”‘’:：;；/／\-－―ー~〜!！?？]")


def fold(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip()


def canonical(text: Any) -> str:
    """The wording reduced for matching: NFKC, 「に要する経費」「等」 brackets punctuation dropped."""
    s = fold(text).lower()
    s = _PUNCT.sub("", _DROP.sub("", s))
    return s


def _section_key(text: Any) -> str:
    return canonical(text).replace("補填", "補塡")


_SECTION_INDEX = {_section_key(s): s for s in (*SECTIONS, FOOD_SUBSECTION)}


def section_of(text: Any) -> str | None:
    """The 節 a text names (「負担金補助及び交付金」「補償、補填及び賠償金」 spellings accepted), else None."""
    if text is None:
        return None
    return _SECTION_INDEX.get(_section_key(text))


@dataclass(frozen=True)
class Match:
    """How an 経費項目 wording was read: an example (index into rb.items), a 節, or neither."""

    index: int | None
    section: str | None
    closest: tuple[int, ...] = ()
    exact: bool = False


class ItemMatcher:
    """Matches wordings to the annex examples of one rulebook, per category."""

    def __init__(self, rb: Rulebook):
        self.rb = rb
        self.labels = [f"{it.id} {it.label}" for _, it in rb.items]
        self.category = [c.id for c, _ in rb.items]
        self.canon = [canonical(it.label) for _, it in rb.items]
        self.parts = [[canonical(p) for p in re.split(r"[・、]", fold(it.label)) if len(canonical(p)) >= 3]
                      for _, it in rb.items]
        self.exact: dict[str, int] = {}
        for i, (_, it) in enumerate(rb.items):
            for name in (it.id, it.label, f"{it.id} {it.label}", f"{it.id}{it.label}"):
                self.exact[re.sub(r"\s+", "", fold(name)).lower()] = i

    def exact_index(self, text: Any) -> int | None:
        key = re.sub(r"\s+", "", fold(text)).lower()
        if key in self.exact:
            return self.exact[key]
        m = re.match(r"(c[1-5]-\d{2})", key)
        return self.exact.get(m.group(1)) if m else None

    @lru_cache(maxsize=8192)
    def match(self, text: str, category: int) -> Match:
        """The example a wording on a line of `category` (0 = unknown) stands for."""
        hit = self.exact_index(text)
        if hit is not None:
            return Match(hit, None, exact=True)
        section = section_of(text)
        pool = [i for i, c in enumerate(self.category) if category in (0, c)]
        if section is not None:
            return Match(None, section, self._closest(canonical(text), pool))
        t = canonical(text)
        if not t:
            return Match(None, None, ())
        contained = [i for i in pool if (len(t) >= 2 and t in self.canon[i]) or self.canon[i] in t
                     or any(p in t for p in self.parts[i])]
        ranked = self._ranked(t, contained or pool)
        if contained:
            return Match(ranked[0][1], None, tuple(i for _, i in ranked[:2]))
        if ranked and ranked[0][0] >= SIMILAR_ENOUGH:
            return Match(ranked[0][1], None, tuple(i for _, i in ranked[:2]))
        return Match(None, None, tuple(i for _, i in ranked[:2]))

    def _ranked(self, t: str, pool: list[int]) -> list[tuple[float, int]]:
        scored = [(max(difflib.SequenceMatcher(None, t, self.canon[i]).ratio(),
                       *(difflib.SequenceMatcher(None, t, p).ratio() for p in self.parts[i])), i) for i in pool]
        return sorted(scored, key=lambda s: (-s[0], s[1]))

    def _closest(self, t: str, pool: list[int]) -> tuple[int, ...]:
        return tuple(i for _, i in self._ranked(t, pool)[:2]) if t else ()

    def describe(self, indexes) -> str:
        return "、".join(f"「{self.labels[i]}」" for i in indexes)


# ---- engine stage: wording → example, notes and 節 warnings ----------------------------------------

@dataclass
class Reading:
    """What the wording of the lines brought: example index per line, notes, 新築 from wording."""

    item: Any  # np.ndarray of example indexes (-1 = none)
    notes: dict[int, list[str]]
    note_ids: dict[int, list[str]]
    new_construction: Any  # np.ndarray[bool]: 「新築」 written in the wording of a facility example


def _message(rb: Rulebook, rid: str, variant: str) -> str | None:
    rule = rb.rule(rid) if rid in rb.rule_ids else None
    return rule.messages.get(variant) if rule else None


def resolve(rb: Rulebook, matcher: ItemMatcher, raw_items, item, cat, raw_sections, flags_given) -> Reading:
    """Per line: the example its wording stands for (open matching within its category), the
    info notes (ITEM-OPEN) and the 節 warnings. `item` holds the indexes parsed from IDs (-1 else);
    `flags_given` maps cash_benefit/new_construction to (given, value) arrays."""
    import numpy as np

    n = len(item)
    item = item.copy()
    notes: dict[int, list[str]] = {}
    ids: dict[int, list[str]] = {}
    newbuild = np.zeros(n, dtype=bool)
    sections: list[str | None] = [None] * n
    if raw_sections is not None:
        for row, v in enumerate(raw_sections):
            if isinstance(v, str) and v.strip():
                sections[row] = section_of(v)
    if raw_items is not None:
        for row in np.flatnonzero(item < 0):
            v = raw_items[row]
            if v is None or (isinstance(v, float) and v != v) or not str(v).strip():
                continue
            m = matcher.match(fold(v), int(cat[row]))
            item[row] = -1 if m.index is None else m.index
            sections[row] = sections[row] or m.section
            _item_note(rb, matcher, m, str(v), row, notes, ids)
            if m.index is not None and rb.items[m.index][1].facility and "新築" in fold(v):
                newbuild[row] = True
    _section_warnings(rb, sections, cat, flags_given, newbuild, notes)
    return Reading(item, notes, ids, newbuild)


def _item_note(rb, matcher, m: Match, text: str, row: int, notes, ids) -> None:
    variant = "section" if m.section else ("matched" if m.index is not None else "unmatched")
    msg = _message(rb, "ITEM-OPEN", variant)
    if msg is None:
        return
    shown = text if len(text) <= 40 else text[:37] + "…"
    if m.index is not None:
        detail = f"「{shown}」→{matcher.describe([m.index])}"
    else:
        detail = f"「{shown}」。近い例示: {matcher.describe(m.closest)}" if m.closest else f"「{shown}」"
    notes.setdefault(row, []).append(f"[ITEM-OPEN] {msg}（経費項目{detail}）")
    ids.setdefault(row, []).append("ITEM-OPEN")


def _section_warnings(rb, sections, cat, flags_given, newbuild, notes) -> None:
    cash_given, cash = flags_given["cash_benefit"]
    nb_given, _ = flags_given["new_construction"]
    for row, s in enumerate(sections):
        if s is None:
            continue
        rid = None
        if s == "扶助費" and cat[row] == 5 and not (cash_given[row] and cash[row]):
            rid = "EXCL-CASH"
        elif s == "工事請負費" and cat[row] == 3 and not nb_given[row] and not newbuild[row]:
            rid = "EXCL-NEWBUILD"
        elif s in ("交際費", FOOD_SUBSECTION):
            rid = "EXCL-FOOD"
        msg = _message(rb, rid, "section_check") if rid else None
        if msg:
            notes.setdefault(row, []).append(f"[{rid}] 確認: 節「{s}」。{msg}")
