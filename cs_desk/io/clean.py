"""Cleaning: raw cell values (already under canonical column names) -> typed canonical tables.

``clean_frame`` parses every field by its *kind* (see :mod:`cs_desk.schema`), sets aside rows
whose required values are missing or unreadable, and returns one :class:`Problem` per set-aside
row (and per unreadable optional value, which becomes missing while the row is kept).

Speed: a column is parsed once per *distinct* value when it repeats (ids, months, categories:
``pd.factorize`` then a small loop), and with vectorised pandas/numpy on the happy path
otherwise (numbers already numeric, ISO dates). Per-value Python only runs on what the
vectorised pass could not read.

The cleaned frame has every field of the table in schema order, then ``_row``: the 1-based
source row of each kept row (hidden bookkeeping; see docs/architecture.md "Loading").
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from typing import Callable

import numpy as np
import pandas as pd

from ..problems import Code, Problem, Severity
from ..schema import RENEWAL_OUTCOMES, SURVEY_SCALES, SURVEY_TYPES, TABLES, Field
from .presets import DERIVED_FIELDS

#: row-level problems of one kind in one column are listed up to this many, then summarised
MAX_DETAIL = 200

OK, MISSING, BAD, SENTINEL = 0, 1, 2, 3
ROW_COLUMN = "_row"

_NA_TOKENS = {"", "-", "--", "—", "–", "n/a", "na", "n.a.", "null", "none", "nil", "nan", "(blank)", "?"}
_EXCEL_ERRORS = {"#n/a", "#div/0!", "#ref!", "#value!", "#name?", "#num!", "#null!", "#spill!", "#calc!"}
SENTINEL_FIELDS = {"end_date", "churn_date"}
SENTINEL_YEAR = 2200
MIN_YEAR = 1900

#: text columns of the cleaned tables: pandas' ``str`` dtype with Python storage, which wraps the
#: parsed Python strings as they are (the pyarrow storage, pandas' default when pyarrow is
#: installed, would copy every value into Arrow memory and back for the engine's lookups)
TEXT = pd.StringDtype("python", na_value=np.nan)

_EXCEL_EPOCH = np.datetime64("1899-12-30", "ns")
_DAY_NS = 86_400 * 10**9


# =========================================================================== helpers

def _is_missing_scalar(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, str):
        return not v.strip()
    return v is pd.NaT or (isinstance(v, np.floating) and np.isnan(v))


def _arrow_text(dtype) -> bool:
    """Text held in Arrow (the typed worksheet route's ``str`` columns with pyarrow installed)."""
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


#: a column of more than this many values is first sampled (its first :data:`_SAMPLE` values); when
#: the sample holds more than :data:`_SAMPLE_DISTINCT` distinct values, the column is not factorized
_SAMPLED_ABOVE, _SAMPLE, _SAMPLE_DISTINCT = 400_000, 200_000, 100_000


def _mostly_distinct(n: int, distinct_in_sample: Callable[[int], int]) -> bool:
    """Whether a column of ``n`` values is mostly distinct values (ticket ids, timestamps), so
    that factorizing it costs more than parsing every value; ``distinct_in_sample(k)`` counts
    the distinct values among the first ``k``."""
    return n > _SAMPLED_ABOVE and distinct_in_sample(_SAMPLE) > _SAMPLE_DISTINCT


def _arrow_unique_map(values: pd.Series) -> tuple[np.ndarray | None, np.ndarray]:
    """(codes, uniques) by Arrow's dictionary encoding: a Python ``str`` only per distinct
    value, none per row; missing values get code -1. Mostly distinct values are not encoded,
    as in :func:`_unique_map`: (None, values)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values.array)
    if _mostly_distinct(len(arr), lambda k: pc.count_distinct(arr.slice(0, k)).as_py()):
        return None, values.to_numpy(dtype=object)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    encoded = arr.dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, encoded.dictionary.to_numpy(zero_copy_only=False).astype(object, copy=False)


def _unique_map(values) -> tuple[np.ndarray | None, np.ndarray]:
    """(codes, uniques) to parse each distinct value once, or (None, values) when most values
    are distinct (factorizing millions of distinct strings costs more than it saves).
    A categorical Series is already factorized."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(dtype=np.int64), np.asarray(values.cat.categories, dtype=object)
    if isinstance(values, pd.Series) and _arrow_text(values.dtype):
        return _arrow_unique_map(values)
    arr = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    if _mostly_distinct(len(arr), lambda k: len(pd.factorize(arr[:k], use_na_sentinel=True)[1])):
        return None, arr
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def _expand(codes: np.ndarray | None, values: np.ndarray, status: np.ndarray, fill) -> tuple[np.ndarray, np.ndarray]:
    if codes is None:
        return values, status
    out_v = values[codes] if len(values) else np.full(len(codes), fill, dtype=values.dtype)
    out_s = status[codes] if len(status) else np.full(len(codes), MISSING, dtype=np.int8)
    na = codes < 0
    if na.any():
        out_v = out_v.copy()
        out_v[na] = fill
        out_s = out_s.copy()
        out_s[na] = MISSING
    return out_v, out_s


def _map_values(series: pd.Series, fn: Callable[[object], tuple[object, int]], dtype, fill) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``fn(value) -> (parsed, status)`` once per distinct value."""
    codes, uniques = _unique_map(series)
    vals = np.empty(len(uniques), dtype=dtype)
    status = np.zeros(len(uniques), dtype=np.int8)
    for i, v in enumerate(uniques):
        if _is_missing_scalar(v):
            vals[i], status[i] = fill, MISSING
        else:
            vals[i], status[i] = fn(v)
    return _expand(codes, vals, status, fill)


def _show(v) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        v = v.isoformat(sep=" ")
    s = str(v)
    return s if len(s) <= 80 else s[:77] + "..."


# =========================================================================== ids / text

_DOT_ZERO = re.compile(r"^-?\d+\.0+$")


def _id_value(v) -> tuple[object, int]:
    if isinstance(v, str):
        t = v.strip()
        if _DOT_ZERO.match(t):
            t = t.split(".")[0]
        return t, OK
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)), OK
    if isinstance(v, (int, np.integer)):
        return str(int(v)), OK
    if isinstance(v, (float, np.floating)):
        return (str(int(v)) if float(v).is_integer() else repr(float(v))), OK
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return v.date().isoformat() if v == pd.Timestamp(v).normalize() else v.isoformat(), OK
    if isinstance(v, dt.date):
        return v.isoformat(), OK
    return str(v).strip(), OK


def _id_str(v: str) -> str:
    t = v.strip()
    if t[-1:] == "0" and "." in t and _DOT_ZERO.match(t):
        t = t.split(".")[0]
    return t


#: for each text parser, the same parse of a ``str`` value (the usual case), for a list at once
_STR_FAST = {}


def _parse_uniques(uniques: np.ndarray, fn) -> tuple[np.ndarray, np.ndarray]:
    """``fn`` over distinct values, missing ones -> (NaN, MISSING). When every value is a
    ``str`` the loop is a plain comprehension (same results as ``fn``)."""
    m = len(uniques)
    vals = np.empty(m, dtype=object)
    status = np.zeros(m, dtype=np.int8)
    fast = _STR_FAST.get(fn)
    if fast is not None and m and pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        vals[:] = [fast(v) for v in uniques]
        missing = vals == ""  # a blank string is missing (_is_missing_scalar), whatever fn says
        vals[missing] = np.nan
        status[missing] = MISSING
        return vals, status
    for i, v in enumerate(uniques):
        if _is_missing_scalar(v):
            vals[i], status[i] = np.nan, MISSING
        else:
            vals[i], status[i] = fn(v)
    return vals, status


def _map_strings(series: pd.Series, fn) -> tuple[object, np.ndarray]:
    """Like :func:`_map_values` for text results. A categorical input stays compact: the
    distinct values become a ``str`` array once and are taken by code (no per-row validation)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes, uniques = _unique_map(series)
        vals, status = _parse_uniques(uniques, fn)
        arr = pd.array(vals, dtype=TEXT).take(codes, allow_fill=True)
        st = status[codes] if len(status) else np.full(len(codes), MISSING, np.int8)
        st = np.where(codes < 0, MISSING, st).astype(np.int8)
        return arr, st
    if fn in _STR_FAST:
        codes, uniques = _unique_map(series)
        vals, status = _parse_uniques(uniques, fn)
        return _expand(codes, vals, status, np.nan)
    return _map_values(series, fn, object, np.nan)


def parse_ids(series: pd.Series) -> tuple[object, np.ndarray]:
    if pd.api.types.is_integer_dtype(series.dtype):
        return series.astype(str).to_numpy(dtype=object), np.zeros(len(series), np.int8)
    return _map_strings(series, _id_value)


def _text_value(v) -> tuple[object, int]:
    if isinstance(v, str):
        return v.strip(), OK
    return _id_value(v)


_STR_FAST.update({_id_value: _id_str, _text_value: str.strip})


def parse_text(series: pd.Series) -> tuple[object, np.ndarray]:
    return _map_strings(series, _text_value)


# =========================================================================== numbers

_NUM_STRIP = re.compile(r"[\s\u00a0\u202f\u2009'’$€£¥₹₩₽¢]")
_CCY_CODE = re.compile(r"^(?:[A-Za-z]{3}|US\$|CA\$|A\$)\s*|\s*(?:[A-Za-z]{3})$")
_DEC_COMMA = re.compile(r"\d,\d{1,2}(?:\D*)$|\d,\d{4,}(?:\D*)$|\d\.\d{3},\d")
_DEC_DOT = re.compile(r"\d\.\d{1,2}(?:\D*)$|\d\.\d{4,}(?:\D*)$|\d,\d{3}\.\d")
_ZENDESK_SCORES = {"good": 5.0, "bad": 1.0, "offered": None, "unoffered": None, "not offered": None}


def decimal_separator(texts, hint: str | None = None) -> str:
    """Decide the decimal separator of a column from its values (``1.234,50`` vs ``1,234.50``)."""
    comma = sum(1 for t in texts if _DEC_COMMA.search(t))
    dot = sum(1 for t in texts if _DEC_DOT.search(t))
    if comma != dot:
        return "," if comma > dot else "."
    return hint if hint in (",", ".") else "."


def number_text(t: str, dec: str = ".") -> tuple[float, bool] | None:
    """Parse one number written by a person: ``$1,234.50``, ``1.234,50 €``, ``(100)``,
    ``12%``, ``1 234``, ``−5``. Returns (value, was_percent) or None."""
    s = t.strip().replace("\u2212", "-").replace("\u2013", "-")
    neg = False
    if s.startswith("(") and s.endswith(")"):
        neg, s = True, s[1:-1].strip()
    pct = "%" in s
    s = s.replace("%", "")
    s = _CCY_CODE.sub("", s.strip())
    s = _NUM_STRIP.sub("", s)
    if s.endswith("-"):
        neg, s = not neg, s[:-1]
    if s.startswith("+"):
        s = s[1:]
    elif s.startswith("-"):
        neg, s = not neg, s[1:]
    if not s:
        return None
    thousands = "," if dec == "." else "."
    if thousands in s:
        head = s.split(dec)[0] if dec in s else s
        if not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+", head) or s.rfind(thousands) > (
                s.rfind(dec) if dec in s else len(s)):
            return None
        s = s.replace(thousands, "")
    s = s.replace(dec, ".")
    if not re.fullmatch(r"\d+(?:\.\d*)?|\.\d+|\d+(?:\.\d*)?[eE][+-]?\d+", s):
        return None
    v = float(s)
    return (-v if neg else v), pct


def parse_numbers(series: pd.Series, decimal_hint: str | None = None, scores: bool = False
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float values, status, was_percent) for a column of numbers in any written form."""
    n = len(series)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        v = series.to_numpy(dtype=float, na_value=np.nan)
        return v, np.where(np.isnan(v), MISSING, OK).astype(np.int8), np.zeros(n, bool)
    if not isinstance(series.dtype, pd.CategoricalDtype):
        arr = series.to_numpy(dtype=object)
        kind = pd.api.types.infer_dtype(arr, skipna=True)
        if kind in ("floating", "integer", "mixed-integer-float", "empty", "decimal"):
            v = pd.to_numeric(pd.Series(arr, dtype=object), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            return v, np.where(np.isnan(v), MISSING, OK).astype(np.int8), np.zeros(n, bool)
    codes, uniques = _unique_map(series)
    m = len(uniques)
    vals = np.full(m, np.nan)
    status = np.zeros(m, np.int8)
    pct = np.zeros(m, bool)
    texts: dict[int, str] = {}
    for i, v in enumerate(uniques):
        if isinstance(v, (bool, np.bool_)):
            status[i] = BAD
        elif isinstance(v, (int, float, np.integer, np.floating)):
            if isinstance(v, float) and math.isnan(v):
                status[i] = MISSING
            else:
                vals[i] = float(v)
        elif isinstance(v, str):
            t = v.strip()
            low = t.lower()
            if low in _NA_TOKENS:
                status[i] = MISSING
            elif scores and low in _ZENDESK_SCORES:
                s = _ZENDESK_SCORES[low]
                if s is None:
                    status[i] = MISSING
                else:
                    vals[i] = s
            else:
                texts[i] = t
        elif v is None:
            status[i] = MISSING
        else:
            status[i] = BAD
    if texts:
        idx = np.fromiter(texts.keys(), dtype=np.int64, count=len(texts))
        strs = pd.Series(list(texts.values()), dtype=object)
        # the decimal separator is decided once for the column ("1.234" is 1234 in a 1.234,50 column)
        has_comma = strs.str.contains(",", regex=False).to_numpy(dtype=bool)
        has_dot = strs.str.contains(".", regex=False).to_numpy(dtype=bool)
        dec = decimal_separator(strs[has_comma | has_dot].tolist(), decimal_hint) if (has_comma | has_dot).any() else "."
        simple = ~has_comma & (~has_dot if dec == "," else True)
        first = np.full(len(strs), np.nan)
        if simple.any():
            first[simple] = pd.to_numeric(strs[simple], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ok = ~np.isnan(first)
        vals[idx[ok]] = first[ok]
        rest = idx[~ok]
        if len(rest):
            rest_texts = [texts[i] for i in rest]
            for i, t in zip(rest, rest_texts):
                r = number_text(t, dec)
                if r is None:
                    status[i] = BAD
                else:
                    vals[i], pct[i] = r[0] / 100 if r[1] else r[0], r[1]
    v, s = _expand(codes, vals, status, np.nan)
    p = pct[codes] if codes is not None and m else (pct if codes is None else np.zeros(n, bool))
    if codes is not None and m:
        p = p & (codes >= 0)
    return v.astype(float), s, p


# =========================================================================== intervals

_INTERVAL_WORDS = {
    "month": 1, "monthly": 1, "mo": 1, "mos": 1, "m": 1, "months": 1, "mth": 1, "per month": 1, "mensual": 1,
    "monatlich": 1, "mensuel": 1,
    "quarter": 3, "quarterly": 3, "q": 3, "quarters": 3, "qtr": 3, "trimestral": 3, "quartalsweise": 3,
    "half year": 6, "half-year": 6, "semiannual": 6, "semi-annual": 6, "semi annual": 6, "biannual": 6,
    "half yearly": 6, "half-yearly": 6, "semester": 6,
    "year": 12, "yearly": 12, "annual": 12, "annually": 12, "yr": 12, "y": 12, "years": 12, "per year": 12,
    "jährlich": 12, "annuel": 12, "anual": 12,
    "week": 12 / 52, "weekly": 12 / 52, "w": 12 / 52, "weeks": 12 / 52, "wk": 12 / 52,
    "day": 12 / 365, "daily": 12 / 365, "d": 12 / 365, "days": 12 / 365,
    "biennial": 24, "two years": 24, "triennial": 36,
}
_INTERVAL_RE = re.compile(r"^(?:every\s+)?(\d+(?:[.,]\d+)?)\s*-?\s*([a-zäé\- ]+?)s?$")


def interval_months(v) -> float | None:
    """Billing interval in months: month/monthly/mo/m/1 -> 1, quarter -> 3, year/annual -> 12,
    "6 months" -> 6, "2 years" -> 24, a plain number is a number of months."""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return float(v) if v > 0 else None
    s = str(v).strip().lower().replace("_", " ")
    if s in _INTERVAL_WORDS:
        return float(_INTERVAL_WORDS[s])
    try:
        f = float(s.replace(",", "."))
        return f if f > 0 else None
    except ValueError:
        pass
    m = _INTERVAL_RE.match(s)
    if m:
        unit = m.group(2).strip()
        base = _INTERVAL_WORDS.get(unit) or _INTERVAL_WORDS.get(unit.rstrip("s"))
        if base:
            n = float(m.group(1).replace(",", "."))
            return n * base if n > 0 else None
    return None


def parse_intervals(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    def fn(v):
        r = interval_months(v)
        return (np.nan, BAD) if r is None else (r, OK)

    v, s = _map_values(series, fn, float, np.nan)
    return v.astype(float), s


# =========================================================================== dates

_B_RE = (r"^(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
         r"(?:[ T,]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,6}))?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?$")
_C_RE = r"^(?P<m>\d{1,2})[/.\-](?P<y>\d{4})$"
_MONTH_NAME = re.compile(r"(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\b")
_DIGITS = re.compile(r"^\d+(?:\.\d+)?$")


class DateInfo:
    def __init__(self) -> None:
        self.order: str | None = None
        self.ambiguous = False
        self.conflict = False


def _serial_to_ns(v: np.ndarray, keep_time: bool) -> tuple[np.ndarray, np.ndarray]:
    """Excel 1900-system serials (and Unix seconds/milliseconds) -> int64 ns since epoch, status."""
    out = np.zeros(len(v), dtype=np.int64)
    st = np.full(len(v), BAD, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        early = (v >= 1) & (v < 60)  # Excel's 1900-01-01..1900-02-28 (before its fake 29 Feb 1900)
        serial = (v > 60) & (v <= 2_958_465)
        unix_s = (v >= 1e9) & (v < 1e11)
        unix_ms = (v >= 1e11) & (v < 1e14)
    epoch_ns = (_EXCEL_EPOCH - np.datetime64("1970-01-01", "ns")).astype(np.int64)
    days = np.where(early, v + 1, v)
    sentinel_serial = 109_574  # 2200-01-01
    big = (serial | early) & (days >= sentinel_serial)
    ok = (serial | early) & ~big
    frac_ns = np.round(days[ok] * 86_400_000) * 1_000_000 if keep_time else np.floor(days[ok]) * _DAY_NS
    out[ok] = epoch_ns + frac_ns.astype(np.int64)
    st[ok] = OK
    st[big] = SENTINEL
    sec = np.where(unix_ms, v / 1000, v)
    u = unix_s | unix_ms
    ub = u & (sec >= 7_258_118_400)
    uo = u & ~ub
    out[uo] = (np.round(sec[uo] * 1000) * 1_000_000).astype(np.int64)
    st[uo] = OK
    st[ub] = SENTINEL
    return out, st


def _components_to_ns(y, mo, d, H=None, M=None, S=None, us=None) -> tuple[np.ndarray, np.ndarray]:
    n = len(y)
    frame = pd.DataFrame({"year": y, "month": mo, "day": d})
    for name, arr in (("hour", H), ("minute", M), ("second", S), ("us", us)):
        frame[name] = 0 if arr is None else np.nan_to_num(np.asarray(arr, dtype=float))
    y_arr = np.asarray(y, dtype=float)
    st = np.full(n, OK, dtype=np.int8)
    st[y_arr >= SENTINEL_YEAR] = SENTINEL
    st[(y_arr < MIN_YEAR) | np.isnan(y_arr)] = BAD
    usable = st == OK
    out = np.zeros(n, dtype=np.int64)
    if usable.any():
        ts = pd.to_datetime(frame[usable], errors="coerce")
        bad = ts.isna().to_numpy()
        vals = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        idx = np.flatnonzero(usable)
        out[idx[~bad]] = vals[~bad]
        st[idx[bad]] = BAD
    return out, st


_ISO_DIGITS = {10: (0, 1, 2, 3, 5, 6, 8, 9), 19: (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)}


def _uniform_iso_format(values: np.ndarray) -> str | None:
    """The strptime format when every value is ``YYYY-MM-DD`` or every value is
    ``YYYY-MM-DD hh:mm:ss`` (or with ``T``), with years in 1900..2199 — what databases and most
    exports write; None otherwise (the general parser then looks at each form).

    The shape is checked on the bytes of all values at once (no per-value Python), so a long
    column of timestamps goes straight to the C parser."""
    n = len(values)
    if n < 1000:  # small columns: the general path is quick enough
        return None
    try:
        raw = values.astype("S20")  # non-ASCII text raises; longer text would not fit in 19 bytes
    except (UnicodeEncodeError, ValueError, TypeError):
        return None
    m = raw.view(np.uint8).reshape(n, 20)
    if m[:, 19].any():
        return None
    if not m[:, 10].any():
        width, fmt = 10, "%Y-%m-%d"
    else:
        sep = m[0, 10]
        if sep not in (ord(" "), ord("T")) or (m[:, 10] != sep).any():
            return None
        if (m[:, 13] != ord(":")).any() or (m[:, 16] != ord(":")).any():
            return None
        width, fmt = 19, f"%Y-%m-%d{chr(sep)}%H:%M:%S"
    if (m[:, 4] != ord("-")).any() or (m[:, 7] != ord("-")).any():
        return None
    digits = m[:, _ISO_DIGITS[width]].astype(np.int16) - ord("0")
    if ((digits < 0) | (digits > 9)).any():
        return None
    years = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    if years.min() < MIN_YEAR or years.max() >= SENTINEL_YEAR:
        return None  # far-future sentinels and too-old years get their own status: general path
    return fmt


def _parse_uniform_iso(values: np.ndarray, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of one ISO shape (see :func:`_uniform_iso_format`) -> (int64 ns, status); an
    impossible date such as 2024-02-30 is BAD, as on the general path."""
    ts = pd.to_datetime(pd.Series(values, dtype=object), format=fmt, errors="coerce")
    good = ts.notna().to_numpy()
    out = np.zeros(len(values), dtype=np.int64)
    out[good] = ts[good].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return out, np.where(good, OK, BAD).astype(np.int8)


def _parse_date_strings(strs: pd.Series, order_opt: str | None, keep_time: bool, info: DateInfo
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Stripped, non-empty strings -> (int64 ns, status)."""
    n = len(strs)
    out = np.zeros(n, dtype=np.int64)
    st = np.full(n, BAD, dtype=np.int8)
    todo = np.ones(n, dtype=bool)
    low = strs.str.lower()
    na = low.isin(_NA_TOKENS).to_numpy()
    st[na], todo[na] = MISSING, False
    digits = strs.str.match(_DIGITS).to_numpy(dtype=bool) & todo
    ymd8 = digits.copy()  # only all-digit strings can be yyyymmdd
    if digits.any():
        ymd8[digits] = strs[digits].str.match(r"^(19|20|21)\d{6}$").to_numpy(dtype=bool)
    numeric = digits & ~ymd8
    if numeric.any():
        o, s = _serial_to_ns(strs[numeric].astype(float).to_numpy(), keep_time)
        out[numeric], st[numeric], todo[numeric] = o, s, False
    # ISO 8601 (and yyyymmdd, yyyy/mm/dd): the C parser does the bulk
    cand = todo & strs.str.match(r"^\d{4}[-/.]?\d{1,2}").to_numpy(dtype=bool)
    if cand.any():
        texts = strs[cand]
        slashed = texts.str.match(r"^\d{4}[/.]").to_numpy(dtype=bool)  # the rest need no rewrite
        if slashed.any():
            texts = texts.copy()
            texts[slashed] = texts[slashed].str.replace(r"^(\d{4})[/.](\d{1,2})[/.]", r"\1-\2-", regex=True)
        iso = pd.to_datetime(texts, format="ISO8601", errors="coerce", utc=True)
        iso = iso.dt.tz_convert(None)
        good = iso.notna().to_numpy()
        years = iso.dt.year.to_numpy(dtype=float, na_value=np.nan)
        idx = np.flatnonzero(cand)
        sent = good & (years >= SENTINEL_YEAR)
        old = good & (years < MIN_YEAR)
        fine = good & ~sent & ~old
        vals = iso[fine].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        out[idx[fine]] = vals
        st[idx[fine]] = OK
        st[idx[sent]] = SENTINEL
        st[idx[old]] = BAD
        todo[idx[good]] = False
        # "9999-12-31" may fail the ns-bounded parser in some pandas versions: look at the year
        years_txt = strs[idx[~good]].str.extract(r"^(\d{4})")[0].astype(float).to_numpy()
        far = idx[~good][years_txt >= SENTINEL_YEAR]
        st[far], todo[far] = SENTINEL, False
    # d/m/y or m/d/y, decided per column
    cand = todo.copy()
    if cand.any():
        ext = strs[cand].str.extract(_B_RE)
        hit = ext["a"].notna().to_numpy()
        if hit.any():
            e = ext[hit]
            a = e["a"].astype(float).to_numpy()
            b = e["b"].astype(float).to_numpy()
            order = order_opt if order_opt in ("dmy", "mdy") else None
            if order is None:
                a_day, b_day = int((a > 12).sum()), int((b > 12).sum())
                if a_day and not b_day:
                    order = "dmy"
                elif b_day and not a_day:
                    order = "mdy"
                elif a_day and b_day:
                    order = "dmy" if a_day >= b_day else "mdy"
                    info.conflict = True
                else:
                    order = "dmy" if (e["sep"] == ".").all() else "mdy"
                    info.ambiguous = bool((a != b).any())
            info.order = order
            day, mon = (a, b) if order == "dmy" else (b, a)
            y = e["y"].astype(float).to_numpy()
            y = np.where(y < 100, np.where(y < 69, 2000 + y, 1900 + y), y)
            H = e["H"].astype(float).to_numpy()
            ampm = e["ampm"].fillna("").str.lower().str[0].to_numpy(dtype=object)
            H = np.where((ampm == "p") & (H < 12), H + 12, np.where((ampm == "a") & (H == 12), 0, H))
            M = e["M"].astype(float).to_numpy()
            S = e["S"].astype(float).to_numpy()
            us = e["f"].fillna("0").str.ljust(6, "0").astype(float).to_numpy()
            o, s = _components_to_ns(y, mon, day, H, M, S, us)
            idx = np.flatnonzero(cand)[hit]
            out[idx], st[idx], todo[idx] = o, s, False
    cand = todo.copy()
    if cand.any():
        ext = strs[cand].str.extract(_C_RE)
        hit = ext["m"].notna().to_numpy()
        if hit.any():
            e = ext[hit]
            o, s = _components_to_ns(e["y"].astype(float).to_numpy(), e["m"].astype(float).to_numpy(),
                                     np.ones(int(hit.sum())))
            idx = np.flatnonzero(cand)[hit]
            out[idx], st[idx], todo[idx] = o, s, False
    # month names ("Jan 2024", "15 Jan 2024", "January 5, 2024"): dateutil, one value at a time
    rest = np.flatnonzero(todo)
    if len(rest):
        from dateutil import parser as du

        default = dt.datetime(2000, 1, 1)
        dayfirst = (info.order or order_opt) == "dmy"
        for i in rest:
            t = strs.iat[i]
            if not _MONTH_NAME.search(t):
                continue
            try:
                d = du.parse(t, default=default, dayfirst=dayfirst)
            except (ValueError, OverflowError):
                continue
            if d.tzinfo is not None:
                d = d.astimezone(dt.timezone.utc).replace(tzinfo=None)
            if d.year >= SENTINEL_YEAR:
                st[i] = SENTINEL
            elif d.year >= MIN_YEAR:
                out[i] = pd.Timestamp(d).as_unit("ns").value
                st[i] = OK
    return out, st


def parse_dates(series: pd.Series, keep_time: bool = False, order: str | None = None
                ) -> tuple[np.ndarray, np.ndarray, DateInfo]:
    """(datetime64[ns] values, status, info) for a column of dates in any common form.

    Status SENTINEL marks far-future dates (year >= 2200); the caller decides what they mean.
    """
    info = DateInfo()
    n = len(series)
    if isinstance(series.dtype, pd.PeriodDtype):
        series = series.dt.start_time
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert(None)
    if pd.api.types.is_datetime64_any_dtype(series.dtype) and n > 50_000:
        # long tables (a melted wide sheet) repeat few instants: parse each distinct one once
        native = series.to_numpy()  # its own unit: year 9999 must not overflow nanoseconds
        codes, uniq = pd.factorize(native.view(np.int64))
        if len(uniq) * 4 < n:
            o, st, info = parse_dates(pd.Series(uniq.view(native.dtype)), keep_time, order)
            return o[codes], st[codes], info
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        years = series.dt.year.to_numpy(dtype=float, na_value=np.nan)
        st = np.where(series.isna().to_numpy(), MISSING, OK).astype(np.int8)
        st[years >= SENTINEL_YEAR] = SENTINEL
        st[years < MIN_YEAR] = BAD
        usable = st == OK
        out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        if usable.any():
            out[usable] = series[usable].to_numpy(dtype="datetime64[ns]")
        if not keep_time:
            out = out.astype("datetime64[D]").astype("datetime64[ns]")
        return out, st, info
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        v = series.to_numpy(dtype=float, na_value=np.nan)
        o, st = _serial_to_ns(v, keep_time)
        st[np.isnan(v)] = MISSING
        return _finish(o, st, keep_time), st, info
    codes, uniques = _unique_map(series)
    m = len(uniques)
    o = np.zeros(m, dtype=np.int64)
    st = np.full(m, BAD, dtype=np.int8)
    # sort each distinct value by type
    kind = pd.api.types.infer_dtype(uniques, skipna=False) if m else "empty"
    blank = None
    if kind not in ("string", "empty"):  # a workbook's date column: date cells, maybe empty ("") cells
        blank = np.asarray(uniques == "", dtype=bool)
        rest = uniques[~blank] if blank.any() else uniques
        if not (len(rest) and pd.api.types.infer_dtype(rest, skipna=True) in ("datetime", "datetime64", "date")):
            blank = None
    if kind == "string":  # the usual case: all text
        is_str, is_num, is_dt = np.ones(m, bool), np.zeros(m, bool), np.zeros(m, bool)
        is_na = np.fromiter((not v.strip() for v in uniques), dtype=bool, count=m)
    elif blank is not None:  # dates and times (and missing values): no per-value type checks
        is_na = blank | pd.isna(uniques)
        is_str, is_num, is_dt = np.zeros(m, bool), np.zeros(m, bool), ~is_na
    else:
        is_str = np.fromiter((isinstance(v, str) for v in uniques), dtype=bool, count=m)
        is_num = np.fromiter((isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                              for v in uniques), dtype=bool, count=m)
        uniques = np.array([v.start_time if isinstance(v, pd.Period) else v for v in uniques], dtype=object) \
            if any(isinstance(v, pd.Period) for v in uniques[:1000]) else uniques
        is_dt = np.fromiter((isinstance(v, (dt.date, np.datetime64)) for v in uniques), dtype=bool, count=m)
        is_na = np.fromiter((_is_missing_scalar(v) for v in uniques), dtype=bool, count=m) if m else np.zeros(0, bool)
    st[is_na] = MISSING
    sel = is_num & ~is_na
    if sel.any():
        o[sel], st[sel] = _serial_to_ns(uniques[sel].astype(float), keep_time)
    sel = is_dt & ~is_na
    if sel.any():
        vals = uniques[sel]
        # one vectorised parse (naive values count as UTC, as before); the year decides the status
        ts = pd.to_datetime(pd.Series(vals, dtype=object), errors="coerce", utc=True).dt.tz_convert(None)
        parsed = ts.notna().to_numpy()
        years = ts.dt.year.to_numpy(dtype=float, na_value=np.nan)
        # the value's own year where the parse failed (beyond what pandas holds) or where a time
        # zone could have moved it across a boundary year
        again = ~parsed | np.isin(years, (MIN_YEAR - 1, MIN_YEAR, SENTINEL_YEAR - 1, SENTINEL_YEAR))
        if again.any():
            years[again] = [v.year if isinstance(v, dt.date) else pd.Timestamp(v).year for v in vals[again]]
        sub_st = np.full(len(vals), OK, dtype=np.int8)
        sub_st[years >= SENTINEL_YEAR] = SENTINEL
        sub_st[years < MIN_YEAR] = BAD
        sub_o = np.zeros(len(vals), dtype=np.int64)
        good = sub_st == OK
        sub_st[good & ~parsed] = BAD
        fine = good & parsed
        if fine.any():
            sub_o[fine] = ts[fine].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        o[sel], st[sel] = sub_o, sub_st
    sel = is_str & ~is_na
    fmt = _uniform_iso_format(uniques[sel]) if sel.any() else None
    if fmt is not None:
        o[sel], st[sel] = _parse_uniform_iso(uniques[sel], fmt)
    elif sel.any():
        strs = pd.Series(uniques[sel], dtype=object).str.strip()
        o[sel], st[sel] = _parse_date_strings(strs, order, keep_time, info)
    o, st = _expand(codes, o, st, 0)
    return _finish(o, st, keep_time), st, info


def _finish(ns: np.ndarray, st: np.ndarray, keep_time: bool) -> np.ndarray:
    out = ns.astype("datetime64[ns]")
    out[st != OK] = np.datetime64("NaT")
    if not keep_time:
        out = out.astype("datetime64[D]").astype("datetime64[ns]")
    return out


# =========================================================================== reporting

class _Reporter:
    """Builds row-level problems with the file/sheet/row/column the user sees, capped per
    (code, column) at :data:`MAX_DETAIL` rows plus one summary."""

    def __init__(self, table: str, file, sheet, rows: np.ndarray, source_columns: dict) -> None:
        self.table, self.file, self.sheet, self.rows = table, file, sheet, rows
        self.source_columns = source_columns
        self.problems: list[Problem] = []
        self.counts: Counter = Counter()

    def column(self, fld: str, idx: np.ndarray | None = None):
        src = self.source_columns.get(fld, fld)
        if isinstance(src, str) or idx is None:
            return src if isinstance(src, str) else fld
        return np.asarray(src, dtype=object)[idx]

    def rows_problem(self, code: Code, fld: str, idx: np.ndarray, values, message: Callable[[str], str],
                     severity: Severity = Severity.WARNING) -> None:
        if len(idx) == 0:
            return
        cols = self.column(fld, idx)
        per_row = not isinstance(cols, str)
        key = (code, fld)
        done = self.counts[key]
        room = max(MAX_DETAIL - done, 0)
        shown_idx = idx[:room]
        if isinstance(values, pd.Series):
            sub = values.iloc[shown_idx].tolist()
        elif values is not None:
            sub = list(np.asarray(values, dtype=object)[shown_idx])
        for k, i in enumerate(shown_idx):
            v = None if values is None else sub[k]
            shown = None if v is None or _is_missing_scalar(v) else _show(v)
            self.problems.append(Problem(code, message(shown or ""), severity, file=self.file, sheet=self.sheet,
                                         row=int(self.rows[i]), column=str(cols[k]) if per_row else cols,
                                         value=shown, table=self.table))
        self.counts[key] += len(idx)
        extra = len(idx) - room
        if extra > 0:
            col = self.column(fld)
            self.problems.append(Problem(
                code, f"... and {extra} more rows with the same problem in column {col!r} (only the first "
                      f"{MAX_DETAIL} are listed).", severity, file=self.file, sheet=self.sheet,
                column=col, value=str(extra), table=self.table))

    def one(self, code: Code, message: str, severity: Severity, fld: str | None = None, **kw) -> None:
        self.problems.append(Problem(code, message, severity, file=self.file, sheet=self.sheet,
                                     column=self.column(fld) if fld else None, table=self.table, **kw))


# =========================================================================== clean_frame

def _empty_column(f: Field, n: int) -> pd.Series:
    if f.kind in ("date", "datetime"):
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    if f.kind in ("id", "text", "category"):
        return pd.Series(pd.array([np.nan], dtype=TEXT).take(np.full(n, -1), allow_fill=True))
    return pd.Series(np.full(n, np.nan))


def _to_series(f: Field, values) -> pd.Series:
    if f.kind in ("id", "text", "category"):
        return pd.Series(values, dtype=TEXT, copy=False)
    if f.kind in ("date", "datetime"):
        return pd.Series(values.astype("datetime64[ns]"))
    return pd.Series(values.astype(float))


def _cents_fields(options: dict, source_columns: dict) -> set[str]:
    cents = options.get("cents")
    out: set[str] = set()
    if cents is True:
        out.update({"mrr", "amount", "amount_before", "amount_after", "cac"})
    elif isinstance(cents, (list, tuple, set)):
        out.update(cents)
    for fld, src in source_columns.items():
        if isinstance(src, str) and re.search(r"(?i)(_cents\b|\(cents\)|\bcents$|\bin cents\b)", src):
            out.add(fld)
    return out


def clean_frame(frame: pd.DataFrame, table: str, file: str | None = None, sheet: str | None = None,
                row_numbers=None, options: dict | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse a frame whose columns already carry canonical names into a clean canonical table.

    Options: ``source_columns`` {field: source header (or one per row, for melted wide
    sheets)} so problems name the user's column; ``date_order`` ("dmy"/"mdy") for ambiguous
    dates; ``decimal`` ("," or "."); ``cents`` (True or a list of fields); ``end_date_inclusive``.
    Returns (clean frame with every field in schema order plus ``_row``, problems).
    """
    t = TABLES[table]
    opts = dict(options or {})
    n = len(frame)
    rows = np.asarray(row_numbers, dtype=np.int64) if row_numbers is not None else np.arange(2, n + 2, dtype=np.int64)
    source_columns = dict(opts.get("source_columns") or {})
    rep = _Reporter(table, file, sheet, rows, source_columns)
    aside = np.zeros(n, dtype=bool)
    out: dict[str, pd.Series] = {}
    cents = _cents_fields(opts, source_columns)
    frame = frame.reset_index(drop=True)

    missing_required = [f for f in t.required if f not in frame.columns]
    if missing_required:
        rep.one(Code.MISSING_COLUMN,
                f"No column holds {', '.join(missing_required)}, which the {table} table needs; "
                f"none of its {n} rows could be used.", Severity.ERROR)
        empty = pd.DataFrame({f.name: _empty_column(f, 0) for f in t.fields})
        empty[ROW_COLUMN] = np.zeros(0, dtype=np.int64)
        return empty, rep.problems

    derived = {k: v for k, v in DERIVED_FIELDS.get(table, {}).items() if k in frame.columns}
    fields = list(t.fields) + [Field(k, v) for k, v in derived.items()]
    for f in fields:
        if f.name not in frame.columns:
            out[f.name] = _empty_column(f, n)
            continue
        s = frame[f.name]
        raw = s  # source values, converted only for the rows a problem names
        code = Code.BAD_NUMBER
        what = "a number"
        if f.kind == "id":
            values, status = parse_ids(s)
        elif f.kind in ("text", "category"):
            values, status = parse_text(s)
        elif f.kind in ("date", "datetime"):
            values, status, info = parse_dates(s, keep_time=f.kind == "datetime", order=opts.get("date_order"))
            code, what = Code.BAD_DATE, "a date"
            if info.ambiguous and not opts.get("date_order"):
                rep.one(Code.AMBIGUOUS_DATE_FORMAT,
                        f"Dates such as 03/04/2024 could be day-first or month-first; they were read as "
                        f"{'day/month/year' if info.order == 'dmy' else 'month/day/year'}. Set the date_order "
                        "option (\"dmy\" or \"mdy\") if that is wrong.", Severity.INFO, f.name)
            if f.name in SENTINEL_FIELDS:
                status = np.where(status == SENTINEL, MISSING, status).astype(np.int8)
        elif f.kind == "interval":
            values, status = parse_intervals(s)
            code, what = Code.BAD_INTERVAL, "a billing interval (month, quarter, year or a number of months)"
        else:
            values, status, pct = parse_numbers(s, opts.get("decimal"), scores=f.kind == "score")
            if f.kind == "fraction":
                plain = (status == OK) & ~pct
                if plain.any() and np.nanmax(np.where(plain, values, np.nan)) > 1:
                    values = np.where(plain, values / 100, values)  # "20" in a discount column is 20 %
                over = (status == OK) & ((values > 1) | (values < 0))
                status = np.where(over, BAD, status).astype(np.int8)
            if f.name in cents:
                values = values / 100
        status = np.where(status == SENTINEL, BAD, status).astype(np.int8)
        bad = status == BAD
        if f.required:
            miss = (status == MISSING) & ~aside
            if table == "renewals" and f.name == "outcome":
                miss = np.zeros(n, bool)  # an empty outcome means the renewal is still open
            rep.rows_problem(Code.MISSING_VALUE, f.name, np.flatnonzero(miss), None,
                             lambda v, f=f: f"The {f.name.replace('_', ' ')} is empty, so the row was set aside.")
            rep.rows_problem(code, f.name, np.flatnonzero(bad & ~aside), raw,
                             lambda v, what=what: _bad_message(v, what, set_aside=True))
            aside |= miss | bad
        elif bad.any():
            rep.rows_problem(code, f.name, np.flatnonzero(bad), raw,
                             lambda v, what=what: _bad_message(v, what, set_aside=False))
        if bad.any():
            values = np.array(values, dtype=object if f.kind in ("id", "text", "category") else None)
            values[bad] = np.datetime64("NaT") if f.kind in ("date", "datetime") else np.nan
        out[f.name] = _to_series(f, values)

    result = pd.DataFrame(out)
    _table_rules(table, result, frame, rep, aside, opts)
    keep = ~aside
    columns = [f.name for f in t.fields]
    result = result[columns] if keep.all() else result.loc[keep, columns].reset_index(drop=True)
    result[ROW_COLUMN] = rows[keep]
    return result, rep.problems


def _bad_message(v: str, what: str, set_aside: bool) -> str:
    tail = "the row was set aside." if set_aside else "the value was left empty."
    if v.strip().lower() in _EXCEL_ERRORS:
        return f"The cell shows the Excel error {v}; {tail}"
    return f"{v!r} is not {what}; {tail}"


# =========================================================================== table rules

def _table_rules(table: str, out: pd.DataFrame, frame: pd.DataFrame, rep: _Reporter, aside: np.ndarray,
                 opts: dict) -> None:
    """Checks that need several fields (mutates ``out`` and ``aside`` in place)."""
    if "currency" in out:
        out["currency"] = _currency_codes(out["currency"])
    if table == "mrr":
        out["month"] = _month_start(out["month"].to_numpy())
        _negative_mrr(out["mrr"], rep, aside, frame)
    elif table == "subscriptions":
        _subscriptions(out, frame, rep, aside, opts)
    elif table == "surveys":
        _surveys(out, frame, rep, aside)
    elif table == "renewals":
        _renewals(out, frame, rep, aside)
    elif table == "tickets":
        created = out["created_at"]
        for pseudo, unit in (("first_response_minutes", "min"), ("first_response_seconds", "s")):
            if pseudo in out:
                dur = pd.to_timedelta(out[pseudo], unit=unit)
                fill = out["first_response_at"].isna() & dur.notna()
                out.loc[fill, "first_response_at"] = created[fill] + dur[fill]


def _month_start(values: np.ndarray) -> np.ndarray:
    """First day of the month of each datetime64 value, converting each distinct value once
    (numpy's calendar conversion is slow per element; a long MRR table has few months)."""
    values = values.astype("datetime64[ns]", copy=False)
    if len(values) <= 50_000:
        return values.astype("datetime64[M]").astype("datetime64[ns]")
    codes, uniq = pd.factorize(values.view(np.int64))
    return uniq.view("datetime64[ns]").astype("datetime64[M]").astype("datetime64[ns]")[codes]


def _raw(frame: pd.DataFrame, fld: str) -> pd.Series | None:
    return frame[fld] if fld in frame.columns else None


def _negative_mrr(mrr: pd.Series, rep: _Reporter, aside: np.ndarray, frame: pd.DataFrame) -> None:
    neg = (mrr.to_numpy() < 0) & ~aside
    rep.rows_problem(Code.NEGATIVE_MRR, "mrr", np.flatnonzero(neg), _raw(frame, "mrr"),
                     lambda v: f"MRR {v} is negative (a credit or refund?); the row was set aside.")
    aside |= neg


def _subscriptions(out: pd.DataFrame, frame: pd.DataFrame, rep: _Reporter, aside: np.ndarray, opts: dict) -> None:
    interval = out["interval"].to_numpy(dtype=float)
    count = out["interval_count"].to_numpy(dtype=float)
    interval = np.where(np.isnan(count) | (count <= 0), interval, interval * count)
    out["interval"] = interval  # months per billing period, interval_count already applied
    if opts.get("end_date_inclusive"):
        out["end_date"] = out["end_date"] + pd.Timedelta(days=1)
    amount = out["amount"].to_numpy(dtype=float)
    qty = np.nan_to_num(out["quantity"].to_numpy(dtype=float), nan=1.0)
    disc = np.nan_to_num(out["discount"].to_numpy(dtype=float), nan=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        derived = amount * qty * (1 - disc) / interval
    mrr = out["mrr"].to_numpy(dtype=float)
    mrr = np.where(np.isnan(mrr), derived, mrr)
    out["mrr"] = mrr
    none = np.isnan(mrr) & ~aside
    rep.rows_problem(Code.MISSING_VALUE, "mrr", np.flatnonzero(none), None,
                     lambda v: "The row has neither an MRR nor an amount with a billing interval; it was set aside.")
    aside |= none
    _negative_mrr(out["mrr"], rep, aside, frame)
    start = out["start_date"].to_numpy()
    end = out["end_date"].to_numpy()
    with np.errstate(invalid="ignore"):
        before = (end < start) & ~aside
    src_end = _raw(frame, "end_date")
    rep.rows_problem(Code.END_BEFORE_START, "end_date", np.flatnonzero(before), src_end,
                     lambda v: f"The end date {v} is before the start date; the row was set aside.")
    aside |= before


def _surveys(out: pd.DataFrame, frame: pd.DataFrame, rep: _Reporter, aside: np.ndarray) -> None:
    raw_type = out["survey"]
    kind = raw_type.str.strip().str.lower().map(SURVEY_TYPES)
    unknown = (kind.isna() & raw_type.notna()).to_numpy() & ~aside
    rep.rows_problem(Code.UNKNOWN_CATEGORY, "survey", np.flatnonzero(unknown), raw_type,
                     lambda v: f"Survey type {v!r} is not NPS, CSAT or CES; the row was set aside.")
    aside |= unknown
    out["survey"] = kind.astype(TEXT)
    score = out["score"].to_numpy(dtype=float)
    raw_score = _raw(frame, "score")
    for name, (lo, hi) in SURVEY_SCALES.items():
        sel = (kind == name).to_numpy() & ~aside & ~np.isnan(score)
        if not sel.any():
            continue
        v = score[sel]
        outside = (v < lo) | (v > hi)
        n_out = int(outside.sum())
        label = name.upper()
        col = rep.column("score")
        col = col if isinstance(col, str) else "score"
        if n_out >= max(3, 0.05 * len(v)) and v.min() >= 0 and v.max() <= 10 and hi < 10:
            rep.one(Code.SCALE_MISMATCH,
                    f"{label} answers go up to {_show(v.max())}, so they look like a 0-10 or 1-10 scale, but {label} "
                    f"is measured on {lo}-{hi}. The {int(sel.sum())} {label} rows were set aside rather than "
                    "rescaled; convert the answers or map the column to the right survey type.",
                    Severity.WARNING, "score", value=str(int(sel.sum())))
            aside |= sel
        elif n_out:
            idx = np.flatnonzero(sel)[outside]
            rep.rows_problem(Code.SCORE_OUT_OF_SCALE, "score", idx, raw_score,
                             lambda v, lo=lo, hi=hi, label=label: f"Score {v} is outside the {label} scale "
                                                                  f"{lo}-{hi}; the row was set aside.")
            aside[idx] = True
        else:
            smaller = {"nps": 5, "ces": 5}.get(name)
            if smaller is not None and len(v) >= 10 and v.max() <= smaller:
                rep.one(Code.SCALE_MISMATCH,
                        f"All {len(v)} {label} answers are {smaller} or lower: the survey may have used a "
                        f"1-{smaller} scale, not {lo}-{hi}. The answers were kept as they are; check the "
                        "survey before trusting the score.", Severity.WARNING, "score", value=str(len(v)))


def _renewals(out: pd.DataFrame, frame: pd.DataFrame, rep: _Reporter, aside: np.ndarray) -> None:
    raw = out["outcome"]
    mapped = raw.fillna("").str.strip().str.lower().map(RENEWAL_OUTCOMES)
    unknown = mapped.isna().to_numpy() & ~aside
    rep.rows_problem(Code.UNKNOWN_CATEGORY, "outcome", np.flatnonzero(unknown), raw,
                     lambda v: f"Renewal outcome {v!r} is not renewed, churned or open; the row was set aside.")
    aside |= unknown
    out["outcome"] = mapped.astype(TEXT)


_CCY_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF", "A$": "AUD",
                "C$": "CAD", "CA$": "CAD", "R$": "BRL", "KR": "SEK", "ZŁ": "PLN"}


def _currency_codes(s: pd.Series) -> pd.Series:
    present = s.dropna()
    if present.empty:
        return s
    table = {v: _CCY_SYMBOLS.get(v.strip().upper(), v.strip().upper()) for v in pd.unique(present)}
    return s.map(table).astype(TEXT)
