"""Cohorts: retention by first-paid month, and the shifted-beta-geometric projection.

Triangles (DESIGN.md, "KPI definitions", cohorts)
-------------------------------------------------
The grid holds every account's MRR at month-start instants (``snapshots.MrrGrid``). The snapshot
at instant *i* is the MRR at the **end** of the month that starts at instant *i - 1*.

* An account's **cohort** is its *first-paid month*: the month whose end snapshot is the first
  one with MRR > 0. An account first active at instant *i* belongs to the month that starts at
  ``instants[i - 1]``.
* The cohort is only known when the snapshot at the **start** of that month is known. An account
  that is already paying at the grid's first known snapshot (the opening balance of an MRR table,
  a subscription that starts on the very first instant, or the first snapshot after a month
  without data) may have started at any earlier time: it is *left-censored*, kept out of the
  triangles and counted in ``CohortTables.censored``.
* Column *k* ("months since start") of cohort *c* is the snapshot at the end of month *c + k*;
  column 0 is the end of the first-paid month itself. ``logo`` is the share of the cohort's
  accounts active there (column 0 is 1.0 by definition); ``revenue`` is the cohort's MRR there
  divided by its MRR in column 0 (above 1.0 when expansion outweighs churn). An account that
  churns and comes back stays in its first cohort and counts again once it is active.
* Cells after the last observed month (``last``) are NaN, which makes the tables triangles; so
  are cells whose snapshot is unknown (a month without data).
* ``survivors`` counts accounts active at *every* known snapshot from column 0 to column *k*
  (the first departure ends a life; reactivations do not count). That is the survivor data the
  shifted-beta-geometric model describes.

Shifted-beta-geometric model (Fader & Hardie 2007, 2010)
--------------------------------------------------------
Each customer renews at the end of every period with a constant probability ``1 - theta`` and
``theta`` varies across customers as Beta(alpha, beta). With ``T`` the period in which the
customer leaves (T >= 1; the customer pays for periods 0 .. T-1):

* survival ``S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)``, ``S(0) = 1``;
* ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)``;
* retention rate ``r_t = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)``.

Parameters are fitted by maximum likelihood on survivor counts (``fit_sbg``); each cohort's curve
is projected with its own fit, or the pooled fit of all cohorts when it is too young
(``project_cohorts``). Expected (discounted) lifetimes are Gauss hypergeometric series
(``scipy.special.hyp2f1``); ``contractual_clv`` multiplies one by ARPA.

Pure functions, vectorised over accounts with numpy; the only Python loops run over cohorts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import betaln, hyp2f1

from ..periods import month_start
from ..snapshots import MrrGrid
from .context import NO_VALUE, group_values

__all__ = [
    "CohortTables", "SbgFit", "cohort_triangles", "cohort_of_accounts", "fit_sbg", "sbg_loglik",
    "sbg_survival", "sbg_churn_probability", "sbg_retention_rate", "sbg_expected_lifetime",
    "sbg_derl", "project_cohorts", "contractual_clv",
]


# ================================================================================================
# Triangles
# ================================================================================================
@dataclass(frozen=True)
class CohortTables:
    """Cohort triangles. Rows: cohort month ``YYYY-MM`` (index ``cohort``); columns: months since
    the first-paid month, 0, 1, 2 ... (``month``). NaN = not observed yet / unknown."""

    logo: pd.DataFrame  # share of the cohort's accounts active (month 0 = 1.0)
    revenue: pd.DataFrame  # cohort MRR / cohort MRR in month 0
    sizes: pd.Series  # accounts per cohort (0 for a month without new accounts)
    counts: pd.DataFrame  # accounts of the cohort active (the numerator of ``logo``)
    mrr: pd.DataFrame  # cohort MRR (the numerator of ``revenue``)
    survivors: pd.DataFrame  # accounts active at every known snapshot since month 0 (for sBG)
    censored: int = 0  # accounts already paying at the first known snapshot: cohort unknown


def _month_ordinal(ts) -> int:
    ts = pd.Timestamp(ts)
    return ts.year * 12 + ts.month - 1


def _ordinal_label(ordinal: int) -> str:
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def _consecutive(grid: MrrGrid) -> tuple[np.ndarray, int]:
    """The MRR array on consecutive month-start instants (missing instants = NaN columns) and
    the month ordinal of its first column."""
    if len(grid.instants) == 0:
        return np.zeros((len(grid.accounts), 0)), 0
    ords = np.array([_month_ordinal(t) for t in grid.instants], dtype=int)
    base = int(ords[0])
    n = int(ords[-1]) - base + 1
    mrr = np.asarray(grid.mrr, dtype=float)
    if n == len(ords) and np.all(np.diff(ords) == 1):
        return mrr, base
    full = np.full((mrr.shape[0], n), np.nan)
    full[:, ords - base] = mrr
    return full, base


def _first_active(mrr: np.ndarray) -> np.ndarray:
    """Column of each account's first snapshot with MRR > 0 (-1 when never active)."""
    paid = np.nan_to_num(mrr, nan=0.0) > 0
    if paid.shape[1] == 0:
        return np.full(paid.shape[0], -1)
    return np.where(paid.any(axis=1), paid.argmax(axis=1), -1)


def _cohort_columns(mrr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each account's first active column, and whether its cohort is known (the snapshot just
    before it, the start of the first-paid month, is known)."""
    first = _first_active(mrr)
    known = np.zeros(len(first), dtype=bool)
    has_start = first >= 1
    rows = np.flatnonzero(has_start)
    known[rows] = ~np.isnan(mrr[rows, first[rows] - 1])
    return first, known


def cohort_of_accounts(grid: MrrGrid) -> pd.Series:
    """Every account's first-paid month ``YYYY-MM``; None when it never paid or when its
    first-paid month is unknown (already active at the first known snapshot)."""
    mrr, base = _consecutive(grid)
    first, known = _cohort_columns(mrr)
    labels = np.full(len(first), None, dtype=object)
    months, position = np.unique(base + first[known] - 1, return_inverse=True)
    labels[known] = np.array([_ordinal_label(int(m)) for m in months], dtype=object)[position]
    return pd.Series(labels, index=grid.accounts, name="cohort")


def _group_labels(grid: MrrGrid, by: pd.Series | None) -> tuple[list, np.ndarray]:
    """Group labels (sorted, ``(none)`` last) and each grid account's position in them."""
    if by is None:
        return [None], np.zeros(len(grid.accounts), dtype=int)
    by = pd.Series(by)
    by = group_values(by[~by.index.duplicated(keep="last")])
    of_accounts = by.reindex(pd.Index(grid.accounts)).fillna(NO_VALUE)
    labels = sorted(set(by.tolist()) - {NO_VALUE})
    if (of_accounts == NO_VALUE).any() or (by == NO_VALUE).any():
        labels.append(NO_VALUE)
    lookup = {v: i for i, v in enumerate(labels)}
    return labels, of_accounts.map(lookup).to_numpy(dtype=int)


def cohort_triangles(grid: MrrGrid, first=None, last=None, by: pd.Series | None = None
                     ) -> "CohortTables | dict[str, CohortTables]":
    """Logo and revenue retention by first-paid month (see the module docstring).

    ``first`` / ``last``: first and last cohort month (Timestamp or ``YYYY-MM``); defaults are the
    grid's range (``grid.first_month`` .. ``grid.last_month``). ``last`` is also the last month
    observed: cells after the end of ``last`` are NaN. ``by`` (account_id -> group, e.g. the
    accounts' segment) gives one ``CohortTables`` per group in a dict; accounts without a group
    fall into ``(none)``.
    """
    mrr, base = _consecutive(grid)
    n_acc, n_inst = mrr.shape
    first_ord = _month_ordinal(month_start(first if first is not None else grid.first_month))
    last_ord = _month_ordinal(month_start(last if last is not None else grid.last_month))
    labels, gcodes = _group_labels(grid, by)
    n_rows = max(last_ord - first_ord + 1, 0)
    n_cols = n_rows
    row_labels = [_ordinal_label(first_ord + r) for r in range(n_rows)]

    # end of observation: the instant at the end of ``last``, clipped to what the grid holds
    end_col = min(last_ord + 1 - base, n_inst - 1)
    col_known = ~np.isnan(mrr).all(axis=0) if n_acc else np.ones(n_inst, dtype=bool)

    # each account's cohort (its first active column i; cohort month = column i - 1)
    first_col, start_known = _cohort_columns(mrr)
    cohort_ord = base + first_col - 1
    in_range = start_known & (cohort_ord >= first_ord) & (cohort_ord <= last_ord)
    # already paying at the first known snapshot, by the end of the range: cohort unknown
    censored_in = (first_col >= 0) & ~start_known & (cohort_ord <= last_ord)

    sel = np.flatnonzero(in_range)
    rows = cohort_ord[sel] - first_ord
    start_cols = first_col[sel]
    # accounts x months-since-start, gathered from the grid (NaN after the end of observation)
    idx = start_cols[:, None] + np.arange(n_cols)[None, :]
    observed = idx <= end_col
    safe = np.clip(idx, 0, max(n_inst - 1, 0))
    values = mrr[sel[:, None], safe] if n_inst else np.zeros((0, n_cols))
    gap = ~col_known[safe] if n_inst else np.zeros((len(sel), n_cols), bool)
    values = np.where(observed & ~gap, values, np.nan)
    filled = np.nan_to_num(values, nan=0.0)
    active = filled > 0
    survivor = np.logical_and.accumulate(active | gap, axis=1) & active if n_cols else active

    # per (group, cohort): one sparse product, no loop per account
    n_groups = len(labels)
    code = gcodes[sel] * n_rows + rows
    onehot = sparse.csr_matrix((np.ones(len(sel)), (code, np.arange(len(sel)))),
                               shape=(n_groups * n_rows, len(sel)))
    sizes = np.asarray(onehot.sum(axis=1)).ravel()
    counts = np.asarray(onehot @ active.astype(float)).reshape(n_groups * n_rows, n_cols)
    surv = np.asarray(onehot @ survivor.astype(float)).reshape(n_groups * n_rows, n_cols)
    total = np.asarray(onehot @ filled).reshape(n_groups * n_rows, n_cols)

    # cell mask per cohort row (same for every group): future or unknown snapshot
    row_start = first_ord + np.arange(n_rows) + 1 - base  # first active column of each cohort
    cell = row_start[:, None] + np.arange(n_cols)[None, :]
    unknown = (cell > end_col) | (cell < 0) | (cell >= n_inst)
    if n_inst:
        unknown |= ~col_known[np.clip(cell, 0, n_inst - 1)]
    unknown = np.tile(unknown, (n_groups, 1))
    empty = np.repeat(sizes == 0, n_cols).reshape(-1, n_cols) if n_cols else np.zeros((len(sizes), 0), bool)
    counts[unknown] = np.nan
    surv[unknown] = np.nan
    total[unknown] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        logo = counts / sizes[:, None]
        base_mrr = total[:, :1] if n_cols else np.zeros((len(sizes), 1))
        revenue = total / base_mrr
    logo[empty | unknown] = np.nan
    revenue[~np.isfinite(revenue)] = np.nan
    revenue[empty | unknown] = np.nan

    index = pd.Index(row_labels, name="cohort")
    columns = pd.RangeIndex(n_cols, name="month")
    censored_codes = gcodes[censored_in]
    out = {}
    for g, label in enumerate(labels):
        part = slice(g * n_rows, (g + 1) * n_rows)

        def frame(arr, part=part):
            return pd.DataFrame(arr[part], index=index, columns=columns)

        out[label] = CohortTables(
            logo=frame(logo), revenue=frame(revenue),
            sizes=pd.Series(sizes[part].astype(int), index=index, name="accounts"),
            counts=frame(counts), mrr=frame(total), survivors=frame(surv),
            censored=int((censored_codes == g).sum()),
        )
    return out[None] if by is None else out


# ================================================================================================
# Shifted-beta-geometric model
# ================================================================================================
@dataclass(frozen=True)
class SbgFit:
    alpha: float
    beta: float
    loglik: float  # at the maximum, in the units of the input (counts, or per customer for fractions)
    n: float  # customers at period 0 (summed over cohorts)
    periods: int = 0  # longest observed period
    converged: bool = False  # False: too little data, or the maximum lies on the boundary

    @property
    def mean_churn(self) -> float:
        """E[theta] = alpha / (alpha + beta): the churn probability of a new customer."""
        return self.alpha / (self.alpha + self.beta)


def sbg_survival(alpha, beta, t):
    """S(t) = B(alpha, beta + t) / B(alpha, beta): share of a cohort still active t periods after
    the start (S(0) = 1). Vectorised over ``t`` (and broadcast over alpha/beta)."""
    t = np.asarray(t, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))
    return out if out.ndim else float(out)


def sbg_churn_probability(alpha, beta, t):
    """P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), t >= 1: share of a cohort that
    leaves in period t."""
    t = np.asarray(t, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.exp(betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))
    return out if out.ndim else float(out)


def sbg_retention_rate(alpha, beta, t):
    """r_t = (beta + t - 1) / (alpha + beta + t - 1): share of those active at the end of period
    t - 1 who are still active at the end of period t (t >= 1). Rises with t (sorting effect)."""
    t = np.asarray(t, dtype=float)
    out = (beta + t - 1) / (alpha + beta + t - 1)
    return out if out.ndim else float(out)


def _as_rows(survivors) -> np.ndarray:
    if isinstance(survivors, pd.DataFrame):
        arr = survivors.to_numpy(dtype=float)
    elif isinstance(survivors, pd.Series):
        arr = survivors.to_numpy(dtype=float)[None, :]
    else:
        arr = np.asarray(survivors, dtype=float)
        if arr.ndim == 1:
            arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError("survivors must be one sequence or a table of cohorts (rows)")
    return arr


def _likelihood_terms(survivors):
    """Interval terms (start, end, weight) and final-survival terms (t, weight) of the sBG
    likelihood, from rows of survivor counts starting at period 0 (NaN = not observed).

    A cohort's counts are made non-increasing (running minimum): the model describes the first
    departure, so an account coming back does not undo a loss. A period without an observation
    between two observed ones makes its departures interval-censored: S(a) - S(b).
    """
    arr = _as_rows(survivors)
    starts, ends, weights, last_t, last_w = [], [], [], [], []
    n0 = 0.0
    periods = 0
    for row in arr:
        ts = np.flatnonzero(np.isfinite(row))
        if len(ts) == 0 or ts[0] != 0 or not row[0] > 0:
            continue
        ns = np.fmin.accumulate(np.clip(row[ts], 0, None))
        n0 += ns[0]
        periods = max(periods, int(ts[-1]))
        drops = ns[:-1] - ns[1:]
        keep = drops > 0
        starts.extend(ts[:-1][keep])
        ends.extend(ts[1:][keep])
        weights.extend(drops[keep])
        if ns[-1] > 0:
            last_t.append(ts[-1])
            last_w.append(ns[-1])
    f = lambda x: np.asarray(x, dtype=float)  # noqa: E731
    return _Terms(f(starts), f(ends), f(weights), f(last_t), f(last_w)), n0, periods


class _Terms:
    """The likelihood terms, split once into one-period departures and interval-censored ones
    (the optimiser evaluates the likelihood thousands of times)."""

    def __init__(self, starts, ends, weights, last_t, last_w):
        self.weights, self.last_t, self.last_w = weights, last_t, last_w
        one_step = ends == starts + 1
        self.one_step = one_step if not one_step.all() else None  # None: every departure is one-step
        self.ends_one = ends[one_step]
        self.starts_gap, self.ends_gap = starts[~one_step], ends[~one_step]


def _loglik(alpha: float, beta: float, terms: _Terms) -> float:
    lb = betaln(alpha, beta)
    log_p = betaln(alpha + 1, beta + terms.ends_one - 1) - lb  # P(T = t)
    if terms.one_step is not None:  # S(a) - S(b) for departures between unobserved periods
        log_s_a = betaln(alpha, beta + terms.starts_gap) - lb
        log_s_b = betaln(alpha, beta + terms.ends_gap) - lb
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = log_s_a + np.log1p(-np.exp(log_s_b - log_s_a))
        both = np.empty(len(terms.one_step))
        both[terms.one_step], both[~terms.one_step] = log_p, gap
        log_p = both
    total = float(np.dot(terms.weights, log_p)) if len(terms.weights) else 0.0
    if len(terms.last_w):
        total += float(np.dot(terms.last_w, betaln(alpha, beta + terms.last_t) - lb))
    return total


def sbg_loglik(alpha: float, beta: float, survivors) -> float:
    """Log-likelihood of survivor data (counts, or fractions starting with 1.0 for a per-customer
    value) under sBG(alpha, beta) — Fader & Hardie (2007), appendix B, eq. B3."""
    terms, _, _ = _likelihood_terms(survivors)
    return _loglik(alpha, beta, terms)


_LOG_BOUND = 12.0  # alpha, beta within e^±12: beyond that the maximum is on the boundary


def fit_sbg(survivors) -> SbgFit:
    """Maximum-likelihood sBG fit (Fader & Hardie 2007).

    ``survivors``: counts (or survival fractions) at periods 0, 1, 2, ... — one sequence, or a
    table with one cohort per row (NaN after its last observed period) for a pooled fit.
    Optimised on log-parameters with Nelder-Mead (``scipy.optimize.minimize``). Data without any departure,
    or with everyone gone after one period, has its maximum on the boundary: ``converged`` is
    False there. Empty input gives NaN parameters, not an exception.
    """
    terms, n0, periods = _likelihood_terms(survivors)
    if n0 <= 0 or periods == 0:
        return SbgFit(math.nan, math.nan, math.nan, float(n0), periods, False)
    scale = 1.0 / n0

    def objective(x):
        log_a = min(max(x[0], -_LOG_BOUND), _LOG_BOUND)  # np.clip, without its per-call cost
        log_b = min(max(x[1], -_LOG_BOUND), _LOG_BOUND)
        value = -_loglik(math.exp(log_a), math.exp(log_b), terms) * scale
        return value if math.isfinite(value) else 1e300

    # Nelder-Mead from alpha = beta = 1 (the paper's starting point), restarted once from its
    # result: a restart re-expands a simplex that collapsed early on a flat ridge.
    x = np.zeros(2)
    for maxfev in (3000, 1000):
        res = minimize(objective, x, method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-14, "maxfev": maxfev})
        x = np.clip(res.x, -_LOG_BOUND, _LOG_BOUND)
    interior = bool(np.all(np.abs(x) < _LOG_BOUND - 0.5))
    alpha, beta = math.exp(x[0]), math.exp(x[1])
    return SbgFit(alpha, beta, _loglik(alpha, beta, terms), float(n0), periods, interior)


def _params(fit) -> tuple[float, float]:
    if isinstance(fit, SbgFit):
        return fit.alpha, fit.beta
    alpha, beta = fit
    return float(alpha), float(beta)


def sbg_expected_lifetime(alpha, beta, discount_rate: float = 0.0, age: int = 0,
                          horizon: int | None = None) -> float:
    """Expected (discounted) number of periods a customer who is active in period ``age`` stays,
    counting that period: sum over k >= 0 of S(age + k) / S(age) / (1 + d)^k.

    Closed form 2F1(1, beta + age; alpha + beta + age; 1 / (1 + d)) (Fader & Hardie 2010). For a
    new customer (age 0, no discount) it is E[T] = (alpha + beta - 1) / (alpha - 1) when alpha > 1
    and infinite otherwise (heavy tail of loyal customers). ``horizon``: only the next
    ``horizon`` periods (k < horizon) are counted, always finite.
    """
    if not (np.isfinite(alpha) and np.isfinite(beta)) or alpha <= 0 or beta <= 0:
        return math.nan
    if discount_rate < 0:
        raise ValueError("discount_rate must be >= 0")
    x = 1.0 / (1.0 + discount_rate)
    if horizon is not None:
        k = np.arange(max(int(horizon), 0), dtype=float)
        s = np.exp(betaln(alpha, beta + age + k) - betaln(alpha, beta + age))
        return float(np.sum(s * x ** k))
    if discount_rate == 0:
        return (alpha + beta + age - 1) / (alpha - 1) if alpha > 1 else math.inf
    return float(hyp2f1(1.0, beta + age, alpha + beta + age, x))


def sbg_derl(alpha, beta, discount_rate: float, renewals: int) -> float:
    """Discounted expected residual lifetime of a customer who has made ``renewals`` (= n - 1)
    renewals, evaluated just before the next renewal decision — Fader & Hardie (2010),
    "Customer-Base Valuation in a Contractual Setting", eq. 6:

        DERL = (beta + n - 1) / (alpha + beta + n - 1) * 2F1(1, beta + n; alpha + beta + n; 1/(1+d))

    Multiply by the payment per period for the customer's residual value.
    """
    n = renewals + 1
    if not (np.isfinite(alpha) and np.isfinite(beta)) or alpha <= 0 or beta <= 0:
        return math.nan
    if discount_rate == 0:
        return (beta + n - 1) / (alpha - 1) if alpha > 1 else math.inf
    return float(sbg_retention_rate(alpha, beta, n) * hyp2f1(1.0, beta + n, alpha + beta + n,
                                                               1.0 / (1.0 + discount_rate)))


def contractual_clv(arpa, fit, discount_rate_monthly: float = 0.0, horizon: int | None = None):
    """Contractual CLV of a new customer: ARPA x expected lifetime in months under the sBG fit
    (the sum of the projected survival curve, month 0 included, discounted monthly).

    Beside the simple ``clv = arpa / churn`` (which assumes every customer churns at the same
    rate): with heterogeneous churn the survivors are the loyal ones and retention rises, so
    the contractual figure is higher. Undefined (NaN, not infinite) when the undiscounted
    lifetime has no finite mean (alpha <= 1) and no horizon is given, or when the fit is NaN.
    ``arpa`` may be a number, an array or a Series.
    """
    alpha, beta = _params(fit)
    life = sbg_expected_lifetime(alpha, beta, discount_rate_monthly, 0, horizon)
    if not np.isfinite(life):
        life = math.nan
    if isinstance(arpa, pd.Series):
        return arpa.astype(float) * life
    out = np.asarray(arpa, dtype=float) * life
    return out if out.ndim else float(out)


def project_cohorts(triangle_counts: pd.DataFrame, horizon: int = 24, min_months: int = 4,
                    pooled: SbgFit | None = None) -> pd.DataFrame:
    """Project each cohort's survival with the sBG model.

    ``triangle_counts``: one row per cohort, counts at months since start 0, 1, ... (NaN not yet
    observed) — ``CohortTables.survivors`` is the natural input (``counts`` works too: rises
    from reactivations are capped, see ``fit_sbg``). A cohort with at least ``min_months``
    observed months after month 0 and an interior maximum gets its own fit; younger ones use the
    pooled fit of all cohorts (``pooled``, fitted here when not given).

    Returns one row per cohort: ``alpha``, ``beta``, ``fit`` ("cohort", "pooled" or "none"),
    ``observed_months``, then the projected survival share S(k) for k = 0 .. ``horizon``
    (integer column labels).
    """
    counts = triangle_counts.astype(float)
    months = list(range(horizon + 1))
    if pooled is None:
        pooled = fit_sbg(counts.to_numpy()) if len(counts) else SbgFit(math.nan, math.nan, math.nan, 0.0)
    records = []
    for label, row in counts.iterrows():
        values = row.to_numpy(dtype=float)
        observed = np.flatnonzero(np.isfinite(values))
        n_obs = int(observed[-1]) if len(observed) else 0
        usable = len(values) > 0 and np.isfinite(values[0]) and values[0] > 0
        source, alpha, beta = "none", math.nan, math.nan
        if usable and n_obs >= min_months:
            own = fit_sbg(values)
            if own.converged:
                source, alpha, beta = "cohort", own.alpha, own.beta
        if usable and source == "none" and np.isfinite(pooled.alpha):
            source, alpha, beta = "pooled", pooled.alpha, pooled.beta
        curve = sbg_survival(alpha, beta, np.array(months, dtype=float)) if source != "none" \
            else np.full(len(months), np.nan)
        records.append([alpha, beta, source, n_obs if usable else 0, *curve])
    columns = ["alpha", "beta", "fit", "observed_months", *months]
    out = pd.DataFrame(records, index=counts.index, columns=columns)
    out.index.name = counts.index.name or "cohort"
    return out
