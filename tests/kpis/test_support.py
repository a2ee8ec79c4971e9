"""Support KPIs from tickets, worked by hand."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from cs_desk.dataset import Dataset
from cs_desk.kpis import compute
from cs_desk.problems import Code

SUPPORT = ["tickets", "tickets_per_account", "tickets_by_category", "tickets_by_priority", "median_resolution_hours",
           "median_first_response_hours", "tickets_change", "open_tickets"]
T = pd.Timestamp
#          account created             resolved            first response      category priority
ROWS = [("a", "2023-12-20 09:00", "2023-12-21 09:00", None, "bug", "high"),
        ("a", "2024-01-02 10:00", "2024-01-02 14:00", "2024-01-02 11:00", "bug", "high"),     # 4 h, 1 h
        ("b", "2024-01-03 00:00", None, "2024-01-03 02:00", "howto", "low"),                # open, 2 h
        ("b", "2024-01-10 08:00", "2024-01-11 08:00", "2024-01-10 11:00", "howto", None),   # 24 h, 3 h
        ("c", "2024-01-31 22:00", "2024-02-01 08:00", None, None, "urgent"),                # 10 h
        ("b", "2024-02-04 00:00", "2024-02-03 00:00", None, "bug", "low")]                  # resolved before created
SUBS = pd.DataFrame({"account_id": ["a", "b", "c"], "start_date": T("2023-06-01"), "end_date": [pd.NaT, pd.NaT,
                     T("2024-02-01")], "mrr": 10.0, "interval": 1.0})
ACCOUNTS = pd.DataFrame({"account_id": ["a", "b", "c"], "segment": ["SMB", "Ent", "SMB"]})


def tickets():
    return pd.DataFrame({"account_id": [r[0] for r in ROWS], "created_at": pd.to_datetime([r[1] for r in ROWS]),
                         "resolved_at": pd.to_datetime([r[2] for r in ROWS]),
                         "first_response_at": pd.to_datetime([r[3] for r in ROWS]),
                         "category": [r[4] for r in ROWS], "priority": [r[5] for r in ROWS]})


@pytest.fixture(scope="module")
def hand():
    ds = Dataset(tables={"tickets": tickets(), "subscriptions": SUBS, "accounts": ACCOUNTS},
                 options={"today": T("2024-03-01")})
    return compute(ds, start="2024-01", end="2024-02", by="segment", kpis=SUPPORT)


def test_counts_and_per_account(hand):
    assert hand.value("tickets", "2024-01") == 4
    assert hand.value("tickets", "2024-02") == 1
    # paying at the end of Jan: a, b, c (c ends Feb 1, exclusive: not paying at Feb 1) -> a, b
    assert hand.value("tickets_per_account", "2024-01") == pytest.approx(4 / 2)
    assert hand.value("tickets_per_account", "2024-02") == pytest.approx(1 / 2)
    assert hand.value("tickets", "2024-01", "Ent") == 2


def test_by_category_and_priority(hand):
    assert hand.value("tickets_by_category[bug]", "2024-01") == 1
    assert hand.value("tickets_by_category[howto]", "2024-01") == 2
    assert hand.value("tickets_by_category[(none)]", "2024-01") == 1
    assert hand.value("tickets_by_priority[urgent]", "2024-01") == 1
    assert hand.value("tickets_by_priority[(none)]", "2024-01") == 1


def test_medians(hand):
    # Jan resolved: 4 h, 24 h, 10 h -> median 10; first responses 1, 2, 3 h -> 2
    assert hand.value("median_resolution_hours", "2024-01") == pytest.approx(10.0)
    assert hand.value("median_first_response_hours", "2024-01") == pytest.approx(2.0)
    # Feb: the only ticket was "resolved" before it was created: not used, reported
    assert math.isnan(hand.value("median_resolution_hours", "2024-02"))
    assert any(p.code is Code.END_BEFORE_START for p in hand.problems)


def test_change_against_previous_period(hand):
    # Dec: 1 ticket, Jan: 4 -> +300 %; Feb: 1 vs 4 -> -75 %
    assert hand.value("tickets_change", "2024-01") == pytest.approx(3.0)
    assert hand.value("tickets_change", "2024-02") == pytest.approx(-0.75)


def test_open_tickets_at_period_end(hand):
    # end of Jan: b's Jan 3 ticket (never resolved) and c's (resolved Feb 1) -> 2; end of Feb: b's Jan 3 and
    # b's Feb 4 (its resolution before creation counts as resolved at creation) -> 1
    assert hand.value("open_tickets", "2024-01") == 2
    assert hand.value("open_tickets", "2024-02") == 1


def test_quarter_change_uses_the_quarter_before():
    ds = Dataset(tables={"tickets": tickets()})
    r = compute(ds, start="2023-12", end="2024-02", granularity="quarter", kpis=["tickets", "tickets_change"])
    # 2023Q4 is cut to Dec (1 ticket; before it Nov: 0 -> empty); 2024Q1 (Jan-Feb): 5 vs Oct-Dec: 1 -> +400 %
    assert math.isnan(r.value("tickets_change", "2023Q4"))
    assert r.value("tickets_change", "2024Q1") == pytest.approx(4.0)
