"""Revenue and logo KPIs against small portfolios worked out by hand (DESIGN.md formulas)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cs_desk.dataset import Dataset
from cs_desk.kpis import REGISTRY, UsageError, compute, movements

NaT = pd.NaT


def subs(rows, today="2030-01-01"):
    """rows: (account, start, end or None, mrr[, interval months])"""
    frame = pd.DataFrame(
        [(r[0], pd.Timestamp(r[1]), pd.Timestamp(r[2]) if r[2] else NaT, float(r[3]),
          float(r[4]) if len(r) > 4 else 1.0) for r in rows],
        columns=["account_id", "start_date", "end_date", "mrr", "interval"])
    return Dataset(tables={"subscriptions": frame}, options={"today": pd.Timestamp(today)})


def mrr_table(rows, accounts=None):
    frame = pd.DataFrame([(a, pd.Timestamp(m), float(v)) for a, m, v in rows], columns=["account_id", "month", "mrr"])
    tables = {"mrr": frame}
    if accounts is not None:
        tables["accounts"] = accounts
    return Dataset(tables=tables)


def value(result, kpi, period, group="all"):
    return result.value(kpi, period, group)


# A portfolio worked by hand. Snapshots are taken at the first instant of each month.
#   a: 100 from 2024-01-01, ends 2024-03-01 (exclusive)        -> churns in Feb
#   b: 200 from 2024-01-15, running                              -> new in Jan
#   c: 50 monthly until 2024-02-01, then 40/month on an annual plan (interval 12) -> extension in Jan
#   d: plan 60 + add-on 20 from 2023-12-01, add-on ends 2024-02-01 -> contraction 20 in Jan
#   e: 30 from 2023-12-01 to 2024-01-01, back 2024-02-10 at 35   -> churned in Dec, reactivation in Feb
#   f: starts 2024-01-05 and ends 2024-01-20                     -> never in a snapshot: no movement
HAND = [
    ("a", "2024-01-01", "2024-03-01", 100),
    ("b", "2024-01-15", None, 200),
    ("c", "2023-12-01", "2024-02-01", 50, 1),
    ("c", "2024-02-01", None, 40, 12),
    ("d", "2023-12-01", None, 60),
    ("d", "2023-12-01", "2024-02-01", 20),
    ("e", "2023-12-01", "2024-01-01", 30),
    ("e", "2024-02-10", None, 35),
    ("f", "2024-01-05", "2024-01-20", 999),
]


@pytest.fixture(scope="module")
def hand():
    return compute(subs(HAND, today="2024-03-15"), start="2024-01", end="2024-02")


def test_snapshots_and_totals(hand):
    # Jan 1: a 100, c 50, d 80 = 230 (e ended Jan 1: exclusive)   Feb 1: a 100, b 200, c 40, d 60 = 400
    # Mar 1: b 200, c 40, d 60, e 35 = 335 (a ended Mar 1)
    assert value(hand, "mrr", "2024-01") == 400
    assert value(hand, "mrr", "2024-02") == 335
    assert value(hand, "arr", "2024-02") == 335 * 12
    assert value(hand, "active_accounts", "2024-01") == 4
    assert value(hand, "active_accounts", "2024-02") == 4


def test_movements_january(hand):
    assert value(hand, "new_mrr", "2024-01") == 200  # b
    assert value(hand, "expansion_mrr", "2024-01") == 0
    assert value(hand, "contraction_mrr", "2024-01") == 10 + 20  # c 50 -> 40, d 80 -> 60
    assert value(hand, "extension_mrr", "2024-01") == 10  # c moved to an annual plan
    assert value(hand, "churned_mrr", "2024-01") == 0
    assert value(hand, "net_new_mrr", "2024-01") == 400 - 230
    assert value(hand, "logos_start", "2024-01") == 3
    assert value(hand, "logos_new", "2024-01") == 1


def test_movements_february_reactivation_and_churn(hand):
    assert value(hand, "reactivation_mrr", "2024-02") == 35  # e paid before: reactivation, not new
    assert value(hand, "new_mrr", "2024-02") == 0
    assert value(hand, "churned_mrr", "2024-02") == 100  # a
    assert value(hand, "logos_churned", "2024-02") == 1
    assert value(hand, "logos_reactivated", "2024-02") == 1
    assert value(hand, "logo_churn_rate", "2024-02") == pytest.approx(1 / 4)
    assert value(hand, "logo_retention_rate", "2024-02") == pytest.approx(3 / 4)
    assert value(hand, "logo_churn_rate_annualized", "2024-02") == pytest.approx(1 - 0.75 ** 12)


def test_retention_rates(hand):
    # Jan: start accounts a 100, c 50, d 80 (230) end at 100, 40, 60 = 200
    assert value(hand, "nrr", "2024-01") == pytest.approx(200 / 230)
    assert value(hand, "grr", "2024-01") == pytest.approx(200 / 230)
    assert value(hand, "gross_mrr_churn_rate", "2024-01") == pytest.approx(30 / 230)
    assert value(hand, "net_mrr_churn_rate", "2024-01") == pytest.approx(1 - 200 / 230)
    # Feb: start a 100, b 200, c 40, d 60 = 400; end 0, 200, 40, 60 = 300
    assert value(hand, "nrr", "2024-02") == pytest.approx(300 / 400)
    assert value(hand, "quick_ratio", "2024-02") == pytest.approx(35 / 100)
    assert value(hand, "portfolio_growth", "2024-02") == -100
    assert value(hand, "portfolio_growth_rate", "2024-02") == pytest.approx(-100 / 400)
    assert value(hand, "arpa", "2024-02") == pytest.approx(335 / 4)


def test_zero_expansion_quick_ratio_and_undefined_values(hand):
    # Jan lost 30 (contraction) and gained 200 new
    assert value(hand, "quick_ratio", "2024-01") == pytest.approx(200 / 30)
    # expansion is 0 in both months: growth 0 -> 0 is undefined, not 0 and not inf
    assert math.isnan(value(hand, "expansion_mrr_growth", "2024-02"))


def test_the_identity_holds_for_the_hand_portfolio(hand):
    for p in ("2024-01", "2024-02"):
        start = value(hand, "mrr", p) - value(hand, "net_new_mrr", p)
        rebuilt = (start + value(hand, "new_mrr", p) + value(hand, "reactivation_mrr", p)
                   + value(hand, "expansion_mrr", p) - value(hand, "contraction_mrr", p)
                   - value(hand, "churned_mrr", p))
        assert rebuilt == pytest.approx(value(hand, "mrr", p))


def test_quarter_compares_first_and_last_snapshot_not_an_average():
    # x: 100 in Jan, 0 in Feb (churned Feb 1), back at 100 from Mar 1 -> across Q1 (Jan 1 -> Apr 1) flat
    ds = subs([("x", "2024-01-01", "2024-02-01", 100), ("x", "2024-03-01", None, 100),
               ("y", "2024-01-01", None, 50)], today="2024-06-01")
    q = compute(ds, start="2024-01", end="2024-03", granularity="quarter")
    assert q.periods == ["2024Q1"]
    assert value(q, "logo_churn_rate", "2024Q1") == 0  # cancel and re-subscribe within a period is not churn
    assert value(q, "nrr", "2024Q1") == 1
    m = compute(ds, start="2024-01", end="2024-03")
    assert value(m, "logo_churn_rate", "2024-01") == 0.5
    assert value(m, "reactivation_mrr", "2024-02") == 100
    assert value(q, "logo_churn_rate_annualized", "2024Q1") == 0


def test_zero_start_mrr_gives_empty_rates_not_zero():
    ds = subs([("n", "2024-01-10", None, 70)], today="2024-03-01")
    r = compute(ds, start="2024-01", end="2024-01")
    assert value(r, "new_mrr", "2024-01") == 70
    for k in ("nrr", "grr", "logo_churn_rate", "gross_mrr_churn_rate", "expansion_rate"):
        assert math.isnan(value(r, k, "2024-01")), k


def test_clv_is_undefined_when_nobody_churns():
    ds = subs([("p", "2024-01-01", None, 100), ("q", "2024-01-01", None, 300)], today="2024-04-01")
    r = compute(ds, start="2024-01", end="2024-03")
    assert value(r, "logo_churn_rate", "2024-03") == 0
    assert math.isnan(value(r, "clv", "2024-03"))


def test_clv_uses_trailing_mean_monthly_churn():
    # 4 accounts at 100; one churns in Feb (Feb 1 -> Mar 1). Jan churn 0, Feb 1/4, Mar 0.
    rows = [("a1", "2024-01-01", None, 100), ("a2", "2024-01-01", None, 100),
            ("a3", "2024-01-01", None, 100), ("a4", "2024-01-01", "2024-03-01", 100)]
    r = compute(subs(rows, today="2024-05-01"), start="2024-01", end="2024-03")
    trailing = (0 + 0.25 + 0) / 3
    assert value(r, "clv", "2024-03") == pytest.approx((300 / 3) / trailing)


def test_clv_cac_ratio_uses_mean_cac():
    rows = [("a1", "2024-01-01", None, 100), ("a2", "2024-01-01", "2024-02-01", 100)]
    ds = subs(rows, today="2024-03-01")
    ds.tables["accounts"] = pd.DataFrame({"account_id": ["a1", "a2"], "cac": [100.0, 300.0],
                                          "segment": ["SMB", "SMB"]})
    r = compute(ds, start="2024-01", end="2024-01")
    # arpa 100 / churn 0.5 = 200; mean cac 200 -> 1.0
    assert value(r, "clv", "2024-01") == pytest.approx(200)
    assert value(r, "clv_cac_ratio", "2024-01") == pytest.approx(1.0)


def test_published_example_llamafinancial():
    """Worked example from https://www.llamafinancial.com/blog/net-revenue-retention :
    100 subscribers at $50 (MRR 5,000); 25 new at $50; 5 upgrade 50 -> 100 (expansion 250);
    2 downgrade 50 -> 10 (contraction 80); 5 cancel (churn 250).
    NRR = (5000 + 250 - 80 - 250) / 5000 = 98.4 %; GRR = (5000 - 80 - 250) / 5000 = 93.4 %."""
    rows = []
    for i in range(100):
        rows.append((f"u{i}", "2024-01", 50))
        if i < 5:
            rows.append((f"u{i}", "2024-02", 100))
        elif i < 7:
            rows.append((f"u{i}", "2024-02", 10))
        elif i < 12:
            continue  # cancelled
        else:
            rows.append((f"u{i}", "2024-02", 50))
    rows += [(f"n{i}", "2024-02", 50) for i in range(25)]
    r = compute(mrr_table(rows))
    assert r.periods == ["2024-02"]  # the MRR table's first month is the opening balance
    assert value(r, "nrr", "2024-02") == pytest.approx(0.984)
    assert value(r, "grr", "2024-02") == pytest.approx(0.934)
    assert value(r, "expansion_mrr", "2024-02") == 250
    assert value(r, "contraction_mrr", "2024-02") == 80
    assert value(r, "churned_mrr", "2024-02") == 250
    assert value(r, "new_mrr", "2024-02") == 1250
    assert value(r, "logo_churn_rate", "2024-02") == pytest.approx(0.05)
    assert value(r, "quick_ratio", "2024-02") == pytest.approx((1250 + 250) / (80 + 250))


def test_published_example_churnzero_nrr():
    """https://churnzero.net/churnopedia/net-revenue-retention/ : enter January with MRR 27,000,
    the same customers exit with 35,000 of upsells but 5,000 churned -> 30,000 / 27,000 = 111 %."""
    rows = [("big", "2023-12", 22000), ("big", "2024-01", 30000),
            ("gone", "2023-12", 5000)]
    r = compute(mrr_table(rows))
    assert value(r, "nrr", "2024-01") == pytest.approx(30000 / 27000)
    assert round(value(r, "nrr", "2024-01"), 2) == 1.11


def test_month_without_any_mrr_rows_leaves_kpis_empty_and_says_so():
    rows = [("a", "2024-01", 100), ("a", "2024-02", 100), ("a", "2024-04", 100), ("b", "2024-04", 50)]
    r = compute(mrr_table(rows))
    assert r.periods == ["2024-02", "2024-03", "2024-04"]
    assert value(r, "nrr", "2024-02") == 1
    assert math.isnan(value(r, "nrr", "2024-03"))  # March is unknown: not "a churned"
    assert math.isnan(value(r, "nrr", "2024-04"))
    assert any(p.code.value == "month_without_data" and "2024-03" in p.message for p in r.problems)


def test_twelve_month_nrr_compares_same_month_a_year_later():
    rows = [("a", f"2023-{m:02d}", 100) for m in range(1, 13)] + [("a", f"2024-{m:02d}", 150) for m in range(1, 4)]
    rows += [("b", f"2023-{m:02d}", 100) for m in range(1, 13)] + [("c", "2024-03", 500)]
    r = compute(mrr_table(rows))
    # end of Mar 2024 vs end of Mar 2023: a 100 -> 150, b 100 -> 0; c is new and excluded
    assert value(r, "nrr_12m", "2024-03") == pytest.approx(150 / 200)
    assert value(r, "grr_12m", "2024-03") == pytest.approx(100 / 200)
    assert math.isnan(value(r, "nrr_12m", "2023-06"))  # no snapshot a year before


def test_groups_add_one_group_per_value_and_all_equals_the_sum():
    accounts = pd.DataFrame({"account_id": ["a", "b", "c", "d", "e"],
                             "segment": ["SMB", "SMB", "Enterprise", None, "Enterprise"]})
    ds = subs(HAND, today="2024-03-15")
    ds.tables["accounts"] = accounts
    r = compute(ds, start="2024-01", end="2024-02", by="segment")
    assert sorted(r.table["group"].unique()) == ["(none)", "Enterprise", "SMB", "all"]
    for k in ("mrr", "churned_mrr", "new_mrr", "logos_start"):
        parts = r.table[(r.table.kpi == k) & (r.table.group != "all") & (r.table.period == "2024-02")]["value"].sum()
        assert parts == pytest.approx(value(r, k, "2024-02"))
    assert value(r, "logo_churn_rate", "2024-02", "SMB") == pytest.approx(1 / 2)  # a churned, b stayed


def test_renewal_rate_counts_closed_renewals_due_in_the_period():
    ds = subs([("a", "2024-01-01", None, 10)], today="2024-04-01")
    ds.tables["renewals"] = pd.DataFrame({
        "account_id": ["a", "b", "c", "d"],
        "renewal_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-01-31", "2024-02-01"]),
        "outcome": ["renewed", "churned", "open", "renewed"]})
    r = compute(ds, start="2024-01", end="2024-02")
    assert value(r, "renewal_rate", "2024-01") == 0.5  # open renewals are not counted
    assert value(r, "renewals_due", "2024-01") == 3
    assert value(r, "renewal_rate", "2024-02") == 1.0


def test_missing_tables_are_skipped_with_a_reason():
    r = compute(subs(HAND, today="2024-03-15"))
    reasons = dict(r.skipped)
    assert "renewals table" in reasons["renewal_rate"]
    assert "accounts table" in reasons["clv_cac_ratio"]


def test_bad_by_field_and_unknown_kpi_are_usage_errors():
    ds = subs(HAND, today="2024-03-15")
    with pytest.raises(UsageError, match="accounts table"):
        compute(ds, by="segment")
    ds.tables["accounts"] = pd.DataFrame({"account_id": ["a"], "segment": ["SMB"]})
    with pytest.raises(UsageError, match="no such field"):
        compute(ds, by="colour")
    with pytest.raises(UsageError, match="unknown KPI"):
        compute(ds, kpis=["churnrate"])


def test_movements_drill_down_lists_the_accounts():
    frame = movements(subs(HAND, today="2024-03-15"), start="2024-01", end="2024-02")
    feb = frame[frame.period == "2024-02"].set_index("account_id")
    assert feb.loc["a", "movement"] == "churned" and feb.loc["a", "start_mrr"] == 100
    assert feb.loc["e", "movement"] == "reactivation"
    jan = frame[frame.period == "2024-01"].set_index("account_id")
    assert jan.loc["c", "movement"] == "contraction" and bool(jan.loc["c", "extension"])
    assert "f" not in set(frame.account_id)
    # the drill-down adds up to the KPI
    assert feb[feb.movement == "churned"].start_mrr.sum() == 100


def test_every_registered_kpi_has_its_metadata():
    for k in REGISTRY.values():
        assert k.label and k.formula and k.unit
        assert k.direction in ("higher", "lower", None)


def test_compute_does_not_mutate_its_input():
    ds = subs(HAND, today="2024-03-15")
    before = ds.tables["subscriptions"].copy()
    compute(ds, by=None)
    pd.testing.assert_frame_equal(before, ds.tables["subscriptions"])


def test_mixed_currencies_are_refused_unless_one_is_chosen(tmp_path):
    """A table that mixes currencies is not summed: revenue KPIs are skipped with the reason, and
    choosing a currency keeps only its rows (DESIGN.md edge case)."""
    from cs_desk import io

    csv = tmp_path / "mrr.csv"
    csv.write_text("account_id,month,mrr,currency\nA,2024-01,100,USD\nB,2024-01,90,EUR\n"
                   "A,2024-02,100,USD\nB,2024-02,90,EUR\n", encoding="utf-8")
    mixed = compute(io.load([csv]))
    assert mixed.table[mixed.table.kpi == "mrr"].empty
    assert "mixes currencies" in dict(mixed.skipped)["mrr"]
    assert any(p.code.value == "mixed_currencies" and p.severity.value == "error" for p in mixed.problems)
    usd = compute(io.load([csv], options={"currency": "USD"}))
    assert value(usd, "mrr", "2024-02") == 100
