"""Per-account snapshot: hand-worked values, the as-of rule, stacking, metric descriptions."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

_to_datetime = pd.to_datetime


def _dates(values):
    return _to_datetime(values, format="mixed")

from cs_desk.accounts_snapshot import COLUMNS, METRICS, account_snapshot, account_snapshots
from cs_desk.dataset import Dataset

T = pd.Timestamp
AS_OF = T("2024-02-15")


def tables():
    accounts = pd.DataFrame({
        "account_id": ["a", "b", "c", "late"], "account_name": ["Acme", "Beta", "Cobalt", "Later Inc"],
        "csm": ["Ann", "Bob", "Ann", "Bob"], "segment": ["SMB", "Ent", "SMB", "SMB"],
        "customer_since": _dates(["2023-10-01", "2024-01-01", "2023-01-01", "2024-06-01"]),
        "renewal_date": _dates(["2025-10-01", None, None, None]),
        "seats": [5.0, 2.0, np.nan, 3.0],
        "onboarded_on": _dates(["2024-01-15", None, "2023-02-01", None]),
        "referrals": [1.0, 0.0, 2.0, 0.0],
        "csm_sentiment": [4.0, 2.0, 3.0, 5.0],
        "csm_sentiment_date": _dates(["2024-02-01", "2024-03-01", None, None]),
        "status": ["active", "active", "churned", "active"],
        "churn_date": _dates([None, None, "2024-04-01", None]),
    })
    subs = pd.DataFrame({"account_id": ["a", "a", "b", "c"],
                         "start_date": _dates(["2023-10-01", "2024-01-01", "2024-01-01", "2023-01-01"]),
                         "end_date": _dates([None, None, None, "2024-04-01"]),
                         "mrr": [100.0, 20.0, 50.0, 20.0], "interval": 1.0})
    usage = pd.DataFrame({
        "account_id": ["a", "a", "a", "a", "b", "b", "c"],
        "user_id": ["u1", "u2", "u1", "u1", "u1", "u1", "x"],
        "date": _dates(["2024-01-05 10:00", "2024-01-06 10:00", "2024-02-10 09:00", "2024-02-10 15:00",
                                "2024-01-20 00:00", "2024-01-21 00:00", "2023-11-01 00:00"]),
        "feature": ["rep", "dash", "rep", "dash", "rep", "exp", "rep"]})
    tickets = pd.DataFrame({"account_id": ["a", "b", "b", "c"],
                            "created_at": _dates(["2024-01-02 10:00", "2024-01-03", "2023-10-01",
                                                          "2023-11-20 00:00"]),
                            "resolved_at": _dates(["2024-01-02 14:00", None, "2023-10-02", "2024-03-01"]),
                            "priority": ["Urgent", "low", "high", "low"]})
    surveys = pd.DataFrame({"account_id": ["a", "a", "a", "b", "c", "a"],
                            "date": _dates(["2023-08-19", "2024-02-01", "2024-02-01", "2024-01-09",
                                                    "2024-02-01", "2024-02-02"]),
                            "survey": ["nps", "nps", "nps", "nps", "csat", "ces"],
                            "score": [2.0, 10.0, 9.0, 3.0, 4.0, 6.0]})
    renewals = pd.DataFrame({"account_id": ["b"], "renewal_date": _dates(["2023-03-10"]),
                             "outcome": ["renewed"]})
    return {"accounts": accounts, "subscriptions": subs, "usage": usage, "tickets": tickets, "surveys": surveys,
            "renewals": renewals}


def dataset(t=None, **options):
    return Dataset(tables=t or tables(), options={"today": T("2024-06-30"), **options})


@pytest.fixture(scope="module")
def snap():
    return account_snapshot(dataset(), AS_OF).set_index("account_id")


def test_columns_contract_and_rows(snap):
    assert list(snap.reset_index().columns) == list(COLUMNS)
    assert list(snap.index) == ["a", "b", "c"]  # "late" becomes a customer in June: not known yet
    assert (snap["as_of"] == AS_OF).all()
    assert snap.loc["a", "account_name"] == "Acme" and snap.loc["a", "csm"] == "Ann"


def test_revenue_columns(snap):
    # a: 100 + 20 (add-on since Jan 1) = 120 now; 3 months before (2023-11-15): 100
    assert snap.loc["a", "mrr"] == 120 and snap.loc["a", "mrr_3m_ago"] == 100
    assert snap.loc["a", "mrr_trend_3m"] == pytest.approx(0.2)
    assert snap.loc["a", "arr"] == 1440 and bool(snap.loc["a", "active"])
    assert math.isnan(snap.loc["b", "mrr_trend_3m"])  # no MRR 3 months before
    # c's status "churned" comes from a churn on 2024-04-01, after as-of: not shown to a backtest
    assert pd.isna(snap.loc["c", "status"]) and not bool(snap.loc["c", "churned"])
    assert snap.loc["a", "status"] == "active"


def test_tenure_and_renewal(snap):
    assert snap.loc["a", "tenure_days"] == (AS_OF - T("2023-10-01")).days
    # a: renewal_date 2025-10-01 rolled back by 12-month terms -> 2024-10-01
    assert snap.loc["a", "renewal_date"] == T("2024-10-01")
    assert snap.loc["a", "days_to_renewal"] == (T("2024-10-01") - AS_OF).days
    # b: last renewal 2023-03-10 -> next anniversary on or after as-of: 2024-03-10
    assert snap.loc["b", "renewal_date"] == T("2024-03-10")
    assert math.isnan(snap.loc["c", "days_to_renewal"])


def test_usage_columns(snap):
    # 30 days = [Jan 16, Feb 15): a: Feb 10 (u1, rep + dash: 2 events); b: Jan 20, 21 (u1; rep, exp)
    assert snap.loc["a", "events_30d"] == 2 and snap.loc["b", "events_30d"] == 2
    assert snap.loc["a", "active_users_30d"] == 1 and snap.loc["a", "seat_utilization"] == pytest.approx(1 / 5)
    assert snap.loc["b", "days_active_30d"] == 2 and snap.loc["a", "days_active_30d"] == 1
    # features seen before as-of: rep, dash, exp -> a used 2 of 3, b 2 of 3, c none
    assert snap.loc["a", "depth"] == pytest.approx(2 / 3) and snap.loc["c", "depth"] == 0
    assert snap.loc["a", "features_used_30d"] == 2
    # previous 30 days [Dec 17, Jan 16): a Jan 5, Jan 6 -> 2 events; trend 2 / 2 - 1 = 0
    assert snap.loc["a", "events_prev_30d"] == 2 and snap.loc["a", "usage_trend"] == 0
    assert snap.loc["a", "last_activity"] == T("2024-02-10")
    assert snap.loc["a", "days_since_last_activity"] == 5
    assert snap.loc["c", "days_since_last_activity"] == (AS_OF - T("2023-11-01")).days
    assert snap.loc["c", "activity_bucket"] == "inactive" and snap.loc["a", "activity_bucket"] == "monthly"


def test_support_columns(snap):
    # 90 days = [2023-11-17, 2024-02-15): a 1 (urgent), b 1, c 1 (Nov 20)
    assert snap.loc["a", "tickets_90d"] == 1 and snap.loc["a", "urgent_tickets_90d"] == 1
    assert snap.loc["b", "tickets_90d"] == 1 and snap.loc["b", "urgent_tickets_90d"] == 0
    # open at as-of: b's Jan 3 (never resolved), c's Nov 20 (resolved Mar 1, after as-of)
    assert snap.loc["b", "open_tickets"] == 1 and snap.loc["c", "open_tickets"] == 1
    assert snap.loc["a", "open_tickets"] == 0


def test_survey_columns(snap):
    # a: NPS 10 and 9 on Feb 1 (latest day: mean 9.5), 2 on 2023-08-19
    assert snap.loc["a", "last_nps"] == 9.5 and snap.loc["a", "last_nps_date"] == T("2024-02-01")
    # recency weights (half-life 180 days): Feb 1 answers 14 days old, Aug 19 answer 180 days old
    w_new, w_old = 0.5 ** (14 / 180), 0.5 ** (180 / 180)
    expected = (w_new * 10 + w_new * 9 + w_old * 2) / (2 * w_new + w_old)
    assert snap.loc["a", "nps_weighted"] == pytest.approx(expected)
    assert snap.loc["a", "nps_responses"] == 3
    assert snap.loc["c", "last_csat"] == 4 and snap.loc["a", "last_ces"] == 6
    assert math.isnan(snap.loc["b", "last_csat"])


def test_sentiment_and_onboarding(snap):
    assert snap.loc["a", "csm_sentiment"] == 4 and snap.loc["a", "csm_sentiment_age_days"] == 14
    assert math.isnan(snap.loc["b", "csm_sentiment"])  # recorded on Mar 1, after as-of
    assert snap.loc["c", "csm_sentiment"] == 3 and math.isnan(snap.loc["c", "csm_sentiment_age_days"])
    assert bool(snap.loc["a", "onboarded"]) and snap.loc["a", "days_to_onboard"] == 106
    assert snap.loc["a", "onboarding_status"] == "onboarded"
    assert snap.loc["b", "onboarding_status"] == "onboarding" and not bool(snap.loc["b", "onboarded"])
    assert snap.loc["a", "referrals"] == 1


def test_overdue_onboarding():
    s = account_snapshot(dataset(), "2024-05-01").set_index("account_id")
    # b: customer since Jan 1, not onboarded, 121 days -> overdue
    assert s.loc["b", "onboarding_status"] == "overdue"


def _future_rows(t: dict) -> dict:
    """Rows dated after AS_OF in every table (and an account that starts later)."""
    t = {k: v.copy() for k, v in t.items()}
    later = T("2024-02-20")
    t["accounts"] = pd.concat([t["accounts"], pd.DataFrame({"account_id": ["new"], "customer_since": [later],
                                                            "referrals": [9.0]})], ignore_index=True)
    t["subscriptions"] = pd.concat([t["subscriptions"], pd.DataFrame({
        "account_id": ["a", "new"], "start_date": [later, later], "end_date": pd.NaT, "mrr": [999.0, 5.0],
        "interval": 1.0})], ignore_index=True)
    t["usage"] = pd.concat([t["usage"], pd.DataFrame({
        "account_id": ["a", "b", "c", "new"], "user_id": ["u9", "u8", "x", "n"],
        "date": _dates(["2024-02-15 00:00", "2024-03-01 00:00", "2024-02-16 00:00", "2024-02-21 00:00"]),
        "feature": ["brand_new", "rep", "rep", "rep"]})], ignore_index=True)
    t["tickets"] = pd.concat([t["tickets"], pd.DataFrame({
        "account_id": ["a", "c"], "created_at": _dates(["2024-02-15 08:00", "2024-03-01 00:00"]),
        "resolved_at": pd.NaT, "priority": ["urgent", "urgent"]})], ignore_index=True)
    t["surveys"] = pd.concat([t["surveys"], pd.DataFrame({
        "account_id": ["a", "b", "c"], "date": _dates(["2024-02-15", "2024-03-01", "2024-02-20"]),
        "survey": ["nps", "csat", "csat"], "score": [0.0, 1.0, 9.0]})], ignore_index=True)
    t["renewals"] = pd.concat([t["renewals"], pd.DataFrame({
        "account_id": ["b"], "renewal_date": [T("2024-02-20")], "outcome": ["churned"]})], ignore_index=True)
    return t


def test_as_of_rule_rows_after_as_of_change_nothing():
    base = account_snapshot(dataset(), AS_OF)
    more = account_snapshot(dataset(_future_rows(tables())), AS_OF)
    pd.testing.assert_frame_equal(base, more)


def test_as_of_rule_holds_for_the_stacked_version_too():
    dates = [T("2023-12-01"), T("2024-01-01"), AS_OF]
    base = account_snapshots(dataset(), dates)
    more = account_snapshots(dataset(_future_rows(tables())), dates)
    pd.testing.assert_frame_equal(base, more)


def test_stacked_equals_one_by_one():
    dates = [T("2023-11-01"), T("2024-01-01"), T("2024-03-01"), T("2024-05-01")]
    stacked = account_snapshots(dataset(), dates)
    single = pd.concat([account_snapshot(dataset(), d) for d in dates], ignore_index=True)
    pd.testing.assert_frame_equal(stacked, single)
    assert stacked["as_of"].is_monotonic_increasing


def test_mrr_table_snapshot_uses_the_latest_known_month_end():
    mrr = pd.DataFrame({"account_id": ["a", "a", "a", "b"], "month": _dates(
        ["2024-01-01", "2024-02-01", "2024-03-01", "2024-02-01"]), "mrr": [100.0, 110.0, 130.0, 40.0]})
    ds = Dataset(tables={"mrr": mrr})
    s = account_snapshot(ds, "2024-03-20").set_index("account_id")
    # as of Mar 20 the known snapshot is the end of February (Mar 1); March's value is not known yet
    assert s.loc["a", "mrr"] == 110 and s.loc["b", "mrr"] == 40
    s2 = account_snapshot(ds, "2024-02-01").set_index("account_id")
    assert list(s2.index) == ["a"] and s2.loc["a", "mrr"] == 100  # b's first row is known on Mar 1


def test_without_usage_or_revenue_columns_are_empty_not_zero():
    acc = tables()["accounts"]
    s = account_snapshot(Dataset(tables={"accounts": acc}), AS_OF).set_index("account_id")
    assert s["events_30d"].isna().all() and s["mrr"].isna().all()
    assert bool(s.loc["a", "active"]) and pd.isna(s.loc["a", "activity_bucket"])


def test_metrics_describe_every_numeric_and_bool_column(snap):
    frame = snap.reset_index()
    numeric = [c for c in frame.columns if c not in ("as_of",)
               and (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))]
    assert set(numeric) <= set(METRICS)
    for m in METRICS.values():
        assert m.direction in ("higher", "lower", None) and m.label and m.description
    from cs_desk.health.model import SNAPSHOT_COLUMNS

    assert set(SNAPSHOT_COLUMNS) <= set(COLUMNS)


def test_inputs_are_not_mutated():
    t = tables()
    copies = {k: v.copy() for k, v in t.items()}
    account_snapshots(dataset(t), [AS_OF, T("2024-03-01")])
    for k in t:
        pd.testing.assert_frame_equal(t[k], copies[k])


def test_backtest_scale_is_fast():
    import time

    rng = np.random.default_rng(1)
    n = 3000
    ids = [f"A{i:05d}" for i in range(n)]
    accounts = pd.DataFrame({"account_id": ids, "seats": rng.integers(1, 50, n).astype(float),
                             "customer_since": T("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "D")})
    subs = pd.DataFrame({"account_id": ids, "start_date": accounts["customer_since"], "end_date": pd.NaT,
                         "mrr": rng.integers(50, 500, n).astype(float), "interval": 1.0})
    m = 200_000
    usage = pd.DataFrame({"account_id": np.array(ids, dtype=object)[rng.integers(0, n, m)],
                          "user_id": rng.integers(0, 20, m).astype(str).astype(object),
                          "date": T("2022-06-01") + pd.to_timedelta(rng.integers(0, 900 * 24, m), "h"),
                          "feature": np.array(list("abcdefgh"), dtype=object)[rng.integers(0, 8, m)]})
    ds = Dataset(tables={"accounts": accounts, "subscriptions": subs, "usage": usage},
                 options={"today": T("2025-01-01")})
    dates = pd.date_range("2022-12-01", periods=24, freq="MS")
    t0 = time.perf_counter()
    out = account_snapshots(ds, dates)
    assert time.perf_counter() - t0 < 5.0
    assert out["as_of"].nunique() == 24


def test_usage_file_gives_the_same_snapshot(tmp_path):
    from cs_desk import usage_engine

    if not usage_engine.duckdb_available():
        pytest.skip("duckdb not installed")
    t = tables()
    path = tmp_path / "usage.csv"
    t["usage"].to_csv(path, index=False)
    in_memory = account_snapshots(dataset(), [AS_OF, T("2024-03-01")])
    t.pop("usage")
    from_file = account_snapshots(dataset(t, usage_path=str(path)), [AS_OF, T("2024-03-01")])
    pd.testing.assert_frame_equal(in_memory, from_file)



@pytest.mark.parametrize("case", ["no date column", "no such file"])
def test_a_bad_usage_file_is_a_problem_not_a_traceback(tmp_path, case):
    """The snapshot reads a usage file on its own scan: a missing column or file is reported
    (what, which file) and the usage metrics stay empty; nothing raises."""
    from cs_desk import usage_engine

    if not usage_engine.duckdb_available():
        pytest.skip("duckdb not installed")
    t = tables()
    t.pop("usage")
    path = tmp_path / "usage.csv"
    if case == "no date column":
        path.write_text("account_id,when,feature\nA1,2024-01-05,reports\n")
    out = account_snapshot(dataset(t, usage_path=str(path)), AS_OF)
    problems = out.attrs["problems"]
    want = "the usage file has no column 'date'" if case == "no date column" else "was not found"
    assert any(want in p.message and p.file == str(path) for p in problems), problems
    assert out["days_since_last_activity"].isna().all()

FAMILY_PICKS = [
    ["active"],
    ["mrr", "segment", "tenure_days"],
    ["depth", "usage_trend", "seat_utilization"],
    ["open_tickets", "last_nps", "csm_sentiment_age_days"],
    ["onboarding_status", "days_to_renewal", "status"],
    list(COLUMNS),
]


@pytest.mark.parametrize("columns", FAMILY_PICKS)
@pytest.mark.parametrize("options", [{}, {"onboarding_milestone": {"events": 2}}])
def test_columns_restriction_gives_the_full_snapshots_columns(columns, options):
    ds = dataset(**options)
    dates = [T("2023-12-01"), AS_OF, T("2024-05-01")]
    full = account_snapshots(ds, dates)
    part = account_snapshots(ds, dates, columns=columns)
    expected = [c for c in COLUMNS if c in set(columns) | {"account_id", "as_of"}]
    assert list(part.columns) == expected
    pd.testing.assert_frame_equal(part, full[expected], check_exact=True)
    one = account_snapshot(ds, AS_OF, columns=columns)
    pd.testing.assert_frame_equal(one, account_snapshot(ds, AS_OF)[expected], check_exact=True)


def test_columns_restriction_rejects_unknown_names():
    with pytest.raises(ValueError, match="nps_score"):
        account_snapshots(dataset(), [AS_OF], columns=["mrr", "nps_score"])


def test_usage_from_a_python_string_column_with_missing_ids():
    """Usage ids with missing values (str dtype and object dtype) give the same snapshot."""
    t = tables()
    usage = t["usage"].copy()
    usage.loc[1, "user_id"] = None
    usage.loc[2, "account_id"] = None
    usage.loc[3, "feature"] = None
    as_object = usage.astype({c: object for c in ("account_id", "user_id", "feature")})
    as_str = usage.astype({c: "string" for c in ("account_id", "user_id", "feature")})
    snaps = [account_snapshot(dataset({**t, "usage": u}), AS_OF) for u in (as_object, as_str)]
    pd.testing.assert_frame_equal(snaps[0], snaps[1], check_exact=True)
    a = snaps[0].set_index("account_id")
    assert a.loc["a", "events_30d"] == 1  # the row without an account is not counted


def _many_surveys(kind: str, scores, start="2023-06-01"):
    n = len(scores)
    return pd.DataFrame({"account_id": (["a", "b", "c"] * n)[:n],
                         "date": pd.date_range(start, periods=n, freq="3D"),
                         "survey": [kind] * n, "score": [float(x) for x in scores]})


@pytest.mark.parametrize("case", ["stray", "scale_mismatch_later", "declared"])
def test_stacked_survey_columns_equal_one_by_one_when_scale_checks_depend_on_the_rows_seen(case):
    """survey_scores' scale checks look at all answers before the as-of date; stacked snapshots
    must give each date exactly what a snapshot of that date alone gives."""
    t = tables()
    options = {}
    if case == "stray":  # one out-of-scale NPS answer among many: set aside alone
        extra = _many_surveys("nps", [8] * 30 + [42] + [9] * 5)
    elif case == "scale_mismatch_later":  # CSAT answers on 1-10 arrive later: the whole type goes
        extra = _many_surveys("csat", [4] * 20 + [9, 10, 8, 7] * 5)
    else:
        extra = _many_surveys("csat", [4] * 20 + [9, 10, 8, 7] * 5)
        options = {"survey_scales": {"csat": (1, 10)}}
    t["surveys"] = pd.concat([t["surveys"], extra], ignore_index=True)
    ds = dataset(t, **options)
    dates = [T("2023-07-15"), T("2023-09-01"), T("2023-11-01"), T("2024-01-01"), AS_OF]
    stacked = account_snapshots(ds, dates)
    single = pd.concat([account_snapshot(ds, d) for d in dates], ignore_index=True)
    pd.testing.assert_frame_equal(stacked, single, check_exact=True)
    if case == "scale_mismatch_later":  # early dates still had CSAT, the last one not
        by_date = stacked.groupby("as_of")["last_csat"].count()
        assert by_date.iloc[0] > 0 and by_date.iloc[-1] == 0
