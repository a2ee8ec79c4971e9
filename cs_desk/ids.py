"""Id columns as integer codes: ``pd.factorize`` by the fastest route for the column at hand.

Loading checks (duplicates, unknown accounts), the KPI engine, the per-account snapshot and the
usage engine all need each table's account ids as codes; they get them from
:meth:`cs_desk.dataset.Dataset.codes`, which factorises a column once with
:func:`factorize_ids` and keeps the result until the table is replaced.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: below this many rows a plain ``pd.factorize`` is as fast as any trick
_POINTER_ROWS = 500_000


def object_values(values: pd.Series) -> np.ndarray:
    """An id column as an object array whose missing values are None/NaN/NA (all "missing" to
    ``factorize`` and ``get_indexer``). A python-backed string column already stores one: it is
    used as it is (no copy of millions of rows)."""
    arr = values.array
    if getattr(arr.dtype, "storage", None) == "python":
        raw = np.asarray(arr)
        if raw.dtype == object:
            return raw
    return values.to_numpy(dtype=object, na_value=None)


def _object_pointers(arr: np.ndarray) -> np.ndarray:
    """The object addresses held by an object array (a copy, as int64)."""
    import ctypes

    buf = (ctypes.c_int64 * len(arr)).from_address(arr.ctypes.data)
    return np.frombuffer(buf, dtype=np.int64).copy()


def factorize_ids(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Exactly ``pd.factorize(values)``: (int64 codes, -1 for missing; object uniques in order
    of first appearance).

    A pyarrow-backed column is dictionary-encoded by Arrow (no Python string per row). A long
    object column whose rows share string objects — cleaned ids do: each distinct id is parsed
    once and taken by code — is factorised on the object addresses as integers, then one string
    per address. Anything else goes through ``pd.factorize`` on the object array."""
    if isinstance(values.array, pd.arrays.ArrowExtensionArray):
        codes, uniques = pd.factorize(values.array)
        return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)
    arr = object_values(values)
    n = len(arr)
    if (n >= _POINTER_ROWS and arr.dtype == object and arr.flags.c_contiguous
            and np.dtype(np.int64).itemsize == np.dtype(np.intp).itemsize):
        ptr_codes, ptrs = pd.factorize(_object_pointers(arr))
        if len(ptrs) * 2 <= n:  # mostly shared objects: worth it
            first = np.empty(len(ptrs), dtype=np.int64)
            first[ptr_codes] = np.arange(n)  # a row holding each object (any one: they are the same object)
            value_codes, uniques = pd.factorize(arr[first])
            return value_codes[ptr_codes].astype(np.int64, copy=False), np.asarray(uniques, dtype=object)
    codes, uniques = pd.factorize(arr)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)
