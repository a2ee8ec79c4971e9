"""Benchmark: load a 100k-account workbook (accounts sheet + wide MRR sheet, 36 months).

Compares ``cs_desk.io.load`` (python-calamine, header detection, melt, cleaning, cross-table
checks) with a plain ``pandas.read_excel(engine="openpyxl")`` of the same two sheets, which
only reads cells. The workbook is generated once from the demo portfolio and cached under
``bench/.cache`` (gitignored).

    python bench/bench_load.py [--accounts 100000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import CACHE, demo_frames, timeit  # noqa: E402


def workbook(accounts: int, months: int = 36) -> Path:
    folder = CACHE / f"load-{accounts}-{months}"
    path = folder / "cs-desk-demo.xlsx"
    if path.exists():
        return path
    from cs_desk import demo

    frames = demo_frames(accounts=accounts, months=months)
    t0 = time.perf_counter()
    written = demo.write_demo_inputs({"accounts": frames["accounts"], "mrr": frames["mrr"]}, folder)
    print(f"(wrote {written[0].name} in {time.perf_counter() - t0:.1f}s)")
    return written[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from cs_desk.io import load

    path = workbook(args.accounts)
    ds = load(path)
    mrr, acc = ds.tables["mrr"], ds.tables["accounts"]
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB; accounts {len(acc):,} rows, "
          f"mrr {len(mrr):,} rows (melted from a {len(acc):,} x 36 sheet), "
          f"{len(ds.problems)} problems")

    def cpu(fn) -> float:
        t0 = time.process_time()
        fn()
        return time.process_time() - t0

    ours = timeit(lambda: load(path), repeat=args.repeat)
    ours_cpu = cpu(lambda: load(path))
    base = timeit(lambda: pd.read_excel(path, sheet_name=["accounts", "mrr"], engine="openpyxl"), repeat=1)
    base_cpu = cpu(lambda: pd.read_excel(path, sheet_name=["accounts", "mrr"], engine="openpyxl"))
    print(f"cs_desk.io.load               wall min {ours[0]:6.2f}s  median {ours[1]:6.2f}s  max {ours[2]:6.2f}s"
          f"   cpu {ours_cpu:6.2f}s")
    print(f"pandas.read_excel (openpyxl)  wall     {base[0]:6.2f}s{'':34}cpu {base_cpu:6.2f}s")
    print(f"speed-up, wall (baseline / our min): {base[0] / ours[0]:.1f}x;  cpu: {base_cpu / ours_cpu:.1f}x")
    print(f"(load average now {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores: "
          "other work on the machine inflates wall times)")


if __name__ == "__main__":
    main()
