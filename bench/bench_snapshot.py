"""Benchmark: the per-account snapshot.

Targets: one snapshot of 100,000 accounts <= 1 s; a backtest's 24 month-end snapshots of 10,000
accounts well under 5 s in total. Also timed: the health mix's snapshots, 35 month-end snapshots of
the 100,000 accounts with the columns the default health model reads, paying accounts only (the
whole health mix, scoring included, has a 3 s target).

    python bench/bench_snapshot.py [--accounts 100000] [--repeat 3]

Data (generated in memory, seeded): accounts with CRM fields; one subscription per account
(+ an add-on for a third); 2 million usage events (user, feature) over the last 90 days (the
backtest: over the 2 years); 2 tickets and 1 survey answer per account over the last year; renewals for a quarter.
The time is the best of ``--repeat`` runs (the machine is shared); the median is printed too.
Every run starts without the derived data the dataset caches (e.g. the tables' account codes),
so that each one costs what a first snapshot of the data costs.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import numpy as np
import pandas as pd

from cs_desk.accounts_snapshot import account_snapshot, account_snapshots
from cs_desk.dataset import Dataset
from cs_desk.health import default_model
from cs_desk.kpis.health_mix import snapshot_columns

AS_OF = pd.Timestamp("2025-01-01")


def make(n: int, usage_days: int = 90, events: int = 2_000_000, seed: int = 7) -> Dataset:
    rng = np.random.default_rng(seed)
    ids = np.array([f"ACC{i:06d}" for i in range(n)], dtype=object)
    since = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1800, n), "D")
    accounts = pd.DataFrame({
        "account_id": ids, "account_name": np.array([f"Customer {i}" for i in range(n)], dtype=object),
        "csm": np.array(["Ann", "Bob", "Cy", "Di"], dtype=object)[rng.integers(0, 4, n)],
        "segment": np.array(["SMB", "MM", "Ent"], dtype=object)[rng.integers(0, 3, n)],
        "customer_since": since, "renewal_date": since + pd.to_timedelta(365 * rng.integers(1, 4, n), "D"),
        "seats": rng.integers(1, 60, n).astype(float),
        "onboarded_on": np.where(rng.random(n) < 0.8, since + pd.to_timedelta(rng.integers(5, 120, n), "D"), pd.NaT),
        "referrals": rng.poisson(0.3, n).astype(float), "csm_sentiment": rng.integers(1, 6, n).astype(float),
        "csm_sentiment_date": AS_OF - pd.to_timedelta(rng.integers(1, 400, n), "D"),
    })
    addon = rng.random(n) < 0.33
    subs = pd.DataFrame({
        "account_id": np.concatenate([ids, ids[addon]]),
        "start_date": np.concatenate([since.to_numpy(), (since[addon] + pd.Timedelta(days=90)).to_numpy()]),
        "end_date": pd.NaT, "mrr": np.concatenate([rng.integers(50, 2000, n), rng.integers(10, 200, addon.sum())])
        .astype(float), "interval": 1.0})
    churn = rng.random(len(subs)) < 0.1
    subs.loc[churn, "end_date"] = AS_OF - pd.to_timedelta(rng.integers(1, 300, churn.sum()), "D")
    m = events
    usage = pd.DataFrame({
        "account_id": ids[rng.integers(0, n, m)],
        "user_id": np.array([f"u{i}" for i in range(30)], dtype=object)[rng.integers(0, 30, m)],
        "date": AS_OF - pd.to_timedelta(rng.integers(1, usage_days * 24 * 3600, m), "s"),
        "feature": np.array([f"feature_{i}" for i in range(12)], dtype=object)[rng.integers(0, 12, m)]})
    k = 2 * n
    created = AS_OF - pd.to_timedelta(rng.integers(1, 365 * 24, k), "h")
    tickets = pd.DataFrame({
        "account_id": ids[rng.integers(0, n, k)], "created_at": created,
        "resolved_at": np.where(rng.random(k) < 0.9, created + pd.to_timedelta(rng.integers(1, 200, k), "h"), pd.NaT),
        "priority": np.array(["low", "normal", "high", "urgent"], dtype=object)[rng.integers(0, 4, k)]})
    surveys = pd.DataFrame({
        "account_id": ids[rng.integers(0, n, n)], "date": AS_OF - pd.to_timedelta(rng.integers(1, 365, n), "D"),
        "survey": np.array(["nps", "csat", "ces"], dtype=object)[rng.integers(0, 3, n)]})
    surveys["score"] = np.where(surveys["survey"] == "nps", rng.integers(0, 11, n),
                                np.where(surveys["survey"] == "csat", rng.integers(1, 6, n), rng.integers(1, 8, n)))
    surveys["score"] = surveys["score"].astype(float)
    q = n // 4
    renewals = pd.DataFrame({"account_id": ids[:q],
                             "renewal_date": AS_OF - pd.to_timedelta(rng.integers(1, 365, q), "D"),
                             "outcome": "renewed"})
    return Dataset(tables={"accounts": accounts, "subscriptions": subs, "usage": usage, "tickets": tickets,
                           "surveys": surveys, "renewals": renewals}, options={"today": AS_OF})


def cold(ds: Dataset, fn):
    """``fn`` run on ``ds`` with its cache of derived data cleared first."""
    def run():
        ds.clear_cache()
        return fn()
    return run


def timed(fn, repeat: int) -> tuple[list[float], list[float], object]:
    """Wall-clock and CPU seconds of each run (the snapshot is single-threaded: on an idle
    machine wall = CPU; on a shared one the CPU time is the steadier figure)."""
    times, cpu, out = [], [], None
    for _ in range(repeat):
        c, t = time.process_time(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return times, cpu, out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--accounts", type=int, default=100_000)
    p.add_argument("--backtest-accounts", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ds = make(args.accounts)
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in ds.tables.items())
    times, cpu, snap = timed(cold(ds, lambda: account_snapshot(ds, AS_OF)), args.repeat)
    print(f"snapshot of {len(snap):,} accounts ({sizes}): best {min(times):.2f} s, median "
          f"{statistics.median(times):.2f} s, cpu {min(cpu):.2f} s (target <= 1 s)")
    ends = pd.date_range(AS_OF - pd.DateOffset(months=34), AS_OF, freq="MS")
    columns = snapshot_columns(default_model()[0])
    times, cpu, mix = timed(cold(ds, lambda: account_snapshots(ds, ends, columns=columns, active_only=True)),
                            args.repeat)
    print(f"health mix snapshots: 35 month ends x {args.accounts:,} accounts, {len(columns)} columns, paying rows "
          f"only ({len(mix):,} rows): best {min(times):.2f} s, median {statistics.median(times):.2f} s, "
          f"cpu {min(cpu):.2f} s")
    bt = make(args.backtest_accounts, usage_days=760)
    dates = pd.date_range(AS_OF - pd.DateOffset(months=23), AS_OF, freq="MS")
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in bt.tables.items())
    times, cpu, snaps = timed(cold(bt, lambda: account_snapshots(bt, dates)), args.repeat)
    print(f"24 month-end snapshots of {args.backtest_accounts:,} accounts ({len(snaps):,} rows; {sizes}): best "
          f"{min(times):.2f} s, median {statistics.median(times):.2f} s, cpu {min(cpu):.2f} s "
          "(target well under 5 s)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
