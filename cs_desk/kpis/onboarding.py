"""Onboarding KPIs (DESIGN.md, "Onboarding").

An account is onboarded on ``accounts.onboarded_on``, or - when the user names a usage milestone
with ``options["onboarding_milestone"] = {"feature": "reports", "events": 100}`` - on the day its
cumulative events (of that feature; of any feature when ``feature`` is omitted) reach the number.
Time to onboard runs from ``customer_since`` (or, when the CRM has none, the first day the account
paid: first subscription start / first MRR month) to that date. An account not onboarded more
than ``options["onboarding_days"]`` (default 90) days after it became a customer is overdue.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..problems import Code, Problem, Severity
from ..snapshots import account_codes, has_missing_ids
from ..usage_engine import daily_usage, merged_options, milestone_dates, usage_source
from .adoption import customers_at
from .context import Context, account_keys
from .registry import family, kpi, reads

DEFAULT_ONBOARDING_DAYS = 90


def milestone_option(options: dict, problems: list[Problem] | None = None) -> tuple[str | None, float] | None:
    spec = options.get("onboarding_milestone")
    if not spec:
        return None
    if isinstance(spec, dict):
        feature, events = spec.get("feature"), spec.get("events", 1)
    elif isinstance(spec, (tuple, list)) and len(spec) == 2:
        feature, events = spec
    else:
        feature, events = None, None
    try:
        events = float(events)
        if events <= 0:
            raise ValueError
    except (TypeError, ValueError):
        if problems is not None:
            problems.append(Problem(Code.OPTION_INVALID, "onboarding_milestone must be like {'feature': 'reports', "
                                    "'events': 100}; it was ignored", Severity.WARNING, value=str(spec)))
        return None
    return (str(feature) if feature not in (None, "") else None), events


def first_revenue_dates(dataset: Dataset) -> pd.Series:
    """Per account, the first date it paid (first subscription start / first MRR month with MRR > 0)."""
    parts = []
    for name, column in (("subscriptions", "start_date"), ("mrr", "month")):
        if dataset.has(name):
            table = dataset.table(name)
            codes, ids = account_codes(dataset, name)  # integer codes: no groupby on text
            paid = np.ones(len(table), dtype=bool)
            if has_missing_ids(dataset, name):
                paid = table["account_id"].notna().to_numpy()
            if "mrr" in table:
                paid = paid & (table["mrr"].to_numpy(dtype=float) > 0)  # (NaN > 0 is False)
            first = pd.Series(table[column].to_numpy()[paid]).groupby(codes[paid]).min()
            parts.append(pd.Series(first.to_numpy(), index=pd.Index(ids[first.index.to_numpy()], name="account_id"),
                                   name=column))
    if not parts:
        return pd.Series(dtype="datetime64[ns]")
    return pd.concat(parts).groupby(level=0).min()


def onboarding_dates(dataset: Dataset, options: dict, problems: list[Problem] | None = None,
                     before: pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per known account: customer_since (CRM, else first payment), onboarded (date)."""
    accounts = dataset.table("accounts").drop_duplicates("account_id", keep="last")
    ids = pd.Index(accounts["account_id"].astype(object))
    first_paid = first_revenue_dates(dataset)
    ids = ids.union(pd.Index(first_paid.index.astype(object)))
    since = pd.Series(pd.NaT, index=ids, dtype="datetime64[ns]")
    if "customer_since" in accounts:
        since.loc[accounts["account_id"].to_numpy()] = accounts["customer_since"].to_numpy()
    fill = first_paid.reindex(ids)
    since = since.fillna(fill)
    milestone = milestone_option(options, problems)
    onboarded = pd.Series(pd.NaT, index=ids, dtype="datetime64[ns]")
    if milestone is not None:
        src = usage_source(dataset, options)
        if src is None:
            if problems is not None:
                problems.append(Problem(Code.OPTION_INVALID, "onboarding_milestone needs usage data, and none was "
                                        "loaded; onboarded_on is used instead", Severity.WARNING))
        else:
            daily = daily_usage(src, before)
            dates = milestone_dates(daily, milestone[0], milestone[1])
            onboarded = dates.reindex(ids.union(dates.index)).astype("datetime64[ns]")
            since = since.reindex(onboarded.index)
            ids = onboarded.index
    if milestone is None and "onboarded_on" in accounts:
        onboarded.loc[accounts["account_id"].to_numpy()] = accounts["onboarded_on"].to_numpy()
    return pd.DataFrame({"customer_since": since.reindex(ids), "onboarded": onboarded.reindex(ids)},
                        index=pd.Index(ids, name="account_id"))


@dataclass(frozen=True)
class _Onboarding:
    """What the onboarding KPIs need of the data, prepared once per dataset and options."""

    dates: pd.DataFrame  # onboarding_dates
    positions: np.ndarray  # each account's position in the accounts table (context.account_keys)
    rows: pd.DataFrame  # the onboarded accounts: account_id, onboarded, _days, _one
    problems: list[Problem]


def _prepared(dataset: Dataset, options: dict) -> _Onboarding:
    def build() -> _Onboarding:
        problems: list[Problem] = []
        dates = onboarding_dates(dataset, options, problems)
        days = (dates["onboarded"] - dates["customer_since"]) / pd.Timedelta(days=1)
        bad = days < 0
        if bad.any():
            problems.append(Problem(Code.END_BEFORE_START, f"{int(bad.sum())} accounts were onboarded before they "
                                    "became customers; their time to onboard was not used", Severity.WARNING,
                                    table="accounts", column="onboarded_on"))
        rows = pd.DataFrame({"account_id": dates.index.to_numpy(), "onboarded": dates["onboarded"].to_numpy(),
                             "_days": days.where(~bad).to_numpy(dtype=float), "_one": 1.0})
        rows = rows[rows["onboarded"].notna()]
        return _Onboarding(dates, account_keys(dataset).positions(dates.index), rows, problems)

    key = repr([options.get(k) for k in ("onboarding_milestone", "usage_path", "usage_columns", "usage_engine",
                                         "usage_date_format")])
    return dataset.cached("kpis.onboarding", key, ("accounts", "subscriptions", "mrr", "usage"), build)


@family("onboarding", needs=("accounts",), label="Onboarding", several_by=True)
def aggregate_onboarding(ctx: Context) -> pd.DataFrame:
    options = merged_options(ctx.dataset, ctx.options)
    prepared = _prepared(ctx.dataset, options)
    ctx.problems.extend(prepared.problems)
    dates, rows = prepared.dates, prepared.rows
    codes = ctx.group_codes_at(prepared.positions)
    out = ctx.aggregate_events(rows, "onboarded", codes=codes[rows.index.to_numpy()],
                               onboarded_accounts=("_one", "sum"), median_days_to_onboard=("_days", "median"))
    out["onboarded_accounts"] = out["onboarded_accounts"].fillna(0.0)
    # overdue at the period end: customers for more than N days, not onboarded by then
    limit = pd.Timedelta(days=float(options.get("onboarding_days", DEFAULT_ONBOARDING_DAYS)))
    ids = dates.index
    ends = [p.end for p in ctx.periods]
    pop = customers_at(ctx, ids, ends)
    since = dates["customer_since"].to_numpy(dtype="datetime64[ns]")
    onb = dates["onboarded"].to_numpy(dtype="datetime64[ns]")
    overdue = np.zeros((len(ids), len(ends)))
    for j, e in enumerate(ends):
        ee = np.datetime64(e, "ns")
        not_yet = np.isnat(onb) | (onb >= ee)
        late = ~np.isnat(since) & (since + np.timedelta64(limit.value, "ns") < ee)
        overdue[:, j] = not_yet & late
    if pop is not None:
        overdue = np.where(np.isnan(pop), np.nan, overdue * (pop == 1))
    out["onboarding_overdue"] = ctx.sum_by_group(overdue, codes).T.reshape(-1)
    return out


kpi("onboarded_accounts", label="Accounts onboarded", unit="count", family="onboarding", direction="higher",
    formula="Accounts whose onboarding completed in the period (accounts.onboarded_on, or the day the usage "
            "milestone of option onboarding_milestone was reached)")(reads("onboarded_accounts"))


kpi("median_days_to_onboard", label="Median days to onboard", unit="days", family="onboarding", direction="lower",
    target=30.0, formula="Median days from customer_since (else the first paid day) to onboarding, over the "
                         "accounts onboarded in the period")(reads("median_days_to_onboard"))


kpi("onboarding_overdue", label="Onboarding overdue", unit="count", family="onboarding", direction="lower",
    formula="Accounts still customers at the period end, customers for more than 90 days (option "
            "onboarding_days) and not onboarded by then")(reads("onboarding_overdue"))
