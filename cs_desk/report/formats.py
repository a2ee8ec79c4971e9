"""How a value of each registry unit is shown: Excel number formats and plain text (PDF).

One table for both outputs, so a rate reads "4.2%" on the Summary sheet and on the PDF tile.
Values stay numbers in the workbook; only the number format changes.
"""
from __future__ import annotations

import math

import pandas as pd

from ..sheets import UNIT_FORMATS

#: Excel number format per registry unit — the add-in's sheets use the same table — and the few
#: column kinds the report's tables add
EXCEL_FORMATS = {
    **UNIT_FORMATS,
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
    "integer": "0",
    "text": None,
    "bool": None,
}

#: the change of a KPI against the previous period, signed
EXCEL_CHANGE_FORMATS = {
    "fraction": "+0.0%;-0.0%;0.0%",
    "currency": "+#,##0;-#,##0;0",
    "count": "+#,##0;-#,##0;0",
    "score": "+0.0;-0.0;0.0",
    "ratio": "+0.00;-0.00;0.00",
}


def excel_format(unit: str) -> str | None:
    return EXCEL_FORMATS.get(unit, EXCEL_FORMATS["number"])


def excel_change_format(unit: str) -> str:
    return EXCEL_CHANGE_FORMATS.get(unit, "+#,##0.0;-#,##0.0;0")


def missing(value) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_value(value, unit: str, signed: bool = False) -> str:
    """``0.042`` -> ``4.2%``; ``123456`` -> ``123,456``; NaN -> ``–``."""
    if missing(value):
        return "–"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isinf(v):
        return "–"
    sign = "+" if signed else ""
    if unit == "fraction":
        return f"{v:{sign}.1%}"
    if unit in ("currency", "count", "days"):
        return f"{v:{sign},.0f}"
    if unit in ("score", "months", "hours"):
        return f"{v:{sign},.1f}"
    if unit == "ratio":
        return f"{v:{sign},.2f}"
    return f"{v:{sign},.2f}"


def fmt_money_short(value) -> str:
    """``1234567`` -> ``1.23M``; ``45600`` -> ``45.6k`` (tiles, chart labels)."""
    if missing(value):
        return "–"
    v = float(value)
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:.2f}B"
    if a >= 1e6:
        return f"{v / 1e6:.2f}M"
    if a >= 1e4:
        return f"{v / 1e3:.1f}k"
    return f"{v:,.0f}"
