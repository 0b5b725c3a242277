"""Formulas of template versions already handed out, so a return is compared with its own template.

Until the rule messages moved to the ルール sheet, the templates carried the messages inside their
formulas, so every rulebook version had its own formulas. Returns of those templates are still
arriving; comparing them with today's formulas would flag every formula cell. This catalogue keeps,
per rulebook hash (the cover's 「ルールブックのハッシュ」) and variant, each calculated column's formula
in row-relative form (formula_compare.shape_key at the first row): one formula per column, since the
builder writes the same formula down a column.

`python -m tokkou.review_versions TEMPLATE.xlsx…` adds the entry of released templates (a maintainer
step when a template whose formulas differ from today's has been handed out).
"""
from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from . import layout as L
from .formula_compare import shape_key

CATALOGUE = "data/template_formulas.json"
_OFFSET = re.compile(r'("(?:[^"]|"")*"|\'(?:[^\']|\'\')*\')|\{([+-]\d+)\}')


@lru_cache(maxsize=1)
def _catalogue() -> dict:
    try:
        return json.loads(files("tokkou").joinpath(CATALOGUE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def known(rulebook_hash: str) -> bool:
    return rulebook_hash in _catalogue()


def _sheets(lay):
    return ((L.SHEET_LINES, L.LINES_FIRST_ROW, L.LINES_COUNT, L.LINES),
            (L.SHEET_COORD, L.COORD_FIRST_ROW, L.COORD_COUNT, lay.coord))


def _at_row(shape: str, row: int) -> str:
    return _OFFSET.sub(lambda m: m.group(1) or str(row + int(m.group(2))), shape)


@lru_cache(maxsize=8)
def expected_formulas(rulebook_hash: str, variant: str) -> dict[tuple[str, int, str], str] | None:
    """{(sheet, row, key): formula} of the released template of that rulebook hash and variant; None if unknown."""
    entry = _catalogue().get(rulebook_hash, {}).get(variant)
    if entry is None:
        return None
    out: dict[tuple[str, int, str], str] = {}
    for sheet, first, count, cols in _sheets(L.get()):
        for key, (letter, shape) in entry.get(sheet, {}).items():
            if key not in cols or cols[key].letter != letter:
                continue  # a column this layout no longer has where it was: not compared
            for row in range(first, first + count):
                out[(sheet, row, key)] = _at_row(shape, row)
    return out


def read_formulas(path, lay, xml: bool = False, same: dict | None = None,
                  matched: set | None = None) -> dict[tuple[str, int, str], str]:
    """{(sheet, row, key): formula or value} of the calculated columns of a workbook's line sheets.

    path: a file, or a workbook_read.Book already read (its formula view; xml: plain formulas as the
    bytes of their XML text, workbook_read.formula_text gives the formula).
    same: {(sheet, row): the row's calculated cells, in column order, as they should read}; a row that
    reads exactly so is left out of the result and its (sheet, row) added to `matched`."""
    from openpyxl import load_workbook

    from .workbook_read import Book
    wb = path.formula_view(xml) if isinstance(path, Book) else load_workbook(path, read_only=True, data_only=False)
    out: dict[tuple[str, int, str], str] = {}
    try:
        for sheet, first, count, cols in ((L.SHEET_LINES, L.LINES_FIRST_ROW, L.LINES_COUNT, L.LINE_COLUMNS),
                                          (L.SHEET_COORD, L.COORD_FIRST_ROW, L.COORD_COUNT, lay.coord_columns)):
            if sheet not in wb.sheetnames:
                continue
            calc = [(c.key, L._index(c.letter)) for c in cols if c.kind in ("calc", "helper")]
            for r, row in enumerate(wb[sheet].iter_rows(min_row=first, max_row=first + count - 1,
                                                        max_col=len(cols), values_only=True), first):
                got = tuple(row[i] if i < len(row) else None for _, i in calc)
                if same is not None and got == same.get((sheet, r)):
                    matched.add((sheet, r))
                    continue
                for (key, _), value in zip(calc, got):
                    out[(sheet, r, key)] = value
    finally:
        wb.close()
    return out


def calculated_columns(lay) -> dict[str, list[str]]:
    """{sheet: keys of its calculated columns, in column order} (the order read_formulas compares rows in)."""
    return {L.SHEET_LINES: [c.key for c in L.LINE_COLUMNS if c.kind in ("calc", "helper")],
            L.SHEET_COORD: [c.key for c in lay.coord_columns if c.kind in ("calc", "helper")]}


def entry_from_template(path: Path, lay) -> tuple[str, str, dict]:
    """(rulebook hash, variant, {sheet: {key: [letter, row-relative formula]}}) of a built template."""
    from .template_reader import read_lines
    raw: dict = {}
    read_lines(path, raw=raw)
    variant = "addin" if "UDF" in str(raw.get((L.SHEET_COVER, "variant")) or "") else "native"
    formulas = read_formulas(path, lay)
    entry: dict[str, dict] = {}
    for sheet, first, _count, cols in _sheets(lay):
        for key, col in cols.items():
            f = formulas.get((sheet, first, key))
            if isinstance(f, str) and f.startswith("="):
                entry.setdefault(sheet, {})[key] = [col.letter, shape_key(f, first)]
    return str(raw.get((L.SHEET_COVER, "rulebook_hash")) or ""), variant, entry


def main(paths: list[str]) -> None:
    target = Path(__file__).parent / CATALOGUE
    cat = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
    for p in paths:
        h, variant, entry = entry_from_template(Path(p), L.get())
        cat.setdefault(h, {})[variant] = entry
        print(f"{p}: {h[:12]} {variant}, {sum(len(v) for v in entry.values())} columns")
    target.write_text(json.dumps(cat, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
