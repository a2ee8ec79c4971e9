"""The GUI's only door into the engine: plain functions the worker thread runs.

Nothing here imports Qt, and nothing here computes a KPI, a score or a movement: each function
calls ``cs_desk``'s public API and packs the results for the views. Where the engine does not (yet)
offer something the window needs, the gap is named in :data:`ENGINE_GAPS` and bridged with the
smallest adapter that only calls public ``cs_desk`` functions.
"""
from __future__ import annotations

import importlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

Progress = Callable[[float, str], None] | None
CancelCheck = Callable[[], bool] | None

#: Things the window needed and the engine did not offer when this module was written.
ENGINE_GAPS: dict[str, str] = {}


def _gap(key: str, text: str) -> None:
    ENGINE_GAPS.setdefault(key, text)


def _optional(module: str):
    """Import a part of the engine that may not be installed/landed yet (None when absent)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


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
def _takes(fn, name: str) -> bool:
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def load_dataset(paths: list[str], mapping=None, explicit: dict | None = None, options: dict | None = None,
                 progress: Progress = None, cancelled: CancelCheck = None):
    """``cs_desk.io.load`` with a readable failure when nothing at all could be used."""
    from cs_desk import io

    kwargs: dict[str, Any] = {"explicit": explicit or None, "mapping": mapping, "options": options or None}
    if _takes(io.load, "progress"):
        kwargs["progress"] = _sub(progress, 0.0, 1.0)
    else:
        _gap("io.load.progress", "cs_desk.io.load takes no progress callback (the GUI shows a busy bar)")
    if _takes(io.load, "cancelled"):
        kwargs["cancelled"] = cancelled
    _say(progress, 0.0, "Reading " + ", ".join(Path(p).name for p in paths))
    dataset = io.load([str(p) for p in paths], **kwargs)
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
    layout): ``cs_desk.io.canonical_frame`` then ``cs_desk.io.clean_frame``, exactly what
    ``load`` does, on the first rows only."""
    import dataclasses

    from cs_desk import io

    head = dataclasses.replace(raw_sheet, frame=raw_sheet.frame.head(rows),
                               row_numbers=np.asarray(raw_sheet.row_numbers)[:rows])
    frame, row_numbers, source_columns = io.canonical_frame(head, recognition)
    opts = {**(options or {}), **(recognition.options or {}), "source_columns": source_columns}
    if "decimal" not in opts and getattr(raw_sheet, "hints", {}).get("decimal"):
        opts["decimal"] = raw_sheet.hints["decimal"]
    cleaned, problems = io.clean_frame(frame, recognition.table, file=raw_sheet.file, sheet=raw_sheet.sheet,
                                       row_numbers=row_numbers, options=opts)
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
    the report, the add-in and the CLI give). Where the engine lacks a part, the smallest
    public-API fallback is used and the gap is recorded in :data:`ENGINE_GAPS`."""
    import time

    from cs_desk.kpis import compute

    timings: dict[str, float] = {}
    notes: list[str] = []
    t0 = time.perf_counter()
    bundle = None
    report = _optional("cs_desk.report.bundle") or _optional("cs_desk.report")
    build = getattr(report, "build_bundle", None) if report is not None else None
    if build is not None:
        # by=(): the dashboard computes a grouping when the user picks one; the per-segment/CSM
        # books of business are built for the export (export_reports), not for every open
        kwargs: dict[str, Any] = {"health_model": health_model, "progress": _sub(progress, 0.0, 0.95),
                                  "cancelled": cancelled, "by": ()}
        # no screen shows the cohorts or the books of business: left out here, computed by the
        # full bundle the export builds (export_reports)
        kwargs.update({k: False for k in ("cohorts", "books") if _takes(build, k)})
        if playbooks is not None:
            kwargs["playbooks"] = playbooks
        try:
            bundle = build(dataset, **kwargs)
        except (ImportError, AttributeError) as exc:  # a part of the engine that has not landed
            _gap("report.build_bundle", f"cs_desk.report.build_bundle failed ({exc}); the GUI computes "
                 "what it can through compute / account_snapshot / health.score")
            bundle = None
        timings["bundle"] = time.perf_counter() - t0
    else:
        _gap("report.build_bundle", "cs_desk.report.build_bundle not available")
    if cancelled is not None and cancelled():
        raise _cancelled()
    if bundle is not None:
        kpis = bundle.kpis
        health_model = bundle.health_model
        snapshot = bundle.snapshot if isinstance(bundle.snapshot, pd.DataFrame) and len(bundle.snapshot) else None
        health = bundle.health if isinstance(bundle.health, pd.DataFrame) and len(bundle.health) else None
        actions = bundle.actions if isinstance(bundle.actions, pd.DataFrame) else None
        mix = bundle.health_mix if isinstance(bundle.health_mix, pd.DataFrame) and len(bundle.health_mix) else None
        notes += list(bundle.notes)
        merged = snapshot
    else:
        _say(progress, 0.1, "Computing KPIs")
        kpis = compute(dataset)
        as_of = _as_of(kpis)
        _say(progress, 0.4, "Per-account snapshot")
        snapshot = account_snapshot(dataset, as_of, notes)
        if health_model is None:
            health_model = default_health_model()
        _say(progress, 0.6, "Health scores")
        health = score(health_model, snapshot) if snapshot is not None and health_model is not None else None
        actions = compute_actions(snapshot, health, playbooks, notes)
        mix = health_mix_from_kpis(kpis)
        merged = merge_health(snapshot, health)
    _say(progress, 0.97, "MRR movements")
    mv = full_movements(kpis)
    _say(progress, 1.0, "Done")
    timings["analyse"] = time.perf_counter() - t0
    return Analysis(dataset, kpis, mv, _as_of(kpis), merged, merged, health_model, health, actions, mix, bundle,
                    notes, timings)


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


def account_snapshot(dataset, as_of, notes: list[str] | None = None) -> pd.DataFrame | None:
    mod = _optional("cs_desk.accounts_snapshot")
    if mod is None or as_of is None:
        _gap("accounts_snapshot", "cs_desk.accounts_snapshot.account_snapshot not available: the Accounts "
             "view shows the accounts table only")
        if notes is not None:
            notes.append("Per-account metrics are not available in this engine version.")
        accounts = dataset.table("accounts")
        return accounts.copy() if len(accounts) else None
    return mod.account_snapshot(dataset, as_of)


def compute_kpis(dataset, by: str | None = None, granularity: str = "month", progress: Progress = None,
                 cancelled: CancelCheck = None):
    """``cs_desk.kpis.compute`` and the matching movements (dashboard selectors)."""
    from cs_desk.kpis import compute

    _say(progress, 0.1, "Computing KPIs")
    result = compute(dataset, by=by or None, granularity=granularity)
    _say(progress, 0.8, "MRR movements")
    return result, full_movements(result)


# ------------------------------------------------------------------------------------- health
def health_module():
    return _optional("cs_desk.health")


def load_health_model(path: str):
    """(model, problems) from a TOML file."""
    health = health_module()
    if health is None:
        raise RuntimeError("this cs-desk has no health module yet")
    loaded = health.HealthModel.load(path)
    if isinstance(loaded, tuple):
        return loaded
    return loaded, []


def save_health_model(model, path: str) -> None:
    if hasattr(model, "save"):
        model.save(path)
    else:
        health = health_module()
        health.save(model, path)


def default_health_model():
    """The example model that ships with cs-desk (what the demo uses), or None."""
    health = health_module()
    if health is None:
        return None
    for name in ("default_model", "example_model", "default"):
        fn = getattr(health, name, None)
        if callable(fn):
            try:
                out = fn()
            except Exception:  # noqa: BLE001
                continue
            return out[0] if isinstance(out, tuple) else out
    _gap("health.default_model", "no public function returns the shipped default health model; the GUI "
         "looks for workbook_templates/*.toml")
    root = Path(__file__).resolve().parents[1] / "workbook_templates"
    for path in sorted(root.glob("*health*default*.toml")) + sorted(root.glob("*health*.toml")):
        try:
            model, problems = load_health_model(str(path))
        except Exception:  # noqa: BLE001
            continue
        if model is not None:
            return model
    return None


def score(model, snapshot: pd.DataFrame) -> pd.DataFrame | None:
    health = health_module()
    if health is None or model is None or snapshot is None:
        return None
    out = health.score(model, snapshot)
    return out


def merge_health(snapshot: pd.DataFrame | None, health: pd.DataFrame | None) -> pd.DataFrame | None:
    """The snapshot with the score columns beside it (one row per account)."""
    if snapshot is None:
        return None
    if health is None or not isinstance(health, pd.DataFrame):
        return snapshot
    snap = snapshot.reset_index() if "account_id" not in snapshot.columns else snapshot
    h = health.reset_index() if "account_id" not in health.columns else health
    if "account_id" not in h.columns or "account_id" not in snap.columns:
        return snapshot
    keep = [c for c in h.columns if c == "account_id" or c not in snap.columns]
    return snap.merge(h[keep], on="account_id", how="left")


def compute_actions(snapshot, health, playbooks, notes: list[str] | None = None) -> pd.DataFrame | None:
    alerts = _optional("cs_desk.alerts")
    if alerts is None or snapshot is None:
        _gap("alerts.actions", "cs_desk.alerts.actions not available: the Actions view is empty")
        return None
    if playbooks is None:
        for name in ("default_playbooks", "load_default_playbooks"):
            fn = getattr(alerts, name, None)
            if callable(fn):
                out = fn()
                playbooks = out[0] if isinstance(out, tuple) else out
                break
    if playbooks is None:
        return None
    return alerts.actions(merge_health(snapshot, health), playbooks)


def health_mix_from_kpis(kpis) -> pd.DataFrame | None:
    """period x band share from the registry's ``health_mix[band]`` KPIs, when computed."""
    table = getattr(kpis, "table", None)
    if table is None or table.empty:
        return None
    rows = table[(table["group"] == "all") & table["kpi"].str.startswith("health_mix")]
    if rows.empty:
        return None
    wide = rows.pivot_table(index="period", columns="kpi", values="value", sort=False)
    wide.columns = [c.split("[", 1)[-1].rstrip("]") for c in wide.columns]
    return wide


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
def report_writers() -> dict[str, Callable] | None:
    """``{"xlsx": write_workbook, "pdf": write_pdf}`` from ``cs_desk.report`` (None when absent)."""
    out: dict[str, Callable] = {}
    for fmt, names in (("xlsx", ("write_workbook",)), ("pdf", ("write_pdf",))):
        for module in ("cs_desk.report", "cs_desk.report.workbook", "cs_desk.report.pdf"):
            mod = _optional(module)
            fn = next((getattr(mod, n) for n in names if mod is not None and hasattr(mod, n)), None)
            if fn is not None:
                out[fmt] = fn
                break
    return out or None


def export_reports(analysis: Analysis, folder: str, formats: tuple[str, ...], progress: Progress = None,
                   cancelled: CancelCheck = None) -> list[Path]:
    """Write the report files with ``cs_desk.report`` from the analysis' bundle (the numbers on
    screen); returns the files written. Each writer writes to a temporary file and moves it."""
    writers = report_writers()
    if not writers:
        raise RuntimeError("this cs-desk cannot write reports (pip install 'cs-desk[report]')")
    missing = [f for f in formats if f not in writers]
    if missing:
        raise RuntimeError(f"this cs-desk cannot write {', '.join(missing)} reports")
    folder_p = Path(folder)
    folder_p.mkdir(parents=True, exist_ok=True)
    bundle = analysis.bundle
    if bundle is None or not getattr(bundle, "by", ()) or getattr(bundle, "omitted", ()):
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
        writer = writers[fmt]
        kwargs: dict[str, Any] = {}
        if _takes(writer, "progress"):
            kwargs["progress"] = _sub(progress, lo, hi)
        if _takes(writer, "cancelled"):
            kwargs["cancelled"] = cancelled
        out = writer(bundle, target, **kwargs)
        written.append(Path(out) if isinstance(out, (str, Path)) else target)
    _say(progress, 1.0, "Done")
    return written


def default_export_folder() -> str:
    return str(Path(tempfile.gettempdir()) / "cs-desk-reports")
