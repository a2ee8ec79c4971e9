"""Onboarding KPIs: onboarded_on, usage milestones, overdue accounts."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from cs_desk.dataset import Dataset
from cs_desk.kpis import compute

T = pd.Timestamp
KPIS = ["onboarded_accounts", "median_days_to_onboard", "onboarding_overdue"]
ACCOUNTS = pd.DataFrame({
    "account_id": ["a", "b", "c", "d"],
    "customer_since": pd.to_datetime(["2024-01-01", "2024-01-10", "2023-09-01", None]),
    "onboarded_on": pd.to_datetime(["2024-01-31", "2024-02-09", None, "2024-02-15"]),
})
SUBS = pd.DataFrame({"account_id": ["a", "b", "c", "d"], "start_date": pd.to_datetime(
    ["2024-01-01", "2024-01-10", "2023-09-01", "2024-01-20"]), "end_date": pd.NaT, "mrr": 10.0, "interval": 1.0})


def test_onboarded_on_counts_and_median():
    ds = Dataset(tables={"accounts": ACCOUNTS, "subscriptions": SUBS}, options={"today": T("2024-03-01")})
    r = compute(ds, start="2024-01", end="2024-02", kpis=KPIS)
    # Jan: a (30 days). Feb: b (30 days), d (no customer_since: first paid 2024-01-20 -> 26 days)
    assert r.value("onboarded_accounts", "2024-01") == 1
    assert r.value("median_days_to_onboard", "2024-01") == pytest.approx(30)
    assert r.value("onboarded_accounts", "2024-02") == 2
    assert r.value("median_days_to_onboard", "2024-02") == pytest.approx(28)
    # c: customer since 2023-09-01, never onboarded: > 90 days at the end of Jan and Feb
    assert r.value("onboarding_overdue", "2024-01") == 1
    assert r.value("onboarding_overdue", "2024-02") == 1


def test_usage_milestone():
    usage = pd.DataFrame({"account_id": ["a"] * 3 + ["b"] * 2, "date": pd.to_datetime(
        ["2024-01-03", "2024-01-20", "2024-02-02", "2024-01-15", "2024-02-20"]),
        "feature": ["reports", "reports", "reports", "reports", "other"], "count": [40.0, 50.0, 30.0, 200.0, 5.0]})
    ds = Dataset(tables={"accounts": ACCOUNTS, "usage": usage},
                 options={"onboarding_milestone": {"feature": "reports", "events": 100}})
    r = compute(ds, start="2024-01", end="2024-02", kpis=KPIS)
    # a: 40 + 50 = 90 by Jan 20, 120 on Feb 2 -> onboarded Feb 2 (32 days); b: 200 on Jan 15 (5 days)
    assert r.value("onboarded_accounts", "2024-01") == 1
    assert r.value("median_days_to_onboard", "2024-01") == pytest.approx(5)
    assert r.value("onboarded_accounts", "2024-02") == 1
    assert r.value("median_days_to_onboard", "2024-02") == pytest.approx(32)


def test_no_onboarding_in_a_period_is_zero_and_median_empty():
    ds = Dataset(tables={"accounts": ACCOUNTS})
    r = compute(ds, start="2023-10", end="2023-10", kpis=KPIS)
    assert r.value("onboarded_accounts", "2023-10") == 0
    assert math.isnan(r.value("median_days_to_onboard", "2023-10"))
