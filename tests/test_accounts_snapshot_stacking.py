"""Stacked snapshots (all as-of dates at once) equal the single snapshots of each date, on random
small portfolios: every table, missing ids and dates, times of day, same-day answers, rows of
unknown accounts, out-of-scale survey answers and the options that change the metrics."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_desk.accounts_snapshot import COLUMNS, account_snapshot, account_snapshots
from cs_desk.dataset import Dataset

START = pd.Timestamp("2022-01-01")


def _dates(rng: np.random.Generator, n: int, days: int, missing: float, times: bool = True) -> np.ndarray:
    """``n`` dates over ``days`` days from START (some with a time of day, some missing)."""
    d = START + pd.to_timedelta(rng.integers(-200, days, n), "D")
    if times:
        d = d + pd.to_timedelta(rng.integers(0, 24 * 60, n) * (rng.random(n) < 0.5), "m")
    out = np.array(d.to_numpy(dtype="datetime64[ns]"), copy=True)
    out[rng.random(n) < missing] = np.datetime64("NaT")
    return out


def _portfolio(seed: int, n_accounts: int, rows: int, mrr_table: bool) -> Dataset:
    rng = np.random.default_rng(seed)
    pool = np.array([f"A{i:03d}" for i in range(n_accounts + 3)], dtype=object)  # 3 unknown to the CRM

    def ids(n: int) -> np.ndarray:
        out = pool[rng.integers(0, len(pool), n)]
        out[rng.random(n) < 0.03] = None
        return out

    def pick(values, n: int) -> np.ndarray:
        return np.array(values, dtype=object)[rng.integers(0, len(values), n)]

    n = n_accounts
    accounts = pd.DataFrame({
        "account_id": pool[:n], "segment": pick(["SMB", "Ent", None], n), "csm": pick(["Ann", "Bob"], n),
        "customer_since": _dates(rng, n, 600, 0.2), "renewal_date": _dates(rng, n, 900, 0.4),
        "seats": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 20, n)).astype(float),
        "onboarded_on": _dates(rng, n, 700, 0.4), "csm_sentiment": rng.integers(1, 6, n).astype(float),
        "csm_sentiment_date": _dates(rng, n, 900, 0.4), "status": pick(["active", "churned", None], n),
        "churn_date": _dates(rng, n, 900, 0.7)})
    start = _dates(rng, rows, 800, 0.05)
    tables = {"accounts": accounts, "subscriptions": pd.DataFrame({
        "account_id": ids(rows), "start_date": start,
        "end_date": np.where(rng.random(rows) < 0.5, np.datetime64("NaT"),
                             start + pd.to_timedelta(rng.integers(-30, 700, rows), "D").to_numpy()),
        "mrr": rng.integers(0, 300, rows).astype(float), "interval": 1.0})}
    if mrr_table:
        tables["mrr"] = pd.DataFrame({"account_id": ids(rows), "month": _dates(rng, rows, 900, 0.05),
                                      "mrr": np.where(rng.random(rows) < 0.1, np.nan, rng.integers(-10, 500, rows))})
    m = 4 * rows
    tables["usage"] = pd.DataFrame({"account_id": ids(m), "user_id": pick(["u1", "u2", "u3", None], m),
                                    "date": _dates(rng, m, 900, 0.02), "feature": pick(["f1", "f2", "f3", None], m)})
    created = _dates(rng, rows, 900, 0.03)
    tables["tickets"] = pd.DataFrame({
        "account_id": ids(rows), "created_at": created,
        "resolved_at": np.where(rng.random(rows) < 0.3, np.datetime64("NaT"),
                                created + pd.to_timedelta(rng.integers(-50, 2000, rows), "h").to_numpy()),
        "priority": pick(["Urgent", "low", " HIGH ", None], rows)})
    score = rng.integers(0, 11, rows).astype(float)
    score[rng.random(rows) < 0.05] = np.nan
    score[rng.random(rows) < 0.03] = 42.0  # out of every scale
    answered = _dates(rng, rows, 900, 0.03, times=False)
    if rows:
        answered[rng.random(rows) < 0.3] = answered[0]  # answers on the same day
    tables["surveys"] = pd.DataFrame({"account_id": ids(rows), "date": answered,
                                      "survey": pick(["nps", "CSAT ", "ces", "other", None], rows), "score": score})
    tables["renewals"] = pd.DataFrame({"account_id": ids(rows // 3), "renewal_date": _dates(rng, rows // 3, 900, 0.1),
                                       "outcome": "renewed"})
    return Dataset(tables=tables)


OPTIONS = st.fixed_dictionaries({}, optional={
    "onboarding_milestone": st.just({"events": 2}), "key_features": st.just(["f1", "f9"]),
    "renewal_term_months": st.integers(1, 24), "survey_scales": st.just({"csat": (1, 10)}),
    "urgent_priorities": st.just(["low"]), "sentiment_half_life_days": st.just(30)})
AS_OF = st.lists(st.integers(-100, 1000), min_size=1, max_size=6).map(
    lambda days: [START + pd.Timedelta(days=d) for d in days])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_accounts=st.integers(1, 25), rows=st.integers(0, 60),
       mrr_table=st.booleans(), dates=AS_OF, options=OPTIONS,
       picked=st.lists(st.sampled_from(COLUMNS[2:]), min_size=1, max_size=8))
def test_stacked_snapshots_equal_the_single_snapshots(seed, n_accounts, rows, mrr_table, dates, options, picked):
    ds = _portfolio(seed, n_accounts, rows, mrr_table)
    stacked = account_snapshots(ds, dates, options=options)
    singles = [account_snapshot(ds, d, options=options) for d in sorted(set(dates))]
    singles = [s for s in singles if len(s)] or singles[:1]  # (concat types ids from empty frames as object)
    pd.testing.assert_frame_equal(stacked, pd.concat(singles, ignore_index=True), check_exact=True)
    # some columns only (only their metrics are computed), the paying rows only: the same values
    expected = [c for c in COLUMNS if c in set(picked) | {"account_id", "as_of"}]
    part = account_snapshots(ds, dates, options=options, columns=picked)
    pd.testing.assert_frame_equal(part, stacked[expected], check_exact=True)
    active = account_snapshots(ds, dates, options=options, columns=picked, active_only=True)
    pd.testing.assert_frame_equal(active, stacked.loc[stacked["active"], expected].reset_index(drop=True),
                                  check_exact=True)
