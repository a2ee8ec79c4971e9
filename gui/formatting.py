"""How numbers look on screen, by the registry's unit (``cs_desk.kpis.registry.UNITS``).

One place, so a tile, a table cell and a test format a value the same way.
"""
from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd

NA = "–"


def is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_value(value, unit: str | None = None) -> str:
    """A KPI value as a person reads it: ``0.052`` with unit fraction -> ``5.2%``."""
    if is_missing(value):
        return NA
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, str):
        return value
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isinf(v):
        return NA
    if unit == "fraction":
        return f"{v:.1%}"
    if unit == "currency":
        return f"{v:,.0f}" if abs(v) >= 100 or v == round(v) else f"{v:,.2f}"
    if unit == "count":
        return f"{v:,.0f}"
    if unit == "score":
        return f"{v:.1f}" if abs(v) < 10 and v != round(v) else f"{v:,.0f}"
    if unit == "ratio":
        return f"{v:.2f}"
    if unit in ("months", "days", "hours"):
        return f"{v:,.1f}"
    return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"


def format_change(new, old, unit: str | None = None) -> str:
    """Change against the previous period: points for fractions, relative for amounts."""
    if is_missing(new) or is_missing(old):
        return ""
    new, old = float(new), float(old)
    if unit == "fraction":
        return f"{(new - old) * 100:+.1f} pt"
    if unit in ("score",):
        return f"{new - old:+.1f}"
    if unit == "ratio":
        return f"{new - old:+.2f}"
    if old == 0:
        return f"{new - old:+,.0f}"
    return f"{(new - old) / abs(old):+.1%}"


def format_cell(value) -> str:
    """A table cell of unknown meaning (snapshot, problems, actions)."""
    if is_missing(value):
        return ""
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == round(value) and abs(value) < 1e15:
            return f"{value:,.0f}"
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3f}"
    if hasattr(value, "value") and not isinstance(value, (int, str)):  # enums
        return str(value.value)
    return str(value)
