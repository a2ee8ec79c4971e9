"""Playbooks -> actions: every example rule fires once for the account built to trigger it, never twice
while the action is open; rule files are validated with key and line; the condition language is safe."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cs_desk.alerts import ACTION_COLUMNS, action_records, actions, load_playbooks, loads_playbooks, missing_columns
from cs_desk.problems import Code

ROOT = Path(__file__).resolve().parents[1]
AS_OF = pd.Timestamp("2024-06-01")

HEALTHY = dict(
    account_name="Fine Co", csm="Ana", active=True, arr=12000.0, score=75.0, band="green", score_prev=76.0,
    weakest="", last_nps=9.0, last_nps_date=AS_OF - pd.Timedelta(days=5), days_since_last_activity=2.0,
    last_activity=AS_OF - pd.Timedelta(days=2), days_to_renewal=200.0, renewal_date=AS_OF + pd.Timedelta(days=200),
    seat_utilization=0.7, seats=10.0, active_users_30d=7.0, tenure_days=400.0, depth=0.8, onboarded=True,
)

#: account -> (the one rule it must trigger, changes from HEALTHY)
CASES = {
    "drop": ("health_dropped_to_red", dict(score=30.0, band="red", score_prev=55.0, weakest="seat_utilization")),
    "red": ("health_red", dict(score=30.0, band="red", score_prev=35.0, weakest="nps")),
    "detractor": ("nps_detractor", dict(last_nps=4.0, last_nps_date=AS_OF - pd.Timedelta(days=10))),
    "silent": ("no_activity_30d", dict(days_since_last_activity=45.0, last_activity=AS_OF - pd.Timedelta(days=45))),
    "renewal": ("renewal_at_risk", dict(days_to_renewal=30.0, renewal_date=AS_OF + pd.Timedelta(days=30),
                                        score=60.0, band="yellow")),
    "seats": ("low_seat_use", dict(seat_utilization=0.3, active_users_30d=3.0)),
    "shallow": ("key_features_not_adopted", dict(depth=0.2, tenure_days=45.0)),
    "stalled": ("onboarding_stalled", dict(onboarded=False, tenure_days=100.0)),
    "grow": ("expansion_candidate", dict(score=85.0, seat_utilization=0.95, active_users_30d=19.0, seats=20.0)),
}
#: accounts that must trigger nothing
QUIET = {
    "fine": {},
    "churned": dict(active=False, score=10.0, band="red", score_prev=50.0),  # not paying any more
    "old_detractor": dict(last_nps=3.0, last_nps_date=AS_OF - pd.Timedelta(days=90)),
    "renewal_green": dict(days_to_renewal=20.0),
    "new_shallow": dict(depth=0.2, tenure_days=10.0),
}


def current() -> pd.DataFrame:
    rows = []
    for aid, (_, changes) in CASES.items():
        rows.append({"account_id": aid, **HEALTHY, **changes})
    for aid, changes in QUIET.items():
        rows.append({"account_id": aid, **HEALTHY, **changes})
    return pd.DataFrame(rows).assign(as_of=AS_OF)


@pytest.fixture(scope="module")
def playbooks():
    pb, problems = load_playbooks(ROOT / "workbook_templates" / "playbooks.toml")
    assert problems == [] and pb is not None
    return pb


def test_every_rule_fires_once_for_its_account(playbooks):
    out = actions(current(), playbooks)
    assert list(out.columns) == ACTION_COLUMNS
    fired = dict(zip(out["account_id"], out["rule"]))
    assert fired == {aid: rule for aid, (rule, _) in CASES.items()}
    assert len(out) == len(CASES)  # one action per account: nothing else fired
    assert {r.id for r in playbooks.rules} == set(out["rule"])  # and every rule is exercised


def test_actions_carry_owner_priority_due_and_a_reason_with_numbers(playbooks):
    out = actions(current(), playbooks).set_index("rule")
    drop = out.loc["health_dropped_to_red"]
    assert drop["owner"] == "Ana" and drop["priority"] == "high" and drop["account_name"] == "Fine Co"
    assert drop["reason"] == "health fell from 55 to 30 since last month (red < 40); weakest: seat_utilization"
    assert drop["due"] == AS_OF + pd.Timedelta(days=3)
    assert out.loc["low_seat_use", "reason"] == "3 of 10 seats used in the last 30 days (30%)"
    assert out.loc["renewal_at_risk", "reason"] == "renews in 30 days (2024-07-01) with health 60 (yellow)"
    assert out.loc["nps_detractor", "reason"] == "NPS answer 4 (detractor) on 2024-05-22"
    assert out.loc["expansion_candidate", "priority"] == "low"
    # high first, then by due date
    assert out["priority"].tolist() == sorted(out["priority"], key=["high", "medium", "low"].index)
    records = action_records(out.reset_index())
    assert records[0]["due"].count("-") == 2  # ISO dates for json


def test_actions_do_not_repeat_while_open(playbooks):
    first = actions(current(), playbooks)
    again = actions(current(), playbooks, open_actions=first[["account_id", "rule"]])
    assert again.empty and list(again.columns) == ACTION_COLUMNS
    closed = first[["account_id", "rule"]].assign(status="open")
    closed.loc[closed["rule"] == "low_seat_use", "status"] = "Done"
    reopened = actions(current(), playbooks, open_actions=closed)
    assert reopened["rule"].tolist() == ["low_seat_use"]


def test_one_action_per_account_and_rule_even_with_duplicate_rows(playbooks):
    frame = pd.concat([current(), current()], ignore_index=True)
    out = actions(frame, playbooks)
    assert not out.duplicated(["account_id", "rule"]).any()


def test_generated_reason_lists_the_conditions_with_the_numbers():
    pb, problems = loads_playbooks("""
[[rules]]
id = "low"
action = "Call."
when = [{ metric = "score", op = "<", value = 40 }, { metric = "seat_utilization", op = "<", value = 0.5 }]
""")
    assert problems == []
    frame = pd.DataFrame({"account_id": ["a"], "score": [35.0], "seat_utilization": [0.25], "active": [True]})
    out = actions(frame, pb, as_of="2024-01-01")
    assert out.loc[0, "reason"] == "score 35 (< 40); seat_utilization 25 % (< 50 %)"
    assert out.loc[0, "owner"] == "unassigned" and out.loc[0, "due"] == pd.Timestamp("2024-01-08")


BAD = """name = "bad"

[[rules]]
id = "one"
priority = "urgent"
when = [{ metric = "score", op = "<<", value = 40 }]
action = "x"

[[rules]]
id = "two"
when = [{ metric = "__class__", op = "==", value = 1 }]
reason = "hello {score.__class__} {nope}"

[[rules]]
id = "one"
action = "y"
when = { days_to_renewal = { lte = 60 }, band = ["red", "yellow"] }
colour = "red"
"""


def test_playbook_problems_name_the_key_and_the_line():
    pb, problems = loads_playbooks(BAD, "bad.toml")
    assert pb is None
    found = {(p.column, p.code, p.row) for p in problems}
    assert {
        ("rules[1].priority", Code.PLAYBOOK_INVALID, 5),
        ("rules[1].when[1].op", Code.PLAYBOOK_INVALID, 6),
        ("rules[2].when[1].metric", Code.UNKNOWN_METRIC, 11),
        ("rules[2]", Code.MISSING_KEY, 9),  # no action
        ("rules[2].reason", Code.UNKNOWN_METRIC, 12),
        ("rules[2].reason", Code.PLAYBOOK_INVALID, 12),  # {score.__class__} is not a column
        ("rules[3].id", Code.DUPLICATE_ID, 15),
        ("rules[3].colour", Code.UNKNOWN_KEY, 18),
    } <= found, sorted(found, key=str)


def test_table_form_conditions_and_missing_columns():
    pb, problems = loads_playbooks("""
[[rules]]
id = "r"
action = "Call."
when = { days_to_renewal = { le = 60 }, band = ["red", "yellow"], csm = "Ana" }
""")
    assert problems == []
    frame = pd.DataFrame({"account_id": ["a", "b", "c"], "days_to_renewal": [10.0, 10.0, 90.0],
                          "band": ["Red", "green", "red"], "csm": ["ana ", "Ana", "Ana"]})
    assert actions(frame, pb)["account_id"].tolist() == ["a"]  # text compares case- and space-insensitively
    assert [p.code for p in missing_columns(pb, frame.drop(columns="csm"))] == [Code.MISSING_COLUMN]


def test_default_playbooks_are_the_shipped_file():
    from cs_desk.alerts import default_playbooks

    pb, problems = default_playbooks()
    assert problems == [] and pb.name == "Default playbooks"
