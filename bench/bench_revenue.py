"""Revenue KPIs for 36 months, for `all` and per segment, on 100k accounts (target <= 1 s).

    python bench/bench_revenue.py

Times ``compute(..., by="segment")`` on the MRR table (3.6M account-month rows) and on the
subscriptions of the same portfolio; the load is not part of this figure (see bench_load.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import demo_frames, timeit  # noqa: E402

from cs_desk.dataset import Dataset  # noqa: E402
from cs_desk.kpis import compute  # noqa: E402
from cs_desk.kpis.registry import REGISTRY  # noqa: E402


def main() -> None:
    frames = demo_frames(100_000)
    revenue_kpis = [k.id for k in REGISTRY.values() if k.family in ("revenue", "renewals")]
    months = sorted(frames["mrr"]["month"].unique())
    start, end = months[0] + __import__("pandas").offsets.MonthBegin(1), months[-1]
    for source in ("mrr", "subscriptions"):
        ds = Dataset(tables={"accounts": frames["accounts"], source: frames[source], "renewals": frames["renewals"]},
                     options={"today": end})
        result = compute(ds, start, end, by="segment", kpis=revenue_kpis)
        n_periods = len(result.periods)
        lo, med, hi = timeit(lambda: compute(ds, start, end, by="segment", kpis=revenue_kpis))
        print(f"revenue KPIs from {source:<13} {len(revenue_kpis)} KPIs x {n_periods} months x "
              f"{len(result.context.group_labels)} groups: median {med:.2f}s (min {lo:.2f}, max {hi:.2f})")


if __name__ == "__main__":
    main()
