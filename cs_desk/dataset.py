"""The loaded portfolio: canonical tables, where they came from, and every problem found."""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterable, TypeVar

import numpy as np
import pandas as pd

from .ids import factorize_ids
from .problems import Problem, Severity
from .schema import TABLES

T = TypeVar("T")
#: derived results kept per cache name (the most recently used ones)
CACHE_SLOTS = 4
#: :meth:`Dataset.codes` keeps one entry per (table, column) asked for: a bounded set (the
#: schema's id and category columns), used by the loading checks, KPIs and snapshots alike
CODES_SLOTS = 64


@dataclass(frozen=True)
class Source:
    """Where one canonical table came from and how its columns were mapped."""

    file: str
    sheet: str | None
    table: str
    rows: int  # data rows read (header excluded)
    rows_set_aside: int = 0
    mapping: dict[str, str] = field(default_factory=dict)  # canonical field -> source column
    confidence: float = 1.0  # 0..1, how sure the recognition is
    unmapped: tuple[str, ...] = ()  # source columns no field reads
    header_row: int = 1  # 1-based row of the header as the user sees it
    layout: str = "long"  # "long" or "wide" (one column per month, MRR only)


@dataclass
class Dataset:
    """Canonical, typed tables (see :mod:`cs_desk.schema`) plus sources and problems.

    ``tables[name]`` holds only canonical columns, already parsed: ids as ``str``, dates as
    ``datetime64[ns]``, numbers as ``float64``. Rows that could not be used are not in the
    tables; each of them is a :class:`Problem` in ``problems``.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: list[Source] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    def has(self, name: str) -> bool:
        frame = self.tables.get(name)
        return frame is not None and len(frame) > 0

    def table(self, name: str) -> pd.DataFrame:
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}")
        frame = self.tables.get(name)
        if frame is None:
            return pd.DataFrame(columns=list(TABLES[name].field_names))
        return frame

    @property
    def has_revenue(self) -> bool:
        return self.has("mrr") or self.has("subscriptions")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    def add_problems(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def rows_set_aside(self) -> dict[str, int]:
        """Per table, how many source rows were set aside (for the KPI output's summary)."""
        out: dict[str, int] = {}
        for s in self.sources:
            out[s.table] = out.get(s.table, 0) + s.rows_set_aside
        return out

    def account_ids(self) -> pd.Index:
        """Every account id seen in any table, sorted."""
        ids: set[str] = set()
        for frame in self.tables.values():
            if "account_id" in frame:
                ids.update(frame["account_id"].dropna().unique().tolist())
        return pd.Index(sorted(ids), name="account_id")

    # -- derived data, computed once --------------------------------------------------------
    def cached(self, name: str, key: Hashable, tables: Iterable[str], build: Callable[[], T],
               slots: int = CACHE_SLOTS) -> T:
        """``build()``, computed once for ``(name, key)`` as long as ``tables`` are unchanged.

        For derived data the engine needs again and again (the MRR grid, the account codes of
        event rows ...). A table counts as changed when ``tables[name]`` is another frame or
        its shape or columns changed; frames are not expected to be modified in place. The
        result is shared between callers, who must not modify it. Up to ``slots`` keys are kept
        per name (the most recently used); the cache is not pickled. Two threads asking for
        the same key build it once (the second waits for the first).
        """
        stamp = tuple(self._stamp(t) for t in tables)

        def lookup():
            with self._cache_lock():
                entries = self.__dict__.setdefault("_derived", {}).setdefault(name, OrderedDict())
                hit = entries.get(key)
                if hit is not None and _same_stamp(hit[0], stamp):
                    entries.move_to_end(key)
                    return entries, hit
                return entries, None

        entries, hit = lookup()
        if hit is not None:
            return hit[1]
        # one build per key at a time: a thread that asks for what another is building waits for
        # it (the report's two lanes need the same account codes) instead of building it again.
        # The build runs outside the cache lock, since builds use other cached data.
        with self._cache_lock():
            building = self.__dict__.setdefault("_derived_building", {})
            key_lock = building.setdefault((name, key), threading.RLock())
        with key_lock:
            entries, hit = lookup()
            if hit is not None:
                return hit[1]
            value = build()
            with self._cache_lock():
                entries[key] = (stamp, value)
                entries.move_to_end(key)
                while len(entries) > slots:
                    entries.popitem(last=False)
        return value

    def codes(self, table: str, column: str = "account_id") -> tuple[np.ndarray, np.ndarray]:
        """``pd.factorize`` of one column of a table — int64 codes (-1: missing) and the distinct
        values (object array, in order of first appearance) — computed once until the table is
        replaced (:func:`cs_desk.ids.factorize_ids`). Loading checks, KPIs and snapshots all
        start from these; the arrays are shared, do not modify them."""
        def build() -> tuple[np.ndarray, np.ndarray]:
            codes, uniques = factorize_ids(self.table(table)[column])
            codes.setflags(write=False)  # shared by every caller
            uniques.setflags(write=False)
            return codes, uniques

        return self.cached("codes", (table, column), (table,), build, slots=CODES_SLOTS)

    def clear_cache(self) -> None:
        """Forget the derived data (see :meth:`cached`)."""
        self.__dict__.pop("_derived", None)

    def _cache_lock(self) -> threading.Lock:
        return self.__dict__.setdefault("_derived_lock", threading.Lock())

    def _stamp(self, name: str):
        frame = self.tables.get(name)
        if frame is None:
            return None
        return weakref.ref(frame), frame.shape, tuple(frame.columns)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_derived", None)
        state.pop("_derived_lock", None)
        state.pop("_derived_building", None)
        return state

    @classmethod
    def from_frames(cls, **frames: pd.DataFrame) -> "Dataset":
        """Build a dataset from canonical frames (tests, the add-in, the API).

        Frames go through the same cleaning as files (see :func:`cs_desk.io.clean.clean_frame`),
        so values are parsed and bad rows become problems.
        """
        from .io.clean import clean_frame  # local: io imports dataset

        ds = cls()
        for name, frame in frames.items():
            if frame is None:
                continue
            cleaned, problems = clean_frame(frame, name, file="<data>", sheet=name)
            ds.tables[name] = cleaned
            ds.problems.extend(problems)
            ds.sources.append(Source(file="<data>", sheet=name, table=name, rows=len(frame),
                                     rows_set_aside=len(frame) - len(cleaned),
                                     mapping={c: c for c in cleaned.columns}))
        from .io.validate import cross_validate

        ds.problems.extend(cross_validate(ds))
        return ds


def _same_stamp(a: tuple, b: tuple) -> bool:
    """Table stamps equal: the same frame objects (alive), shapes and columns."""
    for x, y in zip(a, b):
        if x is None or y is None:
            if x is not y:
                return False
        elif x[0]() is None or x[0]() is not y[0]() or x[1:] != y[1:]:
            return False
    return len(a) == len(b)
