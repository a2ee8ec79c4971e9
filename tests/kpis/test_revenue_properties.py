"""Invariants of the revenue KPIs on random portfolios (hypothesis)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_desk.dataset import Dataset
from cs_desk.kpis import compute

MONTHS = pd.date_range("2023-01-01", periods=14, freq="MS")

row = st.tuples(
    st.integers(0, 7),  # account
    st.integers(0, 400),  # start day offset
    st.one_of(st.none(), st.integers(1, 400)),  # duration in days (None = running)
    st.sampled_from([10.0, 25.0, 40.5, 99.99, 250.0]),
    st.sampled_from([1.0, 3.0, 12.0]),
    st.integers(0, 2),  # segment
)


def make(rows):
    base = pd.Timestamp("2023-01-01")
    frame = pd.DataFrame({
        "account_id": [f"acc{r[0]}" for r in rows],
        "start_date": [base + pd.Timedelta(days=r[1]) for r in rows],
        "end_date": [base + pd.Timedelta(days=r[1] + r[2]) if r[2] else pd.NaT for r in rows],
        "mrr": [r[3] for r in rows],
        "interval": [r[4] for r in rows],
    })
    accounts = pd.DataFrame({"account_id": [f"acc{i}" for i in range(8)],
                             "segment": [["SMB", "MM", "Ent"][i % 3] for i in range(8)]})
    return Dataset(tables={"subscriptions": frame, "accounts": accounts},
                   options={"today": pd.Timestamp("2024-03-01")})


def kpi_frame(ds, **kw):
    r = compute(ds, start="2023-01", end="2024-01", by="segment", **kw)
    return r.table.pivot_table(index=["period", "group"], columns="kpi", values="value", dropna=False)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(row, min_size=1, max_size=25))
def test_mrr_identity_and_rate_relations(rows):
    t = kpi_frame(make(rows))
    start = t["mrr"] - t["net_new_mrr"]
    rebuilt = start + t["new_mrr"] + t["reactivation_mrr"] + t["expansion_mrr"] - t["contraction_mrr"] - t["churned_mrr"]
    np.testing.assert_allclose(rebuilt, t["mrr"], atol=1e-6)
    defined = t["nrr"].notna()
    np.testing.assert_allclose(t.loc[defined, "nrr"], 1 - t.loc[defined, "net_mrr_churn_rate"], atol=1e-12)
    np.testing.assert_allclose(t.loc[defined, "grr"], 1 - t.loc[defined, "gross_mrr_churn_rate"], atol=1e-9)
    assert (t.loc[defined, "grr"] <= np.minimum(1, t.loc[defined, "nrr"]) + 1e-12).all()
    assert (t.loc[defined, "grr"] >= -1e-12).all()
    churn = t["logo_churn_rate"].dropna()
    assert ((churn >= 0) & (churn <= 1)).all()
    assert (t["extension_mrr"] <= t["contraction_mrr"] + 1e-9).all()
    # start MRR of the period equals the previous period's end MRR
    for group, g in t.groupby(level="group"):
        ends = g["mrr"].to_numpy()
        starts = (g["mrr"] - g["net_new_mrr"]).to_numpy()
        np.testing.assert_allclose(starts[1:], ends[:-1], atol=1e-6)


@SETTINGS
@given(st.lists(row, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_shuffling_rows_and_renaming_accounts_changes_nothing(rows, rnd):
    base = kpi_frame(make(rows))
    ds = make(rows)
    subs = ds.tables["subscriptions"].sample(frac=1.0, random_state=rnd.randint(0, 10_000)).reset_index(drop=True)
    rename = {f"acc{i}": f"zz-{7 - i}" for i in range(8)}
    subs["account_id"] = subs["account_id"].map(rename)
    accounts = ds.tables["accounts"].assign(account_id=ds.tables["accounts"]["account_id"].map(rename))
    other = Dataset(tables={"subscriptions": subs, "accounts": accounts.iloc[::-1]}, options=ds.options)
    pd.testing.assert_frame_equal(base, kpi_frame(other), check_exact=False, atol=1e-9)


@SETTINGS
@given(st.lists(row, min_size=1, max_size=25))
def test_groups_sum_to_all(rows):
    t = kpi_frame(make(rows))
    for k in ("mrr", "new_mrr", "churned_mrr", "expansion_mrr", "contraction_mrr", "logos_start", "logos_churned"):
        col = t[k].unstack("group")
        np.testing.assert_allclose(col.drop(columns="all").sum(axis=1), col["all"], atol=1e-6)


@SETTINGS
@given(st.lists(row, min_size=1, max_size=20))
def test_quarter_equals_chaining_its_snapshots(rows):
    ds = make(rows)
    q = compute(ds, start="2023-01", end="2023-12", granularity="quarter")
    m = compute(ds, start="2023-01", end="2023-12")
    for i, label in enumerate(["2023Q1", "2023Q2", "2023Q3", "2023Q4"]):
        end_month = f"2023-{3 * i + 3:02d}"
        assert q.value("mrr", label) == m.value("mrr", end_month)
