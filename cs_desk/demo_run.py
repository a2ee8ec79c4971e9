"""``cs-desk demo``: generate the demo portfolio, load it back like any user file, compute, report.

The demo goes through the same path as real data (files written, then read and mapped by
``cs_desk.io``), so it doubles as an end-to-end check of the whole engine.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

from .problems import Severity


def _fmt_money(v: float) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{v:,.0f}"


def _fmt_pct(v: float, signed: bool = False) -> str:
    if v is None or math.isnan(v):
        return "n/a"
    return f"{v:+.1%}" if signed else f"{v:.1%}"


def run_demo(out: Path, accounts: int = 600, seed: int = 7, months: int = 36, report: bool = True,
             echo: Callable[[str], None] = print) -> int:
    from . import demo, io
    from .io.writers import write_table
    from .kpis import compute
    from .problems import problems_frame

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    frames = demo.generate(accounts=accounts, months=months, seed=seed)
    inputs = demo.write_demo_inputs(frames, out)
    dataset = io.load(inputs)
    bundle = None
    if report:  # the report's bundle already holds the KPIs, overall and by segment: no second pass
        from .report.bundle import build_bundle

        bundle = build_bundle(dataset)
        result, by_segment = bundle.kpis, bundle.kpis_by["segment"]
    else:
        result, by_segment = compute(dataset), compute(dataset, by="segment")
    kpi_csv = out / "kpis.csv"
    write_table(result.table, "csv", kpi_csv)
    write_table(by_segment.table, "csv", out / "kpis_by_segment.csv")
    write_table(result.table, "xlsx", out / "kpis.xlsx",
                extra_sheets={"Problems": problems_frame(result.problems)})
    written = [*inputs, kpi_csv, out / "kpis_by_segment.csv", out / "kpis.xlsx"]
    if bundle is not None:
        from .report import write_reports

        written += write_reports(dataset, out, formats=("xlsx", "pdf"), bundle=bundle)
    last = result.periods[-1]
    serious = [p for p in dataset.problems if p.severity is not Severity.INFO]
    echo(f"cs-desk demo: {accounts} accounts, {months} months (seed {seed}) in {time.perf_counter() - t0:.1f}s")
    echo(f"  folder: {out.resolve()}")
    for path in written:
        echo(f"    {Path(path).name}")
    echo(f"  last month {last}:")
    echo(f"    MRR {_fmt_money(result.value('mrr'))}   ARR {_fmt_money(result.value('arr'))}   "
         f"active accounts {result.value('active_accounts'):.0f}")
    echo(f"    NRR {_fmt_pct(result.value('nrr'))}   GRR {_fmt_pct(result.value('grr'))}   "
         f"logo churn {_fmt_pct(result.value('logo_churn_rate'))}   NPS {_fmt_nps(result.value('nps'))}")
    echo(f"  next: cs-desk compute {inputs[0]} {' '.join(str(p) for p in inputs[1:])} --by segment")
    if serious:
        echo(f"  note: {len(serious)} data problem(s) in the demo inputs (see kpis.xlsx, sheet Problems)")
    return 0


def _fmt_nps(v: float) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{v:+.0f}"
