"""The demo portfolio: canonical shape, determinism, realism and the leading churn signals."""
from __future__ import annotations

import time
from datetime import date, datetime

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cs_desk import demo
from cs_desk.schema import SURVEY_SCALES, TABLES

STRING_KINDS = {"id", "text", "category"}
DATE_KINDS = {"date", "datetime"}


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return demo.generate()


@pytest.fixture(scope="module")
def grid(frames) -> pd.DataFrame:
    """accounts x months MRR (value at the end of each month)."""
    return frames["mrr"].pivot(index="account_id", columns="month", values="mrr")


@pytest.fixture(scope="module")
def churns(grid) -> list[tuple[str, int]]:
    """(account_id, month position) of every logo churn: MRR > 0 at m-1 and 0 at m."""
    g = grid.to_numpy()
    a, t = np.nonzero((g[:, :-1] > 0) & (g[:, 1:] == 0))
    return [(grid.index[i], j + 1) for i, j in zip(a, t)]


def _mrr_from_subscriptions(subs: pd.DataFrame, months: pd.DatetimeIndex) -> pd.DataFrame:
    """Independent, plain implementation of DESIGN.md: MRR(d) = sum of mrr of rows with
    start_date <= d < end_date (empty end = running); month m's value is MRR(first day of m+1)."""
    out = {}
    for month in months:
        instant = month + pd.offsets.MonthBegin(1)
        running = (subs["start_date"] <= instant) & (subs["end_date"].isna() | (instant < subs["end_date"]))
        out[month] = subs[running].groupby("account_id")["mrr"].sum()
    return pd.DataFrame(out).fillna(0.0)


# --------------------------------------------------------------------------------------------
# shape
# --------------------------------------------------------------------------------------------
def test_every_canonical_table_and_field_with_cleaned_dtypes(frames):
    assert set(frames) == set(TABLES)
    for name, table in TABLES.items():
        frame = frames[name]
        assert set(frame.columns) == set(table.field_names), name
        assert len(frame) > 0, name
        for f in table.fields:
            col = frame[f.name]
            where = f"{name}.{f.name} ({f.kind}, {col.dtype})"
            if f.kind in STRING_KINDS:
                assert pd.api.types.is_string_dtype(col), where
                assert col.dropna().map(type).eq(str).all(), where
            elif f.kind in DATE_KINDS:
                assert col.dtype == "datetime64[ns]", where
            else:
                assert col.dtype == "float64", where
            if f.required:
                assert col.notna().all(), where


def test_ids_and_values(frames):
    acc = frames["accounts"]
    assert acc["account_id"].is_unique
    known = set(acc["account_id"])
    for name in ("subscriptions", "mrr", "usage", "tickets", "surveys", "renewals"):
        assert set(frames[name]["account_id"]) <= known, name
    assert frames["subscriptions"]["subscription_id"].is_unique
    assert frames["tickets"]["ticket_id"].is_unique
    assert set(acc["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    assert set(acc["plan"]) <= {"Starter", "Growth", "Business", "Enterprise"}
    assert set(acc["region"]) == {"NA", "EMEA", "APAC", "LATAM"}
    assert 6 <= acc["csm"].nunique() <= 8
    assert acc["csm_sentiment"].dropna().between(1, 5).all()
    assert set(frames["usage"]["feature"]) == set(demo.FEATURES)
    t = frames["tickets"]
    assert set(t["category"]) == {"billing", "bug", "how-to", "feature request", "outage"}
    assert set(t["priority"]) == {"low", "normal", "high", "urgent"}
    assert t["csat"].dropna().between(1, 5).all() and t["csat"].notna().any()
    s = frames["surveys"]
    assert set(s["survey"]) == {"NPS", "CSAT", "CES"}
    for kind, (lo, hi) in SURVEY_SCALES.items():
        scores = s.loc[s["survey"] == kind.upper(), "score"]
        assert scores.between(lo, hi).all() and (scores == scores.round()).all(), kind
    assert set(frames["renewals"]["outcome"]) == {"renewed", "churned", "open"}


def test_na_region_is_text(frames):
    region = frames["accounts"]["region"]
    assert (region == "NA").sum() > 0.3 * len(region)
    assert region.notna().all()


# --------------------------------------------------------------------------------------------
# determinism and scale
# --------------------------------------------------------------------------------------------
def test_same_seed_same_frames_and_other_seed_differs():
    a = demo.generate(150, months=18, seed=3)
    b = demo.generate(150, months=18, seed=3)
    c = demo.generate(150, months=18, seed=4)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["subscriptions"].equals(c["subscriptions"])
    assert not a["usage"].equals(c["usage"])


def test_usage_switch_leaves_the_other_tables_unchanged():
    with_usage = demo.generate(80, months=12, seed=5)
    without = demo.generate(80, months=12, seed=5, usage=False)
    assert len(without["usage"]) == 0 and list(without["usage"].columns) == list(with_usage["usage"].columns)
    for name in with_usage:
        if name != "usage":
            pd.testing.assert_frame_equal(with_usage[name], without[name])
    half = demo.generate(80, months=12, seed=5, usage=0.5)
    assert 0 < half["usage"]["account_id"].nunique() < with_usage["usage"]["account_id"].nunique()


def test_window_follows_end_and_months():
    f = demo.generate(40, months=6, seed=1, end=date(2025, 3, 1))
    months = sorted(f["mrr"]["month"].unique())
    assert months[0] == pd.Timestamp("2024-10-01") and months[-1] == pd.Timestamp("2025-03-01")
    assert len(months) == 6
    last_instant = pd.Timestamp("2025-04-01")
    for name, col in (("usage", "date"), ("tickets", "created_at"), ("surveys", "date")):
        assert (f[name][col] < last_instant).all(), name
    assert (f["subscriptions"]["start_date"] < last_instant).all()
    tiny = demo.generate(1, months=1)
    assert len(tiny["accounts"]) == 1 and len(tiny["mrr"]) == 1


def test_default_size_and_speed():
    t0 = time.perf_counter()
    f = demo.generate()
    elapsed = time.perf_counter() - t0
    assert len(f["accounts"]) == 600
    assert f["mrr"]["month"].nunique() == 36
    assert f["mrr"]["month"].max() == pd.Timestamp("2026-10-01")
    assert 150_000 <= len(f["usage"]) <= 700_000
    assert elapsed < 20  # ~1 s on a quiet 2-core machine


@pytest.mark.slow
def test_hundred_thousand_accounts_without_usage_is_fast():
    t0 = time.perf_counter()
    f = demo.generate(100_000, usage=False)
    elapsed = time.perf_counter() - t0
    assert len(f["accounts"]) == 100_000
    assert len(f["mrr"]) == 100_000 * 36
    assert elapsed < 60  # ~5 s on a quiet 2-core machine


# --------------------------------------------------------------------------------------------
# revenue realism
# --------------------------------------------------------------------------------------------
def test_segment_shares(frames):
    shares = frames["accounts"]["segment"].value_counts(normalize=True)
    assert shares["SMB"] == pytest.approx(0.60, abs=0.02)
    assert shares["Mid-Market"] == pytest.approx(0.30, abs=0.02)
    assert shares["Enterprise"] == pytest.approx(0.10, abs=0.02)


def test_mrr_ranges_by_segment(frames, grid):
    seg = frames["accounts"].set_index("account_id")["segment"].reindex(grid.index)
    last = grid.iloc[:, -1]
    median = last[last > 0].groupby(seg[last > 0]).median()
    assert 50 <= median["SMB"] <= 500
    assert 500 <= median["Mid-Market"] <= 3000
    assert 3000 <= median["Enterprise"] <= 25000


def test_monthly_logo_churn_per_segment(frames, grid):
    g = grid.to_numpy()
    seg = frames["accounts"].set_index("account_id")["segment"].reindex(grid.index).to_numpy()
    start, end = g[:, :-1] > 0, g[:, 1:] > 0
    rate = {s: (start & ~end)[seg == s].sum() / start[seg == s].sum() for s in demo.SEGMENTS}
    assert 0.02 <= rate["SMB"] <= 0.045, rate
    assert 0.006 <= rate["Mid-Market"] <= 0.022, rate
    assert 0.0 <= rate["Enterprise"] <= 0.013, rate
    assert rate["SMB"] > rate["Mid-Market"] > rate["Enterprise"], rate


def test_portfolio_has_history_and_growth(frames, grid):
    acc = frames["accounts"]
    window_start = grid.columns[0]
    assert (acc["customer_since"] < window_start).mean() > 0.25  # customers before the window
    assert (acc["customer_since"] >= window_start).mean() > 0.4  # joiners over the window
    active = (grid > 0).sum()
    assert active.iloc[-1] > active.iloc[0]


def test_mrr_long_is_the_subscriptions_snapshot(frames, grid):
    subs = frames["subscriptions"]
    months = pd.DatetimeIndex(grid.columns)
    expected = _mrr_from_subscriptions(subs, months).reindex(index=grid.index, fill_value=0.0)
    np.testing.assert_allclose(grid.to_numpy(), expected.to_numpy(), atol=1e-6)
    # hand-picked: accounts with an add-on, a reactivation and a monthly -> annual switch
    picked = [subs.loc[subs["plan"].str.startswith("Add-on"), "account_id"].iloc[0],
              _reactivated(grid)[0], _switches(subs)[0][0]]
    for account in picked:
        rows = subs[subs["account_id"] == account]
        for month in months[::5]:
            d = month + pd.offsets.MonthBegin(1)
            want = rows.loc[(rows["start_date"] <= d) & (rows["end_date"].isna() | (d < rows["end_date"])), "mrr"].sum()
            assert grid.loc[account, month] == pytest.approx(want), (account, month)


def test_subscription_rows_are_consistent(frames):
    subs = frames["subscriptions"]
    ended = subs["end_date"].notna()
    assert (subs.loc[ended, "end_date"] > subs.loc[ended, "start_date"]).all()
    assert (~ended).sum() > 0  # some still running
    np.testing.assert_allclose(subs["mrr"], subs["amount"] / subs["interval"])
    assert set(subs["interval"]) == {1.0, 12.0}
    assert (subs["mrr"] > 0).all()
    # annual rows are ~15 % cheaper per seat and month than monthly rows of the same plan
    base = subs[~subs["plan"].str.startswith("Add-on") & (subs["plan"] == "Growth")]
    per_seat = (base["mrr"] / base["quantity"]).groupby(base["interval"]).median()
    assert per_seat[12.0] / per_seat[1.0] == pytest.approx(0.85, abs=0.01)


def _reactivated(grid) -> list[str]:
    g = grid.to_numpy() > 0
    paid_before = np.cumsum(g, axis=1)[:, :-1] > 0
    back = (~g[:, :-1]) & g[:, 1:] & paid_before
    return list(grid.index[back.any(axis=1)])


def _same_day_changes(subs: pd.DataFrame) -> pd.DataFrame:
    """Base-plan rows that end on the day the account's next base-plan row starts."""
    base = subs[~subs["plan"].str.startswith("Add-on")]
    ended = base[base["end_date"].notna()]
    return ended.merge(base, left_on=["account_id", "end_date"], right_on=["account_id", "start_date"],
                       suffixes=("_old", "_new"))


def _switches(subs):
    ch = _same_day_changes(subs)
    sw = ch[(ch["interval_old"] == 1) & (ch["interval_new"] == 12)]
    return list(zip(sw["account_id"], sw["mrr_old"], sw["mrr_new"], sw["quantity_old"], sw["quantity_new"]))


def test_lifecycle_events_are_present(frames, grid):
    subs = frames["subscriptions"]
    assert len(_reactivated(grid)) >= 1
    ch = _same_day_changes(subs)
    upgrades = ch[(ch["interval_old"] == ch["interval_new"]) & (ch["mrr_new"] > ch["mrr_old"])]
    downgrades = ch[(ch["interval_old"] == ch["interval_new"]) & (ch["mrr_new"] < ch["mrr_old"])]
    assert len(upgrades) >= 1 and len(downgrades) >= 1
    switches = _switches(subs)
    assert len(switches) >= 1
    # a switch to annual at the same seats is an "extension": ~15 % less MRR
    same_seats = [s for s in switches if s[3] == s[4]]
    assert same_seats and all(new < old for _, old, new, _, _ in same_seats)
    addons = subs[subs["plan"].str.startswith("Add-on")]
    assert len(addons) >= 1
    # an add-on runs next to a base plan: the account has two rows at once
    a = addons.iloc[0]
    others = subs[(subs["account_id"] == a["account_id"]) & ~subs["plan"].str.startswith("Add-on")]
    overlap = (others["start_date"] <= a["start_date"]) & (others["end_date"].isna() | (others["end_date"] > a["start_date"]))
    assert overlap.any()


def test_accounts_fields_match_the_revenue_history(frames, grid):
    acc = frames["accounts"].set_index("account_id")
    subs = frames["subscriptions"]
    last = grid.iloc[:, -1].reindex(acc.index)
    churned = acc["status"] == "Churned"
    assert (last[churned] == 0).all() and (last[~churned] > 0).all()
    assert acc.loc[churned, "churn_date"].notna().all() and acc.loc[~churned, "churn_date"].isna().all()
    assert set(acc["status"]) == {"Active", "Churned", "Onboarding"}
    first = subs.groupby("account_id")["start_date"].min().reindex(acc.index)
    assert (acc["customer_since"] == first).all()
    onboard_days = (acc["onboarded_on"] - acc["customer_since"]).dt.days
    assert onboard_days.dropna().ge(0).all()
    assert onboard_days.between(10, 90).mean() > 0.7
    assert acc["onboarded_on"].isna().sum() > 0  # a few never onboard
    data_end = grid.columns[-1] + pd.offsets.MonthBegin(1)
    stale = (data_end - acc.loc[~churned, "csm_sentiment_date"]).dt.days > 90
    assert 0.05 < stale.mean() < 0.6
    assert acc["cac"].notna().mean() > 0.7
    assert (acc["referrals"] > 0).sum() >= 3
    # running annual contracts have a renewal date in the future
    running_annual = subs[subs["end_date"].isna() & (subs["interval"] == 12)]["account_id"].unique()
    assert (acc.loc[running_annual, "renewal_date"] >= data_end).all()


def test_renewals(frames, grid):
    r = frames["renewals"]
    data_end = grid.columns[-1] + pd.offsets.MonthBegin(1)
    closed = r[r["outcome"] != "open"]
    assert (closed["renewal_date"] < data_end).all()
    assert (r.loc[r["outcome"] == "open", "renewal_date"] >= data_end).all()
    assert (closed.loc[closed["outcome"] == "churned", "amount_after"] == 0).all()
    assert (closed.loc[closed["outcome"] == "renewed", "amount_after"] > 0).all()
    assert r.loc[r["outcome"] == "open", "amount_after"].isna().all()
    rate = (closed["outcome"] == "renewed").mean()
    assert 0.7 < rate < 0.97


def test_events_happen_while_the_account_is_a_customer(frames):
    acc = frames["accounts"].set_index("account_id")
    for name, col in (("usage", "date"), ("tickets", "created_at"), ("surveys", "date")):
        ev = frames[name]
        since = acc["customer_since"].reindex(ev["account_id"]).to_numpy()
        until = acc["churn_date"].reindex(ev["account_id"]).fillna(pd.Timestamp.max).to_numpy()
        when = ev[col].dt.normalize().to_numpy()
        assert (when >= since).all(), name
        if name != "surveys":  # CSAT answers may arrive after the ticket is solved
            assert (when <= until).all(), name


def test_tickets_timing(frames):
    t = frames["tickets"]
    assert (t["first_response_at"].dropna() >= t.loc[t["first_response_at"].notna(), "created_at"]).all()
    done = t["resolved_at"].notna()
    assert (t.loc[done, "resolved_at"] >= t.loc[done, "created_at"]).all()
    hours = (t.loc[done, "resolved_at"] - t.loc[done, "created_at"]).dt.total_seconds() / 3600
    assert 1 < hours.median() < 72
    assert 0.01 < (~done).mean() < 0.25  # some unresolved


# --------------------------------------------------------------------------------------------
# leading signals
# --------------------------------------------------------------------------------------------
def _monthly(frame, col, grid, value=None, how="size"):
    month = frame[col].dt.to_period("M").dt.to_timestamp()
    grouped = frame.assign(month=month).groupby(["account_id", "month"])
    out = grouped.size() if value is None else getattr(grouped[value], how)()
    return out.unstack().reindex(index=grid.index, columns=grid.columns)


def test_usage_falls_before_churn(frames, grid, churns):
    events = _monthly(frames["usage"], "date", grid, "count", "sum").fillna(0).to_numpy()
    pos = {a: i for i, a in enumerate(grid.index)}
    last2, before = [], []
    for account, t in churns:
        if t >= 8:
            i = pos[account]
            last2.append(events[i, t - 2:t].mean())
            before.append(events[i, t - 8:t - 2].mean())
    assert len(last2) >= 30
    assert np.mean(last2) < 0.85 * np.mean(before)


def test_tickets_and_detractors_rise_before_churn(frames, grid, churns):
    tickets = _monthly(frames["tickets"], "created_at", grid).fillna(0).to_numpy()
    pos = {a: i for i, a in enumerate(grid.index)}
    last3, before = [], []
    for account, t in churns:
        if t >= 9:
            last3.append(tickets[pos[account], t - 3:t].mean())
            before.append(tickets[pos[account], t - 9:t - 3].mean())
    assert np.mean(last3) > 1.3 * np.mean(before)
    surveys = frames["surveys"]
    nps = surveys[surveys["survey"] == "NPS"]
    detractor = _monthly(nps.assign(d=(nps["score"] <= 6).astype(float)), "date", grid, "d", "sum").fillna(0).to_numpy()
    answers = _monthly(nps, "date", grid).fillna(0).to_numpy()
    near = np.zeros(answers.shape, bool)
    for account, t in churns:
        near[pos[account], max(t - 3, 0):t] = True
    far = (grid.to_numpy() > 0) & ~near
    assert detractor[near].sum() / answers[near].sum() > 2 * detractor[far].sum() / answers[far].sum()


def test_a_simple_health_signal_beats_random(frames, grid):
    """Usage trend + seat utilisation as of month m rank the accounts that churn in m+1..m+3."""
    g = grid.to_numpy()
    events = _monthly(frames["usage"], "date", grid, "count", "sum").fillna(0).to_numpy()
    users = _monthly(frames["usage"], "date", grid, "user_id", "nunique").fillna(0).to_numpy()
    seats = frames["accounts"].set_index("account_id")["seats"].reindex(grid.index).to_numpy()
    scores, outcomes = [], []
    for t in range(6, g.shape[1] - 3):
        act = g[:, t] > 0
        trend = np.log1p(events[act, t - 1:t + 1].mean(1)) - np.log1p(events[act, t - 5:t - 1].mean(1))
        health = trend + users[act, t] / np.maximum(seats[act], 1)
        scores.append(-health)
        outcomes.append((g[act, t + 1:t + 4] == 0).any(axis=1))
    score, y = np.concatenate(scores), np.concatenate(outcomes)
    rank = pd.Series(score).rank().to_numpy()
    n1, n0 = y.sum(), (~y).sum()
    auc = (rank[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    assert 0.62 < auc < 0.95


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
def test_write_demo_inputs(tmp_path):
    f = demo.generate(120, months=14, seed=2)
    paths = demo.write_demo_inputs(f, tmp_path / "out")
    assert [p.name for p in paths] == ["cs-desk-demo.xlsx", "usage.csv"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cs-desk-demo.xlsx", "usage.csv"]
    book = openpyxl.load_workbook(paths[0], read_only=True)
    try:
        assert book.sheetnames == ["accounts", "subscriptions", "mrr", "tickets", "surveys", "renewals"]
        rows = {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
    finally:
        book.close()
    # one sheet per table with canonical headers; mrr is wide
    for name in ("accounts", "subscriptions", "tickets", "surveys", "renewals"):
        assert list(rows[name][0]) == list(f[name].columns), name
        assert len(rows[name]) == len(f[name]) + 1, name
    months = sorted(f["mrr"]["month"].unique())
    assert list(rows["mrr"][0]) == ["account_id"] + [pd.Timestamp(m).strftime("%Y-%m") for m in months]
    assert len(rows["mrr"]) == f["accounts"]["account_id"].nunique() + 1
    wide = pd.DataFrame(rows["mrr"][1:], columns=rows["mrr"][0]).set_index("account_id")
    long = f["mrr"].assign(label=f["mrr"]["month"].dt.strftime("%Y-%m")).pivot(
        index="account_id", columns="label", values="mrr")
    np.testing.assert_allclose(wide.loc[long.index, long.columns].to_numpy(float), long.to_numpy())
    # real dates, real numbers, text stays text
    header = rows["accounts"][0]
    first = rows["accounts"][1]
    assert isinstance(first[header.index("customer_since")], datetime)
    assert isinstance(first[header.index("seats")], (int, float))
    regions = {r[header.index("region")] for r in rows["accounts"][1:]}
    assert "NA" in regions
    t_header = rows["tickets"][0]
    assert isinstance(rows["tickets"][1][t_header.index("created_at")], datetime)
    assert all(isinstance(r[t_header.index("ticket_id")], str) for r in rows["tickets"][1:])
    usage = pd.read_csv(paths[1])
    assert list(usage.columns) == ["account_id", "date", "user_id", "feature", "count"]
    assert len(usage) == len(f["usage"])
