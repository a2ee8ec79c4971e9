"""Scoring on hand-worked accounts: groups, missing-data policies, bands, profiles, staleness, explanation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from health_helpers import component, model, snapshot

from cs_desk.health import Scorer, explain, health_mix, score
from cs_desk.problems import Code

LIN01 = '{ type = "linear", low = 0, high = 1 }'


def test_reweight_within_the_group_then_across_groups():
    m = model(
        "[groups.adoption]\nweight = 60\n"
        + component("a1", "m1", 20, LIN01, extra='group = "adoption"')
        + component("a2", "m2", 10, LIN01, extra='group = "adoption"')
        + component("solo", "m3", 40, LIN01))
    snap = snapshot(m1=[0.5, np.nan, np.nan], m2=[1.0, 0.2, np.nan], m3=[0.25, 0.25, 0.25])
    s = score(m, snap)
    # A1: adoption = (20*50 + 10*100) / 30 = 66.67; score = (60*66.67 + 40*25) / 100 = 50
    # A2: m1 missing -> a2 carries the group: adoption = 20; score = (60*20 + 40*25) / 100 = 22
    # A3: whole group missing -> only solo counts: 25
    np.testing.assert_allclose(s["score"], [50, 22, 25])
    assert list(s["band"].astype(str)) == ["yellow", "red", "red"]
    # effective weights: A1 a1 = 0.6 * 20/30 = 0.4; A2 a2 = 0.6; A3 solo = 1
    np.testing.assert_allclose(s["weight_a1"], [0.4, 0, 0])
    np.testing.assert_allclose(s["weight_a2"], [0.2, 0.6, 0])
    np.testing.assert_allclose(s["weight_solo"], [0.4, 0.4, 1.0])
    # shares of the score: A1 a1 = 0.4*50/50 = 0.4, a2 = 0.2*100/50 = 0.4, solo = 0.4*25/50 = 0.2
    np.testing.assert_allclose(s.loc[0, ["share_a1", "share_a2", "share_solo"]].astype(float), [0.4, 0.4, 0.2])
    assert s["missing_components"].tolist() == ["", "a1", "a1, a2"]


def test_neutral_and_zero_policies():
    m = model(component("n", "m1", 1, LIN01, missing="neutral") + component("z", "m2", 1, LIN01, missing="zero")
              + component("r", "m3", 2, LIN01))
    snap = snapshot(m1=[np.nan, 1.0], m2=[1.0, np.nan], m3=[1.0, np.nan])
    s = score(m, snap)
    # A1: n missing -> 50; (1*50 + 1*100 + 2*100) / 4 = 87.5
    # A2: z missing -> 0, r missing -> re-weighted away: (1*100 + 1*0) / 2 = 50
    np.testing.assert_allclose(s["score"], [87.5, 50])
    np.testing.assert_allclose(s["pts_n"], [50, 100])
    np.testing.assert_allclose(s["pts_z"], [100, 0])


def test_no_data_at_all_gives_no_score_and_band_unknown():
    m = model(component("a", "m1", 1, LIN01))
    s = score(m, snapshot(m1=[np.nan]))
    assert np.isnan(s.loc[0, "score"]) and s.loc[0, "band"] == "unknown"
    assert s.loc[0, "lift_to_next_band"] == "" and s.loc[0, "weakest"] == ""


def test_band_edges_are_inclusive_on_the_upper_band():
    m = model("[bands]\nred = 40\ngreen = 70\n" + component("a", "m1", 1, '{ type = "linear", low = 0, high = 100 }'))
    s = score(m, snapshot(m1=[39.999, 40, 69.999, 70, 100, 0]))
    # red < 40 <= yellow < 70 <= green
    assert s["band"].astype(str).tolist() == ["red", "yellow", "yellow", "green", "green", "red"]


def test_score_is_not_thrown_across_a_threshold_by_float_noise():
    # weights 1/3 each and points 70: 70/3 * 3 is 69.99999999999999 in floats -> still green
    m = model("".join(component(c, c2, 1, '{ type = "linear", low = 0, high = 100 }')
                      for c, c2 in (("a", "m1"), ("b", "m2"), ("c", "m3"))))
    s = score(m, snapshot(m1=[70.0], m2=[70.0], m3=[70.0]))
    assert s.loc[0, "band"] == "green"


def test_weakest_and_lift_to_next_band():
    m = model(component("seat", "seat_utilization", 3, '{ type = "linear", low = 0.2, high = 0.9 }')
              + component("tickets", "open_tickets", 1, '{ type = "bands", bands = [{ max = 1, points = 100 }, '
                                                        '{ min = 1, max = 3, points = 50 }, { min = 3, points = 0 }] }',
                          direction="lower"))
    snap = snapshot(seat_utilization=[0.35, 0.9], open_tickets=[7, 0])
    s = score(m, snap)
    # A1: seat (0.35-0.2)/0.7 = 21.43 pts, tickets 0 pts: 0.75*21.43 = 16.07 -> red.
    # weakest: seat loses 0.75*78.57 = 58.9 points, tickets 0.25*100 = 25 -> seat
    assert s.loc[0, "weakest"] == "seat"
    # to 40: seat needs (40 - 16.07)/0.75 = 31.9 more points -> 53.3 pts -> 0.2 + 0.533*0.7 = 0.5733;
    # tickets needs (40 - 16.07)/0.25 = 95.7 more points -> the 100-point band (< 1): seat wins (fewer points)
    assert s.loc[0, "lift_component"] == "seat"
    assert s.loc[0, "lift_to_next_band"] == "seat_utilization 0.35 -> 0.58"  # 0.5733 shown rounded up
    assert s.loc[0, "lift_value"] == pytest.approx(0.57333, abs=1e-4)
    # check: with the lifted value the account is yellow
    lifted = score(m, snapshot(seat_utilization=[0.5734], open_tickets=[7]))
    assert lifted.loc[0, "band"] == "yellow"
    # A2 is green: nothing to lift; weakest is empty (full marks)
    assert s.loc[1, "band"] == "green" and s.loc[1, "lift_to_next_band"] == "" and s.loc[1, "weakest"] == ""


def test_lift_uses_a_band_edge_when_that_is_the_smallest_move():
    m = model(component("seat", "seat_utilization", 1, '{ type = "linear", low = 0.2, high = 0.9 }')
              + component("tickets", "open_tickets", 3, '{ type = "bands", bands = [{ max = 1, points = 100 }, '
                                                        '{ min = 1, max = 3, points = 50 }, { min = 3, points = 0 }] }',
                          direction="lower"))
    s = score(m, snapshot(seat_utilization=[0.55], open_tickets=[7]))
    # score = 0.25*50 = 12.5; tickets needs (40-12.5)/0.75 = 36.7 pts -> band 50 (< 3);
    # seat would need 110 pts: impossible
    assert s.loc[0, "lift_to_next_band"] == "open_tickets 7 -> <3"


def test_no_single_component_can_lift():
    m = model(component("a", "m1", 1, LIN01) + component("b", "m2", 1, LIN01))
    s = score(m, snapshot(m1=[0.0], m2=[0.0]))
    # to 40 either component would need 80 points: possible (the first one, a -> 0.8)
    assert s.loc[0, "lift_to_next_band"] == "m1 0 -> 0.8"
    s = score(m, snapshot(m1=[0.5], m2=[0.0]))
    # score 25 -> red; each needs (40 - 25)/0.5 = 30 more points: a tie, the first written wins
    assert s.loc[0, "lift_to_next_band"] == "m1 0.5 -> 0.8"
    s = score(m.with_weights({"b": 3}), snapshot(m1=[0.5], m2=[0.0]))
    # score 0.25*50 = 12.5; a needs 27.5/0.25 = 110 (impossible), b needs 27.5/0.75 = 36.7 pts -> 0.367
    assert s.loc[0, "lift_to_next_band"] == "m2 0 -> 0.37"
    s = score(m.with_bands(60, 90), snapshot(m1=[0.0], m2=[0.1]))
    # score 5 -> red; to 60 one component would need 115 points
    assert s.loc[0, "lift_to_next_band"] == "no single component can do it"


PROFILES = (component("a", "m1", 1, LIN01) + component("b", "m2", 1, LIN01) + """
[[profiles]]
name = "onboarding"
priority = 10
when = { tenure_days = { lt = 90 } }
weights = { b = 3 }

[[profiles]]
name = "enterprise"
priority = 5
when = { segment = "Enterprise" }
weights = { a = 3 }
bands = { red = 50, green = 90 }

[[profiles]]
name = "enterprise_too"
priority = 5
when = { segment = ["enterprise", "Strategic"] }
weights = { a = 9 }
""")


def test_profile_precedence_priority_then_file_order_then_default():
    m = model(PROFILES)
    snap = snapshot(m1=[1.0] * 4, m2=[0.0] * 4, tenure_days=[30, 30, 400, 400],
                    segment=["Enterprise", "SMB", "Enterprise", "SMB"])
    s = score(m, snap)
    # A1 matches onboarding (10) and both enterprise profiles (5): onboarding wins -> (1*100 + 3*0)/4 = 25
    # A2 only onboarding -> 25; A3 both enterprise profiles (tie at 5): the first written wins -> 3*100/4 = 75
    # A4 none -> default (100 + 0)/2 = 50
    assert s["profile"].astype(str).tolist() == ["onboarding", "onboarding", "enterprise", "default"]
    np.testing.assert_allclose(s["score"], [25, 25, 75, 50])
    # the enterprise profile has its own bands: 75 < 90 -> yellow (green under the defaults)
    assert s.loc[2, "band"] == "yellow"


def test_profile_scale_override():
    m = model(component("seat", "seat_utilization", 1, '{ type = "linear", low = 0.2, high = 0.9 }') + """
[[profiles]]
name = "new"
when = [{ metric = "tenure_days", op = "<", value = 60 }]
scales = { seat = { type = "linear", low = 0.1, high = 0.5 } }
""")
    s = score(m, snapshot(seat_utilization=[0.3, 0.3], tenure_days=[10, 100]))
    # new account: (0.3-0.1)/0.4 = 50; established: (0.3-0.2)/0.7 = 14.29
    np.testing.assert_allclose(s["score"], [50, 100 / 7])


def test_stale_pulse_counts_as_missing():
    m = model(component("usage", "m1", 1, LIN01)
              + component("pulse", "csm_sentiment", 1, '{ type = "linear", low = 1, high = 5 }',
                          extra="stale_after_days = 90"))
    snap = snapshot(m1=[0.2, 0.2, 0.2], csm_sentiment=[5, 5, 5], csm_sentiment_age_days=[30, 91, np.nan])
    scorer = Scorer(m, snap)
    s = scorer.score()
    # fresh: (20 + 100)/2 = 60; 91 days old: missing -> re-weighted away -> 20; unknown age: kept -> 60
    np.testing.assert_allclose(s["score"], [60, 20, 60])
    assert s["stale_components"].tolist() == ["", "pulse", ""]
    assert [p.code for p in scorer.problems] == [Code.STALE_VALUE]


def test_stale_undated_missing_and_neutral_policy():
    m = model(component("usage", "m1", 1, LIN01)
              + component("pulse", "csm_sentiment", 1, '{ type = "linear", low = 1, high = 5 }', missing="neutral",
                          extra='stale_after_days = 60\nundated = "missing"\nage_metric = "pulse_age"'))
    snap = snapshot(m1=[0.2, 0.2], csm_sentiment=[5, 5], pulse_age=[100, np.nan])
    # both stale (one too old, one undated) -> neutral 50: (20 + 50) / 2 = 35
    np.testing.assert_allclose(score(m, snap)["score"], [35, 35])


def test_reason_codes_are_carried_with_their_text():
    m = model(component("pulse", "csm_sentiment", 1, '{ type = "linear", low = 1, high = 5 }',
                        extra='reason_metric = "pulse_reason"\nreasons = { champ = "Champion left" }'))
    s = score(m, snapshot(csm_sentiment=[2, 4], pulse_reason=["champ", None]))
    assert s["reason_pulse"].tolist()[0] == "Champion left" and pd.isna(s["reason_pulse"].tolist()[1])


def test_missing_metric_column_is_a_problem_not_a_crash():
    m = model(component("a", "m1", 1, LIN01) + component("b", "m2", 1, LIN01))
    scorer = Scorer(m, snapshot(m1=[0.5]))
    assert scorer.score()["score"].tolist() == [50]
    assert [p.code for p in scorer.problems] == [Code.MISSING_COLUMN]


def test_rescoring_with_new_weights_equals_a_fresh_score_and_reuses_points():
    m = model(component("a", "m1", 1, LIN01) + component("b", "m2", 1, LIN01))
    snap = snapshot(m1=[0.1, 0.9, 0.5], m2=[0.8, 0.2, np.nan])
    scorer = Scorer(m, snap)
    points_before = scorer.points
    heavier = m.with_weights({"a": 5})
    again = scorer.score(heavier)
    assert scorer.points is points_before  # same structure: points were not recomputed
    pd.testing.assert_frame_equal(again, score(heavier, snap))
    other_scale = model(component("a", "m1", 1, '{ type = "linear", low = 0, high = 2 }') + component("b", "m2", 1, LIN01))
    pd.testing.assert_frame_equal(scorer.score(other_scale), score(other_scale, snap))


def test_scoring_does_not_modify_the_snapshot():
    m = model(component("a", "m1", 1, '{ type = "percentile" }') + component("b", "m2", 1, LIN01))
    snap = snapshot(m1=[3.0, 1.0, np.nan], m2=[0.5, np.nan, 0.2])
    before = snap.copy(deep=True)
    score(m, snap)
    pd.testing.assert_frame_equal(snap, before)


def test_explain_one_account():
    m = model("[groups.g]\nweight = 1\n" + component("a", "m1", 1, LIN01, extra='group = "g"')
              + component("b", "m2", 1, LIN01, missing="neutral", extra='group = "g"'))
    e = explain(m, snapshot(m1=[0.3, 0.9], m2=[np.nan, 1.0]), "A1")
    assert e.score == pytest.approx(40.0) and e.band == "yellow"  # (30 + 50) / 2
    comp = e.components.set_index("component")
    assert comp.loc["b", "status"] == "missing (neutral)" and comp.loc["a", "status"] == "ok"
    assert comp["weight_pct"].sum() == pytest.approx(100)
    assert comp["contribution"].sum() == pytest.approx(e.score)
    assert e.as_dict()["components"][0]["component"] == "a"
    assert explain(m, snapshot(m1=[0.3], m2=[0.1]), "nobody") is None


def test_health_mix_and_its_change_over_history():
    scores = pd.DataFrame({
        "as_of": pd.to_datetime(["2024-02-01"] * 4 + ["2024-03-01"] * 4),
        "account_id": list("abcd") * 2,
        "band": ["red", "green", "green", "yellow", "red", "red", "green", "unknown"],
        "active": [True] * 8,
        "mrr": [10, 10, 10, 70, 10, 10, 10, 70],
    })
    mix = health_mix(scores).set_index(["as_of", "band"])
    feb, mar = pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01")
    assert mix.loc[(feb, "green"), "share"] == pytest.approx(0.5)
    # March: 2 red, 1 green of 3 scored accounts (unknown is counted, not part of the base)
    assert mix.loc[(mar, "red"), "share"] == pytest.approx(2 / 3)
    assert mix.loc[(mar, "red"), "change"] == pytest.approx(2 / 3 - 1 / 4)
    assert mix.loc[(mar, "unknown"), "accounts"] == 1
    weighted = health_mix(scores[scores["as_of"] == feb], weight="mrr").set_index("band")
    assert weighted.loc["yellow", "share"] == pytest.approx(0.7)
