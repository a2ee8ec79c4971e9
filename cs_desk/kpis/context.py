"""What a KPI family needs to aggregate: data, periods, groups and the cached MRR grid.

Work that does not depend on the periods or the ``by`` field — the MRR grid, each account's
position in the accounts table, the group of every account — is cached on the dataset
(:meth:`Dataset.cached`), so computing the KPIs by segment, then by CSM, then for the portfolio
does it once. Group sums are ``bincount`` / sparse products over integer codes, never a pandas
groupby on text.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from ..dataset import Dataset
from ..periods import Period
from ..problems import Problem
from ..snapshots import MrrGrid, mrr_grid

ALL = "all"
NO_VALUE = "(none)"
#: between field and value in the group labels of a context grouped by several fields
FIELD_SEP = "\x1f"


@dataclass(frozen=True)
class AccountKeys:
    """The accounts table's ids, each once (the first row of an id wins), for looking ids up."""

    ids: pd.Index  # object dtype, in the order of their first row
    first_row: np.ndarray  # accounts-table row of each id
    rows: np.ndarray  # position in ids of each accounts-table row (-1: no id)

    def positions(self, account_ids) -> np.ndarray:
        """Position in ``ids`` of each of ``account_ids`` (-1 when the accounts table lacks it).

        Each distinct id is looked up once, so a million event rows cost one ``factorize``."""
        return self.lookup(account_ids).positions

    def lookup(self, account_ids) -> "TableKeys":
        """The :class:`TableKeys` of ``account_ids``."""
        if isinstance(account_ids, list):
            account_ids = np.asarray(account_ids, dtype=object)
        return self.from_codes(*pd.factorize(account_ids))

    def from_codes(self, codes: np.ndarray, uniques) -> "TableKeys":
        """The :class:`TableKeys` of ids given as factorize codes and distinct values."""
        found = self.ids.get_indexer(np.asarray(uniques, dtype=object))
        return TableKeys(np.append(found, -1)[codes], codes, found)  # code -1 (empty id) -> position -1


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Row of each code's first occurrence, for ``factorize`` codes (numbered in order of
    appearance, -1 for empty)."""
    seen_before = np.maximum.accumulate(np.concatenate([[-1], codes[:-1]])) if len(codes) else codes
    return np.flatnonzero(codes > seen_before)


def account_keys(dataset: Dataset) -> AccountKeys:
    """The dataset's :class:`AccountKeys` (cached until the accounts table changes)."""

    def build() -> AccountKeys:
        codes, uniques = dataset.codes("accounts")
        return AccountKeys(pd.Index(np.asarray(uniques, dtype=object), dtype=object), _first_rows(codes), codes)

    return dataset.cached("kpis.account_keys", None, ("accounts",), build)


@dataclass(frozen=True)
class TableKeys:
    """Account codes of the rows of an event table (computed once per table)."""

    positions: np.ndarray  # row -> position in AccountKeys.ids (-1 unknown to the accounts table)
    distinct: np.ndarray  # row -> code of its account id among the table's ids (-1 when empty)
    distinct_positions: np.ndarray  # code -> position in AccountKeys.ids (-1 unknown)


def table_keys(dataset: Dataset, name: str) -> TableKeys:
    """The :class:`TableKeys` of ``dataset.table(name)`` (cached until it or the accounts change)."""
    def build() -> TableKeys:
        keys = account_keys(dataset)
        if name == "accounts":  # its ids are the keys
            return TableKeys(keys.rows, keys.rows, np.arange(len(keys.ids)))
        return keys.from_codes(*dataset.codes(name))

    return dataset.cached("kpis.table_keys", name, (name, "accounts"), build)


def latest_accounts(dataset: Dataset) -> tuple[pd.DataFrame, np.ndarray]:
    """The accounts table with one row per id (its last row) and each row's position in
    :func:`account_keys` (cached until the accounts table changes)."""

    def build():
        accounts = dataset.table("accounts")
        last = np.flatnonzero(~accounts["account_id"].duplicated(keep="last").to_numpy())
        return accounts.iloc[last], account_keys(dataset).rows[last]

    return dataset.cached("kpis.latest_accounts", None, ("accounts",), build)


@dataclass(frozen=True)
class Grouping:
    """The groups of one accounts field: sorted labels (``(none)`` last) and each account's."""

    labels: list[str]
    codes: np.ndarray  # AccountKeys position -> position in labels

    def codes_at(self, positions: np.ndarray) -> np.ndarray:
        """Group of each AccountKeys position; accounts unknown to the accounts table are ``(none)``."""
        none_code = len(self.labels) - 1
        if not len(self.codes):
            return np.full(len(positions), none_code, dtype=np.int64)
        return np.where(positions >= 0, self.codes[np.maximum(positions, 0)], none_code)


def grouping(dataset: Dataset, by: str) -> Grouping:
    """The :class:`Grouping` of accounts field ``by`` (cached until the accounts table changes)."""

    def build() -> Grouping:
        codes, labels = label_codes(dataset.table("accounts")[by])
        if NO_VALUE not in labels:
            labels.append(NO_VALUE)  # (sorts last)
        return Grouping(labels, codes[account_keys(dataset).first_row])

    return dataset.cached("kpis.grouping", by, ("accounts",), build)


@dataclass
class Context:
    """Data, periods and groups of one computation.

    ``by`` is one accounts field (groups labelled by its values), or — inside the engine, for
    several breakdowns in one pass — a tuple of fields: then the groups of every field follow
    one another (labels ``field`` + :data:`FIELD_SEP` + value) and group codes have one column
    per field. Families written against the helpers below (``group_codes``, ``sum_by_group``,
    ``event_slots``, ``group_rows``) work either way (``Family.several_by``).
    """

    dataset: Dataset
    periods: list[Period]
    by: str | tuple[str, ...] | None = None
    options: dict = field(default_factory=dict)
    grid: MrrGrid | None = None
    problems: list[Problem] = field(default_factory=list)

    # -- periods -----------------------------------------------------------------------------
    @property
    def period_labels(self) -> list[str]:
        return [p.label for p in self.periods]

    # -- groups ------------------------------------------------------------------------------
    @property
    def fields(self) -> tuple[str, ...]:
        if not self.by:
            return ()
        return (self.by,) if isinstance(self.by, str) else tuple(self.by)

    @cached_property
    def groupings(self) -> list[Grouping]:
        return [grouping(self.dataset, f) for f in self.fields]

    @cached_property
    def groups(self) -> pd.Series:
        """account_id -> group value for ``by`` (one field; empty when there is no grouping)."""
        if not self.by:
            return pd.Series(dtype=object)
        accounts = self.dataset.table("accounts")
        return pd.Series(group_values(accounts[self.by]).to_numpy(), index=accounts["account_id"].to_numpy())

    def sub_context(self, periods: list[Period]) -> "Context":
        """The same data and groups over other periods (shares the grid and the group lookups)."""
        other = Context(self.dataset, periods, self.by, self.options, self.grid)
        for name in ("groupings", "groups", "group_labels", "_codes_memo"):
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    @cached_property
    def group_labels(self) -> list[str]:
        """``["all", <each group value sorted>]`` (several fields: each field's groups in turn)."""
        if len(self.groupings) == 1:
            return [ALL] + self.groupings[0].labels
        return [ALL] + [f"{f}{FIELD_SEP}{label}" for f, g in zip(self.fields, self.groupings) for label in g.labels]

    def field_slots(self) -> dict[str, np.ndarray]:
        """Per field, the positions in ``group_labels`` of ``all`` and of that field's groups."""
        out, offset = {}, 1
        for f, g in zip(self.fields, self.groupings):
            out[f] = np.concatenate([[0], offset + np.arange(len(g.labels))])
            offset += len(g.labels)
        return out

    def index(self) -> pd.MultiIndex:
        key = (tuple(self.period_labels), len(self.group_labels))
        cached = self.__dict__.get("_index")
        if cached is None or cached[0] != key:
            index = pd.MultiIndex.from_product([self.period_labels, self.group_labels], names=["period", "group"])
            self.__dict__["_index"] = cached = (key, index)
        return cached[1]

    def group_codes(self, account_ids) -> np.ndarray:
        """Position in ``group_labels[1:]`` of each account's group (accounts unknown to the
        accounts table fall into ``(none)``); with several fields one column per field."""
        if not self.groupings:
            return np.full(len(account_ids), -1)
        memo = self.__dict__.setdefault("_codes_memo", {})
        hit = memo.get(id(account_ids))
        if hit is not None and hit[0] is account_ids:
            return hit[1]
        codes = self.group_codes_at(account_keys(self.dataset).positions(account_ids))
        if isinstance(account_ids, pd.Index):  # immutable: the grid's accounts, ids of a table
            memo[id(account_ids)] = (account_ids, codes)
        return codes

    def group_codes_at(self, positions: np.ndarray) -> np.ndarray:
        """:meth:`group_codes` of accounts given by their position in :func:`account_keys`."""
        if not self.groupings:
            return np.full(len(positions), -1)
        columns, offset = [], 0
        for g in self.groupings:
            columns.append(g.codes_at(positions) + offset)
            offset += len(g.labels)
        return columns[0] if len(columns) == 1 else np.stack(columns, axis=1)

    def table_group_codes(self, name: str) -> np.ndarray:
        """:meth:`group_codes` of every row of ``dataset.table(name)``."""
        return self.group_codes_at(table_keys(self.dataset, name).positions)

    def group_rows(self, codes: np.ndarray) -> list[np.ndarray]:
        """The rows of (1 + n_groups)-row blocks that each account adds to: ``all`` (row 0),
        then its group's row for each field (``1 + code``)."""
        codes = np.asarray(codes)
        rows = [np.zeros(len(codes), dtype=np.int64)]
        if self.groupings:
            rows += [1 + c for c in (codes.T if codes.ndim == 2 else [codes])]
        return rows

    # -- aggregation helpers -----------------------------------------------------------------
    def sum_by_group(self, values: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Sum an accounts x P array into (1 + n_groups) x P: row 0 is ``all``.

        A column that is NaN for every account (unknown snapshot) is NaN for every group;
        other NaNs count as 0.
        """
        values = np.asarray(values)
        if values.ndim == 1:
            values = values[:, None]
        unknown = None
        if values.dtype == bool:
            values = values.astype(np.float64)
        elif values.size and np.isnan(values.min()):  # (min: one pass, no mask, when there is no NaN)
            nan = np.isnan(values)
            unknown = nan.all(axis=0)
            values = np.where(nan, 0.0, values)
        total = values.sum(axis=0, keepdims=True)
        n_groups = len(self.group_labels) - 1
        if n_groups:
            per_group = np.asarray(self._onehot(codes, n_groups) @ values)
            out = np.vstack([total, per_group])
        else:
            out = total
        if unknown is not None and unknown.any():
            out[:, unknown] = np.nan
        return out

    def sum_where(self, values, mask: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """``sum_by_group(np.where(mask, values, 0), codes)`` for NaN-free ``values`` (an
        accounts x P array or a number), visiting only the cells of ``mask``: cheaper when few
        are set. The cells are added in account order, as the full sums add them."""
        mask = np.asarray(mask)
        n_cols = mask.shape[1]
        cells = np.flatnonzero(mask)  # account-major
        account, column = np.divmod(cells, n_cols)
        weights = (np.full(len(cells), float(values)) if np.ndim(values) == 0
                   else np.asarray(values, dtype=float).reshape(-1)[cells])
        width = len(self.group_labels)
        out = np.zeros(width * n_cols)
        for rows in self.group_rows(codes):
            out += np.bincount(rows[account] * n_cols + column, weights=weights, minlength=len(out))
        return out.reshape(width, n_cols)

    def _onehot(self, codes: np.ndarray, n_groups: int):
        """groups x accounts: 1 where the account is in the group (once per field)."""
        cached = self.__dict__.get("_onehot_cache")
        if cached is not None and cached[0] is codes and cached[1] == n_groups:
            return cached[2]
        arr = np.asarray(codes)
        n = len(arr)
        if arr.ndim == 2:  # account a's entries, one per field, all before account a + 1's
            rows, cols = arr.reshape(-1), np.repeat(np.arange(n), arr.shape[1])
        else:
            rows, cols = arr, np.arange(n)
        matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_groups, n))
        self.__dict__["_onehot_cache"] = (codes, n_groups, matrix)
        return matrix

    def frame_from_blocks(self, blocks: dict[str, np.ndarray]) -> pd.DataFrame:
        """Columns of (1 + n_groups) x P arrays -> DataFrame indexed by (period, group)."""
        idx = self.index()
        data = {name: np.asarray(arr).T.reshape(-1) for name, arr in blocks.items()}
        return pd.DataFrame(data, index=idx)

    def period_positions(self, dates) -> np.ndarray:
        """Period position of each timestamp (-1 when outside every period)."""
        starts = np.array([p.start.value for p in self.periods], dtype="int64")
        ends = np.array([p.end.value for p in self.periods], dtype="int64")
        stamps = np.asarray(pd.to_datetime(dates), dtype="datetime64[ns]")
        values = stamps.astype("int64")
        pos = np.searchsorted(starts, values, side="right") - 1
        ok = (pos >= 0) & ~np.isnat(stamps)
        pos = np.where(ok, pos, 0)
        ok &= values < ends[pos] if len(ends) else ok
        return np.where(ok, pos, -1)

    def event_slots(self, dates, account_ids=None, codes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, slots) of dated event rows: each row inside a period once for ``all`` and once
        more for its group of each field; ``slots`` are positions in :meth:`index`.

        ``codes``: the rows' :meth:`group_codes` when already known, else ``account_ids``."""
        period = self.period_positions(dates)
        rows = np.flatnonzero(period >= 0)
        base = period[rows] * len(self.group_labels)
        if not self.groupings:
            return rows, base
        if codes is None:
            codes = self.group_codes(account_ids)
        group_rows = self.group_rows(np.asarray(codes)[rows])
        return np.tile(rows, len(group_rows)), np.concatenate([base + g for g in group_rows])

    def aggregate_events(self, frame: pd.DataFrame, date_column: str, *, codes: np.ndarray | None = None,
                         **aggs) -> pd.DataFrame:
        """Named aggregations of event rows per (period, group), e.g.
        ``ctx.aggregate_events(tickets, "created_at", tickets=("account_id", "size"))``.

        ``codes``: the rows' group codes when known (:meth:`table_group_codes`), else they are
        looked up from ``frame["account_id"]``. Combinations without rows get NaN (callers fill
        counts with 0 where that is right).
        """
        ids = frame["account_id"] if self.groupings and codes is None else None
        rows, slots = self.event_slots(frame[date_column], ids, codes)
        return self.aggregate_slots(frame, rows, slots, **aggs)

    def count_slots(self, slots: np.ndarray, categories: np.ndarray, n_categories: int) -> np.ndarray:
        """slots x categories: how many of the placed rows (``event_slots``) fall in each."""
        n_slots = len(self.periods) * len(self.group_labels)
        counts = np.bincount(slots * n_categories + categories, minlength=n_slots * n_categories)
        return counts.reshape(n_slots, n_categories).astype(float)

    def count_distinct(self, dates, keys: np.ndarray, key_codes: np.ndarray) -> np.ndarray:
        """How many distinct keys (e.g. accounts) have rows dated in each slot of :meth:`index`.

        ``keys``: each row's key 0 .. n - 1 (-1: none); ``key_codes``: the :meth:`group_codes`
        of each key. Distinct (period, key) pairs are found once, then counted per group."""
        period = self.period_positions(dates)
        ok = (period >= 0) & (keys >= 0)
        n_keys = len(key_codes)
        pairs = period[ok] * n_keys + keys[ok]
        if len(self.periods) * n_keys <= _BITMAP_CELLS:
            seen = np.zeros(len(self.periods) * n_keys, dtype=bool)
            seen[pairs] = True
            pairs = np.flatnonzero(seen)
        else:
            pairs = np.sort(pairs)  # (np.unique is much slower on big arrays)
            pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])] if len(pairs) else pairs
        width = len(self.group_labels)
        base = pairs // n_keys * width
        counts = np.zeros(len(self.periods) * width)
        for g in self.group_rows(np.asarray(key_codes)[pairs % n_keys]):
            counts += np.bincount(base + g, minlength=len(counts))
        return counts

    def aggregate_slots(self, frame: pd.DataFrame, rows: np.ndarray, slots: np.ndarray, **aggs) -> pd.DataFrame:
        """:meth:`aggregate_events` of rows already placed by :meth:`event_slots`."""
        n_slots = len(self.periods) * len(self.group_labels)
        return pd.DataFrame(reduce_slots(frame, rows, slots, n_slots, aggs), index=self.index())

    def accounts_frame(self) -> pd.DataFrame:
        return self.dataset.table("accounts")


def reduce_slots(frame: pd.DataFrame, rows: np.ndarray, slots: np.ndarray, n_slots: int,
                 aggs: dict[str, tuple[str, str]]) -> dict[str, np.ndarray]:
    """``aggs`` (name -> (column, how), as for ``DataFrame.agg``) of ``frame``'s ``rows`` per slot;
    NaN for slots without rows.

    Sizes, sums of whole numbers and distinct counts of whole numbers are counted with integer
    arithmetic (exact in any order): all such sums in one sparse product. Anything else goes
    through one pandas groupby on the integer slots, which sums in row order like a groupby on
    labels would.
    """
    size = np.bincount(slots, minlength=n_slots).astype(float)
    out: dict[str, np.ndarray] = {}
    sums: dict[str, np.ndarray] = {}
    rest: dict[str, tuple[np.ndarray, str]] = {}
    for name, (column, how) in aggs.items():
        if how == "size":
            out[name] = size.copy()
            continue
        series = frame[column]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        values = series.to_numpy(dtype=float) if numeric else series.to_numpy()
        whole = numeric and how in ("sum", "nunique") and _whole(values)
        if whole and how == "sum":
            sums[name] = values
        elif whole:
            out[name] = _distinct_counts(slots, values[rows], n_slots)
        else:
            rest[name] = (values[rows], how)
    if sums:  # slots x frame rows, 1 where the row counts in the slot
        placed = sparse.csr_matrix((np.ones(len(rows)), (slots, rows)), shape=(n_slots, len(frame)))
        totals = placed @ np.column_stack([np.where(np.isnan(v), 0.0, v) for v in sums.values()])
        out.update(zip(sums, np.asarray(totals, dtype=float).T))
    if rest:
        work = pd.DataFrame({name: v for name, (v, _) in rest.items()})
        result = work.groupby(slots, sort=True).agg(**{name: (name, how) for name, (_, how) in rest.items()})
        for name in rest:
            column = np.full(n_slots, np.nan)
            column[result.index.to_numpy()] = result[name].to_numpy(dtype=float)
            out[name] = column
    empty = size == 0
    for name in aggs:
        out[name] = np.array(out[name], dtype=float)
        out[name][empty] = np.nan
    return {name: out[name] for name in aggs}


def _whole(values: np.ndarray) -> bool:
    """Whole numbers (NaN aside) small enough that sums of them are exact in any order."""
    v = values[~np.isnan(values)]
    return not len(v) or bool(np.abs(v).max() * len(v) < 2 ** 52 and np.array_equal(v, np.trunc(v)))


#: a bitmap of (slot, value) pairs up to this size counts distinct values; beyond, a sort
_BITMAP_CELLS = 64_000_000


def _distinct_counts(slots: np.ndarray, values: np.ndarray, n_slots: int) -> np.ndarray:
    """Distinct non-NaN whole ``values`` per slot."""
    ok = ~np.isnan(values)
    v = values[ok].astype(np.int64)
    if not len(v):
        return np.zeros(n_slots)
    v -= v.min()
    span = int(v.max()) + 1
    pairs = slots[ok].astype(np.int64) * span + v
    if n_slots * span <= _BITMAP_CELLS:
        seen = np.zeros(n_slots * span, dtype=bool)
        seen[pairs] = True
        return np.count_nonzero(seen.reshape(n_slots, span), axis=1).astype(float)
    pairs.sort()  # (np.unique is much slower on big arrays)
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]
    return np.bincount(pairs[first] // span, minlength=n_slots).astype(float)


def group_values(values: pd.Series) -> pd.Series:
    """Group labels for a column: text stripped, dates as YYYY-MM-DD, empty values ``(none)``."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").fillna(NO_VALUE)
    if values.dtype != object:  # typed column: each distinct value is labelled once
        codes, uniques = pd.factorize(values)
        labels = np.array([_label(v) for v in np.asarray(uniques, dtype=object).tolist()] + [NO_VALUE],
                          dtype=object)
        return pd.Series(labels[np.where(codes >= 0, codes, len(uniques))], index=values.index, dtype=object)
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text.where(text != "", NO_VALUE)


def label_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each value's position in the sorted labels of ``group_values(values)`` (``(none)`` last),
    and those labels; each distinct value is labelled once."""
    if pd.api.types.is_datetime64_any_dtype(values) or values.dtype == object:
        codes, names = pd.factorize(group_values(values))
        names = np.asarray(names, dtype=object).tolist()
    else:
        codes, uniques = pd.factorize(values)
        names = [_label(v) for v in np.asarray(uniques, dtype=object).tolist()]
        if (codes < 0).any():
            codes = np.where(codes >= 0, codes, len(names))
            names.append(NO_VALUE)
    labels = sorted(set(names), key=lambda v: (v == NO_VALUE, v))
    return pd.Index(labels, dtype=object).get_indexer(names)[codes] if len(names) else codes, labels


def _label(value) -> str:
    text = str(value).strip()
    return text if text else NO_VALUE


def build_grid(ctx: Context) -> None:
    """The MRR grid for the context's periods (cached on the dataset: computing the KPIs again,
    by another field, reuses it; the grid's arrays are shared and read-only)."""
    if ctx.grid is None and ctx.dataset.has_revenue:
        extend_to = ctx.periods[-1].end if ctx.periods else None
        extend_from = ctx.periods[0].start if ctx.periods else None
        key = (extend_to, extend_from, ctx.dataset.options.get("today"))
        grid, problems = ctx.dataset.cached("kpis.grid", key, ("mrr", "subscriptions"),
                                            lambda: _shared_grid(ctx.dataset, extend_to, extend_from))
        ctx.grid = grid
        ctx.problems.extend(problems)


def _shared_grid(dataset: Dataset, extend_to, extend_from) -> tuple[MrrGrid | None, list[Problem]]:
    grid, problems = mrr_grid(dataset, extend_to=extend_to, extend_from=extend_from)
    if grid is not None:
        for arr in (grid.mrr, grid.interval):
            arr.flags.writeable = False
    return grid, problems
