"""The workbook refresh as data: which sheets to write, with which values and formats.

The Excel add-in's "Refresh cs-desk" button and ``cs-desk excel refresh book.xlsx`` share this
module. It is pure: it takes the workbook's sheets as 2-D lists of cell values (what xlwings'
``sheet.used_range.value`` or openpyxl gives) and returns a :class:`RefreshPlan`; it never
touches a workbook and never imports xlwings. Two small "apply" steps turn a plan into sheets:
``excel_addin.apply.apply_plan`` through the xlwings object model (desktop or Office.js) and
:func:`render_plan_to_file` with openpyxl.

Rules every plan follows (DESIGN.md, "Bad input"):

* Data sheets are read, never written. Only the output sheets ``CS KPIs``, ``CS Accounts``,
  ``CS Actions`` and ``CS Problems`` are written.
* Every output sheet carries a marker: cell A1 starts with :data:`MARKER_PREFIX`. A sheet of
  that name *without* the marker belongs to the user and is never overwritten: the output goes
  to ``CS KPIs (2)`` (or the next free name) and a message says so.
* The header is row 2, data start in row 3; text columns get the text number format ``@`` so
  Excel never turns a value into a formula (``=``, ``+``, ``-``, ``@``), a number or a date.
* A mapping the user saved lives in the workbook, on a sheet named ``cs-desk settings``:
  either two columns (setting, value) or TOML text in column A (see :func:`parse_settings`).
"""
from __future__ import annotations

import datetime as dt
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .dataset import Dataset
from .problems import Code, Problem, Severity, problems_frame

MARKER_PREFIX = "cs-desk output"
SETTINGS_SHEET = "cs-desk settings"
KPI_SHEET, ACCOUNTS_SHEET, ACTIONS_SHEET, PROBLEMS_SHEET = "CS KPIs", "CS Accounts", "CS Actions", "CS Problems"
OUTPUT_SHEETS = (KPI_SHEET, ACCOUNTS_SHEET, ACTIONS_SHEET, PROBLEMS_SHEET)
HEADER_ROW = 2  # 1-based row of the header on output sheets (row 1 holds the marker)
FIRST_DATA_ROW = 3
TEXT = "@"
DATE = "yyyy-mm-dd"
MAX_SHEET_NAME = 31

#: number format per registry unit (Excel and LibreOffice both understand these)
UNIT_FORMATS = {
    "fraction": "0.0%", "currency": "#,##0", "count": "#,##0", "score": "0.0", "ratio": "0.00",
    "months": "0.0", "days": "0.0", "hours": "0.0", "number": "#,##0.00",
}


# =========================================================================== the plan

@dataclass(frozen=True)
class FormatBlock:
    """A number format for a block of data cells (0-based, relative to the first data cell)."""

    row: int
    col: int
    nrows: int
    ncols: int
    number_format: str


@dataclass
class SheetPlan:
    """One output sheet: marker in A1, ``header`` in row 2, ``rows`` from row 3.

    ``number_formats`` has one entry per column (None = leave the cell format alone) for the
    data rows; ``blocks`` override it for parts of the data (e.g. one KPI row). ``widths`` are
    Excel column widths in characters. ``freeze`` is (rows, columns) kept in view when scrolling.
    ``replaces`` is True when a sheet of this name already exists and is cs-desk's own.
    """

    name: str
    header: list[str]
    rows: list[list]
    number_formats: list[str | None]
    widths: list[float]
    freeze: tuple[int, int]
    marker: str
    blocks: list[FormatBlock] = field(default_factory=list)
    role: str = ""
    replaces: bool = False

    @property
    def ncols(self) -> int:
        return len(self.header)

    @property
    def text_columns(self) -> list[int]:
        return [j for j, f in enumerate(self.number_formats) if f == TEXT]

    def values(self) -> list[list]:
        """Header and rows as one 2-D list (what is written from A2)."""
        return [list(self.header)] + [list(r) for r in self.rows]

    def column(self, name: str) -> list:
        j = self.header.index(name)
        return [r[j] for r in self.rows]


@dataclass
class RefreshPlan:
    sheets: list[SheetPlan]
    messages: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: what was read: sheet name -> canonical table (for messages and tests)
    recognised: dict[str, str] = field(default_factory=dict)
    result: Any = None  # the KpiResult behind the KPI sheet (tests, faces)

    def sheet(self, role_or_name: str) -> SheetPlan | None:
        for s in self.sheets:
            if s.role == role_or_name or s.name == role_or_name:
                return s
        return None


# =========================================================================== settings

@dataclass
class Settings:
    """What the ``cs-desk settings`` sheet says (every field optional)."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    period: str = "month"
    by: str | None = None
    as_of: pd.Timestamp | None = None
    kpis: list[str] | None = None
    health_model: str | None = None  # TOML text of a health model
    playbooks: str | None = None  # TOML text of playbook rules
    mapping: Any = None  # cs_desk.io.mapping.MappingFile
    sheet_tables: dict[str, str] = field(default_factory=dict)  # sheet -> table or "ignore"
    options: dict = field(default_factory=dict)  # end_date_inclusive, currency, date_order


SETTING_KEYS = {
    "from": "start", "start": "start", "first month": "start",
    "to": "end", "end": "end", "last month": "end",
    "period": "period", "granularity": "period",
    "by": "by", "group by": "by",
    "as of": "as_of",
    "kpis": "kpis", "kpi": "kpis",
    "health model": "health_model", "health": "health_model",
    "playbooks": "playbooks", "playbook": "playbooks",
    "mapping": "mapping",
    "end date inclusive": "end_date_inclusive", "currency": "currency", "date order": "date_order",
}


def _key(text) -> str:
    s = str(text).strip().lower().replace("_", " ").replace("-", " ")
    return " ".join(s.split())


def _is_blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))


def parse_settings(values: list[list] | None, book: str = "workbook") -> tuple[Settings, list[Problem]]:
    """Read the ``cs-desk settings`` sheet.

    Two layouts are understood:

    * two columns: a setting name in column A and its value in column B (``from`` | ``2024-01``,
      ``by`` | ``segment``, ``sheet: Billing`` | ``subscriptions``, ``mapping`` | TOML text ...);
    * TOML text in column A (one line per cell, or the whole text in A1) with the same keys
      (``from = "2024-01"``, ``[sheets]``, ``[mapping]`` with ``[[mapping.source]]`` blocks as
      ``cs-desk map --save`` writes them, ``[health_model]`` inline).

    Unknown settings and unreadable values are problems (``option_invalid``), never errors.
    """
    s = Settings()
    problems: list[Problem] = []
    rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in (values or [])]
    rows = [r for r in rows if any(not _is_blank(v) for v in r)]
    if not rows:
        return s, problems

    def bad(msg: str, row: int | None = None) -> None:
        problems.append(Problem(Code.OPTION_INVALID, msg, Severity.WARNING, file=book, sheet=SETTINGS_SHEET, row=row))

    first = _key(rows[0][0]) if not _is_blank(rows[0][0]) else ""
    two_columns = first in ("setting", "settings", "key", "name") or any(
        any(not _is_blank(v) for v in r[1:]) for r in rows)
    if two_columns:
        items = []
        for i, r in enumerate(values or []):
            r = list(r) if isinstance(r, (list, tuple)) else [r]
            if not r or _is_blank(r[0]):
                continue
            key = _key(r[0])
            if key in ("setting", "settings", "key", "name") and i == 0:
                continue  # a header row
            items.append((key, r[1] if len(r) > 1 else None, i + 1))
    else:
        text = "\n".join("" if _is_blank(r[0]) else str(r[0]) for r in rows)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            bad(f"The settings sheet is neither two columns (setting, value) nor valid TOML: {exc}.")
            return s, problems
        items = []
        for k, v in data.items():
            if _key(k) == "sheets" and isinstance(v, dict):
                for sheet, table in v.items():
                    items.append((f"sheet: {sheet}", table, None))
            else:
                items.append((_key(k), v, None))
    for key, value, row in items:
        _apply_setting(s, key, value, row, bad, book)
    return s, problems


def _apply_setting(s: Settings, key: str, value, row, bad, book: str) -> None:
    from .schema import TABLES

    if key.startswith("sheet:") or key.startswith("sheet "):
        sheet = key.split(":", 1)[1].strip() if ":" in key else key[6:].strip()
        if _is_blank(value):
            return
        table = _key(value)
        if table not in TABLES and table != "ignore":
            bad(f"Setting 'sheet: {sheet}' = {value!r}: use a table ({', '.join(TABLES)}) or 'ignore'.", row)
            return
        s.sheet_tables[sheet.casefold()] = table
        return
    target = SETTING_KEYS.get(key)
    if target is None:
        bad(f"Unknown setting {key!r}; known: {', '.join(sorted(set(SETTING_KEYS)))}, 'sheet: NAME'.", row)
        return
    if _is_blank(value):
        return
    try:
        if target in ("start", "end", "as_of"):
            ts = to_timestamp(value)
            if ts is None:
                raise ValueError(f"{value!r} is not a date or a month like 2024-03")
            setattr(s, target, ts)
        elif target == "period":
            p = _key(value)
            if p not in ("month", "quarter", "year"):
                raise ValueError(f"{value!r}: use month, quarter or year")
            s.period = p
        elif target == "by":
            s.by = str(value).strip()
        elif target == "kpis":
            s.kpis = [k.strip() for k in str(value).replace(";", ",").split(",") if k.strip()]
        elif target in ("health_model", "playbooks"):
            text = value if isinstance(value, str) else _dump_toml(value)
            setattr(s, target, text)
        elif target == "mapping":
            from .io.mapping import MappingFile

            data = tomllib.loads(value) if isinstance(value, str) else dict(value)
            mf, probs = MappingFile.from_dict(data, file=f"{book} ({SETTINGS_SHEET})")
            for p in probs:
                bad(f"mapping: {p.message}", row)
            s.mapping = mf
        elif target == "end_date_inclusive":
            s.options["end_date_inclusive"] = _truthy(value)
        elif target == "currency":
            s.options["currency"] = str(value).strip().upper()
        elif target == "date_order":
            order = _key(value)
            if order not in ("dmy", "mdy", "ymd"):
                raise ValueError(f"{value!r}: use dmy, mdy or ymd")
            s.options["date_order"] = order
    except (ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
        bad(f"Setting {key!r}: {exc}.", row)


def _truthy(value) -> bool:
    if isinstance(value, bool):
        return value
    return _key(value) in ("true", "yes", "y", "1", "x", "on")


def _dump_toml(value) -> str:
    import tomli_w

    return tomli_w.dumps(dict(value))


# =========================================================================== cell values

EXCEL_EPOCH = dt.datetime(1899, 12, 30)
#: Excel error values as COM (pywin32) delivers them
ERROR_CODES = {-2146826281: "#DIV/0!", -2146826246: "#N/A", -2146826259: "#NAME?", -2146826288: "#NULL!",
               -2146826252: "#NUM!", -2146826265: "#REF!", -2146826273: "#VALUE!"}


def serial_to_datetime(value: float) -> dt.datetime:
    """An Excel serial number (1900 date system, as Office.js sends dates) as a datetime."""
    return EXCEL_EPOCH + dt.timedelta(days=float(value))


def to_timestamp(value) -> pd.Timestamp | None:
    """A date cell in any form Excel may deliver -> Timestamp (None when it is not a date).

    datetimes (COM, openpyxl), serial numbers (Office.js), ISO text ``2024-03`` / ``2024-03-15``.
    """
    if value is None:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return pd.Timestamp(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        if math.isnan(v) or not 1 <= v < 2958466:
            return None
        return pd.Timestamp(serial_to_datetime(v))
    text = str(value).strip()
    if not text:
        return None
    from .periods import parse_month

    try:
        return parse_month(text)
    except ValueError:
        pass
    try:
        return pd.Timestamp(text)
    except (ValueError, TypeError):
        return None


def normalise_cell(v):
    """A cell value as cs-desk's readers give it: COM error codes become their text (``#N/A``),
    numpy scalars become Python scalars, dates become datetimes."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        v = int(v)
        return ERROR_CODES.get(v, v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    return v


def as_2d(values) -> list[list]:
    """A scalar, a 1-D or a 2-D list (whatever Excel sent) as a rectangular 2-D list."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        return [[normalise_cell(values)]]
    if not values:
        return []
    if not any(isinstance(r, (list, tuple)) for r in values):
        return [[normalise_cell(v)] for v in values]
    rows = [[normalise_cell(v) for v in r] if isinstance(r, (list, tuple)) else [normalise_cell(r)] for r in values]
    width = max(len(r) for r in rows)
    return [r + [None] * (width - len(r)) for r in rows]


# =========================================================================== loading sheets

def dataset_from_values(sheets: Mapping[str, list[list]], book: str = "workbook", mapping=None,
                        options: dict | None = None, table_hints: Mapping[str, str] | None = None,
                        recognitions: dict | None = None) -> tuple[Dataset, dict[str, str]]:
    """Recognise and clean sheets given as 2-D lists, exactly as ``cs_desk.io`` does for files.

    Returns (dataset, {sheet name: table}) — sheets that are no table are left out and listed as
    ``sheet_not_recognised`` problems (INFO: they are left alone). ``recognitions``, when given,
    receives each sheet's :class:`~cs_desk.io.mapping.Recognition`.
    """
    from .io.readers import rows_to_sheet

    raws = []
    problems: list[Problem] = []
    hints = {k.casefold(): v for k, v in (table_hints or {}).items()}
    for name, values in sheets.items():
        hint = hints.get(str(name).casefold())
        if hint == "ignore":
            continue
        raw, probs = rows_to_sheet(as_2d(values), file=book, sheet=name)
        problems.extend(probs)
        if raw is not None:
            raws.append((raw, hint))
    dataset, found = _load_raw_sheets(raws, mapping, dict(options or {}), recognitions)
    dataset.problems[:0] = problems
    return dataset, found


def _load_raw_sheets(raws, mapping, options: dict, recognitions=None) -> tuple[Dataset, dict[str, str]]:
    """RawSheets -> Dataset through io's own loader (same steps and problems as ``cs-desk compute``)."""
    from .io import load_sheets

    dataset, recs = load_sheets(raws, mapping, options,
                                advice=f"Name its table on the '{SETTINGS_SHEET}' sheet "
                                       f"(sheet: <name> | accounts, mrr, ...) if it holds data.")
    found: dict[str, str] = {}
    for (raw, _), rec in zip(raws, recs):
        if recognitions is not None:
            recognitions[raw.sheet] = rec
    for source in dataset.sources:
        if source.sheet is not None:
            found[source.sheet] = source.table
    return dataset, found


# =========================================================================== building the plan

def plan_refresh(sheets: Mapping[str, list[list]], settings: Settings | Mapping | None = None, *,
                 book: str = "workbook", now: dt.datetime | None = None, health_model=None,
                 playbooks=None) -> RefreshPlan:
    """Plan the refresh of a workbook given as ``{sheet name: 2-D values}`` (every sheet, in order).

    ``settings``: a :class:`Settings`, a dict of setting name -> value (as on the settings
    sheet), or None to read the workbook's ``cs-desk settings`` sheet. ``health_model`` /
    ``playbooks``: already loaded objects that win over the settings (the CLI's flags).
    Never raises on bad data: problems go to the ``CS Problems`` sheet.
    """
    now = now or dt.datetime.now().replace(microsecond=0)
    messages: list[str] = []
    problems: list[Problem] = []
    ours, data = {}, {}
    settings_values = None
    for name, values in sheets.items():
        if str(name).strip().casefold() == SETTINGS_SHEET:
            settings_values = values
        elif is_output_sheet(values):
            ours[str(name)] = values
        else:
            data[str(name)] = values
    if settings is None:
        settings, probs = parse_settings(settings_values, book)
        problems.extend(probs)
    elif not isinstance(settings, Settings):
        settings, probs = parse_settings([[k, v] for k, v in dict(settings).items()], book)
        problems.extend(probs)

    dataset, recognised = dataset_from_values(data, book=book, mapping=settings.mapping,
                                              options=settings.options, table_hints=settings.sheet_tables)
    problems.extend(dataset.problems)
    if recognised:
        messages.append("Read " + ", ".join(f"'{s}' as {t}" for s, t in recognised.items()) + ".")
    else:
        messages.append("No sheet of this workbook holds a table cs-desk recognises (accounts, MRR, "
                        "subscriptions, usage, tickets, surveys, renewals). See the CS Problems sheet.")

    result, accounts, actions, notes, more = _results(dataset, settings, health_model, playbooks, now)
    problems.extend(more)
    messages.extend(n for n in notes if n)
    kpi_note = notes[0] if notes else None
    health_note = notes[1] if len(notes) > 1 else None

    stamp = now.strftime("%Y-%m-%d %H:%M")
    source = ", ".join(recognised) or "no data sheet"
    plans = [
        kpi_sheet(result, settings, kpi_note),
        frame_sheet(account_columns(accounts), role="accounts", freeze_cols=2, note=health_note,
                    formats=ACCOUNT_FORMATS),
        frame_sheet(actions, role="actions", freeze_cols=1, note=None if actions is not None and len(actions)
                    else "No action: no playbook rule fired." if actions is not None else health_note),
        problems_sheet(problems),
    ]
    existing = list(sheets)
    taken = {n.casefold() for n in existing}
    own = {n.casefold() for n in ours}
    for plan, base in zip(plans, OUTPUT_SHEETS):
        name, replaces, note = choose_sheet_name(base, taken, own)
        plan.name, plan.replaces = name, replaces
        if note:
            messages.append(note)
        taken.add(name.casefold())
        plan.marker = (f"{MARKER_PREFIX}: {base}, refreshed {stamp} from {source}. "
                       "Refresh cs-desk replaces this sheet; edit the data sheets, not this one.")
    serious = [p for p in problems if p.severity is not Severity.INFO]
    if serious:
        messages.append(f"{len(serious)} data problem(s): see the '{plans[3].name}' sheet.")
    return RefreshPlan(plans, messages, problems, recognised, result)


def is_output_sheet(values) -> bool:
    """True when a sheet's A1 holds the cs-desk marker (the sheet is cs-desk's own output)."""
    rows = as_2d(values) if not (isinstance(values, list) and values and isinstance(values[0], list)) else values
    if not rows or not rows[0]:
        return False
    first = rows[0][0]
    return isinstance(first, str) and first.startswith(MARKER_PREFIX)


def choose_sheet_name(base: str, taken: set[str], own: set[str]) -> tuple[str, bool, str | None]:
    """(name, replaces, message): ``base`` when free or cs-desk's own, else ``base (2)``, ``(3)`` ..."""
    if base.casefold() not in taken:
        return base, False, None
    if base.casefold() in own:
        return base, True, None
    n = 2
    while True:
        name = f"{base} ({n})"[:MAX_SHEET_NAME]
        if name.casefold() not in taken:
            return name, False, (f"The sheet '{base}' was not written by cs-desk, so it was left as it is; "
                                 f"the results went to '{name}'.")
        if name.casefold() in own:
            return name, True, (f"The sheet '{base}' was not written by cs-desk, so it was left as it is; "
                                f"the results went to '{name}'.")
        n += 1


def _results(dataset: Dataset, s: Settings, model, playbooks, now):
    """(KpiResult, accounts frame, actions frame, [kpi note, health note], problems) for the sheets.

    Through ``cs_desk.report.build_bundle`` — the one place that computes KPIs, the per-account
    snapshot with health scores and the action list for every report — when it is available;
    the KPI table is computed on its own only when the settings ask for something the bundle does
    not (quarters/years, a subset of KPIs), and the health part on its own for an ``as of`` date.
    """
    if not dataset.tables:
        return None, None, None, ["No KPI computed: no data table was read.", None], []
    bundle, problems, health_note = None, [], None
    if s.as_of is None:
        bundle, problems, health_note = _bundle(dataset, s, model, playbooks)
    if bundle is not None and s.period == "month" and not s.kpis:
        result = bundle.kpis_by.get(s.by) if s.by else bundle.kpis
        kpi_note = None
        if s.by and result is None:
            kpi_note = f"Settings ignored: the accounts table has no field {s.by!r} to group by."
            result = bundle.kpis
        if result is None or result.table.empty:
            kpi_note = "No KPI could be computed from these sheets (see CS Problems for why)."
    else:
        result, kpi_note = _compute(dataset, s)
        if result is not None:
            problems = result.problems[len(dataset.problems):] + problems
    if bundle is not None:
        accounts, actions = bundle.snapshot, bundle.actions
        if bundle.health is None or bundle.health.empty:
            health_note = health_note or next((n for n in bundle.notes if "health" in n.lower()), None) \
                or "No health score: see CS Problems (the health model could not be used)."
    else:
        accounts, actions, note = _health_and_actions(dataset, s, model, playbooks, now)
        health_note = health_note or note
    return result, accounts, actions, [kpi_note, health_note], problems


def _bundle(dataset: Dataset, s: Settings, model, playbooks):
    """(bundle or None, problems the bundle found beyond the data's, note)."""
    from .report.bundle import build_bundle

    probs: list[Problem] = []
    if model is None and s.health_model:
        model, more = _health_model_from_text(s.health_model)
        probs += more
    if playbooks is None and s.playbooks:
        playbooks, more = _playbooks_from_text(s.playbooks)
        probs += more
    try:
        bundle = build_bundle(dataset, health_model=model, playbooks=playbooks, start=s.start, end=s.end,
                              by=(s.by,) if s.by else (), history_months=2)
    except Exception as exc:  # noqa: BLE001 - never a traceback on a sheet; say what failed
        return None, probs, f"The health and action sheets could not be computed: {type(exc).__name__}: {exc}"
    n = len(dataset.problems)
    extra = bundle.problems[n:] if bundle.problems[:n] == dataset.problems[:n] else [
        p for p in bundle.problems if p not in dataset.problems]
    return bundle, probs + extra, None


def _compute(dataset: Dataset, s: Settings):
    from .kpis import UsageError, compute

    try:
        result = compute(dataset, s.start, s.end, by=s.by, granularity=s.period, kpis=s.kpis)
    except UsageError as exc:
        try:
            result = compute(dataset, s.start, s.end, granularity=s.period, kpis=None)
        except UsageError:
            return None, f"No KPI computed: {exc}"
        return result, f"Settings ignored: {exc}"
    if result.table.empty:
        return result, "No KPI could be computed from these sheets (see CS Problems for why)."
    return result, None


def _health_and_actions(dataset: Dataset, s: Settings, model, playbooks, now):
    """(accounts frame, actions frame, note) without the bundle: for an ``as of`` date and the
    CS_HEALTH worksheet function. Health and playbooks are optional engine parts."""
    if not dataset.tables:
        return None, None, None
    try:
        from .accounts_snapshot import account_snapshot
        from . import health as health_mod
    except ImportError:
        return None, None, "Health scores are not available in this cs-desk version."
    as_of = s.as_of if s.as_of is not None else _default_as_of(dataset, now)
    try:
        snapshot = account_snapshot(dataset, as_of)
    except Exception as exc:  # noqa: BLE001 - one sentence on the sheet instead of a traceback
        return None, None, f"No account snapshot: {exc}"
    if model is None:
        if s.health_model:
            model, probs = _health_model_from_text(s.health_model)
        else:
            model, probs = _default_health_model()
        if model is None:
            why = "; ".join(p.message for p in probs[:2]) or "no health model"
            return snapshot, None, f"No health score: {why}"
    try:
        scored = health_mod.score(model, snapshot)
    except Exception as exc:  # noqa: BLE001
        return snapshot, None, f"No health score: {exc}"
    accounts = _accounts_frame(snapshot, scored)
    try:
        if playbooks is None:
            playbooks, _ = _playbooks_from_text(s.playbooks) if s.playbooks else _default_playbooks()
        from .alerts import actions as run_actions

        actions = run_actions(accounts, playbooks) if playbooks is not None else None
    except Exception as exc:  # noqa: BLE001
        return accounts, None, f"No action list: {exc}"
    return accounts, actions, None


def _default_as_of(dataset: Dataset, now) -> pd.Timestamp:
    """The end of the last month the data covers (so old exports are scored as of their date)."""
    from .kpis.engine import default_range
    from .periods import add_months

    rng = default_range(dataset)
    if rng is None and dataset.has_revenue:
        from .snapshots import mrr_grid

        grid, _ = mrr_grid(dataset)
        rng = (grid.first_month, grid.last_month) if grid is not None else None
    if rng is None:
        return pd.Timestamp(now).normalize()
    return add_months(rng[1], 1)


def _health_model_from_text(text: str):
    from . import health

    return health.loads(text, file=SETTINGS_SHEET)


def _playbooks_from_text(text: str):
    from .alerts import loads_playbooks

    return loads_playbooks(text, file=SETTINGS_SHEET)


def _default_health_model():
    try:
        from .report.bundle import resolve_health_model
    except ImportError:
        return None, []
    return resolve_health_model(None)


def _default_playbooks():
    try:
        from .report.bundle import resolve_playbooks
    except ImportError:
        return None, []
    return resolve_playbooks(None)


def _accounts_frame(snapshot: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """The snapshot with the score columns beside it (as the report bundle merges them)."""
    try:
        from .report.bundle import merge_health

        merged = merge_health(snapshot, scored)
    except ImportError:
        keep = [c for c in scored.columns if c == "account_id" or c not in snapshot.columns]
        merged = snapshot.merge(scored[keep], on="account_id", how="left")
    return merged


# =========================================================================== sheet builders

def _marker(base: str) -> str:
    return f"{MARKER_PREFIX}: {base}"


def kpi_label(kpi_id: str) -> str:
    from .kpis.registry import REGISTRY, base_id

    k = REGISTRY.get(base_id(kpi_id))
    label = k.label if k else kpi_id
    if "[" in kpi_id:
        label += ": " + kpi_id.split("[", 1)[1].rstrip("]")
    return label


def kpi_sheet(result, s: Settings, note: str | None = None) -> SheetPlan:
    """One row per KPI (and group), one column per period, newest first."""
    from .kpis.registry import REGISTRY, base_id

    grouped = bool(s.by)
    fixed = ["KPI", "id"] + (["group"] if grouped else []) + ["target"]
    if result is None or result.table.empty:
        rows = [[note or "No KPI could be computed.", ""] + ([""] if grouped else []) + [None]]
        return SheetPlan(KPI_SHEET, fixed, rows, [TEXT] * (len(fixed) - 1) + [None], [46, 16] + ([14] if grouped else []) + [9],
                         (HEADER_ROW, 1), _marker(KPI_SHEET), role="kpis")
    table = result.table
    periods = list(dict.fromkeys(table["period"].tolist()))[::-1]
    pos = {p: i for i, p in enumerate(periods)}
    keys = list(dict.fromkeys(zip(table["kpi"], table["group"])))
    rowpos = {k: i for i, k in enumerate(keys)}
    grid = np.full((len(keys), len(periods)), np.nan)
    r = np.array([rowpos[k] for k in zip(table["kpi"], table["group"])], dtype=int)
    c = table["period"].map(pos).to_numpy(dtype=int)
    grid[r, c] = table["value"].to_numpy(dtype=float)
    rows, blocks = [], []
    nfixed = len(fixed)
    for i, (kpi_id, group) in enumerate(keys):
        k = REGISTRY.get(base_id(kpi_id))
        target = k.target if k is not None else None
        vals = [None if math.isnan(v) else float(v) for v in grid[i]]
        rows.append([kpi_label(kpi_id), kpi_id] + ([group] if grouped else []) + [target] + vals)
        fmt = UNIT_FORMATS.get(k.unit if k else "number", "#,##0.00")
        if blocks and blocks[-1].number_format == fmt and blocks[-1].row + blocks[-1].nrows == i:
            b = blocks[-1]
            blocks[-1] = FormatBlock(b.row, b.col, b.nrows + 1, b.ncols, fmt)
        else:
            blocks.append(FormatBlock(i, nfixed - 1, 1, len(periods) + 1, fmt))
    header = fixed + periods
    formats = [TEXT] * (nfixed - 1) + [None] * (len(periods) + 1)
    widths = [max(12.0, min(46.0, max(len(str(r[0])) for r in rows) + 2)), 26.0] + ([16.0] if grouped else []) \
        + [9.0] + [11.0] * len(periods)
    return SheetPlan(KPI_SHEET, header, rows, formats, widths, (HEADER_ROW, nfixed), _marker(KPI_SHEET), blocks,
                     role="kpis")


ROLE_SHEETS = {"accounts": ACCOUNTS_SHEET, "actions": ACTIONS_SHEET, "problems": PROBLEMS_SHEET}
#: what a CSM reads first on CS Accounts; every other snapshot / health column follows
ACCOUNT_FIRST = ("account_id", "account_name", "csm", "segment", "plan", "mrr", "arr", "score", "band",
                 "score_change", "band_change", "weakest", "lift_to_next_band", "renewal_date", "days_to_renewal",
                 "seat_utilization", "days_since_last_activity", "last_nps", "open_tickets", "csm_sentiment")
ACCOUNT_FORMATS = {"score": "0", "score_prev": "0", "score_change": "+0;-0;0", "mrr": "#,##0", "arr": "#,##0",
                   "mrr_3m_ago": "#,##0", "mrr_trend_3m": "0%", "usage_trend": "0%", "seat_utilization": "0%",
                   "depth": "0%", "last_nps": "0", "last_csat": "0", "last_ces": "0", "csm_sentiment": "0"}


def account_columns(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """CS Accounts column order: the columns of :data:`ACCOUNT_FIRST`, the rest, points last."""
    if frame is None or frame.empty:
        return frame
    cols = [str(c) for c in frame.columns]
    first = [c for c in ACCOUNT_FIRST if c in cols]
    last = [c for c in cols if c.startswith("pts_") or c in ("as_of", "profile")]
    middle = [c for c in cols if c not in first and c not in last]
    frame = frame[first + middle + last]
    # paying accounts first, the least healthy on top (then the largest); churned ones at the end
    keys = pd.DataFrame(index=frame.index)
    keys["inactive"] = ~frame["active"].fillna(False).astype(bool) if "active" in frame else False
    keys["score"] = pd.to_numeric(frame["score"], errors="coerce") if "score" in frame else 0.0
    keys["mrr"] = -pd.to_numeric(frame["mrr"], errors="coerce").fillna(0) if "mrr" in frame else 0.0
    order = keys.sort_values(["inactive", "score", "mrr"], kind="stable", na_position="last").index
    return frame.loc[order].reset_index(drop=True)
_MONEY_WORDS = ("mrr", "arr", "amount", "revenue", "cac", "value_at_risk")
_PCT_WORDS = ("rate", "share", "pct", "percent", "utilisation", "utilization", "breadth", "depth", "adoption",
              "stickiness")


def column_format(name: str, series: pd.Series) -> str | None:
    """A sensible number format for an output column, from its dtype and name."""
    lname = str(name).lower()
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_datetime64_any_dtype(series):
        return DATE
    if pd.api.types.is_numeric_dtype(series):
        if any(w in lname for w in _MONEY_WORDS):
            return "#,##0"
        if any(w in lname for w in _PCT_WORDS):
            return "0%"
        if lname in ("score", "health", "health_score") or lname.endswith(("_score", "_points")) \
                or lname.startswith("pts_"):
            return "0"
        vals = series.dropna().to_numpy(dtype=float)
        if len(vals) and np.all(np.mod(vals, 1) == 0):
            return "0"
        return "0.0"
    values = series.dropna()
    if len(values) and all(isinstance(v, (dt.date, dt.datetime, pd.Timestamp)) for v in values.head(50)):
        return DATE
    return TEXT


def cell_value(v):
    """A pandas/numpy value as a plain cell value (None for missing)."""
    if v is None:
        return None
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return None if pd.isna(v) else pd.Timestamp(v).to_pydatetime()
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) or math.isinf(v) else float(v)
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (list, tuple, set)):
        return ", ".join(map(str, v))
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def frame_sheet(frame: pd.DataFrame | None, role: str, freeze_cols: int = 0, note: str | None = None,
                formats: Mapping[str, str] | None = None) -> SheetPlan:
    """Any frame as an output sheet (columns as they are; formats from dtype and name)."""
    base = ROLE_SHEETS[role]
    if frame is None or frame.empty:
        text = note or "Nothing to show."
        return SheetPlan(base, ["note"], [[text]], [TEXT], [min(100.0, max(20.0, len(text) * 0.9))],
                         (HEADER_ROW, 0), _marker(base), role=role)
    frame = frame.reset_index(drop=True)
    header = [str(c) for c in frame.columns]
    fmts = []
    for c in frame.columns:
        f = (formats or {}).get(str(c)) or column_format(str(c), frame[c])
        fmts.append(f)
    cols = [frame[c].tolist() for c in frame.columns]
    rows = [[cell_value(v) for v in row] for row in zip(*cols)] if cols else []
    widths = []
    for j, h in enumerate(header):
        sample = [rows[i][j] for i in range(min(len(rows), 200))]
        longest = max([len(h)] + [len(_shown(v, fmts[j])) for v in sample])
        widths.append(float(min(80 if fmts[j] == TEXT else 30, max(9, longest + 2))))
    return SheetPlan(base, header, rows, fmts, widths, (HEADER_ROW, freeze_cols), _marker(base), role=role)


def _shown(v, fmt) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return "2024-01-01"
    if isinstance(v, float):
        if fmt and "%" in fmt:
            return f"{v:.0%}"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"
    return str(v)


SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def problems_sheet(problems: Iterable[Problem]) -> SheetPlan:
    """Every problem: where (sheet, row, column), severity, code and the sentence."""
    frame = problems_frame(list(problems))
    if frame.empty:
        return frame_sheet(None, "problems", note="No data problem found.")
    frame = frame.assign(_o=frame["severity"].map(SEVERITY_ORDER).fillna(3))
    frame = frame.sort_values(["_o"], kind="stable").drop(columns="_o")
    frame = frame[["severity", "sheet", "row", "column", "message", "value", "code", "table", "file"]]
    frame["row"] = frame["row"].astype(object).where(frame["row"].notna(), None)
    plan = frame_sheet(frame, "problems", freeze_cols=0,
                       formats={"row": "0", "message": TEXT, "value": TEXT, "column": TEXT, "sheet": TEXT})
    plan.widths[plan.header.index("message")] = 90.0
    return plan


# =========================================================================== rendering to a file

class RefreshError(Exception):
    """The file cannot be refreshed (unreadable, same path as the output ...): one sentence."""


def read_workbook_values(path: str | os.PathLike) -> tuple[dict[str, list[list]], list[Problem]]:
    """Every sheet of an xlsx/xlsm as 2-D lists of cached cell values (what Excel would hand the
    add-in). Untrusted-input rules apply: zip bombs refused, no entity expansion (defusedxml),
    formulas not evaluated (a formula without a cached value is reported)."""
    import openpyxl

    from .io.readers import check_zip, scan_formulas_without_value

    path = Path(path)
    file = path.name
    if not path.exists():
        raise RefreshError(f"{path} does not exist.")
    problems = check_zip(path, file)
    if any(p.severity is Severity.ERROR for p in problems):
        raise RefreshError("; ".join(p.message for p in problems))
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # noqa: BLE001 - corrupt, encrypted, not a workbook
        raise RefreshError(f"{file} cannot be opened as an Excel workbook ({type(exc).__name__}: {exc}).") from None
    try:
        sheets = {}
        for ws in wb.worksheets:
            sheets[ws.title] = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    try:
        problems += scan_formulas_without_value(path, file)
    except Exception:  # noqa: BLE001 - the scan is a courtesy; reading worked
        pass
    return sheets, problems


def render_plan_to_file(plan: RefreshPlan, source_xlsx: str | os.PathLike, out_xlsx: str | os.PathLike) -> Path:
    """Write ``out_xlsx``: a copy of ``source_xlsx`` with the plan's sheets added (cs-desk's own
    earlier output sheets replaced in place). The source file is opened read-only and never
    written; the output is written to a temporary file and moved into place."""
    import openpyxl

    from .io.atomic import atomic_path

    src, out = Path(source_xlsx), Path(out_xlsx)
    if src.resolve() == out.resolve():
        raise RefreshError("The output must be a new file: cs-desk never changes the input workbook.")
    try:
        with open(src, "rb") as fh:  # read-only; openpyxl copies everything into memory
            wb = openpyxl.load_workbook(fh, keep_vba=False, keep_links=False)
    except Exception as exc:  # noqa: BLE001
        raise RefreshError(f"{src.name} cannot be opened as an Excel workbook ({type(exc).__name__}: {exc}).") from None
    for sp in plan.sheets:
        index = None
        existing = next((ws for ws in wb.worksheets if ws.title.casefold() == sp.name.casefold()), None)
        if existing is not None:
            if not sp.replaces or not is_output_sheet([[existing.cell(1, 1).value]]):
                raise RefreshError(f"Refusing to overwrite the sheet {sp.name!r}, which cs-desk did not write.")
            index = wb.worksheets.index(existing)
            wb.remove(existing)
        ws = wb.create_sheet(sp.name, index)
        write_sheet_openpyxl(ws, sp)
    with atomic_path(out) as tmp:
        wb.save(tmp)
    return out


def write_sheet_openpyxl(ws, sp: SheetPlan) -> None:
    """One planned sheet into an openpyxl worksheet (strings stay strings, never formulas)."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    marker = ws.cell(row=1, column=1)
    _set_text(marker, sp.marker)
    marker.font = Font(italic=True, color="666666")
    bold = Font(bold=True)
    for j, h in enumerate(sp.header, start=1):
        c = ws.cell(row=HEADER_ROW, column=j)
        _set_text(c, h)
        c.font = bold
        c.number_format = TEXT
    block_fmt = {}
    for b in sp.blocks:
        for i in range(b.row, b.row + b.nrows):
            for j in range(b.col, b.col + b.ncols):
                block_fmt[(i, j)] = b.number_format
    for i, row in enumerate(sp.rows):
        r = FIRST_DATA_ROW + i
        for j, v in enumerate(row):
            fmt = block_fmt.get((i, j), sp.number_formats[j] if j < len(sp.number_formats) else None)
            if v is None:
                if fmt == TEXT:
                    ws.cell(row=r, column=j + 1).number_format = TEXT
                continue
            c = ws.cell(row=r, column=j + 1)
            if isinstance(v, str):
                _set_text(c, v)
            else:
                c.value = v
            if fmt:
                c.number_format = fmt
    for j, w in enumerate(sp.widths, start=1):
        if w:
            ws.column_dimensions[get_column_letter(j)].width = w
    rows, cols = sp.freeze
    if rows or cols:
        ws.freeze_panes = ws.cell(row=rows + 1, column=cols + 1)
    if sp.rows and sp.ncols:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(sp.ncols)}{HEADER_ROW + len(sp.rows)}"


def _set_text(cell, text: str) -> None:
    """Write text as text: openpyxl would store '=...' as a formula, so force the string type."""
    cell.value = text
    cell.data_type = "s"
