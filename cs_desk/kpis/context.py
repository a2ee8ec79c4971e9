"""What a KPI family needs to aggregate: data, periods, groups and the cached MRR grid."""
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


@dataclass
class Context:
    dataset: Dataset
    periods: list[Period]
    by: str | None = None
    options: dict = field(default_factory=dict)
    grid: MrrGrid | None = None
    problems: list[Problem] = field(default_factory=list)

    # -- periods -----------------------------------------------------------------------------
    @property
    def period_labels(self) -> list[str]:
        return [p.label for p in self.periods]

    @cached_property
    def groups(self) -> pd.Series:
        """account_id -> group value for ``by`` (empty when there is no grouping)."""
        if not self.by:
            return pd.Series(dtype=object)
        accounts = self.dataset.table("accounts")
        return pd.Series(group_values(accounts[self.by]).to_numpy(), index=accounts["account_id"].to_numpy())

    def sub_context(self, periods: list[Period]) -> "Context":
        """The same data and groups over other periods (shares the grid and the group lookups)."""
        other = Context(self.dataset, periods, self.by, self.options, self.grid)
        for name in ("groups", "group_labels"):
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    @cached_property
    def group_labels(self) -> list[str]:
        """``["all", <each group value sorted>]``."""
        if not self.by:
            return [ALL]
        values = sorted(set(self.groups.tolist()) | {NO_VALUE}, key=lambda v: (v == NO_VALUE, v))
        return [ALL] + values

    def index(self) -> pd.MultiIndex:
        return pd.MultiIndex.from_product([self.period_labels, self.group_labels], names=["period", "group"])

    def group_codes(self, account_ids) -> np.ndarray:
        """Position in ``group_labels[1:]`` of each account's group (accounts unknown to the
        accounts table fall into ``(none)``)."""
        labels = self.group_labels[1:]
        if not labels:
            return np.full(len(account_ids), -1)
        groups = self.groups
        groups = groups[~groups.index.duplicated()]
        label_pos = pd.Index(labels).get_indexer(groups.to_numpy())
        pos = pd.Index(groups.index).get_indexer(pd.Index(account_ids))
        none_code = labels.index(NO_VALUE)
        return np.where(pos >= 0, label_pos[np.maximum(pos, 0)], none_code)

    # -- aggregation helpers -----------------------------------------------------------------
    def sum_by_group(self, values: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Sum an accounts x P array into (1 + n_groups) x P: row 0 is ``all``.

        A column that is NaN for every account (unknown snapshot) is NaN for every group;
        other NaNs count as 0.
        """
        values = np.asarray(values)
        if values.ndim == 1:
            values = values[:, None]
        if values.dtype == bool:
            values = values.astype(np.float64)
            unknown = None
        else:
            nan = np.isnan(values)
            unknown = nan.all(axis=0) if len(values) else np.zeros(values.shape[1], bool)
            if nan.any():
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

    def _onehot(self, codes: np.ndarray, n_groups: int):
        key = (id(codes), len(codes), n_groups)
        cached = getattr(self, "_onehot_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        matrix = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))),
                                   shape=(n_groups, len(codes)))
        self._onehot_cache = (key, matrix)
        return matrix

    def frame_from_blocks(self, blocks: dict[str, np.ndarray]) -> pd.DataFrame:
        """Columns of (1 + n_groups) x P arrays -> DataFrame indexed by (period, group)."""
        idx = self.index()
        data = {name: np.asarray(arr).T.reshape(-1) for name, arr in blocks.items()}
        return pd.DataFrame(data, index=idx)

    def period_positions(self, dates: pd.Series) -> np.ndarray:
        """Period position of each timestamp (-1 when outside every period)."""
        starts = np.array([p.start.value for p in self.periods], dtype="int64")
        ends = np.array([p.end.value for p in self.periods], dtype="int64")
        values = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]").astype("int64")
        pos = np.searchsorted(starts, values, side="right") - 1
        ok = (pos >= 0) & ~pd.isna(dates).to_numpy()
        pos = np.where(ok, pos, 0)
        ok &= values < ends[pos] if len(ends) else ok
        return np.where(ok, pos, -1)

    def aggregate_events(self, frame: pd.DataFrame, date_column: str, **aggs) -> pd.DataFrame:
        """Named aggregations of event rows per (period, group), e.g.
        ``ctx.aggregate_events(tickets, "created_at", tickets=("account_id", "size"))``.

        Combinations without rows get NaN (callers fill counts with 0 where that is right).
        """
        pos = self.period_positions(frame[date_column])
        keep = pos >= 0
        work = frame.loc[keep].copy()
        work["period"] = np.asarray(self.period_labels, dtype=object)[pos[keep]] if keep.any() else []
        parts = [work.groupby("period").agg(**aggs).assign(group=ALL).set_index("group", append=True)]
        if self.by:
            work["group"] = np.asarray(self.group_labels[1:], dtype=object)[self.group_codes(work["account_id"])] \
                if len(work) else []
            parts.append(work.groupby(["period", "group"]).agg(**aggs))
        out = pd.concat(parts) if parts else pd.DataFrame()
        return out.reindex(self.index())

    def accounts_frame(self) -> pd.DataFrame:
        return self.dataset.table("accounts")


def group_values(values: pd.Series) -> pd.Series:
    """Group labels for a column: text stripped, dates as YYYY-MM-DD, empty values ``(none)``."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").fillna(NO_VALUE)
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text.where(text != "", NO_VALUE)


def build_grid(ctx: Context) -> None:
    if ctx.grid is None and ctx.dataset.has_revenue:
        grid, problems = mrr_grid(ctx.dataset, extend_to=ctx.periods[-1].end if ctx.periods else None,
                                  extend_from=ctx.periods[0].start if ctx.periods else None)
        ctx.grid = grid
        ctx.problems.extend(problems)
