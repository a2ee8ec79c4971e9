"""Benchmark: the demo at 100k accounts — load + compute + KPI workbook, and the PDF.

Budgets (issue 7): load + compute + KPI workbook with the 100k-row Accounts sheet <= 10 s end to
end; the PDF <= 15 s. The demo portfolio (``demo.generate(100_000, usage=False)``) is written as
input files once and cached under ``bench/.cache``; the timed run reads them like any user file.

    python bench/bench_report.py [--accounts 100000] [--months 36] [--no-pdf] [--writers] [--keep]

The files written (≈ 60-100 MB a run) are removed at the end unless ``--keep`` is given.

``--writers`` also times the Accounts sheet alone three ways: xlsxwriter cell by cell (the
fallback), cs-desk's fast path (``cs_desk.report.xlsxfast``) and rustpy-xlsxwriter when it is
installed (it is not a dependency; see docs/reports.md).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import CACHE, demo_frames  # noqa: E402

LOAD_COMPUTE_WORKBOOK_BUDGET = 10.0
PDF_BUDGET = 15.0


def inputs(accounts: int, months: int) -> list[Path]:
    from cs_desk import demo

    folder = CACHE / f"report-{accounts}-{months}"
    book = folder / demo.DEMO_WORKBOOK
    if book.exists():
        return sorted(p for p in folder.iterdir() if p.suffix in (".xlsx", ".csv"))
    frames = demo_frames(accounts=accounts, months=months)
    t0 = time.perf_counter()
    written = demo.write_demo_inputs(frames, folder)
    print(f"(wrote the demo inputs in {time.perf_counter() - t0:.1f}s)")
    return written


def _line(label: str, seconds: float, extra: str = "") -> None:
    print(f"  {label:<34} {seconds:7.2f} s  {extra}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--no-pdf", action="store_true")
    ap.add_argument("--writers", action="store_true", help="also compare xlsx writers on the Accounts sheet")
    ap.add_argument("--keep", action="store_true", help="keep the files written (their folder is printed)")
    args = ap.parse_args()

    files = inputs(args.accounts, args.months)
    out = Path(tempfile.mkdtemp(prefix="cs-desk-bench-report-"))
    try:
        return run(args, files, out)
    finally:
        if args.keep:
            print(f"  (files kept in {out})")
        else:
            shutil.rmtree(out, ignore_errors=True)


def run(args, files: list[Path], out: Path) -> int:
    from cs_desk import io
    from cs_desk.report import build_bundle, write_pdf, write_workbook

    print(f"cs-desk report benchmark: demo at {args.accounts:,} accounts x {args.months} months "
          f"({', '.join(p.name for p in files)})")
    t0 = time.perf_counter()
    dataset = io.load(files)
    t_load = time.perf_counter() - t0
    _line("load (io.load)", t_load)
    t0 = time.perf_counter()
    bundle = build_bundle(dataset)
    t_bundle = time.perf_counter() - t0
    _line("compute (build_bundle)", t_bundle)
    for step, secs in bundle.timings.items():
        print(f"      {step:<30} {secs:7.2f} s")
    steps: dict[str, float] = {}
    last = [time.perf_counter()]

    def progress(fraction, text):
        now = time.perf_counter()
        key = "xlsxwriter layout" if fraction < 0.5 else "large sheets (fast path)"
        steps[key] = steps.get(key, 0.0) + now - last[0]
        last[0] = now

    t0 = time.perf_counter()
    write_workbook(bundle, out / "report.xlsx", progress=progress)
    t_xlsx = time.perf_counter() - t0
    rows = len(bundle.snapshot)
    cols = len(bundle.snapshot.columns)
    _line("KPI workbook (write_workbook)", t_xlsx, f"Accounts sheet {rows:,} rows; "
          f"{(out / 'report.xlsx').stat().st_size / 1e6:.1f} MB")
    for step, secs in steps.items():
        print(f"      {step:<30} {secs:7.2f} s")
    total = t_load + t_bundle + t_xlsx
    verdict = "ok" if total <= LOAD_COMPUTE_WORKBOOK_BUDGET else "OVER BUDGET"
    print(f"  load + compute + workbook          {total:7.2f} s  (budget {LOAD_COMPUTE_WORKBOOK_BUDGET:.0f} s: {verdict})")
    if not args.no_pdf:
        t0 = time.perf_counter()
        write_pdf(bundle, out / "report.pdf")
        t_pdf = time.perf_counter() - t0
        verdict = "ok" if t_pdf <= PDF_BUDGET else "OVER BUDGET"
        _line("portfolio PDF (write_pdf)", t_pdf, f"(budget {PDF_BUDGET:.0f} s: {verdict})")
    if args.writers:
        compare_writers(bundle, out)
    print(f"  ({cols} snapshot columns)")
    return 0


def compare_writers(bundle, out: Path) -> None:
    """The Accounts sheet alone: xlsxwriter cell by cell vs the fast path vs rustpy-xlsxwriter."""
    import pandas as pd

    from cs_desk.report.workbook import account_columns

    frame = bundle.snapshot[account_columns(bundle.snapshot)]
    print(f"  Accounts sheet alone ({len(frame):,} x {frame.shape[1]}):")
    import xlsxwriter

    from cs_desk.report import xlsxfast

    t0 = time.perf_counter()
    wb = xlsxwriter.Workbook(str(out / "xw.xlsx"), {"constant_memory": True, "strings_to_formulas": False})
    ws = wb.add_worksheet("Accounts")
    ws.write_row(0, 0, list(frame.columns))
    for i, row in enumerate(frame.astype(object).where(frame.notna(), None).itertuples(index=False), start=1):
        for j, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(i, j, v)
            elif isinstance(v, pd.Timestamp):
                ws.write_datetime(i, j, v.to_pydatetime())
            else:
                ws.write(i, j, v)
    wb.close()
    _line("    xlsxwriter, cell by cell", time.perf_counter() - t0)

    t0 = time.perf_counter()
    import io as _io

    from cs_desk.report.workbook import _write

    buf = _io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("Accounts")
    ws.write_row(0, 0, list(frame.columns))
    for j, v in enumerate(frame.iloc[0]):
        _write(ws, 1, j, v, None)
    wb.close()
    buf.seek(0)
    with open(out / "fast.xlsx", "wb") as fh:
        xlsxfast.splice(buf, fh, [xlsxfast.PendingRows("Accounts", frame.iloc[1:], 1)])
    _line("    cs-desk fast path (xlsxfast)", time.perf_counter() - t0)
    try:
        from rustpy_xlsxwriter import FastExcel
    except ImportError:
        print("    rustpy-xlsxwriter: not installed (pip install rustpy-xlsxwriter to compare)")
        return
    data = frame.reset_index(drop=True)
    t0 = time.perf_counter()
    try:
        FastExcel(str(out / "rustpy.xlsx")).sheet("Accounts", data).save()
    except ValueError as exc:  # seen with 0.8.0: a NaT in a date column becomes year 1
        print(f"    rustpy-xlsxwriter failed: {exc}; again with missing dates as empty cells:")
        for c in data.columns:
            if pd.api.types.is_datetime64_any_dtype(data[c]) and data[c].isna().any():
                data[c] = data[c].astype(object).where(data[c].notna(), None)
        t0 = time.perf_counter()
        FastExcel(str(out / "rustpy.xlsx")).sheet("Accounts", data).save()
    _line("    rustpy-xlsxwriter", time.perf_counter() - t0)


if __name__ == "__main__":
    sys.exit(main())
