"""Pure adapter between the values Excel hands a worksheet function and the cs_desk engine.

No xlwings here: every function takes what Excel sends after xlwings' conversion — 2-D lists
(first row = headers) of numbers, text, ``None`` for empty cells, Excel error values (text such
as ``"#N/A"`` from Office.js, or COM's integer codes such as ``-2146826246``), dates as
``datetime`` (desktop/COM) or as serial numbers (Office.js) — and returns what Excel can show:
a number, a text, or a 2-D list that spills. Bad input returns a short text starting with
``#CS:`` (e.g. ``#CS: column 'mrr' missing``), never a traceback.

Every number comes from the engine (``cs_desk.kpis.compute`` over a ``Dataset`` cleaned the same
way files are), so a worksheet function, the CLI and the refresh sheets cannot disagree.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import Any, Callable

import pandas as pd

from cs_desk.sheets import ERROR_CODES, as_2d, dataset_from_values, normalise_cell, serial_to_datetime, to_timestamp

ERROR_PREFIX = "#CS: "
MAX_ERROR_TEXT = 250
ERROR_TEXTS = {"#N/A", "#DIV/0!", "#REF!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
               "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!"}
SURVEY_DATE = dt.datetime(2000, 1, 15)  # any date: a list of scores is one period


class CellError(Exception):
    """Bad input for a worksheet function; the message becomes the cell's ``#CS:`` text."""


def error_text(message: str) -> str:
    text = ERROR_PREFIX + " ".join(str(message).split())
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


def guarded(fn: Callable) -> Callable:
    """Turn every failure into a short ``#CS:`` text: Excel shows it in the cell."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CellError as exc:
            return error_text(str(exc))
        except (ValueError, KeyError, TypeError) as exc:
            return error_text(_plain(exc))
        except Exception as exc:  # noqa: BLE001 - a worksheet cell must never show a traceback
            return error_text(f"{type(exc).__name__}: {_plain(exc)}")

    return wrapper


def _plain(exc: BaseException) -> str:
    text = str(exc)
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] == "'" else text


# =========================================================================== cell values

def is_error(v) -> bool:
    """An Excel error value, in either form xlwings passes it on."""
    if isinstance(v, str):
        return v.strip().upper() in ERROR_TEXTS
    return isinstance(v, int) and not isinstance(v, bool) and v in ERROR_CODES


def error_name(v) -> str:
    return ERROR_CODES.get(v, str(v)) if not isinstance(v, str) else v.strip().upper()


def is_blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))


def scalar(value):
    """A single argument as one value: Office.js passes even one cell as ``[[x]]``."""
    while isinstance(value, (list, tuple)):
        if not value:
            return None
        if len(value) > 1 and any(not is_blank(v) for v in value[1:]):
            raise CellError("expected one cell, got a range")
        value = value[0]
    value = normalise_cell(value)
    return None if is_blank(value) else value


def flatten(values) -> list:
    """A range of any shape as a flat list in reading order (rows first)."""
    return [v for row in as_2d(values) for v in row]


def table_values(values, what: str = "table") -> list[list]:
    """A table argument (header row + data rows) cleaned for the readers.

    Empty leading rows are dropped, COM error codes become their text (so cleaning reports them
    with their row), and header cells that are Excel serial numbers (Office.js sends a date
    header that way) become dates, so a wide MRR sheet's month headers are recognised.
    """
    rows = as_2d(values)
    while rows and all(is_blank(v) for v in rows[0]):
        rows = rows[1:]
    while rows and all(is_blank(v) for v in rows[-1]):
        rows = rows[:-1]
    if not rows:
        raise CellError(f"{what} is empty")
    if len(rows) < 2:
        raise CellError(f"{what} needs a header row and at least one data row")
    header = rows[0]
    fixed = []
    for v in header:
        if is_error(v):
            raise CellError(f"{what} has {error_name(v)} in its header row")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() and 20000 <= v <= 80000:
            v = serial_to_datetime(v)
        fixed.append(v)
    return [fixed] + [[error_name(v) if is_error(v) else v for v in r] for r in rows[1:]]


# =========================================================================== periods

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*q([1-4])\s*$", re.I)
_YEAR = re.compile(r"^\s*(\d{4})\s*$")


def period_request(start=None, end=None) -> tuple[pd.Timestamp | None, pd.Timestamp | None, str, str | None]:
    """(first month, last month, granularity, label of the one period asked for or None).

    ``start`` alone is one period: a month (``2024-03``, a date, a serial number), a quarter
    (``2024Q1``) or a year (``2024``). ``start`` and ``end`` are months: the KPI is computed over
    that span as one period (start snapshot of the first month vs end snapshot of the last), which
    cs-desk supports within one calendar year. Nothing: the last month of the data.
    """
    start, end = scalar(start), scalar(end)
    if start is None and end is None:
        return None, None, "month", None
    if start is not None and end is None:
        if isinstance(start, str) and _QUARTER.match(start):
            y, q = _QUARTER.match(start).groups()
            first = pd.Timestamp(int(y), 3 * int(q) - 2, 1)
            return first, first + pd.DateOffset(months=2), "quarter", f"{int(y):04d}Q{q}"
        year = _as_year(start)
        if year is not None:
            return pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 1), "year", f"{year:04d}"
        month = _month(start, "period")
        return month, month, "month", f"{month:%Y-%m}"
    first = _month(start, "from") if start is not None else None
    last = _month(end, "to")
    if first is None:
        return None, last, "month", f"{last:%Y-%m}"
    if last < first:
        raise CellError(f"'to' ({last:%Y-%m}) is before 'from' ({first:%Y-%m})")
    if first == last:
        return first, last, "month", f"{first:%Y-%m}"
    if first.year != last.year:
        raise CellError(f"from {first:%Y-%m} to {last:%Y-%m} crosses a year end; cs-desk computes one "
                        "period within a calendar year (use a quarter or a year, e.g. \"2024Q4\")")
    return first, last, "year", f"{first.year:04d}"


def _as_year(v) -> int | None:
    if isinstance(v, str) and _YEAR.match(v):
        return int(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() and 1900 <= v <= 2200:
        return int(v)
    return None


def _month(v, what: str) -> pd.Timestamp:
    ts = to_timestamp(v)
    if ts is None:
        raise CellError(f"{what} {v!r} is not a month (write 2024-03 or a date)")
    return pd.Timestamp(ts.year, ts.month, 1)


# =========================================================================== data -> engine

def load(tables: dict[str, Any]):
    """Recognise and clean table arguments with the engine's own mapping and cleaning."""
    names = list(tables)
    if names and (tables[names[0]] is None or _all_blank(tables[names[0]])):
        raise CellError(f"{names[0]} is empty")
    values = {name: table_values(v, name) for name, v in tables.items() if v is not None and not _all_blank(v)}
    recs: dict = {}
    dataset, found = dataset_from_values(values, book="range", recognitions=recs)
    for name in values:
        if name in found:
            continue
        rec = recs.get(name)
        if rec is not None and rec.table is not None and rec.missing:
            raise CellError(f"column '{rec.missing[0]}' missing ({name} looks like {rec.table})")
        headers = [str(h) for h in values[name][0] if not is_blank(h)][:6]
        raise CellError(f"{name}: its headers ({', '.join(headers)}) match no cs-desk table "
                        "(accounts, mrr, subscriptions, usage, tickets, surveys, renewals)")
    _check(dataset)
    return dataset


def _all_blank(values) -> bool:
    return all(is_blank(v) for v in flatten(values))


def _check(dataset, position: Callable[[int], str] | None = None) -> None:
    """Rows set aside or errors make the cell an error: nothing disappears silently."""
    from cs_desk.problems import Severity

    errors = [p for p in dataset.problems if p.severity is Severity.ERROR]
    lost = sum(dataset.rows_set_aside().values())
    if not errors and not lost:
        return
    first = errors[0] if errors else next((p for p in dataset.problems if p.severity is Severity.WARNING), None)
    where = ""
    if first is not None and first.row is not None:
        where = (position(first.row) if position else f"row {first.row}") + ": "
    detail = f"{where}{first.message}" if first is not None else ""
    if first is not None and first.code.value == "missing_column" and first.message.startswith("No column holds"):
        cols = first.message[len("No column holds "):].split(",")[0].split(" which")[0]
        raise CellError(f"column '{cols.strip()}' missing")
    if lost:
        raise CellError(f"{lost} row{'s' if lost != 1 else ''} set aside — {detail}")
    raise CellError(detail)


def _value(result, kpi_id: str, label: str | None, group: str) -> float | str:
    t = result.table
    rows = t[(t["kpi"] == kpi_id) & (t["group"] == group)]
    if rows.empty:
        for k, why in result.skipped:
            if k == kpi_id.split("[", 1)[0]:
                raise CellError(f"{kpi_id} {why}")
        if not t[t["kpi"] == kpi_id].empty:
            raise CellError(f"no group {group!r}; groups: {', '.join(dict.fromkeys(t['group']))}")
        raise CellError(f"no value for {kpi_id}")
    if label is not None:
        picked = rows[rows["period"] == label]
        if picked.empty:
            have = list(dict.fromkeys(rows["period"]))
            raise CellError(f"no data for {label}; the data covers {have[0]} to {have[-1]}")
        rows = picked
    v = float(rows["value"].iloc[-1])
    if math.isnan(v):
        raise CellError(f"{kpi_id} is undefined for {rows['period'].iloc[-1]} (nothing to divide by)")
    return v


def kpi(kpi_id, tables: dict[str, Any], start=None, end=None, group=None):
    """Any registry KPI for one period (default: the last month of the data) and one group."""
    from cs_desk.kpis import REGISTRY, UsageError, compute
    from cs_desk.kpis.registry import base_id

    kpi_id = scalar(kpi_id)
    if not isinstance(kpi_id, str) or not kpi_id.strip():
        raise CellError("give a KPI id such as \"nrr\" (=CS_KPI_LIST() lists them)")
    kpi_id = kpi_id.strip()
    if base_id(kpi_id) not in REGISTRY:
        close = [k for k in REGISTRY if kpi_id.lower() in k][:3]
        raise CellError(f"unknown KPI {kpi_id!r}" + (f"; did you mean {', '.join(close)}?" if close else
                                                     "; =CS_KPI_LIST() lists them"))
    first, last, granularity, label = period_request(start, end)
    by, gvalue = _group(group)
    dataset = load(tables)
    try:
        result = compute(dataset, first, last, by=by, granularity=granularity, kpis=[base_id(kpi_id)])
    except UsageError as exc:
        raise CellError(str(exc)) from None
    _check_covered(dataset, result, first, last, label)
    return _value(result, kpi_id, label, gvalue)


def _check_covered(dataset, result, first, last, label) -> None:
    """A period outside the data is "no data", not an undefined value."""
    from cs_desk.kpis.engine import default_range

    if first is None:
        return
    rng = default_range(dataset, result.context.grid if result.context is not None else None)
    if rng is not None and (first > rng[1] or last < rng[0]):
        raise CellError(f"no data for {label}; the data covers {rng[0]:%Y-%m} to {rng[1]:%Y-%m}")


def _group(group) -> tuple[str | None, str]:
    g = scalar(group)
    if g is None or (isinstance(g, str) and g.strip().lower() in ("", "all")):
        return None, "all"
    text = str(g)
    if "=" not in text:
        raise CellError(f"group {text!r}: write field=value, e.g. \"segment=SMB\" (the field is an accounts column)")
    field_, value = (x.strip() for x in text.split("=", 1))
    return field_, value


# =========================================================================== sentiment

def survey_score(survey: str, scores) -> float:
    """NPS / CSAT / CES of a list of answers, through the engine's surveys table."""
    from cs_desk.dataset import Dataset
    from cs_desk.kpis import REGISTRY, compute

    kpi_id = survey.lower()
    if kpi_id not in REGISTRY:
        raise CellError(f"{survey} is not available in this cs-desk version")
    cells = flatten(scores)
    values, positions = [], []
    for i, v in enumerate(cells, start=1):
        if is_blank(v):
            continue
        if is_error(v):
            raise CellError(f"cell {i} of scores is {error_name(v)}")
        if i == 1 and isinstance(v, str) and _number(v) is None:
            continue  # a header cell such as "Score"
        if isinstance(v, bool) or _number(v) is None:
            raise CellError(f"cell {i} of scores is {v!r}, not a number")
        values.append(v)
        positions.append(i)
    if not values:
        raise CellError("no scores")
    frame = pd.DataFrame({
        "account_id": [f"cell {i}" for i in positions], "date": SURVEY_DATE,
        "survey": survey, "score": pd.Series(values, dtype=object),
    })
    dataset = Dataset.from_frames(surveys=frame)
    _check(dataset, position=lambda row: f"cell {positions[row - 2]}" if 2 <= row < len(positions) + 2 else f"row {row}")
    result = compute(dataset, kpis=[kpi_id])
    return _value(result, kpi_id, None, "all")


def _number(v) -> float | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    try:
        return float(str(v).strip().replace(",", "."))
    except ValueError:
        return None


# =========================================================================== spilled tables

def movements(table, start=None, end=None, only=None) -> list[list]:
    """Every account's MRR movement per month (header row first), flat accounts left out."""
    from cs_desk.kpis import UsageError, movements as engine_movements

    first, last, _granularity, _label = period_request(start, end)  # a quarter or year means its months
    kinds = None
    o = scalar(only)
    if o is not None:
        kinds = [k.strip().lower() for k in str(o).replace(";", ",").split(",") if k.strip()]
        from cs_desk.kpis.revenue import MOVEMENT_ORDER

        bad = [k for k in kinds if k not in MOVEMENT_ORDER]
        if bad:
            raise CellError(f"movement {bad[0]!r}: use {', '.join(MOVEMENT_ORDER[:5])}")
    dataset = load({"table": table})
    try:
        frame = engine_movements(dataset, first, last)
    except UsageError as exc:
        raise CellError(str(exc)) from None
    frame = frame[frame["movement"] != "flat"] if not kinds or "flat" not in kinds else frame
    if kinds:
        frame = frame[frame["movement"].isin(kinds)]
    columns = ["period", "account_id", "movement", "start_mrr", "end_mrr", "delta"]
    out = [columns]
    for row in frame[columns].itertuples(index=False):
        out.append([str(row[0]), str(row[1]), str(row[2]), float(row[3]), float(row[4]), float(row[5])])
    if len(out) == 1:
        out.append(["(no movement)", "", "", "", "", ""])
    return out


def health(accounts, model=None, as_of=None, tables: dict | None = None) -> list[list]:
    """account_id, score, band for every account (header row first)."""
    from cs_desk.sheets import Settings, _health_and_actions

    text = None
    m = flatten(model) if model is not None else []
    lines = [str(v) for v in m if not is_blank(v)]
    if lines:
        text = "\n".join(lines)
        if "=" not in text:
            raise CellError("model: give the health model's TOML text (a cell or a column of lines)")
    when = scalar(as_of)
    ts = to_timestamp(when) if when is not None else None
    if when is not None and ts is None:
        raise CellError(f"as_of {when!r} is not a date")
    data = {"accounts": accounts, **(tables or {})}
    dataset = load(data)
    settings = Settings(as_of=ts, health_model=text)
    frame, _actions, note = _health_and_actions(dataset, settings, None, None, dt.datetime.now())
    if frame is None or "score" not in getattr(frame, "columns", []):
        raise CellError(note or "no health score could be computed")
    out = [["account_id", "score", "band"]]
    for acc, score, band in frame[["account_id", "score", "band"]].itertuples(index=False):
        s = float(score) if score is not None and not pd.isna(score) else ""
        out.append([str(acc), s, "" if band is None or pd.isna(band) else str(band)])
    return out


def kpi_list() -> list[list]:
    """Every KPI the engine knows: id, label, unit, formula (spills)."""
    from cs_desk.kpis import REGISTRY

    out = [["id", "label", "unit", "needs", "formula"]]
    for k in REGISTRY.values():
        out.append([k.id, k.label, k.unit, ", ".join(k.needs), k.formula])
    return out


# =========================================================================== the functions' bodies

@guarded
def cs_nps(scores):
    return survey_score("NPS", scores)


@guarded
def cs_csat(scores):
    return survey_score("CSAT", scores)


@guarded
def cs_ces(scores):
    return survey_score("CES", scores)


@guarded
def cs_kpi(kpi_id, table, period=None, group=None, table2=None, table3=None, table4=None):
    tables = {"table": table, "table2": table2, "table3": table3, "table4": table4}
    return kpi(kpi_id, {k: v for k, v in tables.items() if v is not None}, period, None, group)


@guarded
def cs_range_kpi(kpi_id: str, table, start=None, end=None):
    return kpi(kpi_id, {"table": table}, start, end, None)


@guarded
def cs_movements(table, start=None, end=None, only=None):
    return movements(table, start, end, only)


@guarded
def cs_health(accounts, model=None, as_of=None, table2=None, table3=None, table4=None):
    more = {k: v for k, v in {"table2": table2, "table3": table3, "table4": table4}.items() if v is not None}
    return health(accounts, model, as_of, more)


@guarded
def cs_kpi_list():
    return kpi_list()
