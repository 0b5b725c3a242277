"""Review benchmark (run by hand): python tests/benchmarks/bench_review.py [--bodies N] [--jobs 2]

Generates one filled template per local government of Japan (1,788, from the reference list:
the filled sample with that body's name, code and type), then in the same process times
  floor:  opening and reading every file with openpyxl read-only (every cell of every sheet);
  review: `tokkou review` on the folder (screening, engine, cached values, formulas, report).
Prints wall times, the ratio review / floor, and peak memory (RSS of this process and children).
"""
from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import workbooks as W  # noqa: E402

from tokkou import layout as L, review  # noqa: E402


def bodies() -> list[dict]:
    with files("tokkou").joinpath("data/local_government_codes.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def generate(folder: Path, n: int) -> list[Path]:
    out = []
    for b in bodies()[:n]:
        name = (b["prefecture"] + b["city"]) if b["city"] else b["prefecture"]
        dst = folder / f"{b['code']}_{name}.xlsx"
        edits = {"xl/sharedStrings.xml": lambda x, name=name, code=b["code"]:
                 x.replace(">茅野市<".encode(), f">{name}<".encode()).replace(b">202142<", f">{code}<".encode())}
        ref = L.BODY_CELLS["body_type"]
        edits.update(W.edit_cell(L.SHEET_BODY, ref, lambda el, t=b["body_type"], ref=ref:
                                 f'<c r="{ref}" t="inlineStr"><is><t>{t}</t></is></c>'.encode()))
        out.append(W.rewrite(W.SAMPLE, dst, edits))
    return out


def floor(paths: list[Path]) -> int:
    from openpyxl import load_workbook
    cells = 0
    for p in paths:
        wb = load_workbook(p, read_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                cells += len(row)
        wb.close()
    return cells


def peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bodies", type=int, default=1788)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tokkou-bench-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        paths = generate(folder, args.bodies)
        print(f"generated {len(paths):,} workbooks in {time.perf_counter() - t:.1f} s")
        review.expected_formulas.cache_clear()
        t = time.perf_counter()
        cells = floor(paths)
        t_floor = time.perf_counter() - t
        print(f"floor (openpyxl read-only, every cell of every sheet, 1 process): {t_floor:.1f} s, {cells:,} cells")
        t = time.perf_counter()
        reviews = review.review_all(paths, jobs=args.jobs, progress=True)
        tables = review.report_tables(reviews, review.rulebook_mod.get())
        review.write_xlsx(tables, review.identity(review.rulebook_mod.get()), folder / "review.xlsx")
        t_review = time.perf_counter() - t
        own, kids = peak_mb()
        f = tables["findings"]
        print(f"review ({args.jobs} processes, with report): {t_review:.1f} s → {t_review / t_floor:.2f}x the floor "
              f"(target ≤ 2x)")
        print(f"files {len(reviews):,}, lines {len(tables['lines']):,}, findings {len(f):,} "
              f"(files with findings: {f['file'].nunique() if len(f) else 0})")
        print(f"peak RSS: this process {own:.0f} MB, largest worker {kids:.0f} MB; with {args.jobs} workers at once "
              f"at most {own + args.jobs * kids:.0f} MB in all (target < 1 GB)")
        if args.jobs > 1:
            print(f"note: the floor runs on 1 process, the review on {args.jobs}; run --jobs 1 for the like-for-like ratio")


if __name__ == "__main__":
    main()
