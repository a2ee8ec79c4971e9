"""Advocacy and relationship KPIs from the accounts table."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from cs_desk.dataset import Dataset
from cs_desk.kpis import compute

T = pd.Timestamp
KPIS = ["referrals", "reviews", "case_studies", "advocate_accounts", "relationship_score"]
ACCOUNTS = pd.DataFrame({
    "account_id": ["a", "b", "c"], "segment": ["SMB", "Ent", "SMB"],
    "customer_since": pd.to_datetime(["2023-01-01", "2024-02-10", "2023-06-01"]),
    "referrals": [2.0, 1.0, 0.0], "reviews": [0.0, 0.0, 1.0],
    "csm_sentiment": [4.0, 2.0, 1.0], "csm_sentiment_date": pd.to_datetime(["2024-01-10", "2024-02-15", None]),
})


def test_counts_and_relationship_score():
    r = compute(Dataset(tables={"accounts": ACCOUNTS}), start="2024-01", end="2024-02", by="segment", kpis=KPIS)
    # Jan: b not yet a customer -> referrals 2 + 0, reviews 1; advocates a (referral), c (review)
    assert r.value("referrals", "2024-01") == 2
    assert r.value("reviews", "2024-01") == 1
    assert r.value("advocate_accounts", "2024-01") == 2
    assert r.value("referrals", "2024-02") == 3
    assert math.isnan(r.value("case_studies", "2024-01"))  # no such column
    # Jan: a 4 (recorded Jan 10), c 1 (undated) -> 2.5; Feb: + b 2 (Feb 15) -> 7/3
    assert r.value("relationship_score", "2024-01") == pytest.approx(2.5)
    assert r.value("relationship_score", "2024-02") == pytest.approx(7 / 3)
    assert r.value("relationship_score", "2024-02", "Ent") == pytest.approx(2.0)


def test_relationship_score_counts_paying_accounts_when_revenue_exists():
    subs = pd.DataFrame({"account_id": ["a", "b", "c"], "start_date": T("2023-01-01"),
                         "end_date": [pd.NaT, pd.NaT, T("2024-02-01")], "mrr": 10.0, "interval": 1.0})
    ds = Dataset(tables={"accounts": ACCOUNTS, "subscriptions": subs}, options={"today": T("2024-03-01")})
    r = compute(ds, start="2024-02", end="2024-02", kpis=KPIS)
    # end of Feb: a and b pay (c ended Feb 1) -> (4 + 2) / 2
    assert r.value("relationship_score", "2024-02") == pytest.approx(3.0)
