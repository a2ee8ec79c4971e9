"""``compute``: every registered KPI for a dataset, periods and groups, as one tidy table."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..periods import GRANULARITIES, make_periods, month_start
from ..problems import Code, Problem, Severity
from ..schema import TABLES
from .context import NO_VALUE, Context, build_grid
from .registry import FAMILIES, REGISTRY, REVENUE, KPI, base_id

TIDY_COLUMNS = ["period", "group", "kpi", "value", "unit"]
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


class UsageError(ValueError):
    """The caller asked for something that cannot be done (unknown KPI, bad --by field ...).

    Data problems never raise; this is only for misuse, which faces turn into exit code 2.
    """


@dataclass
class KpiResult:
    table: pd.DataFrame  # period, group, kpi, value, unit
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (kpi id, reason)
    problems: list[Problem] = field(default_factory=list)
    context: Context | None = None

    def value(self, kpi: str, period: str | None = None, group: str = "all") -> float:
        """One value (the last period when ``period`` is None); NaN when absent."""
        t = self.table
        rows = t[(t["kpi"] == kpi) & (t["group"] == group)]
        if period is not None:
            rows = rows[rows["period"] == period]
        if rows.empty:
            return float("nan")
        return float(rows["value"].iloc[-1])

    def series(self, kpi: str, group: str = "all") -> pd.Series:
        t = self.table
        rows = t[(t["kpi"] == kpi) & (t["group"] == group)]
        return pd.Series(rows["value"].to_numpy(dtype=float), index=rows["period"].to_numpy(), name=kpi)

    def wide(self, group: str = "all") -> pd.DataFrame:
        """period x kpi for one group (sheets, dashboards)."""
        t = self.table[self.table["group"] == group]
        return t.pivot_table(index="period", columns="kpi", values="value", sort=False, dropna=False)

    @property
    def periods(self) -> list[str]:
        return self.context.period_labels if self.context else sorted(self.table["period"].unique())


def blocked_tables(dataset: Dataset) -> dict[str, str]:
    """Tables that were loaded but must not be summed, with the reason (mixed currencies)."""
    return {p.table: p.message for p in dataset.problems
            if p.code is Code.MIXED_CURRENCIES and p.severity is Severity.ERROR and p.table}


def tables_available(dataset: Dataset) -> set[str]:
    blocked = blocked_tables(dataset)
    present = {name for name in TABLES if dataset.has(name) and name not in blocked}
    if dataset.options.get("usage_path"):  # a usage file aggregated without loading (usage_engine)
        present.add("usage")
    if present & {"mrr", "subscriptions"}:
        present.add(REVENUE)
    return present


def missing_reason(needs: tuple[str, ...], available: set[str], blocked: dict[str, str] | None = None) -> str | None:
    missing = [n for n in needs if n not in available]
    if not missing:
        return None
    for n in missing:
        for table in ((n,) if n != REVENUE else ("mrr", "subscriptions")):
            if blocked and table in blocked:
                return f"the {table} table mixes currencies; choose one with the currency option (--currency)"
    names = ["an MRR table or subscriptions" if n == REVENUE else f"the {n} table" for n in missing]
    return "needs " + " and ".join(names) + ", which " + ("was" if len(names) == 1 else "were") + " not loaded"


def default_range(dataset: Dataset, ctx_grid=None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last month the data covers (revenue first; else the event tables)."""
    if ctx_grid is not None:
        return ctx_grid.first_month, ctx_grid.last_month
    dates = []
    for name, column in (("usage", "date"), ("tickets", "created_at"), ("surveys", "date"),
                         ("renewals", "renewal_date")):
        if dataset.has(name):
            col = dataset.table(name)[column].dropna()
            if len(col):
                dates += [col.min(), col.max()]
    if not dataset.has("usage") and dataset.options.get("usage_path"):
        from ..usage_engine import date_range, usage_source

        rng = date_range(usage_source(dataset))
        if rng is not None:
            dates += list(rng)
    if not dates:
        return None
    return month_start(min(dates)), month_start(max(dates))


def resolve_kpis(kpis) -> list[KPI]:
    """The KPIs asked for by id; by default every KPI except the on-request ones (``default=False``)."""
    if not kpis:
        return [k for k in REGISTRY.values() if k.default]
    chosen = []
    for k in kpis:
        if base_id(k) not in REGISTRY:
            raise UsageError(f"unknown KPI {k!r}; `cs-desk kpis` lists the known ones")
        chosen.append(REGISTRY[base_id(k)])
    return list(dict.fromkeys(chosen))


def compute(dataset: Dataset, start=None, end=None, by: str | None = None, granularity: str = "month",
            kpis=None, options: dict | None = None) -> KpiResult:
    """Compute KPIs for the months ``start`` .. ``end`` (inclusive; default: what the data covers).

    ``by`` is any accounts field; it adds one group per value beside ``all``. KPIs whose tables
    are missing are listed in ``skipped`` with the reason. Data problems are returned, never raised.
    """
    if granularity not in GRANULARITIES:
        raise UsageError(f"unknown period {granularity!r}; use one of {', '.join(GRANULARITIES)}")
    chosen = resolve_kpis(kpis)
    if by:
        accounts = dataset.table("accounts")
        if not dataset.has("accounts"):
            raise UsageError(f"--by {by} needs an accounts table, and none was loaded")
        if by not in accounts.columns:
            fields = ", ".join(c for c in accounts.columns if not c.startswith("_") and c != "account_id")
            raise UsageError(f"--by {by!r}: the accounts table has no such field (it has: {fields})")
    ctx = Context(dataset, [], by, dict(options or {}))
    if dataset.has_revenue:
        build_grid(ctx)
    rng = default_range(dataset, ctx.grid)
    if rng is None and (start is None or end is None):  # nothing dated and no explicit range
        return KpiResult(pd.DataFrame(columns=TIDY_COLUMNS),
                         [(k.id, missing_reason(k.needs, set()) or "no data") for k in chosen],
                         list(dataset.problems) + ctx.problems, ctx)
    first = month_start(start) if start is not None else rng[0]
    last = month_start(end) if end is not None else rng[1]
    if last < first:
        raise UsageError(f"--to {last:%Y-%m} is before --from {first:%Y-%m}")
    ctx.periods = make_periods(first, last, granularity)
    if ctx.grid is not None and (ctx.periods[-1].end > ctx.grid.instants[-1]
                                 or ctx.periods[0].start < ctx.grid.instants[0]):
        ctx.grid = None  # the range goes past the data: rebuild with the longer grid
        ctx.problems.clear()
        build_grid(ctx)
    available = tables_available(dataset)
    blocked = blocked_tables(dataset)
    skipped: list[tuple[str, str]] = []
    parts: list[pd.DataFrame] = []
    by_family: dict[str, list[KPI]] = {}
    for k in chosen:
        reason = missing_reason(k.needs, available, blocked)
        if reason:
            skipped.append((k.id, reason))
        else:
            by_family.setdefault(k.family, []).append(k)
    for fam_name, members in by_family.items():
        agg = FAMILIES[fam_name].aggregate(ctx)
        agg.attrs["periods_per_year"] = PERIODS_PER_YEAR[granularity]
        for k in members:
            parts.extend(_tidy(k, k.fn(agg), ctx))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TIDY_COLUMNS)
    table = _drop_empty_none_group(table)
    table = _order(table, ctx, chosen)
    problems = list(dataset.problems) + ctx.problems
    problems += [Problem(Code.KPI_SKIPPED, f"{k}: {why}", Severity.INFO) for k, why in skipped]
    return KpiResult(table, skipped, problems, ctx)


def _tidy(k: KPI, values, ctx: Context) -> list[pd.DataFrame]:
    if isinstance(values, pd.Series):
        columns = {k.id: values}
    else:
        columns = {f"{k.id}[{c}]": values[c] for c in values.columns}
    out = []
    for kpi_id, series in columns.items():
        v = np.array(pd.to_numeric(series, errors="coerce"), dtype=float)
        v[~np.isfinite(v)] = np.nan
        out.append(pd.DataFrame({
            "period": series.index.get_level_values("period"),
            "group": series.index.get_level_values("group"),
            "kpi": kpi_id, "value": v, "unit": k.unit,
        }))
    return out


def _drop_empty_none_group(table: pd.DataFrame) -> pd.DataFrame:
    """The ``(none)`` group (accounts without a value for ``--by``) is kept only when it holds data."""
    if table.empty:
        return table
    none = table["group"] == NO_VALUE
    if none.any() and not (table.loc[none, "value"].fillna(0) != 0).any():
        return table.loc[~none]
    return table


def _order(table: pd.DataFrame, ctx: Context, chosen: list[KPI]) -> pd.DataFrame:
    if table.empty:
        return table
    p_order = {p: i for i, p in enumerate(ctx.period_labels)}
    g_order = {g: i for i, g in enumerate(ctx.group_labels)}
    k_order = {k.id: i for i, k in enumerate(chosen)}
    keys = pd.DataFrame({
        "p": table["period"].map(p_order), "g": table["group"].map(g_order),
        "k": table["kpi"].map(lambda x: k_order.get(base_id(x), len(k_order))), "sub": table["kpi"],
    })
    order = keys.sort_values(["p", "g", "k", "sub"], kind="stable").index
    return table.loc[order].reset_index(drop=True)[TIDY_COLUMNS]


def movements(dataset: Dataset, start=None, end=None, by: str | None = None, granularity: str = "month"):
    """Per period, every account with its start MRR, end MRR and movement type (drill-down)."""
    from .revenue import movements as _movements

    if not dataset.has_revenue:
        raise UsageError("movements need an MRR table or subscriptions, and neither was loaded")
    result = compute(dataset, start, end, by, granularity, kpis=["mrr"])
    return _movements(result.context)

