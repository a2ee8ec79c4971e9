"""Worksheet function bodies called with the values Excel sends (decorators are no-ops on Linux).

Desktop Excel (COM) sends dates as datetimes and errors as integer codes (or "#N/A" text with
err_to_str); Office.js (xlwings Lite / Server) sends dates as serial numbers and a single cell as
[[x]]. Every case must give the same number, or a short "#CS: ..." text — never an exception.
"""
from __future__ import annotations

import datetime as dt
import math

import pytest

from cs_desk.kpis import REGISTRY, compute
from excel_addin import adapter, functions as F

NA_COM = -2146826246  # how pywin32 hands over #N/A
EPOCH = dt.datetime(1899, 12, 30)


def serial(d: dt.datetime) -> float:
    return float((d - EPOCH).days)


def needs(kpi_id):
    return pytest.mark.skipif(kpi_id not in REGISTRY, reason=f"the {kpi_id} KPI is not in the registry yet")


def is_cs_error(v) -> bool:
    return isinstance(v, str) and v.startswith("#CS: ")


# ----------------------------------------------------------------------------- hand-worked MRR
# month value = MRR at the end of that month. 2024-02 compares end of Jan with end of Feb:
#   a 100 -> 120 (expansion), b 200 -> 0 (churn), c new 50.
#   NRR = (120 + 0) / 300 = 0.4; GRR = (100 + 0) / 300 = 1/3; logo churn = 1/2.
MRR_ROWS = [
    ("a", dt.datetime(2024, 1, 31), 100.0), ("b", dt.datetime(2024, 1, 31), 200.0),
    ("a", dt.datetime(2024, 2, 29), 120.0), ("b", dt.datetime(2024, 2, 29), 0.0),
    ("c", dt.datetime(2024, 2, 29), 50.0),
]


def mrr_com():
    return [["account_id", "month", "mrr"]] + [[a, d, v] for a, d, v in MRR_ROWS]


def mrr_officejs():
    return [["account_id", "month", "mrr"]] + [[a, serial(d), v] for a, d, v in MRR_ROWS]


def mrr_wide(officejs: bool):
    months = [dt.datetime(2023, 12, 1), dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1)]
    head = ["Customer"] + [serial(m) if officejs else m for m in months]
    return [head, ["a", 100, 100, 120], ["b", 200, 200, 0], ["c", None, None, 50]]


@pytest.mark.parametrize("table", [mrr_com(), mrr_officejs(), mrr_wide(False), mrr_wide(True)],
                         ids=["com-datetimes", "officejs-serials", "wide-date-headers", "wide-serial-headers"])
def test_nrr_grr_logo_churn_hand_worked_in_every_date_form(table):
    assert F.cs_nrr(table, "2024-02") == pytest.approx(0.4)
    assert F.cs_grr(table, "2024-02") == pytest.approx(1 / 3)
    assert F.cs_logo_churn(table, "2024-02") == pytest.approx(0.5)
    assert F.cs_nrr(table) == pytest.approx(0.4)  # default: the last month of the data


def test_period_given_as_date_serial_or_officejs_matrix():
    t = mrr_com()
    assert F.cs_nrr(t, dt.datetime(2024, 2, 15)) == pytest.approx(0.4)
    assert F.cs_nrr(t, serial(dt.datetime(2024, 2, 15))) == pytest.approx(0.4)
    assert F.cs_nrr(t, [["2024-02"]]) == pytest.approx(0.4)  # Office.js sends one cell as [[x]]
    assert F.cs_nrr(t, "2024-02", "2024-02") == pytest.approx(0.4)


def test_span_within_a_year_is_one_period():
    # Jan..Feb: start = start of Jan (nobody active: data begins end of Jan) -> undefined, said as text
    v = F.cs_nrr(mrr_com(), "2024-01", "2024-02")
    assert is_cs_error(v) and "undefined" in v


def test_kpi_matches_engine_compute():
    from cs_desk.sheets import dataset_from_values

    ds, _ = dataset_from_values({"mrr": mrr_com()})
    result = compute(ds)
    for kpi_id in ("mrr", "arr", "active_accounts", "new_mrr", "expansion_mrr", "churned_mrr", "arpa"):
        assert F.cs_kpi(kpi_id, mrr_com()) == pytest.approx(result.value(kpi_id, "2024-02"))


def test_kpi_by_group_with_accounts_table():
    accounts = [["account_id", "segment"], ["a", "SMB"], ["b", "SMB"], ["c", "Enterprise"]]
    assert F.cs_kpi("mrr", mrr_com(), "2024-02", "segment=Enterprise", accounts) == pytest.approx(50.0)
    assert F.cs_kpi("mrr", mrr_com(), "2024-02", "segment=SMB", accounts) == pytest.approx(120.0)
    assert F.cs_kpi("mrr", mrr_com(), "2024-02", "all", accounts) == pytest.approx(170.0)
    assert is_cs_error(F.cs_kpi("mrr", mrr_com(), None, "SMB", accounts))  # field=value needed


def test_movements_spill():
    out = F.cs_movements(mrr_com(), "2024-02")
    assert out[0] == ["period", "account_id", "movement", "start_mrr", "end_mrr", "delta"]
    body = {(r[1], r[2]): r[3:] for r in out[1:]}
    assert body[("a", "expansion")] == [100.0, 120.0, 20.0]
    assert body[("b", "churned")] == [200.0, 0.0, -200.0]
    assert body[("c", "new")] == [0.0, 50.0, 50.0]
    only = F.cs_movements(mrr_officejs(), None, None, "churned")
    assert [r[1] for r in only[1:]] == ["b"]


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("table, needle", [
    ([["account_id", "month"], ["a", "2024-01"]], "mrr"),
    ([["account_id", "month", "mrr"]], "header row and at least one data row"),
    ([[None, None], [None, None]], "empty"),
    ([["foo", "bar"], [1, 2]], "table"),
])
def test_bad_tables_give_short_text(table, needle):
    v = F.cs_nrr(table)
    assert is_cs_error(v) and needle in v and "Traceback" not in v and len(v) <= adapter.MAX_ERROR_TEXT


def test_missing_mrr_column_message():
    assert F.cs_nrr([["account_id", "month"], ["a", dt.datetime(2024, 1, 31)]]) .startswith("#CS: ")


@pytest.mark.parametrize("bad_cell", [NA_COM, "#N/A", "#VALUE!"])
def test_error_cell_in_a_table_is_reported_with_its_row(bad_cell):
    table = mrr_com()
    table[3][2] = bad_cell  # row 4 of the range: a's February MRR
    v = F.cs_nrr(table, "2024-02")
    assert is_cs_error(v) and "row 4" in v and "set aside" in v


def test_bad_periods_and_kpi_ids():
    assert "not a month" in F.cs_nrr(mrr_com(), "soon")
    assert "crosses a year end" in F.cs_nrr(mrr_com(), "2023-11", "2024-02")
    assert "before" in F.cs_nrr(mrr_com(), "2024-02", "2024-01")
    assert "no data for 2023-05" in F.cs_nrr(mrr_com(), "2023-05")
    assert "unknown KPI" in F.cs_kpi("churnz", mrr_com())
    assert is_cs_error(F.cs_kpi(None, mrr_com()))
    assert is_cs_error(F.cs_nrr(mrr_com(), [["2024-01", "2024-02"]]))  # a range where one cell belongs


def test_unexpected_failure_is_text_not_traceback(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(adapter, "kpi", boom)
    assert F.cs_nrr(mrr_com()) == "#CS: RuntimeError: disk on fire"


def test_kpi_list_spills_the_registry():
    out = F.cs_kpi_list()
    assert out[0][:3] == ["id", "label", "unit"]
    assert {r[0] for r in out[1:]} == set(REGISTRY)


# ----------------------------------------------------------------------------- sentiment
NPS_SCORES = [10, 9, 8, 7, 6, 0, 10, 3, 9, 10]  # 5 promoters, 2 passives, 3 detractors -> NPS 20


@needs("nps")
def test_nps_hand_worked_column_row_and_officejs_shapes():
    col = [[s] for s in NPS_SCORES]
    assert F.cs_nps(col) == pytest.approx(20.0)
    assert F.cs_nps([NPS_SCORES]) == pytest.approx(20.0)  # a row
    assert F.cs_nps([["Score"]] + col + [[None], [""]]) == pytest.approx(20.0)  # header, empty cells
    assert F.cs_nps([[float(s)] for s in NPS_SCORES]) == pytest.approx(20.0)  # COM floats
    assert F.cs_nps([[str(s)] for s in NPS_SCORES]) == pytest.approx(20.0)  # numbers stored as text


@needs("nps")
def test_nps_all_promoters_and_all_detractors():
    assert F.cs_nps([[9], [10]]) == pytest.approx(100.0)
    assert F.cs_nps([[0], [6]]) == pytest.approx(-100.0)


@needs("nps")
@pytest.mark.parametrize("cells, needle", [
    ([[9], [NA_COM]], "cell 2 of scores is #N/A"),
    ([[9], ["#DIV/0!"]], "cell 2 of scores is #DIV/0!"),
    ([[9], ["great"]], "cell 2 of scores is 'great'"),
    ([[None], [""]], "no scores"),
    ([[9], [11]], "cell 2"),
])
def test_nps_bad_cells(cells, needle):
    v = F.cs_nps(cells)
    assert is_cs_error(v) and needle in v


@needs("csat")
def test_csat_hand_worked():
    assert F.cs_csat([[5], [4], [3], [5], [1]]) == pytest.approx(0.6)


@needs("ces")
def test_ces_hand_worked():
    assert F.cs_ces([[7], [5], [6], [2]]) == pytest.approx(5.0)


def test_survey_kpi_missing_from_registry_is_a_text():
    saved = dict(REGISTRY)  # restored in order afterwards: the registry's order is the docs' order
    try:
        del REGISTRY["nps"]
        assert F.cs_nps([[9]]) == "#CS: NPS is not available in this cs-desk version"
    finally:
        REGISTRY.clear()
        REGISTRY.update(saved)


# ----------------------------------------------------------------------------- health
def test_health_spills_or_says_why():
    accounts = [["account_id", "segment", "seats"], ["a", "SMB", 10], ["b", "SMB", 5], ["c", "Enterprise", 40]]
    out = F.cs_health(accounts, None, None, mrr_com())
    if isinstance(out, str):
        assert is_cs_error(out)
    else:
        assert out[0] == ["account_id", "score", "band"]
        assert {r[0] for r in out[1:]} >= {"a", "b", "c"}
        for _, score, band in out[1:]:
            assert score == "" or 0 <= score <= 100
            assert band in ("", "red", "yellow", "green", "unknown")


# ----------------------------------------------------------------------------- cell helpers
def test_cell_helpers():
    assert adapter.scalar([["x"]]) == "x"
    assert adapter.scalar([[None]]) is None
    assert adapter.scalar("  ") is None
    assert adapter.is_error(NA_COM) and adapter.is_error("#n/a") and not adapter.is_error(-5)
    assert adapter.flatten([[1, 2], [3, None]]) == [1, 2, 3, None]
    assert adapter.flatten(7) == [7]
    assert adapter.serial_to_datetime(45292) == dt.datetime(2024, 1, 1)
    first, last, gran, label = adapter.period_request("2024Q2")
    assert (first.month, last.month, gran, label) == (4, 6, "quarter", "2024Q2")
    assert adapter.period_request(2024)[2:] == ("year", "2024")
    assert math.isclose(adapter.serial_to_datetime(45292.5).hour, 12)
