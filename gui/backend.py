"""The GUI's only door into the engine: plain functions the worker thread runs.

Nothing here imports Qt, and nothing here computes a KPI, a score or a movement: each function
calls ``cs_desk``'s public API and packs the results for the views.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

Progress = Callable[[float, str], None] | None
CancelCheck = Callable[[], bool] | None

def _say(progress: Progress, fraction: float, text: str) -> None:
    if progress is not None:
        progress(max(0.0, min(1.0, fraction)), text)


def _sub(progress: Progress, lo: float, hi: float) -> Progress:
    """A progress callback mapping 0..1 onto lo..hi of the outer one."""
    if progress is None:
        return None
    return lambda f, text="": progress(lo + (hi - lo) * max(0.0, min(1.0, float(f))), text)


class LoadFailed(Exception):
    """Nothing usable was read; ``problems`` say why, each naming file/sheet/row."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


# ------------------------------------------------------------------------------------ loading
def load_dataset(paths: list[str], mapping=None, explicit: dict | None = None, options: dict | None = None,
                 progress: Progress = None, cancelled: CancelCheck = None):
    """``cs_desk.io.load`` with a readable failure when nothing at all could be used."""
    from cs_desk import io

    _say(progress, 0.0, "Reading " + ", ".join(Path(p).name for p in paths))
    dataset = io.load([str(p) for p in paths], explicit=explicit or None, mapping=mapping, options=options or None,
                      progress=_sub(progress, 0.0, 1.0))
    if not dataset.tables or not any(len(t) for t in dataset.tables.values()):
        errors = [p for p in dataset.problems if str(getattr(p.severity, "value", p.severity)) == "error"]
        shown = errors or list(dataset.problems)
        raise LoadFailed(describe_problems(shown) or "None of the files held a table cs-desk recognises.", shown)
    return dataset


def inspect_files(paths: list[str], mapping=None, progress: Progress = None, cancelled: CancelCheck = None):
    """Every sheet of ``paths`` with the engine's recognition, for the mapping dialog:
    ``[(RawSheet, Recognition, problems of that file), ...]`` (``cs_desk.io.read`` + ``recognise``;
    ``cs_desk.io.inspect`` keeps only a 5-row sample, the dialog previews 20 rows)."""
    from cs_desk import io

    out = []
    for k, path in enumerate(paths):
        _say(progress, k / max(len(paths), 1), f"Reading {Path(path).name}")
        sheets, problems = io.read(str(path))
        if not sheets and problems:
            out.append((None, None, problems))
        for i, raw in enumerate(sheets):
            out.append((raw, io.recognise(raw, mapping or None), problems if i == 0 else []))
        if cancelled is not None and cancelled():
            break
    _say(progress, 1.0, "")
    return out


def describe_problems(problems, limit: int = 6) -> str:
    """A few problems as lines a person reads: ``file, sheet 'x', row 5: message``."""
    lines = [str(p) for p in list(problems)[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more (see the Problems view)")
    return "\n".join(lines)


def preview_sheet(raw_sheet, recognition, rows: int = 20, options: dict | None = None) -> tuple[pd.DataFrame, list]:
    """The first rows of a sheet as cs-desk will read them with ``recognition`` (table, mapping,
    layout): ``cs_desk.io.clean_sheet``, exactly what ``load`` does, on the first rows only."""
    import dataclasses

    from cs_desk import io

    head = dataclasses.replace(raw_sheet, frame=raw_sheet.frame.head(rows),
                               row_numbers=np.asarray(raw_sheet.row_numbers)[:rows])
    _frame, cleaned, problems = io.clean_sheet(head, recognition, options)
    return cleaned, list(problems)


# ---------------------------------------------------------------------------------- analysing
@dataclass
class Analysis:
    """Everything the windows show for one dataset + health model, computed once."""

    dataset: Any
    kpis: Any  # cs_desk.kpis.KpiResult (month periods, group "all")
    movements: pd.DataFrame
    as_of: pd.Timestamp | None = None
    snapshot: pd.DataFrame | None = None  # account_snapshot + health columns
    raw_snapshot: pd.DataFrame | None = None  # account_snapshot as the engine returned it
    health_model: Any = None
    health: pd.DataFrame | None = None  # health.score output, indexed like the snapshot
    actions: pd.DataFrame | None = None
    health_mix: pd.DataFrame | None = None  # period x band (share)
    bundle: Any = None
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def problems(self) -> list:
        if self.bundle is not None and getattr(self.bundle, "problems", None) is not None:
            return list(self.bundle.problems)
        return list(getattr(self.kpis, "problems", []) or self.dataset.problems)


def analyse(dataset, health_model=None, playbooks=None, progress: Progress = None,
            cancelled: CancelCheck = None) -> Analysis:
    """Everything the windows show, from one ``cs_desk.report.build_bundle`` (the same numbers
    the report, the add-in and the CLI give)."""
    import time

    from cs_desk.report.bundle import build_bundle

    t0 = time.perf_counter()
    # by=(): the dashboard computes a grouping when the user picks one. No screen shows the
    # cohorts or the books of business: the full bundle the export builds has them.
    bundle = build_bundle(dataset, health_model=health_model, playbooks=playbooks, by=(), cohorts=False,
                          books=False, progress=_sub(progress, 0.0, 0.95), cancelled=cancelled)
    timings = {"bundle": time.perf_counter() - t0}
    if cancelled is not None and cancelled():
        raise _cancelled()
    snapshot = bundle.snapshot if len(bundle.snapshot) else None
    health = bundle.health if len(bundle.health) else None
    mix = bundle.health_mix if len(bundle.health_mix) else None
    _say(progress, 0.97, "MRR movements")
    mv = full_movements(bundle.kpis)
    _say(progress, 1.0, "Done")
    timings["analyse"] = time.perf_counter() - t0
    return Analysis(dataset, bundle.kpis, mv, _as_of(bundle.kpis), snapshot, snapshot, bundle.health_model, health,
                    bundle.actions, mix, bundle, list(bundle.notes), timings)


def _cancelled() -> Exception:
    from .worker import Cancelled

    return Cancelled()


def full_movements(kpis) -> pd.DataFrame:
    """Every account's start/end MRR per period, ``flat`` rows included (drill-down of NRR/GRR
    needs the whole start cohort; the report bundle keeps only accounts that moved)."""
    from cs_desk.kpis.revenue import movements

    ctx = getattr(kpis, "context", None)
    if ctx is None or getattr(ctx, "grid", None) is None or not ctx.periods:
        return pd.DataFrame(columns=["period", "account_id", "group", "start_mrr", "end_mrr", "delta", "movement",
                                     "extension"])
    return movements(ctx)


def mrr_history(kpis, account_id: str) -> pd.Series | None:
    """One account's MRR at the end of every period, from the engine's MRR snapshot grid."""
    ctx = getattr(kpis, "context", None)
    grid = getattr(ctx, "grid", None)
    if grid is None or not ctx.periods:
        return None
    try:
        row = grid.accounts.get_loc(str(account_id))
    except KeyError:
        return None
    values = {}
    for p in ctx.periods:
        j = grid.index_of(p.end)
        values[p.label] = float(grid.mrr[row, j]) if j >= 0 else float("nan")
    return pd.Series(values, dtype=float).fillna(0.0)


def _as_of(kpis) -> pd.Timestamp | None:
    """The instant the last period ends (the snapshot date of "now" in the data)."""
    ctx = getattr(kpis, "context", None)
    periods = getattr(ctx, "periods", None)
    if periods:
        return periods[-1].end
    return None


def compute_kpis(dataset, by: str | None = None, granularity: str = "month", progress: Progress = None,
                 cancelled: CancelCheck = None):
    """``cs_desk.kpis.compute`` and the matching movements (dashboard selectors)."""
    from cs_desk.kpis import compute

    _say(progress, 0.1, "Computing KPIs")
    result = compute(dataset, by=by or None, granularity=granularity)
    _say(progress, 0.8, "MRR movements")
    return result, full_movements(result)


# ------------------------------------------------------------------------------------- health
def load_health_model(path: str):
    """(model, problems) from a TOML file."""
    from cs_desk import health

    return health.load(path)


def save_health_model(model, path: str) -> None:
    from cs_desk import health

    health.save(model, path)


def default_health_model():
    """The example model that ships with cs-desk (what the demo uses), or None."""
    from cs_desk import health

    return health.default_model()[0]


BACKTEST_MONTHS = 24
BACKTEST_HORIZON = 90


def prepare_backtest(model, dataset, months: int = BACKTEST_MONTHS, horizon: int = BACKTEST_HORIZON,
                     progress: Progress = None, cancelled: CancelCheck = None):
    """The expensive half of a backtest, done once per dataset: monthly snapshots rebuilt as of
    each past month end and who churned within ``horizon`` days after it (``cs_desk.health.Backtest``).
    The builder then re-runs it with every model change (:func:`run_backtest`)."""
    from cs_desk import health
    from cs_desk.accounts_snapshot import account_snapshots
    from cs_desk.snapshots import mrr_grid

    grid, _problems = mrr_grid(dataset)
    if grid is None:
        return None
    dates = health.backtest_dates(grid, months, horizon)
    if not dates:
        return None
    _say(progress, 0.05, f"Rebuilding {len(dates)} monthly snapshots for the backtest")
    snaps = account_snapshots(dataset, dates)
    if cancelled is not None and cancelled():
        raise _cancelled()
    _say(progress, 0.8, "Who churned afterwards")
    outcomes = health.outcomes_from_grid(grid, dates, horizons=(horizon,))
    return health.Backtest(model, snaps, outcomes, horizon)


def run_backtest(prepared, model, n_boot: int = 200, progress: Progress = None,
                 cancelled: CancelCheck = None) -> tuple[dict | None, str]:
    """(summary, message) of ``Backtest.run(model)``: AUC with its interval, churn per band."""
    if prepared is None:
        return None, "needs revenue history reaching past the horizon"
    _say(progress, 0.1, "Backtesting the health model")
    result = prepared.run(model, n_boot=n_boot, detail=False)
    d = result.as_dict(limit=0)
    d["what"] = f"{d.get('target', 'churned')} within {d.get('horizon_days')} days, {d.get('months')} month ends"
    d["n_accounts"] = d.get("n_observations")
    d["n_churned"] = d.get("n_events")
    d["warning"] = "; ".join(d.get("warnings") or [])
    return d, ""


# -------------------------------------------------------------------------------------- demo
def make_demo(folder: str | Path, accounts: int = 600, months: int = 36, seed: int = 7,
              progress: Progress = None, cancelled: CancelCheck = None) -> list[Path]:
    """Generate the demo portfolio with ``cs_desk.demo`` and write its input files."""
    from cs_desk import demo

    folder = Path(folder)
    _say(progress, 0.05, f"Generating a demo portfolio of {accounts:,} accounts")
    frames = demo.generate(accounts=accounts, months=months, seed=seed)
    if cancelled is not None and cancelled():
        return []
    _say(progress, 0.6, "Writing the demo files")
    return [Path(p) for p in demo.write_demo_inputs(frames, folder)]


def demo_inputs_present(folder: Path) -> list[Path] | None:
    from cs_desk import demo

    paths = [folder / demo.DEMO_WORKBOOK, folder / demo.DEMO_USAGE]
    return paths if all(p.exists() for p in paths) else None


# ------------------------------------------------------------------------------------- export
def report_writers() -> dict[str, Callable]:
    """``{"xlsx": write_workbook, "pdf": write_pdf}`` from ``cs_desk.report``."""
    from cs_desk.report import write_pdf, write_workbook

    return {"xlsx": write_workbook, "pdf": write_pdf}


def export_reports(analysis: Analysis, folder: str, formats: tuple[str, ...], progress: Progress = None,
                   cancelled: CancelCheck = None) -> list[Path]:
    """Write the report files with ``cs_desk.report`` from the analysis' bundle (the numbers on
    screen); returns the files written. Each writer writes to a temporary file and moves it."""
    writers = report_writers()
    missing = [f for f in formats if f not in writers]
    if missing:
        raise RuntimeError(f"this cs-desk cannot write {', '.join(missing)} reports")
    folder_p = Path(folder)
    folder_p.mkdir(parents=True, exist_ok=True)
    bundle = analysis.bundle
    if not bundle.by or bundle.omitted:
        # the report has a section per segment and per CSM, cohorts and books of business that the
        # screens' bundle leaves out: the full bundle, same model
        from cs_desk.report.bundle import build_bundle

        bundle = build_bundle(analysis.dataset, health_model=analysis.health_model,
                              progress=_sub(progress, 0.0, 0.4), cancelled=cancelled)
        lo0 = 0.4
    else:
        lo0 = 0.0
    written: list[Path] = []
    stem = "cs-desk-report"
    for i, fmt in enumerate(formats):
        if cancelled is not None and cancelled():
            raise _cancelled()
        lo = lo0 + (1 - lo0) * i / len(formats)
        hi = lo0 + (1 - lo0) * (i + 1) / len(formats)
        _say(progress, lo, f"Writing the {fmt.upper()} report")
        target = folder_p / f"{stem}.{fmt}"
        out = writers[fmt](bundle, target, progress=_sub(progress, lo, hi), cancelled=cancelled)
        written.append(Path(out) if isinstance(out, (str, Path)) else target)
    _say(progress, 1.0, "Done")
    return written


def default_export_folder() -> str:
    return str(Path(tempfile.gettempdir()) / "cs-desk-reports")
