"""Adoption and activity KPIs from usage events: hand-worked tables, engines agree, properties."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_desk import usage_engine
from cs_desk.dataset import Dataset
from cs_desk.kpis import compute
from cs_desk.problems import Code

ADOPTION = ["active_users", "accounts_with_usage", "feature_adoption", "depth", "breadth", "stickiness",
            "inactive_accounts", "inactive_account_rate", "activity_churn_rate", "activity_frequency"]


def usage_frame(rows):
    """rows: (account, user, date, feature)"""
    return pd.DataFrame({"account_id": [r[0] for r in rows], "user_id": [r[1] for r in rows],
                         "date": pd.to_datetime([r[2] for r in rows]), "feature": [r[3] for r in rows]})


# Paying: a 100 and b 50 from 2023-12-01, c 20 from 2023-01-01 (subscriptions, all running).
SUBS = pd.DataFrame({"account_id": ["a", "b", "c"], "start_date": pd.to_datetime(["2023-12-01", "2023-12-01",
                                                                                "2023-01-01"]),
                     "end_date": pd.NaT, "mrr": [100.0, 50.0, 20.0], "interval": 1.0})
ACCOUNTS = pd.DataFrame({"account_id": ["a", "b", "c"], "seats": [5.0, 2.0, np.nan],
                         "segment": ["SMB", "Ent", "SMB"]})
#            account user  date          feature
HAND = [("a", "u1", "2024-01-05 09:00", "rep"), ("a", "u2", "2024-01-06 10:00", "dash"),
        ("a", "u1", "2024-01-05 17:00", "rep"),  # same user, day and feature: one user-day
        ("a", "u1", "2024-02-10 08:00", "rep"),
        ("b", "u1", "2024-01-20 12:00", "rep"), ("b", "u1", "2024-01-21 12:00", "exp"),
        ("c", "x", "2024-02-28 12:00", "rep"),
        ("a", "u1", "2023-12-15 12:00", "rep")]  # the month before the range (activity churn base)


def dataset(rows=HAND, accounts=ACCOUNTS, subs=SUBS, options=None):
    tables = {"usage": usage_frame(rows)}
    if accounts is not None:
        tables["accounts"] = accounts
    if subs is not None:
        tables["subscriptions"] = subs
    return Dataset(tables=tables, options={"today": pd.Timestamp("2024-03-01"), **(options or {})})


@pytest.fixture(scope="module")
def hand():
    return compute(dataset(), start="2024-01", end="2024-02", by="segment", kpis=ADOPTION)


def test_active_users_and_feature_adoption(hand):
    # Jan: a {u1, u2}, b {u1} -> 3 users (b's u1 is another person than a's u1); Feb: a {u1}, c {x} -> 2
    assert hand.value("active_users", "2024-01") == 3
    assert hand.value("active_users", "2024-02") == 2
    assert hand.value("active_users", "2024-01", "SMB") == 2
    # Jan: rep used by a/u1 and b/u1 -> 2 of 3; dash 1 of 3; exp 1 of 3
    assert hand.value("feature_adoption[rep]", "2024-01") == pytest.approx(2 / 3)
    assert hand.value("feature_adoption[dash]", "2024-01") == pytest.approx(1 / 3)
    assert hand.value("feature_adoption[exp]", "2024-01", "Ent") == pytest.approx(1.0)
    assert hand.value("feature_adoption[rep]", "2024-02") == pytest.approx(1.0)
    assert hand.value("accounts_with_usage", "2024-02") == 2


def test_depth_with_default_and_configured_key_features(hand):
    # all features seen: rep, dash, exp (3). Jan: a used rep+dash (2/3), b rep+exp (2/3) -> 2/3
    assert hand.value("depth", "2024-01") == pytest.approx(2 / 3)
    # Feb: a rep (1/3), c rep (1/3)
    assert hand.value("depth", "2024-02") == pytest.approx(1 / 3)
    r = compute(dataset(options={"key_features": ["dash", "exp", "never"]}), start="2024-01", end="2024-01",
                kpis=["depth"])
    # key = dash, exp, never (3): a used dash (1/3), b exp (1/3) -> 1/3; 'never' is reported
    assert r.value("depth", "2024-01") == pytest.approx(1 / 3)
    assert any(p.code is Code.OPTION_INVALID and "never" in p.message for p in r.problems)


def test_breadth_is_users_over_seats_of_paying_accounts(hand):
    # Jan: a 2 users / 5 seats, b 1 / 2 (c has no seats) -> 3 / 7
    assert hand.value("breadth", "2024-01") == pytest.approx(3 / 7)
    assert hand.value("breadth", "2024-02") == pytest.approx(1 / 7)


def test_stickiness_is_mean_dau_over_mau(hand):
    # Jan user-days: a/u1 Jan 5, a/u2 Jan 6, b/u1 Jan 20, Jan 21 = 4; mean DAU = 4/31; MAU = 3
    assert hand.value("stickiness", "2024-01") == pytest.approx((4 / 31) / 3)
    # Feb (29 days): a/u1 Feb 10, c/x Feb 28 = 2 user-days; MAU 2
    assert hand.value("stickiness", "2024-02") == pytest.approx((2 / 29) / 2)


def test_inactive_accounts_and_buckets(hand):
    # end of Jan: window [Jan 2, Feb 1): a, b active; c (paying) not -> 1 of 3
    assert hand.value("inactive_accounts", "2024-01") == 1
    assert hand.value("inactive_account_rate", "2024-01") == pytest.approx(1 / 3)
    # end of Feb: window [Jan 31, Mar 1): a (Feb 10), c (Feb 28) active; b last Jan 21 -> inactive
    assert hand.value("inactive_accounts", "2024-02") == 1
    assert hand.value("inactive_accounts", "2024-02", "Ent") == 1
    # a: 2 days active in Jan's window -> monthly; b 2 -> monthly; c 0 -> inactive
    assert hand.value("activity_frequency[monthly]", "2024-01") == pytest.approx(2 / 3)
    assert hand.value("activity_frequency[inactive]", "2024-01") == pytest.approx(1 / 3)
    assert hand.value("activity_frequency[daily]", "2024-01") == 0


def test_activity_churn(hand):
    # Jan: usage in Dec: a; a used in Jan -> 0 / 1. Feb: Jan users a, b; b none in Feb -> 1 / 2
    assert hand.value("activity_churn_rate", "2024-01") == 0
    assert hand.value("activity_churn_rate", "2024-02") == pytest.approx(1 / 2)


def test_quarter_counts_distinct_users_across_months():
    r = compute(dataset(), start="2024-01", end="2024-02", granularity="quarter", kpis=ADOPTION)
    # Jan-Feb: a {u1, u2}, b {u1}, c {x} = 4 (a/u1 active in both months counts once)
    assert r.value("active_users", "2024Q1") == 4
    assert r.value("feature_adoption[rep]", "2024Q1") == pytest.approx(3 / 4)
    # depth: a 2/3, b 2/3, c 1/3 -> 5/9 ; stickiness: 6 user-days / 60 days over mean MAU (3 + 2) / 2
    assert r.value("depth", "2024Q1") == pytest.approx(5 / 9)
    assert r.value("stickiness", "2024Q1") == pytest.approx((6 / 60) / 2.5)


def test_months_without_any_usage_are_unknown_not_zero():
    r = compute(dataset(), start="2023-10", end="2024-01", kpis=ADOPTION)
    assert math.isnan(r.value("active_users", "2023-10"))
    assert math.isnan(r.value("inactive_accounts", "2023-11"))
    assert r.value("active_users", "2023-12") == 1


def test_without_user_ids_user_kpis_are_empty_and_said():
    rows = usage_frame(HAND).drop(columns="user_id")
    ds = Dataset(tables={"usage": rows, "accounts": ACCOUNTS, "subscriptions": SUBS},
                 options={"today": pd.Timestamp("2024-03-01")})
    r = compute(ds, start="2024-01", end="2024-01", kpis=ADOPTION)
    assert math.isnan(r.value("active_users", "2024-01"))
    assert r.value("accounts_with_usage", "2024-01") == 2
    assert r.value("inactive_accounts", "2024-01") == 1
    assert any(p.code is Code.MISSING_COLUMN and p.column == "user_id" for p in r.problems)


def test_usage_only_population_falls_back_to_accounts_seen_in_usage():
    r = compute(dataset(accounts=None, subs=None), start="2024-01", end="2024-02", kpis=ADOPTION)
    # end of Jan: accounts seen before: a, b (c first appears Feb 28) -> none inactive in [Jan 2, Feb 1)
    assert r.value("inactive_accounts", "2024-01") == 0
    assert r.value("inactive_accounts", "2024-02") == 1  # b
    assert ("breadth", "needs the accounts table, which was not loaded") in r.skipped


@pytest.mark.skipif(not usage_engine.duckdb_available(), reason="duckdb not installed")
def test_usage_file_through_duckdb_equals_pandas(tmp_path):
    import duckdb

    frame = usage_frame(HAND)
    frame.loc[0, "account_id"] = " a "  # spaces are stripped like the cleaning layer does
    csv = tmp_path / "usage.csv"
    frame.to_csv(csv, index=False)
    parquet = tmp_path / "usage.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{parquet}' (FORMAT parquet)")
    con.close()
    expected = compute(dataset(), start="2024-01", end="2024-02", by="segment", kpis=ADOPTION).table
    for path, engine in ((csv, "auto"), (parquet, "auto"), (csv, "pandas")):
        ds = Dataset(tables={"accounts": ACCOUNTS, "subscriptions": SUBS},
                     options={"today": pd.Timestamp("2024-03-01"), "usage_path": str(path), "usage_engine": engine})
        got = compute(ds, start="2024-01", end="2024-02", by="segment", kpis=ADOPTION)
        pd.testing.assert_frame_equal(got.table, expected)
        assert usage_engine.monthly_cube(usage_engine.usage_source(ds)).engine == (
            "pandas" if engine == "pandas" else "duckdb")


def test_usage_file_sets_the_default_range_and_bad_rows_are_reported(tmp_path):
    csv = tmp_path / "events.csv"
    csv.write_text("Account,When,Who\na,2024-01-05,u1\nb,not a date,u2\n,2024-01-07,u3\na,2024-02-01,u1\n")
    ds = Dataset(options={"usage_path": str(csv),
                          "usage_columns": {"account_id": "Account", "date": "When", "user_id": "Who"}})
    r = compute(ds, kpis=["active_users"])
    assert list(r.table["period"]) == ["2024-01", "2024-02"]
    assert r.table["value"].tolist() == [1.0, 1.0]
    assert any(p.code in (Code.BAD_DATE, Code.MISSING_VALUE) and "2 usage rows" in p.message for p in r.problems)


# -- properties ------------------------------------------------------------------------------------
event = st.tuples(st.sampled_from("abcd"), st.integers(0, 3), st.integers(0, 120), st.sampled_from("xyz"))
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(event, min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_shares_in_range_and_shuffle_invariant(events, rnd):
    base = pd.Timestamp("2024-01-01")
    rows = [(a, f"{a}{u}", base + pd.Timedelta(days=d, hours=5), f) for a, u, d, f in events]
    accounts = pd.DataFrame({"account_id": list("abcd"), "seats": [1.0, 3.0, 10.0, np.nan],
                             "segment": ["s", "t", "s", "t"]})
    subs = pd.DataFrame({"account_id": list("abcd"), "start_date": pd.Timestamp("2023-12-01"), "end_date": pd.NaT,
                         "mrr": 10.0, "interval": 1.0})

    def run(r):
        return compute(dataset(r, accounts, subs), start="2024-01", end="2024-04", by="segment",
                       kpis=ADOPTION).table

    t = run(rows)
    shares = t[t["kpi"].str.startswith(("feature_adoption", "depth", "stickiness", "inactive_account_rate",
                                        "activity_churn_rate", "activity_frequency"))]["value"].dropna()
    assert ((shares >= -1e-12) & (shares <= 1 + 1e-12)).all()
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    pd.testing.assert_frame_equal(t, run(shuffled))
