"""Data problems as records: one shape for every reader, validator and KPI.

Every problem names where it is (file, sheet, row as the user sees it, column), a code from
:class:`Code`, a severity and a plain sentence. Nothing in the engine raises on bad *data*; it
returns problems next to its result. Fatal problems (``Severity.ERROR`` on a whole file) mean
nothing sensible can be computed from that source.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Iterable

import pandas as pd


class Severity(str, Enum):
    ERROR = "error"  # the file/table could not be used at all
    WARNING = "warning"  # rows or values were set aside; results are computed without them
    INFO = "info"  # worth knowing, nothing was set aside

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


class Code(str, Enum):
    # files
    FILE_NOT_FOUND = "file_not_found"
    FILE_UNREADABLE = "file_unreadable"
    FILE_ENCRYPTED = "file_encrypted"
    FILE_TOO_LARGE = "file_too_large"  # zip bomb / decompressed size bound
    UNSUPPORTED_FORMAT = "unsupported_format"  # legacy .xls, HTML disguised as Excel ...
    EMPTY_SHEET = "empty_sheet"
    SHEET_NOT_FOUND = "sheet_not_found"
    SHEET_NOT_RECOGNISED = "sheet_not_recognised"
    FORMULA_WITHOUT_VALUE = "formula_without_value"
    # columns / mapping
    MISSING_COLUMN = "missing_column"
    AMBIGUOUS_DATE_FORMAT = "ambiguous_date_format"
    MAPPING_INVALID = "mapping_invalid"
    # values / rows
    BAD_DATE = "bad_date"
    BAD_NUMBER = "bad_number"
    MISSING_VALUE = "missing_value"
    NEGATIVE_MRR = "negative_mrr"
    END_BEFORE_START = "end_before_start"
    DUPLICATE_ROW = "duplicate_row"
    UNKNOWN_ACCOUNT = "unknown_account"
    SCORE_OUT_OF_SCALE = "score_out_of_scale"
    SCALE_MISMATCH = "scale_mismatch"
    BAD_INTERVAL = "bad_interval"
    MIXED_CURRENCIES = "mixed_currencies"
    UNKNOWN_CATEGORY = "unknown_category"  # survey type / renewal outcome not understood
    # periods / KPIs
    MONTH_WITHOUT_DATA = "month_without_data"
    KPI_SKIPPED = "kpi_skipped"
    OPTION_INVALID = "option_invalid"
    # health models and playbooks (TOML files a person writes)
    TOML_SYNTAX = "toml_syntax"  # the file is not valid TOML
    UNKNOWN_KEY = "unknown_key"
    WRONG_TYPE = "wrong_type"
    MISSING_KEY = "missing_key"
    BAD_WEIGHT = "bad_weight"  # weight <= 0 (or < 0 in a profile)
    THRESHOLDS_OUT_OF_ORDER = "thresholds_out_of_order"
    UNKNOWN_METRIC = "unknown_metric"
    DUPLICATE_ID = "duplicate_id"
    HEALTH_MODEL_INVALID = "health_model_invalid"  # any other inconsistency in a health model
    PLAYBOOK_INVALID = "playbook_invalid"  # any other inconsistency in a playbook file
    STALE_VALUE = "stale_value"  # a manual input (e.g. CSM pulse) older than its validity


@dataclass(frozen=True)
class Problem:
    """One data problem, located as the user sees it (1-based rows; the header is row 1 of a csv)."""

    code: Code
    message: str
    severity: Severity = Severity.WARNING
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    table: str | None = None

    def where(self) -> str:
        parts = [p for p in (self.file, self.sheet and f"sheet {self.sheet!r}") if p]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{self.severity.value}: {where + ': ' if where else ''}{self.message}"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["code"] = self.code.value
        d["severity"] = self.severity.value
        return d


PROBLEM_COLUMNS = ["file", "sheet", "row", "column", "code", "severity", "message", "value", "table"]


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """The one table shape every face shows problems in."""
    rows = [p.as_dict() for p in problems]
    frame = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    return frame


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)
