"""Benchmark: load the 100k-account demo's event tables as csv (965k tickets, 760k surveys).

Compares ``cs_desk.io.load`` with big csv files parsed by Arrow (``readers._csv_arrow``) against
the same load with that route switched off (pandas parses every cell into a Python string), and
shows a bare ``pandas.read_csv`` of the two files (reading only, no checks) for scale. The files
are written once from the demo portfolio and cached under ``bench/.cache`` (gitignored).

    python bench/bench_csv.py [--accounts 100000] [--repeat 3]
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


def files(accounts: int, months: int = 36) -> list[Path]:
    folder = CACHE / f"csv-{accounts}-{months}"
    paths = [folder / "tickets.csv", folder / "surveys.csv"]
    if all(p.exists() for p in paths):
        return paths
    frames = demo_frames(accounts=accounts, months=months)
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for p in paths:  # as cs_desk.demo writes a table that does not fit a sheet
        frames[p.stem].to_csv(p, index=False, date_format="%Y-%m-%d %H:%M:%S", float_format="%.10g")
    print(f"(wrote {', '.join(p.name for p in paths)} in {time.perf_counter() - t0:.1f}s)")
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from cs_desk.io import load, readers

    paths = files(args.accounts)
    ds = load(paths)
    print(f"{', '.join(f'{p.name} {p.stat().st_size / 1e6:.0f} MB' for p in paths)}; "
          f"{', '.join(f'{k} {len(v):,} rows' for k, v in ds.tables.items())}; {len(ds.problems)} problems")
    arrow = timeit(lambda: load(paths), repeat=args.repeat)
    original = readers._csv_arrow
    readers._csv_arrow = lambda *a: None
    try:
        plain = timeit(lambda: load(paths), repeat=args.repeat)
    finally:
        readers._csv_arrow = original
    bare = timeit(lambda: [pd.read_csv(p, dtype=object, keep_default_na=False) for p in paths], repeat=1)
    print(f"cs_desk.io.load, Arrow csv route   min {arrow[0]:6.2f}s  median {arrow[1]:6.2f}s  max {arrow[2]:6.2f}s")
    print(f"cs_desk.io.load, pandas csv route  min {plain[0]:6.2f}s  median {plain[1]:6.2f}s  max {plain[2]:6.2f}s")
    print(f"pandas.read_csv alone (no checks)      {bare[0]:6.2f}s")
    print(f"speed-up of the Arrow route (median): {plain[1] / arrow[1]:.1f}x")
    print(f"(load average now {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
