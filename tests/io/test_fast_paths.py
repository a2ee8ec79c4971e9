"""The fast paths for big tables give exactly what the plain per-value paths give."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cs_desk.io import clean
from cs_desk.io.validate import _duplicated, _factorize


def test_factorize_matches_pandas_on_shared_and_distinct_objects():
    rng = np.random.default_rng(1)
    ids = pd.array([f"ACC-{i}" for i in range(1000)] + [np.nan], dtype="str")
    shared = pd.Series(ids.take(rng.integers(0, 1001, 600_000)))  # rows share the id objects
    # equal values held by distinct objects, mixed in
    arr = shared.to_numpy(dtype=object).copy()
    arr[::7] = ["ACC-" + str(int(rng.integers(0, 1000))) for _ in range(len(arr[::7]))]
    for s in (shared, pd.Series(pd.array(arr, dtype="str")), shared.head(10)):
        codes, uniques = _factorize(s)
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
