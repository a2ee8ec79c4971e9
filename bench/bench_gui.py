"""GUI speed: the demo portfolio to a full dashboard, and one health-builder update on 10k accounts.

    python bench/bench_gui.py [--accounts 600] [--builder-accounts 10000] [--changes 30]

Targets (issue "Desktop app"): demo portfolio opens to a full dashboard in <= 3 s; a builder
update (re-score, band counts, accounts that change band, histogram redrawn) <= 100 ms per change
on 10k accounts. Runs headless (QT_QPA_PLATFORM=offscreen).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


def pump(app, until, timeout=120.0):
    t0 = time.perf_counter()
    while not until():
        app.processEvents()
        time.sleep(0.002)
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("timed out")


def bench_demo(app, accounts: int, months: int, folder: Path) -> dict:
    from gui import backend
    from gui.main_window import MainWindow
    from gui.settings import Settings

    settings = Settings(folder / "settings.ini")
    settings.set_demo_folder(folder / "demo")
    t0 = time.perf_counter()
    paths = backend.make_demo(folder / "demo" / f"{accounts}-accounts", accounts, months)
    t_generate = time.perf_counter() - t0
    window = MainWindow(settings, demo_accounts=accounts, demo_months=months)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    t0 = time.perf_counter()
    window.open_demo()  # the files exist: opened, not generated again
    pump(app, lambda: window.analysis is not None)
    d = window.dashboard
    canvases = (d.chart_movements, d.chart_retention, d.chart_churn, d.chart_health, d.chart_nps)
    pump(app, lambda: not any(getattr(c, "_draw_pending", False) for c in canvases))  # charts really drawn
    app.processEvents()
    t_open = time.perf_counter() - t0
    timings = dict(window.analysis.timings)
    print("  gui timings:", {k: round(v, 3) for k, v in window.timings.items()},
          "bundle:", getattr(window.analysis.bundle, "timings", None))
    load_s = window.runner.last_seconds.get("load")
    window.close()
    t_show = sum(v for k, v in window.timings.items() if k in ("loaded", "show"))
    return {"generate_s": t_generate, "open_to_dashboard_s": t_open, "load_s": load_s, "gui_s": t_show,
            "analyse_s": timings.get("analyse"), "files": [p.name for p in paths]}


def builder_snapshot(accounts: int, model):
    """A snapshot of the demo portfolio at ``accounts`` accounts, built by the engine."""
    from cs_desk import demo
    from cs_desk.accounts_snapshot import account_snapshot
    from cs_desk.dataset import Dataset
    from cs_desk.kpis import compute

    frames = demo.generate(accounts=accounts, months=24, seed=3, usage=0.25)
    ds = Dataset.from_frames(**frames)
    as_of = compute(ds, kpis=["mrr"]).context.periods[-1].end
    return account_snapshot(ds, as_of), "engine snapshot of the demo portfolio"


def bench_builder(app, accounts: int, changes: int) -> dict:
    from gui import backend
    from gui.views.health_builder import HealthBuilder

    model = backend.default_health_model()
    if model is None:
        return {"skipped": "no health model"}
    snapshot, source = builder_snapshot(accounts, model)
    builder = HealthBuilder()
    builder.resize(1400, 900)
    builder.show()
    t0 = time.perf_counter()
    builder.set_model(model, None)
    builder.set_snapshot(snapshot)
    builder.chart.draw()
    app.processEvents()
    t_first = time.perf_counter() - t0
    comps = list(model.components)
    per_change = []
    for i in range(changes):
        comp = comps[i % len(comps)]
        t0 = time.perf_counter()
        builder.rows[comp.id].spin.setValue(5.0 + (i * 7) % 60)  # one user change
        app.processEvents()  # the histogram's draw_idle runs here: the redraw is included
        per_change.append((time.perf_counter() - t0) * 1000)
    builder.backtest_timer.stop()
    return {"accounts": len(snapshot), "snapshot": source, "first_score_s": t_first,
            "update_ms_median": statistics.median(per_change), "update_ms_max": max(per_change),
            "update_ms_p90": sorted(per_change)[int(0.9 * (len(per_change) - 1))],
            "score_only_ms_median": statistics.median(builder.update_times[1:]) if len(builder.update_times) > 1
            else None}


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--accounts", type=int, default=600)
    p.add_argument("--months", type=int, default=36)
    p.add_argument("--builder-accounts", type=int, default=10_000)
    p.add_argument("--changes", type=int, default=30)
    args = p.parse_args(argv)
    from gui.app import create_app

    app = create_app([])
    with tempfile.TemporaryDirectory() as tmp:
        demo = bench_demo(app, args.accounts, args.months, Path(tmp))
    print(f"demo portfolio ({args.accounts} accounts, {args.months} months): generated once in "
          f"{demo['generate_s']:.2f} s; opened to a full dashboard in {demo['open_to_dashboard_s']:.2f} s "
          f"(engine: load {demo['load_s'] or float('nan'):.2f} s, analyse {demo['analyse_s'] or float('nan'):.2f} s; "
          f"GUI thread: {demo['gui_s']:.2f} s + chart drawing)"
          f"  [target <= 3 s]")
    b = bench_builder(app, args.builder_accounts, args.changes)
    if "skipped" in b:
        print("builder:", b["skipped"])
    else:
        print(f"health builder on {b['accounts']:,} accounts ({b['snapshot']}): first score {b['first_score_s']:.2f} s; "
              f"per change median {b['update_ms_median']:.0f} ms, p90 {b['update_ms_p90']:.0f} ms, "
              f"max {b['update_ms_max']:.0f} ms (re-score + counts + band changes: median "
              f"{b['score_only_ms_median']:.0f} ms)  [target <= 100 ms]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
