"""Excel functions through xlwings' Office.js call path (run by hand: python tests/benchmarks/bench_udfs.py).

- 10,000 CHECK_LINE calls, each a full custom_functions_call (what Excel sends per cell), against
  the same 10,000 lines through engine.evaluate_line directly: the per-call overhead as a ratio;
- one EVALUATE_TABLE over 10,000 rows (target: under 0.5 s), against engine.evaluate_frame on
  the same table.
"""
from __future__ import annotations

import asyncio
import os
import random
import sys
import time

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"  # benchmark/test use only

import pandas as pd  # noqa: E402
import xlwings as xw  # noqa: E402
from xlwings import server  # noqa: E402

from tokkou import engine, rulebook, udfs  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
FIELDS = ["category", "cost", "specific_revenue", "fiscal_year", "body_type", "main_purpose",
          "employment", "person_id"]


def lines(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        cat = rnd.choice([1, "②", 3, "④", 5])
        out.append({
            "category": cat,
            "cost": rnd.choice([rnd.randrange(0, 9_000_000), f"{rnd.randrange(0, 9_000_000):,}円"]),
            "specific_revenue": rnd.choice([None, rnd.randrange(0, 500_000)]),
            "fiscal_year": rnd.choice([2025, "令和7", "R7"]),
            "body_type": "市町村",
            "main_purpose": rnd.choice([None, "二地域居住・関係人口", "移住・定住"]),
            "employment": rnd.choice(["専任", "兼務"]) if cat == "④" else None,
            "person_id": f"K{i % 700}" if cat == "④" else None,
        })
    return out


def payload(func_name: str, args: list) -> dict:
    return {"func_name": func_name, "args": args, "caller_address": "Sheet1!A1", "version": xw.__version__,
            "client": "Office.js", "runtime": "1.4", "culture_info_name": "ja-JP", "date_format": "yyyy/m/d"}


def check_line_args(rec: dict) -> list:
    order = udfs.LINE_ARGS
    return [None if rec.get(k) is None else [[rec[k]]] for k in order]


async def many_calls(payloads):
    return [await server.custom_functions_call(p, udfs) for p in payloads]


def main() -> None:
    rb = rulebook.get()
    data = lines(N)
    engine.evaluate_line(rb, **{k: v for k, v in data[0].items() if v is not None})  # warm-up

    # scalar: engine directly vs the whole Office.js call (arg conversion, face, result conversion)
    singles = [dict({k: v for k, v in rec.items() if v is not None}, person_id=f"P{i}") for i, rec in enumerate(data)]
    t = time.perf_counter()
    for rec in singles:
        engine.evaluate_line(rb, **rec)
    t_engine = time.perf_counter() - t

    payloads = [payload("CHECK_LINE", check_line_args(rec)) for rec in singles]
    t = time.perf_counter()
    results = asyncio.run(many_calls(payloads))
    t_udf = time.perf_counter() - t
    assert len(results) == N

    # table: evaluate_frame directly vs EVALUATE_TABLE through the call path
    grid = [FIELDS] + [["" if rec.get(k) is None else rec[k] for k in FIELDS] for rec in data]
    df = pd.DataFrame(grid[1:], columns=FIELDS, dtype=object).replace("", None)
    t = time.perf_counter()
    engine.evaluate_frame(df, rb, {"fiscal_year": 2025})
    t_frame = time.perf_counter() - t
    t = time.perf_counter()
    table = asyncio.run(server.custom_functions_call(payload("EVALUATE_TABLE", [grid, None, None]), udfs))
    t_table = time.perf_counter() - t
    assert len(table) == N + 1

    print(f"lines: {N:,}  (xlwings {xw.__version__}, Python {sys.version.split()[0]})")
    print(f"CHECK_LINE via custom_functions_call: {t_udf:7.3f} s  = {t_udf / N * 1e6:7.1f} µs/call")
    print(f"engine.evaluate_line directly:        {t_engine:7.3f} s  = {t_engine / N * 1e6:7.1f} µs/line")
    print(f"  → per-call overhead ratio (UDF / engine): {t_udf / t_engine:5.2f}×"
          f"  (overhead {(t_udf - t_engine) / N * 1e6:.1f} µs/call)")
    print(f"EVALUATE_TABLE via custom_functions_call: {t_table:7.3f} s per {N:,} rows "
          f"({'OK' if t_table < 0.5 * N / 10_000 else 'SLOW'}: target 0.5 s per 10,000)")
    print(f"engine.evaluate_frame directly:           {t_frame:7.3f} s"
          f"  → ratio {t_table / t_frame:5.2f}×")


if __name__ == "__main__":
    main()
