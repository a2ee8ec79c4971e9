"""Benchmark: every adoption KPI for 36 months on 10 million usage events.

Targets (issue 5): <= 3 s from csv, <= 1.5 s from parquet, <= 1 GB peak memory (2-core machine).

    python bench/bench_adoption.py              # generate once (bench/.cache), then time every path
    python bench/bench_adoption.py --rows 2e6   # smaller
    python bench/bench_adoption.py --shape uniform   # worst case: almost every event a new user-day

Each path runs in its own process so its peak RSS (``resource.getrusage``) is its own; the time
is the best of ``--repeat`` runs (the machine is shared, so the best run is the honest cost;
the median is printed too) and includes reading the file, the aggregation and ``compute``.

Data shape ("sessions", the default): 2,000 accounts (skewed sizes), 25 users per account at
most, 720k user-days of 4-24 events each over 2022-01..2024-12, 25 features (each session
touches one or two, skewed), event timestamps with time of day. ``uniform``: 5,000 accounts,
up to 40 users each, events uniformly random: ~90 % of events are a new user-day.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
ADOPTION_KPIS = ["active_users", "accounts_with_usage", "feature_adoption", "depth", "breadth", "stickiness",
                 "inactive_accounts", "inactive_account_rate", "activity_churn_rate", "activity_frequency"]


def generate(rows: int, shape: str) -> tuple[Path, Path, Path]:
    import duckdb

    CACHE.mkdir(exist_ok=True)
    stem = CACHE / f"usage_{shape}_{rows}"
    csv, parquet, accounts = stem.with_suffix(".csv"), stem.with_suffix(".parquet"), Path(f"{stem}_accounts.csv")
    if csv.exists() and parquet.exists() and accounts.exists():
        return csv, parquet, accounts
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute("SELECT setseed(0.42)")
    if shape == "sessions":
        n_accounts = 2000
        sessions = int(rows / 14)
        con.execute(f"""
            CREATE TABLE s AS
            WITH r AS (SELECT random() r1, random() r2, random() r3, random() r4, random() r5, random() r6
                       FROM range({sessions}))
            SELECT CAST(floor({n_accounts} * pow(r1, 1.6)) AS INT) AS acc, CAST(floor(25 * pow(r2, 1.5)) AS INT) AS usr,
                   CAST(floor(1096 * sqrt(r3)) AS INT) AS day, CAST(4 + floor(21 * r4) AS INT) AS n,
                   CAST(floor(24 * pow(r5, 2.5)) AS INT) AS fa, CAST(floor(24 * pow(r6, 1.5)) AS INT) AS fb
            FROM r""")
        con.execute(f"""
            COPY (SELECT 'ACC' || lpad(CAST(acc AS VARCHAR), 5, '0') AS account_id,
                         'U' || CAST(acc * 100 + usr AS VARCHAR) AS user_id,
                         TIMESTAMP '2022-01-01' + to_seconds(CAST(day AS BIGINT) * 86400 + 28800
                                                             + CAST(floor(36000 * random()) AS BIGINT)) AS date,
                         'feature_' || lpad(CAST(CASE WHEN random() < 0.75 THEN fa ELSE fb END AS VARCHAR), 2, '0')
                             AS feature
                  FROM s, range(n) LIMIT {rows}) TO '{csv}' (HEADER)""")
    else:
        n_accounts = 5000
        con.execute(f"""
            COPY (WITH r AS (SELECT random() r1, random() r2, random() r3, random() r4 FROM range({rows}))
                  SELECT 'ACC' || lpad(CAST(CAST(floor({n_accounts} * pow(r1, 2)) AS INT) AS VARCHAR), 5, '0')
                             AS account_id,
                         'U' || CAST(CAST(floor({n_accounts} * pow(r1, 2)) AS INT) * 100
                                     + CAST(floor(40 * r2 * r2) AS INT) AS VARCHAR) AS user_id,
                         TIMESTAMP '2022-01-01' + to_seconds(CAST(floor(94608000 * sqrt(r3)) AS BIGINT)) AS date,
                         'feature_' || lpad(CAST(CAST(floor(20 * r4 * r4) AS INT) AS VARCHAR), 2, '0') AS feature
                  FROM r) TO '{csv}' (HEADER)""")
    con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{parquet}' (FORMAT parquet)")
    con.execute(f"""
        COPY (SELECT 'ACC' || lpad(CAST(i AS VARCHAR), 5, '0') AS account_id, 5 + (i * 7) % 40 AS seats,
                     DATE '2021-06-01' + CAST((i * 13) % 900 AS INT) AS start_date,
                     CASE WHEN i % 9 = 0 THEN DATE '2023-06-01' + CAST((i * 5) % 400 AS INT) END AS end_date,
                     100.0 + (i * 37) % 900 AS mrr
              FROM range({n_accounts}) t(i)) TO '{accounts}' (HEADER)""")
    con.close()
    print(f"generated {rows:,} rows ({shape}) in {time.perf_counter() - t:.1f} s: "
          f"{csv.stat().st_size / 1e6:.0f} MB csv, "
          f"{parquet.stat().st_size / 1e6:.0f} MB parquet")
    return csv, parquet, accounts


def _dataset(accounts_csv: Path, options: dict):
    import pandas as pd

    from cs_desk.dataset import Dataset

    a = pd.read_csv(accounts_csv, parse_dates=["start_date", "end_date"], dtype={"account_id": str})
    accounts = pd.DataFrame({"account_id": a["account_id"].astype(object), "seats": a["seats"].astype(float)})
    subs = pd.DataFrame({"account_id": a["account_id"].astype(object), "start_date": a["start_date"],
                         "end_date": a["end_date"], "mrr": a["mrr"].astype(float), "interval": 1.0})
    return Dataset(tables={"accounts": accounts, "subscriptions": subs},
                   options={"today": pd.Timestamp("2025-01-01"), **options})


def child(path: str, mode: str, accounts_csv: str, repeat: int) -> dict:
    """One path in this process: returns times and peak RSS."""
    import pandas as pd

    from cs_desk import usage_engine
    from cs_desk.kpis import compute

    times, cpu = [], []
    load = None
    for _ in range(repeat):
        usage_engine._CACHE.clear()
        c0 = time.process_time()
        t0 = time.perf_counter()
        if mode == "pandas-memory":
            if load is None:  # the usage table is already in memory (loaded once, not timed)
                tl = time.perf_counter()
                frame = pd.read_csv(path, dtype={"account_id": str, "user_id": str, "feature": str},
                                    parse_dates=["date"])
                load = time.perf_counter() - tl
                ds = _dataset(Path(accounts_csv), {})
                ds.tables["usage"] = frame
            t0 = time.perf_counter()
            c0 = time.process_time()
        else:
            ds = _dataset(Path(accounts_csv), {"usage_path": path, "usage_engine": mode})
        result = compute(ds, start="2022-01", end="2024-12", kpis=ADOPTION_KPIS)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    rows = len(result.table)
    return {"times": times, "cpu": cpu, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "load_s": load, "result_rows": rows,
            "active_users_2024_12": result.value("active_users", "2024-12")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=float, default=10e6)
    p.add_argument("--shape", choices=("sessions", "uniform"), default="sessions")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--paths", default="csv,parquet,pandas-memory")
    p.add_argument("--child", nargs=3, metavar=("PATH", "MODE", "ACCOUNTS"))
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.repeat)))
        return 0
    csv, parquet, accounts = generate(int(args.rows), args.shape)
    runs = {"csv": (csv, "duckdb"), "parquet": (parquet, "duckdb"), "pandas-memory": (csv, "pandas-memory"),
            "csv-pandas": (csv, "pandas")}
    print(f"{int(args.rows):,} usage rows, 36 months, KPIs: {', '.join(ADOPTION_KPIS)}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name in args.paths.split(","):
        path, mode = runs[name]
        out = subprocess.run([sys.executable, __file__, "--repeat", str(args.repeat), "--child", str(path), mode,
                              str(accounts)], capture_output=True, text=True)
        if out.returncode:
            print(name, "failed:", out.stderr[-2000:])
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        extra = f", pandas read_csv before it {r['load_s']:.1f} s (not timed)" if r["load_s"] else ""
        print(f"{name:14s} best {min(r['times']):5.2f} s  median {statistics.median(r['times']):5.2f} s  "
              f"cpu {min(r['cpu']):5.2f} s  peak RSS {r['maxrss_mb']:6.0f} MB  "
              f"(active users 2024-12: {r['active_users_2024_12']:.0f}){extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
