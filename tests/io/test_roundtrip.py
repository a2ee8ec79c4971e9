"""Property: any valid canonical table written to xlsx or csv loads back with the same values."""
import datetime as dt
import string

import pandas as pd
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_desk.io import load

from io_helpers import write_csv

ids = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=8).filter(
    lambda s: not s.isdigit() or not s.startswith("0"))
names = st.text(alphabet=string.ascii_letters + " éü&'", min_size=1, max_size=12).map(str.strip).filter(bool)
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2150, 12, 31))
money = st.integers(min_value=0, max_value=10**8).map(lambda c: c / 100)

accounts_rows = st.lists(st.tuples(ids, names, st.sampled_from(["SMB", "ENT", "NA", "Mid-Market"]), dates, money),
                         min_size=1, max_size=15, unique_by=lambda r: r[0])


def expected(rows):
    return [(a, n, s, pd.Timestamp(d), m) for a, n, s, d, m in rows]


def loaded(ds):
    acc = ds.tables["accounts"]
    return list(zip(acc["account_id"], acc["account_name"], acc["segment"], acc["customer_since"], acc["cac"]))


HEADER = ["account_id", "account_name", "segment", "customer_since", "cac"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=accounts_rows)
def test_xlsx_round_trip(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("rt") / "accounts.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Accounts")
    fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, HEADER)
    for i, (a, n, s, d, m) in enumerate(rows, start=1):
        ws.write_string(i, 0, a)
        ws.write_string(i, 1, n)
        ws.write_string(i, 2, s)
        ws.write_datetime(i, 3, dt.datetime.combine(d, dt.time()), fmt)
        ws.write_number(i, 4, m)
    wb.close()
    ds = load(path)
    assert not ds.errors and not [p for p in ds.problems if p.code.value != "ambiguous_date_format"]
    assert loaded(ds) == expected(rows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=accounts_rows, delimiter=st.sampled_from([",", ";", "\t"]))
def test_csv_round_trip(tmp_path_factory, rows, delimiter):
    path = tmp_path_factory.mktemp("rt") / "accounts.csv"
    write_csv(path, [HEADER] + [[a, n, s, d.isoformat(), f"{m:.2f}"] for a, n, s, d, m in rows], delimiter)
    ds = load(path)
    assert not ds.problems
    assert loaded(ds) == expected(rows)
