"""The pure refresh plan (cs_desk.sheets): what the button and `cs-desk excel refresh` write."""
from __future__ import annotations

import datetime as dt

import pytest

from cs_desk import sheets as S
from cs_desk.sheets import (MARKER_PREFIX, OUTPUT_SHEETS, TEXT, is_output_sheet,
                            parse_settings, plan_refresh)

NOW = dt.datetime(2026, 11, 2, 9, 30)
MRR = [["account_id", "month", "mrr"], ["a", "2024-01", 100], ["b", "2024-01", 200], ["a", "2024-02", 120],
       ["b", "2024-02", 0], ["c", "2024-02", 50]]


def test_demo_plan_has_the_four_sheets_with_markers(demo_plan, demo_sheets):
    assert [s.name for s in demo_plan.sheets] == list(OUTPUT_SHEETS)
    assert [s.role for s in demo_plan.sheets] == ["kpis", "accounts", "actions", "problems"]
    for sp in demo_plan.sheets:
        assert sp.marker.startswith(f"{MARKER_PREFIX}: {sp.name}")
        assert "2026-11-02 09:30" in sp.marker
        assert not sp.replaces
        assert len(sp.number_formats) == sp.ncols and len(sp.widths) == sp.ncols
        assert all(len(r) == sp.ncols for r in sp.rows)
        assert is_output_sheet([[sp.marker]])
    assert set(demo_plan.recognised) == {"accounts", "subscriptions", "mrr", "tickets", "surveys", "renewals"}
    assert set(demo_plan.recognised.values()) == set(demo_plan.recognised)


def test_demo_kpi_sheet_layout(demo_plan):
    kpis = demo_plan.sheet("kpis")
    assert kpis.header[:3] == ["KPI", "id", "target"]
    periods = kpis.header[3:]
    assert periods == sorted(periods, reverse=True) and len(periods) >= 12  # newest first
    ids = kpis.column("id")
    for kpi_id in ("mrr", "arr", "nrr", "grr", "logo_churn_rate", "new_mrr", "churned_mrr"):
        assert kpi_id in ids
    assert kpis.freeze == (2, 3)
    assert kpis.number_formats[:2] == [TEXT, TEXT]
    # each KPI row carries its unit's format over target + periods
    fmt = {}
    for b in kpis.blocks:
        for i in range(b.row, b.row + b.nrows):
            fmt[kpis.rows[i][1]] = b.number_format
            assert b.col == 2 and b.ncols == len(periods) + 1
    assert fmt["nrr"] == "0.0%" and fmt["mrr"] == "#,##0" and fmt["active_accounts"] == "#,##0"
    mrr_row = kpis.rows[ids.index("mrr")]
    assert all(isinstance(v, float) for v in mrr_row[3:])


def test_demo_plan_values_equal_compute(demo_plan, demo_book):
    from cs_desk import io
    from cs_desk.kpis import compute

    ref = compute(io.load([demo_book])).table
    kpis = demo_plan.sheet("kpis")
    periods = kpis.header[3:]
    want = {(r.kpi, r.period): r.value for r in ref.itertuples() if r.group == "all"}
    n = 0
    for row in kpis.rows:
        for p, v in zip(periods, row[3:]):
            w = want[(row[1], p)]
            assert (v is None) == (w != w), (row[1], p)
            if v is not None:
                assert v == pytest.approx(w, rel=1e-12, abs=1e-9), (row[1], p)
            n += 1
    assert n == len(want)


def test_problems_sheet_lists_every_problem(demo_plan):
    probs = demo_plan.sheet("problems")
    if probs.header == ["note"]:
        assert not demo_plan.problems
    else:
        assert probs.header[:5] == ["severity", "sheet", "row", "column", "message"]
        assert len(probs.rows) == len(demo_plan.problems)
        sev = probs.column("severity")
        order = {"error": 0, "warning": 1, "info": 2}
        assert [order[s] for s in sev] == sorted(order[s] for s in sev)


def test_users_own_sheet_is_never_overwritten():
    book = {"mrr": MRR, "CS KPIs": [["my notes"], ["do not touch"]]}
    plan = plan_refresh(book, book="b.xlsx", now=NOW)
    kpis = plan.sheet("kpis")
    assert kpis.name == "CS KPIs (2)" and not kpis.replaces
    assert any("'CS KPIs' was not written by cs-desk" in m and "CS KPIs (2)" in m for m in plan.messages)
    assert "CS KPIs" not in plan.recognised  # not read as data either
    # cs-desk's own earlier output is replaced in place (case-insensitive, as Excel compares names)
    again = plan_refresh({**book, "cs kpis (2)": [[kpis.marker]]}, book="b.xlsx", now=NOW)
    assert again.sheet("kpis").name == "CS KPIs (2)" and again.sheet("kpis").replaces


def test_own_output_sheets_are_not_read_as_data():
    first = plan_refresh({"mrr": MRR}, book="b.xlsx", now=NOW)
    book = {"mrr": MRR}
    for sp in first.sheets:
        book[sp.name] = [[sp.marker]] + sp.values()
    second = plan_refresh(book, book="b.xlsx", now=NOW)
    assert second.recognised == {"mrr": "mrr"}
    assert all(sp.replaces and sp.name in OUTPUT_SHEETS for sp in second.sheets)
    assert second.sheet("kpis").rows == first.sheet("kpis").rows


def test_text_that_looks_like_a_formula_stays_in_a_text_column():
    accounts = [["account_id", "account_name"], ["=HYPERLINK(\"x\")", "@evil"], ["+1", "-2"]]
    plan = plan_refresh({"accounts": accounts, "mrr": MRR, "surveys": [["account_id", "date", "survey", "score"],
                                                                     ["a", "2024-01-05", "NPS", "=1+1"]]},
                        book="b.xlsx", now=NOW)
    for sp in plan.sheets:
        for j, fmt in enumerate(sp.number_formats):
            for row in sp.rows:
                v = row[j]
                if isinstance(v, str) and v[:1] in "=+-@":
                    assert fmt == TEXT, (sp.name, sp.header[j], v)


def test_nothing_recognised_still_plans_a_problems_sheet():
    plan = plan_refresh({"Sheet1": [["hello", "world"], [1, 2]]}, book="b.xlsx", now=NOW)
    assert plan.recognised == {}
    assert "No sheet of this workbook holds a table" in plan.messages[0]
    assert plan.sheet("kpis").rows[0][0].startswith("No KPI computed")
    assert plan.sheet("problems").header[0] == "severity"


def test_empty_workbook():
    plan = plan_refresh({}, now=NOW)
    assert [s.name for s in plan.sheets] == list(OUTPUT_SHEETS)


# ----------------------------------------------------------------------------- settings sheet
def test_settings_two_columns():
    rows = [["setting", "value", "what"], ["from", dt.datetime(2024, 2, 1), ""], ["to", "2024-02", None],
            ["by", "segment", None], ["period", "Month", None], ["sheet: Billing export", "mrr", None],
            ["end date inclusive", "yes", None], ["nonsense", 1, None], ["as of", 45352, None]]
    s, probs = parse_settings(rows, "b.xlsx")
    assert s.start == dt.datetime(2024, 2, 1) and s.end == dt.datetime(2024, 2, 1)
    assert s.by == "segment" and s.period == "month"
    assert s.sheet_tables == {"billing export": "mrr"}
    assert s.options == {"end_date_inclusive": True}
    assert s.as_of == dt.datetime(2024, 3, 1)  # a serial number, as Office.js sends a date
    assert len(probs) == 1 and "nonsense" in probs[0].message and probs[0].row == 8


def test_settings_as_toml_text_with_a_saved_mapping():
    toml = """
from = "2024-02"
period = "month"
[sheets]
"Odd sheet" = "ignore"
[mapping]
[[mapping.source]]
file = "*"
sheet = "Billing"
table = "mrr"
layout = "long"
[mapping.source.columns]
account_id = "Cust"
month = "Period"
mrr = "Amount"
"""
    s, probs = parse_settings([[line] for line in toml.splitlines()], "b.xlsx")
    assert probs == []
    assert s.start == dt.datetime(2024, 2, 1) and s.sheet_tables == {"odd sheet": "ignore"}
    assert s.mapping is not None and s.mapping.entries[0].columns["mrr"] == "Amount"
    # the saved mapping wins: headers no alias would find
    billing = [["Cust", "Period", "Amount"]] + [r for r in MRR[1:]]
    plan = plan_refresh({"Billing": billing, "Odd sheet": MRR, "cs-desk settings": [[toml]]}, book="b.xlsx", now=NOW)
    assert plan.recognised == {"Billing": "mrr"}
    assert plan.sheet("kpis").header[3:] == ["2024-02"]


def test_bad_settings_become_problems_not_errors():
    s, probs = parse_settings([["from", "whenever"], ["period", "fortnight"], ["sheet: X", "sales"]])
    assert s.start is None and s.period == "month"
    assert len(probs) == 3 and all(p.code.value == "option_invalid" for p in probs)
    _, probs = parse_settings([["this is = not [valid toml"]])
    assert probs and "neither two columns" in probs[0].message


def test_bad_by_setting_falls_back_and_says_so():
    plan = plan_refresh({"mrr": MRR, "cs-desk settings": [["by", "segment"]]}, book="b.xlsx", now=NOW)
    assert any(m.startswith("Settings ignored") for m in plan.messages)
    assert plan.sheet("kpis").rows


def test_by_setting_groups_the_kpi_sheet():
    accounts = [["account_id", "segment"], ["a", "SMB"], ["b", "SMB"], ["c", "Ent"]]
    plan = plan_refresh({"accounts": accounts, "mrr": MRR, "cs-desk settings": [["by", "segment"]]},
                        book="b.xlsx", now=NOW)
    kpis = plan.sheet("kpis")
    assert kpis.header[:4] == ["KPI", "id", "group", "target"]
    groups = set(kpis.column("group"))
    assert {"all", "SMB", "Ent"} <= groups
    mrr = {r[2]: r[4] for r in kpis.rows if r[1] == "mrr"}
    assert mrr["all"] == 170 and mrr["SMB"] == 120 and mrr["Ent"] == 50


def test_cell_value_conversions():
    import numpy as np
    import pandas as pd

    assert S.cell_value(np.float64("nan")) is None
    assert S.cell_value(pd.NaT) is None
    assert S.cell_value(pd.Timestamp("2024-01-02")) == dt.datetime(2024, 1, 2)
    assert S.cell_value(np.int64(3)) == 3 and S.cell_value(np.bool_(True)) is True
    assert S.normalise_cell(-2146826246) == "#N/A"
    assert S.to_timestamp("2024-03") == pd.Timestamp("2024-03-01")
    assert S.to_timestamp(45292) == pd.Timestamp("2024-01-01")
    assert S.to_timestamp("nope") is None
