"""Sentiment KPIs (NPS, CSAT, CES) on hand-worked tables, vendor examples and properties."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_desk.dataset import Dataset
from cs_desk.kpis import REGISTRY, compute
from cs_desk.kpis.sentiment import csat, detect_scale, nps, survey_scores
from cs_desk.problems import Code, Severity


def surveys(rows, accounts=None, options=None):
    """rows: (account, date, type, score)"""
    frame = pd.DataFrame([(a, pd.Timestamp(d), t, float(s)) for a, d, t, s in rows],
                         columns=["account_id", "date", "survey", "score"])
    tables = {"surveys": frame}
    if accounts is not None:
        tables["accounts"] = accounts
    return Dataset(tables=tables, options=dict(options or {}))


def run(ds, **kw):
    return compute(ds, kpis=["nps", "nps_promoters", "nps_passives", "nps_detractors", "nps_responses",
                             "nps_promoter_rate", "nps_detractor_rate", "csat", "csat_responses", "ces",
                             "ces_responses"], **kw)


ACCOUNTS = pd.DataFrame({"account_id": ["a", "b", "c"], "segment": ["SMB", "Ent", "SMB"]})
# January: NPS 10 (a, promoter), 9 (b, promoter), 8 (c, passive), 6 (a, detractor), 0 (b, detractor)
#          -> 2 promoters, 1 passive, 2 detractors of 5: NPS = 100 * (2 - 2) / 5 = 0
#          CSAT 5, 4, 3 (a, b, c) -> 2 satisfied of 3 = 0.6667;  CES 7 and 4 -> mean 5.5
# February: NPS 9, 9, 7 (a, a, c) -> 2 promoters of 3, no detractor: NPS = 66.67
#          SMB (a, c): all of them; Ent (b): none -> empty NPS, not 0
HAND = [
    ("a", "2024-01-03", "nps", 10), ("b", "2024-01-10", "nps", 9), ("c", "2024-01-31", "nps", 8),
    ("a", "2024-01-15", "nps", 6), ("b", "2024-01-20", "nps", 0),
    ("a", "2024-01-02", "csat", 5), ("b", "2024-01-02", "csat", 4), ("c", "2024-01-02", "csat", 3),
    ("a", "2024-01-05", "ces", 7), ("c", "2024-01-06", "ces", 4),
    ("a", "2024-02-01", "nps", 9), ("a", "2024-02-29", "nps", 9), ("c", "2024-02-14", "nps", 7),
]


@pytest.fixture(scope="module")
def hand():
    return run(surveys(HAND, ACCOUNTS), by="segment")


def test_nps_hand_worked(hand):
    assert hand.value("nps_promoters", "2024-01") == 2
    assert hand.value("nps_passives", "2024-01") == 1
    assert hand.value("nps_detractors", "2024-01") == 2
    assert hand.value("nps_responses", "2024-01") == 5
    assert hand.value("nps", "2024-01") == pytest.approx(0.0)
    assert hand.value("nps", "2024-02") == pytest.approx(100 * 2 / 3)
    assert hand.value("nps_promoter_rate", "2024-02") == pytest.approx(2 / 3)
    # groups: Jan SMB = a 10, a 6, c 8 -> (1 - 1) / 3 = 0; Ent = b 9, b 0 -> (1 - 1) / 2 = 0
    assert hand.value("nps", "2024-01", "SMB") == pytest.approx(0.0)
    assert hand.value("nps_responses", "2024-01", "Ent") == 2
    assert math.isnan(hand.value("nps", "2024-02", "Ent"))  # no responses: undefined, not 0
    assert hand.value("nps_responses", "2024-02", "Ent") == 0


def test_csat_and_ces_hand_worked(hand):
    assert hand.value("csat", "2024-01") == pytest.approx(2 / 3)
    assert hand.value("csat_responses", "2024-01") == 3
    assert hand.value("ces", "2024-01") == pytest.approx(5.5)
    assert math.isnan(hand.value("csat", "2024-02"))


def test_registry_conventions():
    assert REGISTRY["nps"].direction == "higher" and REGISTRY["nps"].target == 50
    assert REGISTRY["csat"].unit == "fraction" and REGISTRY["csat"].target == 0.8
    assert REGISTRY["ces"].direction == "higher" and "7 = very easy" in REGISTRY["ces"].formula
    assert REGISTRY["nps"].needs == ("surveys",)


def test_nps_published_example():
    # "if you have 30% promoters, 50% passives and 20% detractors, your nps is +10"
    # https://jovial-how-to-compilation.netlify.app/how-to-work-out-net-promoter-score
    # (definition as in https://support.hexia.app/en/knowledge-base/net-promoter-score-nps:
    #  promoters 9-10, detractors 0-6, passives 7-8 excluded)
    scores = [10] * 15 + [9] * 15 + [8] * 25 + [7] * 25 + [6] * 10 + [2] * 10
    assert nps(scores) == pytest.approx(10.0)
    rows = [("a", "2024-03-01", "nps", s) for s in scores]
    assert run(surveys(rows)).value("nps", "2024-03") == pytest.approx(10.0)


def test_csat_published_example_delighted():
    # Delighted, "How is CSAT calculated?": 42 x 5, 32 x 4, 10 x 3, 9 x 2, 14 x 1
    # -> 74 satisfied of 107 responses = 69.16 % (https://help.delighted.com/article/240-how-is-csat-calculated)
    scores = [5] * 42 + [4] * 32 + [3] * 10 + [2] * 9 + [1] * 14
    assert csat(scores) == pytest.approx(74 / 107)
    assert round(100 * csat(scores), 2) == 69.16
    rows = [("a", "2024-03-05", "csat", s) for s in scores]
    assert run(surveys(rows)).value("csat", "2024-03") == pytest.approx(0.6916, abs=1e-4)


def test_csat_on_a_10_point_scale_is_a_reported_mismatch_not_a_guess():
    rows = [("a", "2024-01-05", "csat", s) for s in (10, 9, 8, 7, 3, 2, 10, 9)]
    rows += [("a", "2024-01-05", "nps", 9)]
    r = run(surveys(rows))
    assert math.isnan(r.value("csat", "2024-01"))  # not computed on a wrong scale
    assert r.value("nps", "2024-01") == 100  # other types unaffected
    mismatch = [p for p in r.problems if p.code is Code.SCALE_MISMATCH]
    assert len(mismatch) == 1 and "CSAT" in mismatch[0].message and mismatch[0].value == "1-10"
    assert mismatch[0].severity is Severity.WARNING


def test_declared_scale_is_rescaled():
    # 1-10 -> 1-5 linearly: 8 -> 4.11, 7 -> 3.67: satisfied = 8, 9, 10
    rows = [("a", "2024-01-05", "csat", s) for s in (10, 9, 8, 7, 3, 2, 10, 9)]
    r = run(surveys(rows, options={"survey_scales": {"csat": (1, 10)}}))
    assert r.value("csat", "2024-01") == pytest.approx(5 / 8)
    assert not [p for p in r.problems if p.code is Code.SCALE_MISMATCH]


def test_a_stray_value_is_set_aside_not_a_new_scale():
    rows = [("a", "2024-01-05", "ces", s) for s in [7, 6, 5] * 10] + [("a", "2024-01-05", "ces", 70)]
    r = run(surveys(rows))
    assert r.value("ces", "2024-01") == pytest.approx(6.0)
    assert [p for p in r.problems if p.code is Code.SCORE_OUT_OF_SCALE]


def test_ces_that_never_exceeds_5_is_flagged_as_possible_1_to_5_scale():
    rows = [("a", "2024-01-05", "ces", s) for s in [1, 2, 3, 4, 5] * 8]
    r = run(surveys(rows))
    info = [p for p in r.problems if p.code is Code.SCALE_MISMATCH]
    assert info and info[0].severity is Severity.INFO
    assert r.value("ces", "2024-01") == pytest.approx(3.0)  # still computed: 1-5 fits 1-7


def test_detect_scale():
    assert detect_scale(np.array([1, 2, 5])) == (1, 5)
    assert detect_scale(np.array([0, 7, 10])) == (0, 10)
    assert detect_scale(np.array([1, 7])) == (1, 7)
    assert detect_scale(np.array([55, 80])) == (0, 100)


def test_unknown_survey_types_are_reported():
    rows, problems = survey_scores(pd.DataFrame({"account_id": ["a", "a"], "date": pd.to_datetime(["2024-01-01"] * 2),
                                                 "survey": ["nps", "pulse"], "score": [9.0, 3.0]}))
    assert len(rows) == 1 and problems and "pulse" in problems[0].message


def test_no_input_mutation():
    ds = surveys(HAND, ACCOUNTS)
    before = {k: v.copy() for k, v in ds.tables.items()}
    run(ds, by="segment")
    for k, v in before.items():
        pd.testing.assert_frame_equal(ds.tables[k], v)


# -- properties ------------------------------------------------------------------------------------
row = st.tuples(st.sampled_from("abcd"), st.integers(0, 89), st.sampled_from(["nps", "csat", "ces"]),
                st.integers(0, 10))
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rows(raw):
    base = pd.Timestamp("2024-01-01")
    out = []
    for a, d, t, s in raw:
        lo, hi = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[t]
        out.append((a, base + pd.Timedelta(days=d), t, lo + s % (hi - lo + 1)))
    return out


@SETTINGS
@given(st.lists(row, min_size=1, max_size=60), st.randoms(use_true_random=False))
def test_properties_ranges_identity_and_shuffle(raw, rnd):
    rows = _rows(raw)
    accounts = pd.DataFrame({"account_id": list("abcd"), "segment": ["x", "y", "x", "y"]})
    t = run(surveys(rows, accounts), by="segment").table
    wide = t.pivot_table(index=["period", "group"], columns="kpi", values="value", dropna=False)
    n = wide["nps"].dropna()
    assert ((n >= -100) & (n <= 100)).all()
    ok = wide["nps_responses"] > 0
    identity = 100 * (wide.loc[ok, "nps_promoters"] - wide.loc[ok, "nps_detractors"]) / wide.loc[ok, "nps_responses"]
    np.testing.assert_allclose(wide.loc[ok, "nps"], identity)
    np.testing.assert_allclose(wide.loc[ok, "nps"], 100 * (wide.loc[ok, "nps_promoter_rate"]
                                                           - wide.loc[ok, "nps_detractor_rate"]))
    c = wide["csat"].dropna()
    assert ((c >= 0) & (c <= 1)).all()
    e = wide["ces"].dropna()
    assert ((e >= 1) & (e <= 7)).all()
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    t2 = run(surveys(shuffled, accounts), by="segment").table
    pd.testing.assert_frame_equal(t.reset_index(drop=True), t2.reset_index(drop=True))
