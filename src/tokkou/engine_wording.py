"""Lines as offices write them, for the engine's stages: bodies by name (bodies.py), open 経費項目 and
予算の節 (items.py), and the wording of excluded lines. SPEC §2 「The expense examples are examples」
and §4.1 「Bodies」.
"""
from __future__ import annotations

import numpy as np

from . import items as items_mod
from .normalize import Parsed


def codes_from_names(code_p: Parsed, name_p: Parsed, type_given: np.ndarray, error) -> Parsed:
    """団体コード from 団体名 where the code is blank (bodies.py); a name that disagrees with the
    code, or that two bodies share, is an error; a name not in the list needs 団体区分 or a code.
    Decided once per distinct (code, name, 団体区分 given, code given), not once per line."""
    import pandas as pd

    from . import bodies
    n = len(name_p.codes)
    code_given = np.asarray(code_p.given, dtype=bool)
    type_given = np.asarray(type_given, dtype=bool)
    c_codes, c_count = code_p.value_codes()
    n_codes, _ = name_p.value_codes()
    c_codes = np.where(code_given, c_codes, -1) + 1
    n_codes = np.where(np.asarray(name_p.given, dtype=bool), n_codes, -1) + 1
    key = (n_codes * (c_count + 1) + c_codes) * 4 + type_given * 2 + code_given
    inverse, uniq = pd.factorize(key)
    first = np.full(len(uniq), n, dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(n))
    found = np.empty(len(uniq), dtype=object)
    problems: list = []
    for k, row in enumerate(first):
        code = code_p.value_at(row) if code_given[row] else None
        name = name_p.value_at(row) if name_p.given[row] else None
        found[k], problem = _body_of(bodies, code, name, bool(type_given[row]), bool(code_given[row]))
        problems.append(None if not problem else f"列「団体名」(body_name) の値「{name}」: {problem}。")
    has_problem = np.array([p is not None for p in problems] + [False], dtype=bool)
    for row in np.flatnonzero(has_problem[inverse]):
        error(int(row), "body_name", problems[inverse[row]])
    given = np.array([v is not None for v in found], dtype=bool)[inverse] | code_p.given
    return Parsed(codes=np.asarray(inverse, dtype=np.int64), values=found.tolist(), given=given)


def _body_of(bodies, code, name, type_given: bool, code_given: bool):
    if name is None or code_given:
        if code is not None and name is not None and not bodies.name_matches(code, name):
            return code, f"団体コード「{code}」（{bodies.full_name(code)}）と食い違っています"
        return code, None
    found, problem = bodies.code_for_name(name)
    if found is None and type_given and "複数" not in problem:
        return None, None  # an informal name with its 団体区分: nothing depends on the code
    return found, problem


def read_wording(ctx, columns, P, item, cat, flag):
    """Open 経費項目 and 予算の節 (items.py): example per line, notes, 新築 written in the wording."""
    if "item" not in columns and "budget_section" not in columns:
        return items_mod.Reading(item, {}, {}, None)
    given = {k: (P[k].given, flag[k]) for k in ("cash_benefit", "new_construction")}
    wording = items_mod.resolve(ctx.rb, ctx.matcher, columns.get("item"), item, cat, columns.get("budget_section"), given)
    flag["new_construction"] |= wording.new_construction & ~P["new_construction"].given
    return wording


def append_notes(wording, err, reasons, rule_ids) -> None:
    """Info notes and 節 warnings after the reasons of lines that are not errors (status unchanged)."""
    for row, extra in wording.notes.items():
        if err[row]:
            continue
        reasons[row] = f"{reasons[row]} {' '.join(extra)}".strip()
        added = [i for i in wording.note_ids.get(row, []) if i not in rule_ids[row].split()]
        if added:
            rule_ids[row] = " ".join([rule_ids[row], *added]).strip()


def word_excluded(ctx, events: np.ndarray, excluded: np.ndarray, xp) -> np.ndarray:
    """An excluded line's reason never says it was computed (「算定しました」): its category is named,
    not applied; a digital bond that takes the whole cost says nothing is left. Returns the events
    (xp: the stages' array namespace, engine_xp)."""
    if not xp.any(excluded):
        return events
    bit = ctx.bit
    zero = np.int64(0)  # an older rulebook without the wording: the sentence is left out
    swaps = [(bit[(f"CAT-{c}", "applied")], bit.get((f"CAT-{c}", "classified"), zero)) for c in range(1, 6)]
    swaps.append((bit[("EXCL-DIGITAL-BOND", "deducted")], bit.get(("EXCL-DIGITAL-BOND", "deducted_all"), zero)))
    for old, new in swaps:
        hit = excluded & ((events & old) != 0)
        events = xp.fill(events, hit, (xp.sub(events, hit) & ~old) | new)
    coord = ~(bit[("COORD-COSTS", "applied")] | bit[("INTERP-COORD-RATE", "applied")])
    return xp.fill(events, excluded, xp.sub(events, excluded) & coord)
