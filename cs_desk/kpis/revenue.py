"""Revenue and logo KPIs from MRR snapshots (DESIGN.md, "KPI definitions").

Everything is computed on the accounts x instants grid: the start and end snapshots of every
period are two columns per period, movements are element-wise masks, and group sums are one
sparse matrix product. No Python loop per account.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..periods import add_months
from .context import Context
from .registry import REVENUE, family, kpi, reads, safe_div

MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churned")
MOVEMENT_ORDER = MOVEMENTS + ("extension", "flat", "inactive")
#: masks with fewer cells set than this share are summed cell by cell (``Context.sum_where``)
SPARSE_SHARE = 0.15


def _snapshots(ctx: Context, instants: list[pd.Timestamp]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MRR, billing interval and 'paid before' of every account at each instant (accounts x P)."""
    grid = ctx.grid
    idx = grid.indices_of(instants)
    known = idx >= 0
    if known.all() and len(idx) and (np.diff(idx) == 1).all():  # consecutive instants: views, no copies
        cols = slice(idx[0], idx[-1] + 1)
        return grid.mrr[:, cols], grid.interval[:, cols], grid.ever_paid_before()[:, cols]
    safe = np.where(known, idx, 0)
    mrr = grid.mrr[:, safe].copy()
    mrr[:, ~known] = np.nan
    interval = grid.interval[:, safe]
    paid_before = grid.ever_paid_before()[:, safe]
    # before the grid's first instant nothing was paid; after its end the grid cannot say
    return mrr, interval, paid_before


def classify(start: np.ndarray, end: np.ndarray, paid_before: np.ndarray,
             interval_start: np.ndarray, interval_end: np.ndarray) -> dict[str, np.ndarray]:
    """Element-wise movement masks and amounts between two snapshots (any shape)."""
    s = np.where(np.isnan(start), 0.0, start)
    e = np.where(np.isnan(end), 0.0, end)
    active_s, active_e = s > 0, e > 0
    new = ~active_s & active_e & ~paid_before
    react = ~active_s & active_e & paid_before
    expansion = active_s & active_e & (e > s)
    contraction = active_s & active_e & (e < s)
    extension = contraction & (interval_end > interval_start) & (interval_start > 0)
    churned = active_s & ~active_e
    return {
        "active_s": active_s, "active_e": active_e, "s": s, "e": e,
        "new": new, "reactivation": react, "expansion": expansion, "contraction": contraction,
        "extension": extension, "churned": churned,
    }


@family("revenue", needs=(REVENUE,), label="Revenue and logos", several_by=True)
def aggregate_revenue(ctx: Context) -> pd.DataFrame:
    grid = ctx.grid
    starts = [p.start for p in ctx.periods]
    ends = [p.end for p in ctx.periods]
    s_mrr, s_int, paid = _snapshots(ctx, starts)
    e_mrr, e_int, _ = _snapshots(ctx, ends)
    unknown = np.isnan(s_mrr).all(axis=0) | np.isnan(e_mrr).all(axis=0)
    m = classify(s_mrr, e_mrr, paid, s_int, e_int)
    s, e = m["s"], m["e"]
    codes = ctx.group_codes(grid.accounts)
    scratch = np.empty(s.shape)  # one accounts x periods buffer for every masked sum

    def total(x, where=None, unknown=unknown):
        """Group sums of ``x`` where ``where`` (0 elsewhere); NaN for unknown snapshots."""
        if where is not None and np.count_nonzero(where) < SPARSE_SHARE * where.size:
            out = ctx.sum_where(x, where, codes)  # movements: few accounts
        else:
            if where is not None:
                scratch.fill(0.0)
                np.copyto(scratch, x, where=where)
                x = scratch
            out = ctx.sum_by_group(x, codes)
        out[:, unknown] = np.nan
        return out

    gain, loss = e - s, s - e
    blocks = {
        "start_mrr": total(s, m["active_s"]),
        "mrr": total(e),
        "new_mrr": total(e, m["new"]),
        "reactivation_mrr": total(e, m["reactivation"]),
        "expansion_mrr": total(gain, m["expansion"]),
        "contraction_mrr": total(loss, m["contraction"]),
        "extension_mrr": total(loss, m["extension"]),
        "churned_mrr": total(s, m["churned"]),
        "retained_mrr": total(e, m["active_s"]),
        "grr_mrr": total(np.minimum(s, e), m["active_s"]),
        "logos_start": total(1.0, m["active_s"]),
        "active_accounts": total(1.0, m["active_e"]),
        "logos_churned": total(1.0, m["churned"]),
        "logos_new": total(1.0, m["new"]),
        "logos_reactivated": total(1.0, m["reactivation"]),
    }
    # 12-month retention: the snapshot a year before the period's end against the end
    y_mrr, _, _ = _snapshots(ctx, [add_months(t, -12) for t in ends])
    y_unknown = np.isnan(y_mrr).all(axis=0) | unknown
    y = np.where(np.isnan(y_mrr), 0.0, y_mrr)
    paid_then = y > 0
    blocks["start_mrr_12m"] = total(y, unknown=y_unknown)
    blocks["retained_mrr_12m"] = total(e, paid_then, unknown=y_unknown)
    blocks["grr_mrr_12m"] = total(np.minimum(y, e), paid_then, unknown=y_unknown)
    blocks["trailing_churn"] = _trailing_monthly_churn(ctx, codes, ends)
    frame = ctx.frame_from_blocks(blocks)
    frame["mean_cac"] = _mean_cac(ctx)
    return frame


def _trailing_monthly_churn(ctx: Context, codes: np.ndarray, ends: list[pd.Timestamp]) -> np.ndarray:
    """Mean monthly logo churn rate over the (up to) 12 months ending at each period end."""
    grid = ctx.grid
    mrr = grid.mrr
    active = mrr > 0  # NaN compares False
    month_known = ~(np.isnan(mrr[:, :-1]).all(axis=0) | np.isnan(mrr[:, 1:]).all(axis=0)) if mrr.shape[1] > 1 \
        else np.zeros(0, bool)
    start_counts = ctx.sum_by_group(active[:, :-1], codes)  # groups x months (month i: instant i -> i+1)
    churn_counts = ctx.sum_by_group(active[:, :-1] & ~active[:, 1:], codes)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = churn_counts / start_counts
    rates[:, ~month_known] = np.nan
    rates[~np.isfinite(rates)] = np.nan
    first_month = max(grid.first_month, grid.instants[0])
    out = np.full((rates.shape[0], len(ends)), np.nan)
    for j, end in enumerate(ends):
        hi = grid.index_of(end)  # months [hi-12, hi) end at instant `end`
        if hi <= 0:
            continue
        lo = max(0, hi - 12, grid.index_of(first_month))
        window = rates[:, lo:hi]
        counted = np.isfinite(window).sum(axis=1)
        total = np.where(np.isfinite(window), window, 0.0).sum(axis=1)
        out[:, j] = np.where(counted > 0, total / np.maximum(counted, 1), np.nan)
    return out


def _mean_cac(ctx: Context) -> np.ndarray:
    accounts = ctx.dataset.table("accounts")
    if "cac" not in accounts or accounts["cac"].notna().sum() == 0:
        return np.full(len(ctx.index()), np.nan)
    per_group = np.full(len(ctx.group_labels), np.nan)
    per_group[0] = accounts["cac"].mean()
    for rows in ctx.group_rows(ctx.table_group_codes("accounts"))[1:]:
        means = accounts["cac"].groupby(rows).mean()
        per_group[means.index.to_numpy()] = means.to_numpy()
    return np.tile(per_group, len(ctx.periods))


# -- KPIs: each a registry entry next to its formula ---------------------------------------------
def _movement_kpi(name: str, label: str, formula: str, direction: str | None):
    kpi(name, label=label, unit="currency", family="revenue", formula=formula, direction=direction)(reads(name))


kpi("mrr", label="MRR", unit="currency", family="revenue", direction="higher", headline=True,
    formula="Sum of every account's MRR at the end of the period")(reads("mrr"))


@kpi("arr", label="ARR", unit="currency", family="revenue", direction="higher", headline=True,
     formula="12 x MRR at the end of the period")
def arr(a):
    return a["mrr"] * 12


kpi("active_accounts", label="Active accounts", unit="count", family="revenue", direction="higher",
    formula="Accounts with MRR > 0 at the end of the period")(reads("active_accounts"))
_movement_kpi("new_mrr", "New MRR", "End MRR of accounts at 0 at the start that never paid before", "higher")
_movement_kpi("reactivation_mrr", "Reactivation MRR",
              "End MRR of accounts at 0 at the start that had paid before", "higher")
_movement_kpi("expansion_mrr", "Expansion MRR",
              "Increase of accounts active at both ends whose MRR went up (end - start)", "higher")
_movement_kpi("contraction_mrr", "Contraction MRR",
              "Decrease of accounts active at both ends whose MRR went down (start - end)", "lower")
_movement_kpi("extension_mrr", "Extension MRR",
              "Contraction of accounts that moved to a longer billing period (e.g. monthly -> annual); "
              "part of contraction MRR, shown separately", None)
_movement_kpi("churned_mrr", "Churned MRR", "Start MRR of accounts active at the start and at 0 at the end", "lower")


@kpi("net_new_mrr", label="Net new MRR", unit="currency", family="revenue", direction="higher",
     formula="new + reactivation + expansion - contraction - churned MRR (= end MRR - start MRR)")
def net_new_mrr(a):
    return a["new_mrr"] + a["reactivation_mrr"] + a["expansion_mrr"] - a["contraction_mrr"] - a["churned_mrr"]


kpi("logos_start", label="Accounts at start", unit="count", family="revenue",
    formula="Accounts with MRR > 0 at the start of the period")(reads("logos_start"))
kpi("logos_churned", label="Churned accounts", unit="count", family="revenue", direction="lower",
    formula="Accounts with MRR > 0 at the start and 0 at the end")(reads("logos_churned"))
kpi("logos_new", label="New accounts", unit="count", family="revenue", direction="higher",
    formula="Accounts at 0 at the start, > 0 at the end, that never paid before")(reads("logos_new"))
kpi("logos_reactivated", label="Reactivated accounts", unit="count", family="revenue", direction="higher",
    formula="Accounts at 0 at the start, > 0 at the end, that had paid before")(reads("logos_reactivated"))


@kpi("logo_churn_rate", label="Logo churn", unit="fraction", family="revenue", direction="lower", target=0.05,
     headline=True,
     formula="Accounts active at the start and not at the end / accounts active at the start "
             "(accounts that start within the period are ignored)")
def logo_churn_rate(a):
    return safe_div(a["logos_churned"], a["logos_start"])


@kpi("logo_retention_rate", label="Logo retention", unit="fraction", family="revenue", direction="higher",
     target=0.95, formula="1 - logo churn rate")
def logo_retention_rate(a):
    return 1 - logo_churn_rate(a)


@kpi("logo_churn_rate_annualized", label="Logo churn (annualised)", unit="fraction", family="revenue",
     direction="lower", formula="1 - (1 - monthly logo churn rate)^12; for quarters ^4, for years as is")
def logo_churn_rate_annualized(a):
    c = logo_churn_rate(a)
    periods_per_year = a.attrs.get("periods_per_year", 12)
    return 1 - (1 - c) ** periods_per_year


@kpi("grr", label="Gross revenue retention", unit="fraction", family="revenue", direction="higher", target=0.99,
     headline=True,
     formula="Sum over accounts active at the start of min(end MRR, start MRR) / start MRR")
def grr(a):
    return safe_div(a["grr_mrr"], a["start_mrr"])


@kpi("nrr", label="Net revenue retention", unit="fraction", family="revenue", direction="higher", target=1.0,
     headline=True,
     formula="End MRR of the accounts active at the start / their start MRR (new and reactivated excluded)")
def nrr(a):
    return safe_div(a["retained_mrr"], a["start_mrr"])


@kpi("nrr_12m", label="NRR (12 months)", unit="fraction", family="revenue", direction="higher", target=1.0,
     formula="MRR at the period end of the accounts active 12 months earlier / their MRR then")
def nrr_12m(a):
    return safe_div(a["retained_mrr_12m"], a["start_mrr_12m"])


@kpi("grr_12m", label="GRR (12 months)", unit="fraction", family="revenue", direction="higher", target=0.9,
     formula="Sum over accounts active 12 months before the period end of min(MRR at end, MRR then) / MRR then")
def grr_12m(a):
    return safe_div(a["grr_mrr_12m"], a["start_mrr_12m"])


@kpi("gross_mrr_churn_rate", label="Gross MRR churn", unit="fraction", family="revenue", direction="lower",
     target=0.01, formula="(churned + contraction MRR of the start accounts) / start MRR = 1 - GRR")
def gross_mrr_churn_rate(a):
    return safe_div(a["churned_mrr"] + a["contraction_mrr"], a["start_mrr"])


@kpi("net_mrr_churn_rate", label="Net MRR churn", unit="fraction", family="revenue", direction="lower",
     target=0.0, formula="1 - NRR (negative = net expansion, 'negative churn')")
def net_mrr_churn_rate(a):
    return 1 - nrr(a)


@kpi("expansion_rate", label="Expansion rate", unit="fraction", family="revenue", direction="higher",
     formula="Expansion MRR / start MRR")
def expansion_rate(a):
    return safe_div(a["expansion_mrr"], a["start_mrr"])


@kpi("expansion_mrr_growth", label="Expansion MRR growth", unit="fraction", family="revenue", direction="higher",
     formula="(expansion MRR - expansion MRR of the previous period) / expansion MRR of the previous period")
def expansion_mrr_growth(a):
    previous = a["expansion_mrr"].groupby(level="group", sort=False).shift(1)
    return safe_div(a["expansion_mrr"] - previous, previous)


@kpi("portfolio_growth", label="Portfolio growth", unit="currency", family="revenue", direction="higher",
     formula="Expansion - contraction - churned MRR of the accounts active at the start")
def portfolio_growth(a):
    return a["expansion_mrr"] - a["contraction_mrr"] - a["churned_mrr"]


@kpi("portfolio_growth_rate", label="Portfolio growth rate", unit="fraction", family="revenue",
     direction="higher", formula="Portfolio growth / start MRR")
def portfolio_growth_rate(a):
    return safe_div(portfolio_growth(a), a["start_mrr"])


@kpi("quick_ratio", label="SaaS quick ratio", unit="ratio", family="revenue", direction="higher", target=4.0,
     formula="(new + expansion + reactivation MRR) / (contraction + churned MRR); empty when nothing was lost")
def quick_ratio(a):
    return safe_div(a["new_mrr"] + a["expansion_mrr"] + a["reactivation_mrr"],
                    a["contraction_mrr"] + a["churned_mrr"])


@kpi("arpa", label="ARPA", unit="currency", family="revenue", direction="higher",
     formula="MRR / active accounts at the end of the period")
def arpa(a):
    return safe_div(a["mrr"], a["active_accounts"])


@kpi("clv", label="Customer lifetime value", unit="currency", family="revenue", direction="higher",
     formula="ARPA / monthly logo churn rate (mean of the trailing 12 months where available); "
             "empty when churn is 0 (undefined, not infinite)")
def clv(a):
    return safe_div(arpa(a), a["trailing_churn"])


@kpi("clv_cac_ratio", label="CLV : CAC", unit="ratio", family="revenue", direction="higher", target=3.0,
     needs=("accounts",), formula="CLV / mean CAC of the group's accounts")
def clv_cac_ratio(a):
    return safe_div(clv(a), a["mean_cac"])


# -- renewals ------------------------------------------------------------------------------------
@family("renewals", needs=("renewals",), label="Renewals", several_by=True)
def aggregate_renewals(ctx: Context) -> pd.DataFrame:
    ren = ctx.dataset.table("renewals")
    ren = ren.assign(_renewed=(ren["outcome"] == "renewed").astype(float),
                     _closed=ren["outcome"].isin(["renewed", "churned"]).astype(float))
    out = ctx.aggregate_events(ren, "renewal_date", codes=ctx.table_group_codes("renewals"),
                               renewals_renewed=("_renewed", "sum"),
                               renewals_closed=("_closed", "sum"), renewals_due=("account_id", "size"))
    return out.fillna(0.0)


@kpi("renewal_rate", label="Renewal rate", unit="fraction", family="renewals", direction="higher", target=0.9,
     formula="Renewals due in the period that renewed / renewals due in the period that closed "
             "(renewed or churned; open ones are not counted)")
def renewal_rate(a):
    return safe_div(a["renewals_renewed"], a["renewals_closed"])


kpi("renewals_due", label="Renewals due", unit="count", family="renewals",
    formula="Renewals whose renewal date falls in the period")(reads("renewals_due"))


# -- drill-down ----------------------------------------------------------------------------------
def movements(ctx: Context, flat: bool = True) -> pd.DataFrame:
    """Every account with a movement in each period: start MRR, end MRR and movement type.

    Columns: period, account_id, group, start_mrr, end_mrr, delta, movement, extension.
    Accounts inactive at both ends are left out; 'flat' rows (same MRR) are kept so the table
    adds up to the period's start and end MRR (``flat=False`` leaves them out too). Ordered by
    period, movement (``MOVEMENT_ORDER``) and account id.
    """
    grid = ctx.grid
    s_mrr, s_int, paid = _snapshots(ctx, [p.start for p in ctx.periods])
    e_mrr, e_int, _ = _snapshots(ctx, [p.end for p in ctx.periods])
    m = classify(s_mrr, e_mrr, paid, s_int, e_int)
    kind = np.full(s_mrr.shape, -1, dtype=np.int8)  # position in MOVEMENT_ORDER, -1: no row
    if flat:
        kind[m["active_s"] & m["active_e"]] = MOVEMENT_ORDER.index("flat")
    for name in MOVEMENTS:
        kind[m[name]] = MOVEMENT_ORDER.index(name)
    unknown = np.isnan(s_mrr).all(axis=0) | np.isnan(e_mrr).all(axis=0)
    kind[:, unknown] = -1
    rows, cols = np.nonzero(kind >= 0)
    kinds = kind[rows, cols]
    account_order = (np.arange(len(grid.accounts)) if grid.accounts.is_monotonic_increasing
                     else np.argsort(np.argsort(grid.accounts.to_numpy(dtype=object), kind="stable")))
    order = np.lexsort((account_order[rows], kinds, cols))
    rows, cols, kinds = rows[order], cols[order], kinds[order]
    labels = np.asarray(ctx.period_labels, dtype=object)
    group = (np.asarray(ctx.group_labels[1:], dtype=object)[ctx.group_codes(grid.accounts)]
             if ctx.by else np.full(len(grid.accounts), "all", dtype=object))
    start, end = m["s"][rows, cols], m["e"][rows, cols]
    return pd.DataFrame({
        "period": labels[cols],
        "account_id": grid.accounts.to_numpy(dtype=object)[rows],
        "group": group[rows],
        "start_mrr": start,
        "end_mrr": end,
        "delta": end - start,
        "movement": np.asarray(MOVEMENT_ORDER, dtype=object)[kinds],
        "extension": m["extension"][rows, cols],
    })
