"""``compute``: every registered KPI for a dataset, periods and groups, as one tidy table."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

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


def _window(ctx: Context, start, end) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last month for ``start`` / ``end`` (default: what the data covers); builds the
    context's MRR grid. None: nothing dated and no explicit range."""
    if ctx.dataset.has_revenue:
        build_grid(ctx)
    rng = default_range(ctx.dataset, ctx.grid)
    if rng is None and (start is None or end is None):
        return None
    return (month_start(start) if start is not None else rng[0],
            month_start(end) if end is not None else rng[1])


def months_covered(dataset: Dataset, start=None, end=None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last month :func:`compute` reports for ``start`` / ``end`` (None: nothing
    dated and no explicit range). Builds (and caches in the dataset) the MRR grid."""
    return _window(Context(dataset, [], None, {}), start, end)


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
    return _compute(dataset, start, end, (by,) if by else (), granularity, kpis, options)[0]


def compute_many(dataset: Dataset, start=None, end=None, by: Iterable[str] = (), granularity: str = "month",
                 kpis=None, options: dict | None = None) -> dict[str, KpiResult]:
    """``compute`` by each of several fields, in one pass: ``{field: compute(..., by=field)}``.

    The work that does not depend on the field (MRR movements of every account, event rows per
    period ...) is done once; each field only adds its group sums.
    """
    fields = tuple(dict.fromkeys(f for f in by if f))
    if not fields:
        return {}
    return dict(zip(fields, _compute(dataset, start, end, fields, granularity, kpis, options)))


def _check_fields(dataset: Dataset, fields: tuple[str, ...]) -> None:
    if not fields:
        return
    if not dataset.has("accounts"):
        raise UsageError(f"--by {fields[0]} needs an accounts table, and none was loaded")
    accounts = dataset.table("accounts")
    for by in fields:
        if by not in accounts.columns:
            names = ", ".join(c for c in accounts.columns if not c.startswith("_") and c != "account_id")
            raise UsageError(f"--by {by!r}: the accounts table has no such field (it has: {names})")


def _compute(dataset: Dataset, start, end, fields: tuple[str, ...], granularity: str, kpis,
             options: dict | None) -> list[KpiResult]:
    """One KpiResult per field of ``fields`` (one ungrouped result when there is none)."""
    if granularity not in GRANULARITIES:
        raise UsageError(f"unknown period {granularity!r}; use one of {', '.join(GRANULARITIES)}")
    chosen = resolve_kpis(kpis)
    _check_fields(dataset, fields)
    ctx = Context(dataset, [], fields[0] if len(fields) == 1 else (fields or None), dict(options or {}))
    window = _window(ctx, start, end)
    if window is None:  # nothing dated and no explicit range
        return [KpiResult(pd.DataFrame(columns=TIDY_COLUMNS),
                          [(k.id, missing_reason(k.needs, set()) or "no data") for k in chosen],
                          list(dataset.problems) + ctx.problems, c) for c in _field_contexts(ctx)]
    first, last = window
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
    by_family: dict[str, list[KPI]] = {}
    for k in chosen:
        reason = missing_reason(k.needs, available, blocked)
        if reason:
            skipped.append((k.id, reason))
        else:
            by_family.setdefault(k.family, []).append(k)
    contexts = _field_contexts(ctx)
    parts: list[list[_Part]] = [[] for _ in contexts]
    for fam_name, members in by_family.items():
        family = FAMILIES[fam_name]
        if len(contexts) == 1 or family.several_by:
            runs = [(ctx, list(range(len(contexts))))]
        else:  # one call per field, each on the field's own context
            runs = [(c, [i]) for i, c in enumerate(contexts)]
        for run_ctx, targets in runs:
            agg = family.aggregate(run_ctx)
            agg.attrs["periods_per_year"] = PERIODS_PER_YEAR[granularity]
            columns = _field_columns(run_ctx)
            for k in members:
                for kpi_id, values in _outputs(k, k.fn(agg), run_ctx):
                    for i, cols in zip(targets, columns):
                        parts[i].append(_part(kpi_id, k.unit, values, cols, len(ctx.periods)))
    results = []
    for c, field_parts in zip(contexts, parts):
        if c is not ctx:
            c.problems = ctx.problems + c.problems  # shared, then the field's own
        problems = list(dataset.problems) + c.problems
        problems += [Problem(Code.KPI_SKIPPED, f"{k}: {why}", Severity.INFO) for k, why in skipped]
        results.append(KpiResult(_table(field_parts, c, chosen), list(skipped), problems, c))
    return results


def _field_contexts(ctx: Context) -> list[Context]:
    """The context of each field's result (the computation's own one when there is one field)."""
    if len(ctx.fields) <= 1:
        return [ctx]
    return [Context(ctx.dataset, ctx.periods, f, ctx.options, ctx.grid) for f in ctx.fields]


def _field_columns(ctx: Context) -> list[np.ndarray | None]:
    """Per field, the group positions (in ``ctx.group_labels``) its result keeps."""
    if len(ctx.fields) <= 1:
        return [None]
    return list(ctx.field_slots().values())


def _outputs(k: KPI, values, ctx: Context) -> list[tuple[str, np.ndarray]]:
    """(output id, float values in ``ctx.index()`` order) of one KPI's result."""
    if isinstance(values, pd.Series):
        columns = {k.id: values}
    else:
        columns = {f"{k.id}[{c}]": values[c] for c in values.columns}
    idx = ctx.index()
    out = []
    for kpi_id, series in columns.items():
        if series.index is not idx and not series.index.equals(idx):
            series = series.reindex(idx)
        v = np.array(pd.to_numeric(series, errors="coerce"), dtype=float)
        v[~np.isfinite(v)] = np.nan
        out.append((kpi_id, v))
    return out


@dataclass(frozen=True)
class _Part:
    """One output of one KPI for one field's result."""

    kpi: str
    unit: str
    values: np.ndarray  # periods x (all + the field's groups)


def _part(kpi_id: str, unit: str, values: np.ndarray, columns: np.ndarray | None, n_periods: int) -> _Part:
    grid = values.reshape(n_periods, -1)
    return _Part(kpi_id, unit, grid if columns is None else grid[:, columns])


def _table(parts: list[_Part], ctx: Context, chosen: list[KPI]) -> pd.DataFrame:
    """The tidy table of one result, ordered by period, group, KPI (in the order asked for) and
    output id; the ``(none)`` group is kept only when it holds data."""
    if not parts:
        return pd.DataFrame(columns=TIDY_COLUMNS)
    k_order = {k.id: i for i, k in enumerate(chosen)}
    order = sorted(range(len(parts)), key=lambda i: (k_order.get(base_id(parts[i].kpi), len(k_order)),
                                                      parts[i].kpi))
    parts = [parts[i] for i in order]
    values = np.stack([p.values for p in parts], axis=-1)  # periods x groups x outputs
    groups = np.asarray(ctx.group_labels, dtype=object)
    if ctx.fields and groups[-1] == NO_VALUE and not np.nan_to_num(values[:, -1, :]).any():
        values, groups = values[:, :-1, :], groups[:-1]
    n_p, n_g, n_k = values.shape
    return pd.DataFrame({
        "period": np.repeat(np.asarray(ctx.period_labels, dtype=object), n_g * n_k),
        "group": np.tile(np.repeat(groups, n_k), n_p),
        "kpi": np.tile(np.array([p.kpi for p in parts], dtype=object), n_p * n_g),
        "value": values.reshape(-1),
        "unit": np.tile(np.array([p.unit for p in parts], dtype=object), n_p * n_g),
    })


def movements(dataset: Dataset, start=None, end=None, by: str | None = None, granularity: str = "month"):
    """Per period, every account with its start MRR, end MRR and movement type (drill-down)."""
    from .revenue import movements as _movements

    if not dataset.has_revenue:
        raise UsageError("movements need an MRR table or subscriptions, and neither was loaded")
    result = compute(dataset, start, end, by, granularity, kpis=["mrr"])
    return _movements(result.context)

