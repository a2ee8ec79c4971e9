"""Calendar periods and the snapshot instants they compare (DESIGN.md, "Time").

A period is a union of calendar months. Its ``start`` is the instant "first day of its first
month" and its ``end`` the instant "first day after its last month"; KPIs for the period compare
the MRR snapshot at ``start`` with the one at ``end``. Event tables count rows whose date lies in
``[start, end)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

GRANULARITIES = ("month", "quarter", "year")


@dataclass(frozen=True, order=True)
class Period:
    start: pd.Timestamp
    end: pd.Timestamp
    label: str
    kind: str = "month"

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    def contains(self, ts: pd.Timestamp) -> bool:
        return self.start <= ts < self.end

    def __str__(self) -> str:
        return self.label


def month_start(value) -> pd.Timestamp:
    """First instant of the month containing ``value`` (a date, Timestamp or 'YYYY-MM' text)."""
    ts = pd.Timestamp(value)
    return pd.Timestamp(year=ts.year, month=ts.month, day=1)


def add_months(ts: pd.Timestamp, n: int) -> pd.Timestamp:
    total = ts.year * 12 + (ts.month - 1) + n
    return pd.Timestamp(year=total // 12, month=total % 12 + 1, day=1)


_MONTH_ARG = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


def parse_month(text: str) -> pd.Timestamp:
    """Parse a ``YYYY-MM`` command-line month. Raises ValueError with a plain message."""
    m = _MONTH_ARG.match(str(text))
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2025-03")
    return pd.Timestamp(year=int(m.group(1)), month=int(m.group(2)), day=1)


def label(start: pd.Timestamp, kind: str) -> str:
    if kind == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if kind == "quarter":
        return f"{start.year:04d}Q{(start.month - 1) // 3 + 1}"
    if kind == "year":
        return f"{start.year:04d}"
    raise ValueError(f"unknown granularity {kind!r}; use one of {', '.join(GRANULARITIES)}")


def make_periods(first_month, last_month, kind: str = "month") -> list[Period]:
    """Periods of ``kind`` covering the months ``first_month`` .. ``last_month`` (inclusive).

    Quarters and years are calendar quarters/years; one that is only partly inside the range is
    cut to the months inside it (its label gets no marker, its ``start``/``end`` say which
    months it covers), so a range never invents months the data does not cover.
    """
    if kind not in GRANULARITIES:
        raise ValueError(f"unknown granularity {kind!r}; use one of {', '.join(GRANULARITIES)}")
    first = month_start(first_month)
    last = month_start(last_month)
    if last < first:
        return []
    stop = add_months(last, 1)
    step = {"month": 1, "quarter": 3, "year": 12}[kind]
    periods: list[Period] = []
    cursor = first
    while cursor < stop:
        if kind == "month":
            block_start = cursor
        elif kind == "quarter":
            block_start = pd.Timestamp(year=cursor.year, month=(cursor.month - 1) // 3 * 3 + 1, day=1)
        else:
            block_start = pd.Timestamp(year=cursor.year, month=1, day=1)
        block_end = min(add_months(block_start, step), stop)
        periods.append(Period(cursor, block_end, label(block_start, kind), kind))
        cursor = block_end
    return periods


def month_index(instants: pd.DatetimeIndex, ts: pd.Timestamp) -> int:
    """Position of instant ``ts`` in ``instants`` (month starts); -1 when outside."""
    pos = instants.searchsorted(ts)
    if pos < len(instants) and instants[pos] == ts:
        return int(pos)
    return -1
