"""Adoption and activity KPIs from usage events (DESIGN.md, "Adoption and activity").

Everything is derived from the monthly cube of :mod:`cs_desk.usage_engine` (one row per
account, user, month and feature with a day-of-month mask), so 10 million events cost one scan
(DuckDB on a usage file) or one ``factorize`` pass (pandas), and the rest is integer arithmetic
on arrays of accounts x periods. Periods without any usage event in the whole portfolio are left
empty (unknown), not zero, as the MRR grid does for months without billing data.

Who counts as a *paying* account (inactive accounts, breadth, activity buckets): MRR > 0 at
the period end on the MRR grid; without revenue data, accounts of the accounts table that were
customers at the end (``customer_since`` before it, or unknown, and no ``churn_date`` before it);
without either, every account seen in the usage data before the period end.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..problems import Code, Problem, Severity
from ..usage_engine import UsageCube, merged_options, month_number, month_timestamp, monthly_cube, usage_source
from .context import Context, account_keys
from .registry import family, kpi, reads, safe_div

WINDOW_DAYS = 30
#: days active in the last 30 -> bucket (first threshold met wins)
DEFAULT_BUCKETS = {"daily": 16, "weekly": 4, "monthly": 1}
BUCKET_ORDER = ("daily", "weekly", "monthly", "inactive")
FEATURE_PREFIX = "feature_users::"
BUCKET_PREFIX = "bucket::"

_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each uint32."""
    x = np.asarray(x, dtype=np.uint32)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).astype(np.int64)
    b = x.view(np.uint8).reshape(x.shape + (4,))  # pragma: no cover - numpy < 2
    return _BYTE_POPCOUNT[b].sum(axis=-1).astype(np.int64)


def bucket_thresholds(options: dict) -> dict[str, float]:
    th = dict(DEFAULT_BUCKETS)
    th.update({k: float(v) for k, v in (options.get("activity_buckets") or {}).items() if k in th})
    return th


def activity_bucket(days_active: np.ndarray, options: dict | None = None) -> np.ndarray:
    """'daily' / 'weekly' / 'monthly' / 'inactive' from days active in the last 30 days."""
    th = bucket_thresholds(options or {})
    d = np.asarray(days_active, dtype=float)
    out = np.full(d.shape, "inactive", dtype=object)
    out[d >= th["monthly"]] = "monthly"
    out[d >= th["weekly"]] = "weekly"
    out[d >= th["daily"]] = "daily"
    out[np.isnan(d)] = None
    return out


def key_feature_positions(options: dict, features: pd.Index,
                          problems: list[Problem] | None = None) -> tuple[np.ndarray, int]:
    """Positions (into ``features``) of the key features and how many key features there are.

    ``options["key_features"]``: list of feature names; default every feature seen. Key features
    that never occur still count in the denominator (nobody used them) and are reported."""
    wanted = options.get("key_features")
    if not wanted:
        return np.arange(len(features)), len(features)
    if isinstance(wanted, str):
        wanted = [w.strip() for w in wanted.split(",") if w.strip()]
    wanted = list(dict.fromkeys(str(w) for w in wanted))
    pos = features.get_indexer(wanted) if len(features) else np.full(len(wanted), -1)
    unseen = [w for w, p in zip(wanted, pos) if p < 0]
    if unseen and problems is not None:
        names = ", ".join(map(repr, unseen))
        problems.append(Problem(Code.OPTION_INVALID, f"key feature(s) {names} never occur in the "
                                "usage data; they count as unused in depth", Severity.INFO, table="usage",
                                column="feature"))
    return pos[pos >= 0], len(wanted)


# -- who is a customer at an instant ----------------------------------------------------------------
def customers_at(ctx: Context, ids: pd.Index, instants: list[pd.Timestamp], paying: bool = True) -> np.ndarray | None:
    """float array ids x instants: 1 customer, 0 not, NaN unknown; None when nothing says.

    ``paying``: MRR > 0 on the grid when there is revenue data; otherwise (or when ``paying`` is
    False) the accounts table's ``customer_since`` / ``churn_date``."""
    if paying and ctx.grid is not None:
        grid = ctx.grid
        rows = np.arange(len(ids)) if ids is grid.accounts else grid.accounts.get_indexer(ids)
        cols = np.array([grid.index_of(t) for t in instants], dtype=np.int64)
        known = cols >= 0
        known[known] = grid.known_columns()[cols[known]]
        paid = grid.mrr[:, np.where(known, cols, 0)] > 0  # NaN compares False
        out = np.zeros((len(ids), len(instants)))
        on_grid = rows >= 0
        out[on_grid] = paid[rows[on_grid]]
        out[:, ~known] = np.nan
        return out
    if not ctx.dataset.has("accounts"):
        return None
    acc = ctx.dataset.table("accounts").drop_duplicates("account_id", keep="last")
    rows = pd.Index(acc["account_id"]).get_indexer(ids)
    ok = rows >= 0
    r = np.maximum(rows, 0)
    since = acc["customer_since"].to_numpy(dtype="datetime64[ns]") if "customer_since" in acc else None
    churn = acc["churn_date"].to_numpy(dtype="datetime64[ns]") if "churn_date" in acc else None
    out = np.zeros((len(ids), len(instants)))
    for j, t in enumerate(instants):
        tt = np.datetime64(t, "ns")
        cur = ok.copy()
        if since is not None:
            s = since[r]
            cur &= np.isnat(s) | (s < tt)
        if churn is not None:
            c = churn[r]
            cur &= np.isnat(c) | (c >= tt)
        out[:, j] = cur
    return out


def account_values(ctx: Context, ids: pd.Index, column: str) -> np.ndarray:
    """A numeric accounts-table column aligned on ``ids`` (NaN where unknown)."""
    if not ctx.dataset.has("accounts"):
        return np.full(len(ids), np.nan)
    acc = ctx.dataset.table("accounts")
    if column not in acc:
        return np.full(len(ids), np.nan)
    acc = acc.drop_duplicates("account_id", keep="last")
    rows = pd.Index(acc["account_id"]).get_indexer(ids)
    vals = pd.to_numeric(acc[column], errors="coerce").to_numpy(dtype=float)
    return np.where(rows >= 0, vals[np.maximum(rows, 0)], np.nan)


def all_ids(ctx: Context, *extra: pd.Index) -> pd.Index:
    """Every account id of the grid, the accounts table and ``extra``, sorted, once each."""
    parts = [pd.Index(e, dtype=object) for e in extra]
    if ctx.grid is not None:
        parts.append(pd.Index(ctx.grid.accounts, dtype=object))
    if ctx.dataset.has("accounts"):
        parts.append(account_keys(ctx.dataset).ids)
    if not parts:
        return pd.Index([], dtype=object, name="account_id")
    ids = pd.unique(np.concatenate([p.to_numpy(dtype=object) for p in parts]))
    return pd.Index(np.sort(ids), dtype=object, name="account_id")


# -- the aggregation ---------------------------------------------------------------------------------
def _window_mask_days(month_days: np.ndarray, lo: int, end_instant: pd.Timestamp,
                      days: int = WINDOW_DAYS) -> np.ndarray:
    """Days active in [end - days, end) per row of ``month_days`` (rows x months from ``lo``)."""
    start = end_instant - pd.Timedelta(days=days)
    total = np.zeros(month_days.shape[0], dtype=np.int64)
    m_first, m_end = month_number(start), month_number(end_instant)
    for m in range(m_first, m_end + (1 if end_instant.day > 1 else 0)):
        j = m - lo
        if j < 0 or j >= month_days.shape[1]:
            continue
        first_day = start.day if m == m_first else 1
        last_day = (end_instant.day - 1) if m == month_number(end_instant) else 31
        if last_day < first_day:
            continue
        mask = ((1 << last_day) - 1) & ~((1 << (first_day - 1)) - 1)
        total += popcount(month_days[:, j] & np.uint32(mask & 0xFFFFFFFF))
    return total


def _distinct_count(key: np.ndarray, owner: np.ndarray, n_owner: int) -> np.ndarray:
    """For rows (key, owner): number of distinct keys per owner (owner is a function of key)."""
    if not len(key):
        return np.zeros(n_owner)
    uniq, first = np.unique(key, return_index=True)
    return np.bincount(owner[first], minlength=n_owner).astype(float)


def adoption_frame(ctx: Context, cube: UsageCube, options: dict) -> pd.DataFrame:
    periods = ctx.periods
    P = len(periods)
    problems = ctx.problems
    ids = all_ids(ctx, cube.accounts)
    A = len(ids)
    pm_start = np.array([month_number(p.start) for p in periods], dtype=np.int64)
    pm_end = np.array([month_number(p.end) for p in periods], dtype=np.int64)  # exclusive
    lo, hi = int(pm_start.min()) - 1, int(pm_end.max())
    NM = hi - lo
    period_of_month = np.full(NM, -1, dtype=np.int64)
    for p in range(P):
        period_of_month[pm_start[p] - lo:pm_end[p] - lo] = p
    single_month = bool((pm_end - pm_start == 1).all())

    cube_pos = ids.get_indexer(cube.accounts) if len(cube.accounts) else np.zeros(0, np.int64)

    # account x month: days active (mask) -> coverage, activity, windows
    am_acct, am_month, am_mask, _ = cube.account_months()
    keep = (am_month >= lo) & (am_month < hi)
    am_days = np.zeros(A * NM, dtype=np.uint32)
    am_days[cube_pos[am_acct[keep]].astype(np.int64) * NM + (am_month[keep] - lo)] = am_mask[keep]
    am_days = am_days.reshape(A, NM)
    am_any = am_days != 0
    month_covered = am_any.any(axis=0)
    period_covered = np.array([month_covered[pm_start[p] - lo:pm_end[p] - lo].any() for p in range(P)])

    def per_ap(values: np.ndarray, covered=period_covered) -> np.ndarray:
        out = values.reshape(A, P).astype(float) if values.ndim == 1 else values.astype(float)
        out[:, ~covered] = np.nan
        return out

    blocks: dict[str, np.ndarray] = {}
    codes = ctx.group_codes(ids)

    def total(name, arr):
        blocks[name] = ctx.sum_by_group(arr, codes)

    # accounts with usage in the period
    usage_ap = np.zeros((A, P))
    for p in range(P):
        usage_ap[:, p] = am_any[:, pm_start[p] - lo:pm_end[p] - lo].any(axis=1)
    total("accounts_with_usage", per_ap(usage_ap))

    # user level
    has_users = cube.has_users
    if not has_users:
        problems.append(Problem(Code.MISSING_COLUMN, "the usage data has no user ids: active users, feature adoption, "
                                "breadth and stickiness are left empty", Severity.INFO, table="usage",
                                column="user_id"))
    users_ap = np.full((A, P), np.nan)
    if has_users:
        um_acct_c, um_user_raw, um_month_abs, um_days_all = cube.users_by_month()
        keep = (um_month_abs >= lo) & (um_month_abs < hi)
        um_acct = cube_pos[um_acct_c[keep]].astype(np.int64)
        um_month = (um_month_abs[keep] - lo).astype(np.int64)
        um_days = um_days_all[keep]
        um_per = period_of_month[um_month]
        ok = um_per >= 0
        ap = um_acct[ok] * P + um_per[ok]
        user_days = np.bincount(ap, weights=popcount(um_days[ok]), minlength=A * P)
        mau_sum = np.bincount(ap, minlength=A * P).astype(float)
        if single_month:
            users_flat = mau_sum
        else:
            ud_um, _ = pd.factorize(um_user_raw[keep][ok], use_na_sentinel=False)
            users_flat = _distinct_count(ud_um.astype(np.int64) * P + um_per[ok], ap, A * P)
        users_ap = per_ap(users_flat)
        total("active_users", users_ap)
        total("user_days", per_ap(user_days))
        total("mau_sum", per_ap(mau_sum))
        # users per feature: distinct (user, period, feature)
        F = max(len(cube.features), 1)
        n_groups = len(ctx.group_labels)
        if single_month:  # one row per (account, month, feature) holds its distinct users
            fa, fmo, ff, fusers = cube.feature_months()
            fsel = (fmo >= lo) & (fmo < hi)
            fper = period_of_month[fmo[fsel] - lo]
            fok = fper >= 0
            f_acct = cube_pos[fa[fsel][fok]]
            cell = fper[fok] * F + ff[fsel][fok]
            weights = fusers[fsel][fok]
        else:  # distinct (user, period, feature) from the rows
            rsel = (cube.month >= lo) & (cube.month < hi) & (cube.user >= 0) & (cube.feat >= 0)
            rper = period_of_month[cube.month[rsel] - lo]
            rok = rper >= 0
            r_user, _ = pd.factorize(cube.user[rsel][rok], use_na_sentinel=False)
            r_feat = cube.feat[rsel][rok].astype(np.int64)
            _, first = np.unique((r_user.astype(np.int64) * P + rper[rok]) * F + r_feat, return_index=True)
            f_acct = cube_pos[cube.acct[rsel][rok][first]]
            cell = rper[rok][first] * F + r_feat[first]
            weights = None
        counts = np.zeros(n_groups * P * F)
        for rows in ctx.group_rows(codes):  # all, then each account's group
            counts += np.bincount(rows[f_acct] * (P * F) + cell, weights=weights, minlength=n_groups * P * F)
        counts = counts.reshape(n_groups, P, F)
        counts[:, ~period_covered, :] = np.nan
        for j, name in enumerate(cube.features):
            blocks[FEATURE_PREFIX + str(name)] = counts[:, :, j]
    else:
        for name in ("active_users", "user_days", "mau_sum"):
            total(name, np.full((A, P), np.nan))

    # depth: key features used by each account with usage
    kpos, n_key = key_feature_positions(options, cube.features, problems)
    is_key = np.zeros(len(cube.features) + 1, dtype=bool)
    is_key[kpos] = True
    fa, fmo, ff, _ = cube.feature_months()
    fsel = (fmo >= lo) & (fmo < hi)
    fa, fper, ff = cube_pos[fa[fsel]].astype(np.int64), period_of_month[fmo[fsel] - lo], ff[fsel].astype(np.int64)
    fk = (fper >= 0) & is_key[ff]
    if n_key and fk.any():
        F1 = len(cube.features) + 1
        key = (fa[fk] * P + fper[fk]) * F1 + ff[fk]
        if A * P * F1 <= 50_000_000:  # a bitmap is cheaper than sorting
            seen = np.zeros(A * P * F1, dtype=bool)
            seen[key] = True
            kf_flat = seen.reshape(A * P, F1).sum(axis=1).astype(float)
        else:
            kf_flat = _distinct_count(key, fa[fk] * P + fper[fk], A * P)
    else:
        kf_flat = np.zeros(A * P)
    depth_ap = np.where(usage_ap > 0, kf_flat.reshape(A, P) / n_key if n_key else np.nan, 0.0)
    total("depth_sum", per_ap(depth_ap))

    # population at the period end
    ends = [p.end for p in periods]
    pop = customers_at(ctx, ids, ends)
    if pop is None:  # usage only: accounts seen in usage before the end
        first_m = np.full(A, np.iinfo(np.int64).max)
        if len(am_acct):
            fm = pd.Series(am_month).groupby(cube_pos[am_acct]).min()
            first_m[fm.index.to_numpy()] = fm.to_numpy()
        pop = (first_m[:, None] < pm_end[None, :]).astype(float)
    last_covered = np.array([month_covered[pm_end[p] - 1 - lo] for p in range(P)])
    window = np.zeros((A, P))
    for p in range(P):
        window[:, p] = _window_mask_days(am_days, lo, periods[p].end)
    paying = pop == 1
    total("population", per_ap(np.where(np.isnan(pop), np.nan, paying), covered=last_covered))
    total("inactive_accounts", per_ap(np.where(np.isnan(pop), np.nan, paying & (window == 0)), covered=last_covered))
    th = bucket_thresholds(options)
    bounds = {"daily": (th["daily"], np.inf), "weekly": (th["weekly"], th["daily"]),
              "monthly": (th["monthly"], th["weekly"]), "inactive": (-np.inf, th["monthly"])}
    for name in BUCKET_ORDER:
        lo_b, hi_b = bounds[name]
        inside = paying & (window >= lo_b) & (window < hi_b)
        total(BUCKET_PREFIX + name, per_ap(np.where(np.isnan(pop), np.nan, inside), covered=last_covered))

    # breadth: users of paying accounts with seats / their seats
    seats = account_values(ctx, ids, "seats")
    has_seats = (seats > 0)[:, None] & paying
    total("seat_users", per_ap(np.where(has_seats, np.nan_to_num(users_ap), 0.0) if has_users
                               else np.full((A, P), np.nan)))
    total("seats", per_ap(np.where(has_seats, np.nan_to_num(seats)[:, None], 0.0)))

    # activity churn: usage in the month before the start, none in the month before the end
    before_start = np.array([pm_start[p] - 1 - lo for p in range(P)])
    before_end = np.array([pm_end[p] - 1 - lo for p in range(P)])
    churn_cov = month_covered[before_start] & month_covered[before_end]
    prev_active = am_any[:, before_start]
    total("activity_base", per_ap(prev_active.astype(float), covered=churn_cov))
    total("activity_churned", per_ap((prev_active & ~am_any[:, before_end]).astype(float), covered=churn_cov))

    frame = ctx.frame_from_blocks(blocks)
    frame["days_in_period"] = np.repeat([(p.end - p.start).days for p in periods], len(ctx.group_labels))
    frame["months_in_period"] = np.repeat([p.months for p in periods], len(ctx.group_labels))
    return frame


@family("adoption", needs=("usage",), label="Adoption and activity", several_by=True)
def aggregate_adoption(ctx: Context) -> pd.DataFrame:
    options = merged_options(ctx.dataset, ctx.options)
    src = usage_source(ctx.dataset, ctx.options)
    cube = monthly_cube(src)
    ctx.problems.extend(cube.problems)
    return adoption_frame(ctx, cube, options)


# -- KPIs --------------------------------------------------------------------------------------------
kpi("active_users", label="Active users", unit="count", family="adoption", direction="higher", headline=True,
    formula="Distinct users with at least one usage event in the period (a user id is counted once per "
            "account)")(reads("active_users"))


kpi("accounts_with_usage", label="Accounts using the product", unit="count", family="adoption",
    direction="higher", formula="Accounts with at least one usage event in the period")(reads("accounts_with_usage"))


@kpi("feature_adoption", label="Feature adoption", unit="fraction", family="adoption", direction="higher",
     formula="Per feature f: active users who used f in the period / active users in the period")
def feature_adoption(a):
    cols = [c for c in a.columns if c.startswith(FEATURE_PREFIX)]
    out = a[cols].div(a["active_users"].where(a["active_users"] > 0), axis=0)
    out.columns = [c[len(FEATURE_PREFIX):] for c in cols]
    return out


@kpi("depth", label="Adoption depth", unit="fraction", family="adoption", direction="higher",
     formula="Mean over accounts with usage in the period of (key features the account used / key features); "
             "key features: option key_features, default every feature seen in the usage data")
def depth(a):
    return safe_div(a["depth_sum"], a["accounts_with_usage"])


@kpi("breadth", label="Licence utilisation (breadth)", unit="fraction", family="adoption", direction="higher",
     target=0.8, needs=("accounts",),
     formula="Active users / seats, over paying accounts at the period end that have seats (can exceed 1 "
             "when more people use the product than were licensed)")
def breadth(a):
    return safe_div(a["seat_users"], a["seats"])


@kpi("stickiness", label="Stickiness (DAU/MAU)", unit="fraction", family="adoption", direction="higher", target=0.2,
     formula="Mean daily active users / mean monthly active users over the period (user-days / days in the "
             "period, divided by the mean of the months' active users)")
def stickiness(a):
    dau = a["user_days"] / a["days_in_period"]
    mau = a["mau_sum"] / a["months_in_period"]
    return safe_div(dau, mau)


kpi("inactive_accounts", label="Inactive paying accounts", unit="count", family="adoption", direction="lower",
    formula="Paying accounts at the period end (MRR > 0; without revenue data: customers by the accounts table, "
            "or accounts seen in usage) with no usage event in the last 30 days of the period"
    )(reads("inactive_accounts"))


@kpi("inactive_account_rate", label="Inactive paying accounts (share)", unit="fraction", family="adoption",
     direction="lower", target=0.1, formula="Inactive accounts / paying accounts at the period end")
def inactive_account_rate(a):
    return safe_div(a["inactive_accounts"], a["population"])


@kpi("activity_churn_rate", label="Activity churn", unit="fraction", family="adoption", direction="lower",
     formula="Accounts with usage in the calendar month before the period start and none in the last month of "
             "the period / accounts with usage in the month before the start")
def activity_churn_rate(a):
    return safe_div(a["activity_churned"], a["activity_base"])


@kpi("activity_frequency", label="Activity frequency", unit="fraction", family="adoption",
     formula="Share of paying accounts at the period end by days active in the last 30 days of the period: "
             "daily >= 16, weekly 4-15, monthly 1-3, inactive 0 (thresholds: option activity_buckets)")
def activity_frequency(a):
    out = pd.DataFrame({name: safe_div(a[BUCKET_PREFIX + name], a["population"]) for name in BUCKET_ORDER},
                       index=a.index)
    return out


__all__ = ["activity_bucket", "adoption_frame", "customers_at", "key_feature_positions", "popcount", "month_timestamp"]
