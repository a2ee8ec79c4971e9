"""Support KPIs from tickets (DESIGN.md, "Support").

Tickets count in the period of ``created_at``. Resolution and first-response times are measured
on the tickets created in the period that have a ``resolved_at`` (``first_response_at``) not
before ``created_at``; a time before creation is a data problem and is left out (reported).
``tickets_per_account`` divides by the accounts paying at the period end (MRR > 0), or without
revenue data by the customers of the accounts table at the end, or without either by the
accounts that raised tickets in the period.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..periods import Period, add_months
from ..problems import Code, Problem, Severity
from .adoption import all_ids, customers_at
from .context import Context, label_codes, table_keys
from .registry import family, kpi, reads, safe_div

CATEGORY_PREFIX = "category::"
PRIORITY_PREFIX = "priority::"
#: priorities counted as urgent (lower-cased); option ``urgent_priorities`` replaces them
URGENT_PRIORITIES = ("urgent", "critical", "high", "highest", "blocker", "emergency", "p0", "p1", "sev1", "sev 1",
                     "severity 1", "1")


def _hours(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    return (later - earlier) / np.timedelta64(1, "h")


def _times(t: pd.DataFrame, created: np.ndarray, problems: list[Problem]) -> dict[str, np.ndarray]:
    """Hours to resolution / first response of tickets with a created_at (NaN when unknown or
    bad; a time before creation is one problem per column). ``created``: ``t["created_at"]``."""
    out = {}
    for column, name in (("resolved_at", "_resolution_h"), ("first_response_at", "_first_response_h")):
        if column in t:
            h = _hours(t[column].to_numpy(dtype="datetime64[ns]"), created)
            bad = h < 0
            if bad.any():
                problems.append(Problem(Code.END_BEFORE_START, f"{int(bad.sum())} tickets have {column} before "
                                        "created_at; their times were not used", Severity.WARNING, table="tickets",
                                        column=column))
            out[name] = np.where(bad, np.nan, h)
        else:
            out[name] = np.full(len(t), np.nan)
    return out


def ticket_rows(tickets: pd.DataFrame, problems: list[Problem] | None = None) -> pd.DataFrame:
    """Tickets with helper columns: hours to resolution / first response (NaN when unknown or bad)."""
    t = tickets.loc[:, [c for c in tickets.columns if not str(c).startswith("_")]].copy()
    t = t[t["created_at"].notna()]
    found: list[Problem] = []
    for name, hours in _times(t, t["created_at"].to_numpy(dtype="datetime64[ns]"), found).items():
        t[name] = hours
    if problems is not None:
        problems.extend(found)
    return t


@dataclass(frozen=True)
class _Tickets:
    """The tickets table as the aggregation needs it, prepared once per dataset."""

    rows: pd.DataFrame  # created_at, resolved_at and hours of the tickets with a created_at
    keep: np.ndarray  # rows of the tickets table these are (created_at known)
    dims: list[tuple[str, list[str], np.ndarray]]  # (prefix, sorted labels, each row's label position)
    problems: list[Problem]


def _prepared_tickets(dataset) -> _Tickets:
    def build() -> _Tickets:
        table = dataset.table("tickets")
        created = table["created_at"].to_numpy(dtype="datetime64[ns]")
        keep = np.flatnonzero(~np.isnat(created))
        whole = len(keep) == len(table)
        t = table if whole else table.iloc[keep]
        created = created if whole else created[keep]
        problems: list[Problem] = []
        resolved = (t["resolved_at"].to_numpy(dtype="datetime64[ns]") if "resolved_at" in t
                    else np.full(len(t), np.datetime64("NaT"), dtype="datetime64[ns]"))
        rows = pd.DataFrame({"created_at": created, "resolved_at": resolved, **_times(t, created, problems)})
        dims = []
        for column, prefix in (("category", CATEGORY_PREFIX), ("priority", PRIORITY_PREFIX)):
            if column in t:
                codes, labels = label_codes(t[column])
                dims.append((prefix, labels, codes))
        return _Tickets(rows, keep, dims, problems)

    return dataset.cached("kpis.support.tickets", None, ("tickets", "accounts"), build)


@family("support", needs=("tickets",), label="Support", several_by=True)
def aggregate_support(ctx: Context) -> pd.DataFrame:
    prepared = _prepared_tickets(ctx.dataset)
    ctx.problems.extend(prepared.problems)
    tickets = prepared.rows
    codes = ctx.table_group_codes("tickets")[prepared.keep]
    rows, slots = ctx.event_slots(tickets["created_at"], codes=codes)
    out = ctx.aggregate_slots(tickets, rows, slots, tickets=("created_at", "size"),
                              median_resolution_hours=("_resolution_h", "median"),
                              median_first_response_hours=("_first_response_h", "median"))
    out["tickets"] = out["tickets"].fillna(0.0)
    keys = table_keys(ctx.dataset, "tickets")
    out["accounts_with_tickets"] = ctx.count_distinct(tickets["created_at"], keys.distinct[prepared.keep],
                                                      ctx.group_codes_at(keys.distinct_positions))
    for prefix, labels, label_pos in prepared.dims:
        counts = ctx.count_slots(slots, label_pos[rows], len(labels))
        out = pd.concat([out, pd.DataFrame(counts, index=out.index, columns=[prefix + v for v in labels])], axis=1)
    # the same count for the period before each period (same length): one pass when those windows
    # do not overlap (whole months / quarters / years), else one period at a time (cut periods)
    before = [Period(add_months(p.start, -p.months), p.start, p.label, p.kind) for p in ctx.periods]
    disjoint = all(a.end <= b.start for a, b in zip(before, before[1:]))
    chunks = [before] if disjoint else [[p] for p in before]
    previous = [ctx.sub_context(chunk).aggregate_events(tickets, "created_at", codes=codes,
                                                        tickets=("created_at", "size"))["tickets"]
                for chunk in chunks]
    out["tickets_previous"] = pd.concat(previous).reindex(out.index).fillna(0.0).to_numpy()
    ends = [p.end for p in ctx.periods]
    out["open_tickets"] = _open_at(ctx, tickets, codes, ends).T.reshape(-1)
    # accounts for tickets_per_account: the customers among all accounts (with an MRR grid only
    # its accounts can be paying ones)
    pop_ids = ctx.grid.accounts if ctx.grid is not None and len(ctx.grid.accounts) else all_ids(ctx)
    pop = customers_at(ctx, pop_ids, ends) if len(pop_ids) else None
    if pop is not None:
        out["accounts"] = ctx.sum_by_group(pop, ctx.group_codes(pop_ids)).T.reshape(-1)
    else:
        out["accounts"] = out["accounts_with_tickets"].to_numpy()
    return out


def _open_at(ctx: Context, tickets: pd.DataFrame, codes: np.ndarray, ends: list[pd.Timestamp]) -> np.ndarray:
    """Tickets created before each instant and not resolved by then, (1 + n_groups) x instants.

    A ticket is open at the instants from the first one after its creation up to (excluding)
    the first one after its resolution: two ``searchsorted`` and a running sum, no
    tickets x instants array."""
    instants = np.array(ends, dtype="datetime64[ns]")
    created = tickets["created_at"].to_numpy(dtype="datetime64[ns]")
    resolved = tickets["resolved_at"].to_numpy(dtype="datetime64[ns]")
    first = np.searchsorted(instants, created, side="right")  # created < instant
    last = np.where(np.isnat(resolved), len(ends), np.searchsorted(instants, resolved, side="right"))
    open_some = first < last
    width = len(ctx.group_labels)
    counts = np.zeros(width * (len(ends) + 1))
    for g in ctx.group_rows(codes):
        base = g[open_some] * (len(ends) + 1)
        counts += np.bincount(base + first[open_some], minlength=len(counts))
        counts -= np.bincount(base + last[open_some], minlength=len(counts))
    return np.cumsum(counts.reshape(width, len(ends) + 1), axis=1)[:, :len(ends)]


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
