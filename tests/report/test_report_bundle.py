"""The report bundle: computed once, consistent with the engine, plain data."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cs_desk.dataset import Dataset
from cs_desk.kpis import compute
from cs_desk.report import Cancelled, ReportBundle, build_bundle
from cs_desk.report.bundle import books_section, headline_section, tidy_kpi_table, trend_frame, usable_by_fields


def test_bundle_holds_every_section(bundle):
    assert isinstance(bundle, ReportBundle)
    assert bundle.by == ("segment", "csm")
    assert bundle.periods and bundle.periods[-1] == f"{bundle.end:%Y-%m}"
    assert bundle.as_of == bundle.end + pd.offsets.MonthBegin(1)
    assert set(bundle.kpi_table["group_by"]) == {"all", "segment", "csm"}
    assert not bundle.movements.empty and "flat" not in set(bundle.movements["movement"])
    assert {"account_id", "score", "band"} <= set(bundle.snapshot.columns)
    assert {"score_prev", "band_change"} <= set(bundle.health.columns)
    assert list(bundle.health_mix.columns) == ["green", "yellow", "red"]
    assert list(bundle.health_mix.index) == bundle.periods  # the health_mix KPI, as of each month end
    assert bundle.health_mix.sum(axis=1).round(9).eq(1).all()
    assert {"account_id", "owner", "priority", "reason", "action", "due"} <= set(bundle.actions.columns)
    assert bundle.cohorts is not None and len(bundle.cohorts.logo)
    assert not bundle.cohort_projection.empty
    assert bundle.date_range.count("–") == 1
    assert set(bundle.timings) >= {"Computing KPIs", "Health scores", "Cohorts"}
    # the KPIs used the bundle's health model: the last month's mix is the snapshot's
    active = bundle.snapshot[bundle.snapshot["active"].fillna(False).astype(bool)]
    red_share = (active["band"].astype(str) == "red").mean()
    assert bundle.health_mix["red"].iloc[-1] == pytest.approx(red_share)


def test_portfolio_kpis_agree_with_compute(bundle, demo_dataset):
    direct = compute(demo_dataset)
    for kpi in ("mrr", "nrr", "logo_churn_rate", "active_accounts"):
        assert bundle.kpis.value(kpi) == pytest.approx(direct.value(kpi), nan_ok=True)
    assert set(bundle.kpis.table["group"]) == {"all"}
    seg = bundle.kpi_table[(bundle.kpi_table["group_by"] == "segment") & (bundle.kpi_table["kpi"] == "mrr")]
    last = seg[seg["period"] == bundle.periods[-1]]["value"].sum()
    assert last == pytest.approx(bundle.kpis.value("mrr"))


def test_headline_has_target_previous_change_and_status(bundle):
    h = bundle.headline.set_index("kpi")
    assert {"mrr", "arr", "logo_churn_rate", "grr", "nrr"} <= set(h.index)
    churn = h.loc["logo_churn_rate"]
    assert churn["target"] == 0.05
    assert churn["change"] == pytest.approx(churn["value"] - churn["previous"])
    assert churn["status"] == ("on target" if churn["value"] < 0.05 else "off target")
    assert h.loc["mrr", "status"] == ""  # no target
    assert set(h["trend"]) <= {"better", "worse", "same", ""}


def test_books_of_business_add_up(bundle):
    books = bundle.books
    active = bundle.snapshot[bundle.snapshot["active"].fillna(False).astype(bool)]
    portfolio = books[books["group_by"] == "all"].iloc[0]
    assert portfolio["accounts"] == len(active) == bundle.kpis.value("active_accounts")
    assert portfolio["value_at_risk"] == pytest.approx(active.loc[active["band"] == "red", "mrr"].sum())
    for field in ("segment", "csm"):
        part = books[books["group_by"] == field]
        assert part["accounts"].sum() == portfolio["accounts"]
        assert part["mrr"].sum() == pytest.approx(portfolio["mrr"])
    assert (books["renewals_30d"] <= books["renewals_90d"]).all()
    assert (books["renewals_90d"] <= books["renewals_180d"]).all()
    assert set(bundle.groups("segment")) == set(active["segment"].dropna())


def test_risks_are_red_then_urgent_yellow_and_candidates_green_with_reasons(bundle):
    snap = bundle.snapshot.set_index("account_id")
    risks = bundle.risks
    bands = snap.loc[risks["account_id"], "band"].astype(str).to_numpy()
    assert len(risks) and set(bands) <= {"red", "yellow"}
    assert (risks["reason"].astype(str).str.len() > 0).all()
    urgent = set(bundle.actions.loc[bundle.actions["priority"] == "high", "account_id"])
    for rec, band in zip(risks.to_dict("records"), bands):
        if band == "yellow":
            assert 0 <= rec["days_to_renewal"] <= 90 or rec["account_id"] in urgent
    top = risks[risks["group_by"] == "all"]
    assert len(top) <= 10
    red_first = (top["band"].astype(str) == "red").to_numpy()
    assert list(red_first) == sorted(red_first, reverse=True)
    assert top[red_first]["mrr"].is_monotonic_decreasing
    cands = bundle.expansion
    if len(cands):
        assert (snap.loc[cands["account_id"], "band"].astype(str) == "green").all()
        assert (cands["reason"].str.len() > 0).all()


def test_trend_frame_puts_losses_below_zero(bundle):
    trend = trend_frame(bundle)
    assert list(trend["period"]) == bundle.periods
    assert (trend["churned_mrr"].dropna() <= 0).all() and (trend["new_mrr"].dropna() >= 0).all()
    assert trend["green"].notna().sum() == len(bundle.health_mix)


def test_progress_rises_to_one_and_cancel_stops(demo_dataset):
    seen = []
    build_bundle(demo_dataset, by=("segment",), progress=lambda f, t: seen.append((f, t)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(isinstance(t, str) and t for _, t in seen)
    calls = []

    def cancel_after_two():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        build_bundle(demo_dataset, cancelled=cancel_after_two)


def test_bundle_does_not_mutate_the_dataset(demo_frames):
    ds = Dataset(tables={k: v.copy() for k, v in demo_frames.items()})
    before = {k: v.copy() for k, v in ds.tables.items()}
    build_bundle(ds, by=("segment",))
    for name, frame in before.items():
        pd.testing.assert_frame_equal(ds.tables[name], frame)


def test_missing_group_fields_become_notes(demo_dataset):
    fields, notes = usable_by_fields(demo_dataset, ("segment", "favourite_colour", "segment"))
    assert fields == ["segment"] and "favourite_colour" in notes[0]
    revenue_only = Dataset(tables={"mrr": demo_dataset.table("mrr")})
    b = build_bundle(revenue_only)
    assert b.by == () and any("accounts table" in n for n in b.notes)
    assert set(b.kpi_table["group_by"]) == {"all"}
    assert not b.headline.empty


def test_empty_inputs_give_an_empty_bundle_not_an_error():
    b = build_bundle(Dataset())
    assert b.kpis.table.empty and b.headline.empty and b.movements.empty and b.snapshot.empty
    assert b.periods == [] and b.date_range == "" and b.notes


def test_sections_are_plain_functions():
    kpis = compute(Dataset())
    assert headline_section(kpis).empty
    assert tidy_kpi_table(kpis, {}).columns.tolist() == ["period", "group_by", "group", "kpi", "value", "unit"]
    assert books_section(pd.DataFrame(), ["segment"]).empty
    frame = pd.DataFrame({"account_id": ["a", "b", "c"], "segment": ["X", "X", None], "mrr": [10.0, 20.0, 5.0],
                          "active": [True, True, True], "band": ["red", "green", "red"], "score": [20.0, 80, 30],
                          "days_to_renewal": [10.0, 100.0, np.nan]})
    books = books_section(frame, ["segment"]).set_index(["group_by", "group"])
    assert books.loc[("all", "Portfolio"), "value_at_risk"] == 15.0
    assert books.loc[("segment", "(none)"), "accounts"] == 1
    assert books.loc[("segment", "X"), "renewals_30d"] == 1 and books.loc[("segment", "X"), "renewals_180d"] == 2
    assert math.isclose(books.loc[("segment", "X"), "red_share_of_mrr"], 10 / 30)


def test_cohorts_and_books_can_be_left_out_and_the_rest_is_unchanged(bundle, demo_dataset):
    assert bundle.omitted == () and bundle.complete  # the default computes every section
    lean = build_bundle(demo_dataset, cohorts=False, books=False)
    assert lean.omitted == ("cohorts", "books") and not lean.complete
    assert lean.cohorts is None and lean.cohort_projection.empty
    for name in ("books", "risks", "expansion"):
        section = getattr(lean, name)
        assert section.empty and list(section.columns) == list(getattr(bundle, name).columns)
    assert "Cohorts" not in lean.timings and "Books of business" not in lean.timings
    # every other section is the same as the complete bundle's
    pd.testing.assert_frame_equal(lean.kpi_table, bundle.kpi_table)
    pd.testing.assert_frame_equal(lean.headline, bundle.headline)
    pd.testing.assert_frame_equal(lean.movements, bundle.movements)
    pd.testing.assert_frame_equal(lean.snapshot, bundle.snapshot)
    pd.testing.assert_frame_equal(lean.health, bundle.health)
    pd.testing.assert_frame_equal(lean.health_mix, bundle.health_mix)
    pd.testing.assert_frame_equal(lean.actions, bundle.actions)
    assert lean.notes == bundle.notes and lean.by == bundle.by


def test_each_section_can_be_left_out_alone(demo_dataset):
    no_cohorts = build_bundle(demo_dataset, by=("segment",), cohorts=False)
    assert no_cohorts.omitted == ("cohorts",) and no_cohorts.cohorts is None
    assert not no_cohorts.books.empty and set(no_cohorts.books["group_by"]) == {"all", "segment"}
    no_books = build_bundle(demo_dataset, by=("segment",), books=False)
    assert no_books.omitted == ("books",) and no_books.books.empty and no_books.risks.empty
    assert no_books.cohorts is not None and not no_books.cohort_projection.empty


def test_cancel_reaches_the_accounts_lane(demo_dataset):
    """The worker lane checks ``cancelled()`` between its steps: cancelling once the KPI pass has
    started stops the whole bundle, and no worker thread is left running."""
    import threading

    started = threading.Event()

    def cancel_once_started():
        if threading.current_thread().name.startswith("cs-desk-accounts"):
            started.set()
            return True
        return False

    with pytest.raises(Cancelled):
        build_bundle(demo_dataset, by=("segment",), cancelled=cancel_once_started)
    assert started.is_set()
    assert not [t for t in threading.enumerate() if t.name.startswith("cs-desk-accounts")]


def test_a_failing_kpi_lane_stops_the_accounts_lane(demo_dataset, monkeypatch):
    import threading

    from cs_desk.report import bundle as bundle_mod

    def broken(*args, **kwargs):
        raise RuntimeError("KPI pass failed")

    monkeypatch.setattr(bundle_mod, "kpi_section", broken)
    with pytest.raises(RuntimeError, match="KPI pass failed"):
        build_bundle(demo_dataset, by=("segment",))
    assert not [t for t in threading.enumerate() if t.name.startswith("cs-desk-accounts")]


def test_accounts_lane_equals_the_sections_one_by_one(bundle, demo_dataset):
    from cs_desk.kpis import months_covered
    from cs_desk.report import bundle as b

    window = months_covered(demo_dataset)
    assert window == (bundle.start, bundle.end)
    snapshot, previous = b.snapshot_section(demo_dataset, window[1])
    accounts = b.health_section(bundle.health_model, snapshot, previous)
    pd.testing.assert_frame_equal(bundle.snapshot, accounts)
    mix = b.health_mix_kpis(demo_dataset, window, {"health_model": bundle.health_model})
    assert len(mix) and {"health_mix[red]", "accounts_at_risk"} <= set(mix["kpi"])
    got = bundle.kpis.table.tail(len(mix)).reset_index(drop=True)  # appended after the default KPIs
    pd.testing.assert_frame_equal(got, mix.reset_index(drop=True))
