"""Compare two models, suggest weights (never applied), score history and trends."""
from __future__ import annotations

import json
import sys
import types

import numpy as np
import pandas as pd
import pytest
from health_helpers import NOISE_MODEL, SIGNAL_MODEL, component, history, model, snapshot

from cs_desk.health import (compare, compare_summary, history_dataset, latest_with_previous, mix_history,
                            month_end_instants, outcomes_from_grid, score, score_history, score_trend,
                            suggest_weights, with_previous)
from cs_desk.health.history import month_label

LIN = '{ type = "linear", low = 0, high = 100 }'


def two_models():
    a = model(component("x", "m1", 1, LIN) + component("y", "m2", 1, LIN), "A")
    b = model(component("x", "m1", 3, LIN) + component("y", "m2", 1, LIN), "B")
    return a, b


def test_compare_lists_accounts_whose_band_changes_worst_first():
    a, b = two_models()
    snap = snapshot(m1=[100, 0, 50, 80, np.nan], m2=[0, 100, 50, 20, np.nan], account_name=list("PQRST"))
    out = compare(a, b, snap)
    # A1: 50 -> 75 (yellow -> green); A2: 50 -> 25 (yellow -> red); A3: 50 -> 50; A4: 50 -> 65 (same band)
    assert out["account_id"].tolist() == ["A2", "A1"]
    assert out["change"].tolist() == ["worse", "better"]
    np.testing.assert_allclose(out["score_change"], [-25, 25])
    assert out.loc[0, "account_name"] == "Q" and out.loc[0, "band_a"] == "yellow" and out.loc[0, "band_b"] == "red"
    full = compare(a, b, snap, only_changed=False)
    assert len(full) == 5 and (full["change"] == "same").sum() == 3
    table = compare_summary(a, b, snap)
    assert table.loc["yellow", "red"] == 1 and table.loc["yellow", "green"] == 1 and table.loc["unknown", "unknown"] == 1


def test_compare_with_another_structure():
    a, _ = two_models()
    c = model(component("x", "m1", 1, '{ type = "linear", low = 0, high = 50 }') + component("y", "m2", 1, LIN), "C")
    out = compare(a, c, snapshot(m1=[50], m2=[20]))
    # A: (50 + 20)/2 = 35 red; C: (100 + 20)/2 = 60 yellow
    assert out["change"].tolist() == ["better"] and out.loc[0, "score_b"] == pytest.approx(60)


def test_suggest_weights_finds_the_churn_signal_and_applies_nothing():
    grid, snaps, dates, _ = history(n_accounts=300, months=15)
    outcomes = outcomes_from_grid(grid, dates)
    m = model(SIGNAL_MODEL + NOISE_MODEL)
    before = m.to_toml()
    s = suggest_weights(m, snaps, outcomes, horizon=90)
    table = s.table.set_index("component")
    assert table.loc["sig", "suggested_weight_pct"] > 90
    assert table.loc["sig", "coefficient"] < 0  # more points, less churn
    assert table.loc["sig", "current_weight_pct"] == pytest.approx(50)
    assert s.auc_suggested >= s.auc_current
    assert s.auc_suggested_holdout >= s.auc_current_holdout
    assert m.to_toml() == before  # the model is untouched
    d = s.as_dict()
    assert d["applied"] is False
    json.dumps(d)
    assert set(s.weights()) == {"sig", "noise"}


def stacked():
    a = model(component("x", "m1", 1, LIN))
    dates = month_end_instants("2024-03", 3)
    snaps = pd.concat([snapshot(m1=[10.0 + 30 * i, 80.0 - 30 * i]).assign(as_of=d, active=True)
                       for i, d in enumerate(dates)], ignore_index=True)
    return a, dates, snaps


def test_month_end_instants_and_labels():
    dates = month_end_instants("2024-03", 3)
    # the ends of Jan, Feb, Mar 2024 are the first instants of Feb, Mar, Apr
    assert dates == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01"), pd.Timestamp("2024-04-01")]
    assert [month_label(d) for d in dates] == ["2024-01", "2024-02", "2024-03"]


def test_score_history_trend_and_previous_month():
    m, dates, snaps = stacked()
    h = score_history(m, snaps)
    assert h["month"].tolist() == ["2024-01", "2024-01", "2024-02", "2024-02", "2024-03", "2024-03"]
    trend = score_trend(h).set_index("account_id")
    # A1: 10 -> 40 -> 70 (up by 60); A2: 80 -> 50 -> 20 (down by 60)
    assert trend.loc["A1", ["2024-01", "2024-02", "2024-03"]].tolist() == [10, 40, 70]
    assert trend.loc["A1", "change"] == 60 and trend.loc["A1", "trend"] == "up"
    assert trend.loc["A2", "change_1m"] == -30 and trend.loc["A2", "trend"] == "down"
    latest = latest_with_previous(h).set_index("account_id")
    assert latest.loc["A2", "score_prev"] == 50 and latest.loc["A2", "band_prev"] == "yellow"
    assert latest.loc["A2", "band_change"] == "worse" and latest.loc["A1", "band_change"] == "better"
    mix = mix_history(h).set_index(["month", "band"])
    assert mix.loc[("2024-03", "green"), "share"] == 0.5
    # February: both yellow (40, 50) -> no red; March: one red of two
    assert mix.loc[("2024-03", "red"), "change"] == pytest.approx(0.5)


def test_with_previous_handles_new_accounts():
    m = model(component("x", "m1", 1, LIN))
    now = score(m, snapshot(m1=[10.0, 90.0]))
    before = score(m, pd.DataFrame({"account_id": ["A1"], "m1": [60.0]}))
    out = with_previous(now, before).set_index("account_id")
    assert out.loc["A1", "score_change"] == -50 and out.loc["A1", "band_change"] == "worse"
    assert np.isnan(out.loc["A2", "score_prev"]) and out.loc["A2", "band_change"] == ""


def test_history_dataset_uses_the_snapshot_function(monkeypatch):
    m, dates, snaps = stacked()
    fake = types.ModuleType("cs_desk.accounts_snapshot")
    fake.account_snapshots = lambda dataset, as_of_dates: snaps[snaps["as_of"].isin(list(as_of_dates))]
    monkeypatch.setitem(sys.modules, "cs_desk.accounts_snapshot", fake)
    seen = []
    h = history_dataset(m, dataset=object(), months=2, last_month="2024-03", progress=lambda f, t: seen.append(f))
    assert sorted(h["month"].unique()) == ["2024-02", "2024-03"]
    assert seen[0] == 0.0 and seen[-1] == 1.0


def test_compare_leaves_out_accounts_that_no_longer_pay():
    a, b = two_models()
    snap = snapshot(m1=[100, 0], m2=[0, 100], active=[True, False])
    assert compare(a, b, snap)["account_id"].tolist() == ["A1"]
    assert len(compare(a, b, snap, only_active=False)) == 2
    assert compare_summary(a, b, snap).to_numpy().sum() == 1
