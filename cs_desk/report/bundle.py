"""The report bundle: everything a report shows, computed once.

``build_bundle(dataset, ...)`` runs the engine once — KPIs for the portfolio and for each
``by`` field, MRR movements, the per-account snapshot at the end of the range with health
scores, the action list, cohorts, books of business per segment / CSM — and returns a
:class:`ReportBundle`: a plain dataclass of DataFrames and records. The workbook, the PDF, the
GUI and the Excel add-in render the same bundle, so they never disagree on a number.

Each section is computed by one function (``kpi_section``, ``movement_section``, ...); a section
whose data is missing (no revenue table, no accounts ...) comes back empty and says why in
``bundle.notes``. Long work reports ``progress(fraction, text)`` and stops with
:class:`Cancelled` when ``cancelled()`` turns true; nothing here knows about Qt. The per-account
sections and the health-mix KPIs (:func:`accounts_lane`) run in a worker thread beside the KPI
pass: both are numpy work that releases the GIL, so the two cores share them.
"""
from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..kpis import KpiResult, compute, compute_many, headline_kpis, months_covered
from ..kpis.registry import REGISTRY, base_id, get as get_kpi
from ..periods import month_start, parse_month
from ..problems import Problem, problems_frame

Progress = Callable[[float, str], None]
CancelCheck = Callable[[], bool]

DEFAULT_TITLE = "Customer success portfolio report"
DEFAULT_BY = ("segment", "csm")
#: how many accounts the "top risks" and "expansion candidates" lists keep per group
TOP_N = 10
RENEWAL_WINDOWS = (30, 90, 180)
#: the score table's own columns (the Health sheet; ``snapshot`` has them beside the metrics)
SCORE_PREFIXES = ("pts_", "weight_", "share_", "reason_")
SCORE_COLUMNS = ("score", "band", "profile", "weakest", "lift_to_next_band", "lift_component", "lift_value",
                 "missing_components", "stale_components", "score_prev", "band_prev", "score_change", "band_change")
BAND_ORDER = ("green", "yellow", "red", "unknown")
#: movements shown per account (accounts whose MRR did not move are left out)
MOVEMENT_COLUMNS = ["period", "account_id", "group", "start_mrr", "end_mrr", "delta", "movement", "extension"]
ACTION_COLUMNS = ["account_id", "account_name", "owner", "priority", "rule", "reason", "action", "due"]


class Cancelled(Exception):
    """The caller's ``cancelled()`` check turned true; nothing was written."""


@dataclass
class ReportBundle:
    """Everything a report shows, computed once (see the module docstring)."""

    title: str
    start: pd.Timestamp | None  # first month of the range
    end: pd.Timestamp | None  # last month of the range
    as_of: pd.Timestamp | None  # snapshot instant: the first day after ``end``
    by: tuple[str, ...]  # group fields that were used (those the accounts table has)
    kpis: KpiResult  # every KPI, every period, group "all"
    kpis_by: dict[str, KpiResult]  # per ``by`` field: the same with one group per value
    kpi_table: pd.DataFrame  # tidy: period, group_by, group, kpi, value, unit
    headline: pd.DataFrame  # last period's headline KPIs: value, target, previous, change, status
    movements: pd.DataFrame  # per period, every account whose MRR moved
    snapshot: pd.DataFrame  # one row per account at ``as_of``, with health score columns
    health: pd.DataFrame  # health.score output (points, weights, weakest, lift per account)
    health_model: Any
    health_mix: pd.DataFrame  # period x band: share of active accounts per band
    actions: pd.DataFrame  # account_id, account_name, owner, priority, rule, reason, action, due
    cohorts: Any  # kpis.cohorts.CohortTables, or None without revenue data
    cohort_projection: pd.DataFrame  # sBG projection per cohort
    books: pd.DataFrame  # book of business per (group_by, group), the portfolio first
    risks: pd.DataFrame  # top risks per (group_by, group), with reasons
    expansion: pd.DataFrame  # expansion candidates per (group_by, group), with reasons
    problems: list[Problem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (kpi, reason)
    notes: list[str] = field(default_factory=list)  # sections left empty, and why
    timings: dict[str, float] = field(default_factory=dict)
    #: sections left out on request (``build_bundle(cohorts=False, books=False)``): "cohorts",
    #: "books"; empty for a complete bundle. A partial bundle is not for writing reports.
    omitted: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.omitted

    @property
    def periods(self) -> list[str]:
        return list(self.kpis.periods) if self.kpis is not None else []

    @property
    def date_range(self) -> str:
        """``Dec 2023 – Oct 2026`` (the months covered), or an empty string without data."""
        if self.start is None or self.end is None:
            return ""
        if self.start == self.end:
            return f"{self.start:%b %Y}"
        return f"{self.start:%b %Y} – {self.end:%b %Y}"

    def problems_frame(self) -> pd.DataFrame:
        return problems_frame(self.problems)

    def groups(self, by: str) -> list[str]:
        """The values of one group field, in the order the books list them."""
        rows = self.books[self.books["group_by"] == by]
        return rows["group"].tolist()


# ------------------------------------------------------------------------------------------------
# orchestration
def build_bundle(dataset: Dataset, health_model=None, playbooks=None, start=None, end=None,
                 by: Iterable[str] | str | None = DEFAULT_BY, progress: Progress | None = None,
                 cancelled: CancelCheck | None = None, *, title: str | None = None, cohorts: bool = True,
                 books: bool = True) -> ReportBundle:
    """Compute every section of the report once (see the module docstring).

    ``health_model`` / ``playbooks``: a loaded model / playbook set, a path to a TOML file, or
    None for the defaults that ship with cs-desk. ``start`` / ``end``: first and last month
    (``YYYY-MM`` or a date; default: what the data covers). ``by``: accounts fields to break the
    KPIs and books of business down by; fields the accounts table lacks are left out with a note.

    ``cohorts=False`` leaves out the cohort triangles and their projection (``cohorts`` None,
    ``cohort_projection`` empty); ``books=False`` leaves out the books of business, top risks and
    expansion candidates (empty frames with their columns). Both are for screens that do not show
    those sections (the desktop dashboard); ``bundle.omitted`` names what was left out, and such a
    bundle is not for writing reports. The defaults compute everything.
    """
    step = _Steps(progress, cancelled)
    notes: list[str] = []
    problems: list[Problem] = []
    by_fields, by_notes = usable_by_fields(dataset, by)
    notes += by_notes

    step(0.0, "Health model and playbooks")
    model, model_problems = resolve_health_model(health_model)
    rules, rule_problems = resolve_playbooks(playbooks)
    problems += model_problems + rule_problems
    if model is None:
        notes.append("No health scores: the health model could not be loaded (see the problems).")
    if rules is None:
        notes.append("No action list: the playbooks could not be loaded (see the problems).")

    step(0.02, "Computing KPIs")
    options = {"health_model": model} if model is not None else None
    window = months_covered(dataset, _month(start), _month(end))
    stop = threading.Event()  # the KPI lane failed or was cancelled: the accounts lane stops too

    def halted() -> bool:
        return stop.is_set() or (cancelled is not None and bool(cancelled()))

    # two lanes side by side (their numpy work runs on both cores): the KPIs, movements and
    # cohorts here; the health-mix KPIs and the per-account sections in a worker thread
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cs-desk-accounts") as pool:
        side = pool.submit(accounts_lane, dataset, model, rules, by_fields, window, options, books, halted)
        try:
            kpis, kpis_by = kpi_section(dataset, _month(start), _month(end), by_fields, health_model=model)
            step(0.55, "MRR movements")
            movements = movement_section(kpis)
            omitted: list[str] = []
            if cohorts:
                step(0.6, "Cohorts")
                cohort_tables, projection = cohort_section(kpis)
            else:
                cohort_tables, projection = None, pd.DataFrame()
                omitted.append("cohorts")
            step(0.7, "Health scores, actions and books of business")
        except BaseException:
            stop.set()
            raise
        lane = side.result()
    step.timings.update({k: v for k, v in lane.timings.items() if k not in step.timings})
    problems += kpis.problems + lane.problems
    if lane.health_mix is not None and not kpis.table.empty:
        kpis.table = pd.concat([kpis.table, lane.health_mix], ignore_index=True)
    kpi_table = tidy_kpi_table(kpis, kpis_by)
    periods = kpis.context.periods if kpis.context is not None else []  # calendar months
    first = periods[0].start if periods else None
    last = periods[-1].start if periods else None
    as_of = periods[-1].end if periods else None
    if not periods:
        notes.append("No KPI could be computed: the inputs hold no revenue, survey, ticket or usage data.")
    if movements.empty and not dataset.has_revenue:
        notes.append("MRR movements and cohorts need an MRR table or subscriptions.")
    if lane.snapshot_empty:
        notes.append("The per-account snapshot needs an accounts table or revenue data.")
    accounts = lane.accounts
    health = score_table(accounts)
    mix = health_mix_section(kpis, health)
    actions = lane.actions
    if books:
        book_table, risks, expansion = lane.books
    else:
        book_table = books_section(pd.DataFrame(), [])  # empty, with the section's columns
        risks = risk_section(pd.DataFrame(), None, [])
        expansion = expansion_section(pd.DataFrame(), [])
        omitted.append("books")
    headline = headline_section(kpis)

    step(1.0, "Report data ready")
    return ReportBundle(
        title=title or DEFAULT_TITLE, start=first, end=last, as_of=as_of, by=tuple(by_fields),
        kpis=kpis, kpis_by=kpis_by, kpi_table=kpi_table, headline=headline, movements=movements,
        snapshot=accounts, health=health, health_model=model, health_mix=mix, actions=actions,
        cohorts=cohort_tables, cohort_projection=projection, books=book_table, risks=risks, expansion=expansion,
        problems=problems, skipped=list(kpis.skipped), notes=notes, timings=step.timings, omitted=tuple(omitted),
    )


class _Steps:
    """progress(fraction, text) + cancellation check + per-step timings."""

    def __init__(self, progress: Progress | None, cancelled: CancelCheck | None):
        self.progress, self.cancelled = progress, cancelled
        self.timings: dict[str, float] = {}
        self._t = time.perf_counter()
        self._label: str | None = None

    def __call__(self, fraction: float, text: str) -> None:
        now = time.perf_counter()
        if self._label is not None:
            self.timings[self._label] = round(now - self._t, 4)
        self._t, self._label = now, text
        if self.cancelled is not None and self.cancelled():
            raise Cancelled("cancelled")
        if self.progress is not None:
            self.progress(max(0.0, min(1.0, fraction)), text)


def _month(value) -> pd.Timestamp | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        return parse_month(value)
    return month_start(value)


def usable_by_fields(dataset: Dataset, by) -> tuple[list[str], list[str]]:
    """The ``by`` fields the accounts table has (in order, once each), and notes for the rest."""
    if by is None:
        return [], []
    wanted = [by] if isinstance(by, str) else list(by)
    wanted = list(dict.fromkeys(f for f in wanted if f))
    columns = set(dataset.table("accounts").columns) if dataset.has("accounts") else set()
    usable = [f for f in wanted if f in columns]
    missing = [f for f in wanted if f not in columns]
    notes = []
    if missing:
        notes.append("No breakdown by " + ", ".join(missing) + ": the accounts table has no such field"
                     + ("" if dataset.has("accounts") else " (no accounts table was loaded)") + ".")
    return usable, notes


# ------------------------------------------------------------------------------------------------
# sections
def kpi_section(dataset: Dataset, start, end, by: list[str],
                health_model=None) -> tuple[KpiResult, dict[str, KpiResult]]:
    """Every default KPI for the portfolio (group "all") and, per ``by`` field, per group value.

    All fields are computed in one pass (``compute_many``), whose first field also gives the
    portfolio rows, so the portfolio is not computed twice. The on-request health KPIs come from
    :func:`health_mix_kpis` (``build_bundle`` runs them beside this)."""
    options = {"health_model": health_model} if health_model is not None else None
    results = compute_many(dataset, start, end, by=by, options=options)
    if by:
        first = results[by[0]]
        table = first.table[first.table["group"] == "all"].reset_index(drop=True)
        kpis = KpiResult(table, list(first.skipped), list(first.problems), first.context)
    else:
        kpis = compute(dataset, start, end, options=options)
    return kpis, results


def health_mix_kpis(dataset: Dataset, window, options) -> pd.DataFrame | None:
    """The on-request health KPIs (scores rebuilt as of every month end of ``window``), for the
    portfolio only: the costliest KPIs, so not repeated per group. None without revenue data."""
    if window is None or window[1] < window[0] or not dataset.has_revenue:
        return None
    ids = [k.id for k in REGISTRY.values() if k.family == "health"]
    return compute(dataset, window[0], window[1], kpis=ids, options=options).table


@dataclass
class AccountsLane:
    """What :func:`accounts_lane` computed: health-mix KPI rows, the scored snapshot, actions and
    books of business (each section as in the bundle), with problems and step timings."""

    health_mix: pd.DataFrame | None
    accounts: pd.DataFrame
    snapshot_empty: bool
    actions: pd.DataFrame
    books: tuple | None
    problems: list
    timings: dict


def accounts_lane(dataset: Dataset, model, rules, by_fields: list[str], window, options, books: bool = True,
                  halted: Callable[[], bool] | None = None) -> AccountsLane:
    """The sections that hang on the per-account snapshot, plus the health-mix KPIs: the part of
    the bundle that does not need the KPI pass, so ``build_bundle`` runs it beside that pass.
    ``halted()`` is checked between steps (the lane then stops with :class:`Cancelled`)."""
    timings: dict[str, float] = {}

    def timed(label: str, fn, *args):
        if halted is not None and halted():
            raise Cancelled("cancelled")
        t0 = time.perf_counter()
        out = fn(*args)
        timings[label] = round(time.perf_counter() - t0, 4)
        return out

    mix_rows = timed("Health mix KPIs", health_mix_kpis, dataset, window, options)
    snapshot, previous = timed("Per-account snapshot", snapshot_section, dataset, window[1] if window else None)
    accounts = timed("Health scores", health_section, model, snapshot, previous)
    actions = timed("Actions", actions_section, accounts, rules)
    parts = None
    if books:
        parts = timed("Books of business", lambda: (books_section(accounts, by_fields),
                                                    risk_section(accounts, actions, by_fields),
                                                    expansion_section(accounts, by_fields)))
    return AccountsLane(mix_rows, accounts, snapshot.empty, actions, parts,
                        list(snapshot.attrs.get("problems", [])), timings)


def tidy_kpi_table(kpis: KpiResult, kpis_by: dict[str, KpiResult]) -> pd.DataFrame:
    """period, group_by, group, kpi, value, unit: the portfolio, then each field's groups."""
    parts = [kpis.table.assign(group_by="all")]
    for f, result in kpis_by.items():
        parts.append(result.table[result.table["group"] != "all"].assign(group_by=f))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    cols = ["period", "group_by", "group", "kpi", "value", "unit"]
    return table.reindex(columns=cols) if not table.empty else pd.DataFrame(columns=cols)


def headline_section(kpis: KpiResult) -> pd.DataFrame:
    """The registry's headline KPIs for the last period: value, target, previous, change, status.

    ``status`` is "on target" / "off target" (empty without a target); ``trend`` is "better",
    "worse" or "same" against the previous period in the KPI's own direction."""
    cols = ["kpi", "label", "unit", "direction", "value", "target", "previous", "change", "status", "trend"]
    periods = kpis.periods
    if kpis.table.empty or not periods:
        return pd.DataFrame(columns=cols)
    last = periods[-1]
    prev = periods[-2] if len(periods) > 1 else None
    present = kpis.table["kpi"].unique().tolist()
    rows = []
    for k in headline_kpis():
        for kpi_id in [p for p in present if base_id(p) == k.id]:
            value = kpis.value(kpi_id, last)
            previous = kpis.value(kpi_id, prev) if prev else math.nan
            met = k.meets_target(value)
            better = k.is_better(value, previous)
            trend = "" if better is None else ("same" if value == previous else "better" if better else "worse")
            label = k.label if kpi_id == k.id else f"{k.label}: {kpi_id.split('[', 1)[1].rstrip(']')}"
            rows.append({"kpi": kpi_id, "label": label, "unit": k.unit, "direction": k.direction or "",
                         "value": value, "target": k.target if k.target is not None else math.nan,
                         "previous": previous, "change": value - previous,
                         "status": "" if met is None else ("on target" if met else "off target"),
                         "trend": trend})
    return pd.DataFrame(rows, columns=cols)


def movement_section(kpis: KpiResult) -> pd.DataFrame:
    """Every account whose MRR moved, per period (``flat`` rows left out), from the KPI context."""
    from ..kpis.revenue import movements

    ctx = kpis.context
    if ctx is None or ctx.grid is None or not ctx.periods:
        return pd.DataFrame(columns=MOVEMENT_COLUMNS)
    return movements(ctx, flat=False).reindex(columns=MOVEMENT_COLUMNS)


def snapshot_section(dataset: Dataset, last_month) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-account snapshots (``accounts_snapshot.account_snapshots``, computed together) at the
    end of ``last_month`` and a month earlier: (latest, previous)."""
    from ..accounts_snapshot import account_snapshots
    from ..health import month_end_instants

    empty = pd.DataFrame(columns=["account_id", "as_of"])
    if last_month is None or not (dataset.has("accounts") or dataset.has_revenue):
        return empty, empty
    stacked = account_snapshots(dataset, month_end_instants(last_month, 2))
    as_of = pd.to_datetime(stacked["as_of"])
    dates = sorted(as_of.unique())
    current = stacked[as_of == dates[-1]].reset_index(drop=True) if dates else empty
    previous = stacked[as_of == dates[0]].reset_index(drop=True) if len(dates) > 1 else empty
    current.attrs["problems"] = list(stacked.attrs.get("problems", []))
    return current, previous


def resolve_health_model(model) -> tuple[Any, list[Problem]]:
    """A loaded model as is; a path is loaded; None gives the shipped default model."""
    from .. import health

    if model is None:
        return health.default_model()
    if isinstance(model, (str, Path)):
        loaded, problems = health.HealthModel.load(model)
        return loaded, list(problems)
    return model, []


def health_section(model, snapshot: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """The snapshot with its health columns beside it (``health.scored_snapshot``): score, band,
    points per component, weakest, what lifts it to the next band, and last month's score."""
    from .. import health

    if model is None or snapshot.empty:
        return snapshot.copy()
    return health.scored_snapshot(model, snapshot, previous if len(previous) else None)


def score_table(accounts: pd.DataFrame) -> pd.DataFrame:
    """The health columns of the scored snapshot, with the account's id, name, CSM and segment."""
    if "score" not in accounts.columns:
        return pd.DataFrame(columns=["account_id", "score", "band"])
    keep = [c for c in ("account_id", "account_name", "csm", "segment", "plan", "mrr", "arr", "active")
            if c in accounts.columns]
    keep += [c for c in accounts.columns if c in SCORE_COLUMNS or str(c).startswith(SCORE_PREFIXES)]
    return accounts[keep].copy()


def health_mix_section(kpis: KpiResult, health: pd.DataFrame) -> pd.DataFrame:
    """period x band (green, yellow, red): share of paying accounts in each band — the
    ``health_mix`` KPIs (scored as of each period end), else today's mix for the last period."""
    bands = list(BAND_ORDER[:3])
    table = kpis.table
    rows = table[table["kpi"].astype(str).str.startswith("health_mix[")] if not table.empty else table
    if not rows.empty:
        wide = rows.pivot_table(index="period", columns="kpi", values="value", sort=False)
        wide.columns = [c.split("[", 1)[1].rstrip("]") for c in wide.columns]
        return wide.reindex(columns=bands)
    if health.empty or not kpis.periods:
        return pd.DataFrame(columns=bands, index=pd.Index([], name="period"))
    active = _active(health)
    shares = active["band"].astype(str).value_counts(normalize=False).reindex(bands).fillna(0)
    total = shares.sum()
    return pd.DataFrame([shares / total if total else shares * np.nan], index=pd.Index([kpis.periods[-1]], name="period"))


def resolve_playbooks(playbooks) -> tuple[Any, list[Problem]]:
    """Loaded playbooks as they are; a path is loaded; None gives the shipped default playbooks."""
    from .. import alerts

    if playbooks is None:
        return alerts.default_playbooks()
    if isinstance(playbooks, (str, Path)):
        loaded, problems = alerts.load_playbooks(playbooks)
        return loaded, list(problems)
    return playbooks, []


def actions_section(accounts: pd.DataFrame, playbooks) -> pd.DataFrame:
    """The action list of the playbooks over the snapshot with health (``alerts.actions``)."""
    from .. import alerts

    if playbooks is None or accounts.empty:
        return pd.DataFrame(columns=ACTION_COLUMNS)
    return alerts.actions(accounts, playbooks)


def cohort_section(kpis: KpiResult, horizon: int = 24):
    """Logo and revenue retention triangles for the range and the sBG projection per cohort."""
    from ..kpis.cohorts import cohort_triangles, project_cohorts

    ctx = kpis.context
    if ctx is None or ctx.grid is None or not ctx.periods:
        return None, pd.DataFrame()
    tables = cohort_triangles(ctx.grid, ctx.periods[0].start, ctx.periods[-1].start)
    projection = project_cohorts(tables.survivors, horizon=horizon) if len(tables.survivors) else pd.DataFrame()
    return tables, projection


# ------------------------------------------------------------------------------------------------
# books of business (segment / CSM sections of the PDF)
def _active(accounts: pd.DataFrame) -> pd.DataFrame:
    if "active" in accounts.columns:
        return accounts[accounts["active"].fillna(False).astype(bool)]
    if "mrr" in accounts.columns:
        return accounts[accounts["mrr"].fillna(0) > 0]
    return accounts


def _groupings(accounts: pd.DataFrame, by: list[str]) -> list[tuple[str, str, pd.DataFrame]]:
    """("all", "Portfolio", every account), then (field, value, its accounts) per field value."""
    out = [("all", "Portfolio", accounts)]
    for f in by:
        if f not in accounts.columns:
            continue
        keys = accounts[f].astype(object).where(accounts[f].notna(), "(none)").astype(str)
        for value in sorted(keys.unique(), key=lambda v: (v == "(none)", v)):
            out.append((f, value, accounts[keys == value]))
    return out


def books_section(accounts: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Book of business per group: accounts, MRR, ARR, health distribution, value at risk
    (MRR of red accounts) and renewals due within 30 / 90 / 180 days (count and ARR)."""
    cols = ["group_by", "group", "accounts", "mrr", "arr", "green", "yellow", "red", "unknown",
            "value_at_risk", "red_share_of_mrr", "mean_score"]
    for d in RENEWAL_WINDOWS:
        cols += [f"renewals_{d}d", f"renewals_{d}d_arr"]
    if accounts.empty:
        return pd.DataFrame(columns=cols)
    active = _active(accounts)
    days = _days_to_renewal(active)
    rows = []
    for group_by, group, part in _groupings(active, by):
        mrr = _num(part, "mrr")
        arr = _num(part, "arr") if "arr" in part.columns else mrr * 12
        band = part["band"].astype(str) if "band" in part.columns else pd.Series("unknown", index=part.index)
        row = {"group_by": group_by, "group": group, "accounts": len(part), "mrr": mrr.sum(),
               "arr": arr.sum()}
        for b in BAND_ORDER:
            row[b] = int((band == b).sum())
        row["value_at_risk"] = float(mrr[band == "red"].sum())
        row["red_share_of_mrr"] = row["value_at_risk"] / row["mrr"] if row["mrr"] else math.nan
        row["mean_score"] = float(part["score"].mean()) if "score" in part.columns else math.nan
        d = days.reindex(part.index)
        for w in RENEWAL_WINDOWS:
            due = (d >= 0) & (d <= w)
            row[f"renewals_{w}d"] = int(due.sum())
            row[f"renewals_{w}d_arr"] = float(arr[due].sum())
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(0.0, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce").fillna(0.0).astype(float)


def _days_to_renewal(frame: pd.DataFrame) -> pd.Series:
    if "days_to_renewal" in frame.columns:
        return pd.to_numeric(frame["days_to_renewal"], errors="coerce")
    if "renewal_date" in frame.columns and "as_of" in frame.columns:
        return (pd.to_datetime(frame["renewal_date"]) - pd.to_datetime(frame["as_of"])).dt.days
    return pd.Series(np.nan, index=frame.index)


def risk_section(accounts: pd.DataFrame, actions: pd.DataFrame, by: list[str], top: int = TOP_N) -> pd.DataFrame:
    """Per group, the accounts most at risk: red ones, then yellow ones that renew within 90 days
    or have a high-priority action; most MRR first within each band. The reason is what the
    playbooks said about the account, else its weakest health component and what would lift it."""
    cols = ["group_by", "group", "account_id", "account_name", "csm", "mrr", "score", "band",
            "days_to_renewal", "reason"]
    if accounts.empty or "band" not in accounts.columns:
        return pd.DataFrame(columns=cols)
    active = _active(accounts).copy()
    band = active["band"].astype(str)
    active["days_to_renewal"] = _days_to_renewal(active)
    urgent = set()
    if actions is not None and len(actions) and "priority" in actions.columns:
        urgent = set(actions.loc[actions["priority"].astype(str) == "high", "account_id"].astype(str))
    soon = active["days_to_renewal"].between(0, 90)
    yellow_risk = (band == "yellow") & (soon | active["account_id"].astype(str).isin(urgent))
    risky = active[(band == "red") | yellow_risk].copy()
    if risky.empty:
        return pd.DataFrame(columns=cols)
    risky["reason"] = _risk_reasons(risky, actions)
    risky["_red"] = (risky["band"].astype(str) == "red").astype(int)
    risky["_mrr"] = _num(risky, "mrr")
    risky = risky.sort_values(["_red", "_mrr", "score"], ascending=[False, False, True], kind="stable")
    parts = [part.head(top).assign(group_by=group_by, group=group) for group_by, group, part in _groupings(risky, by)]
    return pd.concat(parts, ignore_index=True).reindex(columns=cols)


def _risk_reasons(red: pd.DataFrame, actions: pd.DataFrame) -> pd.Series:
    """The reasons of the playbook actions for each account, else weakest component and lift."""
    fallback = pd.Series("", index=red.index, dtype=object)
    if "weakest" in red.columns:
        weakest = red["weakest"].fillna("").astype(str)
        fallback = np.where(weakest != "", "weakest: " + weakest, "")
        fallback = pd.Series(fallback, index=red.index, dtype=object)
    if "lift_to_next_band" in red.columns:
        lift = red["lift_to_next_band"].fillna("").astype(str)
        fallback = fallback.where(lift == "", fallback + np.where(fallback != "", "; ", "") + "lift: " + lift)
    if actions is None or actions.empty or "reason" not in actions.columns:
        return fallback
    fired = (actions.dropna(subset=["reason"]).astype({"reason": str})
             .groupby("account_id", sort=False)["reason"].agg(lambda r: "; ".join(dict.fromkeys(r))))
    from_actions = red["account_id"].map(fired)
    return from_actions.where(from_actions.notna() & (from_actions != ""), fallback).astype(object)


def expansion_section(accounts: pd.DataFrame, by: list[str], top: int = TOP_N) -> pd.DataFrame:
    """Per group, healthy accounts that are outgrowing their plan: green, and seats at least
    85 % used or usage up 20 % or more against the previous 30 days; most MRR first."""
    cols = ["group_by", "group", "account_id", "account_name", "csm", "mrr", "score",
            "seat_utilization", "usage_trend", "reason"]
    if accounts.empty or "band" not in accounts.columns:
        return pd.DataFrame(columns=cols)
    active = _active(accounts)
    green = active[active["band"].astype(str) == "green"].copy()
    util = _num(green, "seat_utilization") if "seat_utilization" in green.columns else None
    trend = pd.to_numeric(green["usage_trend"], errors="coerce") if "usage_trend" in green.columns else None
    if util is None and trend is None:
        return pd.DataFrame(columns=cols)
    full = util >= 0.85 if util is not None else pd.Series(False, index=green.index)
    growing = trend >= 0.2 if trend is not None else pd.Series(False, index=green.index)
    pick = green[full | growing].copy()
    if pick.empty:
        return pd.DataFrame(columns=cols)
    reason = pd.Series("", index=pick.index, dtype=object)
    if util is not None:
        u = util.reindex(pick.index)
        reason = reason.where(~(u >= 0.85), "seats " + (u * 100).round().astype("Int64").astype(str) + "% used")
    if trend is not None:
        t = trend.reindex(pick.index)
        text = "usage +" + (t * 100).round().astype("Int64").astype(str) + "% vs previous 30 days"
        reason = reason.where(~(t >= 0.2), reason + np.where(reason != "", "; ", "") + text)
    pick["reason"] = reason
    pick["_mrr"] = _num(pick, "mrr")
    pick = pick.sort_values("_mrr", ascending=False, kind="stable")
    parts = [part.head(top).assign(group_by=group_by, group=group) for group_by, group, part in _groupings(pick, by)]
    return pd.concat(parts, ignore_index=True).reindex(columns=cols)


TREND_KPIS = ("mrr", "new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr",
              "net_new_mrr", "nrr", "grr", "logo_churn_rate", "nps")


def trend_frame(bundle: ReportBundle) -> pd.DataFrame:
    """Monthly portfolio trend (the charts' data): MRR and its movements — contraction and
    churned negative, so they stack below zero — NRR, GRR, logo churn, NPS and the health mix
    (green, yellow, red shares). NaN where a KPI was not computed."""
    wide = bundle.kpis.wide() if not bundle.kpis.table.empty else pd.DataFrame()
    out = pd.DataFrame(index=pd.Index(bundle.periods, name="period"))
    for key in TREND_KPIS:
        out[key] = wide[key].reindex(out.index) if key in wide.columns else np.nan
    for key in ("contraction_mrr", "churned_mrr"):
        out[key] = -out[key]
    mix = bundle.health_mix
    for band in BAND_ORDER[:3]:
        out[band] = mix[band].reindex(out.index) if band in getattr(mix, "columns", []) else np.nan
    return out.reset_index()


def kpi_unit(kpi_id: str) -> str:
    """The registry unit of a KPI id (dimensioned ids included); "number" when unknown."""
    try:
        return get_kpi(kpi_id).unit
    except KeyError:
        return "number"
