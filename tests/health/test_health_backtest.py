"""Backtest: outcomes from the MRR grid, AUC, and constructed histories with a known answer."""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pandas as pd
import pytest
from health_helpers import NOISE_MODEL, SIGNAL_MODEL, history, model

from cs_desk.health import (Backtest, auc, backtest, backtest_dataset, backtest_dates, bootstrap_auc,
                            outcomes_from_grid)
from cs_desk.snapshots import MrrGrid

D = pd.Timestamp


def small_grid():
    #            Jan  Feb  Mar  Apr  May  Jun
    mrr = np.array([
        [100, 100, 0, 0, 0, 0],  # a: churns in Feb (0 from the Mar 1 snapshot)
        [100, 100, 100, 100, 100, 100],  # b: stays
        [100, 0, 100, 100, 100, 100],  # c: cancels and comes back inside 60 days
        [100, 100, 100, 60, 60, 60],  # d: contracts
        [0, 0, 50, 50, 50, np.nan],  # e: starts in Mar; unknown in Jun
    ], dtype=float)
    instants = pd.date_range("2024-01-01", periods=6, freq="MS")
    return MrrGrid(pd.Index(list("abcde"), name="account_id"), instants, mrr, np.zeros(mrr.shape),
                   instants[1], instants[-2], "mrr")


def test_outcomes_from_grid_hand_worked():
    out = outcomes_from_grid(small_grid(), [D("2024-01-01"), D("2024-03-01")], horizons=(30, 60, 90))
    o = out.set_index(["as_of", "account_id"])
    jan = D("2024-01-01")
    # Jan 1 + 30 days = Jan 31 -> Feb 1 snapshot; + 60 = Mar 1; + 90 = Mar 31 -> Apr 1
    assert o.loc[(jan, "a"), "churned_30d"] is np.False_ or o.loc[(jan, "a"), "churned_30d"] == False  # noqa: E712
    assert o.loc[(jan, "a"), "churned_60d"] == True  # noqa: E712
    assert o.loc[(jan, "c"), "churned_30d"] == True  # noqa: E712  (0 on Feb 1)
    assert o.loc[(jan, "c"), "churned_60d"] == False  # noqa: E712  (back by Mar 1: not churn)
    assert o.loc[(jan, "d"), "contracted_90d"] == True and o.loc[(jan, "d"), "churned_90d"] == False  # noqa: E712
    assert (jan, "e") not in o.index  # not active on Jan 1: not at risk
    mar = D("2024-03-01")
    # Mar 1 + 90 days = May 30 -> Jun 1 snapshot: e has no data there -> unknown (NA)
    assert pd.isna(o.loc[(mar, "e"), "churned_90d"]) and o.loc[(mar, "e"), "churned_30d"] == False  # noqa: E712
    assert (mar, "a") not in o.index
    assert str(out["churned_90d"].dtype) == "boolean"


def test_outcomes_beyond_the_grid_are_unknown():
    out = outcomes_from_grid(small_grid(), [D("2024-05-01")], horizons=(60,))
    assert out["churned_60d"].isna().all()


def test_auc_hand_worked():
    # churners score 10, 30; others 20, 40, 50: pairs (churner < other): 10<20,40,50 (3) + 30<40,50 (2) = 5 of 6
    assert auc(np.array([10, 30, 20, 40, 50.0]), np.array([1, 1, 0, 0, 0], bool)) == pytest.approx(5 / 6)
    # ties count half
    assert auc(np.array([10, 10.0]), np.array([1, 0], bool)) == pytest.approx(0.5)
    assert np.isnan(auc(np.array([1.0, 2.0]), np.array([0, 0], bool)))


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    y = rng.random(3000) < 0.2
    s = np.where(y, rng.normal(40, 15, 3000), rng.normal(60, 15, 3000))
    cl = rng.integers(0, 500, 3000)
    ci = bootstrap_auc(s, y, cl, n_boot=300, seed=1)
    assert ci == bootstrap_auc(s, y, cl, n_boot=300, seed=1)
    assert ci[0] < auc(s, y) < ci[1] and ci[1] - ci[0] < 0.1


@pytest.fixture(scope="module")
def constructed():
    grid, snaps, dates, churn_at = history()
    outcomes = outcomes_from_grid(grid, dates)
    return grid, snaps, dates, outcomes


def test_a_model_using_the_churn_signal_gets_auc_about_1(constructed):
    _, snaps, dates, outcomes = constructed
    r = backtest(model(SIGNAL_MODEL), snaps, outcomes, horizon=90)
    assert r.auc > 0.99 and r.auc_ci[0] > 0.98
    rates = r.churn_rate_by_band
    assert rates["red"] > 0.5 and rates["green"] == 0
    assert r.red_lift > 3
    assert r.missed.empty  # nobody churned while green
    assert r.n_accounts == 400 and r.n_churned >= 30 and r.warnings == []
    assert len(r.as_of_dates) == len(dates)


def test_a_model_on_a_random_metric_gets_auc_about_half(constructed):
    _, snaps, _, outcomes = constructed
    r = backtest(model(NOISE_MODEL), snaps, outcomes, horizon=90, n_boot=500, seed=0)
    assert abs(r.auc - 0.5) < 0.05
    assert r.auc_ci[0] < 0.5 < r.auc_ci[1]
    assert 0.7 < r.red_lift < 1.3
    assert len(r.missed) > 0 and len(r.false_alarms) > 0
    assert {"account_id", "as_of", "score", "band", "weakest"} <= set(r.missed.columns)
    assert (r.false_alarms["band"] == "red").all() and (r.false_alarms["red_months"] >= 1).all()


def test_as_dict_is_json_ready_with_the_contract_keys(constructed):
    _, snaps, _, outcomes = constructed
    d = backtest(model(SIGNAL_MODEL), snaps, outcomes, horizon=60, n_boot=50).as_dict(limit=5)
    assert {"auc", "auc_ci", "n_accounts", "n_churned", "churn_rate_by_band"} <= set(d)
    assert len(d["auc_ci"]) == 2 and set(d["churn_rate_by_band"]) == {"red", "yellow", "green"}
    assert len(d["missed"]) <= 5
    json.dumps(d)  # no NaN objects, timestamps are text


def test_few_churn_events_give_a_warning(constructed):
    grid, snaps, dates, _ = constructed
    out = outcomes_from_grid(grid, dates[:2], horizons=(30,))
    few = snaps[snaps["as_of"].isin(dates[:2])]
    r = backtest(model(SIGNAL_MODEL), few, out, horizon=30, n_boot=0)
    assert r.n_churned < 30
    assert any("not reliable" in w for w in r.warnings)
    assert np.isnan(r.auc_ci[0])  # no bootstrap asked


def test_contraction_and_lost_targets():
    grid = small_grid()
    out = outcomes_from_grid(grid, [D("2024-01-01")], horizons=(90,))
    snaps = pd.DataFrame({"account_id": list("abcd"), "as_of": D("2024-01-01"), "signal": [0, 12, 12, 1.0]})
    r = backtest(model(SIGNAL_MODEL), snaps, out, horizon=90, target="contracted", n_boot=0)
    assert r.n_events == 1 and r.n_observations == 4
    r = backtest(model(SIGNAL_MODEL), snaps, out, horizon=90, target="lost", n_boot=0)
    assert r.n_events == 2  # a churned, d contracted
    with pytest.raises(ValueError):
        Backtest(model(SIGNAL_MODEL), snaps, out, horizon=45)


def test_live_rescoring_for_the_builder(constructed):
    _, snaps, _, outcomes = constructed
    m = model(SIGNAL_MODEL + NOISE_MODEL.replace("weight = 1", "weight = 5"))
    bt = Backtest(m, snaps, outcomes)
    noisy = bt.run(n_boot=0, detail=False).auc
    clean = bt.run(m.with_weights({"noise": 0.001}), n_boot=0, detail=False).auc
    assert clean > noisy


def test_backtest_dataset_builds_snapshots_and_outcomes(monkeypatch, constructed):
    grid, snaps, _, _ = constructed
    calls = {}

    def account_snapshots(dataset, as_of_dates):
        calls["dates"] = list(as_of_dates)
        return snaps[snaps["as_of"].isin(as_of_dates)]

    fake = types.ModuleType("cs_desk.accounts_snapshot")
    fake.account_snapshots = account_snapshots
    monkeypatch.setitem(sys.modules, "cs_desk.accounts_snapshot", fake)
    monkeypatch.setattr("cs_desk.snapshots.mrr_grid", lambda dataset: (grid, []))
    r = backtest_dataset(model(SIGNAL_MODEL), dataset=object(), months=6, horizon=90, n_boot=0)
    assert calls["dates"] == backtest_dates(grid, 6, 90) and len(calls["dates"]) == 6
    # the last as-of date is the last one whose 90-day outcome the data covers
    last_known = grid.last_month + pd.offsets.MonthBegin(1)
    assert calls["dates"][-1] + pd.Timedelta(days=90) <= last_known
    assert r.auc > 0.99


def test_backtest_dataset_without_revenue_is_a_warning_not_a_crash(monkeypatch):
    monkeypatch.setitem(sys.modules, "cs_desk.accounts_snapshot", types.ModuleType("cs_desk.accounts_snapshot"))
    monkeypatch.setattr("cs_desk.snapshots.mrr_grid", lambda dataset: (None, []))
    r = backtest_dataset(model(SIGNAL_MODEL), dataset=object())
    assert r.n_observations == 0 and "no revenue data" in r.warnings[0]
    json.dumps(r.as_dict())


def test_quick_run_without_detail_is_json_ready(constructed):
    _, snaps, _, outcomes = constructed
    d = Backtest(model(SIGNAL_MODEL), snaps, outcomes).run(n_boot=0, detail=False).as_dict(limit=0)
    assert d["auc"] > 0.99 and d["missed"] == [] and d["auc_ci"] == [None, None]
    json.dumps(d)
