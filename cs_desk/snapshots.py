"""MRR snapshots: every account's MRR at the first instant of every month (DESIGN.md, "Time").

Two sources give the same grid:

* an **MRR table** (long form; wide sheets are melted on load): the value for month *m* is the
  MRR at the end of *m*, i.e. the snapshot at the first instant of *m + 1*. The snapshot at the
  start of the table's first month is therefore unknown, so the default range starts one month
  after the table's first month (the first month is the opening balance);
* **subscriptions**: ``MRR(d) = Σ mrr of the account's rows with start_date <= d < end_date``
  (empty ``end_date`` = still running). Computed with a difference array per account, so the
  cost is O(rows + accounts × months), no Python loop per account.

A month inside the range that has no MRR rows at all is a gap: its snapshot is NaN (unknown), so
periods touching it have empty KPIs rather than "everyone churned", and a problem says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dataset import Dataset
from .periods import add_months, month_start
from .problems import Code, Problem, Severity


@dataclass
class MrrGrid:
    accounts: pd.Index  # account ids, row order of the arrays
    instants: pd.DatetimeIndex  # month starts, column order of the arrays
    mrr: np.ndarray  # float, accounts x instants; NaN in a column with no data at all
    interval: np.ndarray  # billing months of the longest running subscription (0 = none known)
    first_month: pd.Timestamp  # default range: first month whose start snapshot is known
    last_month: pd.Timestamp  # default range: last month whose end snapshot is known
    source: str  # "mrr" or "subscriptions"

    def index_of(self, instant: pd.Timestamp) -> int:
        pos = int(self.instants.searchsorted(instant))
        if pos < len(self.instants) and self.instants[pos] == instant:
            return pos
        return -1

    def column(self, instant: pd.Timestamp) -> np.ndarray:
        """MRR of every account at ``instant``; all-NaN when the grid does not know it."""
        i = self.index_of(instant)
        if i < 0:
            return np.full(len(self.accounts), np.nan)
        return self.mrr[:, i]

    def indices_of(self, instants) -> np.ndarray:
        """:meth:`index_of` of several instants at once."""
        return self.instants.get_indexer(pd.DatetimeIndex(instants)) if len(instants) else np.zeros(0, dtype=int)

    def interval_at(self, instant: pd.Timestamp) -> np.ndarray:
        i = self.index_of(instant)
        if i < 0:
            return np.zeros(len(self.accounts))
        return self.interval[:, i]

    def ever_paid_before(self) -> np.ndarray:
        """bool accounts x instants: the account had MRR > 0 at some earlier instant (cached)."""
        cached = self.__dict__.get("_paid_before")
        if cached is not None and cached.shape == self.mrr.shape:
            return cached
        paid = self.mrr > 0  # NaN compares False
        before = np.zeros_like(paid)
        if paid.shape[1] > 1:
            before[:, 1:] = np.logical_or.accumulate(paid, axis=1)[:, :-1]
        self.__dict__["_paid_before"] = before
        return before

    def known_columns(self) -> np.ndarray:
        """bool per instant: the snapshot is known (not NaN for every account; cached)."""
        cached = self.__dict__.get("_known")
        if cached is not None and cached.shape == self.instants.shape:
            return cached
        known = ~np.isnan(self.mrr).all(axis=0) if len(self.accounts) else np.zeros(len(self.instants), bool)
        self.__dict__["_known"] = known
        return known

    def frame(self) -> pd.DataFrame:
        """The grid as a wide DataFrame (accounts x month-start instants)."""
        return pd.DataFrame(self.mrr, index=self.accounts, columns=self.instants)


def _month_range(first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    return pd.date_range(first, last, freq="MS")


def _scatter_add(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Dense ``shape`` array with ``weights`` summed at (rows, cols); much faster than np.add.at."""
    flat = np.multiply(rows, shape[1], dtype=np.int64)  # (in place below: one temporary, not four)
    flat += cols
    return np.bincount(flat, weights=weights, minlength=shape[0] * shape[1]).reshape(shape)


def _clean_round(grid: np.ndarray) -> np.ndarray:
    grid = np.round(grid, 6)
    grid[np.abs(grid) < 1e-9] = 0.0
    return grid


def _factorize_sorted(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes into sorted unique ids (factorize unsorted, then sort the few uniques: much faster)."""
    return _factorize_sorted_counted(ids)[:2]


def _factorize_sorted_counted(ids: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """``_factorize_sorted`` and how many ids are missing."""
    codes, uniques = pd.factorize(ids, sort=False)
    return (*_sorted_codes(codes, np.asarray(uniques, dtype=object)), int(np.count_nonzero(codes < 0)))


def _sorted_codes(codes: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factorize codes renumbered into sorted order (sorting the few uniques, not the rows)."""
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def _account_codes(dataset: Dataset, name: str) -> tuple[np.ndarray, np.ndarray, int]:
    def build():
        codes, uniques = dataset.codes(name)
        return (*_sorted_codes(codes, uniques), int(np.count_nonzero(codes < 0)))

    return dataset.cached("snapshots.account_codes", name, (name,), build)


def account_codes(dataset: Dataset, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``_factorize_sorted`` of ``dataset.table(name)["account_id"]``, once per table (cached on
    the dataset; the arrays are shared, do not modify them)."""
    return _account_codes(dataset, name)[:2]


def has_missing_ids(dataset: Dataset, name: str) -> bool:
    """Whether some rows of ``dataset.table(name)`` have no account id (cached)."""
    return _account_codes(dataset, name)[2] > 0


def _month_number(values) -> np.ndarray:
    """Months since 1970-01 of datetime values (vectorised, no Period objects)."""
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[M]").view(np.int64)


def grid_from_mrr_table(mrr: pd.DataFrame, extend_to: pd.Timestamp | None = None,
                        ids: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[MrrGrid, list[Problem]]:
    """Snapshots from MRR rows; ``ids``: ``_factorize_sorted(mrr["account_id"])`` when known."""
    month_no = _month_number(mrr["month"])
    first_no, last_no = int(month_no.min()), int(month_no.max())
    first_data = pd.Timestamp(np.datetime64(first_no, "M"))
    last_data = pd.Timestamp(np.datetime64(last_no, "M"))
    first_instant = first_data  # start of first month: unknown (opening balance)
    last_instant = add_months(last_data, 1)
    if extend_to is not None and extend_to > last_instant:
        last_instant = extend_to
    instants = _month_range(first_instant, last_instant)
    codes, accounts = ids if ids is not None else _factorize_sorted(mrr["account_id"])
    cols = month_no - (first_no - 1)  # the value for month m is the snapshot at the start of m + 1
    grid = _scatter_add(codes, cols, mrr["mrr"].to_numpy(dtype=float), (len(accounts), len(instants)))
    problems: list[Problem] = []
    has_data = np.bincount(cols, minlength=len(instants))[: len(instants)] > 0
    grid[:, ~has_data] = np.nan
    data_last = add_months(month_start(last_data), 1)
    for i, instant in enumerate(instants):
        if not has_data[i] and 0 < i and instant <= data_last:
            month = add_months(instant, -1)
            problems.append(Problem(
                Code.MONTH_WITHOUT_DATA,
                f"the MRR table has no rows for {month:%Y-%m}; KPIs of periods that start or end "
                f"there are left empty instead of counting every account as churned",
                Severity.WARNING, table="mrr"))
    first_month = add_months(month_start(first_data), 1) if last_data > first_data else month_start(first_data)
    return (
        MrrGrid(pd.Index(accounts, name="account_id"), instants, _clean_round(grid),
                np.zeros(grid.shape), first_month, month_start(last_data), "mrr"),
        problems,
    )


def _last_covered_month(subs: pd.DataFrame, today: pd.Timestamp) -> pd.Timestamp:
    """The last month the subscriptions describe: the latest start or (exclusive) end that is not
    in the future, never before the latest start."""
    starts = subs["start_date"].dropna()
    ends = subs["end_date"].dropna() - pd.Timedelta(days=1)  # exclusive end: last day covered
    candidates = [starts.max()]
    past_ends = ends[ends <= max(today, starts.max())]
    if len(past_ends):
        candidates.append(past_ends.max())
    return month_start(max(candidates))


def _subscription_range(subs: pd.DataFrame, extend_to, today, extend_from) -> tuple[pd.Timestamp, pd.Timestamp,
                                                                                     pd.DatetimeIndex]:
    """First and last month the subscriptions describe, and the instants of their grid."""
    today = pd.Timestamp.today().normalize() if today is None else today
    first_month = month_start(subs["start_date"].min())
    last_month = _last_covered_month(subs, today)
    last_instant = add_months(last_month, 1)
    if extend_to is not None and extend_to > last_instant:
        last_instant = extend_to
    first_instant = min(first_month, month_start(extend_from)) if extend_from is not None else first_month
    return first_month, last_month, _month_range(first_instant, last_instant)


def _spans(subs: pd.DataFrame, instants: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Per subscription, the first instant it covers (>= start) and the first it no longer
    covers (>= end; empty end: still running)."""
    inst = instants.values.astype("datetime64[ns]")
    start = subs["start_date"].to_numpy(dtype="datetime64[ns]")
    end = subs["end_date"].to_numpy(dtype="datetime64[ns]")
    end = np.where(np.isnat(end), np.datetime64("2262-01-01", "ns"), end)
    return np.searchsorted(inst, start, side="left"), np.searchsorted(inst, end, side="left")


def _interval_grid(subs: pd.DataFrame, codes: np.ndarray, i0: np.ndarray, i1: np.ndarray,
                   shape: tuple[int, int]) -> np.ndarray:
    """Billing months of the longest subscription running at each (account, instant); 0 when
    none. Rows with a negative ``codes`` are left out."""
    n, t = shape
    intervals = (subs["interval"] if "interval" in subs else pd.Series(1.0, index=subs.index))
    intervals = intervals.fillna(1.0).to_numpy(dtype=float)
    keep = codes >= 0
    out = np.zeros((n, t))
    for value in np.unique(intervals[keep]):  # ascending: a longer interval overwrites a shorter one
        if not value > 0:
            continue
        sel = keep & (intervals == value)
        rows = np.concatenate([codes[sel], codes[sel]])
        cols = np.concatenate([i0[sel], i1[sel]])
        signs = np.concatenate([np.ones(int(sel.sum())), -np.ones(int(sel.sum()))])
        running = np.cumsum(_scatter_add(rows, cols, signs, (n, t + 1))[:, :t], axis=1) > 0.5
        out[running] = value
    return out


def grid_from_subscriptions(subs: pd.DataFrame, extend_to: pd.Timestamp | None = None,
                            today: pd.Timestamp | None = None,
                            extend_from: pd.Timestamp | None = None,
                            ids: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[MrrGrid, list[Problem]]:
    """Snapshots from subscription rows. Before the first start date every MRR is known to be
    0, so ``extend_from`` may reach back before the data (unlike an MRR table).
    ``ids``: ``_factorize_sorted(subs["account_id"])`` when known."""
    first_month, last_month, instants = _subscription_range(subs, extend_to, today, extend_from)
    codes, accounts = ids if ids is not None else _factorize_sorted(subs["account_id"])
    i0, i1 = _spans(subs, instants)
    n, t = len(accounts), len(instants)
    mrr_values = subs["mrr"].to_numpy(dtype=float)
    diff = (_scatter_add(codes, i0, mrr_values, (n, t + 1))
            - _scatter_add(codes, i1, mrr_values, (n, t + 1)))
    grid = _clean_round(np.cumsum(diff[:, :t], axis=1))
    return (
        MrrGrid(pd.Index(accounts, name="account_id"), instants, grid, _interval_grid(subs, codes, i0, i1, (n, t)),
                first_month, last_month, "subscriptions"),
        [],
    )


def _intervals_from_subscriptions(grid: MrrGrid, subs: pd.DataFrame, ids: tuple[np.ndarray, np.ndarray],
                                  extend_to, today, extend_from) -> np.ndarray:
    """The billing intervals of the subscriptions on an MRR table's grid: the interval grid of
    ``grid_from_subscriptions`` at the instants and accounts both grids have, 0 elsewhere
    (computed on the MRR grid directly: whether a subscription runs at an instant does not
    depend on the other instants)."""
    _, _, sub_instants = _subscription_range(subs, extend_to, today, extend_from)
    cols = np.flatnonzero(grid.instants.isin(sub_instants))
    codes, accounts = ids
    rows = grid.accounts.get_indexer(accounts)
    out = np.zeros(grid.mrr.shape)
    if len(cols) and len(rows):
        i0, i1 = _spans(subs, grid.instants[cols])
        out[:, cols] = _interval_grid(subs, rows[codes], i0, i1, (len(grid.accounts), len(cols)))
    return out


def mrr_grid(dataset: Dataset, extend_to: pd.Timestamp | None = None,
             extend_from: pd.Timestamp | None = None) -> tuple[MrrGrid | None, list[Problem]]:
    """The MRR snapshot grid of a dataset, from its MRR table or else its subscriptions.

    When both are present the MRR table wins (it is what billing reports) and an info problem
    says the subscriptions were not used for MRR.
    """
    problems: list[Problem] = []
    today = dataset.options.get("today")
    if dataset.has("mrr"):
        if dataset.has("subscriptions"):
            problems.append(Problem(
                Code.OPTION_INVALID,
                "both an MRR table and subscriptions were given; MRR snapshots come from the MRR "
                "table, subscriptions are used only for billing intervals (extension MRR)",
                Severity.INFO, table="subscriptions"))
        grid, more = grid_from_mrr_table(dataset.table("mrr"), extend_to, account_codes(dataset, "mrr"))
        if dataset.has("subscriptions"):
            grid.interval = _intervals_from_subscriptions(grid, dataset.table("subscriptions"),
                                                          account_codes(dataset, "subscriptions"),
                                                          extend_to, today, extend_from)
        return grid, problems + more
    if dataset.has("subscriptions"):
        grid, more = grid_from_subscriptions(dataset.table("subscriptions"), extend_to, today, extend_from,
                                             account_codes(dataset, "subscriptions"))
        return grid, problems + more
    return None, problems


def mrr_at(subscriptions: pd.DataFrame, instant) -> pd.Series:
    """MRR per account at one instant, straight from the rule (used by tests and drill-downs)."""
    d = pd.Timestamp(instant)
    live = (subscriptions["start_date"] <= d) & (subscriptions["end_date"].isna() | (d < subscriptions["end_date"]))
    return subscriptions.loc[live].groupby("account_id")["mrr"].sum()
