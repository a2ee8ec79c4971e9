"""Support KPIs from tickets (DESIGN.md, "Support").

Tickets count in the period of ``created_at``. Resolution and first-response times are measured
on the tickets created in the period that have a ``resolved_at`` (``first_response_at``) not
before ``created_at``; a time before creation is a data problem and is left out (reported).
``tickets_per_account`` divides by the accounts paying at the period end (MRR > 0), or without
revenue data by the customers of the accounts table at the end, or without either by the
accounts that raised tickets in the period.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..periods import Period, add_months
from ..problems import Code, Problem, Severity
from .adoption import all_ids, customers_at
from .context import NO_VALUE, Context, group_values
from .registry import family, kpi, reads, safe_div

CATEGORY_PREFIX = "category::"
PRIORITY_PREFIX = "priority::"
#: priorities counted as urgent (lower-cased); option ``urgent_priorities`` replaces them
URGENT_PRIORITIES = ("urgent", "critical", "high", "highest", "blocker", "emergency", "p0", "p1", "sev1", "sev 1",
                     "severity 1", "1")


def _hours(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return ((later - earlier) / pd.Timedelta(hours=1)).to_numpy(dtype=float)


def ticket_rows(tickets: pd.DataFrame, problems: list[Problem] | None = None) -> pd.DataFrame:
    """Tickets with helper columns: hours to resolution / first response (NaN when unknown or bad)."""
    t = tickets.loc[:, [c for c in tickets.columns if not str(c).startswith("_")]].copy()
    t = t[t["created_at"].notna()]
    for column, out in (("resolved_at", "_resolution_h"), ("first_response_at", "_first_response_h")):
        if column in t:
            h = _hours(t[column], t["created_at"])
            bad = h < 0
            if bad.any() and problems is not None:
                problems.append(Problem(Code.END_BEFORE_START, f"{int(bad.sum())} tickets have {column} before "
                                        "created_at; their times were not used", Severity.WARNING, table="tickets",
                                        column=column))
            t[out] = np.where(bad, np.nan, h)
        else:
            t[out] = np.nan
    return t


@family("support", needs=("tickets",), label="Support")
def aggregate_support(ctx: Context) -> pd.DataFrame:
    tickets = ticket_rows(ctx.dataset.table("tickets"), ctx.problems)
    tickets["_one"] = 1.0
    aggs = dict(tickets=("_one", "sum"), median_resolution_hours=("_resolution_h", "median"),
                median_first_response_hours=("_first_response_h", "median"),
                accounts_with_tickets=("account_id", "nunique"))
    dims = {}
    for column, prefix in (("category", CATEGORY_PREFIX), ("priority", PRIORITY_PREFIX)):
        if column in tickets:
            labels = group_values(tickets[column])
            for value in sorted(labels.unique(), key=lambda v: (v == NO_VALUE, v)):
                name = f"_{prefix}{value}"
                dims[name] = (labels == value).astype(float)
                aggs[prefix + value] = (name, "sum")
    if dims:
        tickets = pd.concat([tickets, pd.DataFrame(dims, index=tickets.index)], axis=1)
    out = ctx.aggregate_events(tickets, "created_at", **aggs)
    for column in out.columns:
        if column == "tickets" or column == "accounts_with_tickets" or column.startswith((CATEGORY_PREFIX,
                                                                                          PRIORITY_PREFIX)):
            out[column] = out[column].fillna(0.0)
    # the same count for the period before each period (same length): one pass when those windows
    # do not overlap (whole months / quarters / years), else one period at a time (cut periods)
    before = [Period(add_months(p.start, -p.months), p.start, p.label, p.kind) for p in ctx.periods]
    disjoint = all(a.end <= b.start for a, b in zip(before, before[1:]))
    chunks = [before] if disjoint else [[p] for p in before]
    previous = [ctx.sub_context(chunk).aggregate_events(tickets, "created_at", tickets=("_one", "sum"))["tickets"]
                for chunk in chunks]
    out["tickets_previous"] = pd.concat(previous).reindex(out.index).fillna(0.0).to_numpy()
    # backlog at the period end
    ends = [p.end for p in ctx.periods]
    created = tickets["created_at"].to_numpy(dtype="datetime64[ns]")
    resolved = (tickets["resolved_at"].to_numpy(dtype="datetime64[ns]") if "resolved_at" in tickets
                else np.full(len(tickets), np.datetime64("NaT"), dtype="datetime64[ns]"))
    ids = pd.Index(tickets["account_id"].astype(object))
    codes = ctx.group_codes(ids)
    open_at = np.zeros((len(tickets), len(ends)))
    for j, e in enumerate(ends):
        ee = np.datetime64(e, "ns")
        open_at[:, j] = (created < ee) & (np.isnat(resolved) | (resolved >= ee))
    blocks = {"open_tickets": ctx.sum_by_group(open_at, codes)}
    # accounts for tickets_per_account
    pop_ids = all_ids(ctx)
    pop = customers_at(ctx, pop_ids, ends) if len(pop_ids) else None
    if pop is not None:
        blocks["accounts"] = ctx.sum_by_group(pop, ctx.group_codes(pop_ids))
    extra = ctx.frame_from_blocks(blocks)
    out["open_tickets"] = extra["open_tickets"].to_numpy()
    out["accounts"] = extra["accounts"].to_numpy() if "accounts" in extra else out["accounts_with_tickets"].to_numpy()
    return out


kpi("tickets", label="Tickets", unit="count", family="support", direction="lower", headline=True,
    formula="Tickets created in the period")(reads("tickets"))


@kpi("tickets_per_account", label="Tickets per account", unit="ratio", family="support", direction="lower",
     formula="Tickets created in the period / accounts paying at the period end (without revenue data: customers "
             "in the accounts table at the end; without either: accounts that raised tickets)")
def tickets_per_account(a):
    return safe_div(a["tickets"], a["accounts"])


@kpi("tickets_by_category", label="Tickets by category", unit="count", family="support",
     formula="Tickets created in the period per category ('(none)' when empty)")
def tickets_by_category(a):
    cols = [c for c in a.columns if c.startswith(CATEGORY_PREFIX)]
    return a[cols].rename(columns=lambda c: c[len(CATEGORY_PREFIX):])


@kpi("tickets_by_priority", label="Tickets by priority", unit="count", family="support",
     formula="Tickets created in the period per priority ('(none)' when empty)")
def tickets_by_priority(a):
    cols = [c for c in a.columns if c.startswith(PRIORITY_PREFIX)]
    return a[cols].rename(columns=lambda c: c[len(PRIORITY_PREFIX):])


kpi("median_resolution_hours", label="Median resolution time", unit="hours", family="support", direction="lower",
    target=24.0, formula="Median hours from created_at to resolved_at of the tickets created in the period that "
                         "are resolved")(reads("median_resolution_hours"))
kpi("median_first_response_hours", label="Median first response time", unit="hours", family="support",
    direction="lower", target=4.0,
    formula="Median hours from created_at to first_response_at of the tickets created in the period that have "
            "one (needs a first-response column in the export)")(reads("median_first_response_hours"))


@kpi("tickets_change", label="Tickets vs previous period", unit="fraction", family="support", direction="lower",
     formula="(tickets in the period - tickets in the period of the same length just before) / tickets in that "
             "previous period; empty when it had none")
def tickets_change(a):
    return safe_div(a["tickets"] - a["tickets_previous"], a["tickets_previous"])


kpi("open_tickets", label="Open tickets at period end", unit="count", family="support", direction="lower",
    formula="Tickets created before the period end and not resolved by then")(reads("open_tickets"))
