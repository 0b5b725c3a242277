"""Review benchmark (run by hand): python tests/benchmarks/bench_review.py [--bodies N] [--jobs 2] [--repeat K]

Generates one filled template per local government of Japan (1,788, from the reference list:
the filled sample with that body's name, code and type), then in the same process times, best of K:
  floors: opening and reading every value of every sheet of every file with
          openpyxl read-only, and with python-calamine (Rust), 1 process each;
  review: `tokkou review` on the folder (screening, engine, cached values, formulas, report),
          on 1 process (the like-for-like ratio against the floors) and, when --jobs > 1, on
          --jobs processes (what a user gets by default).
Prints wall times, peak memory (RSS of this process and children) and, last, the ratio of the
1-process review to the calamine floor.
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import threading
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


def floor_calamine(paths: list[Path]) -> int:
    from python_calamine import CalamineWorkbook
    cells = 0
    for p in paths:
        wb = CalamineWorkbook.from_path(str(p))
        for name in wb.sheet_names:
            for row in wb.get_sheet_by_name(name).to_python(skip_empty_area=False):
                cells += len(row)
        wb.close()
    return cells


CPU: dict[str, float] = {}


def best(repeat: int, fn, label: str = ""):
    """Best wall time of `repeat` runs (and, in CPU, this process's CPU seconds of that run)."""
    times, out = [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        if times[-1] == min(times):
            CPU[label] = time.process_time() - c
    return min(times), out


def run_review(paths: list[Path], jobs: int, out: Path):
    review.expected_formulas.cache_clear()
    reviews = review.review_all(paths, jobs=jobs, progress=False)
    tables = review.report_tables(reviews, review.rulebook_mod.get())
    review.write_xlsx(tables, review.identity(review.rulebook_mod.get()), out)
    return reviews, tables


def _tree_mb(kind: str) -> float:
    """Sum of `kind` (Rss or Pss, MB) over this process and its children, from /proc (Linux)."""
    pids, total = [os.getpid()], 0.0
    i = 0
    while i < len(pids):
        try:
            for task in os.listdir(f"/proc/{pids[i]}/task"):
                with open(f"/proc/{pids[i]}/task/{task}/children") as fh:
                    pids += [int(x) for x in fh.read().split()]
            with open(f"/proc/{pids[i]}/smaps_rollup") as fh:
                total += next(int(ln.split()[1]) for ln in fh if ln.startswith(kind + ":")) / 1024
        except (OSError, StopIteration, ValueError):
            pass
        i += 1
    return total


class TreeMemory:
    """Peak summed RSS and PSS of this process and its workers, sampled every 0.1 s while running
    (PSS counts a page shared after fork once, RSS in every process that maps it)."""

    def __enter__(self):
        self.rss = self.pss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.rss, self.pss = max(self.rss, _tree_mb("Rss")), max(self.pss, _tree_mb("Pss"))
            self._stop.wait(0.1)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bodies", type=int, default=1788)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tokkou-bench-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        paths = generate(folder, args.bodies)
        print(f"generated {len(paths):,} workbooks in {time.perf_counter() - t:.1f} s; best of {args.repeat}")
        t_floor, cells = best(args.repeat, lambda: floor(paths), "openpyxl")
        print(f"floor openpyxl (read-only, every cell of every sheet, 1 process): {t_floor:.1f} s, {cells:,} cells")
        t_cal, cells = best(args.repeat, lambda: floor_calamine(paths), "calamine")
        print(f"floor python-calamine (every value of every sheet, 1 process):    {t_cal:.1f} s, {cells:,} cells")
        t_one, (reviews, tables) = best(args.repeat, lambda: run_review(paths, 1, folder / "review1.xlsx"), "review")
        own, _ = peak_mb()
        f = tables["findings"]
        print(f"files {len(reviews):,}, lines {len(tables['lines']):,}, findings {len(f):,} "
              f"(files with findings: {f['file'].nunique() if len(f) else 0})")
        print(f"review (1 process, with report): {t_one:.1f} s; peak RSS {own:.0f} MB")
        if args.jobs > 1:
            with TreeMemory() as tree:
                t_many, _ = best(args.repeat, lambda: run_review(paths, args.jobs, folder / "review.xlsx"))
            own, kids = peak_mb()
            print(f"review ({args.jobs} processes, with report): {t_many:.1f} s → {t_many / t_floor:.2f}x the "
                  f"1-process openpyxl floor (not like for like)")
            print(f"peak RSS: this process {own:.0f} MB, largest worker {kids:.0f} MB; with {args.jobs} workers at "
                  f"once at most {own + args.jobs * kids:.0f} MB in all")
            print(f"measured while the {args.jobs} workers ran (sampled every 0.1 s): summed RSS {tree.rss:.0f} MB, "
                  f"summed PSS {tree.pss:.0f} MB (goal < 1 GB in all processes)")
        print(f"CPU seconds of those runs (steadier on a shared machine): openpyxl {CPU['openpyxl']:.1f}, "
              f"calamine {CPU['calamine']:.1f}, review {CPU['review']:.1f} → {CPU['review'] / CPU['openpyxl']:.2f}x, "
              f"{CPU['review'] / CPU['calamine']:.2f}x")
        print(f"ratio review (1 process) / openpyxl floor: {t_one / t_floor:.2f}x (goal ≤ 1x)")
        print(f"ratio review (1 process) / calamine floor: {t_one / t_cal:.2f}x (goal ≤ 3x)")


if __name__ == "__main__":
    main()
