"""The fast paths for big tables give exactly what the plain per-value paths give."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import pandas as pd

from cs_desk.io import clean
from cs_desk.ids import factorize_ids
from cs_desk.io.validate import _duplicated


def test_factorize_matches_pandas_on_shared_and_distinct_objects():
    rng = np.random.default_rng(1)
    ids = pd.array([f"ACC-{i}" for i in range(1000)] + [np.nan], dtype="str")
    shared = pd.Series(ids.take(rng.integers(0, 1001, 600_000)))  # rows share the id objects
    # equal values held by distinct objects, mixed in
    arr = shared.to_numpy(dtype=object).copy()
    arr[::7] = ["ACC-" + str(int(rng.integers(0, 1000))) for _ in range(len(arr[::7]))]
    for s in (shared, pd.Series(pd.array(arr, dtype="str")), shared.head(10)):
        codes, uniques = factorize_ids(s)
        want_codes, want_uniques = pd.factorize(s)
        assert np.array_equal(codes, want_codes)
        assert list(uniques) == list(want_uniques)


def test_duplicated_matches_pandas():
    rng = np.random.default_rng(2)
    for key in (np.arange(1000), rng.integers(0, 500, 1000), np.array([3, -1, 3, 0]), np.zeros(0, np.int64)):
        bound = int(key.max()) + 1 if len(key) else 0
        assert np.array_equal(_duplicated(key, bound), pd.Series(key, dtype=np.int64).duplicated().to_numpy())


def test_datetime_column_parsed_per_distinct_instant():
    months = np.array(["2024-01-15T10:00", "2024-02-01", "NaT", "2150-03-31T23:59"], dtype="datetime64[ns]")
    s = pd.Series(np.tile(months, 20_000))
    for keep_time in (False, True):
        fast = clean.parse_dates(s, keep_time=keep_time)
        slow = clean.parse_dates(s.head(50_000), keep_time=keep_time)  # at the size limit: the plain path
        assert np.array_equal(fast[0][:50_000], slow[0], equal_nan=True)
        assert np.array_equal(fast[1][:50_000], slow[1])
    far = pd.Series(np.tile(np.array(["9999-12-31", "2024-05-01"], dtype="datetime64[s]"), 30_000))
    values, status, _ = clean.parse_dates(far)
    assert (status[::2] == clean.SENTINEL).all() and (status[1::2] == clean.OK).all()
    assert values[1] == np.datetime64("2024-05-01")


def test_month_start_of_many_rows():
    v = np.tile(np.array(["2024-01-15T10:00", "NaT", "2023-12-31"], dtype="datetime64[ns]"), 20_000)
    assert np.array_equal(clean._month_start(v), v.astype("datetime64[M]").astype("datetime64[ns]"), equal_nan=True)


def test_text_fast_path_same_as_per_value():
    values = np.array([" A1 ", "12.00", "-7.0", "1.50", "  ", "", "x.0", "10", "abc0.0"], dtype=object)
    for fn in (clean._id_value, clean._text_value):
        vals, status = clean._parse_uniques(values, fn)
        for v, got, st in zip(values, vals, status):
            if clean._is_missing_scalar(v):
                assert st == clean.MISSING and got != got
            else:
                assert (got, st) == fn(v)


def _general_date_path(values, keep_time):
    """The per-form parser the uniform-ISO fast path short-cuts."""
    info = clean.DateInfo()
    strs = pd.Series(values, dtype=object).str.strip()
    o, st = clean._parse_date_strings(strs, None, keep_time, info)
    return clean._finish(o, st, keep_time), st


def test_uniform_iso_text_dates_same_as_general_parser():
    rng = np.random.default_rng(3)
    base = np.datetime64("2019-01-01T00:00:00") + rng.integers(0, 8 * 365 * 86400, 5000).astype("timedelta64[s]")
    stamps = np.datetime_as_string(base, unit="s")  # 2023-04-05T06:07:08
    cases = {
        "date": np.array([s[:10] for s in stamps], dtype=object),
        "space": np.array([s.replace("T", " ") for s in stamps], dtype=object),
        "T": stamps.astype(object),
    }
    bad = cases["space"].copy()
    bad[17] = "2024-02-30 10:00:00"  # impossible day: BAD on both paths
    bad[99] = "2023-13-01 00:00:00"
    cases["impossible"] = bad
    for name, values in cases.items():
        assert clean._uniform_iso_format(values) is not None, name
        for keep_time in (False, True):
            want_v, want_s = _general_date_path(values, keep_time)
            got_v, got_s, _ = clean.parse_dates(pd.Series(values, dtype=object), keep_time=keep_time)
            assert np.array_equal(got_s, want_s), name
            assert np.array_equal(got_v, want_v, equal_nan=True), name
    assert clean.parse_dates(pd.Series(cases["impossible"]))[1][17] == clean.BAD


def test_uniform_iso_fast_path_declines_other_shapes():
    day = np.array(["2024-01-05"] * 2000, dtype=object)
    for i, odd in enumerate(["05/01/2024", "2024-1-5", " 2024-01-05", "9999-12-31", "1850-01-01", "2024-01-05Z",
                             "2024-01-05 10:00", "2024‐01‐05", "n/a"]):
        values = day.copy()
        values[7 + i] = odd
        assert clean._uniform_iso_format(values) is None, odd
    mixed = np.array(["2024-01-05"] * 1000 + ["2024-01-05 10:00:00"] * 1000, dtype=object)
    assert clean._uniform_iso_format(mixed) is None
    assert clean._uniform_iso_format(day[:10]) is None  # small columns keep the general path


def test_workbook_date_cells_with_blanks():
    """calamine gives date/datetime objects and "" for empty cells; the typed branch and the
    per-value branch (taken when a text cell is mixed in) agree on every value."""
    import datetime as dt

    cells = [dt.datetime(2024, 1, 5, 10, 30), "", None, dt.date(2023, 12, 31), dt.datetime(9999, 12, 31),
             dt.date(1850, 1, 1), np.datetime64("2024-03-01T08:00")]
    want_status = [clean.OK, clean.MISSING, clean.MISSING, clean.OK, clean.SENTINEL, clean.BAD, clean.OK]
    want_days = ["2024-01-05", None, None, "2023-12-31", None, None, "2024-03-01"]
    for extra in ([], ["n/a"]):  # "n/a" sends the column down the per-value path
        values, status, _ = clean.parse_dates(pd.Series(cells + extra, dtype=object))
        assert list(status[:7]) == want_status
        for got, day in zip(values[:7], want_days):
            assert (np.isnat(got) if day is None else got == np.datetime64(day)), (got, day)
        if extra:
            assert status[7] == clean.MISSING
    # a time zone that puts the instant in another year than the value's own: the own year counts
    zoned = [pd.Timestamp("2200-01-01 00:30", tz="Etc/GMT-1"), pd.Timestamp("1900-01-01 00:30", tz="Etc/GMT-1")]
    _, status, _ = clean.parse_dates(pd.Series(cells + zoned, dtype=object))
    assert list(status[-2:]) == [clean.SENTINEL, clean.OK]
    stamps, _, _ = clean.parse_dates(pd.Series(cells, dtype=object), keep_time=True)
    assert stamps[0] == np.datetime64("2024-01-05T10:30") and stamps[6] == np.datetime64("2024-03-01T08:00")


_TEXTS = st.one_of(st.none(), st.sampled_from(["", " ", "A1", "a1", "1.0", "NA", "é", "x\ny"]), st.text(max_size=5))


@given(st.lists(_TEXTS, max_size=60))
@settings(max_examples=150, deadline=None)
def test_arrow_text_codes_same_values_as_object_route(values):
    """Arrow-held text (the typed worksheet route) is factorized by Arrow; codes and uniques
    must give back exactly the values, with -1 where the object route has a missing value."""
    pytest.importorskip("pyarrow")
    arrow = pd.Series(pd.array(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))
    assert clean._arrow_text(arrow.dtype)
    codes, uniques = clean._unique_map(arrow)
    want_codes, want_uniques = clean._unique_map(arrow.astype(object))
    assert codes.dtype == np.int64 and uniques.dtype == object
    assert len(set(uniques)) == len(uniques)  # each distinct value once
    got = [None if c < 0 else uniques[c] for c in codes]
    want = [None if c < 0 else want_uniques[c] for c in want_codes]
    assert got == want == [None if v is None else v for v in values]


def test_arrow_text_cleaned_like_object_text():
    """A text column cleans to the same values and statuses whichever storage it arrives in."""
    pytest.importorskip("pyarrow")
    raw = ["ACC-1", " ACC-2 ", None, "", "7.0", "ACC-1"] * 3
    arrow = pd.Series(pd.array(raw, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))
    obj = pd.Series(raw, dtype=object)
    for parse in (clean.parse_ids, clean.parse_text):
        (a_vals, a_status), (o_vals, o_status) = parse(arrow), parse(obj)
        assert np.array_equal(a_status, o_status)
        assert pd.Series(a_vals, dtype=object).fillna("<na>").tolist() == pd.Series(o_vals, dtype=object).fillna("<na>").tolist()


def test_arrow_text_mostly_distinct_is_not_encoded():
    """Ticket ids and timestamps: each value once, so no codes (as on the object route)."""
    pytest.importorskip("pyarrow")
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)
    distinct = pd.Series(pd.array([f"T{i}" for i in range(450_000)], dtype=dtype))
    codes, values = clean._unique_map(distinct)
    assert codes is None and values.dtype == object and values[0] == "T0" and values[-1] == "T449999"
    assert clean._unique_map(distinct.astype(object))[0] is None
    repeated = pd.Series(pd.array([f"A{i % 1000}" for i in range(450_000)], dtype=dtype))
    codes, uniques = clean._unique_map(repeated)
    assert len(uniques) == 1000 and (uniques[codes] == repeated.to_numpy(dtype=object)).all()
