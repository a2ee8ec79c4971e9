import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cs_desk.io.clean import (ROW_COLUMN, clean_frame, interval_months, number_text, parse_dates,
                              parse_numbers)
from cs_desk.schema import TABLES

from io_helpers import codes, find


def col(values):
    return pd.Series(values, dtype=object)


def dates(values, **kw):
    v, st, info = parse_dates(col(values), **kw)
    return [None if pd.isna(x) else pd.Timestamp(x) for x in v], st, info


def test_dates_excel_serials_iso_and_objects():
    v, st, _ = dates([45292, 45292.75, "2024-01-15", dt.datetime(2024, 2, 1, 13, 5), dt.date(2024, 3, 1),
                      "2024-01-15T10:30:00Z", 1704067200, "20240115", "Jan 2024", "15 Mar 2024", None, ""])
    assert v[:10] == [pd.Timestamp(2024, 1, 1), pd.Timestamp(2024, 1, 1), pd.Timestamp(2024, 1, 15),
                      pd.Timestamp(2024, 2, 1), pd.Timestamp(2024, 3, 1), pd.Timestamp(2024, 1, 15),
                      pd.Timestamp(2024, 1, 1), pd.Timestamp(2024, 1, 15), pd.Timestamp(2024, 1, 1),
                      pd.Timestamp(2024, 3, 15)]
    assert list(st[-2:]) == [1, 1]  # missing


def test_datetime_keeps_time_and_converts_offsets():
    v, _, _ = dates(["2024-01-15T10:30:00+02:00", 45292.5, "01/02/2024 3:15 PM"], keep_time=True)
    assert v == [pd.Timestamp(2024, 1, 15, 8, 30), pd.Timestamp(2024, 1, 1, 12), pd.Timestamp(2024, 1, 2, 15, 15)]


def test_excel_1900_bug_day():
    v, st, _ = dates([1, 59, 60, 61])
    assert v[0] == pd.Timestamp(1900, 1, 1) and v[1] == pd.Timestamp(1900, 2, 28)
    assert st[2] == 2  # 29 Feb 1900 does not exist
    assert v[3] == pd.Timestamp(1900, 3, 1)


@pytest.mark.parametrize("values,order,expected", [
    (["13/01/2024", "02/03/2024"], "dmy", [pd.Timestamp(2024, 1, 13), pd.Timestamp(2024, 3, 2)]),
    (["01/13/2024", "02/03/2024"], "mdy", [pd.Timestamp(2024, 1, 13), pd.Timestamp(2024, 2, 3)]),
    (["15.01.2024", "02.03.24"], "dmy", [pd.Timestamp(2024, 1, 15), pd.Timestamp(2024, 3, 2)]),
])
def test_day_first_decided_per_column(values, order, expected):
    v, _, info = dates(values)
    assert info.order == order and not info.ambiguous
    assert v == expected


def test_ambiguous_dates_prefer_us_and_option():
    v, _, info = dates(["02/03/2024", "04/05/2024"])
    assert info.ambiguous and v[0] == pd.Timestamp(2024, 2, 3)
    v, _, info = dates(["02/03/2024"], order="dmy")
    assert v[0] == pd.Timestamp(2024, 3, 2)


def test_sentinel_and_far_dates():
    v, st, _ = dates(["9999-12-31", "2200-01-01", 2958465, "0001-01-01"])
    assert list(st) == [3, 3, 3, 2]


def test_numbers_in_every_written_form():
    v, st, pct = parse_numbers(col(["$1,234.50", "(100)", "12%", "1 234", "−5", "EUR 7", "1.5e3", 3, 2.5,
                                    "n/a", "abc", "", "-", "1234-"]))
    assert list(v[:9]) == [1234.5, -100.0, 0.12, 1234.0, -5.0, 7.0, 1500.0, 3.0, 2.5]
    assert list(st[9:]) == [1, 2, 1, 1, 0] and v[13] == -1234
    assert pct[2] and not pct[0]


def test_decimal_comma_column():
    v, st, _ = parse_numbers(col(["1.234,50 €", "12,5", "3"]))
    assert list(v) == [1234.5, 12.5, 3.0]
    v, _, _ = parse_numbers(col(["1,5", "2,25"]), decimal_hint=",")
    assert list(v) == [1.5, 2.25]
    v, _, _ = parse_numbers(col(["1.234", "12,50", "7"]))  # thousands dot in a decimal-comma column
    assert list(v) == [1234.0, 12.5, 7.0]
    v, _, _ = parse_numbers(col(["1.234"]), decimal_hint=",")
    assert list(v) == [1234.0]
    v, _, _ = parse_numbers(col(["1.234", "2.5"]))
    assert list(v) == [1.234, 2.5]
    assert number_text("1,234", ".") == (1234.0, False)
    assert number_text("1,234", ",") == (1.234, False)
    assert number_text("12,34,5", ".") is None


@pytest.mark.parametrize("text,months", [
    ("month", 1), ("Monthly", 1), ("mo", 1), ("m", 1), (1, 1), ("1", 1), ("quarter", 3), ("Quarterly", 3),
    ("q", 3), ("year", 12), ("annual", 12), ("yearly", 12), ("yr", 12), ("y", 12), (12, 12), ("6 months", 6),
    ("2 years", 24), ("every 3 months", 3)])
def test_intervals(text, months):
    assert interval_months(text) == months


def test_ids_and_text():
    frame = pd.DataFrame({"account_id": [1001.0, " 1002 ", "1003.0", 1004, "A-5"],
                          "account_name": ["  Acme ", None, "NA", 5.0, ""]})
    out, problems = clean_frame(frame, "accounts")
    assert out["account_id"].tolist() == ["1001", "1002", "1003", "1004", "A-5"]
    names = out["account_name"].tolist()
    assert names[0] == "Acme" and pd.isna(names[1]) and names[2] == "NA" and names[3] == "5" and pd.isna(names[4])
    assert list(out.columns) == list(TABLES["accounts"].field_names) + [ROW_COLUMN]
    assert out[ROW_COLUMN].tolist() == [2, 3, 4, 5, 6]


def test_dtypes_of_clean_table():
    frame = pd.DataFrame({"account_id": ["A"], "customer_since": ["2024-01-05"], "seats": ["10"], "cac": ["$5"]})
    out, _ = clean_frame(frame, "accounts")
    assert str(out["customer_since"].dtype) == "datetime64[ns]"
    assert out["seats"].dtype == float and out["cac"].iloc[0] == 5.0
    assert pd.api.types.is_string_dtype(out["account_id"].dtype)


def test_required_bad_values_set_aside_with_row_and_source_column():
    frame = pd.DataFrame({"account_id": ["A", "B", "", "D"], "month": ["2024-01", "bogus", "2024-01", "2024-02"],
                          "mrr": ["10", "20", "30", "x"]})
    out, problems = clean_frame(frame, "mrr", file="b.csv", sheet=None, row_numbers=[5, 6, 7, 9],
                                options={"source_columns": {"month": "Billing Month", "mrr": "MRR $",
                                                            "account_id": "Customer"}})
    assert out["account_id"].tolist() == ["A"]
    got = {(p.code.value, p.row, p.column, p.value) for p in problems}
    assert ("bad_date", 6, "Billing Month", "bogus") in got
    assert ("missing_value", 7, "Customer", None) in got
    assert ("bad_number", 9, "MRR $", "x") in got
    assert all(p.file == "b.csv" and p.table == "mrr" for p in problems)


def test_optional_bad_value_is_warning_row_kept():
    frame = pd.DataFrame({"account_id": ["A", "B"], "seats": ["3", "many"], "renewal_date": ["soon", "2024-05-01"]})
    out, problems = clean_frame(frame, "accounts")
    assert len(out) == 2
    assert np.isnan(out["seats"].iloc[1]) and pd.isna(out["renewal_date"].iloc[0])
    assert sorted(codes(problems)) == ["bad_date", "bad_number"]
    assert all(p.severity.value == "warning" for p in problems)


def test_excel_error_message():
    frame = pd.DataFrame({"account_id": ["A"], "month": ["2024-01"], "mrr": ["#N/A"]})
    _, problems = clean_frame(frame, "mrr")
    assert "Excel error #N/A" in problems[0].message


def test_mrr_month_start_and_negative():
    frame = pd.DataFrame({"account_id": ["A", "B"], "month": ["2024-01-31", "2024-02-15"], "mrr": [10, -5]})
    out, problems = clean_frame(frame, "mrr")
    assert out["month"].tolist() == [pd.Timestamp(2024, 1, 1)]
    (p,) = find(problems, "negative_mrr")
    assert p.row == 3


def test_missing_required_column():
    out, problems = clean_frame(pd.DataFrame({"account_id": ["A"]}), "mrr")
    assert len(out) == 0 and codes(problems) == ["missing_column"] and problems[0].severity.value == "error"


def test_subscriptions_mrr_from_amount_interval_quantity_discount():
    frame = pd.DataFrame({
        "account_id": ["A", "B", "C", "D", "E", "F"],
        "start_date": ["2024-01-01"] * 6,
        "end_date": ["", "9999-12-31", "2023-12-01", "", "", "2024-06-30"],
        "amount": ["1200", "300", "10", "", "100", "50"],
        "interval": ["year", "quarter", "month", "month", "month", "6 months"],
        "interval_count": ["", "", "", "", "2", ""],
        "quantity": ["", "2", "", "", "", ""],
        "discount": ["", "10%", "", "", "", ""],
    })
    out, problems = clean_frame(frame, "subscriptions", options={"end_date_inclusive": True})
    by = out.set_index("account_id")
    assert by.loc["A", "mrr"] == 100 and by.loc["A", "interval"] == 12
    assert by.loc["B", "mrr"] == pytest.approx(300 * 2 * 0.9 / 3)
    assert pd.isna(by.loc["B", "end_date"])  # 9999-12-31 = still running
    assert by.loc["E", "interval"] == 2 and by.loc["E", "mrr"] == 50
    assert by.loc["F", "end_date"] == pd.Timestamp(2024, 7, 1)  # inclusive end + 1 day
    assert {p.code.value: p.row for p in problems} == {"end_before_start": 4, "missing_value": 5}


def test_subscription_given_mrr_and_bad_interval():
    frame = pd.DataFrame({"account_id": ["A", "B"], "start_date": ["2024-01-01", "2024-01-01"],
                          "mrr": ["99", ""], "amount": ["", "10"], "interval": ["", "fortnightly"]})
    out, problems = clean_frame(frame, "subscriptions")
    assert out["mrr"].tolist() == [99.0]
    assert sorted(codes(problems)) == ["bad_interval", "missing_value"]


def test_cents_columns():
    frame = pd.DataFrame({"account_id": ["A"], "month": ["2024-01"], "mrr": ["12345"]})
    out, _ = clean_frame(frame, "mrr", options={"source_columns": {"mrr": "mrr_cents"}})
    assert out["mrr"].iloc[0] == 123.45
    out, _ = clean_frame(frame, "mrr", options={"cents": True})
    assert out["mrr"].iloc[0] == 123.45


def test_surveys_types_scales_and_mismatch():
    frame = pd.DataFrame({
        "account_id": ["A"] * 6, "date": ["2024-01-01"] * 6,
        "survey": ["NPS", "Net Promoter", "csat", "csat", "poll", "CES"],
        "score": [9, 11, 4, 5, 3, 8],
    })
    out, problems = clean_frame(frame, "surveys")
    assert out["survey"].tolist() == ["nps", "csat", "csat"]
    assert sorted(codes(problems)) == ["score_out_of_scale", "score_out_of_scale", "unknown_category"]
    assert find(problems, "unknown_category")[0].row == 6
    assert {p.row for p in find(problems, "score_out_of_scale")} == {3, 7}


def test_csat_on_ten_point_scale_is_reported_not_rescaled():
    scores = [7, 8, 9, 10, 6, 9, 8, 4]
    frame = pd.DataFrame({"account_id": ["A"] * 8, "date": ["2024-01-01"] * 8, "survey": ["csat"] * 8,
                          "score": scores})
    out, problems = clean_frame(frame, "surveys", options={"source_columns": {"score": "Rating"}})
    assert len(out) == 0
    (p,) = find(problems, "scale_mismatch")
    assert p.column == "Rating" and "1-5" in p.message


def test_nps_on_five_point_scale_warns():
    frame = pd.DataFrame({"account_id": ["A"] * 12, "date": ["2024-01-01"] * 12, "survey": ["nps"] * 12,
                          "score": [1, 2, 3, 4, 5] * 2 + [5, 4]})
    out, problems = clean_frame(frame, "surveys")
    assert len(out) == 12 and codes(problems) == ["scale_mismatch"]


def test_renewal_outcomes():
    frame = pd.DataFrame({"account_id": ["A", "B", "C", "D"], "renewal_date": ["2024-01-01"] * 4,
                          "outcome": ["Closed Won", "Closed Lost", "", "maybe"]})
    out, problems = clean_frame(frame, "renewals")
    assert out["outcome"].tolist() == ["renewed", "churned", "open"]
    assert codes(problems) == ["unknown_category"] and problems[0].row == 5


def test_tickets_first_response_from_minutes():
    frame = pd.DataFrame({"account_id": ["A"], "created_at": ["2024-01-01 10:00"], "first_response_minutes": ["30"],
                          "csat": ["Good"]})
    out, _ = clean_frame(frame, "tickets")
    assert out["first_response_at"].iloc[0] == pd.Timestamp(2024, 1, 1, 10, 30)
    assert out["csat"].iloc[0] == 5.0
    assert "first_response_minutes" not in out.columns


def test_ambiguous_date_info_once_per_column():
    frame = pd.DataFrame({"account_id": ["A", "B"], "month": ["02/03/2024", "04/05/2024"], "mrr": [1, 2]})
    _, problems = clean_frame(frame, "mrr", options={"source_columns": {"month": "Period"}})
    (p,) = find(problems, "ambiguous_date_format")
    assert p.column == "Period" and p.severity.value == "info"


def test_problem_lists_are_capped():
    n = 500
    frame = pd.DataFrame({"account_id": ["A"] * n, "month": ["junk"] * n, "mrr": [1] * n})
    out, problems = clean_frame(frame, "mrr")
    assert len(out) == 0 and len(problems) == 201 and problems[-1].value == "300"


def test_does_not_mutate_input():
    frame = pd.DataFrame({"account_id": [" A "], "month": ["2024-01"], "mrr": ["$5"]})
    copy = frame.copy()
    clean_frame(frame, "mrr")
    pd.testing.assert_frame_equal(frame, copy)


def test_large_long_table_is_fast():
    import time
    n = 1_000_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "account_id": pd.Series(rng.integers(0, 50_000, n)).map(lambda i: f"A{i}").astype(object),
        "month": pd.Series(np.array(["2023-%02d-01" % m for m in range(1, 13)], dtype=object)[rng.integers(0, 12, n)]),
        "mrr": pd.Series(rng.integers(0, 1000, n).astype(str), dtype=object),
    })
    t = time.perf_counter()
    out, problems = clean_frame(frame, "mrr")
    assert len(out) == n and not problems
    assert time.perf_counter() - t < 8


def test_periods_and_timestamps_from_frames():
    frame = pd.DataFrame({"account_id": ["A", "B"], "month": pd.PeriodIndex(["2024-01", "2024-02"], freq="M"),
                          "mrr": [1.0, 2.0]})
    out, problems = clean_frame(frame, "mrr")
    assert out["month"].tolist() == [pd.Timestamp(2024, 1, 1), pd.Timestamp(2024, 2, 1)] and not problems
    frame["month"] = pd.Series([pd.Period("2024-03", "M"), pd.Timestamp(2024, 4, 9)], dtype=object)
    out, _ = clean_frame(frame, "mrr")
    assert out["month"].tolist() == [pd.Timestamp(2024, 3, 1), pd.Timestamp(2024, 4, 1)]
