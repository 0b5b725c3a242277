"""Whole-process calc benchmark (run by hand): python tests/benchmarks/bench_calc.py [--lines N] [--repeat K]

Writes N generated expense lines (300,000 by default; real local governments, every category, the
exclusion and routing rules, ④ persons with both employment forms, messy office-style values) to a
CSV, then times in separate processes, best of K:
- the floor: `pandas.read_csv(dtype=str)` + `to_csv` of the same file, nothing else;
- `tokkou calc IN.csv -o OUT.csv --quiet`.
Prints both times, the calc process's peak RSS and, last, the ratio calc / floor.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from gen_lines import write_csv  # noqa: E402

# context, not the goal: pandas writing calc's output table (read back untimed), timed inside the child
OUTPUT_WRITE = ("import sys, time, pandas as pd; "
                "df = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False, encoding='utf-8-sig'); "
                "t = time.perf_counter(); df.to_csv(sys.argv[2], index=False); print(time.perf_counter() - t)")
FLOOR = ("import sys, pandas as pd; "
         "pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False).to_csv(sys.argv[2], index=False)")


CPU: dict[str, list[float]] = {"floor": [], "calc": []}


def timed(cmd: list[str], label: str = "calc") -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one child process; the child must succeed (CPU seconds go to CPU)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[label].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    # RUSAGE_CHILDREN holds the largest child so far: only meaningful when it grew
    return dt, max(before.ru_maxrss, after.ru_maxrss) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "lines.csv"
        write_csv(src, a.lines)
        print(f"input: {a.lines:,} lines, {src.stat().st_size / 1e6:.1f} MB")
        floor = min(timed([sys.executable, "-c", FLOOR, str(src), str(Path(d) / "floor.csv")], "floor")[0]
                    for _ in range(a.repeat))
        runs = [timed([sys.executable, "-m", "tokkou.cli", "calc", str(src), "-o", str(Path(d) / "out.csv"),
                       "--quiet"]) for _ in range(a.repeat)]
        calc = min(t for t, _ in runs)
        rss = max(m for _, m in runs)
        print(f"floor (pandas read_csv dtype=str + to_csv, whole process): {floor:.2f} s")
        print(f"tokkou calc (whole process): {calc:.2f} s, peak RSS {rss:.0f} MB")
        print(f"CPU seconds, best of {a.repeat} (steadier on a shared machine): floor {min(CPU['floor']):.2f}, "
              f"calc {min(CPU['calc']):.2f} → {min(CPU['calc']) / min(CPU['floor']):.2f}x")
        out, copy = Path(d) / "out.csv", Path(d) / "out_copy.csv"
        write = min(float(subprocess.run([sys.executable, "-c", OUTPUT_WRITE, str(out), str(copy)], check=True,
                                         capture_output=True, text=True).stdout) for _ in range(a.repeat))
        print(f"context: calc's output is {out.stat().st_size / src.stat().st_size:.1f}x the input's bytes "
              f"({out.stat().st_size / 1e6:.1f} MB); pandas to_csv of that output table alone takes {write:.2f} s")
        print(f"ratio calc / floor: {calc / floor:.2f}x")


if __name__ == "__main__":
    main()
