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
from .usage_engine import (DailyUsage, daily_usage, merged_options, milestone_dates,
                           usage_source)

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
_NAT = np.datetime64("NaT", "ns")
_MIN, _MAX = np.iinfo(np.int64).min, np.iinfo(np.int64).max


def _nat(shape) -> np.ndarray:
    """An array of NaT (datetime64[ns])."""
    return np.full(shape, _NAT, dtype="datetime64[ns]")


def _days(delta: np.ndarray) -> np.ndarray:
    """timedelta64 -> float days; NaT -> NaN."""
    d = np.asarray(delta, dtype="timedelta64[ns]")
    out = d.view(np.int64) / NS_PER_DAY
    out[np.isnat(d)] = np.nan
    return out


def _on_day(month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Day ``day`` (0-based, clipped to the month's length) of ``month`` (datetime64[M]), at
    midnight, as datetime64[ns]; NaT months stay NaT."""
    first = month.astype("datetime64[D]")
    last_day = ((month + 1).astype("datetime64[D]") - first).astype(np.int64) - 1
    return (first + np.minimum(day, last_day)).astype("datetime64[ns]")


def _next_anniversary(anchor: np.ndarray, t: np.ndarray, term: int) -> np.ndarray:
    """Smallest anchor + k * term months (k any integer; the day clipped to the month's length,
    at midnight) that is >= t (elementwise, broadcast); NaT where the anchor is NaT."""
    ok = ~np.isnat(anchor)
    month = anchor.astype("datetime64[M]")
    day = (anchor.astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)
    months_apart = (t.astype("datetime64[M]") - month).astype(np.int64)
    k0 = np.floor_divide(np.where(ok, months_apart, 0), term) - 1
    best = _nat(k0.shape)
    for extra in range(0, 4):
        cand = _on_day(month + (k0 + extra) * term, day)
        take = ok & ~np.isnat(cand) & (cand >= t) & (np.isnat(best) | (cand < best))
        best[take] = cand[take]
    return best


# -- rows before instants ----------------------------------------------------------------------------
# Every event family asks, for many as-of instants at once, about the rows dated before each
# instant. The rows are grouped once by the first instant (ascending) they are before; sweeping
# the instants in ascending order, each group updates a per-account state that is then that
# instant's row of the result (memory: the result and a few per-account arrays).
def _instant_batches(pos: np.ndarray, times: np.ndarray, instants: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """For each instant in ascending order: (its index in ``instants``, the rows dated before it
    and not before the previous one, in row order). Rows without an account (pos < 0) or a
    time are left out."""
    rows = np.flatnonzero((pos >= 0) & ~np.isnat(times))
    order = np.argsort(instants, kind="stable")
    bucket = np.searchsorted(instants[order], times[rows], side="right")
    if len(order) < 2**16:
        bucket = bucket.astype(np.uint16)  # numpy's stable sort is then a radix sort
    by = np.argsort(bucket, kind="stable")
    rows, bucket = rows[by], bucket[by]
    bounds = np.searchsorted(bucket, np.arange(len(order) + 1))
    return [(int(order[k]), rows[bounds[k]:bounds[k + 1]]) for k in range(len(order))]


def _counts_before(pos: np.ndarray, times: np.ndarray, instants: np.ndarray, size: int) -> np.ndarray:
    """instants x size: the number of rows of each position dated before each instant (float)."""
    return _add_counts(np.zeros((len(instants), size)), pos, times, instants)


def _add_counts(out: np.ndarray, pos: np.ndarray, times: np.ndarray, instants: np.ndarray,
                sign: int = 1) -> np.ndarray:
    """Add (``sign`` -1: subtract) the number of rows of each position dated before
    ``instants[k]`` to ``out[k]`` (instants x positions, in place) for every k."""
    count = np.zeros(out.shape[1], dtype=np.int64)
    for k, rows in _instant_batches(pos, times, instants):
        np.add.at(count, pos[rows], 1)
        if sign > 0:
            out[k] += count
        else:
            out[k] -= count
    return out


def _latest_before(pos: np.ndarray, times: np.ndarray, instants: np.ndarray, size: int,
                   values: np.ndarray | None = None, times_too: bool = True
                   ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """instants x size: the latest row time of each position before each instant (NaT: none;
    None unless ``times_too``) and, with ``values``, the mean value of the rows at exactly that
    time (NaN: none; summed in row order from zero, as ``np.bincount`` does)."""
    when = np.empty((len(instants), size), dtype="datetime64[ns]") if times_too else None
    mean = np.empty((len(instants), size)) if values is not None else None
    latest, current = _nat(size), np.full(size, np.nan)
    latest_ns = latest.view(np.int64)
    n, total = np.zeros(size, dtype=np.int64), np.zeros(size)
    for k, batch in _instant_batches(pos, times, instants):
        # every row of a batch is later than the rows of the batches before: the latest time
        # of an account with rows in it is among them
        p, t = pos[batch], times[batch].view(np.int64)
        np.maximum.at(latest_ns, p, t)
        if values is not None and len(batch):
            on = t == latest_ns[p]
            p_on = p[on]
            n[p_on], total[p_on] = 0, 0.0
            np.add.at(n, p_on, 1)
            np.add.at(total, p_on, values[batch][on])
            current[p_on] = total[p_on] / n[p_on]
        if when is not None:
            when[k] = latest
        if mean is not None:
            mean[k] = current
    return when, mean


# -- account ids ------------------------------------------------------------------------------------
def _codes(dataset: Dataset, name: str, column: str = "account_id") -> tuple[np.ndarray, np.ndarray]:
    """(code of each row's value of ``column`` of table ``name`` among the column's distinct
    values, -1 when missing; those values): factorised once (cached on the dataset until the
    table changes)."""
    return dataset.codes(name, column)


def _positions(dataset: Dataset, name: str, ids: pd.Index, missing_matches: bool = True) -> np.ndarray:
    """Position in ``ids`` of each row's account of table ``name`` (-1 = not there). Rows
    without an id match a missing id of ``ids`` (as ``Index.get_indexer`` does) unless
    ``missing_matches`` is false."""
    codes, uniques = _codes(dataset, name)
    pos = np.append(ids.get_indexer(pd.Index(uniques, dtype=object)), -1)[codes]
    if missing_matches and ids.hasnans and (codes < 0).any():
        missing = np.flatnonzero(codes < 0)
        raw = dataset.table(name)["account_id"].to_numpy(dtype=object)[missing]
        pos[missing] = ids.get_indexer(pd.Index(raw, dtype=object))
    return pos


class _AccountRows:
    """The snapshot's account ids and the position among them of the rows of each table (each
    table looked up once per snapshot)."""

    def __init__(self, dataset: Dataset, ids: pd.Index):
        self.dataset, self.ids = dataset, ids
        self._positions: dict[tuple[str, bool], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, name: str, missing_matches: bool = True) -> np.ndarray:
        """:func:`_positions` of table ``name`` (shared: do not modify)."""
        key = (name, missing_matches and bool(self.ids.hasnans))
        if key not in self._positions:
            self._positions[key] = _positions(self.dataset, name, self.ids, key[1])
        return self._positions[key]


def _revenue_ids(dataset: Dataset) -> pd.Index:
    parts = [_codes(dataset, name)[1] for name in ("mrr", "subscriptions") if dataset.has(name)]
    return pd.Index(np.concatenate(parts) if parts else np.array([], dtype=object), dtype=object).unique()


# -- revenue ---------------------------------------------------------------------------------------------
def _min_by(pos: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Per position 0..size-1 the smallest of the int64 ``values`` of its rows (rows with pos -1
    left out); the int64 maximum for none."""
    out = np.full(size + 1, _MAX)
    np.minimum.at(out, pos, values)  # (pos -1 is the extra last slot: no copy of the rows kept)
    return out[:size]


def _earliest_by(pos: np.ndarray, dates: np.ndarray, size: int) -> np.ndarray:
    """Per position the earliest of ``dates`` (datetime64[ns]) of its rows; NaT for none."""
    first = _min_by(np.where(np.isnat(dates), -1, pos), dates.view(np.int64), size)
    return np.where(first == _MAX, _NAT, first.view("datetime64[ns]"))


def _month_instants(number: np.ndarray) -> np.ndarray:
    """Month numbers (months since 1970-01; the int64 maximum for none) -> their first instant."""
    none = number == _MAX
    return np.where(none, _NAT, np.where(none, 0, number).astype("datetime64[M]").astype("datetime64[ns]"))


def _month_numbers(dates: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of datetime64[ns] values (NaT: the int64 minimum). The calendar is
    consulted once per day of the span the values cover (a day -> month table), not per value."""
    missing = np.isnat(dates)
    days = dates.view(np.int64) // NS_PER_DAY
    if missing.all():
        return np.full(len(dates), _MIN)
    lo = int(np.min(days, where=~missing, initial=_MAX))
    hi = int(np.max(days, where=~missing, initial=_MIN))
    if hi - lo > 4 * len(dates) + 10_000:  # a few values far apart: convert them one by one
        return dates.astype("datetime64[M]").astype(np.int64)
    table = np.arange(lo, hi + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    days -= lo
    days[missing] = 0
    out = table[days]
    out[missing] = _MIN
    return out


def _mrr_months(dataset: Dataset) -> np.ndarray:
    """The month number (months since 1970-01) of each MRR row, the int64 minimum when it has
    none (cached on the dataset until the table changes)."""
    return dataset.cached("accounts_snapshot.mrr_months", None, ("mrr",), lambda: _month_numbers(
        dataset.table("mrr")["month"].to_numpy(dtype="datetime64[ns]")))


def _mrr_snapshots(dataset: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The MRR table's month-end snapshots: their instants (the value of month m is known from
    the first day of m + 1), each row's snapshot (-1: no month) and each row's MRR (missing: 0)
    (cached on the dataset until the table changes)."""

    def build():
        number = _mrr_months(dataset)
        undated = number == _MIN
        first = int(np.min(number, where=~undated, initial=_MAX)) if not undated.all() else 0
        month = number - first  # (months since the first; rows without one: an extra last slot)
        month[undated] = -1
        present = np.bincount(month + 1)[1:] > 0
        snapshot = np.append(np.cumsum(present) - 1, -1)[month]
        values = np.nan_to_num(dataset.table("mrr")["mrr"].to_numpy(dtype=float))
        return _month_instants(first + 1 + np.flatnonzero(present)), snapshot, values

    return dataset.cached("accounts_snapshot.mrr_snapshots", None, ("mrr",), build)


def mrr_at_instants(dataset: Dataset, ids: pd.Index, instants: np.ndarray) -> np.ndarray | None:
    """MRR of ``ids`` at each instant (ids x instants); None without revenue data."""
    grid = _mrr_grid(_AccountRows(dataset, ids), np.asarray(instants, dtype="datetime64[ns]"))
    return None if grid is None else np.ascontiguousarray(grid.T)


def _mrr_grid(rows: _AccountRows, inst: np.ndarray) -> np.ndarray | None:
    """MRR at each instant of each id (instants x ids); None without revenue data."""
    dataset, K, A = rows.dataset, len(inst), len(rows)
    if dataset.has("mrr"):
        data_inst, snapshot, values = _mrr_snapshots(dataset)
        pos = rows.positions("mrr")
        cells = len(data_inst) * A
        key = snapshot * A  # (snapshot, account) cell of each row; rows without either: an extra cell
        key += pos
        key[(snapshot < 0) | (pos < 0)] = cells
        table = np.bincount(key, weights=values, minlength=cells + 1)[:cells].reshape(len(data_inst), A)
        out = np.full((K, A), np.nan)
        at = np.searchsorted(data_inst, inst, side="right") - 1
        for k in range(K):
            if at[k] >= 0 and (inst[k] - data_inst[at[k]]) <= np.timedelta64(MRR_CARRY_DAYS, "D"):
                out[k] = table[at[k]]
        return out
    if dataset.has("subscriptions"):
        s = dataset.table("subscriptions")
        start = s["start_date"].to_numpy(dtype="datetime64[ns]")
        pos = rows.positions("subscriptions")
        ok = ~np.isnat(start) & (pos >= 0)
        start = start[ok]
        end = s["end_date"].to_numpy(dtype="datetime64[ns]")[ok] if "end_date" in s else _nat(len(start))
        values = np.nan_to_num(s["mrr"].to_numpy(dtype=float)[ok]) if "mrr" in s else np.zeros(len(start))
        order = np.argsort(inst)
        sorted_inst = inst[order]
        i0 = np.searchsorted(sorted_inst, start, side="left")  # first instant >= start
        end_f = np.where(np.isnat(end), np.datetime64("2262-01-01", "ns"), end)
        i1 = np.searchsorted(sorted_inst, end_f, side="left")  # first instant >= end: not covered
        # +value from the first covered instant, -value from the first one after; accumulated
        # per cell in row order (starts, then ends) and then along the instants
        r = pos[ok]
        diff = np.bincount(np.concatenate([i0 * A + r, i1 * A + r]), weights=np.concatenate([values, -values]),
                           minlength=(K + 1) * A).astype(float, copy=False)  # (int when there are no rows)
        grid = np.cumsum(diff.reshape(K + 1, A)[:K], axis=0)
        grid = np.round(grid, 6)
        grid[np.abs(grid) < 1e-9] = 0.0
        out = np.empty_like(grid)
        out[order] = grid
        return out
    return None


def _first_revenue(rows: _AccountRows) -> tuple[np.ndarray, np.ndarray]:
    """Per id: first paid date and the instant it became known (NaT = never)."""
    dataset, A = rows.dataset, len(rows)
    if dataset.has("mrr"):
        number = _mrr_months(dataset)
        paid = (number != _MIN) & (dataset.table("mrr")["mrr"].to_numpy(dtype=float) > 0)
        month = _min_by(np.where(paid, rows.positions("mrr", missing_matches=False), -1), number, A)
        return _month_instants(month), _month_instants(np.where(month == _MAX, _MAX, month + 1))
    if dataset.has("subscriptions"):
        s = dataset.table("subscriptions")
        paid = s["mrr"].to_numpy(dtype=float) > 0 if "mrr" in s else np.ones(len(s), bool)
        pos = np.where(paid, rows.positions("subscriptions", missing_matches=False), -1)
        first = _earliest_by(pos, s["start_date"].to_numpy(dtype="datetime64[ns]"), A)
        return first, first
    return _nat(A), _nat(A)


def _billing_known(rows: _AccountRows) -> np.ndarray:
    """Per id, the first instant any billing row of it is known (NaT = none)."""
    dataset, A = rows.dataset, len(rows)
    if dataset.has("mrr"):
        number = _mrr_months(dataset)
        pos = np.where(number != _MIN, rows.positions("mrr", missing_matches=False), -1)
        month = _min_by(pos, number, A)
        return _month_instants(np.where(month == _MAX, _MAX, month + 1))
    if dataset.has("subscriptions"):
        return _earliest_by(rows.positions("subscriptions", missing_matches=False),
                            dataset.table("subscriptions")["start_date"].to_numpy(dtype="datetime64[ns]"), A)
    return _nat(A)


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


class _AccountFields:
    """The accounts table's fields per snapshot id (one row per id: its last row)."""

    def __init__(self, acc: pd.DataFrame, acc_pos: np.ndarray, size: int):
        self.acc, self.pos, self.size = acc, acc_pos, size

    def has(self, name: str) -> bool:
        return name in self.acc and len(self.acc) > 0

    def get(self, name: str, dtype=object) -> np.ndarray:
        """Field ``name`` per id: datetime64[ns] (NaT), float (NaN) or object (None) when absent."""
        A = self.size
        if dtype == "datetime64[ns]":
            out = _nat(A)
            if self.has(name):
                out[self.pos] = self.acc[name].to_numpy(dtype="datetime64[ns]")
        elif dtype is float:
            out = np.full(A, np.nan)
            if self.has(name):
                out[self.pos] = pd.to_numeric(self.acc[name], errors="coerce").to_numpy(dtype=float)
        else:
            out = np.full(A, None, dtype=object)
            if self.has(name):
                vals = self.acc[name].astype(object).to_numpy()
                out[self.pos] = np.where(pd.isna(vals), None, vals)
        return out


def account_snapshots(dataset: Dataset, as_of_dates, options: dict | None = None,
                      progress: Callable[[float, str], None] | None = None,
                      columns: Iterable[str] | None = None, active_only: bool = False) -> pd.DataFrame:
    """Snapshots of several as-of dates stacked (column ``as_of``), sorted by as_of and account.

    ``columns``: only these columns (in ``COLUMNS`` order; ``account_id`` and ``as_of`` always),
    computing only the metric families they need - same rows, same values as the full snapshot.
    ``active_only``: only the rows of accounts paying at their date (``active``; the rows the
    full snapshot has there). Problems found on the way are in ``result.attrs["problems"]``
    (with ``columns``: those of the families computed). Unknown column names raise ``ValueError``.

    Every metric is computed for all dates at once as a dates x accounts array; the rows are
    the (date, account) cells where the account is known."""
    want = _wanted(columns)

    def need(*names: str) -> bool:
        return want is None or not want.isdisjoint(names)

    opts = merged_options(dataset, options)
    dates = _as_of_dates(as_of_dates)
    problems: list[Problem] = []
    acc = dataset.table("accounts")
    acc = acc.drop_duplicates("account_id", keep="last") if len(acc) else acc
    acc_ids = pd.Index(acc["account_id"].astype(object)) if len(acc) else pd.Index([], dtype=object)
    ids = acc_ids.union(_revenue_ids(dataset)).sort_values()
    ids = pd.Index(ids, dtype=object, name="account_id")
    A = len(ids)
    fields = _AccountFields(acc, ids.get_indexer(acc_ids) if len(acc) else np.zeros(0, dtype=np.int64), A)

    cols, universe, active = _metric_columns(dataset, ids, fields, dates, opts, need, problems)
    frame = _assemble(cols, universe, universe & active if active_only else universe, ids,
                      dates.to_numpy(dtype="datetime64[ns]"), need)
    frame.attrs["problems"] = problems
    if progress:
        progress(1.0, "snapshots built")
    return frame


def _metric_columns(dataset: Dataset, ids: pd.Index, fields: _AccountFields, dates: pd.DatetimeIndex, opts: dict,
                    need: Callable[..., bool], problems: list[Problem]):
    """(the columns asked for, which accounts are known at each date, which are paying). A
    column is a dates x accounts array, or an accounts array when it is the same at every date.
    (Their intermediate arrays are freed on return, before the frame is assembled.)"""
    T, A = len(dates), len(ids)
    t_ns = dates.to_numpy(dtype="datetime64[ns]")
    tt = t_ns[:, None]
    cols: dict[str, np.ndarray] = {}
    since_crm = fields.get("customer_since", "datetime64[ns]")
    churn = fields.get("churn_date", "datetime64[ns]")
    in_acc = np.zeros(A, dtype=bool)
    in_acc[fields.pos] = True
    crm_customer = in_acc & (np.isnat(since_crm) | (since_crm < tt))
    rows = _AccountRows(dataset, ids)
    billing_known = _billing_known(rows)
    universe = crm_customer | (~np.isnat(billing_known) & (billing_known <= tt))

    # revenue
    three_back = (dates - pd.DateOffset(months=3)).to_numpy(dtype="datetime64[ns]")
    mrr_now = _mrr_grid(rows, np.concatenate([t_ns, three_back])) if A else None
    churned_by = ~np.isnat(churn) & (churn < tt)
    if mrr_now is not None:
        mrr, mrr_3m = mrr_now[:T], mrr_now[T:]
        active = np.nan_to_num(mrr, nan=0.0) > 0
    else:
        mrr = np.full((T, A), np.nan)
        mrr_3m = mrr.copy()
        active = crm_customer & ~churned_by
    cols.update(mrr=mrr, mrr_3m_ago=mrr_3m, active=active, churned=churned_by)
    if need("mrr_trend_3m"):
        with np.errstate(divide="ignore", invalid="ignore"):
            cols["mrr_trend_3m"] = np.where(mrr_3m > 0, mrr / mrr_3m - 1.0, np.nan)
    if need("arr"):
        cols["arr"] = mrr * 12
    if need("status"):
        cols["status"] = np.where(~np.isnat(churn) & (churn >= tt), None, fields.get("status"))

    # customer since, tenure
    since = None
    if need("customer_since", "tenure_days", *ONBOARDING_COLUMNS):
        first_paid, first_known = _first_revenue(rows)
        crm_ok = ~np.isnat(since_crm) & (since_crm < tt)
        paid_ok = ~np.isnat(first_known) & (first_known <= tt)
        since = np.where(paid_ok, first_paid, _NAT)
        np.copyto(since, since_crm, where=crm_ok)
        cols["customer_since"] = since
        cols["tenure_days"] = _days(tt - since)

    if need(*RENEWAL_COLUMNS):
        _renewal_columns(cols, rows, t_ns, opts, fields)

    # usage
    seats = fields.get("seats", float)
    milestone_usage = need(*ONBOARDING_COLUMNS) and bool(opts.get("onboarding_milestone"))
    src = usage_source(dataset, opts) if need(*USAGE_COLUMNS) or milestone_usage else None
    daily = daily_usage(src, pd.Timestamp(dates[-1]), accounts=ids) if src is not None and T else None
    if daily is not None:
        problems.extend(daily.problems)
    if need(*USAGE_COLUMNS):
        if daily is not None:
            _usage_columns(cols, daily, ids, dates, opts, problems, need)
        else:
            for name in ("active_users_30d", "depth", "features_used_30d", "events_30d", "events_prev_30d",
                         "days_active_30d", "days_since_last_activity"):
                cols[name] = np.full(A, np.nan)
            cols["last_activity"] = _nat(A)
            cols["activity_bucket"] = np.full(A, None, dtype=object)
        with np.errstate(divide="ignore", invalid="ignore"):
            if need("seat_utilization"):
                cols["seat_utilization"] = np.where(seats > 0, cols["active_users_30d"] / seats, np.nan)
            if need("usage_trend"):
                cols["usage_trend"] = np.where(cols["events_prev_30d"] > 0,
                                               cols["events_30d"] / cols["events_prev_30d"] - 1.0, np.nan)

    if need(*TICKET_COLUMNS):
        _ticket_columns(cols, rows, t_ns, opts, need)
    if need(*SURVEY_COLUMNS):
        _survey_columns(cols, rows, t_ns, opts, problems, need)
    if need(*SENTIMENT_COLUMNS):
        _sentiment_columns(cols, fields, tt)
    if need(*ONBOARDING_COLUMNS):
        _onboarding_columns(cols, dataset, ids, t_ns, since, opts, daily, fields, problems)

    for name in TEXT_COLUMNS:
        if name != "status" and need(name):
            cols[name] = fields.get(name)
    for name in ("referrals", "reviews", "case_studies"):
        if need(name):
            cols[name] = fields.get(name, float)
    cols["seats"] = seats
    return cols, universe, active


def _assemble(cols: dict[str, np.ndarray], universe: np.ndarray, rows: np.ndarray, ids: pd.Index,
              t_ns: np.ndarray, need: Callable[..., bool]) -> pd.DataFrame:
    """The snapshot rows: the (as_of, account) cells set in ``rows`` (dates x accounts; a part of
    the ``universe`` of the full snapshot, whose columns have the same dtypes), sorted by as_of
    and account, columns in ``COLUMNS`` order. The frame takes the column arrays as they are (no
    copy, no consolidation into blocks). Text columns already hold None for missing values."""
    cells = np.flatnonzero(rows)
    ai = cells % rows.shape[1] if rows.shape[1] else cells
    out: dict[str, object] = {"account_id": _id_column(ids.to_numpy(dtype=object), universe.any(axis=0), ai),
                              "as_of": np.repeat(t_ns, np.count_nonzero(rows, axis=1))}
    for name in COLUMNS[2:]:
        if not need(name):
            continue
        arr = cols.pop(name)  # (freed once gathered: later columns may reuse its memory)
        values = arr[ai] if arr.ndim == 1 else arr.reshape(-1)[cells]
        if name == "onboarded":
            values = pd.array(values, dtype="boolean")
        elif values.dtype == object:  # text: object dtype, not inferred as str
            values = pd.Series(values, dtype=object, copy=False)
        out[name] = values
    return pd.DataFrame(out, copy=False)


def _id_column(ids: np.ndarray, present: np.ndarray, rows: np.ndarray):
    """``ids[rows]`` with the dtype a frame would infer from the ``present`` ids (those of the
    full snapshot), inferred once on them (string ids: a string array taken, not millions of
    objects inferred)."""
    typed = pd.Series(ids[present]).array
    if isinstance(typed.dtype, pd.StringDtype):
        return typed.take((np.cumsum(present) - 1)[rows])
    return ids[rows]


def _renewal_columns(cols, rows: _AccountRows, t_ns: np.ndarray, opts, fields: _AccountFields):
    """Next renewal (contract anniversary on or after each date) and the days to it."""
    dataset, A, T = rows.dataset, len(rows), len(t_ns)
    term = int(opts.get("renewal_term_months", 12) or 12)
    anchor_crm = fields.get("renewal_date", "datetime64[ns]")
    last_ren = _nat((T, A))
    if dataset.has("renewals"):  # the last renewal before each date
        last_ren, _ = _latest_before(rows.positions("renewals"),
                                     dataset.table("renewals")["renewal_date"].to_numpy(dtype="datetime64[ns]"),
                                     t_ns, A)
    anchor = np.where(np.isnat(anchor_crm), last_ren, anchor_crm)
    renewal = _next_anniversary(anchor, t_ns[:, None], term)
    cols["renewal_date"] = renewal
    cols["days_to_renewal"] = _days(renewal - t_ns[:, None])


def _sentiment_columns(cols, fields: _AccountFields, tt: np.ndarray):
    """CSM sentiment known at each date and its age."""
    sentiment = fields.get("csm_sentiment", float)
    s_date = fields.get("csm_sentiment_date", "datetime64[ns]")
    if fields.has("csm_sentiment_date"):
        known = ~np.isnat(s_date) & (s_date < tt)
        cols["csm_sentiment"] = np.where(known | np.isnat(s_date), sentiment, np.nan)
        age = _days(tt - s_date)
        age[~known] = np.nan
        cols["csm_sentiment_age_days"] = age
    else:
        cols["csm_sentiment"] = sentiment
        cols["csm_sentiment_age_days"] = np.full(len(sentiment), np.nan)


def _usage_columns(cols, daily: DailyUsage, ids: pd.Index, dates: pd.DatetimeIndex, opts, problems, need):
    """The usage metrics asked for at each date (windows over the rows sorted by day)."""
    A, T = len(ids), len(dates)
    if daily.accounts.equals(ids):  # coded into the snapshot's ids (a usage table in memory)
        acct = daily.acct.astype(np.int64)
    else:
        pos = ids.get_indexer(daily.accounts) if len(daily.accounts) else np.zeros(0, np.int64)
        acct = pos[daily.acct] if len(daily.acct) else np.zeros(0, np.int64)
    user, day, feat, ev = daily.user, daily.day, daily.feat, daily.events
    keep = acct >= 0
    if not keep.all():
        acct, user, day, feat, ev = acct[keep], user[keep], day[keep], feat[keep], ev[keep]
    t_days = (dates.to_numpy(dtype="datetime64[D]").astype(np.int64))
    # the metrics asked for (directly or through the columns derived from them)
    users = need("active_users_30d", "seat_utilization") and daily.has_users
    events = need("events_30d", "events_prev_30d", "usage_trend")
    active_days = need("days_active_30d", "activity_bucket")
    features = need("features_used_30d") and daily.has_features
    depth = need("depth") and daily.has_features
    for name, wanted in (("active_users_30d", need("active_users_30d", "seat_utilization")), ("depth", need("depth")),
                         ("features_used_30d", need("features_used_30d")), ("events_30d", events),
                         ("events_prev_30d", events), ("days_active_30d", active_days),
                         ("days_since_last_activity", need("days_since_last_activity"))):
        if wanted:
            cols[name] = np.full((T, A), np.nan)
    last = _nat((T, A)) if need("last_activity") else None
    F = len(daily.features)
    # first day each feature was seen (default key features: every feature seen before as-of)
    feat_first = np.full(F, np.iinfo(np.int64).max)
    if F and len(feat):
        fsel = feat >= 0
        np.minimum.at(feat_first, feat[fsel], day[fsel])
    key_opt = opts.get("key_features")
    kpos, n_key_opt = key_feature_positions(opts, daily.features, problems) if key_opt else (None, None)
    # dense users (a user belongs to one account) and bitmaps for the distinct counts
    ud = np.full(len(user), -1, dtype=np.int64)
    user_acct = np.zeros(0, dtype=np.int64)
    uok_all = user >= 0
    if users and uok_all.any():
        codes, n_users = _dense_codes(user[uok_all])
        ud[uok_all] = codes
        user_acct = np.empty(n_users, dtype=np.int64)
        user_acct[codes] = acct[uok_all]
    F1 = F + 1
    last_day = np.full(A, _MIN)
    done = 0
    for j in range(T):  # as-of dates ascending
        td = t_days[j]
        lo30, lo60 = np.searchsorted(day, td - 30), np.searchsorted(day, td - 60)
        hi = np.searchsorted(day, td)
        if hi > done:  # last activity: rows are sorted by day
            np.maximum.at(last_day, acct[done:hi], day[done:hi])
            done = hi
        ok = last_day > _MIN
        if last is not None:
            last[j] = np.where(ok, (np.where(ok, last_day, 0) * NS_PER_DAY).astype("datetime64[ns]"), _NAT)
        if hi <= lo30:
            continue  # no usage at all in the window: unknown, not zero
        if "days_since_last_activity" in cols:
            cols["days_since_last_activity"][j] = np.where(ok, td - last_day, np.nan)
        w = slice(lo30, hi)
        wa, wd, wf, wu = acct[w], day[w], feat[w], ud[w]
        if events:
            cols["events_30d"][j] = np.bincount(wa, weights=ev[w], minlength=A)
            cols["events_prev_30d"][j] = np.bincount(acct[lo60:lo30], weights=ev[lo60:lo30], minlength=A)
        if active_days:
            cols["days_active_30d"][j] = _bitmap_count(wa * 30 + (wd - (td - 30)), A * 30, 30)
        if users:
            seen = np.zeros(len(user_acct), dtype=bool)
            seen[wu[wu >= 0]] = True
            cols["active_users_30d"][j] = np.bincount(user_acct[seen], minlength=A)
        fm = wf >= 0
        if features:
            cols["features_used_30d"][j] = _bitmap_count(wa[fm] * F1 + wf[fm], A * F1, F1)
        if depth:
            if key_opt:
                is_key = np.zeros(F1, bool)
                is_key[kpos] = True
                n_key = n_key_opt
            else:
                is_key = np.append(feat_first < td, False)
                n_key = int(is_key.sum())
            km = fm & is_key[np.where(wf >= 0, wf, F)]
            if n_key:
                cols["depth"][j] = _bitmap_count(wa[km] * F1 + wf[km], A * F1, F1) / n_key
    if last is not None:
        cols["last_activity"] = last
    if need("activity_bucket"):
        cols["activity_bucket"] = activity_bucket(cols["days_active_30d"], opts).reshape(T, A)


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


def _ticket_columns(cols, rows: _AccountRows, t_ns: np.ndarray, opts, need):
    """Tickets in the last 90 days (all, urgent) and open tickets at each date."""
    dataset, A = rows.dataset, len(rows)
    names = ("tickets_90d", "urgent_tickets_90d", "open_tickets")
    if not dataset.has("tickets"):
        for n in names:
            cols[n] = np.full(A, np.nan)
        return
    tk = dataset.table("tickets")
    created = tk["created_at"].to_numpy(dtype="datetime64[ns]")
    pos = rows.positions("tickets")
    made = _counts_before(pos, created, t_ns, A)  # tickets created before each date
    ninety_before = t_ns - np.timedelta64(90, "D")  # tickets in [t - 90 days, t)
    if need("open_tickets"):
        # open at t: created before t and not resolved before t (a resolution before the
        # creation counts at the creation, so every ticket resolved before t was created before)
        resolved = tk["resolved_at"].to_numpy(dtype="datetime64[ns]") if "resolved_at" in tk else _nat(len(tk))
        resolved = np.where(~np.isnat(resolved) & (resolved < created), created, resolved)
        cols["open_tickets"] = _add_counts(made.copy(), np.where(np.isnat(created), -1, pos), resolved, t_ns, -1)
    cols["tickets_90d"] = _add_counts(made, pos, created, ninety_before, -1)
    if need("urgent_tickets_90d"):
        urgent_set = {str(p).strip().lower() for p in (opts.get("urgent_priorities") or URGENT_PRIORITIES)}
        if "priority" in tk:
            codes, uniq = _codes(dataset, "tickets", "priority")
            is_urgent = np.array([str(v).strip().lower() in urgent_set for v in uniq] + [False], dtype=bool)
            urgent = is_urgent[codes]
        else:
            urgent = np.zeros(len(tk), dtype=bool)
        urgent_pos = np.where(urgent, pos, -1)
        cols["urgent_tickets_90d"] = _add_counts(_counts_before(urgent_pos, created, t_ns, A), urgent_pos, created,
                                                 ninety_before, -1)


_SURVEY_SPEC = {"nps": ("last_nps", "last_nps_date", "nps_weighted", "nps_responses"),
                "csat": ("last_csat", "last_csat_date", "csat_weighted", None),
                "ces": ("last_ces", "last_ces_date", "ces_weighted", None)}


def _survey_columns(cols, rows: _AccountRows, t_ns: np.ndarray, opts, problems, need):
    """Last answer, its date, recency-weighted mean (and NPS responses) per survey type at each date."""
    dataset, A, T = rows.dataset, len(rows), len(t_ns)
    for last, date, weighted, count in _SURVEY_SPEC.values():  # without any usable answer
        cols[last] = np.full(A, np.nan)
        cols[weighted] = np.full(A, np.nan)
        cols[date] = _nat(A)
        if count:
            cols[count] = np.full(A, np.nan)
    if not dataset.has("surveys"):
        return
    sv = dataset.table("surveys")
    d_all = sv["date"].to_numpy(dtype="datetime64[ns]")
    dated = np.flatnonzero(~np.isnat(d_all))
    d_all = d_all[dated]
    half_life = float(opts.get("sentiment_half_life_days", HALF_LIFE_DAYS))
    # Per-row work done once for every as-of date: account positions and the survey type (as
    # survey_scores normalises it). survey_scores still decides which rows are usable (its
    # scale checks depend on the rows seen); it gets only the columns it reads, with a
    # RangeIndex so that the rows it keeps map back to these arrays.
    pos_all = rows.positions("surveys")[dated]
    codes, uniques = _codes(dataset, "surveys", "survey")
    codes = codes[dated]
    names = list(_SURVEY_SPEC)
    kind_of = np.array([names.index(k) if k in names else -1
                        for k in (str(v).strip().lower() for v in uniques)] + [-1], dtype=np.int64)
    kind_all = kind_of[codes]
    raw = np.append(uniques, np.nan)[codes]  # the survey texts (missing: NaN)
    base = pd.DataFrame({"account_id": pos_all, "date": d_all, "survey": pd.Series(raw, dtype=object, copy=False),
                         "score": sv["score"].to_numpy()[dated]}, copy=False)
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
    # (date rows to fill, the usable rows for them)
    if row_wise:
        batches = [(slice(None), last_rows)]
    else:
        batches = [(slice(j, j + 1), last_rows if j == T - 1 else survey_scores(base[d_all < t_ns[j]], opts)[0])
                   for j in range(T)]
    for at_dates, usable in batches:
        at = usable.index.to_numpy()
        _survey_metrics(cols, pos_all[at], d_all[at], kind_all[at], usable["score"].to_numpy(dtype=float),
                        t_ns[at_dates], at_dates, T, A, half_life, need)


def _survey_metrics(cols, pos, d, kind, score, t_ns, at_dates: slice, T: int, A: int, half_life: float, need):
    """The survey columns at the dates ``t_ns`` (rows ``at_dates`` of the columns) from usable
    answers (account position, date, type, score in the table's row order)."""
    for k, (last, date, weighted, count) in enumerate(_SURVEY_SPEC.values()):
        sel = (kind == k) & (pos >= 0)
        if count and need(count):
            _set_rows(cols, count, at_dates, T, _counts_before(pos[sel], d[sel], t_ns, A))
        if not sel.any():
            continue
        p, dd, ss = pos[sel], d[sel], score[sel]
        if need(last, date):  # latest answer day per account, mean of that day's answers
            when, mean = _latest_before(p, dd, t_ns, A, ss, times_too=need(date))
            _set_rows(cols, last, at_dates, T, mean)
            if when is not None:
                _set_rows(cols, date, at_dates, T, when)
        if need(weighted):  # recency weights, each answer in row order as of each date
            rows = np.full((len(t_ns), A), np.nan)
            for j, t in enumerate(t_ns):
                m = dd < t
                if not m.any():
                    continue
                age = (t - dd[m]).astype(np.int64) / NS_PER_DAY
                w = np.power(0.5, age / half_life)
                num = np.bincount(p[m], weights=w * ss[m], minlength=A)
                den = np.bincount(p[m], weights=w, minlength=A)
                with np.errstate(invalid="ignore", divide="ignore"):
                    rows[j] = np.where(den > 0, num / den, np.nan)
            _set_rows(cols, weighted, at_dates, T, rows)


def _set_rows(cols, name: str, at_dates: slice, T: int, values: np.ndarray):
    """``cols[name][at_dates] = values`` for a dates x accounts column that may still be its
    no-data value of every date (an accounts array)."""
    if at_dates == slice(None):
        cols[name] = values
        return
    if cols[name].ndim == 1:
        cols[name] = np.repeat(cols[name][None, :], T, axis=0)
    cols[name][at_dates] = values


def _onboarding_columns(cols, dataset: Dataset, ids: pd.Index, t_ns: np.ndarray, since: np.ndarray, opts,
                        daily: DailyUsage | None, fields: _AccountFields, problems):
    """Onboarded (by onboarded_on or the usage milestone) before each date, when, and the status."""
    A = len(ids)
    tt = t_ns[:, None]
    milestone = milestone_option(opts, problems)
    onb = None
    if milestone is not None and daily is not None:
        dates = milestone_dates(daily, milestone[0], milestone[1])
        onb = _nat(A)
        pos = ids.get_indexer(pd.Index(dates.index.astype(object)))
        ok = pos >= 0
        onb[pos[ok]] = dates.to_numpy(dtype="datetime64[ns]")[ok]
    elif "onboarded_on" in dataset.table("accounts"):
        onb = fields.get("onboarded_on", "datetime64[ns]")
    if onb is None:
        cols["onboarded"] = np.full(A, None, dtype=object)
        cols["onboarded_on"] = _nat(A)
        cols["days_to_onboard"] = np.full(A, np.nan)
        cols["onboarding_status"] = np.full(A, None, dtype=object)
        return
    done = ~np.isnat(onb) & (onb < tt)
    onb_t = np.where(done, onb, _NAT).astype("datetime64[ns]")
    days = _days(onb_t - since)
    days = np.where(days < 0, np.nan, days)
    limit = float(opts.get("onboarding_days", DEFAULT_ONBOARDING_DAYS))
    overdue = _days(tt - since) > limit
    cols["onboarded"] = done
    cols["onboarded_on"] = onb_t
    cols["days_to_onboard"] = days
    cols["onboarding_status"] = np.array(["onboarding", "overdue", "onboarded"], dtype=object)[
        np.where(done, 2, overdue.astype(np.int64))]


__all__ = ["METRICS", "Metric", "COLUMNS", "account_snapshot", "account_snapshots", "mrr_at_instants"]
