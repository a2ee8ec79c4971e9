"""Per-account snapshot: one row per account with every metric the health score and the
playbooks read, computed **as of** a date with no information from after it.

The as-of rule
    ``as_of`` is a day (a time of day is dropped). Event tables (usage, tickets, surveys,
    renewals) only contribute rows dated *before* ``as_of``. MRR is the snapshot at the instant
    ``as_of`` by the DESIGN.md rule (subscriptions with ``start_date <= as_of < end_date``; from
    an MRR table, the latest month-end snapshot at or before ``as_of`` - the value of month *m*
    is known from the first day of *m + 1* - carried at most 62 days). Accounts appear once they
    are known: in the accounts table with ``customer_since`` before ``as_of`` (or none), or with
    billing known by then. Dated CRM fields (``onboarded_on``, ``csm_sentiment_date``,
    ``churn_date``) count only when before ``as_of``; ``status`` is left empty for accounts whose
    ``churn_date`` is on or after ``as_of`` (the CRM's current status would reveal the outcome
    to a backtest). Undated CRM fields (name, csm, segment, seats, referrals, and
    ``csm_sentiment`` without a date) are taken as they are: the CRM keeps no history of them.

Renewals: the next renewal on or after ``as_of`` is the contract anniversary (every
``options["renewal_term_months"]``, default 12) of ``accounts.renewal_date``, or else of the
last renewal in the renewals table dated before ``as_of``. Future renewal rows are not read.

Windows: "30d" = the 30 days before ``as_of`` ([as_of - 30 days, as_of)), "prev 30d" the 30 days
before those, "90d" = [as_of - 90 days, as_of). If no account at all has usage in the last 30
days (the usage export ends earlier) the usage columns are left empty rather than zero.

``account_snapshots(dataset, dates)`` stacks the snapshots of many as-of dates (backtests) and
shares every sort and reduction between them. ``columns=`` restricts the result to some columns
(``account_id`` and ``as_of`` are always there): the families of metrics nobody asked for
(usage, tickets, surveys, renewals, onboarding, ...) are then not computed at all, and the
columns that are computed hold exactly the values of the full snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .dataset import Dataset
from .kpis.adoption import activity_bucket, key_feature_positions
from .kpis.onboarding import DEFAULT_ONBOARDING_DAYS, milestone_option
from .kpis.sentiment import survey_scores
from .kpis.support import URGENT_PRIORITIES
from .problems import Problem
from .schema import SURVEY_SCALES
from .usage_engine import DailyUsage, daily_usage, merged_options, milestone_dates, usage_source

NS_PER_DAY = 86_400 * 10**9
HALF_LIFE_DAYS = 180.0
MRR_CARRY_DAYS = 62


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str  # currency, count, fraction, score, days, ratio, number, bool
    direction: str | None  # "higher" / "lower" is better, None = neither
    description: str


def _m(name, label, unit, direction, description):
    return Metric(name, label, unit, direction, description)


#: Every numeric or yes/no column of the snapshot (health components and playbooks validate
#: metric names against this; faces use the labels).
METRICS: dict[str, Metric] = {m.name: m for m in (
    _m("mrr", "MRR", "currency", "higher", "MRR at the as-of instant"),
    _m("mrr_3m_ago", "MRR 3 months ago", "currency", None, "MRR at the instant three months before as-of"),
    _m("mrr_trend_3m", "MRR trend (3 months)", "fraction", "higher",
       "MRR / MRR three months before - 1; empty when there was no MRR then"),
    _m("arr", "ARR", "currency", "higher", "12 x MRR"),
    _m("active", "Paying", "bool", "higher", "MRR > 0 at as-of (without revenue data: a customer by the CRM dates)"),
    _m("churned", "Churned (CRM)", "bool", "lower", "accounts.churn_date before as-of"),
    _m("tenure_days", "Tenure", "days", "higher", "Days since customer_since (else the first paid day)"),
    _m("days_to_renewal", "Days to renewal", "days", None,
       "Days from as-of to the next contract anniversary of the renewal date"),
    _m("seats", "Seats", "count", None, "Licensed seats (accounts.seats)"),
    _m("active_users_30d", "Active users (30 days)", "count", "higher",
       "Distinct users with usage in the last 30 days"),
    _m("seat_utilization", "Seat utilisation", "fraction", "higher", "Active users (30 days) / seats"),
    _m("depth", "Adoption depth", "fraction", "higher",
       "Share of the key features used in the last 30 days (key features: option key_features, default every "
       "feature seen before as-of)"),
    _m("features_used_30d", "Features used (30 days)", "count", "higher", "Distinct features used in the last 30 days"),
    _m("events_30d", "Events (30 days)", "count", "higher", "Usage events in the last 30 days"),
    _m("events_prev_30d", "Events (previous 30 days)", "count", None, "Usage events in the 30 days before those"),
    _m("usage_trend", "Usage trend", "fraction", "higher",
       "events_30d / events_prev_30d - 1; empty when the previous 30 days had none"),
    _m("days_since_last_activity", "Days since last activity", "days", "lower",
       "Days from the last usage event before as-of to as-of (empty when never active)"),
    _m("days_active_30d", "Days active (30 days)", "count", "higher", "Days with usage in the last 30 days"),
    _m("tickets_90d", "Tickets (90 days)", "count", "lower", "Tickets created in the last 90 days"),
    _m("urgent_tickets_90d", "Urgent tickets (90 days)", "count", "lower",
       "Tickets of urgent/high/critical priority created in the last 90 days (option urgent_priorities)"),
    _m("open_tickets", "Open tickets", "count", "lower", "Tickets created before as-of and not resolved by then"),
    _m("last_nps", "Last NPS answer", "score", "higher",
       "The latest NPS answer (0-10) before as-of; the mean when several came that day"),
    _m("nps_weighted", "NPS answer (recency-weighted)", "score", "higher",
       "Mean NPS answer (0-10) weighted by recency, half-life 180 days"),
    _m("nps_responses", "NPS responses", "count", None, "NPS answers before as-of"),
    _m("last_csat", "Last CSAT answer", "score", "higher", "The latest CSAT answer (1-5) before as-of"),
    _m("csat_weighted", "CSAT answer (recency-weighted)", "score", "higher",
       "Mean CSAT answer (1-5) weighted by recency, half-life 180 days"),
    _m("last_ces", "Last CES answer", "score", "higher", "The latest CES answer (1-7, 7 = very easy) before as-of"),
    _m("ces_weighted", "CES answer (recency-weighted)", "score", "higher",
       "Mean CES answer (1-7) weighted by recency, half-life 180 days"),
    _m("csm_sentiment", "CSM sentiment", "score", "higher",
       "accounts.csm_sentiment (with csm_sentiment_date: only when recorded before as-of)"),
    _m("csm_sentiment_age_days", "CSM sentiment age", "days", "lower", "Days since csm_sentiment_date"),
    _m("onboarded", "Onboarded", "bool", "higher",
       "Onboarding completed before as-of (onboarded_on, or the usage milestone of option onboarding_milestone)"),
    _m("days_to_onboard", "Days to onboard", "days", "lower", "Days from customer_since to onboarding"),
    _m("referrals", "Referrals", "count", "higher", "accounts.referrals"),
    _m("reviews", "Reviews", "count", "higher", "accounts.reviews"),
    _m("case_studies", "Case studies", "count", "higher", "accounts.case_studies"),
)}

TEXT_COLUMNS = ("account_name", "csm", "segment", "plan", "region", "industry", "status")

COLUMNS = (
    "account_id", "as_of", "account_name", "csm", "segment", "plan", "region", "industry", "status", "churned",
    "mrr", "mrr_3m_ago", "mrr_trend_3m", "arr", "active", "customer_since", "tenure_days", "renewal_date",
    "days_to_renewal", "seats", "active_users_30d", "seat_utilization", "depth", "features_used_30d", "events_30d",
    "events_prev_30d", "usage_trend", "last_activity", "days_since_last_activity", "days_active_30d",
    "activity_bucket", "tickets_90d", "urgent_tickets_90d", "open_tickets", "last_nps", "last_nps_date",
    "nps_weighted", "nps_responses", "last_csat", "last_csat_date", "csat_weighted", "last_ces", "last_ces_date",
    "ces_weighted", "csm_sentiment", "csm_sentiment_age_days", "onboarded", "onboarded_on", "days_to_onboard",
    "onboarding_status", "referrals", "reviews", "case_studies",
)

#: Columns computed together (one family = one pass over its source table).
USAGE_COLUMNS = ("active_users_30d", "depth", "features_used_30d", "events_30d", "events_prev_30d",
                 "days_since_last_activity", "days_active_30d", "last_activity", "activity_bucket",
                 "seat_utilization", "usage_trend")
TICKET_COLUMNS = ("tickets_90d", "urgent_tickets_90d", "open_tickets")
SURVEY_COLUMNS = ("last_nps", "last_nps_date", "nps_weighted", "nps_responses", "last_csat", "last_csat_date",
                  "csat_weighted", "last_ces", "last_ces_date", "ces_weighted")
ONBOARDING_COLUMNS = ("onboarded", "onboarded_on", "days_to_onboard", "onboarding_status")
RENEWAL_COLUMNS = ("renewal_date", "days_to_renewal")
SENTIMENT_COLUMNS = ("csm_sentiment", "csm_sentiment_age_days")


# -- helpers --------------------------------------------------------------------------------------
def _ns(values) -> np.ndarray:
    """datetime-like -> int64 ns with NaT as the int64 minimum."""
    return np.asarray(pd.to_datetime(values), dtype="datetime64[ns]").astype(np.int64)




def _positions(ids: pd.Index, values: pd.Series) -> np.ndarray:
    return ids.get_indexer(pd.Index(values.astype(object)))


def _shift_months(dates: np.ndarray, months: np.ndarray) -> np.ndarray:
    """datetime64[ns] + whole months (day clipped to the month's length); NaT stays NaT."""
    idx = pd.DatetimeIndex(dates)
    ok = ~idx.isna()
    out = np.full(len(idx), np.datetime64("NaT"), dtype="datetime64[ns]")
    if not ok.any():
        return out
    y, m, d = idx.year.to_numpy()[ok], idx.month.to_numpy()[ok], idx.day.to_numpy()[ok]
    total = y * 12 + (m - 1) + np.asarray(months)[ok]
    y2, m2 = total // 12, total % 12 + 1
    first = pd.to_datetime(pd.DataFrame({"year": y2, "month": m2, "day": 1}))
    dim = first.dt.days_in_month.to_numpy()
    day = np.minimum(d, dim)
    out[ok] = (first + pd.to_timedelta(day - 1, unit="D")).to_numpy(dtype="datetime64[ns]")
    return out


def _next_anniversary(anchor: np.ndarray, t: np.datetime64, term: int) -> np.ndarray:
    """Smallest anchor + k * term months (k any integer) that is >= t."""
    idx = pd.DatetimeIndex(anchor)
    ok = ~idx.isna()
    out = np.full(len(idx), np.datetime64("NaT"), dtype="datetime64[ns]")
    if not ok.any():
        return out
    ts = pd.Timestamp(t)
    months_apart = (ts.year * 12 + ts.month) - (idx.year.to_numpy() * 12 + idx.month.to_numpy())
    k0 = np.floor_divide(np.where(ok, months_apart, 0), term) - 1
    best = out.copy()
    for extra in range(0, 4):
        cand = _shift_months(np.asarray(anchor, dtype="datetime64[ns]"), (k0 + extra) * term)
        take = ok & ~np.isnat(cand) & (cand >= t) & (np.isnat(best) | (cand < best))
        best[take] = cand[take]
    return best


# -- MRR at instants -------------------------------------------------------------------------------
def mrr_at_instants(dataset: Dataset, ids: pd.Index, instants: np.ndarray) -> np.ndarray | None:
    """MRR of ``ids`` at each instant (ids x instants); None without revenue data."""
    K = len(instants)
    A = len(ids)
    inst = np.asarray(instants, dtype="datetime64[ns]")
    if dataset.has("mrr"):
        m = dataset.table("mrr")
        m = m[m["month"].notna()]
        snap = (m["month"].dt.to_period("M").dt.to_timestamp() + pd.offsets.MonthBegin(1)).to_numpy(
            dtype="datetime64[ns]")
        data_inst = np.unique(snap)
        pos_r = _positions(ids, m["account_id"])
        col_r = np.searchsorted(data_inst, snap)
        ok = pos_r >= 0
        table = np.zeros(A * len(data_inst))
        np.add.at(table, pos_r[ok] * len(data_inst) + col_r[ok], np.nan_to_num(m["mrr"].to_numpy(dtype=float)[ok]))
        table = table.reshape(A, len(data_inst))
        out = np.full((A, K), np.nan)
        pos = np.searchsorted(data_inst, inst, side="right") - 1
        for k in range(K):
            if pos[k] < 0 or (inst[k] - data_inst[pos[k]]) > np.timedelta64(MRR_CARRY_DAYS, "D"):
                continue
            out[:, k] = table[:, pos[k]]
        return out
    if dataset.has("subscriptions"):
        s = dataset.table("subscriptions")
        s = s[s["start_date"].notna()]
        pos_r = _positions(ids, s["account_id"])
        ok = pos_r >= 0
        start = s["start_date"].to_numpy(dtype="datetime64[ns]")[ok]
        end = s["end_date"].to_numpy(dtype="datetime64[ns]")[ok] if "end_date" in s else \
            np.full(ok.sum(), np.datetime64("NaT"), dtype="datetime64[ns]")
        values = np.nan_to_num(s["mrr"].to_numpy(dtype=float)[ok]) if "mrr" in s else np.zeros(ok.sum())
        order = np.argsort(inst)
        sorted_inst = inst[order]
        i0 = np.searchsorted(sorted_inst, start, side="left")  # first instant >= start
        end_f = np.where(np.isnat(end), np.datetime64("2262-01-01", "ns"), end)
        i1 = np.searchsorted(sorted_inst, end_f, side="left")  # first instant >= end: not covered
        diff = np.zeros(A * (K + 1))
        r = pos_r[ok]
        np.add.at(diff, r * (K + 1) + i0, values)
        np.add.at(diff, r * (K + 1) + i1, -values)
        grid = np.cumsum(diff.reshape(A, K + 1)[:, :K], axis=1)
        grid = np.round(grid, 6)
        grid[np.abs(grid) < 1e-9] = 0.0
        out = np.empty_like(grid)
        out[:, order] = grid
        return out
    return None


def _first_revenue(dataset: Dataset, ids: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Per id: first paid date and the instant it became known (NaT = never)."""
    first = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
    known = first.copy()
    frames = []
    if dataset.has("mrr"):
        m = dataset.table("mrr")
        m = m[(m["mrr"].fillna(0) > 0) & m["month"].notna()]
        month = m["month"].dt.to_period("M").dt.to_timestamp()
        frames.append(pd.DataFrame({"account_id": m["account_id"].to_numpy(), "first": month.to_numpy(),
                                    "known": (month + pd.offsets.MonthBegin(1)).to_numpy()}))
    elif dataset.has("subscriptions"):
        s = dataset.table("subscriptions")
        s = s[s["start_date"].notna() & ((s["mrr"].fillna(0) > 0) if "mrr" in s else True)]
        frames.append(pd.DataFrame({"account_id": s["account_id"].to_numpy(), "first": s["start_date"].to_numpy(),
                                    "known": s["start_date"].to_numpy()}))
    for f in frames:
        g = f.groupby("account_id")[["first", "known"]].min()
        pos = ids.get_indexer(pd.Index(g.index.astype(object)))
        ok = pos >= 0
        first[pos[ok]] = g["first"].to_numpy(dtype="datetime64[ns]")[ok]
        known[pos[ok]] = g["known"].to_numpy(dtype="datetime64[ns]")[ok]
    return first, known


def _billing_known(dataset: Dataset, ids: pd.Index) -> np.ndarray:
    """Per id, the first instant any billing row of it is known (NaT = none)."""
    out = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[ns]")
    if dataset.has("mrr"):
        m = dataset.table("mrr")
        m = m[m["month"].notna()]
        known = m["month"].dt.to_period("M").dt.to_timestamp() + pd.offsets.MonthBegin(1)
        g = pd.Series(known.to_numpy(), index=m["account_id"].to_numpy()).groupby(level=0).min()
    elif dataset.has("subscriptions"):
        s = dataset.table("subscriptions")
        s = s[s["start_date"].notna()]
        g = pd.Series(s["start_date"].to_numpy(), index=s["account_id"].to_numpy()).groupby(level=0).min()
    else:
        return out
    pos = ids.get_indexer(pd.Index(g.index.astype(object)))
    ok = pos >= 0
    out[pos[ok]] = g.to_numpy(dtype="datetime64[ns]")[ok]
    return out


def _revenue_ids(dataset: Dataset) -> pd.Index:
    parts = []
    for name in ("mrr", "subscriptions"):
        if dataset.has(name):
            parts.append(dataset.table(name)["account_id"].dropna().astype(object).unique())
    return pd.Index(np.concatenate(parts) if parts else np.array([], dtype=object), dtype=object).unique()


# -- the snapshot ---------------------------------------------------------------------------------
def _as_of_dates(as_of_dates) -> pd.DatetimeIndex:
    if isinstance(as_of_dates, (str, pd.Timestamp, np.datetime64)) or not isinstance(as_of_dates, Iterable):
        as_of_dates = [as_of_dates]
    dates = pd.DatetimeIndex(pd.to_datetime(list(as_of_dates))).normalize()
    return dates.unique().sort_values()


def account_snapshot(dataset: Dataset, as_of, options: dict | None = None,
                     columns: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per account known at ``as_of`` (see the module docstring for the as-of rule)."""
    return account_snapshots(dataset, [as_of], options, columns=columns)


def _wanted(columns: Iterable[str] | None) -> set[str] | None:
    if columns is None:
        return None
    if isinstance(columns, str):
        columns = [columns]
    want = set(columns)
    unknown = sorted(want - set(COLUMNS))
    if unknown:
        raise ValueError(f"not snapshot columns: {', '.join(map(repr, unknown))}")
    return want | {"account_id", "as_of"}


def account_snapshots(dataset: Dataset, as_of_dates, options: dict | None = None,
                      progress: Callable[[float, str], None] | None = None,
                      columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Snapshots of several as-of dates stacked (column ``as_of``), sorted by as_of and account.

    ``columns``: only these columns (in ``COLUMNS`` order; ``account_id`` and ``as_of`` always),
    computing only the metric families they need - same rows, same values as the full snapshot.
    Problems found on the way are in ``result.attrs["problems"]`` (with ``columns``: those of
    the families computed). Unknown column names raise ``ValueError``."""
    want = _wanted(columns)

    def need(*names: str) -> bool:
        return want is None or not want.isdisjoint(names)

    opts = merged_options(dataset, options)
    dates = _as_of_dates(as_of_dates)
    T = len(dates)
    problems: list[Problem] = []
    t_ns = dates.to_numpy(dtype="datetime64[ns]")
    acc = dataset.table("accounts")
    acc = acc.drop_duplicates("account_id", keep="last") if len(acc) else acc
    acc_ids = pd.Index(acc["account_id"].astype(object)) if len(acc) else pd.Index([], dtype=object)
    ids = acc_ids.union(_revenue_ids(dataset)).sort_values()
    ids = pd.Index(ids, dtype=object, name="account_id")
    A = len(ids)
    acc_pos = ids.get_indexer(acc_ids) if len(acc) else np.zeros(0, dtype=np.int64)

    def acc_col(name, dtype=object):
        if name not in acc or not len(acc):
            if dtype == "datetime64[ns]":
                return np.full(A, np.datetime64("NaT"), dtype="datetime64[ns]")
            return np.full(A, np.nan) if dtype is float else np.full(A, None, dtype=object)
        if dtype == "datetime64[ns]":
            out = np.full(A, np.datetime64("NaT"), dtype="datetime64[ns]")
            out[acc_pos] = acc[name].to_numpy(dtype="datetime64[ns]")
        elif dtype is float:
            out = np.full(A, np.nan)
            out[acc_pos] = pd.to_numeric(acc[name], errors="coerce").to_numpy(dtype=float)
        else:
            out = np.full(A, None, dtype=object)
            vals = acc[name].astype(object).to_numpy()
            out[acc_pos] = np.where(pd.isna(vals), None, vals)
        return out

    cols: dict[str, np.ndarray] = {}  # name -> A x T (or A for static columns)
    since_crm = acc_col("customer_since", "datetime64[ns]")
    churn = acc_col("churn_date", "datetime64[ns]")
    in_acc = np.zeros(A, dtype=bool)
    in_acc[acc_pos] = True
    billing_known = _billing_known(dataset, ids)
    tt = t_ns[None, :]
    universe = (in_acc[:, None] & (np.isnat(since_crm)[:, None] | (since_crm[:, None] < tt))) | \
               (~np.isnat(billing_known)[:, None] & (billing_known[:, None] <= tt))

    # revenue
    three_back = (dates - pd.DateOffset(months=3)).to_numpy(dtype="datetime64[ns]")
    mrr_now = mrr_at_instants(dataset, ids, np.concatenate([t_ns, three_back])) if A else None
    status = acc_col("status")
    churned_by = ~np.isnat(churn)[:, None] & (churn[:, None] < tt)
    if mrr_now is not None:
        mrr, mrr_3m = mrr_now[:, :T], mrr_now[:, T:]
        active = np.nan_to_num(mrr, nan=0.0) > 0
    else:
        mrr = np.full((A, T), np.nan)
        mrr_3m = mrr.copy()
        active = in_acc[:, None] & (np.isnat(since_crm)[:, None] | (since_crm[:, None] < tt)) & ~churned_by
    with np.errstate(divide="ignore", invalid="ignore"):
        trend = np.where(mrr_3m > 0, mrr / mrr_3m - 1.0, np.nan)
    cols.update(mrr=mrr, mrr_3m_ago=mrr_3m, mrr_trend_3m=trend, arr=mrr * 12, active=active, churned=churned_by)
    if need("status"):
        status_t = np.repeat(status[:, None], T, axis=1)
        status_t[~np.isnat(churn)[:, None] & (churn[:, None] >= tt)] = None
        cols["status"] = status_t

    # customer since, tenure
    since = None
    if need("customer_since", "tenure_days", *ONBOARDING_COLUMNS):
        first_paid, first_known = _first_revenue(dataset, ids)
        crm_ok = ~np.isnat(since_crm)[:, None] & (since_crm[:, None] < tt)
        paid_ok = ~np.isnat(first_known)[:, None] & (first_known[:, None] <= tt)
        since = np.where(crm_ok, since_crm[:, None], np.where(paid_ok, first_paid[:, None], np.datetime64("NaT")))
        since = since.astype("datetime64[ns]")
        cols["customer_since"] = since
        cols["tenure_days"] = _days(tt - since)

    if need(*RENEWAL_COLUMNS):
        _renewal_columns(cols, dataset, ids, t_ns, tt, opts, acc_col)

    # usage
    seats = acc_col("seats", float)
    milestone_usage = need(*ONBOARDING_COLUMNS) and bool(opts.get("onboarding_milestone"))
    src = usage_source(dataset, opts) if need(*USAGE_COLUMNS) or milestone_usage else None
    daily = daily_usage(src, pd.Timestamp(dates[-1]), accounts=ids) if src is not None and T else None
    if daily is not None:
        problems.extend(daily.problems)
    if need(*USAGE_COLUMNS):
        if daily is not None:
            _usage_columns(cols, daily, ids, dates, seats, opts, problems)
        else:
            for name in ("active_users_30d", "depth", "features_used_30d", "events_30d", "events_prev_30d",
                         "days_active_30d", "days_since_last_activity"):
                cols[name] = np.full((A, T), np.nan)
            cols["last_activity"] = np.full((A, T), np.datetime64("NaT"), dtype="datetime64[ns]")
            cols["activity_bucket"] = np.full((A, T), None, dtype=object)
        with np.errstate(divide="ignore", invalid="ignore"):
            cols["seat_utilization"] = np.where(seats[:, None] > 0, cols["active_users_30d"] / seats[:, None],
                                                np.nan)
            cols["usage_trend"] = np.where(cols["events_prev_30d"] > 0,
                                           cols["events_30d"] / cols["events_prev_30d"] - 1.0, np.nan)

    # support
    if need(*TICKET_COLUMNS):
        _ticket_columns(cols, dataset, ids, t_ns, opts)
    # surveys
    if need(*SURVEY_COLUMNS):
        _survey_columns(cols, dataset, ids, t_ns, opts, problems)
    # CSM sentiment
    if need(*SENTIMENT_COLUMNS):
        _sentiment_columns(cols, acc, acc_col, tt, T)

    # onboarding
    if need(*ONBOARDING_COLUMNS):
        _onboarding_columns(cols, dataset, ids, t_ns, since, opts, daily, acc_col, problems)

    # assemble: rows (as_of, account) where the account is known
    ti, ai = np.nonzero(universe.T)
    out = {"account_id": ids.to_numpy(dtype=object)[ai], "as_of": t_ns[ti]}
    for name in TEXT_COLUMNS:
        if name == "status" or not need(name):
            continue
        out[name] = acc_col(name)[ai]
    for name in ("seats", "referrals", "reviews", "case_studies"):
        if need(name):
            out[name] = acc_col(name, float)[ai] if name != "seats" else seats[ai]
    for name, arr in cols.items():
        if need(name):
            out[name] = arr[ai, ti]
    frame = pd.DataFrame(out)
    for name in ("active", "churned"):
        if name in frame:
            frame[name] = frame[name].astype(bool)
    if "onboarded" in frame and frame["onboarded"].dtype == object:
        frame["onboarded"] = frame["onboarded"].astype("boolean")
    for name in ("activity_bucket", "onboarding_status") + TEXT_COLUMNS:  # text: object, missing = None
        if name not in frame:
            continue
        col = frame[name].astype(object)
        frame[name] = col.where(col.notna(), None)
    frame = frame[[c for c in COLUMNS if c in frame]]
    frame.attrs["problems"] = problems
    if progress:
        progress(1.0, "snapshots built")
    return frame


def _renewal_columns(cols, dataset: Dataset, ids: pd.Index, t_ns: np.ndarray, tt: np.ndarray, opts, acc_col):
    A, T = len(ids), len(t_ns)
    term = int(opts.get("renewal_term_months", 12) or 12)
    anchor_crm = acc_col("renewal_date", "datetime64[ns]")
    last_ren = np.full((A, T), np.datetime64("NaT"), dtype="datetime64[ns]")
    if dataset.has("renewals"):
        ren = dataset.table("renewals")
        ren = ren[ren["renewal_date"].notna()]
        pos = _positions(ids, ren["account_id"])
        d = ren["renewal_date"].to_numpy(dtype="datetime64[ns]")
        ok = pos >= 0
        for j in range(T):
            sel = ok & (d < t_ns[j])
            if sel.any():
                g = pd.Series(d[sel]).groupby(pos[sel]).max()
                last_ren[g.index.to_numpy(), j] = g.to_numpy(dtype="datetime64[ns]")
    renewal = np.full((A, T), np.datetime64("NaT"), dtype="datetime64[ns]")
    for j in range(T):
        anchor = np.where(np.isnat(anchor_crm), last_ren[:, j], anchor_crm)
        renewal[:, j] = _next_anniversary(anchor, t_ns[j], term)
    cols["renewal_date"] = renewal
    cols["days_to_renewal"] = _days(renewal - tt)

def _sentiment_columns(cols, acc: pd.DataFrame, acc_col, tt: np.ndarray, T: int):
    sentiment = acc_col("csm_sentiment", float)
    s_date = acc_col("csm_sentiment_date", "datetime64[ns]")
    if "csm_sentiment_date" in acc and len(acc):
        known = ~np.isnat(s_date)[:, None] & (s_date[:, None] < tt)
        undated = np.isnat(s_date)[:, None] & np.ones((1, T), bool)
        cols["csm_sentiment"] = np.where(known | undated, sentiment[:, None], np.nan)
        cols["csm_sentiment_age_days"] = np.where(known, _days(tt - s_date[:, None]), np.nan)
    else:
        cols["csm_sentiment"] = np.repeat(sentiment[:, None], T, axis=1)
        cols["csm_sentiment_age_days"] = np.full((len(sentiment), T), np.nan)



def _days(delta: np.ndarray) -> np.ndarray:
    d = np.asarray(delta, dtype="timedelta64[ns]")
    out = d.astype(np.int64) / NS_PER_DAY
    return np.where(np.isnat(d), np.nan, out)


def _usage_columns(cols, daily: DailyUsage, ids: pd.Index, dates: pd.DatetimeIndex, seats, opts, problems):
    A, T = len(ids), len(dates)
    pos = ids.get_indexer(daily.accounts) if len(daily.accounts) else np.zeros(0, np.int64)
    acct = pos[daily.acct] if len(daily.acct) else np.zeros(0, np.int64)
    keep = acct >= 0
    acct, user, day, feat, ev = acct[keep], daily.user[keep], daily.day[keep], daily.feat[keep], daily.events[keep]
    t_days = (dates.to_numpy(dtype="datetime64[D]").astype(np.int64))
    names = ("active_users_30d", "depth", "features_used_30d", "events_30d", "events_prev_30d", "days_active_30d",
             "days_since_last_activity")
    for n in names:
        cols[n] = np.full((A, T), np.nan)
    last = np.full((A, T), np.datetime64("NaT"), dtype="datetime64[ns]")
    F = len(daily.features)
    # first day each feature was seen (default key features: every feature seen before as-of)
    feat_first = np.full(F, np.iinfo(np.int64).max)
    if F and len(feat):
        fsel = feat >= 0
        np.minimum.at(feat_first, feat[fsel], day[fsel])
    key_opt = opts.get("key_features")
    kpos, n_key_opt = key_feature_positions(opts, daily.features, problems) if key_opt else (None, None)
    # dense users (a user belongs to one account) and bitmaps for the distinct counts
    uok_all = user >= 0
    ud = np.full(len(user), -1, dtype=np.int64)
    if daily.has_users and uok_all.any():
        codes, n_users = _dense_codes(user[uok_all])
        ud[uok_all] = codes
        user_acct = np.empty(n_users, dtype=np.int64)
        user_acct[codes] = acct[uok_all]
    else:
        user_acct = np.zeros(0, dtype=np.int64)
    F1 = F + 1
    last_day = np.full(A, np.iinfo(np.int64).min)
    done = 0
    order = np.argsort(t_days, kind="stable")
    for j in order:
        td = t_days[j]
        lo30, lo60 = np.searchsorted(day, td - 30), np.searchsorted(day, td - 60)
        hi = np.searchsorted(day, td)
        if hi > done:  # last activity: rows are sorted by day, as-of dates ascending
            np.maximum.at(last_day, acct[done:hi], day[done:hi])
            done = hi
        ok = last_day > np.iinfo(np.int64).min
        last[:, j] = np.where(ok, (np.where(ok, last_day, 0) * NS_PER_DAY).astype("datetime64[ns]"),
                              np.datetime64("NaT"))
        if hi <= lo30:
            continue  # no usage at all in the window: unknown, not zero
        cols["days_since_last_activity"][:, j] = np.where(ok, td - last_day, np.nan)
        w = slice(lo30, hi)
        wa, wd, wf, wu = acct[w], day[w], feat[w], ud[w]
        cols["events_30d"][:, j] = np.bincount(wa, weights=ev[w], minlength=A)
        cols["events_prev_30d"][:, j] = np.bincount(acct[lo60:lo30], weights=ev[lo60:lo30], minlength=A)
        cols["days_active_30d"][:, j] = _bitmap_count(wa * 30 + (wd - (td - 30)), A * 30, 30)
        if daily.has_users:
            seen = np.zeros(len(user_acct), dtype=bool)
            seen[wu[wu >= 0]] = True
            cols["active_users_30d"][:, j] = np.bincount(user_acct[seen], minlength=A)
        if daily.has_features:
            fm = wf >= 0
            cols["features_used_30d"][:, j] = _bitmap_count(wa[fm] * F1 + wf[fm], A * F1, F1)
            if key_opt:
                is_key = np.zeros(F1, bool)
                is_key[kpos] = True
                n_key = n_key_opt
            else:
                is_key = np.append(feat_first < td, False)
                n_key = int(is_key.sum())
            km = fm & is_key[np.where(wf >= 0, wf, F)]
            if n_key:
                cols["depth"][:, j] = _bitmap_count(wa[km] * F1 + wf[km], A * F1, F1) / n_key
    cols["last_activity"] = last
    cols["activity_bucket"] = activity_bucket(cols["days_active_30d"], opts).reshape(A, T)


def _dense_codes(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes 0..n-1 of non-negative int keys (equal keys, equal codes) and n. Small key ranges
    (user keys of an in-memory table: account x user number) use a lookup table instead of
    hashing; the codes are then in key order rather than first-seen order, which no count
    depends on."""
    top = int(keys.max()) + 1 if len(keys) else 0
    if top <= max(4 * len(keys), 1 << 20):
        present = np.zeros(top, dtype=bool)
        present[keys] = True
        remap = np.cumsum(present, dtype=np.int64) - 1
        return remap[keys], int(remap[-1]) + 1 if top else 0
    codes, uniq = pd.factorize(keys, use_na_sentinel=False)
    return codes, len(uniq)


def _bitmap_count(key: np.ndarray, size: int, per_owner: int) -> np.ndarray:
    """Distinct keys per owner, keys = owner * per_owner + thing (a bitmap: no sort)."""
    seen = np.zeros(size, dtype=bool)
    seen[key] = True
    return seen.reshape(-1, per_owner).sum(axis=1).astype(float)


def _ticket_columns(cols, dataset: Dataset, ids: pd.Index, t_ns: np.ndarray, opts):
    A, T = len(ids), len(t_ns)
    names = ("tickets_90d", "urgent_tickets_90d", "open_tickets")
    if not dataset.has("tickets"):
        for n in names:
            cols[n] = np.full((A, T), np.nan)
        return
    tk = dataset.table("tickets")
    tk = tk[tk["created_at"].notna()]
    pos = _positions(ids, tk["account_id"])
    ok = pos >= 0
    created = tk["created_at"].to_numpy(dtype="datetime64[ns]")[ok]
    resolved = (tk["resolved_at"].to_numpy(dtype="datetime64[ns]")[ok] if "resolved_at" in tk
                else np.full(ok.sum(), np.datetime64("NaT"), dtype="datetime64[ns]"))
    resolved = np.where(~np.isnat(resolved) & (resolved < created), created, resolved)
    urgent_set = {str(p).strip().lower() for p in (opts.get("urgent_priorities") or URGENT_PRIORITIES)}
    if "priority" in tk:
        codes, uniq = pd.factorize(tk["priority"].to_numpy(dtype=object, na_value=None)[ok])
        is_urgent = np.array([str(v).strip().lower() in urgent_set for v in uniq] + [False], dtype=bool)
        urgent = is_urgent[np.where(codes >= 0, codes, len(uniq))]
    else:
        urgent = np.zeros(ok.sum(), dtype=bool)
    a = pos[ok]
    order = np.argsort(created, kind="stable")
    created, resolved, urgent, a = created[order], resolved[order], urgent[order], a[order]
    for n in names:
        cols[n] = np.zeros((A, T))
    ninety = np.timedelta64(90, "D")
    for j in range(T):
        t = t_ns[j]
        lo, hi = np.searchsorted(created, t - ninety), np.searchsorted(created, t)
        cols["tickets_90d"][:, j] = np.bincount(a[lo:hi], minlength=A)
        cols["urgent_tickets_90d"][:, j] = np.bincount(a[lo:hi][urgent[lo:hi]], minlength=A)
        still = np.isnat(resolved[:hi]) | (resolved[:hi] >= t)
        cols["open_tickets"][:, j] = np.bincount(a[:hi][still], minlength=A)


def _survey_columns(cols, dataset: Dataset, ids: pd.Index, t_ns: np.ndarray, opts, problems):
    A, T = len(ids), len(t_ns)
    spec = {"nps": ("last_nps", "last_nps_date", "nps_weighted", "nps_responses"),
            "csat": ("last_csat", "last_csat_date", "csat_weighted", None),
            "ces": ("last_ces", "last_ces_date", "ces_weighted", None)}
    for last, date, weighted, count in spec.values():
        cols[last] = np.full((A, T), np.nan)
        cols[weighted] = np.full((A, T), np.nan)
        cols[date] = np.full((A, T), np.datetime64("NaT"), dtype="datetime64[ns]")
        if count:
            cols[count] = np.full((A, T), np.nan)
    if not dataset.has("surveys"):
        return
    sv = dataset.table("surveys")
    sv = sv[sv["date"].notna()]
    d_all = sv["date"].to_numpy(dtype="datetime64[ns]")
    half_life = float(opts.get("sentiment_half_life_days", HALF_LIFE_DAYS))
    # Per-row work done once for every as-of date: account positions and the survey type (as
    # survey_scores normalises it). survey_scores still decides per date which rows are usable
    # (its scale checks depend on the rows seen); it gets only the columns it reads, with a
    # RangeIndex so that the rows it keeps map back to these arrays.
    pos_all = _positions(ids, sv["account_id"])
    raw = sv["survey"].astype(object)
    codes, uniques = pd.factorize(raw)
    names = list(spec)
    kind_of = np.array([names.index(k) if k in names else -1
                        for k in (str(v).strip().lower() for v in uniques)] + [-1], dtype=np.int64)
    kind_all = kind_of[np.where(codes >= 0, codes, len(uniques))]
    base = pd.DataFrame({"account_id": pos_all, "date": d_all, "survey": raw.to_numpy(),
                         "score": sv["score"].to_numpy()})
    if not T:
        return
    # The rows usable as of the last date. Which of them survey_scores keeps can depend on the
    # rows seen only through one check: a type without a declared scale whose out-of-scale share
    # exceeds STRAY_SHARE is set aside whole. When no such type has any out-of-scale answer
    # before the last date, nothing depends on the rows seen (unknown types, missing scores and
    # declared scales act row by row), so the rows usable as of an earlier date are exactly the
    # last date's usable rows dated before it: one survey_scores call instead of one a date.
    last_rows, last_probs = survey_scores(base[d_all < t_ns[-1]], opts)
    problems.extend(last_probs)
    declared = {str(k).lower() for k in (opts.get("survey_scales") or {})}
    score_num = pd.to_numeric(base["score"], errors="coerce").to_numpy(dtype=float)
    seen = (d_all < t_ns[-1]) & ~np.isnan(score_num)
    row_wise = True
    for k, name in enumerate(names):
        if name not in declared:
            lo, hi = SURVEY_SCALES[name]
            v = score_num[seen & (kind_all == k)]
            row_wise &= not ((v < lo) | (v > hi)).any()
    at_last = last_rows.index.to_numpy()
    score_last = last_rows["score"].to_numpy(dtype=float)
    d_last = d_all[at_last]
    for j in range(T):
        t = t_ns[j]
        if j == T - 1:
            at, s = at_last, score_last
        elif row_wise:
            m = d_last < t
            at, s = at_last[m], score_last[m]
        else:
            rows, _ = survey_scores(base[d_all < t], opts)
            at, s = rows.index.to_numpy(), rows["score"].to_numpy(dtype=float)
        pos = pos_all[at]
        d = d_all[at]
        kind = kind_all[at]
        for k, (name, (last, date, weighted, count)) in enumerate(spec.items()):
            sel = (kind == k) & (pos >= 0)
            if count:
                cols[count][:, j] = np.bincount(pos[sel], minlength=A)
            if not sel.any():
                continue
            p, dd, ss = pos[sel], d[sel], s[sel]
            age = (t - dd).astype(np.int64) / NS_PER_DAY
            w = np.power(0.5, age / half_life)
            num = np.bincount(p, weights=w * ss, minlength=A)
            den = np.bincount(p, weights=w, minlength=A)
            with np.errstate(invalid="ignore", divide="ignore"):
                cols[weighted][:, j] = np.where(den > 0, num / den, np.nan)
            # latest day per account, mean of that day's answers
            dint = dd.astype(np.int64)
            latest = np.full(A, np.iinfo(np.int64).min)
            np.maximum.at(latest, p, dint)
            on_last = dint == latest[p]
            n_last = np.bincount(p[on_last], minlength=A)
            s_last = np.bincount(p[on_last], weights=ss[on_last], minlength=A)
            has = n_last > 0
            cols[last][has, j] = s_last[has] / n_last[has]
            cols[date][has, j] = latest[has].astype("datetime64[ns]")


def _onboarding_columns(cols, dataset: Dataset, ids: pd.Index, t_ns: np.ndarray, since: np.ndarray, opts,
                        daily: DailyUsage | None, acc_col, problems):
    A, T = len(ids), len(t_ns)
    tt = t_ns[None, :]
    milestone = milestone_option(opts, problems)
    onb = None
    if milestone is not None and daily is not None:
        dates = milestone_dates(daily, milestone[0], milestone[1])
        onb = np.full(A, np.datetime64("NaT"), dtype="datetime64[ns]")
        pos = ids.get_indexer(pd.Index(dates.index.astype(object)))
        ok = pos >= 0
        onb[pos[ok]] = dates.to_numpy(dtype="datetime64[ns]")[ok]
    elif "onboarded_on" in dataset.table("accounts"):
        onb = acc_col("onboarded_on", "datetime64[ns]")
    if onb is None:
        cols["onboarded"] = np.full((A, T), None, dtype=object)
        cols["onboarded_on"] = np.full((A, T), np.datetime64("NaT"), dtype="datetime64[ns]")
        cols["days_to_onboard"] = np.full((A, T), np.nan)
        cols["onboarding_status"] = np.full((A, T), None, dtype=object)
        return
    done = ~np.isnat(onb)[:, None] & (onb[:, None] < tt)
    onb_t = np.where(done, onb[:, None], np.datetime64("NaT")).astype("datetime64[ns]")
    days = _days(onb_t - since)
    days = np.where(days < 0, np.nan, days)
    limit = float(opts.get("onboarding_days", DEFAULT_ONBOARDING_DAYS))
    tenure = _days(tt - since)
    status = np.where(done, "onboarded", np.where(tenure > limit, "overdue", "onboarding")).astype(object)
    cols["onboarded"] = done.astype(object)
    cols["onboarded_on"] = onb_t
    cols["days_to_onboard"] = days
    cols["onboarding_status"] = status


__all__ = ["METRICS", "Metric", "COLUMNS", "account_snapshot", "account_snapshots", "mrr_at_instants"]
