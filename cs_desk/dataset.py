"""The loaded portfolio: canonical tables, where they came from, and every problem found."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd

from .problems import Problem, Severity
from .schema import TABLES


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
